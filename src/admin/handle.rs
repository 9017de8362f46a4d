//! The command set: what each control command does to a [`Store`], the same whether a
//! running server received it on the socket or the CLI runs it on the file.

use super::protocol::{
    AppChange, AppInfo, AppRef, Command, ConnectorRef, ConnectorSettings, KeyRotation, Response,
    CONNECTORS_KNOWN,
};
use crate::apps;
use crate::config::{MailConfig, SesConfig};
use crate::crypto::keys::KeySet;
use crate::mail::Mailer;
use crate::store::{Store, CONNECTORS};
use serde::Serialize;
use serde_json::{json, Value};

/// Carries out one command on the store. `mail` is the configuration's `[mail]`, against which
/// a new connector is tried before it is stored.
pub fn handle(store: &Store, mail: &MailConfig, command: Command) -> (Response, Option<Effect>) {
    match run(store, mail, command) {
        Ok((result, effect)) => (Response::ok(result), effect),
        Err(e) => (Response::err(e), None),
    }
}
/// What a running server must do after a command succeeded.
pub enum Effect {
    /// The signing keys changed in the store: load them again.
    ReloadKeys,
    /// The mail connector changed: send with this mailer from now on.
    SwapMailer(Box<Mailer>),
}

fn run(
    store: &Store,
    mail: &MailConfig,
    command: Command,
) -> Result<(Value, Option<Effect>), String> {
    let e = |e: apps::AppError| e.to_string();
    let result = match command {
        Command::AppCreate(new) => {
            let (app, secret) = apps::create(store, new).map_err(e)?;
            to_json(&AppInfo::of(&app, secret))
        }
        Command::AppList(_) => {
            let infos: Vec<AppInfo> = apps::list(store)
                .map_err(e)?
                .iter()
                .map(|a| AppInfo::of(a, None))
                .collect();
            to_json(&infos)
        }
        Command::AppShow(AppRef { client_id }) => to_json(&AppInfo::of(
            &apps::get(store, &client_id).map_err(e)?,
            None,
        )),
        Command::AppUpdate(AppChange { client_id, change }) => to_json(&AppInfo::of(
            &apps::update(store, &client_id, change).map_err(e)?,
            None,
        )),
        Command::AppDelete(AppRef { client_id }) => to_json(&AppInfo::of(
            &apps::delete(store, &client_id).map_err(e)?,
            None,
        )),
        Command::AppRotateSecret(AppRef { client_id }) => {
            let secret = apps::rotate_secret(store, &client_id).map_err(e)?;
            json!({ "client_id": client_id, "client_secret": secret })
        }
        Command::ConnectorSet(settings) => return connector_set(store, mail, settings),
        Command::ConnectorShow(ConnectorRef { name }) => {
            known_connector(&name)?;
            let stored = store
                .read(|tx| tx.get(&CONNECTORS, &name))
                .map_err(|e| e.to_string())?;
            match stored {
                Some(v) => json!({ "name": name, "stored": true, "config": mask_secrets(v) }),
                None => json!({ "name": name, "stored": false }),
            }
        }
        Command::ConnectorDelete(connector) => return connector_delete(store, mail, connector),
        Command::KeysRotate(KeyRotation { alg }) => {
            let kid =
                KeySet::rotate(store, alg).map_err(|e| format!("key rotation failed: {e}"))?;
            return Ok((json!({ "alg": alg, "kid": kid }), Some(Effect::ReloadKeys)));
        }
        Command::MailTest(_) => return Err("mail.test needs a running server".into()),
    };
    Ok((result, None))
}

/// Validates a connector's settings, tries them with the configured `[mail]`, and stores them.
fn connector_set(
    store: &Store,
    mail: &MailConfig,
    a: ConnectorSettings,
) -> Result<(Value, Option<Effect>), String> {
    known_connector(&a.name)?;
    let Some(config) = a.config else {
        return Err("connector.set needs the connector's JSON in \"config\"".into());
    };
    // Said here in the connector's terms; serde would say "invalid type: sequence, expected
    // struct SesConfig".
    if !config.is_object() {
        return Err(
            "the SES connector JSON must be an object with accessKeyId, accessKeySecret (or \
             smtpPassword) and region"
                .into(),
        );
    }
    let ses: SesConfig =
        crate::mail::parse_ses_json(&config.to_string()).map_err(|e| e.to_string())?;
    let mailer = Mailer::build(mail, Some(ses.clone()))
        .map_err(|e| format!("the connector does not work: {e}"))?;
    let stored = serde_json::to_value(&ses).map_err(|e| e.to_string())?;
    store
        .write(|tx| tx.put(&CONNECTORS, &a.name, &stored))
        .map_err(|e| e.to_string())?;
    // Defaults used, precedence: what the user should know about what they stored.
    let warnings = crate::mail::ses_notes(&ses);
    let result = json!({
        "name": a.name,
        "stored": true,
        "config": mask_secrets(stored),
        "mail": mailer.status(),
        "warnings": warnings,
    });
    Ok((result, Some(Effect::SwapMailer(Box::new(mailer)))))
}

/// Removes a stored connector. The mailer goes back to the one the configuration file
/// describes (or, if that does not build, to one that fails every send with the reason).
fn connector_delete(
    store: &Store,
    mail: &MailConfig,
    a: ConnectorRef,
) -> Result<(Value, Option<Effect>), String> {
    known_connector(&a.name)?;
    let removed = store
        .write(|tx| tx.remove(&CONNECTORS, &a.name))
        .map_err(|e| e.to_string())?;
    if !removed {
        return Ok((json!({ "name": a.name, "deleted": false }), None));
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
    let result = json!({
        "name": a.name,
        "deleted": true,
        "mail": mailer.status(),
        "warnings": warnings,
    });
    Ok((result, Some(Effect::SwapMailer(Box::new(mailer)))))
}

fn known_connector(name: &str) -> Result<(), String> {
    if CONNECTORS_KNOWN.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "unknown connector {name:?}; known: {}",
            CONNECTORS_KNOWN.join(", ")
        ))
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
pub fn purpose(name: Option<&str>) -> Result<crate::mail::Purpose, String> {
    name.unwrap_or("SignIn").parse()
}
