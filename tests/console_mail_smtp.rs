//! The stored SMTP connector end to end, on a real `sesame serve` with a real SMTP server
//! (STARTTLS and AUTH required): saved from the console's Mail page (CSRF token, fresh
//! sign-in), it sends the test email and then a sign-in code at once (its From, not the
//! file's); a wrong password shows the server's 535 reply verbatim; `tls = none` to another
//! machine is refused beside the field; a blank password keeps the stored one; no page ever
//! shows the password; `sesame connector set smtp` does the same from the command line.
//!
//! Run: `cargo test --test console_mail_smtp` (needs python3 with aiosmtpd).

mod support;

use support::flow;
use support::http::{HttpClient, Response};
use support::{Sesame, SMTP_PASSWORD, SMTP_USER};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
/// The stored connector's From: the file's is `MAIL_FROM`, so a mail with this one went
/// through the stored connector.
const STORED_FROM: &str = "Stored Relay <relay@stored.example>";
const WRONG_PASSWORD: &str = "not-the-password-41";

/// An administrator (made with the CLI) signed in to the console just now; returns the CSRF
/// token.
async fn admin_console(sesame: &Sesame, browser: &HttpClient) -> String {
    let out = sesame.cli(&["user", "add", ADA, "--admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = flow::sign_in_at(sesame, browser, "/console", ADA).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    page.input_value("csrf").expect("a csrf field")
}

/// The SMTP form's fields for the harness's server, with `password` and `tls`.
fn smtp_form<'a>(
    sesame: &Sesame,
    token: &'a str,
    tls: &'a str,
    password: &'a str,
) -> Vec<(&'a str, String)> {
    vec![
        ("csrf", token.to_string()),
        ("host", "127.0.0.1".to_string()),
        ("port", sesame.smtp.port.to_string()),
        ("tls", tls.to_string()),
        ("username", SMTP_USER.to_string()),
        ("password", password.to_string()),
        ("from", STORED_FROM.to_string()),
    ]
}

async fn post(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(&str, String)],
) -> Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_form(&sesame.url(path), &form).await
}

/// Posts the SMTP form; on success (303 back to the mail page) returns the page it leads to.
async fn save_smtp(sesame: &Sesame, browser: &HttpClient, form: &[(&str, String)]) -> Response {
    let r = post(sesame, browser, "/console/mail/smtp", form).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let page = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        page.body.contains("The SMTP connector is saved"),
        "{}",
        page.body
    );
    page
}

/// Sends a test email from the console's Mail page.
async fn send_test(sesame: &Sesame, browser: &HttpClient, token: &str, action: &str) -> Response {
    let form = [
        ("to", "carol@example.com".to_string()),
        ("template", "SignIn".to_string()),
        ("action", action.to_string()),
        ("csrf", token.to_string()),
    ];
    post(sesame, browser, "/console/mail/test", &form).await
}

fn assert_no_password(page: &Response) {
    for secret in [SMTP_PASSWORD, WRONG_PASSWORD] {
        assert!(
            !page.body.contains(secret),
            "the password is never shown: {}",
            page.body
        );
    }
}

