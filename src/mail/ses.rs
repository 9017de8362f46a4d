//! Amazon SES through its SMTP interface, configured with Logto's AWS SES connector JSON.
//!
//! No AWS SDK: SES's SMTP endpoint takes the IAM access key ID as user name and a password that
//! AWS derives from the secret access key (version-4 signing, below), so an SES connector is an
//! SMTP transport with a known host, a derived password, a few `X-SES-*` headers and the
//! feedback address as envelope sender.

use lettre::message::Mailbox;
use ring::hmac;

use super::templates::check_templates;
use super::MailError;
use super::{SesConfig, TlsMode};

/// SES's SMTP endpoint for a region, before any override.
pub(crate) fn default_host(region: &str) -> String {
    format!("email-smtp.{region}.amazonaws.com")
}

/// The SMTP password for an IAM secret access key, as AWS documents it: HMAC-SHA256 chained over
/// a fixed date, the region, the service, the terminator and the action, then base64 of
/// a version byte (4) followed by the signature.
pub fn derive_smtp_password(secret_access_key: &str, region: &str) -> String {
    use base64::Engine as _;
    let sign = |key: &[u8], msg: &str| -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        hmac::sign(&key, msg.as_bytes()).as_ref().to_vec()
    };
    let mut signature = sign(format!("AWS4{secret_access_key}").as_bytes(), "11111111");
    for part in [region, "ses", "aws4_request", "SendRawEmail"] {
        signature = sign(&signature, part);
    }
    let mut bytes = Vec::with_capacity(1 + signature.len());
    bytes.push(0x04);
    bytes.extend_from_slice(&signature);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Parses and validates a Logto AWS SES connector JSON (camelCase; snake_case keys accepted).
/// Errors name the field. A missing SignIn or Generic template is not an error: the built-in
/// default is used, which [`ses_notes`] reports.
pub fn parse_ses_json(json: &str) -> Result<SesConfig, MailError> {
    let config: SesConfig =
        serde_json::from_str(json).map_err(|e| MailError::Json(e.to_string()))?;
    validate(&config, "")?;
    for note in ses_notes(&config) {
        tracing::info!("SES connector: {note}");
    }
    Ok(config)
}

/// Things worth telling the user about a valid SES configuration (defaults used, precedence).
pub fn ses_notes(config: &SesConfig) -> Vec<String> {
    let mut notes = Vec::new();
    for usage in ["SignIn", "Generic"] {
        if !config.templates.iter().any(|t| t.usage_type == usage) {
            notes.push(format!(
                "no {usage} template in templates: the built-in default {usage} email is used"
            ));
        }
    }
    if config.email_address.is_none() {
        notes.push("emailAddress is not set: mail.from is used as the sender".into());
    }
    if config.smtp_password.is_some() && config.access_key_secret.is_some() {
        notes.push(
            "both smtpPassword and accessKeySecret are set: smtpPassword is used as is".into(),
        );
    }
    notes
}

/// The connector as JSON for showing back to the user (`connector show`, the console): the secret
/// access key and the SMTP password replaced by `********`, the access key ID masked.
pub fn redacted_ses_json(config: &SesConfig) -> serde_json::Value {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        for secret in ["accessKeySecret", "smtpPassword"] {
            if map.get(secret).is_some_and(|v| !v.is_null()) {
                map.insert(secret.into(), "********".into());
            }
        }
        map.insert("accessKeyId".into(), mask(&config.access_key_id).into());
    }
    value
}

