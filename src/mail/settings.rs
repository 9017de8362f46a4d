//! The mail settings, in their serde shape: the `[mail]` table of `sesame.toml` and Logto's AWS
//! SES connector JSON (also the form a connector is stored in). The configuration assembles
//! [`MailConfig`] into its own schema; the mail module consumes it and never reads the
//! configuration itself.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::secret::Secret;

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

impl MailTransportKind {
    /// Every transport, in the order messages list them.
    pub const ALL: [MailTransportKind; 3] = [
        MailTransportKind::Log,
        MailTransportKind::Smtp,
        MailTransportKind::Ses,
    ];

    /// The names `mail.transport` takes, in [`Self::ALL`]'s order: the configuration's key
    /// tree checks values against this list.
    pub const NAMES: [&'static str; 3] = {
        let mut names = [""; 3];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The name as the configuration spells it (serde's spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            MailTransportKind::Log => "log",
            MailTransportKind::Smtp => "smtp",
            MailTransportKind::Ses => "ses",
        }
    }
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

impl TlsMode {
    /// Every mode, in the order messages list them.
    pub const ALL: [TlsMode; 3] = [TlsMode::Starttls, TlsMode::Tls, TlsMode::None];

    /// The names `tls` keys take, in [`Self::ALL`]'s order: the configuration's key tree
    /// checks values against this list.
    pub const NAMES: [&'static str; 3] = {
        let mut names = [""; 3];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The name as the configuration spells it (serde's spelling), also shown in status and
    /// explanations.
    pub const fn as_str(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
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
    pub password: Option<Secret>,
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
    pub access_key_secret: Option<Secret>,
    /// A ready SMTP password, instead of deriving one from `accessKeySecret`.
    #[serde(alias = "smtp_password", default)]
    pub smtp_password: Option<Secret>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serdes_spelling() {
        for (kind, name) in MailTransportKind::ALL
            .into_iter()
            .zip(MailTransportKind::NAMES)
        {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<MailTransportKind>(name.into()).unwrap(),
                kind
            );
        }
        for (mode, name) in TlsMode::ALL.into_iter().zip(TlsMode::NAMES) {
            assert_eq!(serde_json::to_value(mode).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<TlsMode>(name.into()).unwrap(),
                mode
            );
        }
    }
}
