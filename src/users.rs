//! The directory: who sesame's people are and which groups they are in. The operations here
//! are the ones the CLI (directly or through the control socket), the management API and
//! start-up reconciliation all call; none of them knows how the request arrived.
//!
//! Invariants kept by every operation, in one write transaction each:
//! - a user's `id` (`sub`) is random and never reused; deleting a user frees the email and the
//!   username, never the ID;
//! - emails are unique by their key (`email::Email`: ASCII case-insensitive, punycode
//!   domains); usernames are unique ASCII case-insensitively;
//! - a user's groups exist (deleting a group removes it from its members);
//! - disabling or deleting a user ends their sessions and revokes their refresh tokens at once;
//! - the built-in `admins` group always exists: its members may use the management API.
//!
//! - `email.rs`: [`Email`], the one way addresses are parsed and compared.
//! - `groups.rs`: group operations.
//!
//! Uses: store (typed operations), crypto (random IDs), clock. Never the edge.

mod email;
mod groups;
mod reconcile;

pub use groups::{
    add as add_group, add_in as add_group_in, add_member, add_member_in, delete as delete_group,
    delete_in as delete_group_in, get as get_group, list as list_groups, remove_member,
    remove_member_in, update as update_group, update_in as update_group_in,
};

pub use email::{Email, EmailError};
pub use groups::{GroupChange, NewGroup};
pub use reconcile::{reconcile, GroupDecl, ReconcileReport, UserDecl};

use crate::crypto;
use crate::store::{Group, Reads, Store, StoreError, User, Writes, USERS};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The built-in group whose members administer sesame.
pub const ADMINS: &str = "admins";

/// Claims that custom claims never override: the protocol's own and the profile's.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "email",
    "email_verified",
    "name",
    "username",
    "preferred_username",
    "picture",
    "updated_at",
    "groups",
];

/// Why a directory operation was refused.
#[derive(Debug)]
pub enum UserError {
    /// The email address does not parse.
    InvalidEmail { typed: String, reason: EmailError },
    /// Another user has this email address.
    DuplicateEmail(String),
    /// Another user has this username.
    DuplicateUsername(String),
    /// The username has characters other than letters, digits, `.`, `_`, `-`, or is too long.
    InvalidUsername(String),
    /// The picture is not an http(s) URL.
    InvalidPicture(String),
    /// A custom claim would override a registered one.
    ReservedClaim(String),
    /// No such user (by ID, email or username).
    UnknownUser(String),
    /// No such group.
    UnknownGroup(String),
    /// The user has no passkey with this credential ID.
    UnknownPasskey { user: String, credential_id: String },
    /// A group with this name exists.
    DuplicateGroup(String),
    /// The group name has characters other than letters, digits, `.`, `_`, `-`.
    InvalidGroupName(String),
    /// The built-in `admins` group cannot be deleted.
    BuiltInGroup,
    /// The user or group is declared in `sesame.toml`: change it there.
    Declared(String),
    /// Storage failed.
    Store(StoreError),
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserError::InvalidEmail { typed, reason } => {
                write!(f, "{typed:?} is not a valid email address. {reason}")
            }
            UserError::DuplicateEmail(e) => write!(f, "a user with the email {e} already exists"),
            UserError::DuplicateUsername(u) => {
                write!(f, "the username {u:?} is already taken by another user")
            }
            UserError::InvalidUsername(u) => write!(
                f,
                "the username {u:?} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '-'"
            ),
            UserError::InvalidPicture(p) => {
                write!(f, "the picture {p:?} is not an http or https URL")
            }
            UserError::ReservedClaim(c) => write!(
                f,
                "the custom claim {c:?} is a registered claim that sesame sets itself; choose another name"
            ),
            UserError::UnknownUser(u) => write!(
                f,
                "no user {u:?} (give a user ID, an email address or a username; `sesame user list` shows them)"
            ),
            UserError::UnknownGroup(g) => write!(
                f,
                "no group {g:?} (create it with `sesame group add {g}`)"
            ),
            UserError::UnknownPasskey { user, credential_id } => write!(
                f,
                "{user} has no passkey with the credential ID {credential_id:?} (`sesame user factors {user}` lists theirs)"
            ),
            UserError::DuplicateGroup(g) => write!(f, "a group named {g:?} already exists"),
            UserError::InvalidGroupName(g) => write!(
                f,
                "the group name {g:?} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '-'"
            ),
            UserError::BuiltInGroup => write!(
                f,
                "the {ADMINS:?} group is built in and cannot be deleted"
            ),
            UserError::Declared(what) => write!(
                f,
                "{what} is declared in sesame.toml: change it there (the next start would undo a change made here)"
            ),
            UserError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for UserError {}

impl From<StoreError> for UserError {
    fn from(e: StoreError) -> Self {
        UserError::Store(e)
    }
}

/// What `sesame user add` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
}

