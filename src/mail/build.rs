//! Turning `[mail]` settings (or a stored SES or SMTP connector) into a transport: every key checked,
//! named when wrong, files read once. No network here: the first send connects.

use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;

use super::smtp::{SmtpSender, SmtpSettings};
use super::templates::TemplateSet;
use super::{derive_smtp_password, ses, ConfiguredBy, MailError, Mailer, Transport};
use super::{MailConfig, MailTransportKind, SesConfig, SmtpConfig, SmtpConnector, TlsMode};

/// The names an SMTP configuration's keys go by in errors and explanations: the file's
/// (`mail.smtp.host`) or the stored connector's (`host`), so a message names what the user
/// wrote.
pub(super) struct SmtpKeys {
    host: &'static str,
    port: &'static str,
    tls: &'static str,
    username: &'static str,
    password: &'static str,
    password_file: &'static str,
    from: &'static str,
    auth_hint: &'static str,
}

impl SmtpKeys {
    /// `[mail.smtp]` and `mail.from` in `sesame.toml`.
    pub(super) const FILE: SmtpKeys = SmtpKeys {
        host: "mail.smtp.host",
        port: "mail.smtp.port",
        tls: "mail.smtp.tls",
        username: "mail.smtp.username",
        password: "mail.smtp.password",
        password_file: "mail.smtp.password_file",
        from: "mail.from",
        auth_hint: "mail.smtp.username and mail.smtp.password (or mail.smtp.password_file)",
    };
    /// The stored SMTP connector's fields.
    pub(super) const CONNECTOR: SmtpKeys = SmtpKeys {
        host: "host",
        port: "port",
        tls: "tls",
        username: "username",
        password: "password",
        password_file: "password_file",
        from: "from",
        auth_hint: "the stored SMTP connector's username and password",
    };
}

