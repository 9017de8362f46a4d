//! Two-step verification on the account page, end to end: a real `sesame serve`, a real SMTP
//! server for the sign-in code, and a browser-like client on a socket. Signed in by email
//! code, the browser sets up an authenticator app with a code the test computes from the key
//! the page shows (RFC 6238, the crate's own `crypto::totp`), sees its recovery codes once,
//! makes new ones, removes the app; the administrator lists and resets a user's factors with
//! the CLI. Every new form refuses a missing or wrong CSRF token.
//!
//! Run: `cargo test --test totp` (needs python3 with aiosmtpd).

mod support;

use sesame::crypto::totp::{base32_decode, code_at, step_of, DIGITS};
use support::flow;
use support::html::forms;
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";

/// The current code of the base32 `secret`, as an authenticator app shows it now.
fn code_now(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    code_at(
        &base32_decode(secret).expect("a base32 key"),
        step_of(now),
        DIGITS,
    )
}

/// Posts the form on `page` whose action ends with `action`, with `extra` fields, and
/// follows its redirect.
async fn submit(
    sesame: &Sesame,
    browser: &HttpClient,
    page: &Response,
    action: &str,
    extra: &[(&str, &str)],
) -> Response {
    let f = forms(&page.body)
        .into_iter()
        .find(|f| f.action.as_deref().is_some_and(|a| a.ends_with(action)))
        .unwrap_or_else(|| panic!("no {action} form: {}", page.describe()));
    let target = page.url.join(f.action.as_deref().unwrap_or("")).unwrap();
    let mut pairs: Vec<(&str, &str)> = f
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend_from_slice(extra);
    let answer = browser.post_form(target.as_str(), &pairs).await;
    assert_eq!(answer.status, 303, "{action}: {}", answer.describe());
    browser.follow_within(answer, &sesame.issuer).await
}

/// The recovery codes on their page (shown once).
fn recovery_codes(page: &Response) -> Vec<String> {
    (1..=10)
        .map(|n| {
            page.code_with_id(&format!("recovery-code-{n}"))
                .unwrap_or_else(|| panic!("recovery code {n}: {}", page.describe()))
        })
        .collect()
}