/// What `sesame user update` may change; absent fields stay as they are. An empty `name`,
/// `username` or `picture` removes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Replaces the whole group list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Replaces the whole custom-claims object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
}

/// Who may sign up: `[sign_up]` in `sesame.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignUpConfig {
    pub mode: SignUpMode,
    /// With `mode = "domains"`: addresses at these domains may sign up (compared in lower-case
    /// ASCII, punycode for internationalised names; subdomains do not count).
    pub allowed_domains: Vec<String>,
}

impl SignUpConfig {
    /// Checks the policy holds together: `domains` needs domains, each a host name. The error
    /// is about `allowed_domains` and says what to write.
    pub fn check(&self) -> Result<(), String> {
        if self.mode == SignUpMode::Domains && self.allowed_domains.is_empty() {
            return Err("is empty, but sign_up.mode is \"domains\": list the domains whose addresses may sign up, e.g. [\"example.com\"]".into());
        }
        for d in &self.allowed_domains {
            if !matches!(url::Host::parse(d.trim()), Ok(url::Host::Domain(_))) || d.contains('@') {
                return Err(format!(
                    "{d:?} is not a domain name (write example.com, not an address or a URL)"
                ));
            }
        }
        Ok(())
    }
}

/// Whether a new address may create an account by signing in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignUpMode {
    /// Only existing users may sign in (the default: add people with `sesame user add`).
    #[default]
    Invite,
    /// Existing users, and new addresses in `allowed_domains`.
    Domains,
    /// Anyone who can receive mail.
    Open,
}

impl SignUpMode {
    pub const ALL: [SignUpMode; 3] = [SignUpMode::Invite, SignUpMode::Domains, SignUpMode::Open];
    pub const NAMES: [&'static str; 3] = ["invite", "domains", "open"];

    pub const fn as_str(self) -> &'static str {
        match self {
            SignUpMode::Invite => "invite",
            SignUpMode::Domains => "domains",
            SignUpMode::Open => "open",
        }
    }
}

impl SignUpConfig {
    /// Whether an address with no account may create one by signing in.
    pub fn admits(&self, email: &Email) -> bool {
        match self.mode {
            SignUpMode::Invite => false,
            SignUpMode::Open => true,
            SignUpMode::Domains => {
                self.allowed_domains
                    .iter()
                    .any(|d| match url::Host::parse(d.trim()) {
                        Ok(url::Host::Domain(ascii)) => ascii == email.domain(),
                        _ => false,
                    })
            }
        }
    }
}

/// Whether `user` may use `app`: an app with `allowed_groups` admits only their members.
pub fn may_use(app: &crate::store::App, user: &User) -> bool {
    !user.disabled
        && (app.allowed_groups.is_empty() || app.allowed_groups.iter().any(|g| user.in_group(g)))
}

