//! [`MailStatus`]: what `/healthz`, `sesame connector ...` and the CLI report about mail, typed.
//!
//! Its JSON is the `mail` object of `/healthz`, which is public: it never holds a secret (no
//! password, an SES access key ID only masked) and recipients' addresses are redacted from
//! errors. Keys that are always present are null when unknown; the rest are absent when they
//! do not apply.

use serde::Serialize;

use super::TlsMode;

/// The transport and its last outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailStatus {
    /// `log`, `smtp`, `ses` or `misconfigured` ([`super::Mailer::transport_name`]).
    pub transport: &'static str,
    pub configured_by: ConfiguredBy,
    /// The error of the last failed send, addresses redacted; null when none failed.
    pub last_error: Option<String>,
    /// When the last send failed (Unix seconds); null when none failed.
    pub last_error_at: Option<u64>,
    /// When the last send succeeded (Unix seconds); null when none did.
    pub last_success_at: Option<u64>,
    /// Null before any send, else whether the latest outcome was a success. Always false for a
    /// misconfigured mailer: `/healthz` then says "degraded" before anyone tries to sign in.
    pub ok: Option<bool>,
    /// Why codes are not really being sent (the log transport, a misconfiguration); absent when
    /// mail goes to a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The server mail goes to (SMTP and SES); its keys are absent otherwise.
    #[serde(flatten)]
    pub server: Option<SmtpStatus>,
}

/// Where the transport's settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfiguredBy {
    /// The `[mail]` table of the configuration.
    Config,
    /// The SES connector stored at run time (`sesame connector set ses`).
    Connector,
}

/// An SMTP transport's settings, without its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpStatus {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The From header.
    pub from: String,
    /// MAIL FROM: where bounces go.
    pub envelope_from: String,
    /// Whether sesame authenticates to the server (never with what).
    pub auth: bool,
    /// Amazon SES's own settings; its keys are absent for a plain SMTP relay.
    #[serde(flatten)]
    pub ses: Option<SesStatus>,
}

/// What an SES transport adds to [`SmtpStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SesStatus {
    pub region: String,
    /// The IAM access key ID, masked (`AKIA…MPLE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}
