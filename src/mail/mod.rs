//! Mail: sending sign-in codes.
//!
//! Three transports behind one [`Mailer`]:
//! - `log` (the default with nothing configured): prints the code to the log, with a warning
//!   that mail is not set up, so a fresh install still lets someone sign in;
//! - `smtp`: any relay, through lettre's async SMTP client over rustls (ring), on connections
//!   sesame makes (`TCP_NODELAY`) and pools itself (`smtp/pool.rs`);
//! - `outbox` (`sesame dev` only; never configurable): nothing is sent, the latest code for
//!   each address is kept in memory so the dev code page can show it;
//! - `ses`: Amazon SES through its SMTP interface — an `smtp` transport with the SES endpoint,
//!   a password derived from the IAM secret ([`derive_smtp_password`]), `X-SES-*` headers and
//!   the feedback address as envelope sender. Configured with Logto's connector JSON, either in
//!   `sesame.toml` or stored at run time (`sesame connector set ses`).
//!
//! A connector stored at run time (`connector.rs`: SES, or an SMTP server with `[mail.smtp]`'s
//! settings) wins over the file's `[mail]` transport; at most one is stored.
//!
//! Building a [`Mailer`] is cheap and touches no network (it reads the password and CA files it
//! names): the server rebuilds it when the connector changes and swaps it in without a restart.
//! A mail problem never stops sesame: a failed send returns a [`SendError`] whose `Display` is
//! written for the log (with the SMTP reply and what it means, never a secret), and
//! [`Mailer::status`] reports the last outcome for `/healthz`, judged from the transport: a
//! recipient the server refuses does not make mail "not ok" (see
//! [`SendError::is_transport_failure`]). Every send is counted in [`crate::metrics`].
//!
//! Files: `settings.rs` (the `[mail]` settings types), `build.rs` (settings to transport),
//! `connector.rs` (the stored connector), `templates.rs` (email templates), `html_text.rs` (the plain-text part), `smtp.rs` (sending,
//! error diagnosis; `smtp/dry_run.rs` for `mail test --dry-run`), `ses.rs` (the SES connector),
//! `log.rs` (the log transport), `purpose.rs` ([`Purpose`]), `status.rs` ([`MailStatus`]),
//! `errors.rs` ([`MailError`], [`SendError`] and the errors of the functions other modules
//! call).
//!
//! Owns the transports, the email templates, and the settings types it consumes
//! ([`MailConfig`] and the rest, which the configuration assembles into its own). Uses clock
//! (send times), crypto (codes and Message-IDs), pages (HTML escaping), store (the stored
//! connector) and secret; never config: the caller hands it a [`MailConfig`].

mod build;
mod connector;
mod errors;
mod html_text;
mod log;
mod purpose;
mod ses;
mod settings;
mod smtp;
mod status;
mod templates;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::Address;

use crate::clock;
use build::SmtpKeys;
use smtp::SmtpSender;
use templates::TemplateSet;

pub use connector::{
    is_loopback, parse_smtp_connector, stored_connector, SmtpConnector, StoredConnector,
    CONNECTOR_NAMES,
};
pub use errors::{
    reply_meaning, MailError, SendError, StoredConnectorError, TestSendError, UnknownPurpose,
};
pub use purpose::Purpose;
pub use ses::{derive_smtp_password, parse_ses_json, redacted_ses_json, ses_notes};
pub use settings::{
    EmailTemplate, MailConfig, MailTransportKind, SesConfig, SesEndpoint, SmtpConfig, TlsMode,
};
pub use status::{ConfiguredBy, MailStatus, SesStatus, SmtpStatus};
pub use templates::{check_placeholders, configured_template, preview, CodeMail};

/// Sends sign-in codes through the configured transport.
pub struct Mailer {
    transport: Transport,
    templates: TemplateSet,
    /// Where the transport's settings came from, for status.
    configured_by: ConfiguredBy,
    /// The last outcome, for `/healthz`; behind a mutex because sends run concurrently.
    health: Mutex<Health>,
}