/// Checks every field of an SES configuration. `prefix` is prepended to field names in errors
/// (`""` for connector JSON, `"mail.ses."` for `sesame.toml`).
pub(crate) fn validate(c: &SesConfig, prefix: &str) -> Result<(), MailError> {
    let invalid = |field: &str, reason: String| MailError::Invalid {
        key: format!("{prefix}{field}"),
        reason,
    };
    if c.access_key_id.is_empty() || !c.access_key_id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        return Err(invalid(
            "accessKeyId",
            "an IAM access key ID is letters and digits, like AKIAIOSFODNN7EXAMPLE".into(),
        ));
    }
    match (&c.access_key_secret, &c.smtp_password) {
        (None, None) => {
            return Err(MailError::Missing {
                key: format!("{prefix}accessKeySecret"),
                reason: "set the IAM secret access key (or a ready smtpPassword)".into(),
            })
        }
        (Some(s), _) if s.expose().trim().is_empty() => {
            return Err(invalid("accessKeySecret", "empty".into()))
        }
        (_, Some(p)) if p.expose().trim().is_empty() => {
            return Err(invalid("smtpPassword", "empty".into()))
        }
        _ => {}
    }
    if !is_region(&c.region) {
        return Err(invalid(
            "region",
            format!(
                "{:?} is not an AWS region: write it like eu-west-1 or us-east-1",
                c.region
            ),
        ));
    }
    if let Some(address) = &c.email_address {
        address.parse::<Mailbox>().map_err(|e| {
            invalid(
                "emailAddress",
                format!(
                    "{address:?} is not an email address ({e}): write noreply@example.com or Name <noreply@example.com>"
                ),
            )
        })?;
    }
    if let Some(address) = &c.feedback_forwarding_email_address {
        address.parse::<Mailbox>().map_err(|e| {
            invalid(
                "feedbackForwardingEmailAddress",
                format!("{address:?} is not an email address ({e})"),
            )
        })?;
    }
    for (field, arn) in [
        ("emailAddressIdentityArn", &c.email_address_identity_arn),
        (
            "feedbackForwardingEmailAddressIdentityArn",
            &c.feedback_forwarding_email_address_identity_arn,
        ),
    ] {
        if let Some(arn) = arn {
            if !is_identity_arn(arn) {
                return Err(invalid(
                    field,
                    format!(
                        "{arn:?} is not an SES identity ARN, like arn:aws:ses:eu-west-1:123456789012:identity/example.com"
                    ),
                ));
            }
        }
    }
    if let Some(set) = &c.configuration_set_name {
        let ok = !set.is_empty()
            && set.len() <= 64
            && set
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
        if !ok {
            return Err(invalid(
                "configurationSetName",
                format!(
                    "{set:?} is not a configuration set name (letters, digits, - and _, at most 64)"
                ),
            ));
        }
    }
    check_templates(&format!("{prefix}templates"), &c.templates)?;
    if let Some(endpoint) = &c.endpoint {
        if let Some(host) = &endpoint.host {
            if host.trim().is_empty() || host.contains(['/', ' ', ':']) {
                return Err(invalid(
                    "endpoint.host",
                    format!("{host:?} is not a host name (no scheme, no port)"),
                ));
            }
        }
        if endpoint.port == Some(0) {
            return Err(invalid("endpoint.port", "0 is not a port".into()));
        }
        if endpoint.tls == Some(TlsMode::None) {
            return Err(invalid(
                "endpoint.tls",
                "SES requires TLS: use starttls (ports 587, 2587) or tls (465, 2465)".into(),
            ));
        }
    }
    Ok(())
}

/// `eu-west-1`, `us-gov-west-1`, `ap-southeast-2`, `cn-north-1`, `il-central-1`, ...
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()))
}

/// `arn:<partition>:ses:<region>:<account>:identity/<name>`.
fn is_identity_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "ses"
        && is_region(parts[3])
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("identity/")
        && parts[5].len() > "identity/".len()
        && !arn.contains(['\r', '\n', ' '])
}

