//! A real browser signs in: headless Chromium (driven over WebDriver by chromedriver) opens the
//! authorization URL, types the email address into sesame's page, gets the code from the mail
//! the SMTP server received, types it, and lands on the app's callback with a code and state.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them); the
//! test fails, and says so, when they are missing.
//!
//! Run: `cargo test --test browser`.

mod support;

use support::flow;
use support::http::query_param;
use support::webdriver::{CallbackServer, ChromeDriver};
use support::{AppSpec, Sesame};

const ADA: &str = "ada@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_the_real_pages() {
    let sesame = Sesame::start_default();
    let app_server = CallbackServer::start().await;
    let app = sesame.create_app(&AppSpec::new("Bookstore", &app_server.url("/callback")));
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let start = flow::authorize(&client, flow::SCOPES, true, None);

    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    browser.goto(start.url.as_str()).await;

    // The email page.
    let email = browser.find("input[type=email][name=email]").await;
    assert_eq!(
        browser.attribute(&email, "autocomplete").await.as_deref(),
        Some("email")
    );
    assert!(
        browser.source().await.contains("Bookstore"),
        "the page names the app"
    );
    browser.send_keys(&email, ADA).await;
    let submit = browser.find("form button[type=submit]").await;
    browser.click(&submit).await;

    // The code page, with the code from the real mail.
    browser
        .wait_for_url("the code page", |url| url.contains("/sign-in/code"))
        .await;
    let code_input = browser.find("input[name=code]").await;
    assert_eq!(
        browser
            .attribute(&code_input, "autocomplete")
            .await
            .as_deref(),
        Some("one-time-code")
    );
    let code = sesame.next_code_for(ADA).await;
    browser.send_keys(&code_input, &code).await;
    let continue_button = browser
        .find("form button[type=submit]:not([name=resend])")
        .await;
    browser.click(&continue_button).await;

    // Back at the app, with code + state + iss.
    let callback_url = app_server.wait_for("/callback").await;
    let landed = browser
        .wait_for_url("the app's callback", |url| {
            url.starts_with(&app.redirect_uri)
        })
        .await;
    assert!(landed.contains("code="), "{landed}");
    assert_eq!(
        query_param(&callback_url, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(
        query_param(&callback_url, "iss").as_deref(),
        Some(sesame.issuer.as_str())
    );
    let code = query_param(&callback_url, "code").expect("code in the callback");

    // The app exchanges the code; the ID token validates.
    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADA));

    // Single sign-on in the same browser: straight back to the app, no page.
    let second = flow::authorize(&client, flow::SCOPES, true, None);
    browser.goto(second.url.as_str()).await;
    let landed = browser
        .wait_for_url("the app's callback (SSO)", |url| {
            url.starts_with(&app.redirect_uri) && url.contains(second.state.secret().as_str())
        })
        .await;
    assert!(landed.contains("code="), "{landed}");
    assert_eq!(sesame.smtp.message_count(), 1, "SSO sends no second code");

    browser.quit().await;
    // The callback listener saw the real requests, not just the URL bar.
    assert!(
        app_server.requests().len() >= 2,
        "{:?}",
        app_server.requests()
    );
}