impl Mailer {
    /// An SMTP mailer from `config.smtp` and `config.from`, errors naming `keys`. The CA file
    /// is always `[mail.smtp].ca_file` (a stored connector takes the file's).
    pub(super) fn build_smtp(
        config: &MailConfig,
        keys: &SmtpKeys,
        configured_by: ConfiguredBy,
        timeout: Duration,
    ) -> Result<Mailer, MailError> {
        let smtp: &SmtpConfig = &config.smtp;
        if smtp.host.trim().is_empty() {
            return Err(MailError::Missing {
                key: keys.host.into(),
                reason: "the SMTP relay's host name".into(),
            });
        }
        if smtp.port == 0 {
            return Err(MailError::Invalid {
                key: keys.port.into(),
                reason: "0 is not a port".into(),
            });
        }
        let from = parse_from(config.from.as_deref(), keys.from)?;
        let password = match (&smtp.password, &smtp.password_file) {
            (Some(_), Some(_)) => {
                return Err(MailError::Invalid {
                    key: keys.password_file.into(),
                    reason: format!("set {} or {}, not both", keys.password, keys.password_file),
                })
            }
            (Some(p), None) => Some(p.expose().to_string()),
            (None, Some(path)) => Some(read_secret_file(path, keys.password_file)?),
            (None, None) => None,
        };
        let credentials = match (&smtp.username, password) {
            (Some(user), Some(password)) => Some((user.clone(), password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(MailError::Missing {
                    key: keys.password.into(),
                    reason: format!("{} is set without a password", keys.username),
                })
            }
            (None, Some(_)) => {
                return Err(MailError::Missing {
                    key: keys.username.into(),
                    reason: format!("a password is set without {}", keys.username),
                })
            }
        };
        let ca_pem = match &smtp.ca_file {
            Some(path) => Some(read_ca_file(path, "mail.smtp.ca_file")?),
            None => None,
        };
        let envelope_from = from.email.clone();
        let sender = SmtpSender::new(SmtpSettings {
            host: smtp.host.trim().to_string(),
            port: smtp.port,
            tls: smtp.tls,
            credentials,
            ca_pem,
            ca_key: "mail.smtp.ca_file",
            tls_key: keys.tls,
            timeout,
            from,
            envelope_from,
            extra_headers: Vec::new(),
            auth_hint: keys.auth_hint.into(),
            ses_region: None,
        })?;
        Ok(Mailer::new(
            Transport::Smtp(Box::new(sender)),
            TemplateSet::resolve(&[&config.templates])?,
            configured_by,
        ))
    }

    /// The stored SMTP connector over the file's `[mail]`: its server, credentials and From,
    /// with the file's CA file, timeout and templates.
    pub(super) fn build_stored_smtp(
        config: &MailConfig,
        stored: &SmtpConnector,
        timeout: Duration,
    ) -> Result<Mailer, MailError> {
        let mail = MailConfig {
            transport: MailTransportKind::Smtp,
            from: Some(stored.from.clone()),
            smtp: SmtpConfig {
                password_file: None,
                ca_file: config.smtp.ca_file.clone(),
                ..stored.smtp.clone()
            },
            ses: None,
            ..config.clone()
        };
        Self::build_smtp(
            &mail,
            &SmtpKeys::CONNECTOR,
            ConfiguredBy::Connector,
            timeout,
        )
    }

    pub(super) fn build_ses(
        config: &MailConfig,
        ses: &SesConfig,
        prefix: &str,
        configured_by: ConfiguredBy,
        timeout: Duration,
    ) -> Result<Mailer, MailError> {
        ses::validate(ses, prefix)?;
        let (password, auth_hint) = match (&ses.smtp_password, &ses.access_key_secret) {
            (Some(p), _) => (
                p.expose().to_string(),
                format!("{prefix}accessKeyId and {prefix}smtpPassword"),
            ),
            (None, Some(secret)) => (
                derive_smtp_password(secret.expose(), &ses.region),
                format!(
                    "{prefix}accessKeyId and {prefix}accessKeySecret (or give {prefix}smtpPassword); \
                     the password derived from the secret is only valid for region {}",
                    ses.region
                ),
            ),
            // `validate` refuses a configuration with neither.
            (None, None) => {
                return Err(MailError::Missing {
                    key: format!("{prefix}accessKeySecret"),
                    reason: "set the IAM secret access key (or a ready smtpPassword)".into(),
                })
            }
        };
        let from = match &ses.email_address {
            Some(address) => parse_from(Some(address), &format!("{prefix}emailAddress"))?,
            None => parse_from(config.from.as_deref(), &format!("{prefix}emailAddress"))?,
        };
        let envelope_from = match &ses.feedback_forwarding_email_address {
            Some(a) => {
                parse_from(Some(a), &format!("{prefix}feedbackForwardingEmailAddress"))?.email
            }
            None => from.email.clone(),
        };
        let mut extra_headers = Vec::new();
        if let Some(set) = &ses.configuration_set_name {
            extra_headers.push(("X-SES-CONFIGURATION-SET", set.clone()));
        }
        if let Some(arn) = &ses.email_address_identity_arn {
            extra_headers.push(("X-SES-SOURCE-ARN", arn.clone()));
            extra_headers.push(("X-SES-FROM-ARN", arn.clone()));
        }
        if let Some(arn) = &ses.feedback_forwarding_email_address_identity_arn {
            extra_headers.push(("X-SES-RETURN-PATH-ARN", arn.clone()));
        }
        let endpoint = ses.endpoint.clone();
        let tls = endpoint
            .as_ref()
            .and_then(|e| e.tls)
            .unwrap_or(TlsMode::Starttls);
        let port = endpoint
            .as_ref()
            .and_then(|e| e.port)
            .unwrap_or(if tls == TlsMode::Tls { 465 } else { 587 });
        let host = endpoint
            .as_ref()
            .and_then(|e| e.host.clone())
            .unwrap_or_else(|| ses::default_host(&ses.region));
        let ca_key = if prefix.is_empty() {
            "endpoint.caFile"
        } else {
            "mail.ses.endpoint.caFile"
        };
        let ca_pem = match endpoint.as_ref().and_then(|e| e.ca_file.as_ref()) {
            Some(path) => Some(read_ca_file(path, ca_key)?),
            None => None,
        };
        let sender = SmtpSender::new(SmtpSettings {
            host,
            port,
            tls,
            credentials: Some((ses.access_key_id.clone(), password)),
            ca_pem,
            ca_key,
            tls_key: if prefix.is_empty() {
                "endpoint.tls"
            } else {
                "mail.ses.endpoint.tls"
            },
            timeout,
            from,
            envelope_from,
            extra_headers,
            auth_hint,
            ses_region: Some(ses.region.clone()),
        })?;
        let mailer = Mailer::new(
            Transport::Smtp(Box::new(sender)),
            TemplateSet::resolve(&[&ses.templates, &config.templates])?,
            configured_by,
        );
        Ok(mailer.with_ses_key(&ses.access_key_id))
    }

    fn with_ses_key(mut self, access_key_id: &str) -> Self {
        if let Transport::Smtp(sender) = &mut self.transport {
            sender.masked_user = Some(ses::mask(access_key_id));
        }
        self
    }
}

pub(super) fn parse_from(value: Option<&str>, key: &str) -> Result<Mailbox, MailError> {
    let value = value.ok_or_else(|| MailError::Missing {
        key: key.to_string(),
        reason: "the sender address, like noreply@example.com or Name <noreply@example.com>".into(),
    })?;
    value
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Invalid {
            key: key.to_string(),
            reason: format!("{value:?} is not an email address ({e})"),
        })
}

