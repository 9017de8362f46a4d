//! [`Secret`]: a password or key taken from the configuration or a connector.
//!
//! Owns the type, and [`mask`]: the one rule for hiding secrets in JSON that is shown or kept
//! (a stored connector shown by the CLI, the changes an audit entry records). Uses nothing from
//! the crate. It sits below config, mail, apps, admin and audit so each of them can hold or hide
//! a secret without depending on the others.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a masked secret shows: only that it is set.
pub const MASK: &str = "********";

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

/// Replaces the value of every field whose name says it is a secret ([`is_secret_field`]),
/// at any depth, with [`MASK`]; a `null` stays `null` (it says the secret is not set).
pub fn mask(mut v: Value) -> Value {
    match &mut v {
        Value::Object(fields) => {
            for (name, value) in fields.iter_mut() {
                if is_secret_field(name) {
                    if !value.is_null() {
                        *value = Value::String(MASK.into());
                    }
                } else {
                    *value = mask(value.take());
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = mask(item.take());
            }
        }
        _ => {}
    }
    v
}

/// True when a field of this name holds a secret, in any spelling (`client_secret`,
/// `accessKeySecret`, `smtpPassword`, `api_key`, `refresh_token`, `secret_hash`, a key's
/// `pkcs8`): ignoring case, `_` and `-`, its name contains `secret` or `password`, ends in
/// `token` or `apikey`, or is `pkcs8`. Broad on
/// purpose: a masked harmless field costs a reader little; a leaked secret cannot be taken back.
pub fn is_secret_field(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    n.contains("secret")
        || n.contains("password")
        || n.ends_with("token")
        || n.ends_with("apikey")
        || n == "pkcs8"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_at_any_depth_and_other_fields_kept() {
        let v = json!({
            "name": "Bookstore",
            "client_secret": "s3cret",
            "secret_hash": "h",
            "access_token_ttl": 3600,
            "api_key": {"id": "k1", "secret": "x"},
            "keys": [{"kid": "k", "pkcs8": "MIG"}, {"refresh_token": "r"}],
            "config": {"accessKeySecret": "wJal", "smtpPassword": null, "region": "eu-west-1"},
        });
        assert_eq!(
            mask(v),
            json!({
                "name": "Bookstore",
                "client_secret": MASK,
                "secret_hash": MASK,
                "access_token_ttl": 3600,
                "api_key": MASK,
                "keys": [{"kid": "k", "pkcs8": MASK}, {"refresh_token": MASK}],
                "config": {"accessKeySecret": MASK, "smtpPassword": null, "region": "eu-west-1"},
            })
        );
    }
}
