//! The Amazon SES connector against a real SMTP server that behaves like SES's SMTP interface
//! (tests/support/smtp_server.py in SES mode): STARTTLS before AUTH, AUTH checked against the
//! password the server derives itself from the secret and region, 554 for unverified senders,
//! 454 throttling on demand.

#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use sesame::config::{MailConfig, MailTransportKind, SesConfig};
use sesame::mail::{
    derive_smtp_password, parse_ses_json, test_send, ConfiguredBy, Mailer, Purpose, SendError,
    StoredConnector, TestSendError,
};
use smtp::{SmtpOpts, SmtpServer};

const WAIT: Duration = Duration::from_secs(10);
const REGION: &str = "eu-west-1";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const IDENTITY_ARN: &str = "arn:aws:ses:eu-west-1:123456789012:identity/bookstore.example";

fn ses_server(verified: &[&str]) -> SmtpServer {
    SmtpServer::start(SmtpOpts::ses(REGION, KEY_ID, SECRET, verified))
}

/// Logto's connector JSON plus the endpoint override pointing at the test server.
fn connector_json(server: &SmtpServer, tls: &str) -> serde_json::Value {
    serde_json::json!({
        "accessKeyId": KEY_ID,
        "accessKeySecret": SECRET,
        "region": REGION,
        "emailAddress": "Bookstore <noreply@bookstore.example>",
        "emailAddressIdentityArn": IDENTITY_ARN,
        "feedbackForwardingEmailAddress": "bounces@bookstore.example",
        "feedbackForwardingEmailAddressIdentityArn": IDENTITY_ARN,
        "configurationSetName": "sign-in-codes",
        "templates": [
            { "usageType": "SignIn", "subject": "Sign in to Bookstore: {{code}}",
              "content": "<html><body><p>Your Bookstore code is <b>{{code}}</b>.</p></body></html>" },
            { "usageType": "Generic", "subject": "Your Bookstore code",
              "content": "<p>Code: {{code}}</p>" }
        ],
        "endpoint": {
            "host": "127.0.0.1",
            "port": server.port,
            "tls": tls,
            "caFile": server.ca_pem_path,
        }
    })
}

fn mailer_from(json: &serde_json::Value) -> Mailer {
    let ses: SesConfig = parse_ses_json(&json.to_string()).unwrap();
    Mailer::build(&MailConfig::default(), Some(StoredConnector::Ses(ses))).unwrap()
}

#[test]
fn smtp_password_derivation_matches_an_independent_computation() {
    // Values computed with AWS's published Python algorithm (tests/support/smtp_server.py,
    // hmac + hashlib), not with sesame's code.
    assert_eq!(
        derive_smtp_password(SECRET, "us-east-1"),
        "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
    );
    assert_eq!(
        derive_smtp_password(SECRET, "eu-west-1"),
        "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"
    );
    assert_eq!(
        derive_smtp_password("test-secret+/=", "ap-southeast-2"),
        "BMQpXs1qigogXQphx8ZpA+AOXtuOHF3BCr2fGea9EhUg"
    );
}

