//! The configuration schema: the types `sesame.toml`, `SESAME_*` variables and flags fill in,
//! with their defaults. Loading and checking them is the parent module's business.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A secret from the configuration (a password, a key). Serialised as the plain string (so
/// files and connector JSON keep Logto's shape), but its `Debug` never shows it: a
/// `debug!("{config:?}")` cannot leak credentials into a log.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

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

/// What the pages look like.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingConfig {
    pub product_name: String,
    /// An image URL shown above the forms; none shows the product name only.
    pub logo_url: Option<String>,
    /// A CSS colour in `#rrggbb` form.
    pub accent_color: String,
}

impl Default for BrandingConfig {
    fn default() -> Self {
        BrandingConfig {
            product_name: "sesame".into(),
            logo_url: None,
            accent_color: "#5d34f2".into(),
        }
    }
}

/// Which mail transport sends sign-in codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// Print codes to the log (the default: works with nothing configured).
    #[default]
    Log,
    /// Any SMTP relay.
    Smtp,
    /// Amazon SES through its SMTP interface.
    Ses,
}

/// How an SMTP connection is secured. Explicit, never guessed from the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (ports 587, 2587); refuses to go on without it.
    #[default]
    Starttls,
    /// TLS from the first byte (ports 465, 2465).
    Tls,
    /// No TLS at all (only for a relay on the same host).
    None,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: MailTransportKind,
    /// The From header, `noreply@example.com` or `Name <noreply@example.com>`
    /// (for SES, `mail.ses.emailAddress` takes precedence).
    pub from: Option<String>,
    /// Bounded wait for one SMTP send, in seconds (default 15).
    pub timeout_secs: Option<u64>,
    pub smtp: SmtpConfig,
    pub ses: Option<SesConfig>,
    /// Email templates overriding the embedded defaults, per usage type.
    pub templates: Vec<EmailTemplate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Read the password from this file instead (trailing newline trimmed).
    pub password_file: Option<PathBuf>,
    /// A PEM file with extra CA certificates to trust (a private relay's CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            tls: TlsMode::Starttls,
            username: None,
            password: None,
            password_file: None,
            ca_file: None,
        }
    }
}

/// One email template, in Logto's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmailTemplate {
    pub subject: String,
    /// HTML content; `{{code}}` is replaced by the code.
    pub content: String,
    /// `Register`, `SignIn`, `ForgotPassword` or `Generic`.
    #[serde(alias = "usage_type")]
    pub usage_type: String,
}

/// Logto's AWS SES connector configuration, accepted unchanged (camelCase) or in snake_case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SesConfig {
    #[serde(alias = "access_key_id")]
    pub access_key_id: String,
    #[serde(alias = "access_key_secret", default)]
    pub access_key_secret: Option<Secret>,
    /// A ready SMTP password, instead of deriving one from `accessKeySecret`.
    #[serde(alias = "smtp_password", default)]
    pub smtp_password: Option<Secret>,
    pub region: String,
    #[serde(alias = "email_address", default)]
    pub email_address: Option<String>,
    #[serde(alias = "email_address_identity_arn", default)]
    pub email_address_identity_arn: Option<String>,
    #[serde(alias = "feedback_forwarding_email_address", default)]
    pub feedback_forwarding_email_address: Option<String>,
    #[serde(alias = "feedback_forwarding_email_address_identity_arn", default)]
    pub feedback_forwarding_email_address_identity_arn: Option<String>,
    #[serde(alias = "configuration_set_name", default)]
    pub configuration_set_name: Option<String>,
    #[serde(default)]
    pub templates: Vec<EmailTemplate>,
    /// Endpoint override (VPC or FIPS endpoints, tests). Default:
    /// `email-smtp.<region>.amazonaws.com:587`, STARTTLS.
    #[serde(default)]
    pub endpoint: Option<SesEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SesEndpoint {
    #[serde(default)]
    pub host: Option<String>,
    /// 587 or 2587 (STARTTLS), 465 or 2465 (TLS).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<TlsMode>,
    #[serde(alias = "ca_file", default)]
    pub ca_file: Option<PathBuf>,
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
