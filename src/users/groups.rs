//! Groups: named sets of users with a description and custom claims. Membership is kept on
//! the user (its `groups` list), so a token request reads one record.

use super::{check_claims, find, valid_name, UserError, ADMINS};
use crate::store::{ApiScopes, Group, Reads, SecondFactor, Store, User, Writes};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What `sesame group add` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// The API scopes members may be granted, by resource indicator.
    #[serde(default, skip_serializing_if = "ApiScopes::is_empty")]
    pub api_scopes: ApiScopes,
    /// Whether members need a second factor at every sign-in (`optional` unless given).
    #[serde(default, skip_serializing_if = "SecondFactor::is_optional")]
    pub second_factor: SecondFactor,
}

/// What `sesame group update` may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaces the whole custom-claims object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// Replaces the API scopes members may be granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_scopes: Option<ApiScopes>,
    /// Whether members need a second factor at every sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactor>,
}

/// Checks a group name: the same alphabet as usernames.
pub(super) fn check_group_name(name: &str) -> Result<String, UserError> {
    let name = name.trim();
    if valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(UserError::InvalidGroupName(name.to_string()))
    }
}

/// Creates a group.
pub fn add(store: &Store, now: u64, new: NewGroup) -> Result<Group, UserError> {
    store.write(|tx| add_in(tx, now, new))
}

/// [`add`] inside the caller's write transaction.
pub fn add_in(tx: &impl Writes, now: u64, new: NewGroup) -> Result<Group, UserError> {
    let name = check_group_name(&new.name)?;
    check_claims(&new.claims)?;
    {
        if tx.group(&name)?.is_some() {
            return Err(UserError::DuplicateGroup(name.clone()));
        }
        let group = Group {
            name: name.clone(),
            description: new.description.trim().to_string(),
            claims: new.claims.clone(),
            api_scopes: new.api_scopes.clone(),
            second_factor: new.second_factor,
            declared: false,
            created_at: now,
            updated_at: now,
        };
        tx.put_group(&group)?;
        Ok(group)
    }
}

/// Every group, by name.
pub fn list(store: &Store) -> Result<Vec<Group>, UserError> {
    Ok(store.read(|tx| {
        Ok(tx
            .page(&crate::store::GROUPS, None, usize::MAX, &|_| true)?
            .into_iter()
            .map(|(_, g)| g)
            .collect())
    })?)
}

/// One group, by name.
pub fn get(store: &Store, name: &str) -> Result<Group, UserError> {
    store
        .read(|tx| tx.group(name.trim()))?
        .ok_or_else(|| UserError::UnknownGroup(name.trim().to_string()))
}

fn editable(group: Option<Group>, name: &str) -> Result<Group, UserError> {
    let group = group.ok_or_else(|| UserError::UnknownGroup(name.to_string()))?;
    if group.declared {
        return Err(UserError::Declared(format!("the group {:?}", group.name)));
    }
    Ok(group)
}

/// Changes a group's description, claims, API scopes or second-factor policy.
pub fn update(
    store: &Store,
    now: u64,
    name: &str,
    change: GroupChange,
) -> Result<Group, UserError> {
    store.write(|tx| update_in(tx, now, name, change))
}

/// [`update`] inside the caller's write transaction.
pub fn update_in(
    tx: &impl Writes,
    now: u64,
    name: &str,
    change: GroupChange,
) -> Result<Group, UserError> {
    if let Some(c) = &change.claims {
        check_claims(c)?;
    }
    let name = name.trim();
    {
        let mut group = editable(tx.group(name)?, name)?;
        if let Some(d) = &change.description {
            group.description = d.trim().to_string();
        }
        if let Some(c) = &change.claims {
            group.claims = c.clone();
        }
        if let Some(s) = &change.api_scopes {
            group.api_scopes = s.clone();
        }
        if let Some(policy) = change.second_factor {
            group.second_factor = policy;
        }
        group.updated_at = now;
        tx.put_group(&group)?;
        Ok(group)
    }
}

/// Deletes a group and takes it off its members. Apps that allowed only this group then allow
/// nobody from it (their `allowed_groups` still names it, and the access check finds no member).
pub fn delete(store: &Store, now: u64, name: &str) -> Result<Group, UserError> {
    store.write(|tx| delete_in(tx, now, name))
}

/// [`delete`] inside the caller's write transaction.
pub fn delete_in(tx: &impl Writes, now: u64, name: &str) -> Result<Group, UserError> {
    let name = name.trim();
    if name == ADMINS {
        return Err(UserError::BuiltInGroup);
    }
    {
        let group = editable(tx.group(name)?, name)?;
        for mut user in tx.all_users()? {
            if user.in_group(name) {
                user.groups.retain(|g| g != name);
                user.updated_at = now;
                tx.put_user(&user)?;
            }
        }
        tx.remove_group(name)?;
        Ok(group)
    }
}

/// Puts a user (by ID, email or username) in a group.
pub fn add_member(store: &Store, now: u64, group: &str, who: &str) -> Result<User, UserError> {
    store.write(|tx| set_member(tx, now, group, who, true))
}

/// [`add_member`] inside the caller's write transaction.
pub fn add_member_in(
    tx: &impl Writes,
    now: u64,
    group: &str,
    who: &str,
) -> Result<User, UserError> {
    set_member(tx, now, group, who, true)
}

/// Takes a user out of a group.
pub fn remove_member(store: &Store, now: u64, group: &str, who: &str) -> Result<User, UserError> {
    store.write(|tx| set_member(tx, now, group, who, false))
}

/// [`remove_member`] inside the caller's write transaction.
pub fn remove_member_in(
    tx: &impl Writes,
    now: u64,
    group: &str,
    who: &str,
) -> Result<User, UserError> {
    set_member(tx, now, group, who, false)
}

fn set_member(
    tx: &impl Writes,
    now: u64,
    group: &str,
    who: &str,
    member: bool,
) -> Result<User, UserError> {
    let group = group.trim();
    {
        if tx.group(group)?.is_none() {
            return Err(UserError::UnknownGroup(group.to_string()));
        }
        let mut user = find(tx, who)?;
        if user.declared {
            return Err(UserError::Declared(format!("the user {}", user.email)));
        }
        if user.in_group(group) != member {
            if member {
                user.groups.push(group.to_string());
                user.groups.sort();
            } else {
                user.groups.retain(|g| g != group);
            }
            user.updated_at = now;
            tx.put_user(&user)?;
        }
        Ok(user)
    }
}
