//! The account page end to end: a real `sesame serve`, a real SMTP server receiving the codes,
//! and a browser-like client on a socket. Signed in with an email code, the browser uses its
//! session cookie on `/account`: rename, change email (only with the code sent to the new
//! address), end another session, revoke an app (its refresh token then fails at `/token`),
//! sign out everywhere; every form refuses a missing or wrong CSRF token; security headers.
//!
//! Run: `cargo test --test account` (needs python3 with aiosmtpd).

mod support;

use openidconnect::OAuth2TokenResponse;
use support::flow::{self, submit_form};
use support::html::forms;
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";

/// Opens `/account` in a browser without a session, signs in as `email` with the mailed code,
/// and returns the account page it comes back to.
async fn sign_in_to_account(sesame: &Sesame, browser: &HttpClient, email: &str) -> Response {
    let account = flow::sign_in_at(sesame, browser, "/account", email).await;
    assert_account_page(&account, email);
    account
}

fn assert_account_page(page: &Response, email: &str) {
    assert!(
        page.status == 200 && page.body.contains("Your account") && page.body.contains(email),
        "expected {email}'s account page, got {}",
        page.describe()
    );
}

async fn account(sesame: &Sesame, browser: &HttpClient) -> Response {
    browser.get(&sesame.url("/account")).await
}

/// Follows a form's redirect back to the account page and returns it.
async fn followed(sesame: &Sesame, browser: &HttpClient, answer: Response) -> Response {
    assert_eq!(answer.status, 303, "{}", answer.describe());
    browser.follow_within(answer, &sesame.issuer).await
}

/// The form on `page` whose action ends with `action` and has a hidden `field`=`value`.
fn form_for(page: &Response, action: &str, field: &str, value: &str) -> support::html::Form {
    forms(&page.body)
        .into_iter()
        .find(|f| {
            f.action.as_deref().is_some_and(|a| a.ends_with(action))
                && f.fields.iter().any(|(n, v)| n == field && v == value)
        })
        .unwrap_or_else(|| panic!("no {action} form with {field}={value}: {}", page.describe()))
}

