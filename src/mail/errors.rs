//! The mail module's errors: [`MailError`] for configuration (found when building the mailer
//! or parsing a connector), [`SendError`] for a send that did not happen, and the errors of the
//! operations other modules call: [`StoredConnectorError`], [`TestSendError`],
//! [`UnknownPurpose`].

use std::fmt;
use std::path::PathBuf;

use crate::store::StoreError;

/// A configuration problem found while building the mailer or parsing a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// A key has a value that cannot work; `key` is the name the user wrote.
    Invalid { key: String, reason: String },
    /// A required key is missing.
    Missing { key: String, reason: String },
    /// The SES connector JSON does not parse (syntax, unknown or missing field; serde names it).
    Json(String),
    /// The stored SMTP connector's JSON does not parse (unknown field, wrong type; serde names
    /// it).
    SmtpConnectorJson(String),
    /// A file named by a key cannot be read or holds nothing usable.
    File {
        key: String,
        path: PathBuf,
        error: String,
    },
    /// An embedded default template is missing or broken (a broken build, not a user error).
    DefaultTemplateMissing(&'static str),
}

impl MailError {
    /// The key the error is about, as the user wrote it, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            MailError::Invalid { key, .. }
            | MailError::Missing { key, .. }
            | MailError::File { key, .. } => Some(key),
            MailError::Json(_)
            | MailError::SmtpConnectorJson(_)
            | MailError::DefaultTemplateMissing(_) => None,
        }
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Invalid { key, reason } => write!(f, "{key}: {reason}"),
            MailError::Missing { key, reason } => write!(f, "{key} is missing: {reason}"),
            MailError::Json(e) => write!(f, "SES connector JSON: {e}"),
            MailError::SmtpConnectorJson(e) => write!(f, "SMTP connector JSON: {e}"),
            MailError::File { key, path, error } => {
                write!(f, "{key}: cannot use {}: {error}", path.display())
            }
            MailError::DefaultTemplateMissing(name) => {
                write!(
                    f,
                    "the built-in email template {name} is missing from this build"
                )
            }
        }
    }
}

impl std::error::Error for MailError {}

/// Why a message was not sent. `Display` is for the log: the server, the SMTP reply and what it
/// means, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The recipient is not an email address.
    InvalidRecipient(String),
    /// The message could not be assembled.
    Message(String),
    /// No connection: refused, unreachable, closed before the greeting.
    Connect { server: String, detail: String },
    /// The configured TLS mode does not fit what the server speaks on that port.
    TlsModeMismatch { server: String, explanation: String },
    /// The server does not offer STARTTLS, which `tls = "starttls"` requires.
    NoStarttls { server: String, tls_key: String },
    /// The TLS handshake failed (certificate not trusted, wrong name, protocol error).
    Tls {
        server: String,
        detail: String,
        ca_key: String,
    },
    /// The server refused the credentials (535): a configuration error.
    AuthFailed {
        server: String,
        reply: String,
        check: String,
    },
    /// SES refused the sender or recipient: not a verified identity (554).
    NotVerified {
        server: String,
        reply: String,
        region: String,
    },
    /// Still throttled (454) after retrying with backoff.
    Throttled {
        server: String,
        reply: String,
        attempts: u32,
    },
    /// Any other negative reply.
    Rejected { server: String, reply: String },
    /// The mail configuration does not build; nothing was attempted.
    Misconfigured(String),
    /// No answer within the bounded wait.
    Timeout { server: String, secs: u64 },
    /// The conversation broke off (unexpected reply, connection reset).
    Protocol { server: String, detail: String },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::InvalidRecipient(to) => write!(f, "{to:?} is not an email address"),
            SendError::Message(e) => write!(f, "could not assemble the email: {e}"),
            SendError::Connect { server, detail } => write!(
                f,
                "could not connect to {server}: {detail} (is the host and port right, and the server up?)"
            ),
            SendError::TlsModeMismatch { explanation, .. } => f.write_str(explanation),
            SendError::NoStarttls { server, tls_key } => write!(
                f,
                "{server} does not offer STARTTLS, and {tls_key} = \"starttls\" refuses to go on \
                 without it. If the port expects TLS from the first byte (usually 465), set \
                 {tls_key} = \"tls\"; only for a relay on the same host, set {tls_key} = \"none\""
            ),
            SendError::Tls {
                server,
                detail,
                ca_key,
            } => write!(
                f,
                "TLS with {server} failed: {detail}. If the server uses a private CA, give its \
                 certificate in {ca_key}; the host name must match the server's certificate"
            ),
            SendError::AuthFailed {
                server,
                reply,
                check,
            } => write!(
                f,
                "configuration error: {server} refused the credentials: {reply}. Check {check}"
            ),
            SendError::NotVerified {
                server,
                reply,
                region,
            } => write!(
                f,
                "{server} refused the message: {reply}. SES only sends from identities (addresses \
                 or domains) verified in region {region}; while the account is in the SES sandbox, \
                 recipients must be verified too. Verify the identity in the SES console for \
                 {region}, or request production access"
            ),
            SendError::Throttled {
                server,
                reply,
                attempts,
            } => write!(
                f,
                "{server} kept throttling after {attempts} attempts: {reply}. The account's \
                 sending rate is exceeded; try again later or ask AWS for a higher quota"
            ),
            SendError::Rejected { server, reply } => {
                write!(f, "{server} rejected the message: {reply}")
            }
            SendError::Misconfigured(reason) => write!(
                f,
                "mail is misconfigured, nothing was sent: {reason} (fix the configuration and restart)"
            ),
            SendError::Timeout { server, secs } => write!(
                f,
                "no answer from {server} within {secs} s (mail.timeout_secs); the server is \
                 unreachable, overloaded, or the TLS mode does not fit the port"
            ),
            SendError::Protocol { server, detail } => {
                write!(f, "the SMTP conversation with {server} failed: {detail}")
            }
        }
    }
}