enum Transport {
    Log,
    /// Plain SMTP and SES (which is SMTP with SES settings).
    Smtp(Box<SmtpSender>),
    /// `sesame dev`: the latest code per address (lower-cased), shown on the code page instead
    /// of being sent. Bounded by [`OUTBOX_MAX`].
    Outbox(Mutex<std::collections::BTreeMap<String, String>>),
    /// Mail is configured but the configuration does not work (a missing password file, a bad
    /// region, ...). Every send fails with the reason. Falling back to printing codes in the
    /// log instead would hand sign-in codes to anyone who can read the log.
    Misconfigured(String),
}

#[derive(Debug, Default)]
struct Health {
    last_error: Option<String>,
    last_error_at: Option<u64>,
    last_success_at: Option<u64>,
    /// When a send last failed in the transport itself (connect, TLS, AUTH, a timeout): what
    /// `ok` is judged from. A recipient the server refused says nothing about the transport,
    /// and anyone can ask for a code to an address a relay refuses.
    last_transport_error_at: Option<u64>,
}

/// Addresses the outbox keeps codes for; beyond it, it starts again empty (a developer's
/// machine signs in a handful of addresses).
const OUTBOX_MAX: usize = 1000;

/// Default bound on one send, retries included.
const DEFAULT_TIMEOUT_SECS: u64 = 15;

impl Mailer {
    /// Builds the mailer from the configuration, or from the stored connector when there is
    /// one (it wins over the file's transport; the file still gives the timeout, the templates
    /// and, for SMTP, the CA file). Reads the password and CA files named; no network.
    pub fn build(
        config: &MailConfig,
        stored: Option<StoredConnector>,
    ) -> Result<Mailer, MailError> {
        templates::check_templates("mail.templates", &config.templates)?;
        let timeout = Duration::from_secs(
            config
                .timeout_secs
                .unwrap_or(DEFAULT_TIMEOUT_SECS)
                .clamp(1, 300),
        );
        match stored {
            Some(StoredConnector::Ses(ses)) => {
                return Self::build_ses(config, &ses, "", ConfiguredBy::Connector, timeout)
            }
            Some(StoredConnector::Smtp(smtp)) => {
                return Self::build_stored_smtp(config, &smtp, timeout)
            }
            None => {}
        }
        match config.transport {
            MailTransportKind::Log => Ok(Mailer::new(
                Transport::Log,
                TemplateSet::resolve(&[&config.templates])?,
                ConfiguredBy::Config,
            )),
            MailTransportKind::Smtp => {
                Self::build_smtp(config, &SmtpKeys::FILE, ConfiguredBy::Config, timeout)
            }
            MailTransportKind::Ses => {
                let ses = config.ses.as_ref().ok_or_else(|| MailError::Missing {
                    key: "mail.ses".into(),
                    reason: "mail.transport = \"ses\" needs a [mail.ses] table (or store the \
                             connector with `sesame connector set ses --file ses.json`)"
                        .into(),
                })?;
                Self::build_ses(config, ses, "mail.ses.", ConfiguredBy::Config, timeout)
            }
        }
    }

    /// A mailer whose every send fails with `reason`: what a running server uses when its mail
    /// configuration does not build, so sesame still starts and says why mail fails.
    pub fn misconfigured(reason: String) -> Mailer {
        let templates = TemplateSet::resolve(&[]).unwrap_or_else(|_| TemplateSet::placeholder());
        Mailer::new(
            Transport::Misconfigured(reason),
            templates,
            ConfiguredBy::Config,
        )
    }

    /// `sesame dev`'s mailer: sends nothing, keeps each address's latest code for the dev code
    /// page ([`Mailer::outbox_code`]). Not reachable from configuration.
    pub fn outbox() -> Mailer {
        let templates = TemplateSet::resolve(&[]).unwrap_or_else(|_| TemplateSet::placeholder());
        Mailer::new(
            Transport::Outbox(Mutex::default()),
            templates,
            ConfiguredBy::Config,
        )
    }