/// Whether a sign-in by `user` (to `app`, or to sesame's own pages when `None`) needs a second
/// factor after the email code: when the app requires one, or any group the user is in does.
/// Each group is read from the store, so a policy changed a moment ago already counts; a group
/// the user still names but that was deleted counts as optional.
pub fn second_factor_required(
    tx: &impl Reads,
    app: Option<&crate::store::App>,
    user: &User,
) -> Result<bool, StoreError> {
    if app.is_some_and(|a| !a.second_factor.is_optional()) {
        return Ok(true);
    }
    for name in &user.groups {
        if tx
            .group(name)?
            .is_some_and(|g| !g.second_factor.is_optional())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A page of a listing and where the next one starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The largest page a listing returns.
pub const MAX_PAGE: usize = 500;

/// The comparison key of a username.
fn username_key(u: &str) -> String {
    u.to_ascii_lowercase()
}

/// A name for a username or group: 1 to 64 ASCII letters, digits, `.`, `_`, `-`, not starting
/// with `-` (it would read as a flag).
fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn check_username(u: &str) -> Result<String, UserError> {
    let u = u.trim();
    if valid_name(u) {
        Ok(u.to_string())
    } else {
        Err(UserError::InvalidUsername(u.to_string()))
    }
}

fn check_picture(p: &str) -> Result<String, UserError> {
    let p = p.trim();
    match url::Url::parse(p) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(p.to_string()),
        _ => Err(UserError::InvalidPicture(p.to_string())),
    }
}

/// Custom claims may add to the token, never override what sesame sets.
pub fn check_claims(claims: &Map<String, Value>) -> Result<(), UserError> {
    match claims
        .keys()
        .find(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
    {
        Some(k) => Err(UserError::ReservedClaim(k.clone())),
        None => Ok(()),
    }
}

/// What a JSON value is, as a message about claims or a request body names it ("an array").
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_email(typed: &str) -> Result<Email, UserError> {
    Email::parse(typed).map_err(|reason| UserError::InvalidEmail {
        typed: typed.trim().to_string(),
        reason,
    })
}

/// Checks that every group exists; returns the list sorted and without repeats.
fn check_groups(tx: &impl Reads, groups: &[String]) -> Result<Vec<String>, UserError> {
    Ok(known_groups(tx, groups)?)
}

/// Group names as they are kept (a user's groups, an app's allowed groups): trimmed, sorted,
/// without repeats.
pub fn group_names(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().map(|g| g.trim().to_string()).collect();
    out.sort();
    out.dedup();
    out
}

/// Why [`known_groups`] refused a list.
#[derive(Debug)]
pub enum GroupCheck {
    /// No group has this name.
    Unknown(String),
    Store(StoreError),
}

impl From<StoreError> for GroupCheck {
    fn from(e: StoreError) -> Self {
        GroupCheck::Store(e)
    }
}

impl From<GroupCheck> for UserError {
    fn from(e: GroupCheck) -> Self {
        match e {
            GroupCheck::Unknown(g) => UserError::UnknownGroup(g),
            GroupCheck::Store(e) => UserError::Store(e),
        }
    }
}

/// [`group_names`], each of which must name an existing group.
pub fn known_groups(tx: &impl Reads, names: &[String]) -> Result<Vec<String>, GroupCheck> {
    let out = group_names(names);
    for g in &out {
        if tx.group(g)?.is_none() {
            return Err(GroupCheck::Unknown(g.clone()));
        }
    }
    Ok(out)
}

/// Makes sure the built-in groups exist (at every start; cheap: one read).
pub fn ensure_builtin_groups(store: &Store, now: u64) -> Result<(), StoreError> {
    if store.read(|tx| tx.group(ADMINS))?.is_some() {
        return Ok(());
    }
    store.write(|tx| {
        if tx.group(ADMINS)?.is_none() {
            tx.put_group(&Group {
                name: ADMINS.into(),
                description: "sesame's administrators: they may use the management API".into(),
                claims: Map::new(),
                api_scopes: Default::default(),
                second_factor: Default::default(),
                declared: false,
                created_at: now,
                updated_at: now,
            })?;
        }
        Ok(())
    })
}

/// Adds a user; the email counts as verified (an administrator vouched for it, and signing in
/// proves it anyway).
pub fn add(store: &Store, now: u64, new: NewUser) -> Result<User, UserError> {
    store.write(|tx| add_in(tx, now, new))
}

/// [`add`] inside the caller's write transaction.
pub fn add_in(tx: &impl Writes, now: u64, new: NewUser) -> Result<User, UserError> {
    let email = parse_email(&new.email)?;
    let username = new.username.as_deref().map(check_username).transpose()?;
    let picture = new.picture.as_deref().map(check_picture).transpose()?;
    check_claims(&new.claims)?;
    {
        let groups = check_groups(tx, &new.groups)?;
        let mut user = User::new(crypto::random_id(), email.address.clone(), now);
        user.email_verified = true;
        user.name = new.name.clone().filter(|n| !n.trim().is_empty());
        user.username = username.clone();
        user.picture = picture.clone();
        user.groups = groups;
        user.claims = new.claims.clone();
        insert(tx, &user, &email)?;
        Ok(user)
    }
}

/// Stores a new user with its indexes, refusing a taken email or username.
fn insert(tx: &impl Writes, user: &User, email: &Email) -> Result<(), UserError> {
    if tx.user_id_by_email(&email.key)?.is_some() {
        return Err(UserError::DuplicateEmail(email.address.clone()));
    }
    if let Some(u) = &user.username {
        if tx.user_id_by_username(&username_key(u))?.is_some() {
            return Err(UserError::DuplicateUsername(u.clone()));
        }
        tx.put_user_username(&username_key(u), &user.id)?;
    }
    tx.put_user_email(&email.key, &user.id)?;
    tx.put_user(user)?;
    Ok(())
}

/// Finds a user by ID, email address or username.
pub fn find(tx: &impl Reads, who: &str) -> Result<User, UserError> {
    let who = who.trim();
    if let Some(u) = tx.user(who)? {
        return Ok(u);
    }
    let by_email = match Email::parse(who) {
        Ok(e) => tx.user_id_by_email(&e.key)?,
        Err(_) => None,
    };
    let id = match by_email {
        Some(id) => Some(id),
        None => tx.user_id_by_username(&username_key(who))?,
    };
    match id {
        Some(id) => tx
            .user(&id)?
            .ok_or_else(|| UserError::UnknownUser(who.to_string())),
        None => Err(UserError::UnknownUser(who.to_string())),
    }
}

/// One user, by ID, email or username.
pub fn get(store: &Store, who: &str) -> Result<User, UserError> {
    store.read(|tx| Ok(find(tx, who)))?
}

/// A page of users in ID order, optionally only the members of `group` and only those whose
/// email, name or username contains `search` (case-insensitively). The scan decodes each record
/// once, keeps the matches and stops at a full page: a search that finds a page early reads no
/// further, and `next` continues it where it stopped.
pub fn list(
    store: &Store,
    group: Option<&str>,
    search: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<User>, UserError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let search = search
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    store.read(|tx| {
        if let Some(g) = group {
            if tx.group(g)?.is_none() {
                return Ok(Err(UserError::UnknownGroup(g.to_string())));
            }
        }
        let keep = |u: &User| {
            group.is_none_or(|g| u.in_group(g))
                && search.as_deref().is_none_or(|q| user_matches(u, q))
        };
        // One more than asked says whether there is a next page.
        let mut items: Vec<User> = tx
            .page(&USERS, after, limit + 1, &keep)?
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        let next = (items.len() > limit).then(|| {
            items.truncate(limit);
            items.last().map(|u| u.id.clone()).unwrap_or_default()
        });
        Ok(Ok(Page { items, next }))
    })?
}

/// Whether `user`'s email, name or username contains `q` (already lowercase).
fn user_matches(user: &User, q: &str) -> bool {
    [
        Some(&user.email),
        user.name.as_ref(),
        user.username.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| contains_lowercase(field, q))
}

/// Whether `text` lowercased contains `q` (lowercase), allocating only for non-ASCII text.
fn contains_lowercase(text: &str, q: &str) -> bool {
    if text.is_ascii() && q.is_ascii() {
        let (t, q) = (text.as_bytes(), q.as_bytes());
        q.is_empty() || t.windows(q.len()).any(|w| w.eq_ignore_ascii_case(q))
    } else {
        text.to_lowercase().contains(q)
    }
}

/// Changes a user. Changing the email makes it unverified until the user signs in with it.
pub fn update(store: &Store, now: u64, who: &str, change: UserChange) -> Result<User, UserError> {
    store.write(|tx| update_in(tx, now, who, change))
}

/// [`update`] inside the caller's write transaction.
pub fn update_in(
    tx: &impl Writes,
    now: u64,
    who: &str,
    change: UserChange,
) -> Result<User, UserError> {
    let email = change.email.as_deref().map(parse_email).transpose()?;
    let username = match change.username.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(u) => Some(Some(check_username(u)?)),
    };
    let picture = match change.picture.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(p) => Some(Some(check_picture(p)?)),
    };
    if let Some(c) = &change.claims {
        check_claims(c)?;
    }
    {
        let mut user = find(tx, who)?;
        if user.declared {
            return Err(UserError::Declared(format!("the user {}", user.email)));
        }
        if let Some(email) = &email {
            let old = Email::parse(&user.email).ok();
            if old.as_ref().map(|o| &o.key) != Some(&email.key) {
                if tx.user_id_by_email(&email.key)?.is_some() {
                    return Err(UserError::DuplicateEmail(email.address.clone()));
                }
                if let Some(old) = old {
                    tx.remove_user_email(&old.key)?;
                }
                tx.put_user_email(&email.key, &user.id)?;
                user.email_verified = false;
            }
            user.email = email.address.clone();
        }
        if let Some(username) = username {
            let old = user.username.as_deref().map(username_key);
            let new = username.as_deref().map(username_key);
            if old != new {
                if let Some(n) = &new {
                    if tx.user_id_by_username(n)?.is_some() {
                        return Err(UserError::DuplicateUsername(
                            username.clone().unwrap_or_default(),
                        ));
                    }
                    tx.put_user_username(n, &user.id)?;
                }
                if let Some(o) = &old {
                    tx.remove_user_username(o)?;
                }
            }
            user.username = username;
        }
        if let Some(name) = &change.name {
            user.name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
        }
        if let Some(picture) = picture {
            user.picture = picture;
        }
        if let Some(groups) = &change.groups {
            user.groups = check_groups(tx, groups)?;
        }
        if let Some(claims) = &change.claims {
            user.claims = claims.clone();
        }
        user.updated_at = now;
        tx.put_user(&user)?;
        Ok(user)
    }
}

