//! Reconciling the users and groups declared in `sesame.toml` (`[[user]]`, `[[group]]`) with
//! the directory, at every start, as `[[app]]` is: a homelab keeps its whole setup in one file.
//!
//! Declared users and groups are created or updated to match the file and marked `declared`
//! (the CLI then refuses to change them, since the next start would undo it). One that is no
//! longer declared is released: it stays, as an ordinary user or group, and the log says so.
//! A user keeps their `sub`, sessions and tokens across restarts; a declared user who is
//! disabled in the file loses their sessions and refresh tokens as any disabled user does.

use super::groups::check_group_name;
use super::{check_claims, check_picture, check_username, insert, parse_email, username_key};
use super::{UserError, ADMINS};
use crate::crypto;
use crate::store::{Group, Store, User, Writes};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user declared in `sesame.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub claims: Map<String, Value>,
    #[serde(default)]
    pub disabled: bool,
}

/// A group declared in `sesame.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDecl {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// The API scopes members may be granted, by resource indicator.
    #[serde(default)]
    pub api_scopes: crate::store::ApiScopes,
    /// `optional` (default) or `required`: members need a second factor at every sign-in.
    #[serde(default)]
    pub second_factor: crate::store::SecondFactor,
}

/// What reconciliation did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReconcileReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// No longer declared: kept as ordinary users or groups.
    pub released: Vec<String>,
}

/// Makes the directory match the declarations, in one transaction.
pub fn reconcile(
    store: &Store,
    now: u64,
    groups: &[GroupDecl],
    users: &[UserDecl],
) -> Result<ReconcileReport, UserError> {
    for g in groups {
        check_group_name(&g.name)?;
        check_claims(&g.claims)?;
    }
    for u in users {
        parse_email(&u.email)?;
        u.username.as_deref().map(check_username).transpose()?;
        u.picture.as_deref().map(check_picture).transpose()?;
        check_claims(&u.claims)?;
    }
    store.write(|tx| {
        let mut report = ReconcileReport::default();
        reconcile_groups(tx, now, groups, &mut report)?;
        reconcile_users(tx, now, users, &mut report)?;
        Ok(report)
    })
}

fn reconcile_groups(
    tx: &impl Writes,
    now: u64,
    decls: &[GroupDecl],
    report: &mut ReconcileReport,
) -> Result<(), UserError> {
    for d in decls {
        let name = d.name.trim().to_string();
        let wanted = |created_at| Group {
            name: name.clone(),
            description: d.description.trim().to_string(),
            claims: d.claims.clone(),
            api_scopes: d.api_scopes.clone(),
            second_factor: d.second_factor,
            declared: true,
            created_at,
            updated_at: now,
        };
        match tx.group(&name)? {
            Some(old) => {
                let mut new = wanted(old.created_at);
                new.updated_at = old.updated_at;
                if new == old {
                    report.unchanged.push(format!("group {name}"));
                    continue;
                }
                new.updated_at = now;
                tx.put_group(&new)?;
                report.updated.push(format!("group {name}"));
            }
            None => {
                tx.put_group(&wanted(now))?;
                report.created.push(format!("group {name}"));
            }
        }
    }
    for mut g in tx.all_groups()? {
        if g.declared && !decls.iter().any(|d| d.name.trim() == g.name) {
            g.declared = false;
            tx.put_group(&g)?;
            tracing::warn!(
                "group {:?} is no longer declared in sesame.toml: it stays, as an ordinary group (`sesame group delete {}` removes it)",
                g.name, g.name
            );
            report.released.push(format!("group {}", g.name));
        }
    }
    // The admins group is built in; declaring it only sets its description and claims.
    let _ = ADMINS;
    Ok(())
}

fn reconcile_users(
    tx: &impl Writes,
    now: u64,
    decls: &[UserDecl],
    report: &mut ReconcileReport,
) -> Result<(), UserError> {
    let mut declared_ids = Vec::new();
    for d in decls {
        let email = parse_email(&d.email)?;
        let groups = super::known_groups(tx, &d.groups)?;
        let existing = match tx.user_id_by_email(&email.key)? {
            Some(id) => tx.user(&id)?,
            None => None,
        };
        let mut user = match &existing {
            Some(u) => u.clone(),
            None => {
                let mut u = User::new(crypto::random_id(), email.address.clone(), now);
                u.email_verified = true;
                u
            }
        };
        let before = user.clone();
        user.email = email.address.clone();
        user.name = d.name.clone().filter(|n| !n.trim().is_empty());
        let new_username = d.username.as_deref().map(|u| u.trim().to_string());
        user.picture = d.picture.clone();
        user.groups = groups;
        user.claims = d.claims.clone();
        user.disabled = d.disabled;
        user.declared = true;
        declared_ids.push(user.id.clone());
        match existing {
            None => {
                user.username = new_username;
                insert(tx, &user, &email)?;
                report.created.push(format!("user {}", email.address));
            }
            Some(_) => {
                if user.username.as_deref().map(username_key)
                    != new_username.as_deref().map(username_key)
                {
                    if let Some(n) = &new_username {
                        match tx.user_id_by_username(&username_key(n))? {
                            Some(other) if other != user.id => {
                                return Err(UserError::DuplicateUsername(n.clone()))
                            }
                            _ => tx.put_user_username(&username_key(n), &user.id)?,
                        }
                    }
                    if let Some(o) = &user.username {
                        tx.remove_user_username(&username_key(o))?;
                    }
                }
                user.username = new_username;
                if user == before {
                    report.unchanged.push(format!("user {}", email.address));
                    continue;
                }
                user.updated_at = now;
                tx.put_user(&user)?;
                report.updated.push(format!("user {}", email.address));
            }
        }
        if user.disabled {
            tx.end_sessions_of(&user.id)?;
            tx.revoke_grants_of(&user.id)?;
        }
    }
    for mut u in tx.all_users()? {
        if u.declared && !declared_ids.contains(&u.id) {
            u.declared = false;
            tx.put_user(&u)?;
            tracing::warn!(
                "user {} is no longer declared in sesame.toml: they stay, as an ordinary user (`sesame user delete {}` removes them)",
                u.email, u.email
            );
            report.released.push(format!("user {}", u.email));
        }
    }
    Ok(())
}
