//! The control socket's wire protocol: one JSON [`Request`] per line, one JSON [`Response`]
//! line back; the command names ([`cmd`]) and the shapes their results take ([`AppInfo`]).

use crate::apps;
use crate::crypto::keys::Alg;
use crate::store::App;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub id_token_signed_response_alg: Alg,
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
            id_token_signed_response_alg: apps::id_token_alg(app),
            declared: app.declared,
            created_at: app.created_at,
        }
    }
}
