//! The `smtp` mail transport against a real SMTP server (tests/support/smtp_server.py, aiosmtpd)
//! over a real socket: STARTTLS, AUTH, the received MIME message, and every failure explained.

#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use sesame::config::{EmailTemplate, MailConfig, MailTransportKind, SmtpConfig, TlsMode};
use sesame::mail::{test_send, Mailer, Purpose, SendError, TestSendError};
use smtp::{SmtpOpts, SmtpServer};

const WAIT: Duration = Duration::from_secs(10);

fn config_for(server: &SmtpServer, tls: TlsMode, password: &str) -> MailConfig {
    MailConfig {
        transport: MailTransportKind::Smtp,
        from: Some("Bookstore <noreply@bookstore.example>".into()),
        timeout_secs: Some(60),
        smtp: SmtpConfig {
            host: "127.0.0.1".into(),
            port: server.port,
            tls,
            username: Some("relay-user".into()),
            password: Some(password.into()),
            password_file: None,
            ca_file: Some(server.ca_pem_path.clone()),
        },
        ..MailConfig::default()
    }
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn sends_a_multipart_message_over_starttls_with_auth() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    // The password comes from a file, as a deployment would keep it.
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, "relay-pass\n").unwrap();
    let mut config = config_for(&server, TlsMode::Starttls, "unused");
    config.smtp.password = None;
    config.smtp.password_file = Some(password_file);
    let mailer = Mailer::build(&config, None).unwrap();

    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "Alice@Example.com", "042917"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;

    assert_eq!(mail.mail_from, "noreply@bookstore.example");
    assert_eq!(mail.rcpt_tos, vec!["Alice@Example.com"]);
    assert!(
        mail.tls,
        "the session must have been upgraded with STARTTLS"
    );
    assert_eq!(mail.auth_user.as_deref(), Some("relay-user"));
    let from = mail.header("From").unwrap();
    assert!(
        from.contains("Bookstore") && from.contains("<noreply@bookstore.example>"),
        "{from}"
    );
    assert_eq!(mail.header("To").as_deref(), Some("Alice@Example.com"));
    assert!(mail.subject().unwrap().contains("042917"));
    assert!(mail.header("Date").is_some());
    let message_id = mail.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@bookstore.example>"),
        "{message_id}"
    );
    assert_eq!(mail.header("MIME-Version").as_deref(), Some("1.0"));
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    let text = mail.text_plain().unwrap();
    let html = mail.text_html().unwrap();
    assert!(text.contains("042917") && !text.contains('<'), "{text}");
    assert!(html.contains("042917") && html.contains("<html"), "{html}");
    assert_eq!(mail.extract_code().as_deref(), Some("042917"));

    // A second message goes through the pool: over the same connection.
    let first_peer = mail.peer.clone();
    assert!(first_peer.is_some());
    mailer
        .send_code(
            Purpose::Register,
            &sesame::mail::CodeMail::test("sesame", "bob@example.com", "555111"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    assert_eq!(mail.rcpt_tos, vec!["bob@example.com"]);
    assert_eq!(mail.extract_code().as_deref(), Some("555111"));
    assert_eq!(
        mail.peer, first_peer,
        "the pooled connection was not reused"
    );

    let status = mailer.status();
    assert_eq!(status.ok, Some(true));
    assert_eq!(status.last_error, None);
    let text = serde_json::to_string(&status).unwrap();
    assert!(!text.contains("relay-pass"), "{text}");
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced() {
    // The server drops sessions idle for 0.3 s; sesame checks a pooled connection with NOOP
    // only after 2 s idle, so the second send finds a connection the server has closed.
    let server =
        SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass").idle_timeout(0.3));
    let mailer =
        Mailer::build(&config_for(&server, TlsMode::Starttls, "relay-pass"), None).unwrap();
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "111111"),
        )
        .await
        .unwrap();
    let first = server.wait_for_message_async(WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "bob@example.com", "222222"),
        )
        .await
        .unwrap();
    let second = server.wait_for_message_async(WAIT).await;
    assert_eq!(second.extract_code().as_deref(), Some("222222"));
    assert_ne!(second.peer, first.peer, "sent over a new connection");
    assert_eq!(mailer.status().last_error, None);
}

#[tokio::test]
async fn configured_template_with_non_ascii_subject() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    let mut config = config_for(&server, TlsMode::Starttls, "relay-pass");
    config.templates = vec![EmailTemplate {
        usage_type: "SignIn".into(),
        subject: "Código de acceso: {{code}} ✓".into(),
        content: "<p>Hola, tu código es <strong>{{code}}</strong>.</p><p>¡Gracias!</p>".into(),
    }];
    let mailer = Mailer::build(&config, None).unwrap();
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "ana@example.com", "314159"),
        )
        .await
        .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;

    let raw_subject = mail.header("Subject").unwrap();
    assert!(
        raw_subject.is_ascii() && raw_subject.contains("=?"),
        "{raw_subject}"
    );
    assert_eq!(
        mail.subject().as_deref(),
        Some("Código de acceso: 314159 ✓")
    );
    assert_eq!(
        mail.text_plain().as_deref(),
        Some("Hola, tu código es 314159.\n\n¡Gracias!")
    );
    assert!(mail
        .text_html()
        .unwrap()
        .contains("<strong>314159</strong>"));
}