/// Disables (or enables) a user. Disabling ends every session and revokes every refresh token
/// of the user in the same transaction.
pub fn set_disabled(store: &Store, now: u64, who: &str, disabled: bool) -> Result<User, UserError> {
    store.write(|tx| set_disabled_in(tx, now, who, disabled))
}

/// [`set_disabled`] inside the caller's write transaction.
pub fn set_disabled_in(
    tx: &impl Writes,
    now: u64,
    who: &str,
    disabled: bool,
) -> Result<User, UserError> {
    {
        let mut user = find(tx, who)?;
        if user.declared {
            return Err(UserError::Declared(format!("the user {}", user.email)));
        }
        if user.disabled != disabled {
            user.disabled = disabled;
            user.updated_at = now;
            tx.put_user(&user)?;
        }
        if disabled {
            tx.end_sessions_of(&user.id)?;
            tx.revoke_grants_of(&user.id)?;
        }
        Ok(user)
    }
}

/// Ends every session of a user (they must sign in again); refresh tokens stay.
pub fn sign_out(store: &Store, who: &str) -> Result<(User, usize), UserError> {
    store.write(|tx| sign_out_in(tx, who))
}

/// [`sign_out`] inside the caller's write transaction.
pub fn sign_out_in(tx: &impl Writes, who: &str) -> Result<(User, usize), UserError> {
    let user = find(tx, who)?;
    let n = tx.end_sessions_of(&user.id)?;
    Ok((user, n))
}

