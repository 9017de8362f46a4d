//! The control socket: how the CLI reaches a running server.
//!
//! redb lets one process open a database file at a time, so while `sesame serve` runs, the CLI
//! cannot open `sesame.redb` itself. Instead the server listens on `<data_dir>/sesame.sock`
//! (a Unix domain socket, mode 0600: only the user running sesame may connect) and the CLI
//! sends it the same commands it would otherwise carry out on the file. One JSON request per
//! line, one JSON response line back:
//!
//! ```text
//! → {"cmd":"app.create","args":{"name":"Bookstore","redirect_uris":["https://..."]}}
//! ← {"ok":true,"result":{"client_id":"...","client_secret":"...",...}}
//! ← {"ok":false,"error":"redirect URI \"...\" must not contain a fragment (#...)"}
//! ```
//!
//! A data directory too deep for a socket address (107 bytes of path) is reached through
//! `/proc/self/fd` on Linux (`socket_path.rs`); elsewhere both ends say it is too long, and the
//! CLI uses the file when no server runs.
//!
//! [`handle`] is the whole command set over a [`Store`]; the server ([`serve`]) and the CLI
//! with the server stopped both call it, so a command behaves the same either way. What only a
//! running server has (the live mailer and key set) comes back as an [`Effect`] to apply.

pub mod client;
mod server;
mod socket_path;

pub use server::{bind, serve, serve_on, ControlSocket};

use crate::apps::{self, AppUpdate, NewApp};
use crate::config::{MailConfig, SesConfig};
use crate::crypto::keys::{Alg, KeySet};
use crate::mail::Mailer;
use crate::store::{App, Store, CONNECTORS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The control socket's file name in the data directory.
pub const SOCKET_NAME: &str = "sesame.sock";

/// Commands, as sent in `cmd`.
pub mod cmd {
    pub const APP_CREATE: &str = "app.create";
    pub const APP_LIST: &str = "app.list";
    pub const APP_SHOW: &str = "app.show";
    pub const APP_UPDATE: &str = "app.update";
    pub const APP_DELETE: &str = "app.delete";
    pub const APP_ROTATE_SECRET: &str = "app.rotate-secret";
    pub const CONNECTOR_SET: &str = "connector.set";
    pub const CONNECTOR_SHOW: &str = "connector.show";
    /// Removes the stored connector: mail goes back to what the configuration file says.
    pub const CONNECTOR_DELETE: &str = "connector.delete";
    pub const KEYS_ROTATE: &str = "keys.rotate";
    /// Only a running server answers this one: it tests the mailer it is using.
    pub const MAIL_TEST: &str = "mail.test";
}

/// True for the commands that may start a new data directory (they store something that did
/// not exist). The others read or change what is there, so run on a missing `sesame.redb`
/// they would only create an empty one, most likely in the wrong place (a mistyped
/// `--data-dir`).
pub fn creates_data(command: &str) -> bool {
    matches!(
        command,
        cmd::APP_CREATE | cmd::CONNECTOR_SET | cmd::KEYS_ROTATE
    )
}

/// The connector names `connector set` accepts (Logto's AWS SES connector for now).
pub const CONNECTORS_KNOWN: &[&str] = &["ses"];

/// One command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub cmd: String,
    #[serde(default)]
    pub args: Value,
}

impl Request {
    pub fn new(cmd: &str, args: Value) -> Request {
        Request {
            cmd: cmd.to_string(),
            args,
        }
    }
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

/// What a running server must do after a command succeeded.
pub enum Effect {
    /// The signing keys changed in the store: load them again.
    ReloadKeys,
    /// The mail connector changed: send with this mailer from now on.
    SwapMailer(Box<Mailer>),
}

/// An app as the CLI shows it (never the secret hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub client_id: String,
    /// Shown once, at creation or rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    /// `traditional`, `spa` or `native`.
    #[serde(rename = "type")]
    pub app_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_signed_response_alg: String,
    /// Declared in `sesame.toml` (change it there).
    pub declared: bool,
    pub created_at: u64,
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
            id_token_signed_response_alg: apps::id_token_alg(app).to_string(),
            declared: app.declared,
            created_at: app.created_at,
        }
    }
}

/// Carries out one command on the store. `mail` is the configuration's `[mail]`, against which
/// a new connector is tried before it is stored.
pub fn handle(store: &Store, mail: &MailConfig, req: &Request) -> (Response, Option<Effect>) {
    match run(store, mail, req) {
        Ok((result, effect)) => (Response::ok(result), effect),
        Err(e) => (Response::err(e), None),
    }
}

#[derive(Deserialize)]
struct ClientIdArg {
    client_id: String,
}

#[derive(Deserialize)]
struct UpdateArgs {
    client_id: String,
    #[serde(flatten)]
    change: AppUpdate,
}

