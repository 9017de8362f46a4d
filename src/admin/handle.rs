//! The command set: what each control command does to a [`Store`], the same whether a
//! running server received it (on the control socket or the management API) or the CLI runs it
//! on the file.
//!
//! It uses [`crate::apps`] for apps, [`crate::users`] for the directory, [`crate::api_keys`]
//! for API keys, [`KeySet::rotate`] for keys, the store's `CONNECTORS` table and
//! [`crate::mail`] for connectors; it has no socket and no running server, so anything a server
//! must do afterwards is returned as an [`Effect`] (`live.rs` applies it).

use super::error::AdminError;
use super::protocol::{
    ApiKeyRef, AppChange, AppInfo, AppRef, Command, ConnectorRef, ConnectorSettings, GroupEdit,
    GroupRef, KeyRotation, Membership, UserEdit, UserQuery, UserRef, CONNECTORS_KNOWN,
};

/// A listing's page size when the command does not say.
const DEFAULT_PAGE: usize = 100;
use crate::api_keys::{self, ApiKeyInfo};
use crate::apps;
use crate::clock::now;
use crate::config::{MailConfig, SesConfig};
use crate::crypto::keys::KeySet;
use crate::mail::Mailer;
use crate::store::{Store, CONNECTORS};
use crate::users;
use serde::Serialize;
use serde_json::{json, Value};

/// Carries out one command on the store. `mail` is the configuration's `[mail]`, against which
/// a new connector is tried before it is stored. The error stays typed: the control socket
/// sends its text ([`Response`](super::Response)), the management API maps it onto a status.
pub fn handle(store: &Store, mail: &MailConfig, command: Command) -> Result<Done, AdminError> {
    run(store, mail, command)
}

/// What a running server must do after a command succeeded.
pub enum Effect {
    /// The signing keys changed in the store: load them again.
    ReloadKeys,
    /// The mail connector changed: send with this mailer from now on.
    SwapMailer(Box<Mailer>),
}

/// A command carried out: the result for the client, and what a running server must do.
pub struct Done {
    pub result: Value,
    pub effect: Option<Effect>,
}

impl Done {
    /// A result and nothing for the server to do.
    fn result(result: Value) -> Done {
        Done {
            result,
            effect: None,
        }
    }
}

fn run(store: &Store, mail: &MailConfig, command: Command) -> Result<Done, AdminError> {
    let info = |app: &crate::store::App| to_json(&AppInfo::of(app, None));
    Ok(match command {
        Command::AppCreate(new) => {
            let (app, secret) = apps::create(store, new)?;
            Done::result(to_json(&AppInfo::of(&app, secret)))
        }
        Command::AppList(_) => {
            let infos: Vec<AppInfo> = apps::list(store)?
                .iter()
                .map(|a| AppInfo::of(a, None))
                .collect();
            Done::result(to_json(&infos))
        }
        Command::AppShow(AppRef { client_id }) => {
            Done::result(info(&apps::get(store, &client_id)?))
        }
        Command::AppUpdate(AppChange { client_id, change }) => {
            Done::result(info(&apps::update(store, &client_id, change)?))
        }
        Command::AppDelete(AppRef { client_id }) => {
            Done::result(info(&apps::delete(store, &client_id)?))
        }
        Command::AppRotateSecret(AppRef { client_id }) => {
            let secret = apps::rotate_secret(store, &client_id)?;
            Done::result(json!({ "client_id": client_id, "client_secret": secret }))
        }
        Command::ConnectorSet(settings) => connector_set(store, mail, settings)?,
        Command::ConnectorShow(ConnectorRef { name }) => {
            known_connector(&name)?;
            Done::result(match store.read(|tx| tx.get(&CONNECTORS, &name))? {
                Some(v) => json!({ "name": name, "stored": true, "config": mask_secrets(v) }),
                None => json!({ "name": name, "stored": false }),
            })
        }
        Command::ConnectorDelete(connector) => connector_delete(store, mail, connector)?,
        Command::KeysRotate(KeyRotation { alg }) => {
            let kid = KeySet::rotate(store, alg).map_err(AdminError::KeyRotation)?;
            Done {
                result: json!({ "alg": alg, "kid": kid }),
                effect: Some(Effect::ReloadKeys),
            }
        }
        Command::MailTest(_) => return Err(AdminError::MailTestNeedsServer),
        Command::UserAdd(new) => Done::result(to_json(&users::add(store, now(), new)?)),
        Command::UserList(UserQuery {
            group,
            after,
            limit,
        }) => Done::result(to_json(&users::list(
            store,
            group.as_deref(),
            after.as_deref(),
            limit.unwrap_or(DEFAULT_PAGE),
        )?)),
        Command::UserShow(UserRef { user }) => Done::result(to_json(&users::get(store, &user)?)),
        Command::UserUpdate(UserEdit { user, change }) => {
            Done::result(to_json(&users::update(store, now(), &user, change)?))
        }
        Command::UserDisable(UserRef { user }) => {
            Done::result(to_json(&users::set_disabled(store, now(), &user, true)?))
        }
        Command::UserEnable(UserRef { user }) => {
            Done::result(to_json(&users::set_disabled(store, now(), &user, false)?))
        }
        Command::UserDelete(UserRef { user }) => {
            Done::result(to_json(&users::delete(store, &user)?))
        }
        Command::UserSignOut(UserRef { user }) => {
            let (user, sessions) = users::sign_out(store, &user)?;
            Done::result(
                json!({ "user": user.id, "email": user.email, "sessions_ended": sessions }),
            )
        }
        Command::GroupAdd(new) => Done::result(to_json(&users::add_group(store, now(), new)?)),
        Command::GroupList(_) => Done::result(to_json(&users::list_groups(store)?)),
        Command::GroupShow(GroupRef { name }) => {
            let group = users::get_group(store, &name)?;
            let members: Vec<Value> = users::list(store, Some(&name), None, users::MAX_PAGE)?
                .items
                .iter()
                .map(|u| json!({ "id": u.id, "email": u.email }))
                .collect();
            let mut v = to_json(&group);
            v["members"] = Value::Array(members);
            Done::result(v)
        }
        Command::GroupUpdate(GroupEdit { name, change }) => {
            Done::result(to_json(&users::update_group(store, now(), &name, change)?))
        }
        Command::GroupDelete(GroupRef { name }) => {
            Done::result(to_json(&users::delete_group(store, now(), &name)?))
        }
        Command::GroupAddMember(Membership { group, user }) => {
            Done::result(to_json(&users::add_member(store, now(), &group, &user)?))
        }
        Command::GroupRemoveMember(Membership { group, user }) => {
            Done::result(to_json(&users::remove_member(store, now(), &group, &user)?))
        }
        Command::ApiKeyCreate(new) => {
            let now = now();
            let (key, clear) = api_keys::create(store, now, new)?;
            Done::result(to_json(&ApiKeyInfo::of(&key, now, Some(clear))))
        }
        Command::ApiKeyList(_) => {
            let now = now();
            let infos: Vec<ApiKeyInfo> = api_keys::list(store)?
                .iter()
                .map(|k| ApiKeyInfo::of(k, now, None))
                .collect();
            Done::result(to_json(&infos))
        }
        Command::ApiKeyRevoke(ApiKeyRef { id }) => {
            let now = now();
            let key = api_keys::revoke(store, now, &id)?;
            Done::result(to_json(&ApiKeyInfo::of(&key, now, None)))
        }
    })
}