/// Deletes a user: sessions end, refresh tokens are revoked, the email and username are free
/// again. The ID is never given to anyone else.
pub fn delete(store: &Store, who: &str) -> Result<User, UserError> {
    store.write(|tx| delete_in(tx, who))
}

/// [`delete`] inside the caller's write transaction.
pub fn delete_in(tx: &impl Writes, who: &str) -> Result<User, UserError> {
    let user = find(tx, who)?;
    if user.declared {
        return Err(UserError::Declared(format!("the user {}", user.email)));
    }
    remove(tx, &user)?;
    Ok(user)
}

/// Removes a user, their indexes, sessions, token families and second factors.
fn remove(tx: &impl Writes, user: &User) -> Result<(), UserError> {
    tx.end_sessions_of(&user.id)?;
    tx.revoke_grants_of(&user.id)?;
    tx.remove_factors_of(&user.id)?;
    if let Ok(e) = Email::parse(&user.email) {
        tx.remove_user_email(&e.key)?;
    }
    if let Some(u) = &user.username {
        tx.remove_user_username(&username_key(u))?;
    }
    tx.remove_user(&user.id)?;
    Ok(())
}

/// Whether `store` has no users yet (a fresh install: the log says how to add the first).
pub fn none_yet(store: &Store) -> Result<bool, StoreError> {
    store.read(|tx| Ok(tx.page(&USERS, None, 1, &|_: &User| true)?.is_empty()))
}

#[cfg(test)]
mod tests;
