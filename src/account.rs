//! What a signed-in user may do to their own account (the account page, `/account`): see it,
//! rename it, end one of its sessions or all of them, revoke an app's tokens. Each is one write
//! transaction that also records the change in the audit log (actor `user`, command
//! `account.*`), so the console and any later API call the same operations.
//!
//! Changing the email address is a sign-in of its own kind ([`SignInFor::ChangeEmail`] in
//! `signin`): the code goes to the new address through the same reservation, budgets, hashing,
//! lifetime and tries bound as a sign-in code, and the address changes only in the transaction
//! that accepts the right code ([`crate::signin::verify_code`]).
//!
//! [`SignInFor::ChangeEmail`]: crate::store::SignInFor::ChangeEmail
//!
//! Uses: users, session, oidc::grant, audit, store. Never the edge.

use crate::audit::{self, Actor, AuditEntry, Changes};
use crate::oidc::grant::{self, AppUse};
use crate::session::{self, SessionInfo};
use crate::store::{Reads, Store, StoreError, User, Writes};
use crate::users::{self, UserChange, UserError};
use serde_json::json;

/// The names a user's own changes carry in the audit log (`command` of an `admin_change` whose
/// actor is the user), so `sesame audit --kind NAME` knows them.
pub const COMMANDS: &[&str] = &[
    "account.update",
    "account.email",
    "account.sign_out",
    "account.sign_out_everywhere",
    "account.revoke_app",
    "account.totp_enrol",
    "account.totp_confirm",
    "account.totp_use",
    "account.totp_remove",
    "account.recovery_codes",
    "account.recovery_code_use",
    "setup.first_admin",
];

/// Everything the account page shows, read in one snapshot.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub user: User,
    /// Live sessions, newest first; the asking browser's is marked.
    pub sessions: Vec<SessionInfo>,
    /// Apps holding live tokens, with their display names (the client ID if the app is gone).
    pub apps: Vec<(AppUse, String)>,
}

/// The account of `user_id` as its page shows it; `current` is the asking browser's session
/// cookie value. `None`: the user is gone.
pub fn view(
    store: &Store,
    now: u64,
    user_id: &str,
    current: Option<&str>,
) -> Result<Option<AccountView>, StoreError> {
    store.read(|tx| {
        let Some(user) = tx.user(user_id)? else {
            return Ok(None);
        };
        let sessions = session::list_of(tx, user_id, now, current)?;
        let mut apps = Vec::new();
        for a in grant::apps_of(tx, user_id, now)? {
            let name = tx
                .app(&a.client_id)?
                .map_or_else(|| a.client_id.clone(), |app| app.name);
            apps.push((a, name));
        }
        Ok(Some(AccountView {
            user,
            sessions,
            apps,
        }))
    })
}

fn by_user(user_id: &str, command: &str, changes: Changes) -> AuditEntry {
    let actor = Actor::User {
        user_id: user_id.to_string(),
    };
    AuditEntry::admin_change(actor, command, changes).user(user_id)
}

/// Sets the name and username (empty: none) of `user_id`'s account. A declared account
/// (`sesame.toml`) is refused, as everywhere.
pub fn update_profile(
    store: &Store,
    now: u64,
    user_id: &str,
    name: &str,
    username: &str,
) -> Result<User, UserError> {
    store.write(|tx| {
        let before = users::find(tx, user_id)?;
        let change = UserChange {
            name: Some(name.to_string()),
            username: Some(username.to_string()),
            ..Default::default()
        };
        let after = users::update_in(tx, now, user_id, change)?;
        let profile = |u: &User| json!({ "name": u.name, "username": u.username });
        let changes = Changes::between(profile(&before), profile(&after));
        if changes.as_json().as_object().is_some_and(|m| !m.is_empty()) {
            audit::record(tx, now, by_user(user_id, "account.update", changes))?;
        }
        Ok(after)
    })
}

/// Ends one of `user_id`'s sessions (`session_id` as [`SessionInfo::id`] names it); returns
/// whether there was such a session of theirs.
pub fn end_session(
    store: &Store,
    now: u64,
    user_id: &str,
    session_id: &str,
) -> Result<bool, StoreError> {
    store.write(|tx| {
        let ended = session::end_one_of(tx, user_id, session_id)?;
        if ended {
            let changes = Changes::of(json!({ "sessions_ended": 1 }));
            audit::record(tx, now, by_user(user_id, "account.sign_out", changes))?;
        }
        Ok(ended)
    })
}

/// Ends every session of `user_id` (both kinds); returns how many. Apps keep their tokens.
pub fn sign_out_everywhere(store: &Store, now: u64, user_id: &str) -> Result<usize, StoreError> {
    store.write(|tx| {
        let n = tx.end_sessions_of(user_id)?;
        let changes = Changes::of(json!({ "sessions_ended": n }));
        audit::record(
            tx,
            now,
            by_user(user_id, "account.sign_out_everywhere", changes),
        )?;
        Ok(n)
    })
}

/// Revokes `client_id`'s access to `user_id`'s account: every grant of theirs for it, so its
/// refresh and access tokens stop working. Returns how many grants were live.
pub fn revoke_app(
    store: &Store,
    now: u64,
    user_id: &str,
    client_id: &str,
) -> Result<usize, StoreError> {
    store.write(|tx| {
        let n = grant::revoke_app(tx, user_id, client_id)?;
        if n > 0 {
            let changes = Changes::of(json!({ "grants_revoked": n }));
            let entry = by_user(user_id, "account.revoke_app", changes).client(client_id);
            audit::record(tx, now, entry)?;
        }
        Ok(n)
    })
}

/// Whether `address` may become `user_id`'s email: it parses and no other account has it.
/// Asked before a code is sent (and again when the code is accepted).
pub fn check_new_email(
    store: &Store,
    user_id: &str,
    address: &str,
) -> Result<users::Email, UserError> {
    let email = users::Email::parse(address).map_err(|reason| UserError::InvalidEmail {
        typed: address.chars().take(320).collect(),
        reason,
    })?;
    match store.read(|tx| tx.user_id_by_email(&email.key))? {
        Some(other) if other != user_id => Err(UserError::DuplicateEmail(email.address.clone())),
        _ => Ok(email),
    }
}

/// Inside the transaction that accepted a right code for a new address: `user_id`'s email
/// becomes `email`, verified, and the audit log records it (`account.email`). `Err(None)`:
/// the account is gone or disabled; `Err(Some(why))`: the address cannot be used (taken
/// meanwhile, or the account is declared in `sesame.toml`). Nothing changes on an `Err`.
pub(crate) fn apply_email_change(
    tx: &impl Writes,
    now: u64,
    user_id: &str,
    email: &users::Email,
) -> Result<Result<(), Option<String>>, StoreError> {
    let before = match tx.user(user_id)? {
        Some(u) if !u.disabled => u,
        _ => return Ok(Err(None)),
    };
    let change = UserChange {
        email: Some(email.address.clone()),
        ..Default::default()
    };
    let mut user = match users::update_in(tx, now, user_id, change) {
        Ok(u) => u,
        Err(UserError::Store(e)) => return Err(e),
        Err(e) => return Ok(Err(Some(e.to_string()))),
    };
    user.email_verified = true;
    tx.put_user(&user)?;
    let changes = Changes::of(json!({ "email": { "from": before.email, "to": user.email } }));
    audit::record(tx, now, by_user(user_id, "account.email", changes))?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests;
