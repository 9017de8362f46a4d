//! The mail connector stored at run time (`sesame connector set`, the console's Mail page, the
//! management API): Amazon SES (Logto's connector JSON) or an SMTP server (`[mail.smtp]`'s
//! settings and `from`).
//!
//! At most one is stored, and it wins over the file's `[mail]`: storing one removes the other
//! (in the same transaction, `admin::handle`), removing it sends mail back to what
//! `sesame.toml` says. The stored SMTP connector is `[mail.smtp]` in the same type
//! ([`SmtpConfig`]) and goes through the same checks when the mailer is built; what a stored
//! record may not hold is refused here:
//! - a file (`password_file`, `ca_file`): the record is set from a browser or another machine,
//!   which cannot put files on this one. A private relay's CA comes from the file's
//!   `[mail.smtp].ca_file`, which the stored connector uses when it is set;
//! - `tls = "none"` to anything but this machine (127.0.0.0/8, ::1, `localhost`): without TLS the
//!   password and every sign-in code cross the network in clear.

use serde_json::{Map, Value};

use super::errors::{MailError, StoredConnectorError};
use super::settings::{SesConfig, SmtpConfig, TlsMode};

/// The connector names, as `connector set` takes them and the store keys them.
pub const CONNECTOR_NAMES: [&str; 2] = ["ses", "smtp"];

/// The stored connector: the transport it describes, with its settings.
#[derive(Debug, Clone)]
pub enum StoredConnector {
    /// Amazon SES, as Logto's AWS SES connector JSON.
    Ses(SesConfig),
    /// Any SMTP server.
    Smtp(SmtpConnector),
}

/// The stored SMTP connector: `[mail.smtp]`'s settings and `[mail]`'s `from`, stored as one flat
/// JSON object with the file's key names (`host`, `port`, `tls`, `username`, `password`,
/// `from`).
#[derive(Debug, Clone, Default)]
pub struct SmtpConnector {
    /// The From header, `noreply@example.com` or `Name <noreply@example.com>`.
    pub from: String,
    /// Never with `password_file` or `ca_file` ([`parse_smtp_connector`] refuses them).
    pub smtp: SmtpConfig,
}

impl StoredConnector {
    /// `ses` or `smtp`: the name it is stored under.
    pub fn name(&self) -> &'static str {
        match self {
            StoredConnector::Ses(_) => "ses",
            StoredConnector::Smtp(_) => "smtp",
        }
    }
}

impl SmtpConnector {
    /// The record as stored (the password in it: the store keeps it, as it keeps SES's secret).
    pub fn to_json(&self) -> Value {
        let mut fields = match serde_json::to_value(&self.smtp) {
            Ok(Value::Object(fields)) => fields,
            // A struct of strings, a number and an enum always serialises to an object.
            _ => Map::new(),
        };
        fields.remove("password_file");
        fields.remove("ca_file");
        fields.insert("from".into(), Value::String(self.from.clone()));
        Value::Object(fields)
    }
}

/// Reads a stored SMTP connector from its JSON, refusing what a stored record may not hold (see
/// the module's notes). The keys the mailer checks when it is built (port, username with
/// password, the From address) are checked there, named the same way.
pub fn parse_smtp_connector(config: &Value) -> Result<SmtpConnector, MailError> {
    let Value::Object(fields) = config else {
        return Err(MailError::SmtpConnectorJson(
            "expected an object like {\"host\": \"smtp.example.com\", \"from\": ...}".into(),
        ));
    };
    let mut fields = fields.clone();
    for key in ["password_file", "ca_file"] {
        if fields.contains_key(key) {
            return Err(MailError::Invalid {
                key: key.into(),
                reason: "a stored connector cannot name a file on the server; set \
                         [mail.smtp].ca_file in sesame.toml for a private CA (the stored \
                         connector uses it), and give the password itself"
                    .into(),
            });
        }
    }
    let from = match fields.remove("from") {
        Some(Value::String(from)) if !from.trim().is_empty() => from.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(MailError::Missing {
                key: "from".into(),
                reason:
                    "the sender address, like noreply@example.com or Name <noreply@example.com>"
                        .into(),
            })
        }
        Some(_) => {
            return Err(MailError::Invalid {
                key: "from".into(),
                reason: "must be a string".into(),
            })
        }
    };
    let mut smtp: SmtpConfig = serde_json::from_value(Value::Object(fields))
        .map_err(|e| MailError::SmtpConnectorJson(e.to_string()))?;
    smtp.host = smtp.host.trim().to_string();
    if smtp.host.is_empty() {
        return Err(MailError::Missing {
            key: "host".into(),
            reason: "the SMTP server's host name".into(),
        });
    }
    if smtp.tls == TlsMode::None && !is_loopback(&smtp.host) {
        return Err(MailError::Invalid {
            key: "tls".into(),
            reason: format!(
                "\"none\" sends the password and every sign-in code in clear, so it is only \
                 allowed to a relay on this machine (127.0.0.0/8, ::1 or localhost), and {} is \
                 not one: use starttls or tls",
                smtp.host
            ),
        });
    }
    if smtp
        .password
        .as_ref()
        .is_some_and(|p| p.expose().is_empty())
    {
        smtp.password = None;
    }
    Ok(SmtpConnector { from, smtp })
}

