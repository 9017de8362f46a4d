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

/// A 4×4 PNG in the test's accent colour: a real image Chromium decodes.
const LOGO_PNG: &str = "89504e470d0a1a0a0000000d4948445200000004000000040802000000269309290000001049444154789c63e0aab7812306e238003d430c519b86784d0000000049454e44ae426082";

/// The branding, Post/Redirect/Get and `prompt=select_account`, as a person meets them:
/// the root page, a local logo file beside the product name, the accent-coloured favicon, a
/// wrong code whose page survives a reload without posting again, and "continue as X".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_sees_the_branding_a_wrong_code_and_select_account() {
    let logo_dir = tempfile::tempdir().expect("tmp");
    let logo = logo_dir.path().join("logo.png");
    let bytes: Vec<u8> = (0..LOGO_PNG.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&LOGO_PNG[i..i + 2], 16).expect("hex"))
        .collect();
    std::fs::write(&logo, bytes).expect("logo");
    let env = |k: &str, v: &str| (k.to_string(), v.to_string());
    let sesame = Sesame::start(support::SesameOpts {
        env: vec![
            env("SESAME_BRANDING_PRODUCT_NAME", "Acme ID"),
            env("SESAME_BRANDING_ACCENT_COLOR", "#0a7f3c"),
            env(
                "SESAME_BRANDING_LOGO_FILE",
                logo.to_str().expect("utf-8 path"),
            ),
        ],
        ..Default::default()
    });
    let app_server = CallbackServer::start().await;
    let app = sesame.create_app(&AppSpec::new("Bookstore", &app_server.url("/callback")));
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);

    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;

    // The root page says what this is.
    browser.goto(&sesame.url("/")).await;
    assert!(browser.title().await.contains("Acme ID"));
    let h1 = browser.find("h1").await;
    assert_eq!(
        browser.property(&h1, "textContent").await.as_str(),
        Some("Acme ID")
    );
    assert!(browser
        .source()
        .await
        .contains("/.well-known/openid-configuration"));

    // The sign-in page: the logo file decoded, the name beside it, the favicon in the accent.
    let start = flow::authorize(&client, flow::SCOPES, true, None);
    browser.goto(start.url.as_str()).await;
    let img = browser.find("header.brand img.logo").await;
    assert_eq!(
        browser.property(&img, "naturalWidth").await.as_u64(),
        Some(4)
    );
    let name = browser.find("header.brand span").await;
    assert_eq!(
        browser.property(&name, "textContent").await.as_str(),
        Some("Acme ID")
    );
    let favicon = support::http::HttpClient::new()
        .get(&sesame.url("/static/favicon.svg"))
        .await;
    assert!(
        favicon.body.contains("fill=\"#0a7f3c\""),
        "{}",
        favicon.body
    );
    assert!(!favicon.body.contains("#5d34f2"));
    let served = support::http::HttpClient::new()
        .get(&sesame.url("/static/logo"))
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(served.content_type(), "image/png");
    assert!(served
        .header("content-security-policy")
        .is_some_and(|c| c.contains("sandbox") && c.contains("default-src 'none'")));

    let email = browser.find("input[type=email][name=email]").await;
    browser.send_keys(&email, ADA).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser
        .wait_for_url("the code page", |url| url.contains("/sign-in/code"))
        .await;
    let code = sesame.next_code_for(ADA).await;
    let wrong = format!(
        "{:06}",
        (code.parse::<u32>().expect("digits") + 1) % 1_000_000
    );

    // A wrong code: the message comes on a GET after a redirect, so a reload asks nothing
    // and counts no second try.
    browser
        .send_keys(&browser.find("input[name=code]").await, &wrong)
        .await;
    browser
        .click(
            &browser
                .find("form button[type=submit]:not([name=resend])")
                .await,
        )
        .await;
    let alert = browser.find("p[role=alert]").await;
    let said = browser.property(&alert, "textContent").await;
    assert!(
        said.as_str().is_some_and(|t| t.contains("4 tries left")),
        "{said}"
    );
    let after_post = browser.current_url().await;
    assert!(
        after_post.contains("/sign-in/code?interaction="),
        "{after_post}"
    );
    browser.goto(&after_post).await;
    let alert = browser.find("p[role=alert]").await;
    let said = browser.property(&alert, "textContent").await;
    assert!(
        said.as_str().is_some_and(|t| t.contains("4 tries left")),
        "a reload counted another try: {said}"
    );
    // Right after a send, resending waits: a countdown (countdown-N.css, no script), not an
    // error; the button is out of sight and out of reach until it ends.
    let wait = browser.find("#resend-wait").await;
    assert!(browser.displayed(&wait).await);
    assert_eq!(browser.attribute(&wait, "role").await, None, "not an alert");
    let resend = browser.find("button[name=resend]").await;
    assert!(
        !browser.displayed(&resend).await,
        "hidden while counting down"
    );

    browser
        .send_keys(&browser.find("input[name=code]").await, &code)
        .await;
    browser
        .click(
            &browser
                .find("form button[type=submit]:not([name=resend])")
                .await,
        )
        .await;
    browser
        .wait_for_url("the app's callback", |url| {
            url.starts_with(&app.redirect_uri) && url.contains(start.state.secret().as_str())
        })
        .await;

    // prompt=select_account: "signed in as ada — continue, or another account?".
    let again = flow::authorize(
        &client,
        flow::SCOPES,
        true,
        Some(openidconnect::core::CoreAuthPrompt::SelectAccount),
    );
    browser.goto(again.url.as_str()).await;
    browser
        .wait_for_url("the account choice", |url| {
            url.contains("/sign-in/continue")
        })
        .await;
    let source = browser.source().await;
    assert!(source.contains(ADA), "{source}");
    let other = browser.find("a[href*='/sign-in?interaction=']").await;
    assert_eq!(
        browser.property(&other, "textContent").await.as_str(),
        Some("Use another account")
    );
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    let landed = browser
        .wait_for_url("the app's callback (continue)", |url| {
            url.starts_with(&app.redirect_uri) && url.contains(again.state.secret().as_str())
        })
        .await;
    assert!(landed.contains("code="), "{landed}");
    assert_eq!(sesame.smtp.message_count(), 1, "continuing sends no code");
    browser.quit().await;
}

