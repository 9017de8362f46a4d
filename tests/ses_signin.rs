//! Issue 3's "done when", end to end: a person pastes their Logto AWS SES connector JSON into a
//! running sesame, runs `sesame mail test`, and signs in to an app with a code that "SES"
//! delivered.
//!
//! "SES" is tests/support/smtp_server.py in SES mode: STARTTLS before AUTH, AUTH checked against
//! the SMTP password it derives itself from a known secret and region, 554 for senders that are
//! not verified identities. sesame starts with no mail configuration at all (the log transport);
//! the connector is stored through the control socket while it runs, and a broken connector is
//! replaced the same way, without a restart.
//!
//! Run: `cargo test --test ses_signin` (needs python3 with aiosmtpd).

mod support;

use std::process::Output;
use std::time::Duration;

use support::flow::{self, OidcClient, SCOPES};
use support::http::{query_param, HttpClient, Response};
use support::smtp::{Received, SmtpOpts, SmtpServer};
use support::{AppCreds, Sesame, SesameOpts};

const REGION: &str = "eu-west-1";
const KEY_ID: &str = "AKIAIOSFODNN7SESAME1";
const SECRET: &str = "kS3/sesame+SES/secretKEYwJalrXUtnFEMIexample";
const IDENTITY_ARN: &str = "arn:aws:ses:eu-west-1:123456789012:identity/example.com";
const FROM: &str = "Bookstore <noreply@example.com>";
const FEEDBACK: &str = "bounces@example.com";
const CONFIGURATION_SET: &str = "sign-in-codes";
const REGISTER_SUBJECT: &str = "Welcome to Bookstore";
const SIGN_IN_SUBJECT: &str = "Your Bookstore sign-in code";
/// A sender that is not a verified identity of the SES-like server.
const UNVERIFIED: &str = "Bookstore <unverified@example.org>";
const ADA: &str = "ada@example.com";

const MAIL_TIMEOUT: Duration = support::MAIL_TIMEOUT;

/// A `sesame serve` with no mail configuration (so the log transport), as a fresh install has.
struct Server {
    sesame: Sesame,
    /// Where the connector JSON files are written.
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server {
            sesame: Sesame::start(SesameOpts {
                no_mail: true,
                ..Default::default()
            }),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn url(&self, path: &str) -> String {
        self.sesame.url(path)
    }

    /// Everything sesame has logged so far.
    fn logs(&self) -> String {
        self.sesame.logs()
    }

    /// Runs `sesame ARGS --data-dir DIR` (no mail configuration either) with a time bound.
    fn cli(&self, args: &[&str]) -> Output {
        self.sesame.cli(args)
    }

    /// Runs the CLI and panics unless it succeeds; returns (stdout, stderr).
    fn cli_ok(&self, args: &[&str]) -> (String, String) {
        let out = self.cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "`sesame {}` failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" "),
            out.status
        );
        (stdout, stderr)
    }

    /// Writes `json` to a file and stores it with `sesame connector set ses --file F`.
    fn set_connector(&self, json: &serde_json::Value) -> String {
        let file = self.dir.path().join("ses.json");
        std::fs::write(&file, serde_json::to_string_pretty(json).unwrap()).expect("ses.json");
        let (stdout, stderr) =
            self.cli_ok(&["connector", "set", "ses", "--file", file.to_str().unwrap()]);
        assert!(
            stdout.contains("running server uses it"),
            "the connector went to the running server:\n{stdout}"
        );
        assert_no_secret("`connector set` output", &format!("{stdout}\n{stderr}"));
        stdout
    }