/// A secret from a file, trailing newline trimmed.
fn read_secret_file(path: &Path, key: &str) -> Result<String, MailError> {
    let text = std::fs::read_to_string(path).map_err(|e| MailError::File {
        key: key.to_string(),
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    let secret = text.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(MailError::File {
            key: key.to_string(),
            path: path.to_path_buf(),
            error: "the file is empty".into(),
        });
    }
    Ok(secret)
}

/// A PEM file holding at least one certificate.
fn read_ca_file(path: &Path, key: &str) -> Result<Vec<u8>, MailError> {
    let file_error = |error: String| MailError::File {
        key: key.to_string(),
        path: path.to_path_buf(),
        error,
    };
    let pem = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let mut reader = std::io::BufReader::new(pem.as_slice());
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(format!("not a PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(file_error("no CERTIFICATE block in the PEM file".into()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use crate::mail::{
        EmailTemplate, MailConfig, MailTransportKind, Mailer, SesConfig, SesEndpoint, SmtpConfig,
        TlsMode,
    };

    fn smtp_config() -> MailConfig {
        MailConfig {
            transport: MailTransportKind::Smtp,
            from: Some("Bookstore <noreply@bookstore.example>".into()),
            smtp: SmtpConfig {
                host: "smtp.example.com".into(),
                username: Some("user".into()),
                password: Some("hunter2".into()),
                ..SmtpConfig::default()
            },
            ..MailConfig::default()
        }
    }

    #[test]
    fn smtp_config_errors_name_the_key() {
        let mut c = smtp_config();
        c.smtp.host = String::new();
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.smtp.host"));
        let mut c = smtp_config();
        c.from = None;
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.from"));
        let mut c = smtp_config();
        c.from = Some("nope".into());
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.from"));
        let mut c = smtp_config();
        c.smtp.password = None;
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.smtp.password"));
        let mut c = smtp_config();
        c.smtp.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.smtp.ca_file"));
        let mut c = smtp_config();
        c.templates = vec![EmailTemplate {
            subject: "s".into(),
            content: "c".into(),
            usage_type: "Welcome".into(),
        }];
        let err = Mailer::build(&c, None).unwrap_err().to_string();
        assert!(err.contains("mail.templates[0].usageType"), "{err}");
    }

    #[test]
    fn password_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let mut c = smtp_config();
        c.smtp.password = None;
        c.smtp.password_file = Some(path);
        assert!(Mailer::build(&c, None).is_ok());
    }

    #[test]
    fn ses_from_the_file_needs_a_table_and_names_its_keys() {
        let mut c = MailConfig {
            transport: MailTransportKind::Ses,
            ..MailConfig::default()
        };
        assert!(Mailer::build(&c, None)
            .unwrap_err()
            .to_string()
            .contains("mail.ses"));
        c.ses = Some(SesConfig {
            access_key_id: "AKID".into(),
            access_key_secret: Some("secret".into()),
            region: "moon-1".into(),
            ..SesConfig::default()
        });
        let err = Mailer::build(&c, None).unwrap_err().to_string();
        assert!(err.contains("mail.ses.region"), "{err}");
        if let Some(ses) = c.ses.as_mut() {
            ses.region = "us-east-1".into();
        }
        let err = Mailer::build(&c, None).unwrap_err().to_string();
        assert!(err.contains("mail.ses.emailAddress"), "{err}");
        c.from = Some("noreply@example.com".into());
        if let Some(ses) = c.ses.as_mut() {
            ses.endpoint = Some(SesEndpoint {
                host: Some("127.0.0.1".into()),
                port: Some(2465),
                tls: Some(TlsMode::Tls),
                ca_file: None,
            });
        }
        let server = Mailer::build(&c, None).unwrap().status().server.unwrap();
        assert_eq!(server.host, "127.0.0.1");
        assert_eq!(server.port, 2465);
        assert_eq!(server.tls, TlsMode::Tls);
    }
}