/// Shows an access key ID without revealing all of it: `AKIA…MPLE`.
pub(crate) fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector JSON as Logto's AWS SES connector form produces it.
    const LOGTO_JSON: &str = r#"{
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "eu-west-1",
        "emailAddress": "Bookstore <noreply@bookstore.example>",
        "emailAddressIdentityArn": "arn:aws:ses:eu-west-1:123456789012:identity/bookstore.example",
        "feedbackForwardingEmailAddress": "bounces@bookstore.example",
        "feedbackForwardingEmailAddressIdentityArn": "arn:aws:ses:eu-west-1:123456789012:identity/bookstore.example",
        "configurationSetName": "sign-in-codes",
        "templates": [
            { "usageType": "SignIn", "subject": "Sign in to Bookstore", "content": "<p>Your code is {{code}}</p>" },
            { "usageType": "Register", "subject": "Welcome to Bookstore", "content": "<p>Your code is {{code}}</p>" },
            { "usageType": "ForgotPassword", "subject": "Reset", "content": "<p>{{code}}</p>" },
            { "usageType": "Generic", "subject": "Your code", "content": "<p>{{code}}</p>" }
        ]
    }"#;

    fn with(field: &str, value: serde_json::Value) -> String {
        let mut v: serde_json::Value = serde_json::from_str(LOGTO_JSON).unwrap();
        v[field] = value;
        v.to_string()
    }

    fn error_of(json: &str) -> String {
        parse_ses_json(json).unwrap_err().to_string()
    }

    #[test]
    fn logto_json_is_accepted_unchanged() {
        let c = parse_ses_json(LOGTO_JSON).unwrap();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.templates.len(), 4);
        assert_eq!(c.configuration_set_name.as_deref(), Some("sign-in-codes"));
        assert!(ses_notes(&c).is_empty(), "{:?}", ses_notes(&c));
    }

    #[test]
    fn snake_case_keys_are_accepted() {
        let json = r#"{"access_key_id":"AKID","smtp_password":"pw","region":"us-east-1",
            "email_address":"a@example.com","configuration_set_name":"x"}"#;
        let c = parse_ses_json(json).unwrap();
        assert_eq!(c.smtp_password.as_ref().map(|s| s.expose()), Some("pw"));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            ("region", serde_json::json!("eu-west"), "region"),
            (
                "region",
                serde_json::json!("email-smtp.eu-west-1.amazonaws.com"),
                "region",
            ),
            ("region", serde_json::json!("EU-WEST-1"), "region"),
            (
                "emailAddress",
                serde_json::json!("not an address"),
                "emailAddress",
            ),
            (
                "feedbackForwardingEmailAddress",
                serde_json::json!("x@"),
                "feedbackForwardingEmailAddress",
            ),
            (
                "emailAddressIdentityArn",
                serde_json::json!("bookstore.example"),
                "emailAddressIdentityArn",
            ),
            (
                "configurationSetName",
                serde_json::json!("has space"),
                "configurationSetName",
            ),
            ("accessKeyId", serde_json::json!(""), "accessKeyId"),
            (
                "templates",
                serde_json::json!([{"usageType":"Login","subject":"s","content":"c"}]),
                "templates[0].usageType",
            ),
        ];
        for (field, value, named) in cases {
            let err = error_of(&with(field, value.clone()));
            assert!(err.contains(named), "{field}={value}: {err}");
        }
    }

    #[test]
    fn json_errors_name_the_key() {
        let err = error_of(r#"{"accessKeyId":"AKID","accessKeySecret":"s"}"#);
        assert!(err.contains("region"), "{err}");
        let err = error_of(&with("emailAdress", serde_json::json!("a@b.c")));
        assert!(err.contains("emailAdress"), "{err}");
        let mut v: serde_json::Value = serde_json::from_str(LOGTO_JSON).unwrap();
        v.as_object_mut().unwrap().remove("accessKeySecret");
        let err = error_of(&v.to_string());
        assert!(err.contains("accessKeySecret"), "{err}");
    }

    #[test]
    fn missing_sign_in_and_generic_templates_fall_back_with_a_note() {
        let json = with(
            "templates",
            serde_json::json!([{"usageType":"Register","subject":"s","content":"{{code}}"}]),
        );
        let c = parse_ses_json(&json).unwrap();
        let notes = ses_notes(&c).join("\n");
        assert!(
            notes.contains("SignIn") && notes.contains("Generic"),
            "{notes}"
        );
        assert!(notes.contains("default"), "{notes}");
    }

    #[test]
    fn regions() {
        for r in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
            "cn-northwest-1",
        ] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "",
            "us-east",
            "useast1",
            "us-east-1a",
            "us-east-123",
            "US-EAST-1",
            "us--1",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }

    #[test]
    fn derivation_matches_aws_python_reference() {
        // Computed with AWS's published Python algorithm (hmac + hashlib); tests/mail_ses.rs
        // checks more values and a server that derives it independently.
        assert_eq!(
            derive_smtp_password("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"),
            "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
        );
    }

    #[test]
    fn redacted_json_shows_no_secret() {
        let c = parse_ses_json(LOGTO_JSON).unwrap();
        let shown = redacted_ses_json(&c);
        let text = shown.to_string();
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
        assert_eq!(shown["accessKeySecret"], "********");
        assert_eq!(shown["region"], "eu-west-1");
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask("short"), "…");
    }
}
