//! The control socket's wire protocol: one JSON [`Command`] per line, one JSON [`Response`]
//! line back, and the shapes results take ([`AppInfo`]).
//!
//! Commands carry the registry's own argument types ([`NewApp`], [`AppUpdate`]) and [`Alg`],
//! so what the socket accepts is parsed once, here, into what [`crate::apps`] and
//! [`crate::crypto::keys`] take.

use super::AdminError;
use crate::api_keys::NewApiKey;
use crate::apis::{ApiUpdate, NewApi};
use crate::apps::{self, AppUpdate, NewApp};
use crate::audit::AuditQuery;
use crate::crypto::keys::Alg;
use crate::store::{App, Group, SecondFactor};
use crate::users::{GroupChange, NewGroup, NewUser, UserChange};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// The control socket's file name in the data directory.
pub const SOCKET_NAME: &str = "sesame.sock";

/// The connector names `connector set` accepts: Logto's AWS SES connector, and an SMTP server
/// (`[mail.smtp]`'s settings and `from`).
pub const CONNECTORS_KNOWN: &[&str] = &crate::mail::CONNECTOR_NAMES;

/// Declares [`Command`] from one list, so that each command's name is written once: it is
/// serde's tag on the wire, [`Command::name`] in the log, and in [`Command::NAMES`].
macro_rules! commands {
    ($($(#[doc = $doc:literal])* $name:literal => $variant:ident($args:ty),)+) => {
        /// One control command. On the wire it is `{"cmd": "<name>", "args": {...}}`; read a
        /// request line with [`Command::from_line`].
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "cmd", content = "args")]
        pub enum Command {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant($args),)+
        }

        impl Command {
            /// Every command's name, as sent in `cmd`.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name sent in `cmd` (`app.create`); the log names commands by it too.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Command::$variant(_) => $name,)+
                }
            }
        }
    };
}

commands! {
    /// Registers an app.
    "app.create" => AppCreate(NewApp),
    /// Lists the apps, oldest first.
    "app.list" => AppList(NoArgs),
    /// Shows one app.
    "app.show" => AppShow(AppRef),
    /// Changes an app's settings (name, redirect URIs, ... second-factor policy).
    "app.update" => AppUpdate(AppChange),
    /// Deletes an app and revokes what it was issued.
    "app.delete" => AppDelete(AppRef),
    /// Gives a traditional or machine app a new client secret.
    "app.rotate-secret" => AppRotateSecret(AppRef),
    /// Validates a connector's settings, tries them with `[mail]`, and stores them.
    "connector.set" => ConnectorSet(ConnectorSettings),
    /// Shows the stored connector, secrets masked.
    "connector.show" => ConnectorShow(ConnectorRef),
    /// Removes the stored connector: mail goes back to what the configuration file says.
    "connector.delete" => ConnectorDelete(ConnectorRef),
    /// Shows the sign-in experience stored over the configuration file's (null: none).
    "experience.show" => ExperienceShow(NoArgs),
    /// Stores the sign-in experience (branding, sign-up, code emails) over the file's, whole:
    /// every field is checked first, and a refused field stores nothing.
    "experience.set" => ExperienceSet(crate::experience::Experience),
    /// Removes the stored sign-in experience: every value comes from the file again.
    "experience.reset" => ExperienceReset(NoArgs),
    /// Makes a new active signing key for an algorithm; the old one is retired.
    "keys.rotate" => KeysRotate(KeyRotation),
    /// Lists the signing keys with when each may leave JWKS (never the keys themselves).
    "keys.list" => KeysList(KeyWindow),
    /// Removes retired keys whose every token has expired.
    "keys.prune" => KeysPrune(KeyWindow),
    /// Writes a consistent snapshot of the data file to a path (on the server's machine).
    "store.backup" => Backup(BackupTo),
    /// Sends a test message. Only a running server answers this one: it tests the mailer it is
    /// using.
    "mail.test" => MailTest(TestMessage),
    /// Adds a user.
    "user.add" => UserAdd(NewUser),
    /// Lists users by pages, optionally the members of one group.
    "user.list" => UserList(UserQuery),
    /// Shows one user (by ID, email or username).
    "user.show" => UserShow(UserRef),
    /// Changes a user's email, name, username, picture, groups or claims.
    "user.update" => UserUpdate(UserEdit),
    /// Disables a user: no sign-in, sessions end, refresh tokens are revoked.
    "user.disable" => UserDisable(UserRef),
    /// Enables a disabled user.
    "user.enable" => UserEnable(UserRef),
    /// Deletes a user (sessions end, tokens are revoked; the `sub` is never reused).
    "user.delete" => UserDelete(UserRef),
    /// Ends every session of a user.
    "user.sign-out" => UserSignOut(UserRef),
    /// Shows a user's second factors (authenticator app, unused recovery codes, passkeys).
    "user.factors" => UserFactors(UserRef),
    /// Removes a user's authenticator app, recovery codes and passkeys (a lost phone).
    "user.reset-factors" => UserResetFactors(UserRef),
    /// Removes one passkey of a user (a lost or stolen security key, phone or laptop).
    "user.remove-passkey" => UserRemovePasskey(PasskeyRef),
    /// Creates a group.
    "group.add" => GroupAdd(NewGroup),
    /// Lists the groups.
    "group.list" => GroupList(NoArgs),
    /// Shows a group and its members.
    "group.show" => GroupShow(GroupRef),
    /// Changes a group's description, claims, API scopes or second-factor policy.
    "group.update" => GroupUpdate(GroupEdit),
    /// Deletes a group (its members leave it).
    "group.delete" => GroupDelete(GroupRef),
    /// Puts a user in a group.
    "group.add-member" => GroupAddMember(Membership),
    /// Takes a user out of a group.
    "group.remove-member" => GroupRemoveMember(Membership),
    /// Lists audit entries, newest first, a page at a time (filters combine with AND).
    "audit.list" => AuditList(AuditQuery),
    /// Makes a management API key; the result carries the key, shown this once.
    "api-key.create" => ApiKeyCreate(NewApiKey),
    /// Lists the management API keys (never the keys themselves).
    "api-key.list" => ApiKeyList(NoArgs),
    /// Revokes a management API key.
    "api-key.revoke" => ApiKeyRevoke(ApiKeyRef),
    /// Registers an API (a resource server that gets JWT access tokens).
    "api.create" => ApiCreate(NewApi),
    /// Lists the APIs, by indicator.
    "api.list" => ApiList(NoArgs),
    /// Shows one API.
    "api.show" => ApiShow(ApiRef),
    /// Changes an API's name, scopes, algorithm or token lifetime.
    "api.update" => ApiUpdate(ApiChange),
    /// Deletes an API: no token is issued for it again.
    "api.delete" => ApiDelete(ApiRef),
}