impl std::error::Error for SendError {}

impl SendError {
    /// Whether the transport itself failed (no connection, TLS, authentication, a timeout, a
    /// broken conversation, a configuration that does not build, or a server that keeps
    /// throttling every send after the retries): mail is then down for everyone, and
    /// `/healthz` says "degraded". A refusal of one message (its recipient or sender) or an
    /// address that does not parse is not: anyone can ask for a code to an address a relay
    /// refuses, and that must not flip the server's health.
    pub fn is_transport_failure(&self) -> bool {
        match self {
            SendError::Connect { .. }
            | SendError::TlsModeMismatch { .. }
            | SendError::NoStarttls { .. }
            | SendError::Tls { .. }
            | SendError::AuthFailed { .. }
            | SendError::Misconfigured(_)
            | SendError::Timeout { .. }
            | SendError::Protocol { .. }
            | SendError::Throttled { .. } => true,
            SendError::InvalidRecipient(_)
            | SendError::Message(_)
            | SendError::NotVerified { .. }
            | SendError::Rejected { .. } => false,
        }
    }

    /// The outcome label of `sesame_mail_sends_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            SendError::InvalidRecipient(_) | SendError::Message(_) => "invalid",
            SendError::Misconfigured(_) => "misconfigured",
            SendError::NotVerified { .. } | SendError::Rejected { .. } => "rejected",
            SendError::Throttled { .. } => "throttled",
            SendError::Connect { .. }
            | SendError::TlsModeMismatch { .. }
            | SendError::NoStarttls { .. }
            | SendError::Tls { .. }
            | SendError::AuthFailed { .. }
            | SendError::Timeout { .. }
            | SendError::Protocol { .. } => "transport_failure",
        }
    }
}

/// What an SMTP reply code means, in one line (RFC 5321 §4.2.3, RFC 4954 for AUTH), for the
/// console's test report beside each reply shown verbatim.
pub fn reply_meaning(code: u16) -> &'static str {
    match code {
        220 => "the server is ready (greeting, or go ahead with TLS)",
        221 => "the server is closing the connection, as asked",
        235 => "signed in: the credentials were accepted",
        250 => "done: the server accepted the command",
        251 | 252 => "accepted: the server will try to deliver to this recipient",
        334 => "the server waits for the next part of the sign-in",
        354 => "the server waits for the message itself",
        421 => "the server is unavailable for now and closes the connection: try later",
        450..=452 => "a temporary failure at the server: sending again later may work",
        454 => "TLS or sign-in is unavailable for now at the server",
        500..=504 => "the server did not understand or does not allow this command",
        530 => {
            "the server wants a sign-in (or TLS) first: check the username and password settings"
        }
        534 | 535 => "the server refused the credentials: check the username and password",
        550 => "refused: the address does not exist there, or the sender may not use it",
        551 | 553 => "refused: the address is not one this server accepts",
        552 => "refused: the message is too large or the mailbox full",
        554 => "refused: the transaction failed (often a policy, such as an unverified sender)",
        200..=299 => "success",
        300..=399 => "the server waits for more",
        400..=499 => "a temporary failure: sending again later may work",
        _ => "a permanent failure: the server will not accept this",
    }
}

/// Why the SES connector stored at run time could not be read.
#[derive(Debug)]
pub enum StoredConnectorError {
    /// The store could not be read.
    Store(StoreError),
    /// The stored record is not a connector this version loads.
    DoesNotLoad { name: &'static str, reason: String },
}

impl fmt::Display for StoredConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredConnectorError::Store(e) => write!(f, "{e}"),
            StoredConnectorError::DoesNotLoad { name, reason } => {
                write!(f, "the stored {name} connector does not load: {reason}")
            }
        }
    }
}

impl std::error::Error for StoredConnectorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoredConnectorError::Store(e) => Some(e),
            StoredConnectorError::DoesNotLoad { .. } => None,
        }
    }
}

/// Why `sesame mail test` did not succeed. `Display` is what the user reads: the reason, or the
/// dry run's report up to the step that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestSendError {
    /// The address to send to is not an email address.
    InvalidRecipient(SendError),
    /// The mail configuration does not build; nothing was attempted.
    Misconfigured(String),
    /// The dry run stopped at a step; the report says which, with the reply and what it means.
    DryRunFailed { report: String },
    /// The test email was not sent.
    NotSent(SendError),
}

impl fmt::Display for TestSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestSendError::InvalidRecipient(e) => write!(f, "{e}"),
            TestSendError::Misconfigured(reason) => write!(f, "mail is misconfigured: {reason}"),
            TestSendError::DryRunFailed { report } => f.write_str(report),
            TestSendError::NotSent(e) => write!(f, "the test email was not sent: {e}"),
        }
    }
}

impl std::error::Error for TestSendError {}

/// A template name (`mail test --template`) that is none of Logto's usage types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPurpose(pub String);

impl fmt::Display for UnknownPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown template {:?}: use Register, SignIn, ForgotPassword or Generic",
            self.0
        )
    }
}

impl std::error::Error for UnknownPurpose {}
