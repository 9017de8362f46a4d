//! Why a configuration could not be loaded, and where each offending value came from.
//! Uses nothing else in sesame.

use std::path::PathBuf;

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