#[tokio::test]
async fn sends_through_ses_with_its_headers_and_envelope_sender() {
    let server = ses_server(&["bounces@bookstore.example"]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    assert_eq!(mailer.transport_name(), "ses");

    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "271828"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;

    // Envelope: bounces go to the feedback address; AUTH as the access key ID over TLS.
    assert_eq!(mail.mail_from, "bounces@bookstore.example");
    assert_eq!(mail.rcpt_tos, vec!["alice@example.com"]);
    assert!(mail.tls);
    assert_eq!(mail.auth_user.as_deref(), Some(KEY_ID));
    // Headers.
    let from = mail.header("From").unwrap();
    assert!(from.contains("<noreply@bookstore.example>"), "{from}");
    assert_eq!(
        mail.header("X-SES-CONFIGURATION-SET").as_deref(),
        Some("sign-in-codes")
    );
    assert_eq!(
        mail.header("X-SES-SOURCE-ARN").as_deref(),
        Some(IDENTITY_ARN)
    );
    assert_eq!(mail.header("X-SES-FROM-ARN").as_deref(), Some(IDENTITY_ARN));
    assert_eq!(
        mail.header("X-SES-RETURN-PATH-ARN").as_deref(),
        Some(IDENTITY_ARN)
    );
    assert_eq!(
        mail.subject().as_deref(),
        Some("Sign in to Bookstore: 271828")
    );
    assert!(mail.header("Date").is_some() && mail.header("Message-ID").is_some());
    // Both MIME parts, from the connector's template.
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert_eq!(
        mail.text_plain().as_deref(),
        Some("Your Bookstore code is 271828.")
    );
    assert!(mail.text_html().unwrap().contains("<b>271828</b>"));
    assert_eq!(mail.extract_code().as_deref(), Some("271828"));

    // Register has no connector template: the built-in default is used.
    mailer
        .send_code(
            Purpose::Register,
            &sesame::mail::CodeMail::test("sesame", "bob@example.com", "161803"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.extract_code().as_deref(), Some("161803"));
    assert!(mail.text_html().unwrap().contains("161803"));
}

#[tokio::test]
async fn without_a_feedback_address_the_sender_is_the_envelope_sender() {
    let server = ses_server(&["noreply@bookstore.example"]);
    let mut json = connector_json(&server, "starttls");
    let map = json.as_object_mut().unwrap();
    map.remove("feedbackForwardingEmailAddress");
    map.remove("feedbackForwardingEmailAddressIdentityArn");
    map.remove("configurationSetName");
    let mailer = mailer_from(&json);
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.mail_from, "noreply@bookstore.example");
    assert_eq!(mail.header("X-SES-RETURN-PATH-ARN"), None);
    assert_eq!(mail.header("X-SES-CONFIGURATION-SET"), None);
}

#[tokio::test]
async fn implicit_tls_endpoint_and_smtp_password() {
    let server = SmtpServer::start(
        SmtpOpts::ses(REGION, KEY_ID, SECRET, &["bounces@bookstore.example"]).implicit_tls(),
    );
    let mut json = connector_json(&server, "tls");
    let map = json.as_object_mut().unwrap();
    map.remove("accessKeySecret");
    map.insert(
        "smtpPassword".into(),
        derive_smtp_password(SECRET, REGION).into(),
    );
    let mailer = mailer_from(&json);
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert!(mail.tls);
    assert_eq!(mail.extract_code().as_deref(), Some("123456"));
    // The implicit-TLS connection is pooled and reused too.
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "bob@example.com", "654321"),
        )
        .await
        .unwrap();
    let second = server.wait_for_message_async(WAIT).await;
    assert_eq!(second.extract_code().as_deref(), Some("654321"));
    assert!(mail.peer.is_some());
    assert_eq!(
        second.peer, mail.peer,
        "the pooled connection was not reused"
    );
}