    /// The latest code "sent" to `address` by the outbox mailer; `None` for any other
    /// transport.
    pub fn outbox_code(&self, address: &str) -> Option<String> {
        match &self.transport {
            Transport::Outbox(codes) => codes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&address.to_ascii_lowercase())
                .cloned(),
            _ => None,
        }
    }

    fn new(transport: Transport, templates: TemplateSet, configured_by: ConfiguredBy) -> Self {
        Mailer {
            transport,
            templates,
            configured_by,
            health: Mutex::new(Health::default()),
        }
    }

    /// Sends `code` to `to` with the template for `purpose`. Bounded in time (retries included).
    /// On error, the caller shows a generic "could not send the code" page; the error's
    /// `Display` is for the log.
    pub async fn send_code(&self, purpose: Purpose, mail: &CodeMail) -> Result<(), SendError> {
        let to = parse_recipient(&mail.email)?;
        self.deliver(&to, purpose, mail).await.map(|_| ())
    }

    /// Sends and returns the server's final reply (for `mail test`).
    async fn deliver(
        &self,
        to: &Mailbox,
        purpose: Purpose,
        mail: &CodeMail,
    ) -> Result<String, SendError> {
        let started = std::time::Instant::now();
        let code = mail.code.as_str();
        let result = match &self.transport {
            Transport::Log => {
                log::print_code(to, purpose, code);
                Ok("printed to the log (mail.transport = \"log\")".to_string())
            }
            Transport::Smtp(sender) => {
                let email = self.templates.render(purpose, mail);
                sender.send(to, &email).await
            }
            Transport::Outbox(codes) => {
                let mut codes = codes.lock().unwrap_or_else(|p| p.into_inner());
                if codes.len() >= OUTBOX_MAX {
                    codes.clear();
                }
                codes.insert(to.email.to_string().to_ascii_lowercase(), code.to_string());
                Ok("kept for the sign-in page (sesame dev)".to_string())
            }
            Transport::Misconfigured(reason) => Err(SendError::Misconfigured(reason.clone())),
        };
        let outcome = match &result {
            Ok(_) => "sent",
            Err(e) => e.outcome(),
        };
        crate::metrics::mail_send(outcome, started.elapsed());
        self.record(&result, to, purpose);
        result
    }

    fn record(&self, result: &Result<String, SendError>, to: &Mailbox, purpose: Purpose) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(reply) => {
                if let Transport::Smtp(sender) = &self.transport {
                    tracing::info!(
                        "mail: {purpose} code sent to {} via {}: {reply}",
                        to.email,
                        sender.server()
                    );
                }
                health.last_success_at = Some(clock::now());
            }
            Err(e) => {
                tracing::warn!("mail: could not send a {purpose} code to {}: {e}", to.email);
                health.last_error = Some(e.to_string());
                health.last_error_at = Some(clock::now());
                if e.is_transport_failure() {
                    health.last_transport_error_at = health.last_error_at;
                }
            }
        }
    }

    /// `log`, `smtp` or `ses`.
    pub fn transport_name(&self) -> &'static str {
        match &self.transport {
            Transport::Log => "log",
            Transport::Smtp(s) if s.is_ses() => "ses",
            Transport::Smtp(_) => "smtp",
            Transport::Outbox(_) => "outbox",
            Transport::Misconfigured(_) => "misconfigured",
        }
    }

    /// The transport and its last outcome, for `/healthz` and the CLI. Never holds a secret.
    pub fn status(&self) -> MailStatus {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let misconfigured = matches!(self.transport, Transport::Misconfigured(_));
        let ok = match (health.last_success_at, health.last_transport_error_at) {
            _ if misconfigured => Some(false),
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(s), Some(e)) => Some(s >= e),
        };
        let (warning, server) = match &self.transport {
            Transport::Log => (
                Some("mail is not configured: sign-in codes are printed to the log".to_string()),
                None,
            ),
            Transport::Smtp(sender) => (None, Some(sender.status())),
            Transport::Outbox(_) => (
                Some("sesame dev: codes are shown on the sign-in page, not sent".to_string()),
                None,
            ),
            Transport::Misconfigured(reason) => (
                Some(format!(
                    "mail is misconfigured, sign-in codes cannot be sent until it is fixed: {}",
                    redact_addresses(reason)
                )),
                None,
            ),
        };
        MailStatus {
            transport: self.transport_name(),
            configured_by: self.configured_by,
            last_error: health.last_error.as_deref().map(redact_addresses),
            last_error_at: health.last_error_at,
            last_success_at: health.last_success_at,
            ok,
            warning,
            server,
        }
    }
}