fn stored_smtp(sesame: &Sesame) -> serde_json::Value {
    sesame.cli_json(&["connector", "show", "smtp", "--json"])
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_stores_an_smtp_server_from_the_console_and_mail_goes_through_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/mail")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert!(
        page.body.contains("action=\"/console/mail/smtp\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("[mail.smtp].ca_file in sesame.toml"),
        "{}",
        page.body
    );
    let good = smtp_form(&sesame, &token, "starttls", SMTP_PASSWORD);
    let good_refs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sesame
        .assert_csrf_refused(&browser, "/console/mail/smtp", &good_refs)
        .await;

    // No TLS to another machine: refused beside the field, saying why; nothing stored.
    let mut clear = smtp_form(&sesame, &token, "none", SMTP_PASSWORD);
    clear[1].1 = "mail.example.com".into();
    let r = post(&sesame, &browser, "/console/mail/smtp", &clear).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("id=\"smtp-tls-error\""), "{}", r.body);
    assert!(
        r.body.contains("127.0.0.0/8, ::1 or localhost"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("value=\"mail.example.com\""),
        "what was typed stays"
    );
    assert_no_password(&r);
    assert_eq!(stored_smtp(&sesame)["stored"], false);

    // A wrong password is stored (sesame cannot know before it connects); the test email
    // shows the server's refusal verbatim.
    save_smtp(
        &sesame,
        &browser,
        &smtp_form(&sesame, &token, "starttls", WRONG_PASSWORD),
    )
    .await;
    let r = send_test(&sesame, &browser, &token, "send").await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("Test email: failed"), "{}", r.body);
    assert!(
        r.body
            .contains("535 5.7.8 Authentication credentials invalid"),
        "{}",
        r.body
    );
    assert_no_password(&r);

    // The right one: the test email arrives through the stored connector (its From).
    let page = save_smtp(&sesame, &browser, &good).await;
    assert!(
        page.body.contains("set by the stored smtp connector"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("A password is stored and never shown"),
        "{}",
        page.body
    );
    assert_no_password(&page);
    // Saved again with a blank password: the stored one is kept.
    let blank = smtp_form(&sesame, &token, "starttls", "");
    let page = save_smtp(&sesame, &browser, &blank).await;
    assert_no_password(&page);
    let r = send_test(&sesame, &browser, &token, "send").await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.body.contains("Test email: done"), "{}", r.body);
    let mail = sesame.next_mail().await;
    assert_eq!(mail.rcpt_tos, vec!["carol@example.com".to_string()]);
    assert_eq!(mail.mail_from, "relay@stored.example");
    assert!(mail.tls && mail.auth_user.as_deref() == Some(SMTP_USER));
    // A dry run shows each reply, AUTH's included.
    let r = send_test(&sesame, &browser, &token, "dry_run").await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        r.body.contains("Dry run: done") && r.body.contains("235"),
        "{}",
        r.body
    );

    // A sign-in code goes through it too.
    let other = HttpClient::new();
    let email_page = other
        .get_following(&sesame.url("/account"), &sesame.issuer)
        .await;
    let code_page = flow::submit_email(&sesame, &other, &email_page, BOB).await;
    let mail = sesame.next_mail().await;
    assert_eq!(mail.mail_from, "relay@stored.example");
    assert_eq!(mail.rcpt_tos, vec![BOB.to_string()]);
    let code = mail.extract_code().expect("a code in the mail");
    let r = flow::submit_code(&other, &code_page, &code).await;
    assert_eq!(r.status, 303, "{}", r.describe());

    // Shown masked; the audit log keeps it masked.
    let shown = stored_smtp(&sesame);
    assert_eq!(shown["config"]["password"], "********", "{shown}");
    assert_eq!(shown["config"]["from"], STORED_FROM);
    let audit = sesame.cli(&["audit", "--json"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("connector.set"), "{audit}");
    assert!(
        !audit.contains(SMTP_PASSWORD) && !audit.contains(WRONG_PASSWORD),
        "{audit}"
    );

    // Removing it sends mail as sesame.toml says again.
    let gone = [("csrf", token.clone()), ("name", "smtp".to_string())];
    let r = post(&sesame, &browser, "/console/mail/connector/delete", &gone).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    assert_eq!(stored_smtp(&sesame)["stored"], false);
    let r = send_test(&sesame, &browser, &token, "send").await;
    assert_eq!(r.status, 200, "{}", r.describe());
    let mail = sesame.next_mail().await;
    assert_eq!(mail.mail_from, "noreply@sesame.test");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_stores_an_smtp_connector_and_the_running_server_sends_with_it() {
    let sesame = Sesame::start_default();
    let file = sesame.data_dir.with_file_name("smtp.json");
    let config = serde_json::json!({
        "host": "127.0.0.1",
        "port": sesame.smtp.port,
        "tls": "starttls",
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from": STORED_FROM,
    });
    std::fs::write(&file, config.to_string()).unwrap();
    let file = file.to_string_lossy().to_string();
    let set = sesame.cli_json(&["connector", "set", "smtp", "--file", &file, "--json"]);
    assert_eq!(set["config"]["password"], "********", "{set}");
    assert_eq!(set["mail"]["transport"], "smtp");
    assert_eq!(set["mail"]["configured_by"], "connector");

    // The running server sends a sign-in code through it at once.
    let browser = HttpClient::new();
    let email_page = browser
        .get_following(&sesame.url("/account"), &sesame.issuer)
        .await;
    flow::submit_email(&sesame, &browser, &email_page, BOB).await;
    let mail = sesame.next_mail().await;
    assert_eq!(mail.mail_from, "relay@stored.example");

    // tls = none to another machine is refused by the CLI too, naming the key.
    let clear = serde_json::json!({"host": "mail.example.com", "tls": "none", "from": STORED_FROM});
    std::fs::write(&file, clear.to_string()).unwrap();
    let out = sesame.cli(&["connector", "set", "smtp", "--file", &file]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls:") && err.contains("127.0.0.0/8"), "{err}");

    let deleted = sesame.cli_json(&["connector", "delete", "smtp", "--json"]);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["mail"]["configured_by"], "config");
}
