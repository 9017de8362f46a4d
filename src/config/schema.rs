//! The configuration schema: the types `sesame.toml`, `SESAME_*` variables and flags fill in,
//! with their defaults. Loading and checking them is the parent module's business.
//!
//! The sections that belong to one part of sesame are that part's types, assembled here:
//! `[branding]` is [`crate::pages::BrandingConfig`], `[mail]` is [`crate::mail::MailConfig`].
//! The rest (the server's own settings, tokens, declared apps) is defined here.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::{BrandingConfig, MailConfig, Secret};

/// The whole configuration, validated.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The issuer URL: what tokens carry in `iss` and every endpoint is under. Never taken from
    /// the request's Host header. May carry a path (`https://auth.example.com/oidc`). When
    /// nobody sets it, `http://localhost:<port of listen>`.
    pub issuer: String,
    /// Address to listen on.
    pub listen: String,
    /// Directory holding `sesame.redb` and the control socket.
    pub data_dir: PathBuf,
    /// Log level: error, warn, info, debug, trace.
    pub log_level: String,
    pub tokens: TokenConfig,
    pub branding: BrandingConfig,
    pub mail: MailConfig,
    /// Applications declared here are created or updated at every start.
    #[serde(rename = "app")]
    pub apps: Vec<AppDecl>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: "http://localhost:8080".into(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("sesame-data"),
            log_level: "info".into(),
            tokens: TokenConfig::default(),
            branding: BrandingConfig::default(),
            mail: MailConfig::default(),
            apps: Vec::new(),
        }
    }
}

/// Lifetimes, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub access_token_ttl: u64,
    pub id_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub authorization_code_ttl: u64,
    pub session_ttl: u64,
    /// How long a sign-in code stays valid.
    pub sign_in_code_ttl: u64,
    /// How long before another code may be sent to the same address.
    pub sign_in_code_resend_after: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl: 3600,
            id_token_ttl: 3600,
            refresh_token_ttl: 14 * 24 * 3600,
            authorization_code_ttl: 60,
            session_ttl: 14 * 24 * 3600,
            sign_in_code_ttl: 600,
            sign_in_code_resend_after: 60,
        }
    }
}

/// An application declared in the configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDecl {
    pub client_id: String,
    pub name: String,
    /// `traditional` (default), `spa` or `native`.
    #[serde(default)]
    pub app_type: Option<String>,
    /// The client secret in the clear (prefer `client_secret_file` or `client_secret_env`).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<crate::crypto::keys::Alg>,
}

impl Config {
    /// The database file, `<data_dir>/sesame.redb`.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("sesame.redb")
    }

    /// The control socket, `<data_dir>/sesame.sock`.
    pub fn socket_path(&self) -> PathBuf {
        self.data_dir.join("sesame.sock")
    }
}