impl Command {
    /// Reads one request line. `args` may be absent or null for a command that takes none
    /// (or whose arguments all have defaults): clients have sent `{}` and null alike.
    pub fn from_line(line: &[u8]) -> Result<Command, AdminError> {
        /// The request before its command is known.
        #[derive(Deserialize)]
        struct Envelope {
            cmd: String,
            #[serde(default)]
            args: Value,
        }
        let Envelope { cmd, args } = serde_json::from_slice(line).map_err(AdminError::NotJson)?;
        if !Command::NAMES.contains(&cmd.as_str()) {
            return Err(AdminError::UnknownCommand(cmd));
        }
        let args = if args.is_null() {
            Value::Object(Map::new())
        } else {
            args
        };
        serde_json::from_value(json!({ "cmd": cmd, "args": args })).map_err(|error| {
            AdminError::BadArguments {
                command: cmd,
                error,
            }
        })
    }

    /// True for the commands that may start a new data directory (they store something that
    /// did not exist). The others read or change what is there, so run on a missing
    /// `sesame.redb` they would only create an empty one, most likely in the wrong place (a
    /// mistyped `--data-dir`).
    pub fn creates_data(&self) -> bool {
        match self {
            Command::AppCreate(_)
            | Command::ConnectorSet(_)
            | Command::KeysRotate(_)
            | Command::ExperienceSet(_)
            | Command::UserAdd(_)
            | Command::GroupAdd(_)
            | Command::ApiCreate(_)
            | Command::ApiKeyCreate(_) => true,
            Command::AppList(_)
            | Command::AppShow(_)
            | Command::AppUpdate(_)
            | Command::AppDelete(_)
            | Command::AppRotateSecret(_)
            | Command::ConnectorShow(_)
            | Command::ConnectorDelete(_)
            | Command::ExperienceShow(_)
            | Command::ExperienceReset(_)
            | Command::MailTest(_)
            | Command::UserList(_)
            | Command::UserShow(_)
            | Command::UserUpdate(_)
            | Command::UserDisable(_)
            | Command::UserEnable(_)
            | Command::UserDelete(_)
            | Command::UserSignOut(_)
            | Command::UserFactors(_)
            | Command::UserResetFactors(_)
            | Command::UserRemovePasskey(_)
            | Command::GroupList(_)
            | Command::GroupShow(_)
            | Command::GroupUpdate(_)
            | Command::GroupDelete(_)
            | Command::GroupAddMember(_)
            | Command::GroupRemoveMember(_)
            | Command::ApiKeyList(_)
            | Command::ApiKeyRevoke(_)
            | Command::KeysList(_)
            | Command::KeysPrune(_)
            | Command::ApiList(_)
            | Command::ApiShow(_)
            | Command::ApiUpdate(_)
            | Command::ApiDelete(_)
            | Command::Backup(_) => false,
            Command::AuditList(_) => false,
        }
    }