/// True for `localhost` and the loopback addresses (127.0.0.0/8, ::1), bracketed or not.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The connector stored at run time, if any. The one reader of those records: the server and
/// the CLI build their mailers from it. Storing one removes the other, so at most one is found.
pub fn stored_connector(
    store: &crate::store::Store,
) -> Result<Option<StoredConnector>, StoredConnectorError> {
    let (smtp, ses) = store
        .read(|tx| {
            let smtp = tx.get(&crate::store::CONNECTORS, "smtp")?;
            let ses = tx.get(&crate::store::CONNECTORS, "ses")?;
            Ok((smtp, ses))
        })
        .map_err(StoredConnectorError::Store)?;
    let does_not_load = |name, reason: String| StoredConnectorError::DoesNotLoad { name, reason };
    if let Some(v) = smtp {
        let smtp = parse_smtp_connector(&v).map_err(|e| does_not_load("smtp", e.to_string()))?;
        return Ok(Some(StoredConnector::Smtp(smtp)));
    }
    ses.map(|v| {
        serde_json::from_value(v)
            .map(StoredConnector::Ses)
            .map_err(|e| does_not_load("ses", e.to_string()))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "128.0.0.1",
            "mail.example.com",
            "localhost.example.com",
            "::2",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn a_stored_smtp_connector_round_trips_in_the_files_key_names() {
        let v = json!({"host": " smtp.example.com ", "port": 2525, "tls": "tls",
                       "username": "u", "password": "p", "from": "Shop <shop@example.com>"});
        let c = parse_smtp_connector(&v).unwrap();
        assert_eq!(c.smtp.host, "smtp.example.com");
        assert_eq!(c.smtp.port, 2525);
        assert_eq!(c.smtp.tls, TlsMode::Tls);
        assert_eq!(
            c.to_json(),
            json!({"host": "smtp.example.com", "port": 2525, "tls": "tls", "username": "u",
                   "password": "p", "from": "Shop <shop@example.com>"})
        );
        let defaults = parse_smtp_connector(&json!({"host": "h", "from": "a@b.c"})).unwrap();
        assert_eq!(
            (defaults.smtp.port, defaults.smtp.tls),
            (587, TlsMode::Starttls)
        );
    }

    #[test]
    fn what_a_stored_record_may_not_hold_is_refused_by_key() {
        let key = |v: Value| match parse_smtp_connector(&v).unwrap_err() {
            MailError::Invalid { key, .. } | MailError::Missing { key, .. } => key,
            other => format!("{other}"),
        };
        assert_eq!(
            key(json!({"host": "mail.example.com", "tls": "none", "from": "a@b.c"})),
            "tls"
        );
        assert_eq!(
            key(json!({"host": "h", "from": "a@b.c", "ca_file": "/x"})),
            "ca_file"
        );
        assert_eq!(
            key(json!({"host": "h", "from": "a@b.c", "password_file": "/x"})),
            "password_file"
        );
        assert_eq!(key(json!({"host": "", "from": "a@b.c"})), "host");
        assert_eq!(key(json!({"host": "h"})), "from");
        assert!(key(json!({"host": "h", "from": "a@b.c", "tls": "ssl"})).contains("SMTP connector"));
        assert!(parse_smtp_connector(
            &json!({"host": "127.0.0.1", "tls": "none", "from": "a@b.c"})
        )
        .is_ok());
    }
}