/// The account page in a real browser: opening it signs in first and comes back; the page
/// renders; the rename form saves and the page shows the new name after the redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renames_on_the_account_page() {
    let sesame = Sesame::start_default();
    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    browser.goto(&sesame.url("/account")).await;

    browser.sign_in_by_code(&sesame, ADA).await;
    let account = sesame.url("/account");
    browser
        .wait_for_url("the account page", |url| url == account)
        .await;
    assert!(browser.title().await.starts_with("Your account"));
    assert!(browser.source().await.contains(ADA));

    let body = browser.find("main").await;
    assert!(browser.displayed(&body).await);

    let name = browser.find("input#name").await;
    browser.send_keys(&name, "Ada Lovelace").await;
    let save = browser
        .find("form[action$='/account/profile'] button[type=submit]")
        .await;
    browser.click(&save).await;
    browser
        .wait_for_url("the saved page", |url| {
            url.ends_with("/account?notice=saved")
        })
        .await;
    let name = browser.find("input#name").await;
    assert_eq!(
        browser.property(&name, "value").await,
        serde_json::json!("Ada Lovelace"),
        "a new account has no name: the typed one is what was saved"
    );
    assert!(browser.source().await.contains("Your profile is saved."));
    browser.quit().await;
}

/// The device flow's person side in real Chromium (RFC 8628): a TV asks for codes over HTTP,
/// the person opens /device with no code, signs in with the mailed code, lands back on the
/// device page, types the user code in lower case without its dash, sees the app and clicks
/// Approve (no script: the pages work under the strict CSP); the TV's next poll gets tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_approves_a_device_sign_in() {
    let sesame = Sesame::start_default();
    let tv = sesame
        .create_app(&AppSpec::new("Living-room TV", "http://127.0.0.1:9/tv").app_type("native"));
    let out = sesame.cli(&["app", "update", &tv.client_id, "--device-flow"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let device = support::http::HttpClient::new();
    let started = device
        .post_form(
            &sesame.url("/device/code"),
            &[("client_id", &tv.client_id), ("scope", "openid email")],
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.describe());
    let started = started.json();
    let user_code = started["user_code"].as_str().unwrap().to_string();
    let device_code = started["device_code"].as_str().unwrap().to_string();

    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    browser
        .goto(started["verification_uri"].as_str().unwrap())
        .await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the device page", |url| url.ends_with("/device"))
        .await;
    let typed = user_code.replace('-', "").to_lowercase();
    browser
        .send_keys(&browser.find("input[name=user_code]").await, &typed)
        .await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser
        .wait_for_url("the confirmation", |url| url.contains("user_code="))
        .await;
    assert!(browser.displayed(&browser.find("#user-code").await).await);
    let source = browser.source().await;
    assert!(source.contains(&user_code), "the code as the TV shows it");
    assert!(source.contains("Living-room TV"), "{source}");
    browser.click(&browser.find("button#approve").await).await;
    browser
        .wait_for_url("the done page", |url| url.contains("done=approved"))
        .await;
    assert!(browser.source().await.contains("Device signed in"));
    browser.quit().await;

    let tokens = device
        .post_form(
            &sesame.url("/token"),
            &[
                ("client_id", &tv.client_id),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.describe());
    let tokens = tokens.json();
    let claims = flow::jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], ADA, "{claims}");
    assert_eq!(claims["aud"], tv.client_id.as_str(), "{claims}");
}
