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
//!
//! Config sits above the parts it configures. It owns loading and checking, and the settings no
//! single part owns (issuer, listen, data directory, log level, token lifetimes, declared apps).
//! Each part owns the settings it consumes and config assembles them into [`Config`]:
//! `[mail]` is [`crate::mail::MailConfig`], `[branding]` is [`crate::pages::BrandingConfig`],
//! `[audit]` is [`crate::audit::AuditConfig`], `[dev]` is [`crate::signin::dev::DevConfig`],
//! `[forward_auth]` and `[[access]]` are [`crate::forward_auth::ForwardAuthConfig`] and
//! [`crate::forward_auth::AccessRuleDecl`], secrets are [`crate::secret::Secret`], all
//! re-exported here. Config uses mail, pages, secret, apps, audit, signin (the dev personas'
//! type), forward_auth and store; none of mail, pages, store or crypto imports config: they take their
//! settings as arguments.
//!
//! Inside: `error.rs` (uses nothing) ← `keys.rs` (the key tree) ← `layers.rs` (file,
//! environment, flags, type walk) ← `validate.rs` (values), with `schema.rs` the serde types.

mod error;
mod keys;
mod layers;
mod schema;
mod validate;

pub use crate::apps::AppDecl;
pub use crate::audit::AuditConfig;
pub use crate::forward_auth::{AccessRuleDecl, ForwardAuthConfig};
pub use crate::limits::LimitsConfig;
pub use crate::provider::TokenConfig;
pub use crate::store::StoreConfig;
pub use error::{ConfigError, Source};
pub use keys::{env_keys, env_var_for, EnvKey, ENV_CONFIG, ENV_PREFIX, ENV_SES_JSON};
pub use schema::Config;
// The parts' own settings, re-exported so `crate::config::MailConfig` and the like keep working.
pub use crate::mail::{
    EmailTemplate, MailConfig, MailTransportKind, SesConfig, SesEndpoint, SmtpConfig, TlsMode,
};
pub use crate::pages::BrandingConfig;
pub use crate::secret::Secret;
pub use crate::signin::dev::{DevConfig, DevUser};

use std::path::{Path, PathBuf};

/// Values given as command-line flags; they win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub issuer: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub log_level: Option<String>,
}

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
mod schema_tests;
#[cfg(test)]
mod tests;
