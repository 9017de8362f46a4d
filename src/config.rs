//! Configuration: `sesame.toml` (optional), then `SESAME_*` environment variables, then flags.
//!
//! The types here are the schema. Unknown keys and invalid values are errors that name the key
//! and where the value came from (file line, environment variable or flag).
//! `examples/sesame.toml` documents every key next to its environment variable.
//!
//! - The file is `--config`, else `$SESAME_CONFIG`, else `./sesame.toml` if it exists. A file that
//!   was named and is missing is an error; no file at all means defaults.
//! - Every key is settable by `SESAME_` + its path upper-cased with `.` → `_`
//!   (`mail.smtp.port` → `SESAME_MAIL_SMTP_PORT`). An empty variable unsets the key. Arrays of
//!   tables take JSON (`SESAME_APP='[{"client_id": ...}]'`), and `SESAME_MAIL_SES_JSON` takes
//!   Logto's whole AWS SES connector JSON (individual `SESAME_MAIL_SES_*` still apply over it).
//! - A `SESAME_*` variable that names no key is a warning (other tools may share the prefix),
//!   unless it is within two letters of a real one: then it is a typo and an error, because a
//!   misspelt setting would silently leave the default in place.
//! - Flags (`--issuer`, `--listen`, `--data-dir`, `--log-level`) override everything.
//! - The issuer, when not set anywhere, follows the listen port: `http://localhost:<port>`.
//! - Relative paths are relative to the working directory.

mod keys;
mod layers;
mod validate;

pub use keys::{env_keys, env_var_for, EnvKey, ENV_CONFIG, ENV_PREFIX, ENV_SES_JSON};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
    pub password: Option<String>,
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
    pub access_key_secret: Option<String>,
    /// A ready SMTP password, instead of deriving one from `accessKeySecret`.
    #[serde(alias = "smtp_password", default)]
    pub smtp_password: Option<String>,
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
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
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

