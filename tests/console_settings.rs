//! The console's settings pages end to end, on a real `sesame serve` with a real SMTP server:
//! the mail page's status, send test (the message arrives) and dry run (each SMTP reply with
//! its meaning, nothing sent), a connector refused per field with nothing stored; the keys
//! page's rotation (a new key in JWKS) after a confirmation. Every form refuses a missing or
//! wrong CSRF token; a non-admin gets 403.
//!
//! Run: `cargo test --test console_settings` (needs python3 with aiosmtpd).

mod support;

use support::flow;
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// An administrator (made with the CLI) signed in to the console; returns the CSRF token.
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

async fn post(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    browser.post_form(&sesame.url(path), form).await
}

/// Posts `form` to `path` without a CSRF token and with a wrong one: both 403.
async fn assert_csrf_refused(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(&str, &str)],
) {
    let r = post(sesame, browser, path, form).await;
    assert_eq!(r.status, 403, "{path} without CSRF: {}", r.describe());
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "not-the-token"));
    let r = post(sesame, browser, path, &wrong).await;
    assert_eq!(r.status, 403, "{path} with a wrong CSRF: {}", r.describe());
}

fn assert_console_headers(page: &Response) {
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

/// The key IDs JWKS lists now.
async fn jwks_kids(sesame: &Sesame, browser: &HttpClient) -> Vec<String> {
    let r = browser.get(&sesame.url("/jwks")).await;
    let jwks: serde_json::Value = serde_json::from_str(&r.body).expect("JWKS JSON");
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_mail_status_sends_a_test_and_dry_runs() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/mail")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert_console_headers(&page);
    assert!(
        page.body
            .contains("<code id=\"mail-transport\">smtp</code>"),
        "{}",
        page.body
    );

    let to = "carol@example.com";
    let send = [("to", to), ("template", "SignIn"), ("action", "send")];
    assert_csrf_refused(&sesame, &browser, "/console/mail/test", &send).await;
    let mut form = send.to_vec();
    form.push(("csrf", &token));
    let r = post(&sesame, &browser, "/console/mail/test", &form).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.body.contains("Test email: done"), "{}", r.body);
    assert!(
        r.body.contains("done: the server accepted the command"),
        "{}",
        r.body
    );
    let mail = sesame.next_mail().await;
    assert_eq!(mail.rcpt_tos, vec![to.to_string()]);

    let before = sesame.smtp.message_count();
    let dry = [
        ("to", to),
        ("template", "SignIn"),
        ("action", "dry_run"),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/test", &dry).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(r.body.contains("Dry run: done"), "{}", r.body);
    for step in [
        "EHLO",
        "MAIL FROM",
        "RCPT TO:&lt;carol@example.com&gt; 250",
        "QUIT",
    ] {
        assert!(r.body.contains(step), "{step} in {}", r.body);
    }
    assert!(r.body.contains("done: the server accepted the command"));
    assert_eq!(
        sesame.smtp.message_count(),
        before,
        "a dry run sends nothing"
    );

    // A recipient that is not an address: the report says so, as an alert.
    let bad = [
        ("to", "not an address"),
        ("action", "send"),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/test", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("is not an email address"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_with_a_missing_or_wrong_field_is_refused_and_nothing_is_stored() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let fields = [
        ("source", "form"),
        ("accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        (
            "accessKeySecret",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("region", ""),
    ];
    assert_csrf_refused(&sesame, &browser, "/console/mail/connector", &fields).await;
    assert_csrf_refused(&sesame, &browser, "/console/mail/connector/delete", &[]).await;
    let mut form = fields.to_vec();
    form.push(("csrf", &token));
    let r = post(&sesame, &browser, "/console/mail/connector", &form).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("id=\"ses-region-error\""), "{}", r.body);
    assert!(
        !r.body.contains("wJalrXUtnFEMI"),
        "the secret is not shown back"
    );
    form[3] = ("region", "not a region");
    let r = post(&sesame, &browser, "/console/mail/connector", &form).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("id=\"ses-region-error\"") && r.body.contains("is not an AWS region"));
    let pasted = [
        ("source", "json"),
        ("json", "{\"region\": "),
        ("csrf", &token),
    ];
    let r = post(&sesame, &browser, "/console/mail/connector", &pasted).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("not JSON"), "{}", r.body);
    let out = sesame.cli(&["connector", "show", "ses", "--json"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("\"stored\": false") || shown.contains("\"stored\":false"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_rotates_a_signing_key_after_confirming_and_jwks_has_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let token = admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/keys")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert_console_headers(&page);
    for alg in ["ES256", "ES384", "RS256"] {
        assert!(
            page.body.contains(&format!("<h2 id=\"alg-{alg}\">")),
            "{alg}"
        );
    }
    assert!(page.body.contains("<strong>active</strong>"));
    let confirm = browser
        .get(&sesame.url("/console/keys/rotate?alg=ES256"))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Rotate the ES256 key?"));

    let before = jwks_kids(&sesame, &browser).await;
    assert_csrf_refused(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "ES256")],
    )
    .await;
    assert_eq!(
        jwks_kids(&sesame, &browser).await,
        before,
        "nothing rotated"
    );
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "HS256"), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "ES256"), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("A new signing key is active"),
        "{}",
        list.describe()
    );
    assert!(list.body.contains("retired"));
    let after = jwks_kids(&sesame, &browser).await;
    assert_eq!(after.len(), before.len() + 1, "{before:?} -> {after:?}");
    assert!(
        before.iter().all(|k| after.contains(k)),
        "the old key stays in JWKS"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_is_refused_the_settings_pages() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = flow::sign_in_at(&sesame, &browser, "/console", BOB).await;
    assert_eq!(page.status, 403, "{}", page.describe());
    for path in ["/console/mail", "/console/keys"] {
        let r = browser.get(&sesame.url(path)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.describe());
    }
    let r = post(
        &sesame,
        &browser,
        "/console/keys/rotate",
        &[("alg", "ES256")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.describe());
}