/// Validates a connector's settings, tries them with the configured `[mail]`, and stores them.
fn connector_set(
    store: &Store,
    mail: &MailConfig,
    settings: ConnectorSettings,
) -> Result<Done, AdminError> {
    let ConnectorSettings { name, config } = settings;
    known_connector(&name)?;
    let config = config.ok_or(AdminError::NoConnectorConfig)?;
    if !config.is_object() {
        return Err(AdminError::ConnectorNotObject);
    }
    let ses: SesConfig =
        crate::mail::parse_ses_json(&config.to_string()).map_err(AdminError::ConnectorInvalid)?;
    let mailer =
        Mailer::build(mail, Some(ses.clone())).map_err(AdminError::ConnectorDoesNotWork)?;
    let stored = serde_json::to_value(&ses).map_err(AdminError::ConnectorEncoding)?;
    store.write(|tx| tx.put(&CONNECTORS, &name, &stored))?;
    // Defaults used, precedence: what the user should know about what they stored.
    let warnings = crate::mail::ses_notes(&ses);
    Ok(Done {
        result: json!({
            "name": name,
            "stored": true,
            "config": mask_secrets(stored),
            "mail": mailer.status(),
            "warnings": warnings,
        }),
        effect: Some(Effect::SwapMailer(Box::new(mailer))),
    })
}

/// Removes a stored connector. The mailer goes back to the one the configuration file
/// describes (or, if that does not build, to one that fails every send with the reason).
fn connector_delete(
    store: &Store,
    mail: &MailConfig,
    connector: ConnectorRef,
) -> Result<Done, AdminError> {
    let ConnectorRef { name } = connector;
    known_connector(&name)?;
    let removed = store.write(|tx| tx.remove(&CONNECTORS, &name))?;
    if !removed {
        return Ok(Done::result(json!({ "name": name, "deleted": false })));
    }
    // As at start-up: a configuration that does not build never falls back to printing codes
    // in the log (log readers could sign in); sends fail with the reason instead.
    let (mailer, warnings) = match Mailer::build(mail, None) {
        Ok(m) => (m, vec![]),
        Err(e) => (
            Mailer::misconfigured(e.to_string()),
            vec![format!(
                "the [mail] configuration does not work ({e}): sign-in codes cannot be sent until it is fixed"
            )],
        ),
    };
    Ok(Done {
        result: json!({
            "name": name,
            "deleted": true,
            "mail": mailer.status(),
            "warnings": warnings,
        }),
        effect: Some(Effect::SwapMailer(Box::new(mailer))),
    })
}

fn known_connector(name: &str) -> Result<(), AdminError> {
    if CONNECTORS_KNOWN.contains(&name) {
        Ok(())
    } else {
        Err(AdminError::UnknownConnector(name.to_string()))
    }
}

/// Replaces secret values with a mask that only says they are set.
pub fn mask_secrets(mut v: Value) -> Value {
    const SECRET_KEYS: &[&str] = &[
        "accessKeySecret",
        "smtpPassword",
        "access_key_secret",
        "smtp_password",
    ];
    if let Some(obj) = v.as_object_mut() {
        for k in SECRET_KEYS {
            if let Some(secret) = obj.get_mut(*k) {
                if !secret.is_null() {
                    *secret = Value::String("********".into());
                }
            }
        }
    }
    v
}

fn to_json<T: Serialize>(v: &T) -> Value {
    // Our own plain structs (strings, numbers, vectors) always serialise.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The email template named by `mail test --template`: `Register`, `SignIn` (the default),
/// `ForgotPassword` or `Generic` (Logto's usage types, leniently spelt).
pub fn purpose(name: Option<&str>) -> Result<crate::mail::Purpose, AdminError> {
    name.unwrap_or("SignIn")
        .parse()
        .map_err(AdminError::UnknownTemplate)
}