/// Sets up an authenticator app from `account` (the account page); returns the key and the
/// page the right code leads to.
async fn set_up_app(
    sesame: &Sesame,
    browser: &HttpClient,
    account: &Response,
) -> (String, Response) {
    let setup = submit(sesame, browser, account, "/totp/begin", &[]).await;
    assert!(
        setup.url.path().ends_with("/account/totp"),
        "{}",
        setup.describe()
    );
    assert!(
        setup
            .body
            .contains(r#"<svg class="qr" role="img" aria-label="#),
        "an inline, labelled QR code: {}",
        setup.describe()
    );
    let secret = setup.code_with_id("totp-secret").expect("the key as text");
    assert_eq!(base32_decode(&secret).map(|k| k.len()), Some(20));

    // A wrong code: back to the same setup, saying what to do.
    let wrong = submit(
        sesame,
        browser,
        &setup,
        "/totp/confirm",
        &[("code", "12345x")],
    )
    .await;
    assert!(
        wrong.url.path().ends_with("/account/totp"),
        "{}",
        wrong.describe()
    );
    assert!(wrong.body.contains("role=\"alert\"") && wrong.body.contains("not right"));
    assert_eq!(
        wrong.code_with_id("totp-secret"),
        Some(secret.clone()),
        "the same key"
    );

    let done = submit(
        sesame,
        browser,
        &wrong,
        "/totp/confirm",
        &[("code", &code_now(&secret))],
    )
    .await;
    (secret, done)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_sets_up_an_authenticator_app_recovery_codes_and_removes_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let account = flow::sign_in_at(&sesame, &browser, "/account", ADA).await;
    assert!(
        account.body.contains("Two-step verification"),
        "{}",
        account.describe()
    );
    assert!(account.body.contains("No authenticator app is set up."));
    assert!(account.body.contains("0 unused recovery codes."));

    let (_, codes_page) = set_up_app(&sesame, &browser, &account).await;
    assert!(
        codes_page.url.path().ends_with("/account/recovery-codes"),
        "{}",
        codes_page.describe()
    );
    assert_eq!(codes_page.header("cache-control"), Some("no-store"));
    let first = recovery_codes(&codes_page);
    for c in &first {
        assert_eq!(c.len(), 14, "XXXX-XXXX-XXXX: {c}");
    }
    // Shown once: again, and the account page says they were.
    let again = browser
        .get_following(&sesame.url("/account/recovery-codes"), &sesame.issuer)
        .await;
    assert!(
        again.url.path().ends_with("/account"),
        "{}",
        again.describe()
    );
    assert!(
        again.body.contains("shown once already"),
        "{}",
        again.describe()
    );
    assert!(!again.body.contains(&first[0]));
    assert!(again.body.contains("An authenticator app is set up."));
    assert!(again.body.contains("10 unused recovery codes."));

    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    assert_eq!(factors["totp"], "confirmed", "{factors}");
    assert_eq!(factors["recovery_codes"], 10, "{factors}");

    // New codes replace the old.
    let fresh = submit(&sesame, &browser, &again, "/recovery-codes", &[]).await;
    let second = recovery_codes(&fresh);
    assert!(
        second.iter().all(|c| !first.contains(c)),
        "{first:?} {second:?}"
    );

    let account = browser.get(&sesame.url("/account")).await;
    let removed = submit(&sesame, &browser, &account, "/totp/remove", &[]).await;
    assert!(
        removed.body.contains("Your authenticator app is removed"),
        "{}",
        removed.describe()
    );
    assert!(removed.body.contains("No authenticator app is set up."));
    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    assert_eq!(
        (factors["totp"].as_str(), factors["recovery_codes"].as_u64()),
        (Some("none"), Some(10))
    );

    // A second app: the user has codes, so none are made; back to the account page.
    let (_, done) = set_up_app(&sesame, &browser, &removed).await;
    assert!(
        done.body.contains("Your authenticator app is set up"),
        "{}",
        done.describe()
    );

    // The administrator resets it (a lost phone).
    let reset = sesame.cli_json(&["user", "reset-factors", ADA, "--json"]);
    assert_eq!(reset["totp_removed"], true, "{reset}");
    assert_eq!(reset["recovery_codes_removed"], 10, "{reset}");
    let out = sesame.cli(&["user", "factors", ADA]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("authenticator app: none") && text.contains("0 unused"),
        "{text}"
    );
    let account = browser.get(&sesame.url("/account")).await;
    assert!(account.body.contains("No authenticator app is set up."));
    let audit = sesame.cli_json(&["audit", "--kind", "user.reset-factors", "--json"]);
    assert!(
        audit.to_string().contains("recovery_codes_removed"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_two_step_form_refuses_a_missing_or_wrong_csrf_token() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    flow::sign_in_at(&sesame, &browser, "/account", ADA).await;
    for path in [
        "/account/totp/begin",
        "/account/totp/confirm",
        "/account/totp/remove",
        "/account/recovery-codes",
    ] {
        sesame
            .assert_csrf_refused(&browser, path, &[("code", "123456")])
            .await;
    }
    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    assert_eq!(factors["totp"], "none", "nothing changed: {factors}");
    // Without a session, the setup page asks to sign in; nothing to show.
    let stranger = HttpClient::new();
    let page = stranger
        .get_following(&sesame.url("/account/totp"), &sesame.issuer)
        .await;
    flow::assert_email_page(&page);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_lists_and_removes_a_users_passkeys_with_the_cli() {
    let mut sesame = Sesame::start_default();
    let ada = sesame.cli_json(&["user", "add", ADA, "--json"]);
    let id = ada["id"].as_str().unwrap().to_string();
    sesame.put_passkey(&id, "bGFwdG9w", "Laptop");
    sesame.put_passkey(&id, "cGhvbmU", "Phone");

    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    let listed = factors["passkeys"].as_array().expect("a list").clone();
    assert_eq!(listed.len(), 2, "{factors}");
    assert!(
        !factors.to_string().contains("bm90LWEta2V5"),
        "never the key"
    );
    let out = sesame.cli(&["user", "factors", ADA]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("passkeys:          2")
            && text.contains(
                "cGhvbmU  \"Phone\"  ES256, synced  added 2027-01-15 08:00:00Z  last used never"
            ),
        "{text}"
    );

    // An unknown credential: an error naming it, and nothing removed.
    let out = sesame.cli(&["user", "remove-passkey", ADA, "bm9wZQ"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("bm9wZQ") && said.contains(ADA), "{said}");

    let out = sesame.cli(&["user", "remove-passkey", ADA, "cGhvbmU"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Removed the passkey \"Phone\" (cGhvbmU) of ada@example.com"),
        "{text}"
    );
    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    assert_eq!(
        factors["passkeys"][0]["credential_id"], "bGFwdG9w",
        "{factors}"
    );
    assert_eq!(factors["passkeys"].as_array().unwrap().len(), 1);
    let audit = sesame.cli_json(&["audit", "--kind", "user.remove-passkey", "--json"]);
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"]["type"], "cli", "{audit}");
    assert!(entries[0].to_string().contains("cGhvbmU"), "{audit}");

    // A user who lost every device: the reset removes the rest and says so.
    let out = sesame.cli(&["user", "reset-factors", ADA]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 unused recovery code(s) and 1 passkey(s) removed"),
        "{text}"
    );
    let factors = sesame.cli_json(&["user", "factors", ADA, "--json"]);
    assert_eq!(factors["passkeys"], serde_json::json!([]));
}