#[derive(Deserialize)]
struct ConnectorArgs {
    name: String,
    #[serde(default)]
    config: Option<Value>,
}

#[derive(Deserialize)]
struct KeysArgs {
    #[serde(default)]
    alg: Option<String>,
}

fn run(store: &Store, mail: &MailConfig, req: &Request) -> Result<(Value, Option<Effect>), String> {
    let e = |e: apps::AppError| e.to_string();
    let result = match req.cmd.as_str() {
        cmd::APP_CREATE => {
            let new: NewApp = args(req)?;
            let (app, secret) = apps::create(store, new).map_err(e)?;
            to_json(&AppInfo::of(&app, secret))
        }
        cmd::APP_LIST => {
            let infos: Vec<AppInfo> = apps::list(store)
                .map_err(e)?
                .iter()
                .map(|a| AppInfo::of(a, None))
                .collect();
            to_json(&infos)
        }
        cmd::APP_SHOW => {
            let a: ClientIdArg = args(req)?;
            to_json(&AppInfo::of(
                &apps::get(store, &a.client_id).map_err(e)?,
                None,
            ))
        }
        cmd::APP_UPDATE => {
            let a: UpdateArgs = args(req)?;
            to_json(&AppInfo::of(
                &apps::update(store, &a.client_id, a.change).map_err(e)?,
                None,
            ))
        }
        cmd::APP_DELETE => {
            let a: ClientIdArg = args(req)?;
            to_json(&AppInfo::of(
                &apps::delete(store, &a.client_id).map_err(e)?,
                None,
            ))
        }
        cmd::APP_ROTATE_SECRET => {
            let a: ClientIdArg = args(req)?;
            let secret = apps::rotate_secret(store, &a.client_id).map_err(e)?;
            json!({ "client_id": a.client_id, "client_secret": secret })
        }
        cmd::CONNECTOR_SET => return connector_set(store, mail, args(req)?),
        cmd::CONNECTOR_SHOW => {
            let a: ConnectorArgs = args(req)?;
            known_connector(&a.name)?;
            let stored = store
                .read(|tx| tx.get(&CONNECTORS, &a.name))
                .map_err(|e| e.to_string())?;
            match stored {
                Some(v) => json!({ "name": a.name, "stored": true, "config": mask_secrets(v) }),
                None => json!({ "name": a.name, "stored": false }),
            }
        }
        cmd::CONNECTOR_DELETE => return connector_delete(store, mail, args(req)?),
        cmd::KEYS_ROTATE => {
            let a: KeysArgs = args(req)?;
            let alg: Alg = a.alg.as_deref().unwrap_or("ES384").parse().map_err(|_| {
                format!(
                    "unknown key algorithm {:?}; use ES384, ES256 or RS256",
                    a.alg.unwrap_or_default()
                )
            })?;
            let kid =
                KeySet::rotate(store, alg).map_err(|e| format!("key rotation failed: {e}"))?;
            return Ok((
                json!({ "alg": alg.as_str(), "kid": kid }),
                Some(Effect::ReloadKeys),
            ));
        }
        cmd::MAIL_TEST => return Err("mail.test needs a running server".into()),
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok((result, None))
}

/// Validates a connector's settings, tries them with the configured `[mail]`, and stores them.
fn connector_set(
    store: &Store,
    mail: &MailConfig,
    a: ConnectorArgs,
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
    a: ConnectorArgs,
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

fn args<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, String> {
    let args = if req.args.is_null() {
        json!({})
    } else {
        req.args.clone()
    };
    serde_json::from_value(args).map_err(|e| format!("bad arguments for {}: {e}", req.cmd))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        (dir, store)
    }

    fn call(store: &Store, cmd: &str, args: Value) -> Response {
        handle(store, &MailConfig::default(), &Request::new(cmd, args)).0
    }

    fn ok(store: &Store, cmd: &str, args: Value) -> Value {
        let r = call(store, cmd, args);
        assert!(r.ok, "{cmd}: {:?}", r.error);
        r.result.unwrap()
    }

    #[test]
    fn the_app_commands_round_trip_as_json() {
        let (_d, store) = store();
        let created = ok(
            &store,
            cmd::APP_CREATE,
            json!({"name": "Bookstore", "redirect_uris": ["http://localhost:3000/api/auth/callback/logto"]}),
        );
        let id = created["client_id"].as_str().unwrap().to_string();
        assert!(created["client_secret"]
            .as_str()
            .is_some_and(|s| s.len() >= 32));
        assert_eq!(created["type"], "traditional");
        assert_eq!(created["id_token_signed_response_alg"], "ES384");

        let list = ok(&store, cmd::APP_LIST, Value::Null);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(list[0].get("client_secret").is_none(), "never shown again");

        let shown = ok(&store, cmd::APP_SHOW, json!({"client_id": id}));
        assert_eq!(shown["name"], "Bookstore");

        let updated = ok(
            &store,
            cmd::APP_UPDATE,
            json!({"client_id": id, "name": "Books", "post_logout_redirect_uris": ["http://localhost:3000/"]}),
        );
        assert_eq!(updated["name"], "Books");
        assert_eq!(
            updated["redirect_uris"],
            json!(["http://localhost:3000/api/auth/callback/logto"])
        );

        let rotated = ok(&store, cmd::APP_ROTATE_SECRET, json!({"client_id": id}));
        assert_ne!(rotated["client_secret"], created["client_secret"]);

        ok(&store, cmd::APP_DELETE, json!({"client_id": id}));
        let gone = call(&store, cmd::APP_SHOW, json!({"client_id": id}));
        assert!(!gone.ok && gone.error.unwrap().contains("no app"));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let (_d, store) = store();
        let r = call(
            &store,
            cmd::APP_CREATE,
            json!({"name": "X", "type": "spa", "redirect_uris": ["https://x.example.com/#a"]}),
        );
        assert!(r.error.unwrap().contains("fragment"));
        let r = call(
            &store,
            cmd::APP_CREATE,
            json!({"name": "X", "type": "desktop", "redirect_uris": []}),
        );
        assert!(r.error.unwrap().contains("bad arguments for app.create"));
        let r = call(&store, cmd::APP_SHOW, json!({}));
        assert!(r.error.unwrap().contains("client_id"));
        let r = call(&store, "app.frobnicate", json!({}));
        assert!(r.error.unwrap().contains("unknown command"));
        let r = call(&store, cmd::KEYS_ROTATE, json!({"alg": "HS256"}));
        assert!(r.error.unwrap().contains("HS256"));
        let r = call(
            &store,
            cmd::CONNECTOR_SET,
            json!({"name": "sendgrid", "config": {}}),
        );
        assert!(r.error.unwrap().contains("unknown connector"));
    }

    #[test]
    fn a_connector_is_validated_stored_and_shown_masked() {
        let (_d, store) = store();
        let ses = json!({
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "region": "eu-west-1",
            "emailAddress": "noreply@example.com",
            "templates": []
        });
        let (r, effect) = handle(
            &store,
            &MailConfig::default(),
            &Request::new(cmd::CONNECTOR_SET, json!({"name": "ses", "config": ses})),
        );
        assert!(r.ok, "{:?}", r.error);
        assert!(matches!(effect, Some(Effect::SwapMailer(_))));
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            !text.contains("wJalrXUtnFEMI"),
            "the secret is never sent back: {text}"
        );

        let shown = ok(&store, cmd::CONNECTOR_SHOW, json!({"name": "ses"}));
        assert_eq!(shown["config"]["accessKeySecret"], "********");
        assert_eq!(shown["config"]["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
        let stored: SesConfig = serde_json::from_value(
            store
                .read(|tx| tx.get(&CONNECTORS, "ses"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored.region, "eu-west-1");

        let bad = json!({"accessKeyId": "AKIA", "accessKeySecret": "s", "region": "mars-1"});
        let r = call(
            &store,
            cmd::CONNECTOR_SET,
            json!({"name": "ses", "config": bad}),
        );
        assert!(!r.ok && r.error.unwrap().contains("region"));
        let kept: SesConfig = serde_json::from_value(
            store
                .read(|tx| tx.get(&CONNECTORS, "ses"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            kept.region, "eu-west-1",
            "a refused connector leaves the stored one"
        );
    }

    #[test]
    fn keys_rotate_makes_a_new_active_key() {
        let (_d, store) = store();
        let (r, effect) = handle(
            &store,
            &MailConfig::default(),
            &Request::new(cmd::KEYS_ROTATE, json!({"alg": "ES256"})),
        );
        assert!(r.ok, "{:?}", r.error);
        assert!(matches!(effect, Some(Effect::ReloadKeys)));
        let kid = r.result.unwrap()["kid"].as_str().unwrap().to_string();
        let rec = store
            .read(|tx| tx.get(&crate::store::KEYS, &kid))
            .unwrap()
            .unwrap();
        assert!(rec.active && rec.alg == "ES256");
    }

    #[test]
    fn the_client_reports_no_server_for_a_missing_or_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let req = Request::new(cmd::APP_LIST, Value::Null);
        assert!(matches!(
            client::call(dir.path(), &req),
            Err(client::ClientError::NotRunning)
        ));
        // A socket file whose server is gone (a crash): connecting is refused.
        drop(std::os::unix::net::UnixListener::bind(dir.path().join("sesame.sock")).unwrap());
        assert!(matches!(
            client::call(dir.path(), &req),
            Err(client::ClientError::NotRunning)
        ));
    }

    #[test]
    fn the_client_speaks_one_json_line_each_way() {
        let dir = tempfile::tempdir().unwrap();
        let listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("sesame.sock")).unwrap();
        let server = std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            std::io::BufReader::new(&stream)
                .read_line(&mut line)
                .unwrap();
            let req: Request = serde_json::from_str(&line).unwrap();
            let answer = Response::ok(json!({ "echo": req.cmd }));
            (&stream)
                .write_all(format!("{}\n", serde_json::to_string(&answer).unwrap()).as_bytes())
                .unwrap();
            line
        });
        let r = client::call(dir.path(), &Request::new(cmd::APP_LIST, Value::Null)).unwrap();
        assert_eq!(r.result.unwrap()["echo"], "app.list");
        let sent = server.join().unwrap();
        assert!(sent.ends_with('\n') && !sent.trim_end().contains('\n'));
        assert_eq!(
            serde_json::from_str::<Value>(&sent).unwrap()["cmd"],
            "app.list"
        );
    }

    #[test]
    fn a_connector_that_is_not_an_object_is_refused_in_its_own_terms() {
        let (_d, store) = store();
        for config in [json!([]), json!(5), json!("ses")] {
            let r = call(
                &store,
                cmd::CONNECTOR_SET,
                json!({"name": "ses", "config": config}),
            );
            let e = r.error.unwrap();
            assert!(
                e.contains("must be an object with accessKeyId, accessKeySecret (or smtpPassword) and region"),
                "{config}: {e}"
            );
            assert!(!e.contains("invalid type"), "{e}");
        }
    }

    #[test]
    fn deleting_the_connector_goes_back_to_the_configured_mailer() {
        let (_d, store) = store();
        let ses = json!({
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "region": "eu-west-1",
            "emailAddress": "noreply@example.com"
        });
        ok(
            &store,
            cmd::CONNECTOR_SET,
            json!({"name": "ses", "config": ses}),
        );
        let (r, effect) = handle(
            &store,
            &MailConfig::default(),
            &Request::new(cmd::CONNECTOR_DELETE, json!({"name": "ses"})),
        );
        assert!(r.ok, "{:?}", r.error);
        let result = r.result.unwrap();
        assert_eq!(result["deleted"], true);
        assert_eq!(result["mail"]["transport"], "log");
        match effect {
            Some(Effect::SwapMailer(m)) => assert_eq!(m.transport_name(), "log"),
            _ => panic!("the running server must swap its mailer"),
        }
        assert!(store
            .read(|tx| tx.get(&CONNECTORS, "ses"))
            .unwrap()
            .is_none());
        let shown = ok(&store, cmd::CONNECTOR_SHOW, json!({"name": "ses"}));
        assert_eq!(shown["stored"], false);

        // Deleting again: nothing to delete, nothing to swap.
        let (r, effect) = handle(
            &store,
            &MailConfig::default(),
            &Request::new(cmd::CONNECTOR_DELETE, json!({"name": "ses"})),
        );
        assert_eq!(r.result.unwrap()["deleted"], false);
        assert!(effect.is_none());
        let r = call(&store, cmd::CONNECTOR_DELETE, json!({"name": "sendgrid"}));
        assert!(r.error.unwrap().contains("unknown connector"));
    }

    #[test]
    fn only_commands_that_store_something_new_may_start_a_data_dir() {
        for c in [cmd::APP_CREATE, cmd::CONNECTOR_SET, cmd::KEYS_ROTATE] {
            assert!(creates_data(c), "{c}");
        }
        for c in [
            cmd::APP_LIST,
            cmd::APP_SHOW,
            cmd::APP_UPDATE,
            cmd::APP_DELETE,
            cmd::APP_ROTATE_SECRET,
            cmd::CONNECTOR_SHOW,
            cmd::CONNECTOR_DELETE,
            cmd::MAIL_TEST,
        ] {
            assert!(!creates_data(c), "{c}");
        }
    }

    #[test]
    fn the_client_falls_back_to_the_file_for_a_deep_or_missing_data_dir() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
        let req = Request::new(cmd::APP_LIST, Value::Null);
        // Missing: no server.
        assert!(matches!(
            client::call(&deep, &req),
            Err(client::ClientError::NotRunning)
        ));
        // There, too deep for a socket address, no socket: no server either (never Failed).
        std::fs::create_dir_all(&deep).unwrap();
        assert!(matches!(
            client::call(&deep, &req),
            Err(client::ClientError::NotRunning)
        ));
        if cfg!(target_os = "linux") {
            assert_eq!(client::unreachable_reason(&deep), None);
        } else {
            assert!(client::unreachable_reason(&deep).is_some());
        }
        assert_eq!(client::unreachable_reason(root.path()), None);
    }
}