    /// Registers a confidential app with `sesame app create --json`.
    fn create_app(&self, name: &str) -> AppCreds {
        let redirect = format!("http://127.0.0.1:9/{}/callback", support::slug(name));
        let (stdout, _) = self.cli_ok(&[
            "app",
            "create",
            "--name",
            name,
            "--redirect-uri",
            &redirect,
            "--json",
        ]);
        let json: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("`app create --json` printed no JSON ({e}): {stdout}"));
        AppCreds {
            client_id: json["client_id"].as_str().expect("client_id").to_string(),
            client_secret: json["client_secret"].as_str().map(str::to_string),
            redirect_uri: redirect,
            json,
        }
    }

    /// GET /healthz as JSON.
    async fn health(&self) -> serde_json::Value {
        let answer = HttpClient::new().get(&self.url("/healthz")).await;
        assert_eq!(answer.status, 200, "{}", answer.describe());
        assert_no_secret("/healthz", &answer.body);
        answer.json()
    }
}

/// The SMTP password SES (and the SES-like server) expects for [`SECRET`] in [`REGION`].
fn derived_password() -> String {
    sesame::mail::derive_smtp_password(SECRET, REGION)
}

/// Neither the secret access key nor the SMTP password derived from it is in `text`.
fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
    assert!(
        !text.contains(&derived_password()),
        "{what} shows the derived SMTP password:\n{text}"
    );
}

/// Logto's AWS SES connector JSON, with the endpoint override pointing at the SES-like server.
fn connector_json(ses: &SmtpServer) -> serde_json::Value {
    serde_json::json!({
        "accessKeyId": KEY_ID,
        "accessKeySecret": SECRET,
        "region": REGION,
        "emailAddress": FROM,
        "emailAddressIdentityArn": IDENTITY_ARN,
        "feedbackForwardingEmailAddress": FEEDBACK,
        "configurationSetName": CONFIGURATION_SET,
        "templates": [
            { "usageType": "Register", "subject": REGISTER_SUBJECT,
              "content": "<p>Welcome! Your code to finish signing up is <b>{{code}}</b>.</p>" },
            { "usageType": "SignIn", "subject": SIGN_IN_SUBJECT,
              "content": "<p>Your code to sign in is <b>{{code}}</b>.</p>" },
            { "usageType": "Generic", "subject": "Your Bookstore code",
              "content": "<p>Your code is <b>{{code}}</b>.</p>" }
        ],
        "endpoint": {
            "host": "127.0.0.1",
            "port": ses.port,
            "tls": "starttls",
            "caFile": ses.ca_pem_path,
        }
    })
}

/// The browser side of a sign-in up to the code page: returns (code page, authorization start).
async fn start_sign_in(
    server: &Server,
    browser: &HttpClient,
    client: &OidcClient,
) -> (Response, flow::AuthStart) {
    let start = flow::authorize(client, SCOPES, true, None);
    let page = browser
        .get_following(start.url.as_str(), &server.sesame.issuer)
        .await;
    flow::assert_email_page(&page);
    (page, start)
}

/// Posts `email` into the email page and follows to the code page.
async fn submit_email(server: &Server, browser: &HttpClient, page: &Response) -> Response {
    let answer = flow::submit_form(browser, page, "email", &[("email", ADA)], None).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let code_page = browser.follow_within(answer, &server.sesame.issuer).await;
    flow::assert_code_page(&code_page);
    code_page
}

/// Checks the mail "SES" received: envelope, SES headers, From, subject; returns the code.
fn check_ses_mail(mail: &Received, subject: &str) -> String {
    assert_eq!(mail.rcpt_tos, vec![ADA.to_string()]);
    assert_eq!(
        mail.mail_from, FEEDBACK,
        "the envelope sender is feedbackForwardingEmailAddress, so bounces go there"
    );
    assert!(mail.tls, "sent over STARTTLS");
    assert_eq!(
        mail.auth_user.as_deref(),
        Some(KEY_ID),
        "AUTH as the access key ID"
    );
    assert_eq!(
        mail.header("X-SES-CONFIGURATION-SET").as_deref(),
        Some(CONFIGURATION_SET)
    );
    assert_eq!(
        mail.header("X-SES-SOURCE-ARN").as_deref(),
        Some(IDENTITY_ARN)
    );
    assert_eq!(mail.header("X-SES-FROM-ARN").as_deref(), Some(IDENTITY_ARN));
    let from = mail.header_decoded("From").expect("a From header");
    assert!(
        from.contains("Bookstore") && from.contains("<noreply@example.com>"),
        "From is emailAddress: {from}"
    );
    assert_eq!(mail.subject().as_deref(), Some(subject));
    let code = mail
        .extract_code()
        .unwrap_or_else(|| panic!("no 6-digit code in the text part:\n{}", mail.data));
    assert!(
        mail.text_html().is_some_and(|h| h.contains(&code)),
        "the HTML part has the code too:\n{}",
        mail.data
    );
    code
}