/// Values given as command-line flags; they win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub issuer: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub log_level: Option<String>,
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Nobody set it: the built-in default.
    Default,
    /// A line of the configuration file.
    File { path: PathBuf, line: usize },
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File { path, line } => write!(f, "{} line {line}", path.display()),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The configuration file that was named (`--config`, `SESAME_CONFIG`) could not be read.
    Read { path: PathBuf, reason: String },
    /// The file is not valid TOML.
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A key (or `SESAME_*` variable) that sesame does not know, with the nearest known one.
    UnknownKey {
        key: String,
        source: Source,
        suggestion: Option<String>,
    },
    /// A key whose value has the wrong type or is not acceptable.
    Invalid {
        key: String,
        source: Source,
        message: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read { path, reason } => {
                write!(
                    f,
                    "cannot read configuration file {}: {reason}",
                    path.display()
                )
            }
            ConfigError::Syntax {
                path,
                line,
                message,
            } => {
                write!(
                    f,
                    "{} line {line} is not valid TOML: {message}",
                    path.display()
                )
            }
            ConfigError::UnknownKey {
                key,
                source,
                suggestion,
            } => {
                write!(f, "unknown configuration key {key} ({source})")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean {s}?"),
                    None => write!(f, "; see examples/sesame.toml for every key"),
                }
            }
            ConfigError::Invalid {
                key,
                source,
                message,
            } => write!(f, "{key} ({source}): {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Loads the configuration: file, then `SESAME_*` environment variables, then flags; validated.
/// Warnings (ignored environment variables) are logged with `tracing`.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let (config, warnings) = load_with_warnings(path, overrides)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

/// [`load`], returning the warnings instead of logging them (the CLI loads the configuration
/// before logging is set up, since the log level is part of it).
pub fn load_with_warnings(
    path: Option<&Path>,
    overrides: &Overrides,
) -> Result<(Config, Vec<String>), ConfigError> {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    let named = path
        .map(Path::to_path_buf)
        .or_else(|| {
            env.iter()
                .find(|(k, _)| k == ENV_CONFIG)
                .map(|(_, v)| PathBuf::from(v))
        })
        .filter(|p| !p.as_os_str().is_empty());
    let file = match named {
        Some(p) => match std::fs::read_to_string(&p) {
            Ok(text) => Some((p, text)),
            Err(e) => {
                return Err(ConfigError::Read {
                    path: p,
                    reason: e.to_string(),
                })
            }
        },
        None => {
            let default = PathBuf::from("sesame.toml");
            match std::fs::read_to_string(&default) {
                Ok(text) => Some((default, text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(ConfigError::Read {
                        path: default,
                        reason: e.to_string(),
                    })
                }
            }
        }
    };
    resolve(
        file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
        &env,
        overrides,
    )
}

/// The whole loading pipeline over explicit inputs (what the tests drive).
fn resolve(
    file: Option<(&Path, &str)>,
    env: &[(String, String)],
    overrides: &Overrides,
) -> Result<(Config, Vec<String>), ConfigError> {
    let (mut table, mut sources) = match file {
        Some((path, text)) => layers::parse_file(path, text)?,
        None => Default::default(),
    };
    let warnings = layers::apply_env(&mut table, &mut sources, env)?;
    let flags = [
        ("issuer", "--issuer", overrides.issuer.clone()),
        ("listen", "--listen", overrides.listen.clone()),
        (
            "data_dir",
            "--data-dir",
            overrides
                .data_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        ),
        ("log_level", "--log-level", overrides.log_level.clone()),
    ];
    for (path, flag, value) in flags {
        if let Some(v) = value {
            layers::apply_flag(&mut table, &mut sources, path, flag, &v);
        }
    }
    layers::check(&mut table, &sources)?;
    // Known before serde fills in the default: whether anyone (file, environment, flag) set it.
    let issuer_set = table.contains_key("issuer");
    // The walk above checked every key and type, so this only fails on a bug in the schema.
    let mut config: Config =
        table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                key: "configuration".into(),
                source: Source::Default,
                message: e.message().trim().to_string(),
            })?;
    let mut warnings = warnings;
    warnings.extend(validate::validate(&mut config, &sources, issuer_set)?);
    Ok((config, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigError> {
        resolve(
            Some((Path::new("sesame.toml"), text)),
            &env(vars),
            &Overrides::default(),
        )
    }

    fn err(text: &str, vars: &[(&str, &str)]) -> String {
        load_text(text, vars).expect_err("should fail").to_string()
    }

    #[test]
    fn nothing_set_gives_the_defaults() {
        let (c, warnings) = resolve(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.issuer, "http://localhost:8080");
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("sesame-data"));
        assert_eq!(c.tokens.access_token_ttl, 3600);
        assert_eq!(c.mail.transport, MailTransportKind::Log);
        assert!(warnings.is_empty());
        assert_eq!(c.db_path(), PathBuf::from("sesame-data/sesame.redb"));
        assert_eq!(c.socket_path(), PathBuf::from("sesame-data/sesame.sock"));
    }

    #[test]
    fn environment_overrides_file_and_flags_override_both() {
        let text = "issuer = \"https://file.example.com\"\nlisten = \"0.0.0.0:80\"\n[tokens]\naccess_token_ttl = 10\n";
        let vars = [
            ("SESAME_ISSUER", "https://env.example.com/"),
            ("SESAME_TOKENS_ACCESS_TOKEN_TTL", "20"),
            ("SESAME_MAIL_SMTP_PORT", "2525"),
        ];
        let (c, _) = load_text(text, &vars).unwrap();
        assert_eq!(
            c.issuer, "https://env.example.com",
            "trailing slash trimmed"
        );
        assert_eq!(c.listen, "0.0.0.0:80");
        assert_eq!(c.tokens.access_token_ttl, 20);
        assert_eq!(c.mail.smtp.port, 2525);

        let flags = Overrides {
            issuer: Some("http://127.0.0.1:9000/oidc".into()),
            listen: Some("127.0.0.1:9000".into()),
            data_dir: Some("/tmp/d".into()),
            log_level: Some("DEBUG".into()),
        };
        let (c, _) = resolve(Some((Path::new("f.toml"), text)), &env(&vars), &flags).unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:9000/oidc");
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/d"));
        assert_eq!(c.log_level, "debug");
    }

    #[test]
    fn every_documented_variable_sets_its_key() {
        let vars = [
            ("SESAME_MAIL_TRANSPORT", "SMTP"),
            ("SESAME_MAIL_FROM", "Sesame <noreply@example.com>"),
            ("SESAME_MAIL_TIMEOUT_SECS", "5"),
            ("SESAME_MAIL_SMTP_HOST", "127.0.0.1"),
            ("SESAME_MAIL_SMTP_TLS", "tls"),
            ("SESAME_MAIL_SMTP_USERNAME", "u"),
            ("SESAME_MAIL_SMTP_PASSWORD_FILE", "/run/secrets/smtp"),
            ("SESAME_MAIL_SMTP_CA_FILE", "/etc/ca.pem"),
            ("SESAME_BRANDING_PRODUCT_NAME", "Bookstore"),
            ("SESAME_BRANDING_LOGO_URL", "https://example.com/logo.svg"),
            ("SESAME_BRANDING_ACCENT_COLOR", "#AABBCC"),
            ("SESAME_TOKENS_SIGN_IN_CODE_TTL", "300"),
            ("SESAME_LOG_LEVEL", "warn"),
        ];
        let (c, warnings) = resolve(None, &env(&vars), &Overrides::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.mail.transport, MailTransportKind::Smtp);
        assert_eq!(c.mail.from.as_deref(), Some("Sesame <noreply@example.com>"));
        assert_eq!(c.mail.timeout_secs, Some(5));
        assert_eq!(c.mail.smtp.host, "127.0.0.1");
        assert_eq!(c.mail.smtp.tls, TlsMode::Tls);
        assert_eq!(c.mail.smtp.username.as_deref(), Some("u"));
        assert_eq!(
            c.mail.smtp.password_file,
            Some(PathBuf::from("/run/secrets/smtp"))
        );
        assert_eq!(c.mail.smtp.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(c.branding.product_name, "Bookstore");
        assert_eq!(
            c.branding.logo_url.as_deref(),
            Some("https://example.com/logo.svg")
        );
        assert_eq!(c.tokens.sign_in_code_ttl, 300);
        assert_eq!(c.log_level, "warn");
    }

    #[test]
    fn variable_names_follow_the_key_paths() {
        assert_eq!(
            env_var_for("mail.smtp.password_file"),
            "SESAME_MAIL_SMTP_PASSWORD_FILE"
        );
        let vars: Vec<String> = env_keys().into_iter().map(|k| k.var).collect();
        for expected in [
            "SESAME_ISSUER",
            "SESAME_LISTEN",
            "SESAME_DATA_DIR",
            "SESAME_TOKENS_ACCESS_TOKEN_TTL",
            "SESAME_MAIL_SES_ACCESS_KEY_ID",
            "SESAME_MAIL_SES_ENDPOINT_PORT",
            "SESAME_MAIL_TEMPLATES",
            "SESAME_APP",
        ] {
            assert!(vars.iter().any(|v| v == expected), "{expected} missing");
        }
    }

    #[test]
    fn an_empty_variable_unsets_the_file_value() {
        let (c, _) = load_text("listen = \"0.0.0.0:1\"", &[("SESAME_LISTEN", "")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_suggestion() {
        let e = err(
            "issuer = \"http://localhost\"\n\n[mail]\ntransprt = \"smtp\"\n",
            &[],
        );
        assert!(e.contains("mail.transprt"), "{e}");
        assert!(e.contains("sesame.toml line 4"), "{e}");
        assert!(e.contains("did you mean mail.transport"), "{e}");

        let e = err("[mail.smtpp]\nhost = \"x\"\n", &[]);
        assert!(e.contains("mail.smtpp") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = err("issuer = \"http://localhost\"\nlisten = \n", &[]);
        assert!(e.contains("line 2") && e.contains("not valid TOML"), "{e}");
    }

    #[test]
    fn wrong_types_name_key_and_source() {
        let e = err("[mail.smtp]\nport = \"25\"\n", &[]);
        assert!(e.contains("mail.smtp.port (sesame.toml line 2)"), "{e}");
        assert!(e.contains("port number"), "{e}");

        let e = err("", &[("SESAME_MAIL_SMTP_PORT", "abc")]);
        assert!(
            e.contains("mail.smtp.port (environment variable SESAME_MAIL_SMTP_PORT)"),
            "{e}"
        );

        let e = err("", &[("SESAME_MAIL_SMTP_PORT", "70000")]);
        assert!(e.contains("1 to 65535"), "{e}");

        let e = err("", &[("SESAME_MAIL_TRANSPORT", "carrier-pigeon")]);
        assert!(
            e.contains("mail.transport") && e.contains("log, smtp, ses"),
            "{e}"
        );
    }

    #[test]
    fn lifetimes_must_be_positive() {
        let e = err("[tokens]\nrefresh_token_ttl = 0\n", &[]);
        assert!(
            e.contains("tokens.refresh_token_ttl") && e.contains("positive"),
            "{e}"
        );
        let e = err("", &[("SESAME_TOKENS_SESSION_TTL", "-5")]);
        assert!(
            e.contains("tokens.session_ttl") && e.contains("SESAME_TOKENS_SESSION_TTL"),
            "{e}"
        );
    }

    #[test]
    fn unknown_variables_warn_but_near_misses_fail() {
        let (_, warnings) = resolve(
            None,
            &env(&[("SESAME_SOMETHING_ELSE", "1")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("SESAME_SOMETHING_ELSE"));

        let e = resolve(
            None,
            &env(&[("SESAME_ISUER", "https://x")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SESAME_ISUER") && e.contains("did you mean SESAME_ISSUER"),
            "{e}"
        );
    }

    #[test]
    fn issuer_must_be_an_absolute_https_url_except_on_loopback() {
        for ok in [
            "https://auth.example.com",
            "https://auth.example.com/oidc/",
            "http://localhost:8080",
            "http://127.0.0.1:1/x",
            "http://[::1]:8080",
        ] {
            let vars = [("SESAME_ISSUER", ok)];
            let (c, _) = resolve(None, &env(&vars), &Overrides::default())
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!c.issuer.ends_with('/'));
        }
        let cases = [
            ("http://auth.example.com", "use https"),
            ("auth.example.com", "not an absolute URL"),
            ("https://auth.example.com/?a=b", "query"),
            ("https://auth.example.com/#x", "fragment"),
            ("ftp://auth.example.com", "https://"),
        ];
        for (bad, says) in cases {
            let e = resolve(None, &env(&[("SESAME_ISSUER", bad)]), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("issuer (environment variable SESAME_ISSUER)") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn listen_colour_logo_and_smtp_are_checked() {
        let e = err("listen = \"localhost:8080\"", &[]);
        assert!(
            e.contains("listen (sesame.toml line 1)") && e.contains("IP:PORT"),
            "{e}"
        );
        let e = err("[branding]\naccent_color = \"red\"", &[]);
        assert!(
            e.contains("branding.accent_color") && e.contains("#rrggbb"),
            "{e}"
        );
        let e = err("[branding]\nlogo_url = \"javascript:alert(1)\"", &[]);
        assert!(e.contains("branding.logo_url"), "{e}");
        let e = err("[mail]\ntransport = \"smtp\"", &[]);
        assert!(
            e.contains("mail.smtp.host") && e.contains("required"),
            "{e}"
        );
        let e = err("[mail.smtp]\npassword = \"a\"\npassword_file = \"/b\"", &[]);
        assert!(e.contains("not both"), "{e}");
    }

    const SES_TOML: &str = r#"
[mail]
transport = "ses"
[mail.ses]
accessKeyId = "AKIAEXAMPLE"
accessKeySecret = "secret"
region = "eu-west-1"
emailAddress = "noreply@example.com"
[[mail.ses.templates]]
usageType = "SignIn"
subject = "Your code"
content = "<p>{{code}}</p>"
[mail.ses.endpoint]
host = "127.0.0.1"
port = 2587
caFile = "/tmp/ca.pem"
"#;

    #[test]
    fn ses_accepts_logtos_camel_case_and_snake_case() {
        let (c, _) = load_text(SES_TOML, &[("SESAME_MAIL_SES_REGION", "us-east-1")]).unwrap();
        let ses = c.mail.ses.unwrap();
        assert_eq!(ses.access_key_id, "AKIAEXAMPLE");
        assert_eq!(ses.access_key_secret.as_deref(), Some("secret"));
        assert_eq!(
            ses.region, "us-east-1",
            "env wins over the camelCase file key"
        );
        assert_eq!(ses.templates[0].usage_type, "SignIn");
        let endpoint = ses.endpoint.unwrap();
        assert_eq!(endpoint.port, Some(2587));
        assert_eq!(endpoint.ca_file, Some(PathBuf::from("/tmp/ca.pem")));

        let e = err(
            "[mail.ses]\naccessKeyId = \"a\"\naccess_key_id = \"b\"\nregion = \"x\"",
            &[],
        );
        assert!(e.contains("given twice"), "{e}");
        let e = err("[mail.ses]\naccessKeyId = \"a\"\nregion = \"x\"\n[[mail.ses.templates]]\nusageType = \"Login\"\nsubject = \"s\"\ncontent = \"c\"", &[]);
        assert!(
            e.contains("mail.ses.templates[0].usage_type") && e.contains("SignIn"),
            "{e}"
        );
        let e = err("[mail.ses]\nregion = \"x\"", &[]);
        assert!(
            e.contains("mail.ses.access_key_id") && e.contains("required"),
            "{e}"
        );
    }

    #[test]
    fn ses_json_variable_takes_logtos_whole_connector() {
        let json = r#"{"accessKeyId":"AKIA","accessKeySecret":"s","region":"eu-west-1","emailAddress":null,
            "templates":[{"usageType":"Generic","subject":"Hi","content":"{{code}}"}]}"#;
        let vars = [
            (ENV_SES_JSON, json),
            ("SESAME_MAIL_SES_EMAIL_ADDRESS", "a@example.com"),
        ];
        let (c, _) = resolve(None, &env(&vars), &Overrides::default()).unwrap();
        let ses = c.mail.ses.unwrap();
        assert_eq!(ses.access_key_id, "AKIA");
        assert_eq!(ses.email_address.as_deref(), Some("a@example.com"));
        assert_eq!(ses.templates.len(), 1);

        let e = resolve(
            None,
            &env(&[(
                ENV_SES_JSON,
                r#"{"accessKeyId":"a","region":"r","bogus":1}"#,
            )]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("mail.ses.bogus") && e.contains(ENV_SES_JSON),
            "{e}"
        );
        let e = resolve(
            None,
            &env(&[(ENV_SES_JSON, "{not json")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("expected JSON"), "{e}");
    }

    const APPS_TOML: &str = r#"
[[app]]
client_id = "bookstore"
name = "Bookstore"
client_secret_env = "BOOKSTORE_SECRET"
redirect_uris = ["https://bookstore.example.com/api/auth/callback/logto"]

[[app]]
client_id = "dashboard"
name = "Dashboard"
app_type = "spa"
redirect_uris = ["http://localhost:5173/callback"]
post_logout_redirect_uris = ["http://localhost:5173/"]
id_token_signed_response_alg = "rs256"
"#;

    #[test]
    fn declared_apps_load_and_are_checked() {
        let (c, _) = load_text(APPS_TOML, &[]).unwrap();
        assert_eq!(c.apps.len(), 2);
        assert_eq!(
            c.apps[1].id_token_signed_response_alg.as_deref(),
            Some("RS256")
        );

        let bad = APPS_TOML.replace("api/auth/callback/logto", "cb#frag");
        let e = err(&bad, &[]);
        assert!(
            e.contains("app[0].redirect_uris") && e.contains("fragment") && e.contains("bookstore"),
            "{e}"
        );
        assert!(e.contains("line 6"), "{e}");

        let e = err(
            &APPS_TOML.replace("client_secret_env = \"BOOKSTORE_SECRET\"\n", ""),
            &[],
        );
        assert!(
            e.contains("app[0].client_secret") && e.contains("needs a secret"),
            "{e}"
        );

        let e = err(
            &APPS_TOML.replace(
                "client_secret_env",
                "client_secret = \"x\"\nclient_secret_file",
            ),
            &[],
        );
        assert!(e.contains("only one"), "{e}");

        let e = err(
            &APPS_TOML.replace(
                "app_type = \"spa\"",
                "app_type = \"spa\"\nclient_secret = \"x\"",
            ),
            &[],
        );
        assert!(e.contains("public"), "{e}");

        let e = err(&APPS_TOML.replace("\"dashboard\"", "\"bookstore\""), &[]);
        assert!(e.contains("declared twice"), "{e}");

        let e = err(
            "[[app]]\nclient_id = \"x\"\nname = \"X\"\nclient_secret = \"s\"\n",
            &[],
        );
        assert!(
            e.contains("app[0].redirect_uris") && e.contains("required"),
            "{e}"
        );
    }

    #[test]
    fn apps_can_come_from_json_in_the_environment() {
        let json = r#"[{"client_id":"cli","name":"CLI","app_type":"native","redirect_uris":["com.example.cli:/cb"]}]"#;
        let (c, _) = resolve(None, &env(&[("SESAME_APP", json)]), &Overrides::default()).unwrap();
        assert_eq!(c.apps[0].client_id, "cli");
        let e = resolve(
            None,
            &env(&[("SESAME_APP", r#"[{"client_id":"x"}]"#)]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("app[0].name") && e.contains("SESAME_APP"), "{e}");
    }

    #[test]
    fn a_named_missing_file_is_an_error() {
        let e = load(
            Some(Path::new("/nonexistent/sesame.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/sesame.toml"));
    }

    #[test]
    fn the_example_file_loads_and_documents_every_variable() {
        let text = include_str!("../examples/sesame.toml");
        load_text(text, &[]).unwrap_or_else(|e| panic!("examples/sesame.toml: {e}"));
        for key in env_keys() {
            assert!(
                text.contains(&key.var),
                "examples/sesame.toml does not mention {}",
                key.var
            );
            let name = key.path.rsplit('.').next().unwrap_or_default();
            let camel: String = name
                .split('_')
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.to_string()
                    } else {
                        w[..1].to_uppercase() + &w[1..]
                    }
                })
                .collect();
            assert!(
                text.contains(name) || text.contains(&camel),
                "{} is not shown",
                key.path
            );
        }
        assert!(text.contains(ENV_SES_JSON) && text.contains(ENV_CONFIG));
        // The optional settings (a "#" right before the key) load too, once uncommented.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if rest.starts_with(|c: char| !c.is_whitespace()) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (c, _) =
            load_text(&uncommented, &[]).unwrap_or_else(|e| panic!("uncommented example: {e}"));
        assert_eq!(c.apps.len(), 1);
        assert_eq!(
            c.mail.ses.as_ref().map(|s| s.region.as_str()),
            Some("eu-west-1")
        );
        assert_eq!(c.mail.templates.len(), 1);
    }

    fn with_flags(listen: Option<&str>, issuer: Option<&str>) -> Overrides {
        Overrides {
            listen: listen.map(str::to_string),
            issuer: issuer.map(str::to_string),
            ..Overrides::default()
        }
    }

    #[test]
    fn an_unset_issuer_follows_the_listen_port() {
        let (c, w) = resolve(None, &[], &with_flags(Some("127.0.0.1:9000"), None)).unwrap();
        assert_eq!(c.issuer, "http://localhost:9000");
        assert!(w.is_empty(), "{w:?}");
        let (c, _) = resolve(
            None,
            &env(&[("SESAME_LISTEN", "0.0.0.0:3001")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.issuer, "http://localhost:3001");
        let (c, _) = load_text("listen = \"[::1]:4000\"", &[]).unwrap();
        assert_eq!(c.issuer, "http://localhost:4000");
        // An empty variable unsets the file's issuer: it follows listen again.
        let (c, _) = load_text(
            "issuer = \"https://auth.example.com\"\nlisten = \"127.0.0.1:5000\"",
            &[("SESAME_ISSUER", "")],
        )
        .unwrap();
        assert_eq!(c.issuer, "http://localhost:5000");
        // An ephemeral port is not known at load: the default stays.
        let (c, w) = resolve(None, &[], &with_flags(Some("127.0.0.1:0"), None)).unwrap();
        assert_eq!(c.issuer, "http://localhost:8080");
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn a_local_issuer_on_another_port_than_listen_is_a_warning() {
        let (c, w) = resolve(
            None,
            &[],
            &with_flags(Some("127.0.0.1:9000"), Some("http://localhost:8080")),
        )
        .unwrap();
        assert_eq!(c.issuer, "http://localhost:8080", "a set issuer is kept");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("issuer http://localhost:8080")
                && w[0].contains("port 8080")
                && w[0].contains("listens on port 9000")
                && w[0].contains("http://localhost:9000"),
            "{}",
            w[0]
        );
        let (_, w) = load_text(
            "issuer = \"http://127.0.0.1\"\nlisten = \"127.0.0.1:8080\"",
            &[],
        )
        .unwrap();
        assert!(w.len() == 1 && w[0].contains("port 80,"), "{w:?}");

        for (listen, issuer) in [
            ("127.0.0.1:9000", "http://127.0.0.1:9000/oidc"),
            ("0.0.0.0:9000", "http://[::1]:9000"),
            ("127.0.0.1:9000", "https://auth.example.com"),
            ("127.0.0.1:0", "http://localhost:8080"),
        ] {
            let (_, w) = resolve(None, &[], &with_flags(Some(listen), Some(issuer))).unwrap();
            assert!(w.is_empty(), "{listen} {issuer}: {w:?}");
        }
    }

    #[test]
    fn mail_settings_the_log_transport_ignores_are_a_warning() {
        let (_, w) = load_text("[mail.smtp]\nhost = \"smtp.example.com\"", &[]).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("mail.smtp.host")
                && w[0].contains("mail.transport is \"log\"")
                && w[0].contains("mail.transport = \"smtp\"")
                && w[0].contains("SESAME_MAIL_TRANSPORT=smtp"),
            "{}",
            w[0]
        );
        let ses = SES_TOML.replace("transport = \"ses\"", "");
        let (_, w) = load_text(&ses, &[]).unwrap();
        assert!(
            w.len() == 1
                && w[0].contains("[mail.ses]")
                && w[0].contains("SESAME_MAIL_TRANSPORT=ses"),
            "{w:?}"
        );
        let (_, w) = load_text(
            "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"smtp.example.com\"",
            &[],
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let (_, w) = load_text(SES_TOML, &[]).unwrap();
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn mail_from_must_be_one_address() {
        for ok in ["noreply@example.com", "Bookstore <noreply@example.com>"] {
            load_text(&format!("[mail]\nfrom = {ok:?}"), &[])
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let e = err("[mail]\nfrom = \"Bookstore <noreply@>\"", &[]);
        assert!(
            e.contains("mail.from (sesame.toml line 2)") && e.contains("not an email address"),
            "{e}"
        );
        let e = err(
            "",
            &[("SESAME_MAIL_FROM", "a@example.com\r\nBcc: all@example.com")],
        );
        assert!(
            e.contains("mail.from (environment variable SESAME_MAIL_FROM)")
                && e.contains("one line"),
            "{e}"
        );
        let e = err("", &[("SESAME_MAIL_FROM", "not an address")]);
        assert!(e.contains("mail.from"), "{e}");
    }

    #[test]
    fn ses_settings_are_checked_at_load_naming_the_key() {
        let e = err(&SES_TOML.replace("eu-west-1", "mars"), &[]);
        assert!(
            e.contains("mail.ses.region (sesame.toml line 7)") && e.contains("not an AWS region"),
            "{e}"
        );
        let e = err(
            &SES_TOML.replace("noreply@example.com", "noreply at example.com"),
            &[],
        );
        assert!(
            e.contains("mail.ses.email_address (sesame.toml line 8)"),
            "{e}"
        );
        let e = err(&SES_TOML.replace("caFile", "tls = \"none\"\ncaFile"), &[]);
        assert!(
            e.contains("mail.ses.endpoint.tls") && e.contains("requires TLS"),
            "{e}"
        );
        let e = err(&SES_TOML.replace("accessKeySecret = \"secret\"\n", ""), &[]);
        assert!(
            e.contains("mail.ses.access_key_secret") && e.contains("missing"),
            "{e}"
        );
        let e = err(
            "",
            &[(
                ENV_SES_JSON,
                r#"{"accessKeyId":"AKIA","accessKeySecret":"s","region":"nowhere"}"#,
            )],
        );
        assert!(
            e.contains("mail.ses.region (environment variable SESAME_MAIL_SES_JSON)"),
            "{e}"
        );
    }

    #[test]
    fn type_errors_never_print_a_secret() {
        /// A file, environment variables, and the key the error names.
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("[mail.smtp]\npassword = 12345678", &[], "mail.smtp.password"),
            (
                "[mail.ses]\naccessKeyId = \"AKIA\"\nregion = \"eu-west-1\"\naccessKeySecret = 12345678",
                &[],
                "mail.ses.access_key_secret",
            ),
            (
                "[mail.ses]\naccessKeyId = \"AKIA\"\nregion = \"eu-west-1\"\nsmtpPassword = 12345678",
                &[],
                "mail.ses.smtp_password",
            ),
            (
                "[[app]]\nclient_id = \"a\"\nname = \"A\"\nredirect_uris = []\nclient_secret = 12345678",
                &[],
                "app[0].client_secret",
            ),
            (
                "",
                &[(ENV_SES_JSON, r#"{"accessKeyId":"AKIA","region":12345678}"#)],
                "mail.ses.region",
            ),
            (
                "",
                &[(ENV_SES_JSON, r#"{"accessKeyId":"AKIA","region":"eu-west-1","accessKeySecret":["12345678"]}"#)],
                "mail.ses.access_key_secret",
            ),
        ];
        for (text, vars, key) in cases {
            let e = err(text, vars);
            assert!(
                e.contains(key) && e.contains("expected a string, got a"),
                "{e}"
            );
            assert!(!e.contains("12345678"), "the secret is printed: {e}");
        }
        // Other values are still shown: they help find the mistake.
        let e = err("[mail.smtp]\nusername = 12345678", &[]);
        assert!(e.contains("got 12345678"), "{e}");
    }
}