#[tokio::test]
async fn wrong_password_is_a_configuration_error_naming_the_keys() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    let mailer = Mailer::build(
        &config_for(&server, TlsMode::Starttls, "not-the-password"),
        None,
    )
    .unwrap();
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::AuthFailed { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("535"), "{text}");
    assert!(text.contains("mail.smtp.password"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    assert_eq!(server.message_count(), 0);
    let status = mailer.status();
    assert_eq!(status.ok, Some(false));
    assert!(status.last_error.unwrap().contains("535"));
}

#[tokio::test]
async fn starttls_against_an_implicit_tls_port_is_explained() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass").implicit_tls());
    // timeout_secs is 60: the explanation comes from the greeting check, not from the timeout.
    let mailer =
        Mailer::build(&config_for(&server, TlsMode::Starttls, "relay-pass"), None).unwrap();
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::TlsModeMismatch { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("mail.smtp.tls = \"tls\""), "{text}");
    assert!(text.contains("465"), "{text}");

    // With the mode that fits, the same server works.
    let mailer = Mailer::build(&config_for(&server, TlsMode::Tls, "relay-pass"), None).unwrap();
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
}

#[tokio::test]
async fn implicit_tls_against_a_starttls_port_is_explained() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    let mailer = Mailer::build(&config_for(&server, TlsMode::Tls, "relay-pass"), None).unwrap();
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::TlsModeMismatch { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("mail.smtp.tls = \"starttls\""), "{text}");
    assert!(
        text.contains("220"),
        "the plain-text greeting is quoted: {text}"
    );
}

#[tokio::test]
async fn untrusted_certificate_points_at_the_ca_file() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    let mut config = config_for(&server, TlsMode::Starttls, "relay-pass");
    config.smtp.ca_file = None;
    let mailer = Mailer::build(&config, None).unwrap();
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Tls { .. }), "{err:?}");
    eprintln!("{err}");
    assert!(err.to_string().contains("mail.smtp.ca_file"), "{err}");
}

#[tokio::test]
async fn server_down_is_a_bounded_connect_error() {
    let mut config = MailConfig {
        transport: MailTransportKind::Smtp,
        from: Some("noreply@bookstore.example".into()),
        timeout_secs: Some(60),
        ..MailConfig::default()
    };
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = closed_port();
    for tls in [TlsMode::Starttls, TlsMode::Tls, TlsMode::None] {
        config.smtp.tls = tls;
        let mailer = Mailer::build(&config, None).unwrap();
        let err = mailer
            .send_code(
                Purpose::SignIn,
                &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Connect { .. }), "{tls:?}: {err:?}");
        eprintln!("{err}");
        assert!(err.to_string().contains("could not connect"), "{err}");
    }
}

#[tokio::test]
async fn silent_server_is_bounded_by_the_timeout() {
    // Accepts TCP connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut config = MailConfig {
        transport: MailTransportKind::Smtp,
        from: Some("noreply@bookstore.example".into()),
        timeout_secs: Some(2),
        ..MailConfig::default()
    };
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = port;
    config.smtp.tls = TlsMode::Tls;
    let mailer = Mailer::build(&config, None).unwrap();
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Timeout { secs: 2, .. }), "{err:?}");
    held.abort();
}

#[tokio::test]
async fn dry_run_walks_the_conversation_without_sending() {
    let server = SmtpServer::start(SmtpOpts::with_auth("relay-user", "relay-pass"));
    let mailer =
        Mailer::build(&config_for(&server, TlsMode::Starttls, "relay-pass"), None).unwrap();
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
    let steps: Vec<&str> = report
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        steps,
        [
            "server", "greeting", "EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RSET",
            "QUIT", "result"
        ],
        "{report}"
    );
    assert!(report.contains("greeting 220"), "{report}");
    assert!(report.contains("AUTH     235"), "{report}");
    assert!(
        report.contains("MAIL FROM:<noreply@bookstore.example> 250"),
        "{report}"
    );
    assert!(
        report.contains("RCPT TO:<alice@example.com> 250"),
        "{report}"
    );
    assert!(!report.contains("relay-pass"));
    assert_eq!(server.message_count(), 0);

    // And the real test send delivers one message with a fresh code.
    let report = test_send(
        &mailer,
        "alice@example.com",
        Purpose::Generic,
        false,
        "sesame",
    )
    .await
    .unwrap();
    let mail = server.wait_for_message_async(WAIT).await;
    let code = mail.extract_code().unwrap();
    assert!(report.contains(&code), "{report}");
    assert!(report.contains("250"), "{report}");

    // A failing dry run says where it stopped and why.
    let bad = Mailer::build(&config_for(&server, TlsMode::Starttls, "wrong"), None).unwrap();
    let report = match test_send(&bad, "alice@example.com", Purpose::SignIn, true, "sesame").await {
        Err(TestSendError::DryRunFailed { report }) => report,
        other => panic!("expected a failed dry run, got {other:?}"),
    };
    eprintln!("{report}");
    assert!(report.contains("STARTTLS ok"), "{report}");
    assert!(
        report.contains("FAILED") && report.contains("535"),
        "{report}"
    );
}

#[tokio::test]
async fn log_transport_sends_nothing() {
    let mailer = Mailer::build(&MailConfig::default(), None).unwrap();
    mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "alice@example.com", "123456"),
        )
        .await
        .unwrap();
    let report = test_send(
        &mailer,
        "alice@example.com",
        Purpose::SignIn,
        false,
        "sesame",
    )
    .await
    .unwrap();
    assert!(report.contains("log"), "{report}");
    let err = mailer
        .send_code(
            Purpose::SignIn,
            &sesame::mail::CodeMail::test("sesame", "not an address", "123456"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::InvalidRecipient(_)), "{err:?}");
}