/// The code page's answer to the right code, as the app's callback; the exchange succeeds.
async fn finish_sign_in(
    server: &Server,
    browser: &HttpClient,
    client: &OidcClient,
    app: &AppCreds,
    code_page: &Response,
    code: &str,
    start: flow::AuthStart,
) -> String {
    let answer = flow::submit_code(browser, code_page, code).await;
    let location = answer.expect_redirect();
    assert!(
        location.as_str().starts_with(&app.redirect_uri),
        "back to the app: {location}"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(server.sesame.issuer.as_str())
    );
    let auth_code = query_param(&location, "code").expect("a code in the callback");
    let tokens = flow::exchange(client, &auth_code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADA));
    claims.subject().to_string()
}

#[tokio::test]
async fn a_pasted_logto_ses_connector_delivers_sign_in_codes() {
    let ses = SmtpServer::start(SmtpOpts::ses(
        REGION,
        KEY_ID,
        SECRET,
        &["noreply@example.com", FEEDBACK],
    ));
    let server = Server::start();
    let app = server.create_app("Bookstore");
    let meta = flow::discover(&server.sesame.issuer).await;
    let client = flow::client(&meta, &app);

    // A fresh install: the log transport.
    assert_eq!(server.health().await["mail"]["transport"], "log");

    // The Logto connector JSON, pasted in while sesame runs.
    let stored = server.set_connector(&connector_json(&ses));
    assert!(stored.contains(KEY_ID), "{stored}");
    let health = server.health().await;
    assert_eq!(
        health["mail"]["transport"], "ses",
        "/healthz reports the SES transport: {health:#}"
    );
    let (shown, _) = server.cli_ok(&["connector", "show", "ses", "--json"]);
    assert_no_secret("`connector show`", &shown);
    let shown: serde_json::Value = serde_json::from_str(shown.trim()).expect("JSON");
    assert_eq!(shown["config"]["accessKeySecret"], "********", "{shown:#}");
    assert_eq!(shown["config"]["accessKeyId"], KEY_ID, "{shown:#}");

    // `mail test --dry-run`: the whole conversation up to RSET, nothing sent.
    let (dry, _) = server.cli_ok(&["mail", "test", "--to", "someone@example.com", "--dry-run"]);
    assert_no_secret("`mail test --dry-run`", &dry);
    for step in [
        "STARTTLS",
        "AUTH     235",
        "MAIL FROM:<bounces@example.com> 250",
        "RCPT TO:<someone@example.com> 250",
        "RSET     250",
    ] {
        assert!(
            dry.contains(step),
            "the dry run reports each step with its reply ({step:?}):\n{dry}"
        );
    }
    assert_eq!(ses.message_count(), 0, "a dry run sends nothing:\n{dry}");

    // `mail test`: one real message.
    let (sent, _) = server.cli_ok(&["mail", "test", "--to", "someone@example.com"]);
    assert_no_secret("`mail test`", &sent);
    assert!(
        sent.contains("250"),
        "the report has the server's reply:\n{sent}"
    );
    let test_mail = ses.wait_for_message_async(MAIL_TIMEOUT).await;
    assert_eq!(test_mail.rcpt_tos, vec!["someone@example.com".to_string()]);
    assert_eq!(test_mail.mail_from, FEEDBACK);
    assert_eq!(test_mail.subject().as_deref(), Some(SIGN_IN_SUBJECT));
    let test_code = test_mail.extract_code().expect("a code in the test mail");
    assert!(
        sent.contains(&test_code),
        "the report names the code that was sent ({test_code}):\n{sent}"
    );

    // First sign-in: a new account, the Register template.
    let browser = HttpClient::new();
    let (page, start) = start_sign_in(&server, &browser, &client).await;
    let code_page = submit_email(&server, &browser, &page).await;
    let mail = ses.wait_for_message_async(MAIL_TIMEOUT).await;
    let code = check_ses_mail(&mail, REGISTER_SUBJECT);
    let first = finish_sign_in(&server, &browser, &client, &app, &code_page, &code, start).await;

    // Second sign-in from another browser (no single sign-on): the SignIn template.
    let browser = HttpClient::new();
    let (page, start) = start_sign_in(&server, &browser, &client).await;
    let code_page = submit_email(&server, &browser, &page).await;
    let mail = ses.wait_for_message_async(MAIL_TIMEOUT).await;
    let code = check_ses_mail(&mail, SIGN_IN_SUBJECT);
    let second = finish_sign_in(&server, &browser, &client, &app, &code_page, &code, start).await;
    assert_eq!(first, second, "the same account both times");

    let health = server.health().await;
    assert_eq!(health["mail"]["transport"], "ses", "{health:#}");
    assert_eq!(health["mail"]["ok"], true, "{health:#}");
    assert_no_secret("sesame's log", &server.logs());
}