#[tokio::test]
async fn unverified_sender_is_explained() {
    let server = ses_server(&["someone-else@bookstore.example"]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::NotVerified { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("554 Message rejected: Email address is not verified"),
        "{text}"
    );
    assert!(text.contains("sandbox"), "{text}");
    assert!(text.contains(REGION), "{text}");
    assert_eq!(server.message_count(), 0);
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let server = ses_server(&["bounces@bookstore.example"]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    server.set_throttle(2);
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "999000"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.extract_code().as_deref(), Some("999000"));
    assert_eq!(server.message_count(), 1);
    assert_eq!(mailer.status().ok, Some(true));
}

#[tokio::test]
async fn persistent_throttling_fails_within_the_bound() {
    let server = ses_server(&["bounces@bookstore.example"]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    server.set_throttle(1000);
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    match &err {
        SendError::Throttled {
            attempts, reply, ..
        } => {
            assert!(*attempts > 1, "{err:?}");
            assert!(reply.starts_with("454 Throttling failure"), "{reply}");
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert_eq!(server.message_count(), 0);
    assert_eq!(mailer.status().ok, Some(false));
}

#[tokio::test]
async fn wrong_credentials_name_the_keys_to_check() {
    let server = ses_server(&["bounces@bookstore.example"]);

    let mut json = connector_json(&server, "starttls");
    json["accessKeySecret"] = "not-the-secret".into();
    let err = mailer_from(&json)
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("535") && text.contains("accessKeySecret"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");

    // The right secret with the wrong region derives a password SES refuses as well.
    let mut json = connector_json(&server, "starttls");
    json["region"] = "us-east-1".into();
    let text = mailer_from(&json)
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("region us-east-1"), "{text}");

    let mut json = connector_json(&server, "starttls");
    json.as_object_mut().unwrap().remove("accessKeySecret");
    json["smtpPassword"] = "BAAAnotright".into();
    let text = mailer_from(&json)
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("535") && text.contains("smtpPassword"),
        "{text}"
    );
    assert_eq!(server.message_count(), 0);
}

#[tokio::test]
async fn tls_mode_mismatch_names_the_endpoint_key() {
    let server = SmtpServer::start(
        SmtpOpts::ses(REGION, KEY_ID, SECRET, &["bounces@bookstore.example"]).implicit_tls(),
    );
    let err = mailer_from(&connector_json(&server, "starttls"))
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::TlsModeMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("endpoint.tls = \"tls\""), "{err}");
}

#[tokio::test]
async fn dry_run_reports_every_step() {
    let server = ses_server(&["bounces@bookstore.example"]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    let report = test_send(
        &mailer,
        "alice@example.com",
        Purpose::SignIn,
        true,
        "sesame",
    )
    .await
    .unwrap();
    eprintln!("{report}");
    for expected in [
        "greeting 220",
        "STARTTLS ok",
        "AUTH     235",
        "MAIL FROM:<bounces@bookstore.example> 250",
        "RCPT TO:<alice@example.com> 250",
        "RSET     250",
        "QUIT     221",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    assert!(!report.contains(SECRET) && !report.contains(&derive_smtp_password(SECRET, REGION)));
    assert_eq!(server.message_count(), 0);

    // Unverified sender: the dry run stops at MAIL FROM with SES's reply and the explanation.
    let server = ses_server(&[]);
    let mailer = mailer_from(&connector_json(&server, "starttls"));
    let report = match test_send(
        &mailer,
        "alice@example.com",
        Purpose::SignIn,
        true,
        "sesame",
    )
    .await
    {
        Err(TestSendError::DryRunFailed { report }) => report,
        other => panic!("expected a failed dry run, got {other:?}"),
    };
    eprintln!("{report}");
    assert!(report.contains("AUTH     235"), "{report}");
    assert!(
        report.contains("FAILED") && report.contains("554"),
        "{report}"
    );
    assert!(report.contains("sandbox"), "{report}");
}

#[tokio::test]
async fn stored_connector_wins_over_the_file() {
    let server = ses_server(&["bounces@bookstore.example"]);
    // The file says smtp (to a dead port); the stored connector says SES.
    let mut file = MailConfig {
        transport: MailTransportKind::Smtp,
        from: Some("noreply@example.com".into()),
        ..MailConfig::default()
    };
    file.smtp.host = "127.0.0.1".into();
    file.smtp.port = 1;
    let before = Mailer::build(&file, None).unwrap();
    assert_eq!(before.transport_name(), "smtp");

    let stored = parse_ses_json(&connector_json(&server, "starttls").to_string()).unwrap();
    let after = Mailer::build(&file, Some(StoredConnector::Ses(stored))).unwrap();
    assert_eq!(after.status().configured_by, ConfiguredBy::Connector);
    after
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.auth_user.as_deref(), Some(KEY_ID));
}

#[tokio::test]
async fn ses_table_in_the_config_file() {
    let server = ses_server(&["bounces@bookstore.example"]);
    // As `[mail.ses]` in sesame.toml, with snake_case keys.
    let toml_text = format!(
        r#"
        transport = "ses"
        [ses]
        access_key_id = "{KEY_ID}"
        access_key_secret = "{SECRET}"
        region = "{REGION}"
        email_address = "noreply@bookstore.example"
        feedback_forwarding_email_address = "bounces@bookstore.example"
        [ses.endpoint]
        host = "127.0.0.1"
        port = {port}
        tls = "starttls"
        ca_file = "{ca}"
        "#,
        port = server.port,
        ca = server.ca_pem_path.display()
    );
    let config: MailConfig = toml::from_str(&toml_text).unwrap();
    let mailer = Mailer::build(&config, None).unwrap();
    assert_eq!(mailer.status().configured_by, ConfiguredBy::Config);
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.mail_from, "bounces@bookstore.example");
    assert_eq!(mail.extract_code().as_deref(), Some("123456"));
}