/// Replaces every word that looks like an email address: `/healthz` is public, and an SMTP
/// reply can name the recipient (SES's sandbox refusal does).
fn redact_addresses(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The status holds no secret, unlike the transport's credentials.
        f.debug_tuple("Mailer").field(&self.status()).finish()
    }
}

/// `sesame mail test`: sends one message with a random code through the configured transport,
/// or with `dry_run` walks EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, RSET and QUIT without sending,
/// reporting each step's reply. Returns the report, or on failure the report with the reply and
/// what it means.
pub async fn test_send(
    mailer: &Mailer,
    to: &str,
    purpose: Purpose,
    dry_run: bool,
    product: &str,
) -> Result<String, TestSendError> {
    let to = parse_recipient(to).map_err(TestSendError::InvalidRecipient)?;
    match (&mailer.transport, dry_run) {
        (Transport::Log, true) => Ok(
            "mail.transport is \"log\": there is no server to talk to; codes are printed to the log.\n\
             Configure mail.transport = \"smtp\" or \"ses\" (or store a connector: `sesame connector set smtp|ses`) to send mail."
                .into(),
        ),
        (Transport::Log, false) => {
            let mail = CodeMail::test(product, to.email.as_ref(), &crate::crypto::random_digits(6));
            mailer
                .deliver(&to, purpose, &mail)
                .await
                .map_err(TestSendError::NotSent)?;
            Ok(
                "mail.transport is \"log\": the test code was printed to the server's log, no email was sent.\n\
                 Configure mail.transport = \"smtp\" or \"ses\" (or store a connector: `sesame connector set smtp|ses`) to send mail."
                    .into(),
            )
        }
        (Transport::Misconfigured(reason), _) => Err(TestSendError::Misconfigured(reason.clone())),
        (Transport::Outbox(_), _) => {
            Ok("sesame dev sends no mail: codes are shown on its sign-in page.".into())
        }
        (Transport::Smtp(sender), true) => sender
            .dry_run(&to)
            .await
            .map_err(|report| TestSendError::DryRunFailed { report }),
        (Transport::Smtp(sender), false) => {
            let code = crate::crypto::random_digits(6);
            let mail = CodeMail::test(product, to.email.as_ref(), &code);
            match mailer.deliver(&to, purpose, &mail).await {
                Ok(reply) => Ok(format!(
                    "sent a {purpose} test email (code {code}) to {} through {} ({}): the server answered {reply}",
                    to.email,
                    sender.server(),
                    mailer.transport_name()
                )),
                Err(e) => Err(TestSendError::NotSent(e)),
            }
        }
    }
}

