//! Passkeys and second factors in a real browser: headless Chromium (over WebDriver) with
//! chromedriver's virtual authenticator (WebDriver's WebAuthn extension: a platform
//! authenticator that keeps discoverable credentials and verifies its user), a real
//! `sesame serve` on a socket, a real SMTP server for the email codes, and an app's callback
//! on a socket whose codes are exchanged and whose ID tokens are validated.
//!
//! Passkeys need a domain name (an IP address cannot be a WebAuthn relying party ID): sesame's
//! issuer here is `http://localhost:PORT`, a secure context for WebAuthn in Chromium (sesame
//! still listens on 127.0.0.1).
//!
//! Run: `cargo test --test passkeys` (needs chromium, chromium-driver, python3 with aiosmtpd).

mod support;

use serde_json::{json, Value};
use support::a11y::Checker;
use support::flow::{self, AuthStart, OidcClient};
use support::http::query_param;
use support::webdriver::{Browser, CallbackServer, ChromeDriver};
use support::{AppCreds, AppSpec, Sesame, SesameOpts};

const ADA: &str = "ada@example.com";

/// sesame at `http://localhost:PORT`.
fn start() -> Sesame {
    Sesame::start(SesameOpts {
        issuer_host: Some("localhost".into()),
        ..Default::default()
    })
}

/// An app with its callback, and an `openidconnect` client for it.
struct App {
    creds: AppCreds,
    client: OidcClient,
}

async fn app(sesame: &Sesame, callback: &CallbackServer, name: &str, path: &str) -> App {
    let creds = sesame.create_app(&AppSpec::new(name, &callback.url(path)));
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &creds);
    App { creds, client }
}

/// Opens the app's authorization URL in the browser; returns what the app remembers.
async fn begin(browser: &Browser, app: &App) -> AuthStart {
    let start = flow::authorize(&app.client, flow::SCOPES, true, None);
    browser.goto(start.url.as_str()).await;
    start
}

/// Waits for the browser to land on the app's callback for `start`, exchanges the code and
/// validates the ID token; returns its raw claims (for `amr` and `acr`).
async fn landed(browser: &Browser, app: &App, start: AuthStart) -> Value {
    let state = start.state.secret().clone();
    let url = browser
        .wait_for_url("the app's callback", |u| {
            u.starts_with(&app.creds.redirect_uri) && u.contains(&state)
        })
        .await;
    let url = url::Url::parse(&url).expect("callback URL");
    let code = query_param(&url, "code").unwrap_or_else(|| panic!("no code: {url}"));
    let tokens = flow::exchange(&app.client, &code, start.pkce_verifier).await;
    flow::validate_id_token(&app.client, &tokens, Some(&start.nonce));
    use openidconnect::TokenResponse;
    let jwt = tokens.id_token().expect("an ID token").to_string();
    flow::jwt_payload(&jwt)
}

