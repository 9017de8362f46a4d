//! The configuration schema: the types `sesame.toml`, `SESAME_*` variables and flags fill in,
//! with their defaults. Loading and checking them is the parent module's business.
//!
//! The sections that belong to one part of sesame are that part's types, assembled here:
//! `[branding]` is [`crate::pages::BrandingConfig`], `[mail]` is [`crate::mail::MailConfig`],
//! `[tokens]` is [`crate::provider::TokenConfig`], `[limits]` is
//! [`crate::limits::LimitsConfig`], `[store]` is [`crate::store::StoreConfig`], `[audit]` is [`crate::audit::AuditConfig`],
//! `[[app]]` is [`crate::apps::AppDecl`], `[[api]]` is [`crate::apis::NewApi`], `[dev]` is [`crate::signin::dev::DevConfig`],
//! `[forward_auth]` and `[[access]]` are [`crate::forward_auth::ForwardAuthConfig`] and
//! [`crate::forward_auth::AccessRuleDecl`], `[metrics]` is [`crate::metrics::MetricsConfig`],
//! `[keys]` is [`crate::crypto::keys::KeysConfig`]. The
//! server's own settings are defined here.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::{AuditConfig, BrandingConfig, MailConfig};
use crate::apis::NewApi;
use crate::apps::AppDecl;
use crate::crypto::keys::KeysConfig;
use crate::forward_auth::{AccessRuleDecl, ForwardAuthConfig};
use crate::limits::LimitsConfig;
use crate::metrics::MetricsConfig;
use crate::provider::TokenConfig;
use crate::signin::dev::DevConfig;
use crate::store::StoreConfig;
use crate::users::{GroupDecl, SignUpConfig, UserDecl};

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
    /// Limits under abuse: per-client rates, mail budgets, pending sign-ins, connections.
    pub limits: LimitsConfig,
    /// The database file's cache.
    pub store: StoreConfig,
    /// How long the audit log keeps entries.
    pub audit: AuditConfig,
    pub branding: BrandingConfig,
    pub mail: MailConfig,
    /// Applications declared here are created or updated at every start.
    #[serde(rename = "app")]
    pub apps: Vec<AppDecl>,
    /// APIs declared here (resource servers that get JWT access tokens) are created or
    /// replaced at every start.
    #[serde(rename = "api")]
    pub apis: Vec<NewApi>,
    /// Who may create an account by signing in.
    pub sign_up: SignUpConfig,
    /// Users declared here are created or updated at every start.
    #[serde(rename = "user")]
    pub users: Vec<UserDecl>,
    /// Groups declared here are created or updated at every start.
    #[serde(rename = "group")]
    pub groups: Vec<GroupDecl>,
    /// `sesame dev` only: the personas of its sign-in page. `sesame serve` ignores it.
    pub dev: DevConfig,
    /// Forward-auth for a reverse proxy: the cookie domain (unset: off).
    pub forward_auth: ForwardAuthConfig,
    /// Forward-auth's access rules, in order: the first that matches decides; none: denied.
    pub access: Vec<AccessRuleDecl>,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// Signing key rotation.
    pub keys: KeysConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: "http://localhost:8080".into(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("sesame-data"),
            log_level: "info".into(),
            tokens: TokenConfig::default(),
            limits: LimitsConfig::default(),
            store: StoreConfig::default(),
            audit: AuditConfig::default(),
            branding: BrandingConfig::default(),
            mail: MailConfig::default(),
            apps: Vec::new(),
            apis: Vec::new(),
            sign_up: SignUpConfig::default(),
            users: Vec::new(),
            groups: Vec::new(),
            dev: DevConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            access: Vec::new(),
            metrics: MetricsConfig::default(),
            keys: KeysConfig::default(),
        }
    }
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