#[tokio::test]
async fn an_unverified_sender_is_explained_and_a_fixed_connector_works_without_a_restart() {
    let ses = SmtpServer::start(SmtpOpts::ses(
        REGION,
        KEY_ID,
        SECRET,
        &["noreply@example.com", FEEDBACK],
    ));
    let server = Server::start();
    let app = server.create_app("Bookstore");
    let meta = flow::discover(&server.sesame.issuer).await;
    let client = flow::client(&meta, &app);

    // A sender that is not a verified identity. (The SES-like server checks the envelope
    // sender, so the feedback address, which would be the envelope sender, is left out.)
    let mut broken = connector_json(&ses);
    broken["emailAddress"] = UNVERIFIED.into();
    broken
        .as_object_mut()
        .unwrap()
        .remove("feedbackForwardingEmailAddress");
    server.set_connector(&broken);

    let browser = HttpClient::new();
    let (page, start) = start_sign_in(&server, &browser, &client).await;
    let answer = flow::submit_form(&browser, &page, "email", &[("email", ADA)], None).await;
    assert!(
        !answer.is_redirect() && answer.status >= 500,
        "SES refused the sender: the could-not-send page, got {}",
        answer.describe()
    );
    assert!(
        answer.body.to_ascii_lowercase().contains("could not send"),
        "{}",
        answer.describe()
    );
    assert_eq!(ses.message_count(), 0);
    // SES answered (connection, TLS and AUTH worked): a refused message is shown in the details
    // but does not make health "degraded", since anyone could cause one with a recipient the
    // server refuses (SES's sandbox refuses unverified recipients the same way).
    let health = server.health().await;
    assert_eq!(health["status"], "ok", "{health:#}");
    assert_ne!(health["mail"]["ok"], false, "{health:#}");
    let last_error = health["mail"]["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("554") || last_error.contains("not verified"),
        "/healthz shows SES's refusal: {health:#}"
    );

    // The connector fixed through the control socket: the same page works at once.
    server.set_connector(&connector_json(&ses));
    let code_page = submit_email(&server, &browser, &page).await;
    let mail = ses.wait_for_message_async(MAIL_TIMEOUT).await;
    let code = check_ses_mail(&mail, REGISTER_SUBJECT);
    finish_sign_in(&server, &browser, &client, &app, &code_page, &code, start).await;
    let health = server.health().await;
    assert_eq!(health["mail"]["ok"], true, "{health:#}");
    assert_no_secret("sesame's log", &server.logs());
}