fn amr(claims: &Value) -> Vec<String> {
    claims["amr"]
        .as_array()
        .unwrap_or_else(|| panic!("no amr: {claims}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// A passkey that verified its user: `hwk` or `swk` (the virtual authenticator's are not
/// backed up: `hwk`), `user`, `mfa`, and the two-factor `acr`.
fn assert_passkey_with_uv(claims: &Value) {
    let amr = amr(claims);
    assert!(
        amr.iter().any(|v| v == "hwk" || v == "swk"),
        "a passkey: {amr:?}"
    );
    assert!(amr.contains(&"user".to_string()), "verified: {amr:?}");
    assert!(amr.contains(&"mfa".to_string()), "two factors: {amr:?}");
    assert!(!amr.contains(&"otp".to_string()), "no email code: {amr:?}");
    assert_eq!(claims["acr"], "urn:sesame:mfa", "{claims}");
}

/// The text of the first element matching `css`.
async fn text(browser: &Browser, css: &str) -> String {
    let e = browser.find(css).await;
    browser
        .property(&e, "textContent")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the page's script has filled `platform_authenticator` (it asks the browser
/// asynchronously).
async fn platform_answer(browser: &Browser) -> String {
    for _ in 0..100 {
        let v = browser
            .execute(
                "var i = document.querySelector('input[name=platform_authenticator]'); return i ? i.value : null;",
                json!([]),
            )
            .await;
        if v.as_str().is_some_and(|s| !s.is_empty()) {
            return v.as_str().unwrap_or_default().to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    String::new()
}

/// The page the browser shows is checked as tests/pages.rs checks every page: axe-core at
/// desktop and phone size and in dark mode (with screenshots), and the strict headers (a CSP
/// whose only script is sesame's own files, `frame-ancestors 'none'`, `no-referrer`), read by
/// fetching the page again from itself (GET: nothing changes).
async fn check_page(checker: &mut Checker, browser: &Browser, name: &str) {
    let got = browser
        .execute_async(
            "var done = arguments[arguments.length - 1];
             fetch(location.href, { credentials: 'same-origin' }).then(function (r) {
               done({ status: r.status, csp: r.headers.get('content-security-policy'),
                      referrer: r.headers.get('referrer-policy') });
             }, function (e) { done({ error: String(e) }); });",
            json!([]),
        )
        .await;
    assert_eq!(got["status"], 200, "{name}: {got}");
    let csp = got["csp"].as_str().unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && !csp.contains("unsafe-eval")
            && csp.contains("frame-ancestors 'none'"),
        "{name}: {csp}"
    );
    assert_eq!(got["referrer"], "no-referrer", "{name}: {got}");
    checker.check(browser, name).await;
}

/// Signs out with the account page's "Sign out everywhere" (every session of the user ends).
async fn sign_out(sesame: &Sesame, browser: &Browser) {
    browser.goto(&sesame.url("/account")).await;
    browser
        .click(
            &browser
                .find("form[action$='/sign-out-everywhere'] button")
                .await,
        )
        .await;
    let root = sesame.url("/");
    browser
        .wait_for_url("the signed-out page", |u| u == root)
        .await;
    // The account page asks for a sign-in again (without autofill, which would sign in at
    // once: the virtual authenticator answers without a person).
    let no_autofill = without_autofill(browser).await;
    browser.goto(&sesame.url("/account")).await;
    browser
        .wait_for_url("the sign-in page", |u| u.contains("/sign-in"))
        .await;
    with_autofill(browser, &no_autofill).await;
}

/// The whole journey of issue 11 in one browser: a passkey offered after the email code and
/// added, sign-out, a sign-in with the passkey alone, the autofill's conditional request, the
/// account page's removal (then the passkey is refused, saying so) and adding one there again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_added_used_and_removed_in_chromium() {
    let sesame = start();
    let callback = CallbackServer::start().await;
    let bookstore = app(&sesame, &callback, "Bookstore", "/callback").await;
    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    let authenticator = browser.add_virtual_authenticator().await;

    // 1. The email page offers a passkey and, with a platform authenticator, says so.
    let start = begin(&browser, &bookstore).await;
    let email = browser.find("input[type=email][name=email]").await;
    assert_eq!(
        browser.attribute(&email, "autocomplete").await.as_deref(),
        Some("username webauthn")
    );
    let button = browser.find("form.passkey .passkey-start").await;
    assert!(browser.displayed(&button).await, "the script shows it");
    assert_eq!(platform_answer(&browser).await, "1");
    let mut checker = Checker::load();
    check_page(&mut checker, &browser, "sign-in-email-passkeys").await;

    // An email code, then the one-time offer.
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the passkey offer", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Sign in faster next time");
    check_page(&mut checker, &browser, "sign-in-passkey-offer").await;
    let add = browser.find("form.passkey .passkey-start").await;
    assert!(browser.displayed(&add).await);
    browser.click(&add).await;
    let claims = landed(&browser, &bookstore, start).await;
    assert_eq!(amr(&claims), ["otp"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:1fa");
    let held = browser.virtual_credentials(&authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost", "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true, "{held:?}");

    // The account page lists it.
    browser.goto(&sesame.url("/account")).await;
    assert!(
        browser.source().await.contains("not used yet"),
        "the new passkey on the account page"
    );
    check_page(&mut checker, &browser, "account-passkeys").await;

    // 2. Sign out.
    sign_out(&sesame, &browser).await;

    // 3. The passkey alone, with the button (in a browser without autofill of passkeys: with
    // it, the autofill's request below would answer first): no mail, two factors.
    let mails = sesame.smtp.message_count();
    let no_autofill = without_autofill(&browser).await;
    let start = begin(&browser, &bookstore).await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let claims = landed(&browser, &bookstore, start).await;
    assert_passkey_with_uv(&claims);
    assert_eq!(sesame.smtp.message_count(), mails, "no email code was sent");
    let held = browser.virtual_credentials(&authenticator).await;
    assert!(held[0]["signCount"].as_u64() > Some(0), "{held:?}");

    // 4. Autofill (conditional mediation).
    sign_out(&sesame, &browser).await;
    with_autofill(&browser, &no_autofill).await;
    autofill(&browser, &bookstore).await;
    assert_eq!(sesame.smtp.message_count(), mails, "no email code was sent");

    // 6. Removing it on the account page (the sign-in above is fresh)...
    browser.goto(&sesame.url("/account")).await;
    browser
        .click(
            &browser
                .find("form[action$='/passkeys/remove'] button")
                .await,
        )
        .await;
    browser
        .wait_for_url("the account page", |u| u.contains("notice=passkey_removed"))
        .await;
    assert!(browser.source().await.contains("You have no passkeys yet."));
    sign_out(&sesame, &browser).await;

    // ...after which the authenticator's copy is refused, saying why and what to do (with the
    // button: the virtual authenticator would answer each new autofill request at once).
    let no_autofill = without_autofill(&browser).await;
    let _start = begin(&browser, &bookstore).await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let alert = browser.find("[role=alert]").await;
    let said = browser
        .property(&alert, "textContent")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.starts_with("This passkey is not registered here") && said.contains("your email"),
        "{said}"
    );
    assert!(
        browser.current_url().await.contains("/sign-in"),
        "still signing in"
    );
    let email = browser.find("input[type=email][name=email]").await;
    assert_eq!(
        browser.attribute(&email, "aria-invalid").await,
        None,
        "the address was not wrong"
    );

    // 1b. Adding one on the account page (after a fresh sign-in by email code; still without
    // autofill, whose request the virtual authenticator would answer with the removed passkey
    // on every load of the email page).
    browser.goto(&sesame.url("/account")).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the account page", |u| u.contains("/account"))
        .await;
    let name = browser.find("#pk-new-name").await;
    browser.send_keys(&name, "Test laptop").await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    browser
        .wait_for_url("the account page", |u| u.contains("notice=passkey_added"))
        .await;
    assert!(browser.source().await.contains("Test laptop"));

    with_autofill(&browser, &no_autofill).await;
    browser.quit().await;
    checker.assert_clean();
}

/// Makes the browser one without autofill of passkeys (conditional mediation) from the next
/// page on, as older browsers are: `isConditionalMediationAvailable()` says no. Returns the
/// DevTools script's identifier, for [`with_autofill`].
async fn without_autofill(browser: &Browser) -> String {
    let added = browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({
                "source": "PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };"
            }),
        )
        .await;
    added["identifier"]
        .as_str()
        .expect("a script identifier")
        .to_string()
}

/// Undoes [`without_autofill`] from the next page on.
async fn with_autofill(browser: &Browser, identifier: &str) {
    browser
        .cdp(
            "Page.removeScriptToEvaluateOnNewDocument",
            json!({ "identifier": identifier }),
        )
        .await;
}

/// Step 4: the email page starts a conditional request as it loads (autofill: the passkey is
/// offered in the email field's suggestions). With a real person, the browser answers it when
/// they pick the passkey there; Chromium's virtual authenticator answers it at once, as if
/// they had, so the page signs in without a click. What this cannot show is the suggestion
/// menu itself (browser UI, outside the page and WebDriver's reach).
async fn autofill(browser: &Browser, app: &App) {
    let start = begin(browser, app).await;
    let claims = landed(browser, app, start).await;
    assert_passkey_with_uv(&claims);
}

/// The second-factor policy: an app that requires two. A user without a second factor sets
/// up a passkey at the second step; then an email code and the passkey; the passkey alone
/// (it verified its user: two factors at once); and a passkey that did not verify its user,
/// which alone is refused (the user has no other factor: the email code first), and after an
/// email code passes the second step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_the_second_step_of_an_app_that_requires_two() {
    let sesame = start();
    let callback = CallbackServer::start().await;
    let vault = app(&sesame, &callback, "Vault", "/vault").await;
    require_two(&sesame, &vault);
    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    let authenticator = browser.add_virtual_authenticator().await;
    // The email code path is what this test drives: autofill would answer first.
    let _no_autofill = without_autofill(&browser).await;

    // No second factor yet: the second step sets one up.
    let start = begin(&browser, &vault).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Set up a second step");
    let mut checker = Checker::load();
    check_page(&mut checker, &browser, "sign-in-second-enrol").await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "hwk", "mfa"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:mfa");
    assert_eq!(browser.virtual_credentials(&authenticator).await.len(), 1);
    sign_out(&sesame, &browser).await;

    // An email code, then "Use your passkey".
    let start = begin(&browser, &vault).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Confirm it's you");
    check_page(&mut checker, &browser, "sign-in-second-passkey").await;
    let use_it = browser.find("form.passkey .passkey-start").await;
    assert_eq!(
        browser.property(&use_it, "textContent").await,
        "Use your passkey"
    );
    browser.click(&use_it).await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "hwk", "user", "mfa"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:mfa");
    sign_out(&sesame, &browser).await;

    // The passkey alone: it verified its user, so it is both factors.
    let start = begin(&browser, &vault).await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    assert_passkey_with_uv(&landed(&browser, &vault, start).await);
    sign_out(&sesame, &browser).await;

    // The same passkey, its user not verified (the authenticator's answer says UV=0, signed
    // as such: DevTools' override of the virtual authenticator's flags; Chromium itself does
    // not use an authenticator that cannot verify its user for a sign-in without an email
    // address): one factor.
    browser
        .cdp(
            "WebAuthn.setResponseOverrideBits",
            json!({ "authenticatorId": authenticator, "isBadUV": true }),
        )
        .await;

    // After an email code, it passes the second step: two factors.
    let start = begin(&browser, &vault).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "hwk", "mfa"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:mfa");
    sign_out(&sesame, &browser).await;

    // Alone, it is refused, saying what to do (the user has no other second factor).
    let _start = begin(&browser, &vault).await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let said = match browser.try_find("[role=alert]").await {
        Ok(e) => browser
            .property(&e, "textContent")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string(),
        Err(e) => panic!(
            "no alert ({e}); the passkey's status says {:?}",
            text(&browser, ".passkey-status").await
        ),
    };
    assert!(
        said.contains("two steps") && said.contains("email address for a code"),
        "{said}"
    );

    // Alone for an app that asks for one factor, it signs in as one (amr hwk, acr 1fa)...
    let bookstore = app(&sesame, &callback, "Bookstore", "/callback").await;
    let start = begin(&browser, &bookstore).await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let claims = landed(&browser, &bookstore, start).await;
    assert_eq!(amr(&claims), ["hwk"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:1fa");
    // ...and the app that requires two then asks for the email code first (that passkey
    // cannot be the second factor of its own sign-in), then takes the passkey.
    let start = begin(&browser, &vault).await;
    browser
        .wait_for_url("the email page", |u| u.contains("/sign-in?"))
        .await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    browser
        .click(&browser.find("form.passkey .passkey-start").await)
        .await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "hwk", "mfa"], "{claims}");

    browser.quit().await;
    checker.assert_clean();
}

/// `second_factor = "required"` on the app.
fn require_two(sesame: &Sesame, app: &App) {
    let out = sesame.cli(&[
        "app",
        "update",
        &app.creds.client_id,
        "--second-factor",
        "required",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The current code of the base32 `secret` and its time step, as an authenticator app shows it.
fn totp_now(secret: &str) -> (String, u64) {
    use sesame::crypto::totp::{base32_decode, code_at, step_of, DIGITS};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let key = base32_decode(secret).expect("a base32 key");
    (code_at(&key, step_of(now), DIGITS), step_of(now))
}

/// Without JavaScript: the passkey parts stay hidden (the email page's button, the second
/// step's), and an app that requires two factors is still reached with an authenticator app,
/// set up at the second step and then used there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_the_second_step_takes_an_authenticator_app() {
    let sesame = start();
    let callback = CallbackServer::start().await;
    let vault = app(&sesame, &callback, "Vault", "/vault").await;
    require_two(&sesame, &vault);
    let driver = ChromeDriver::start();

    // Set up at the second step, without script.
    let browser = driver.new_session_without_javascript().await;
    let start = begin(&browser, &vault).await;
    let passkey = browser.find("form.passkey").await;
    assert!(!browser.displayed(&passkey).await, "no passkey button");
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Set up a second step");
    let passkey = browser.find("form.passkey").await;
    assert!(!browser.displayed(&passkey).await, "no passkey button");
    assert!(
        text(&browser, "noscript p")
            .await
            .contains("Adding a passkey needs JavaScript"),
        "the page says why there is no passkey"
    );
    let secret = text(&browser, "#totp-secret").await;
    let (code, step) = totp_now(&secret);
    browser
        .send_keys(&browser.find("#setup-code").await, &code)
        .await;
    browser
        .click(
            &browser
                .find("form[action$='/sign-in/second/totp'] button[type=submit]")
                .await,
        )
        .await;
    browser
        .wait_for_url("the recovery codes", |u| u.contains("/sign-in/second/totp"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Save your recovery codes");
    browser.click(&browser.find("a.button").await).await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "mfa"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:mfa");
    browser.quit().await;

    // A passkey too, from a browser with script: the offer after an email code on the
    // account page's sign-in.
    let with_script = driver.new_session().await;
    let authenticator = with_script.add_virtual_authenticator().await;
    let _no_autofill = without_autofill(&with_script).await;
    with_script.goto(&sesame.url("/account")).await;
    with_script.sign_in_by_code(&sesame, ADA).await;
    with_script
        .wait_for_url("the passkey offer", |u| u.contains("/sign-in/second"))
        .await;
    with_script
        .click(&with_script.find("form.passkey .passkey-start").await)
        .await;
    with_script
        .wait_for_url("the account page", |u| u.ends_with("/account"))
        .await;
    assert!(with_script.source().await.contains("not used yet"));

    // Without script again: the second step's passkey is hidden, the app's code works (the
    // next one: each code passes once).
    let browser = driver.new_session_without_javascript().await;
    let start = begin(&browser, &vault).await;
    browser.sign_in_by_code(&sesame, ADA).await;
    browser
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&browser, "h1").await, "Confirm it's you");
    let passkey = browser.find("form.passkey").await;
    assert!(!browser.displayed(&passkey).await, "no passkey button");
    let (code, step) = next_totp(&secret, step).await;
    enter_totp(&browser, &code).await;
    let claims = landed(&browser, &vault, start).await;
    assert_eq!(amr(&claims), ["otp", "mfa"], "{claims}");
    browser.quit().await;

    // With script, a passkey that did not verify its user alone: the second step takes the
    // app's code and does not offer that passkey again (the same passkey twice is one factor).
    with_script
        .cdp(
            "WebAuthn.setResponseOverrideBits",
            json!({ "authenticatorId": authenticator, "isBadUV": true }),
        )
        .await;
    sign_out(&sesame, &with_script).await;
    let start = begin(&with_script, &vault).await;
    with_script
        .click(&with_script.find("form.passkey .passkey-start").await)
        .await;
    with_script
        .wait_for_url("the second step", |u| u.contains("/sign-in/second"))
        .await;
    assert_eq!(text(&with_script, "h1").await, "Confirm it's you");
    with_script.find("#totp-code").await;
    assert!(
        with_script.try_find("form.passkey").await.is_err(),
        "the passkey is not offered again"
    );
    let (code, _) = next_totp(&secret, step).await;
    enter_totp(&with_script, &code).await;
    let claims = landed(&with_script, &vault, start).await;
    assert_eq!(amr(&claims), ["hwk", "otp", "mfa"], "{claims}");
    assert_eq!(claims["acr"], "urn:sesame:mfa");
    with_script.quit().await;
}

/// The first code of `secret` after time step `used` (each code passes once); waits for it.
async fn next_totp(secret: &str, used: u64) -> (String, u64) {
    loop {
        let (code, now) = totp_now(secret);
        if now > used {
            return (code, now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Types `code` into the second step's authenticator-code field and sends it.
async fn enter_totp(browser: &Browser, code: &str) {
    browser
        .send_keys(&browser.find("#totp-code").await, code)
        .await;
    browser
        .click(
            &browser
                .find("form:has(#totp-code) button[type=submit]")
                .await,
        )
        .await;
}