fn parse_recipient(to: &str) -> Result<Mailbox, SendError> {
    to.trim()
        .parse::<Address>()
        .map(|a| Mailbox::new(None, a))
        .map_err(|_| SendError::InvalidRecipient(to.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::TlsMode;

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

    /// The status JSON as `/healthz` shows it, send times replaced by 0.
    fn status_json(mailer: &Mailer) -> String {
        let mut status = serde_json::to_value(mailer.status()).unwrap();
        for time in ["last_error_at", "last_success_at"] {
            if status[time].is_number() {
                status[time] = 0.into();
            }
        }
        status.to_string()
    }

    #[tokio::test]
    async fn the_outbox_keeps_the_latest_code_per_address_and_sends_nothing() {
        let outbox = Mailer::outbox();
        assert_eq!(outbox.transport_name(), "outbox");
        outbox
            .send_code(
                Purpose::SignIn,
                &CodeMail::test("sesame", "Ana@Example.com", "111111"),
            )
            .await
            .unwrap();
        outbox
            .send_code(
                Purpose::SignIn,
                &CodeMail::test("sesame", "ana@example.com", "222222"),
            )
            .await
            .unwrap();
        assert_eq!(
            outbox.outbox_code("ANA@example.com").as_deref(),
            Some("222222")
        );
        assert_eq!(outbox.outbox_code("bob@example.com"), None);
        let log = Mailer::build(&MailConfig::default(), None).unwrap();
        log.send_code(
            Purpose::SignIn,
            &CodeMail::test("sesame", "ana@example.com", "333333"),
        )
        .await
        .unwrap();
        assert_eq!(
            log.outbox_code("ana@example.com"),
            None,
            "only the outbox keeps codes"
        );
    }

    #[tokio::test]
    async fn status_json_keeps_its_shape() {
        let log = Mailer::build(&MailConfig::default(), None).unwrap();
        let misconfigured = Mailer::misconfigured("ses refused a@example.com".into());
        let smtp = Mailer::build(&smtp_config(), None).unwrap();
        let ses = parse_ses_json(
            r#"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","smtpPassword":"pw","region":"eu-west-1",
                "emailAddress":"noreply@bookstore.example"}"#,
        )
        .unwrap();
        let ses = Mailer::build(&MailConfig::default(), Some(StoredConnector::Ses(ses))).unwrap();
        let sent = Mailer::build(&MailConfig::default(), None).unwrap();
        sent.send_code(
            Purpose::SignIn,
            &CodeMail::test("sesame", "a@example.com", "123456"),
        )
        .await
        .unwrap();
        let failed = Mailer::misconfigured("no password".into());
        failed
            .send_code(
                Purpose::SignIn,
                &CodeMail::test("sesame", "a@example.com", "123456"),
            )
            .await
            .unwrap_err();
        for (mailer, expected) in [
            (
                &log,
                r#"{"configured_by":"config","last_error":null,"last_error_at":null,"last_success_at":null,"ok":null,"transport":"log","warning":"mail is not configured: sign-in codes are printed to the log"}"#,
            ),
            (
                &misconfigured,
                r#"{"configured_by":"config","last_error":null,"last_error_at":null,"last_success_at":null,"ok":false,"transport":"misconfigured","warning":"mail is misconfigured, sign-in codes cannot be sent until it is fixed: ses refused <address>"}"#,
            ),
            (
                &smtp,
                r#"{"auth":true,"configured_by":"config","envelope_from":"noreply@bookstore.example","from":"Bookstore <noreply@bookstore.example>","host":"smtp.example.com","last_error":null,"last_error_at":null,"last_success_at":null,"ok":null,"port":587,"tls":"starttls","transport":"smtp"}"#,
            ),
            (
                &ses,
                r#"{"access_key_id":"AKIA…MPLE","auth":true,"configured_by":"connector","envelope_from":"noreply@bookstore.example","from":"noreply@bookstore.example","host":"email-smtp.eu-west-1.amazonaws.com","last_error":null,"last_error_at":null,"last_success_at":null,"ok":null,"port":587,"region":"eu-west-1","tls":"starttls","transport":"ses"}"#,
            ),
            (
                &sent,
                r#"{"configured_by":"config","last_error":null,"last_error_at":null,"last_success_at":0,"ok":true,"transport":"log","warning":"mail is not configured: sign-in codes are printed to the log"}"#,
            ),
            (
                &failed,
                r#"{"configured_by":"config","last_error":"mail is misconfigured, nothing was sent: no password (fix the configuration and restart)","last_error_at":0,"last_success_at":null,"ok":false,"transport":"misconfigured","warning":"mail is misconfigured, sign-in codes cannot be sent until it is fixed: no password"}"#,
            ),
        ] {
            assert_eq!(status_json(mailer), expected);
        }
    }

    #[tokio::test]
    async fn a_misconfigured_mailer_refuses_to_send_and_says_why() {
        let m = Mailer::misconfigured("mail.smtp.password_file: cannot read /nope".into());
        let e = m
            .send_code(
                Purpose::SignIn,
                &CodeMail::test("sesame", "a@example.com", "123456"),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("/nope"), "{e}");
        let s = m.status();
        assert_eq!(s.ok, Some(false));
        assert_eq!(s.transport, "misconfigured");
        assert!(s.warning.unwrap().contains("cannot be sent"));
    }

    #[test]
    fn status_redacts_addresses_in_smtp_replies() {
        assert_eq!(
            redact_addresses("554 Message rejected: identities failed: user@example.com in eu"),
            "554 Message rejected: identities failed: <address> in eu"
        );
    }

    #[test]
    fn default_is_log() {
        let mailer = Mailer::build(&MailConfig::default(), None).unwrap();
        assert_eq!(mailer.transport_name(), "log");
        let status = mailer.status();
        assert_eq!(status.transport, "log");
        assert!(status.warning.unwrap().contains("not configured"));
    }

    #[test]
    fn smtp_status_has_no_secret() {
        let mailer = Mailer::build(&smtp_config(), None).unwrap();
        let status = mailer.status();
        assert_eq!(status.transport, "smtp");
        assert_eq!(status.ok, None);
        let text = serde_json::to_string(&status).unwrap();
        let server = status.server.unwrap();
        assert_eq!(server.host, "smtp.example.com");
        assert_eq!(server.port, 587);
        assert_eq!(server.tls, TlsMode::Starttls);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }

    #[test]
    fn stored_ses_connector_wins_and_is_masked() {
        let ses = parse_ses_json(
            r#"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","accessKeySecret":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "region":"eu-west-1","emailAddress":"noreply@bookstore.example"}"#,
        )
        .unwrap();
        let mailer = Mailer::build(&smtp_config(), Some(StoredConnector::Ses(ses))).unwrap();
        let status = mailer.status();
        assert_eq!(status.transport, "ses");
        assert_eq!(status.configured_by, ConfiguredBy::Connector);
        let text = serde_json::to_string(&status).unwrap();
        let server = status.server.unwrap();
        assert_eq!(server.host, "email-smtp.eu-west-1.amazonaws.com");
        assert_eq!(server.port, 587);
        assert_eq!(server.ses.unwrap().region, "eu-west-1");
        assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(!text.contains(&derive_smtp_password(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "eu-west-1"
        )));
    }

    #[test]
    fn a_stored_smtp_connector_wins_names_its_own_keys_and_hides_its_password() {
        let stored = parse_smtp_connector(&serde_json::json!({
            "host": "relay.example.net", "port": 465, "tls": "tls",
            "username": "relay-user", "password": "relay-pw", "from": "Shop <shop@example.net>"
        }))
        .unwrap();
        let mailer =
            Mailer::build(&smtp_config(), Some(StoredConnector::Smtp(stored.clone()))).unwrap();
        let status = mailer.status();
        assert_eq!(status.transport, "smtp");
        assert_eq!(status.configured_by, ConfiguredBy::Connector);
        let text = serde_json::to_string(&status).unwrap();
        assert!(!text.contains("relay-pw"), "{text}");
        let server = status.server.unwrap();
        assert_eq!(
            (server.host.as_str(), server.port),
            ("relay.example.net", 465)
        );
        assert_eq!(server.from, "Shop <shop@example.net>");
        // The file's CA file is the stored connector's, and errors name the connector's keys.
        let mut file = smtp_config();
        file.smtp.ca_file = Some("/nonexistent/ca.pem".into());
        let err = Mailer::build(&file, Some(StoredConnector::Smtp(stored.clone())));
        assert!(err.unwrap_err().to_string().contains("mail.smtp.ca_file"));
        let mut no_password = stored;
        no_password.smtp.password = None;
        let err = Mailer::build(&smtp_config(), Some(StoredConnector::Smtp(no_password)));
        assert!(err
            .unwrap_err()
            .to_string()
            .starts_with("password is missing"));
    }
}