    /// True for the commands that only read: a running server logs them at debug level, and
    /// the ones that change something at info.
    pub fn only_reads(&self) -> bool {
        match self {
            Command::AppList(_)
            | Command::AppShow(_)
            | Command::ConnectorShow(_)
            | Command::ExperienceShow(_)
            | Command::UserList(_)
            | Command::UserShow(_)
            | Command::UserFactors(_)
            | Command::GroupList(_)
            | Command::GroupShow(_)
            | Command::ApiKeyList(_)
            | Command::KeysList(_)
            | Command::ApiList(_)
            | Command::ApiShow(_)
            | Command::Backup(_) => true,
            Command::AuditList(_) => true,
            Command::AppCreate(_)
            | Command::AppUpdate(_)
            | Command::AppDelete(_)
            | Command::AppRotateSecret(_)
            | Command::ConnectorSet(_)
            | Command::ConnectorDelete(_)
            | Command::ExperienceSet(_)
            | Command::ExperienceReset(_)
            | Command::KeysRotate(_)
            | Command::KeysPrune(_)
            | Command::MailTest(_)
            | Command::UserAdd(_)
            | Command::UserUpdate(_)
            | Command::UserDisable(_)
            | Command::UserEnable(_)
            | Command::UserDelete(_)
            | Command::UserSignOut(_)
            | Command::UserResetFactors(_)
            | Command::UserRemovePasskey(_)
            | Command::GroupAdd(_)
            | Command::GroupUpdate(_)
            | Command::GroupDelete(_)
            | Command::GroupAddMember(_)
            | Command::GroupRemoveMember(_)
            | Command::ApiKeyCreate(_)
            | Command::ApiKeyRevoke(_)
            | Command::ApiCreate(_)
            | Command::ApiUpdate(_)
            | Command::ApiDelete(_) => false,
        }
    }
}

/// The arguments of a command that takes none: `{}` on the wire.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NoArgs {}

/// The app a command is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRef {
    pub client_id: String,
}

/// `app.update`'s arguments: the app, and what changes (fields beside `client_id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppChange {
    pub client_id: String,
    #[serde(flatten)]
    pub change: AppUpdate,
}

/// The connector a command is about, by name (see [`CONNECTORS_KNOWN`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorRef {
    pub name: String,
}

/// `connector.set`'s arguments: the connector and its settings (Logto's AWS SES connector JSON,
/// or the SMTP connector's `host`, `port`, `tls`, `username`, `password` and `from`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorSettings {
    pub name: String,
    /// Optional here so that its absence is refused in the command's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// `keys.rotate`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The default ([`Alg::default`]) when absent or null.
    #[serde(default, deserialize_with = "key_alg")]
    pub alg: Alg,
}

/// `keys.list`'s and `keys.prune`'s arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyWindow {
    /// The longest lifetime of a token a key signs (the ID token's), in seconds: how long a
    /// retired key stays in JWKS (at least the longest API access token lifetime, whatever is
    /// sent). A running server uses its own `[tokens] id_token_ttl`,
    /// whatever is sent; the CLI on the file sends its configuration's.
    #[serde(default)]
    pub token_lifetime: Option<u64>,
}

/// `store.backup`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupTo {
    /// Where to write the backup: an absolute path on the server's machine (the CLI makes a
    /// relative one absolute). An existing file there is replaced.
    pub path: std::path::PathBuf,
}

/// `mail.test`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestMessage {
    /// The recipient.
    pub to: String,
    /// The email template: `Register`, `SignIn` (the default), `ForgotPassword` or `Generic`
    /// (Logto's usage types, leniently spelt; see [`super::purpose`]).
    #[serde(default)]
    pub template: Option<String>,
    /// Go through the SMTP exchange without sending.
    #[serde(default)]
    pub dry_run: bool,
}

/// The user a command is about: an ID (`sub`), an email address or a username.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRef {
    pub user: String,
}

/// `user.remove-passkey`'s arguments: the user (ID, email or username) and the passkey's
/// credential ID (base64url, as `user.factors` lists it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyRef {
    pub user: String,
    pub credential_id: String,
}