async fn post(browser: &HttpClient, page: &Response, f: &support::html::Form) -> Response {
    let target = page.url.join(f.action.as_deref().unwrap_or("")).unwrap();
    let pairs: Vec<(&str, &str)> = f
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post_form(target.as_str(), &pairs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_signs_in_first_shows_the_account_and_has_strict_headers() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = sign_in_to_account(&sesame, &browser, ADA).await;
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(
        page.body.contains("this browser"),
        "the current session is marked"
    );
    assert!(!page.body.contains("<script"), "no script on the page");
    // Every form carries the CSRF token; every input has a label.
    for f in forms(&page.body) {
        assert!(
            f.fields.iter().any(|(n, v)| n == "csrf" && v.len() >= 32),
            "{}",
            f.html
        );
    }
    for id in ["name", "username", "new-email"] {
        assert!(
            page.body.contains(&format!("<label for=\"{id}\"")),
            "label for {id}"
        );
    }
    assert!(!page.body.contains("role=\"alert\""), "no error, no alert");
    // A new account has no name or username: the fields are empty, not "none".
    assert!(
        !page.body.to_lowercase().contains("value=\"none\""),
        "{}",
        page.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_and_every_form_refuses_a_missing_or_wrong_csrf_token() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = sign_in_to_account(&sesame, &browser, ADA).await;

    // Missing and wrong tokens: a clear 403 page, and nothing changes.
    let values = [("name", "Mallory"), ("username", "mallory")];
    let missing = submit_form(&browser, &page, "username", &values, Some("csrf")).await;
    assert_eq!(missing.status, 403, "{}", missing.describe());
    assert!(missing.body.contains("This form has expired"));
    let wrong = [("name", "Mallory"), ("username", "mallory"), ("csrf", "x")];
    let wrong = submit_form(&browser, &page, "username", &wrong, None).await;
    assert_eq!(wrong.status, 403, "{}", wrong.describe());
    for (action, field) in [
        ("/account/sign-out-everywhere", None),
        ("/account/email", Some(("email", "m@example.com"))),
    ] {
        let mut form: Vec<(&str, &str)> = vec![("csrf", "wrong")];
        form.extend(field);
        let r = browser.post_form(&sesame.url(action), &form).await;
        assert_eq!(r.status, 403, "{action}: {}", r.describe());
    }
    let again = account(&sesame, &browser).await;
    assert_account_page(&again, ADA);
    assert!(!again.body.contains("mallory"), "nothing changed");

    // The real form: saved, then shown (Post/Redirect/Get).
    let values = [("name", "Ada Lovelace"), ("username", "ada.l")];
    let answer = submit_form(&browser, &again, "username", &values, None).await;
    let shown = followed(&sesame, &browser, answer).await;
    assert!(
        shown.url.as_str().ends_with("/account?notice=saved"),
        "{}",
        shown.url
    );
    assert!(
        shown.body.contains("value=\"Ada Lovelace\""),
        "{}",
        shown.describe()
    );
    assert!(shown.body.contains("value=\"ada.l\""));
    assert!(shown.body.contains("Your profile is saved."));

    // A bad username: said on the page, with role=alert, nothing saved.
    let values = [("name", "Ada"), ("username", "has space")];
    let answer = submit_form(&browser, &shown, "username", &values, None).await;
    let shown = followed(&sesame, &browser, answer).await;
    assert!(
        shown.body.contains("role=\"alert\""),
        "{}",
        shown.describe()
    );
    assert!(shown.body.contains("value=\"Ada Lovelace\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_an_app_kills_its_refresh_token() {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let signed = flow::full_sign_in(&sesame, &browser, &client, &app, ADA).await;
    let refresh_token = signed
        .tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .secret()
        .clone();

    let page = account(&sesame, &browser).await;
    assert_account_page(&page, ADA);
    assert!(
        page.body.contains("Bookstore"),
        "the app is listed: {}",
        page.describe()
    );
    let revoke = form_for(&page, "/account/apps/revoke", "client_id", &app.client_id);
    let shown = followed(&sesame, &browser, post(&browser, &page, &revoke).await).await;
    assert!(
        shown.body.contains("access is revoked"),
        "{}",
        shown.describe()
    );
    assert!(!shown.body.contains("Bookstore"), "no longer listed");

    let r = flow::refresh_raw(&sesame, &app, &refresh_token).await;
    flow::assert_oauth_error(&r, 400, "invalid_grant");
    let log = sesame.cli(&["audit", "--json"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("account.revoke_app"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ending_another_session_then_signing_out_everywhere() {
    let sesame = Sesame::start_default();
    let laptop = HttpClient::new();
    let phone = HttpClient::new();
    sign_in_to_account(&sesame, &laptop, ADA).await;
    sign_in_to_account(&sesame, &phone, ADA).await;
    let page = account(&sesame, &laptop).await;
    let ends: Vec<_> = forms(&page.body)
        .into_iter()
        .filter(|f| {
            f.action
                .as_deref()
                .is_some_and(|a| a.ends_with("/sessions/end"))
        })
        .collect();
    assert_eq!(ends.len(), 2, "two sessions: {}", page.describe());
    // The phone's is the one not marked as this browser.
    let other = ends
        .iter()
        .find(|f| !f.html.contains("this browser"))
        .expect("the other session's form");
    let shown = followed(&sesame, &laptop, post(&laptop, &page, other).await).await;
    assert!(
        shown.body.contains("That session is signed out."),
        "{}",
        shown.describe()
    );
    let phone_page = account(&sesame, &phone).await;
    assert_eq!(phone_page.status, 303, "the phone must sign in again");
    assert!(phone_page
        .header("location")
        .unwrap_or("")
        .contains("/sign-in?interaction="));
    assert_account_page(&account(&sesame, &laptop).await, ADA);

    // Everywhere: this browser too.
    let everywhere = form_for(
        &shown,
        "/account/sign-out-everywhere",
        "csrf",
        &shown.expect_input("csrf"),
    );
    let answer = post(&laptop, &shown, &everywhere).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    assert!(
        laptop.cookie("sesame_session").is_none(),
        "the cookie is cleared"
    );
    let after = account(&sesame, &laptop).await;
    assert_eq!(after.status, 303, "signed out: {}", after.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_email_changes_only_with_the_code_sent_to_the_new_address() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = sign_in_to_account(&sesame, &browser, ADA).await;
    const NEW: &str = "ada@new.example";
    let answer = submit_form(&browser, &page, "email", &[("email", NEW)], None).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let code_page = browser.follow_within(answer, &sesame.issuer).await;
    assert!(
        code_page.status == 200 && code_page.body.contains(NEW),
        "{}",
        code_page.describe()
    );
    let code = sesame.next_code_for(NEW).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // A wrong code: the page says so, the address stays.
    let answer = flow::submit_code(&browser, &code_page, wrong).await;
    let again = followed(&sesame, &browser, answer).await;
    assert!(
        again.body.contains("That code is not right"),
        "{}",
        again.describe()
    );
    assert!(again.body.contains("role=\"alert\""));
    assert_account_page(&account(&sesame, &browser).await, ADA);

    // A wrong CSRF token with the right code: refused, nothing changes.
    let forged = [("code", code.as_str()), ("csrf", "forged")];
    let r = submit_form(&browser, &again, "code", &forged, None).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    assert_account_page(&account(&sesame, &browser).await, ADA);

    // The right code: changed, and audited.
    let answer = flow::submit_code(&browser, &again, &code).await;
    let shown = followed(&sesame, &browser, answer).await;
    assert_account_page(&shown, NEW);
    assert!(shown.body.contains("Your email address is changed."));
    let log = sesame.cli(&["audit", "--json"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("account.email") && log.contains(NEW), "{log}");

    // The new address signs in to the same account (no second one is made).
    let other = HttpClient::new();
    sign_in_to_account(&sesame, &other, NEW).await;
    let users = sesame.cli(&["user", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_slice(&users.stdout).expect("user list JSON");
    let items = users["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{users}");
    assert_eq!(items[0]["email"], NEW);
    assert_eq!(items[0]["email_verified"], true);
}

/// The setup link sesame printed at start, if any.
fn setup_link(sesame: &Sesame) -> Option<String> {
    let logs = sesame.logs();
    let at = logs.find("/setup?token=")?;
    let start = logs[..at].rfind("http")?;
    let end = logs[at..]
        .find(|c: char| c.is_whitespace() || c == '"')
        .map_or(logs.len(), |e| at + e);
    Some(logs[start..end].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_the_setup_link_makes_the_first_admin_once() {
    // Sign-up by invitation (the default): the setup link admits its one person anyway.
    let sesame = Sesame::start(support::SesameOpts {
        env: vec![("SESAME_SIGN_UP_MODE".into(), "invite".into())],
        ..Default::default()
    });
    let link = setup_link(&sesame).unwrap_or_else(|| panic!("no setup link:\n{}", sesame.logs()));
    let browser = HttpClient::new();
    let page = browser.get_following(&link, &sesame.issuer).await;
    flow::assert_email_page(&page);
    let code_page = flow::submit_email(&sesame, &browser, &page, ADA).await;
    let code = sesame.next_code_for(ADA).await;
    let answer = flow::submit_code(&browser, &code_page, &code).await;
    // The new administrator lands in the console.
    let shown = followed(&sesame, &browser, answer).await;
    assert_eq!(shown.status, 200, "{}", shown.describe());
    assert!(
        shown.url.path().starts_with("/console"),
        "{}",
        shown.describe()
    );
    assert!(shown.body.contains(ADA), "{}", shown.describe());
    let user = sesame.cli(&["user", "show", ADA, "--json"]);
    let user: serde_json::Value = serde_json::from_slice(&user.stdout).expect("user JSON");
    assert_eq!(user["groups"], serde_json::json!(["admins"]), "{user}");
    let out = sesame.cli(&["audit", "--kind", "setup.first_admin", "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("audit JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(1), "{log}");

    // Once only: the same link again (another browser) is refused with a page.
    let again = HttpClient::new().get(&link).await;
    assert_eq!(again.status, 404, "{}", again.describe());
    assert!(again.body.contains("This setup link does not work"));

    // With an admin, a restart prints no link.
    let mut sesame = sesame;
    sesame.restart();
    let logs = sesame.logs();
    assert_eq!(logs.matches("listening on").count(), 2, "{logs}");
    assert_eq!(logs.matches("/setup?token=").count(), 1, "{logs}");
}
