//! [`Secret`]: a password or key taken from the configuration or a connector.
//!
//! Owns nothing but the type; uses nothing from the crate. It sits below config, mail and apps
//! so each of them can hold a secret without depending on the others.

use serde::{Deserialize, Serialize};

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