/// `user.list`'s arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserQuery {
    /// Only the members of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only the users whose email, name or username contains this (case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many (default 100, at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `user.update`'s arguments: the user, and what changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserEdit {
    pub user: String,
    #[serde(flatten)]
    pub change: UserChange,
}

/// The group a command is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRef {
    pub name: String,
}

/// `group.update`'s arguments: the group, and what changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupEdit {
    pub name: String,
    #[serde(flatten)]
    pub change: GroupChange,
}

/// `group.add-member` and `group.remove-member`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    pub group: String,
    /// An ID, an email address or a username.
    pub user: String,
}

/// The management API key a command is about, by its ID (`api-key list` shows them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRef {
    pub id: String,
}

/// The API a command is about, by resource indicator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiRef {
    pub indicator: String,
}

/// `api.update`'s arguments: the API, and what changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiChange {
    pub indicator: String,
    #[serde(flatten)]
    pub change: ApiUpdate,
}

/// The answer to one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn ok(result: Value) -> Response {
        Response {
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    pub fn err(error: impl std::fmt::Display) -> Response {
        Response {
            ok: false,
            result: None,
            error: Some(error.to_string()),
        }
    }
}

/// A command's outcome as the wire carries it: the result, or the error's text.
impl From<Result<Value, AdminError>> for Response {
    fn from(outcome: Result<Value, AdminError>) -> Response {
        match outcome {
            Ok(result) => Response::ok(result),
            Err(e) => Response::err(e),
        }
    }
}

/// An app as the CLI shows it (never the secret hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub client_id: String,
    /// Shown once, at creation or rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    /// `traditional`, `spa`, `native` or `machine`.
    #[serde(rename = "type")]
    pub app_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_signed_response_alg: Alg,
    /// Only members of these groups may use the app (empty: everyone).
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Accepts `http://` redirect URIs to hosts on the LAN.
    #[serde(default)]
    pub allow_insecure_redirect: bool,
    /// Seconds in which a refresh may be retried (0: never); absent: the server's default
    /// (`[tokens] refresh_retry_window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_retry_window: Option<u64>,
    /// A machine app's API scopes (client credentials), by resource indicator.
    #[serde(default, skip_serializing_if = "crate::store::ApiScopes::is_empty")]
    pub api_scopes: crate::store::ApiScopes,
    /// Where sesame POSTs a logout token when a session that signed in to the app ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` in logout tokens (sesame always sends it).
    #[serde(default = "yes")]
    pub backchannel_logout_session_required: bool,
    /// May use the device authorization grant (RFC 8628).
    #[serde(default)]
    pub device_flow: bool,
    /// `/auth` only with a pushed request (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// `optional` or `required`: a second factor after the email code to sign in to the app.
    #[serde(default)]
    pub second_factor: SecondFactor,
    /// Declared in `sesame.toml` (change it there).
    pub declared: bool,
    pub created_at: u64,
}

fn yes() -> bool {
    true
}

impl AppInfo {
    pub fn of(app: &App, client_secret: Option<String>) -> AppInfo {
        AppInfo {
            client_id: app.client_id.clone(),
            client_secret,
            name: app.name.clone(),
            app_type: app.app_type.as_str().to_string(),
            redirect_uris: app.redirect_uris.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: apps::id_token_alg(app),
            allowed_groups: app.allowed_groups.clone(),
            allow_insecure_redirect: app.allow_insecure_redirect,
            refresh_retry_window: app.refresh_retry_window,
            api_scopes: app.api_scopes.clone(),
            backchannel_logout_uri: app.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: app.backchannel_logout_session_required,
            device_flow: app.device_flow,
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
            second_factor: app.second_factor,
            declared: app.declared,
            created_at: app.created_at,
        }
    }
}

/// A group as results carry it: its record, with `second_factor` always named (the record
/// leaves it out while optional), so a reader and the audit log see the policy either way.
pub fn group_info(group: &Group) -> Value {
    let mut v = serde_json::to_value(group).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut v {
        fields.insert("second_factor".into(), json!(group.second_factor.as_str()));
    }
    v
}

/// Reads `keys.rotate`'s algorithm: the default when null, and an unknown name refused in the
/// command's own words.
fn key_alg<'de, D: Deserializer<'de>>(d: D) -> Result<Alg, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(Alg::default()),
        Some(name) => name.parse().map_err(|_| {
            let [others @ .., last] = Alg::NAMES;
            serde::de::Error::custom(format_args!(
                "unknown key algorithm {name:?}; use {} or {last}",
                others.join(", ")
            ))
        }),
    }
}
