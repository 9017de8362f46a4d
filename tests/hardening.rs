//! The behaviour added after the security review, end to end: a real `sesame serve`, a real SMTP
//! server (STARTTLS + AUTH) receiving the codes, and clients that talk to sesame over sockets as
//! a browser or an app would.
//!
//! - the per-address code budget (10 an hour, reserved in a transaction, given back on a failed
//!   send) and the 60-second resend wait within one sign-in;
//! - several sign-ins in one browser, and the binding of a sign-in to its browser;
//! - logout CSRF: an `id_token_hint` signs out at once only when it is the signed-in user's own;
//! - bounded input: oversized authorization parameters, a request body that never arrives;
//! - protocol details: `max_age=0`, the bare userinfo challenge, no `null` claims.
//!
//! Run: `cargo test --test hardening` (needs python3 with aiosmtpd).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::CoreAuthPrompt;
use openidconnect::OAuth2TokenResponse;
use support::flow::{self, Callback, Metadata, OidcClient, SCOPES};
use support::html::find_form_with;
use support::http::{query_param, HttpClient, Response};
use support::{AppCreds, Sesame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";
const MALLORY: &str = "mallory@example.com";

/// Codes one address may be sent per hour (sesame's `CODES_PER_ADDRESS_PER_HOUR`).
const BUDGET: usize = 10;

/// One sesame with one confidential app ("Bookstore"), its relying party, and a browser.
struct World {
    sesame: Sesame,
    app: AppCreds,
    client: OidcClient,
    browser: HttpClient,
}

async fn world() -> World {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let meta: Metadata = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    World {
        sesame,
        app,
        client,
        browser: HttpClient::new(),
    }
}

impl World {
    /// Starts a new sign-in in `browser` (its own `/auth` request) and returns the email page.
    async fn email_page(&self, browser: &HttpClient) -> Response {
        let start = flow::authorize(&self.client, SCOPES, true, None);
        flow::open_email_page(&self.sesame, browser, start.url.as_str()).await
    }

    /// An authorization request with `prompt=none` in `browser`: where sesame sent it back.
    async fn prompt_none(&self, browser: &HttpClient) -> Callback {
        let start = flow::authorize(&self.client, SCOPES, true, Some(CoreAuthPrompt::None));
        let answer = browser
            .get_following(start.url.as_str(), &self.sesame.issuer)
            .await;
        let callback = flow::callback(&answer.expect_redirect());
        assert!(
            callback.url.as_str().starts_with(&self.app.redirect_uri),
            "prompt=none answers at the app's redirect URI: {}",
            callback.url
        );
        callback
    }

    /// The app's registered post-logout redirect URI.
    fn post_logout_uri(&self) -> String {
        self.app.json["post_logout_redirect_uris"][0]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.app.redirect_uri.replace("/callback", "/signed-out"))
    }

    /// `/session/end` with these parameters.
    fn end_session_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&self.sesame.url("/session/end")).expect("end-session URL");
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }
}

/// Posts `email` into the email form of `page`, without following the answer.
async fn post_email(browser: &HttpClient, page: &Response, email: &str) -> Response {
    flow::submit_form(browser, page, "email", &[("email", email)], None).await
}

/// The text of the page's announced error (`role="alert"`), if any.
fn alert_text(body: &str) -> Option<String> {
    let at = body.find("role=\"alert\"")?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find('<')?;
    Some(body[start..end].trim().to_string())
}

/// The number N in "... N minute(s) ..." in `text`.
fn minutes_to_wait(text: &str) -> Option<u64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).find_map(|w| {
        let unit = w[1].trim_end_matches(['.', ',', ')']).to_ascii_lowercase();
        if unit == "minute" || unit == "minutes" {
            w[0].parse().ok()
        } else {
            None
        }
    })
}

/// Posts `email` into the email form of `page` and follows sesame's redirect (a refused form
/// answers 303 back to its own page: Post/Redirect/Get).
async fn post_email_followed(w: &World, page: &Response, email: &str) -> Response {
    let answer = post_email(&w.browser, page, email).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    w.browser.follow_within(answer, &w.sesame.issuer).await
}

/// Asserts `answer` is the "too many codes" email page, reached by a redirect from the form
/// post: says why and how many minutes to wait (at most an hour).
fn assert_too_many_codes(answer: &Response) {
    assert_eq!(
        answer.status,
        200,
        "the address's budget is spent: the email page again, got {}",
        answer.describe()
    );
    flow::assert_email_page(answer);
    let text = alert_text(&answer.body).unwrap_or_else(|| answer.body.clone());
    assert!(
        text.to_ascii_lowercase().contains("too many codes"),
        "the page says too many codes were sent: {:?}\n{}",
        text,
        answer.describe()
    );
    let minutes = minutes_to_wait(&text).unwrap_or_else(|| {
        panic!(
            "the page says how many minutes to wait: {text:?}\n{}",
            answer.describe()
        )
    });
    assert!(
        (1..=60).contains(&minutes),
        "the wait is within the hour: {minutes} minutes in {text:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The per-address code budget and the resend wait
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ten_sign_ins_for_one_address_send_ten_codes_and_the_eleventh_waits() {
    let w = world().await;
    for n in 1..=BUDGET {
        // Half of them from another browser: the budget is per address, not per browser.
        let other = HttpClient::new();
        let browser = if n % 2 == 0 { &w.browser } else { &other };
        let page = w.email_page(browser).await;
        flow::submit_email(&w.sesame, browser, &page, ADA).await;
        w.sesame.next_code_for(ADA).await;
    }
    assert_eq!(w.sesame.smtp.message_count(), BUDGET);

    let page = w.email_page(&w.browser).await;
    let answer = post_email_followed(&w, &page, ADA).await;
    assert_too_many_codes(&answer);
    // sesame answers only after the SMTP server accepted a message, so an 11th would be on
    // disk by now.
    assert_eq!(
        w.sesame.smtp.message_count(),
        BUDGET,
        "no 11th code is sent to the address"
    );

    // Another address is not affected.
    flow::submit_email(&w.sesame, &w.browser, &page, GRACE).await;
    w.sesame.next_code_for(GRACE).await;
}

#[tokio::test]
async fn parallel_email_posts_for_one_address_never_exceed_the_budget() {
    const PARALLEL: usize = 15;
    let w = world().await;
    let browser = Arc::new(HttpClient::new());
    let mut pages = Vec::new();
    for _ in 0..PARALLEL {
        pages.push(w.email_page(&browser).await);
    }
    let mut posts = tokio::task::JoinSet::new();
    for page in pages {
        let browser = browser.clone();
        posts.spawn(async move { post_email(&browser, &page, ADA).await });
    }
    let mut sent = 0;
    let mut refused = 0;
    while let Some(answer) = posts.join_next().await {
        let answer = answer.expect("the POST task");
        let to = answer.location().map(|l| l.path().to_string());
        match (answer.status, to.as_deref()) {
            (303, Some("/sign-in/code")) => sent += 1,
            (303, Some("/sign-in")) => {
                let page = browser.follow_within(answer, &w.sesame.issuer).await;
                assert_too_many_codes(&page);
                refused += 1;
            }
            _ => panic!(
                "an email POST answers 303 to the code page (sent) or back to the email page (budget spent), got {}",
                answer.describe()
            ),
        }
    }
    // Every answer has come, and sesame answers after the SMTP server accepted the mail.
    let mails = w.sesame.smtp.message_count();
    assert!(
        mails <= BUDGET,
        "{PARALLEL} parallel posts sent {mails} mails to one address (budget {BUDGET})"
    );
    assert_eq!(sent, mails, "every 303 is one mail, and nothing else mails");
    assert_eq!(
        (sent, refused),
        (BUDGET, PARALLEL - BUDGET),
        "exactly the budget is sent, the rest refused"
    );
}

#[tokio::test]
async fn a_resend_within_a_minute_sends_nothing_but_a_corrected_address_gets_a_code() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    w.sesame.next_code_for(ADA).await;

    // The resend button at once: the code page again, no mail.
    let answer = flow::submit_resend(&w.browser, &code_page).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    flow::assert_code_page_any_status(&answer);
    // Not an error: the page (after a redirect, so a reload does not post again) counts down.
    assert_eq!(answer.status, 200, "{}", answer.describe());
    assert!(
        answer.body.contains("You can ask for a new code in")
            && !answer.body.contains("role=\"alert\""),
        "{}",
        answer.describe()
    );
    assert_eq!(
        w.sesame.smtp.message_count(),
        1,
        "a resend within 60 s sends no mail"
    );
    // The same address posted again (a double click on "Send code"): no mail either.
    let answer = post_email(&w.browser, &page, ADA).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    flow::assert_code_page_any_status(&answer);
    assert_eq!(
        w.sesame.smtp.message_count(),
        1,
        "the same address again within 60 s sends no mail"
    );

    // A typo corrected at once: the new address gets a code, and that code signs in.
    // ("Use a different email": the email page of the same sign-in.)
    let page = w.browser.get(page.url.as_str()).await;
    flow::assert_email_page(&page);
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, GRACE).await;
    let code = w.sesame.next_code_for(GRACE).await;
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    let auth_code = flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(start.state.secret()),
    );
    let tokens = flow::exchange(&w.client, &auth_code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(GRACE));
}

#[tokio::test]
async fn a_failed_send_gives_its_reservation_back() {
    let w = world().await;
    // Every transaction fails with 454 (after DATA), sesame's retries included.
    w.sesame.smtp.set_throttle(1000);
    let page = w.email_page(&w.browser).await;
    let answer = post_email(&w.browser, &page, ADA).await;
    assert!(
        answer.status >= 500 && answer.body.to_ascii_lowercase().contains("could not send"),
        "a failed send shows the could-not-send page: {}",
        answer.describe()
    );
    assert_eq!(w.sesame.smtp.message_count(), 0);

    // The mail server recovers: the person can send again at once, and the whole budget is
    // still there (the failed send consumed none of it).
    w.sesame.smtp.set_throttle(0);
    flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    w.sesame.next_code_for(ADA).await;
    for _ in 2..=BUDGET {
        let page = w.email_page(&w.browser).await;
        flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
        w.sesame.next_code_for(ADA).await;
    }
    let page = w.email_page(&w.browser).await;
    assert_too_many_codes(&post_email_followed(&w, &page, ADA).await);
    assert_eq!(w.sesame.smtp.message_count(), BUDGET);
}

/// Mail configured but broken (here: a password file that does not exist) must not fall back
/// to printing codes in the log, where anyone who reads the log could sign in as anyone.
/// sesame starts, says "degraded" in /healthz, and shows the could-not-send page.
#[tokio::test]
async fn broken_mail_configuration_never_prints_codes_to_the_log() {
    let sesame = Sesame::start(support::SesameOpts {
        env: vec![
            ("SESAME_MAIL_SMTP_PASSWORD".into(), String::new()),
            (
                "SESAME_MAIL_SMTP_PASSWORD_FILE".into(),
                "/nonexistent/sesame-smtp-password".into(),
            ),
        ],
        ..Default::default()
    });
    let app = sesame.create_web_app("Bookstore");
    let meta: Metadata = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();

    let health = HttpClient::new().get(&sesame.url("/healthz")).await;
    assert_eq!(health.status, 200, "{}", health.describe());
    let health = health.json();
    assert_eq!(health["status"], "degraded", "{health:#}");
    assert_eq!(health["mail"]["ok"], false, "{health:#}");

    let start = flow::authorize(&client, SCOPES, true, None);
    let page = flow::open_email_page(&sesame, &browser, start.url.as_str()).await;
    let answer = post_email(&browser, &page, ADA).await;
    assert!(
        answer.status >= 500 && answer.body.to_ascii_lowercase().contains("could not send"),
        "{}",
        answer.describe()
    );
    assert_eq!(sesame.smtp.message_count(), 0);
    let logs = sesame.logs();
    assert!(logs.contains("misconfigured"), "the log says why: {logs}");
    assert!(
        !logs.contains(" code for ") && !logs.contains("code is "),
        "no sign-in code in the log: {logs}"
    );
}

// ---------------------------------------------------------------------------------------------
// Several sign-ins in one browser; the binding to the browser
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_sign_ins_in_two_tabs_of_one_browser_both_succeed() {
    let w = world().await;
    // Two tabs share one cookie jar: start A, start B, then go through both.
    let a = flow::authorize(&w.client, SCOPES, true, None);
    let b = flow::authorize(&w.client, SCOPES, true, None);
    let page_a = flow::open_email_page(&w.sesame, &w.browser, a.url.as_str()).await;
    let page_b = flow::open_email_page(&w.sesame, &w.browser, b.url.as_str()).await;
    assert_ne!(
        page_a.expect_input("interaction"),
        page_b.expect_input("interaction")
    );

    let code_page_a = flow::submit_email(&w.sesame, &w.browser, &page_a, ADA).await;
    let code_a = w.sesame.next_code_for(ADA).await;
    let code_page_b = flow::submit_email(&w.sesame, &w.browser, &page_b, ADA).await;
    let code_b = w.sesame.next_code_for(ADA).await;

    // Finish A, then B.
    let answer = flow::submit_code(&w.browser, &code_page_a, &code_a).await;
    let auth_code_a = flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(a.state.secret()),
    );
    let answer = flow::submit_code(&w.browser, &code_page_b, &code_b).await;
    let auth_code_b = flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(b.state.secret()),
    );

    let tokens_a = flow::exchange(&w.client, &auth_code_a, a.pkce_verifier).await;
    let (_, claims_a) = flow::validate_id_token(&w.client, &tokens_a, Some(&a.nonce));
    let tokens_b = flow::exchange(&w.client, &auth_code_b, b.pkce_verifier).await;
    let (_, claims_b) = flow::validate_id_token(&w.client, &tokens_b, Some(&b.nonce));
    assert_eq!(claims_a.subject(), claims_b.subject(), "the same person");
}

#[tokio::test]
async fn another_browser_cannot_use_the_sign_in() {
    let w = world().await;
    let page = w.email_page(&w.browser).await;
    let stranger = HttpClient::new();

    // Opening the sign-in's page in another browser (a link sent to a victim, say).
    let opened = stranger.get(page.url.as_str()).await;
    assert_eq!(opened.status, 400, "{}", opened.describe());
    assert!(
        find_form_with(&opened.body, "email").is_none(),
        "no email form in another browser: {}",
        opened.describe()
    );
    assert!(
        opened.body.contains("started in another browser"),
        "the page says the sign-in started in another browser: {}",
        opened.describe()
    );

    // Posting the form from the other browser: refused, nothing mailed.
    let posted = post_email(&stranger, &page, ADA).await;
    assert_eq!(posted.status, 400, "{}", posted.describe());
    assert!(
        posted.body.contains("started in another browser"),
        "{}",
        posted.describe()
    );
    assert_eq!(w.sesame.smtp.message_count(), 0);

    // The browser that started it still can.
    flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    w.sesame.next_code_for(ADA).await;
}

// ---------------------------------------------------------------------------------------------
// Logout CSRF
// ---------------------------------------------------------------------------------------------

/// V is signed in in `w.browser`; the attacker signed in in a browser of their own and holds
/// a valid ID token for the same app. Returns (V's ID token, the attacker's ID token).
async fn victim_and_attacker(w: &World) -> (String, String) {
    let victim = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let attacker_browser = HttpClient::new();
    let attacker =
        flow::full_sign_in(&w.sesame, &attacker_browser, &w.client, &w.app, MALLORY).await;
    assert_ne!(victim.sub(), attacker.sub());
    (victim.id_token.to_string(), attacker.id_token.to_string())
}

/// Asserts `page` is the logout confirmation: 200, a POST form with a CSRF token.
fn assert_logout_confirmation(page: &Response) {
    assert_eq!(
        page.status,
        200,
        "a hint that is not the signed-in user's own asks first: {}",
        page.describe()
    );
    let form = find_form_with(&page.body, "csrf").unwrap_or_else(|| {
        panic!(
            "the confirmation page has a form with a csrf field: {}",
            page.describe()
        )
    });
    assert!(form.method.eq_ignore_ascii_case("post"), "{}", form.html);
    assert!(
        form.fields
            .iter()
            .any(|(name, value)| name == "csrf" && !value.is_empty()),
        "a non-empty csrf token: {}",
        form.html
    );
}

#[tokio::test]
async fn logout_with_someone_elses_id_token_asks_and_does_not_sign_out() {
    let w = world().await;
    let (_, attacker_token) = victim_and_attacker(&w).await;
    let post_logout = w.post_logout_uri();

    // The attacker's page sends V's browser to end-session with the attacker's own token.
    let url = w.end_session_url(&[
        ("id_token_hint", &attacker_token),
        ("post_logout_redirect_uri", &post_logout),
        ("state", "csrf-attack"),
    ]);
    let answer = w.browser.get(&url).await;
    assert_logout_confirmation(&answer);
    assert!(
        w.browser.cookie("sesame_session").is_some(),
        "the session cookie is kept"
    );
    let callback = w.prompt_none(&w.browser).await;
    assert!(
        callback.code.is_some(),
        "V is still signed in: prompt=none gives a code, got {}",
        callback.url
    );

    // A forged confirmation (wrong csrf) does not sign V out either.
    let forged = w
        .browser
        .post_form(
            &w.sesame.url("/session/end"),
            &[
                ("csrf", "forged-token"),
                ("confirm", "1"),
                ("id_token_hint", &attacker_token),
                ("post_logout_redirect_uri", &post_logout),
                ("state", "csrf-attack"),
            ],
        )
        .await;
    assert!(
        !forged.is_redirect() && (400..500).contains(&forged.status),
        "a confirmation with a wrong csrf token is refused: {}",
        forged.describe()
    );
    // The way on asks again (a GET, so a confirmation), without the hint it was sent.
    assert!(
        forged
            .body
            .contains("href=\"/session/end?post_logout_redirect_uri=")
            && forged
                .body
                .contains("&amp;state=csrf-attack\">Sign out</a>"),
        "{}",
        forged.describe()
    );
    assert!(!forged.body.contains(&attacker_token));
    let callback = w.prompt_none(&w.browser).await;
    assert!(
        callback.code.is_some(),
        "V is still signed in after a forged confirmation: {}",
        callback.url
    );
}

#[tokio::test]
async fn logout_with_ones_own_id_token_signs_out_at_once() {
    let w = world().await;
    let (victim_token, _) = victim_and_attacker(&w).await;
    let post_logout = w.post_logout_uri();
    let url = w.end_session_url(&[
        ("id_token_hint", &victim_token),
        ("post_logout_redirect_uri", &post_logout),
        ("state", "bye-7"),
    ]);
    let answer = w.browser.get(&url).await;
    let location = answer.expect_redirect();
    assert!(
        location.as_str().starts_with(&post_logout),
        "back to the registered post-logout URI: {location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("bye-7"));
    let callback = w.prompt_none(&w.browser).await;
    assert_eq!(
        callback.error.as_deref(),
        Some("login_required"),
        "V is signed out: {}",
        callback.url
    );
}

#[tokio::test]
async fn confirming_the_logout_form_signs_out() {
    let w = world().await;
    let (_, attacker_token) = victim_and_attacker(&w).await;
    let post_logout = w.post_logout_uri();
    let url = w.end_session_url(&[
        ("id_token_hint", &attacker_token),
        ("post_logout_redirect_uri", &post_logout),
        ("state", "confirmed-9"),
    ]);
    let page = w.browser.get(&url).await;
    assert_logout_confirmation(&page);

    // V reads the page and presses "Sign out": the form as the browser submits it.
    let answer = flow::submit_form(&w.browser, &page, "csrf", &[], None).await;
    match answer.status {
        // Back to the app that asked, or a "signed out" page.
        303 | 302 => {
            let location = answer.expect_redirect();
            assert!(
                location.as_str().starts_with(&post_logout),
                "back to the registered post-logout URI: {location}"
            );
            assert_eq!(
                query_param(&location, "state").as_deref(),
                Some("confirmed-9")
            );
        }
        200 => {}
        _ => panic!(
            "the confirmed sign-out is not an error: {}",
            answer.describe()
        ),
    }
    let callback = w.prompt_none(&w.browser).await;
    assert_eq!(
        callback.error.as_deref(),
        Some("login_required"),
        "V is signed out after confirming: {}",
        callback.url
    );
}

// ---------------------------------------------------------------------------------------------
// Bounded input
// ---------------------------------------------------------------------------------------------

/// A valid authorization request for `w`'s app with one parameter replaced or added.
fn auth_url_with(w: &World, name: &str, value: &str) -> (String, String) {
    let (verifier, challenge) = flow::pkce_pair();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", w.app.client_id.as_str()),
        ("redirect_uri", w.app.redirect_uri.as_str()),
        ("scope", "openid email"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if name != "state" {
        params.push(("state", "st"));
    }
    params.push((name, value));
    (flow::auth_url(&w.sesame, &params), verifier)
}

#[tokio::test]
async fn oversized_authorization_parameters_get_an_error_page() {
    let w = world().await;
    let long = "s".repeat(3000);
    for name in ["state", "nonce", "login_hint"] {
        let (url, _) = auth_url_with(&w, name, &long);
        let browser = HttpClient::new();
        let answer = browser.get(&url).await;
        assert_eq!(
            answer.status,
            400,
            "a 3000-character {name}: an error page, got {}",
            answer.describe()
        );
        assert!(
            answer.header("location").is_none(),
            "a 3000-character {name} is not redirected anywhere: {}",
            answer.describe()
        );
        assert!(
            answer.content_type().starts_with("text/html"),
            "{}",
            answer.describe()
        );
        assert!(
            !answer.body.contains(&long),
            "the page does not echo the oversized {name}"
        );
        // Nothing was stored: no sign-in was started for this browser.
        assert!(
            browser.cookie("sesame_interaction").is_none(),
            "a 3000-character {name} started a sign-in: {}",
            answer.describe()
        );
    }

    // 2048 characters exactly is accepted, and the state comes back whole.
    let state = "x".repeat(2048);
    let (url, verifier) = auth_url_with(&w, "state", &state);
    let callback = flow::sign_in(&w.sesame, &w.browser, &url, ADA).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(&state));
    flow::exchange(
        &w.client,
        &code,
        Some(openidconnect::PkceCodeVerifier::new(verifier)),
    )
    .await;
}

#[tokio::test]
async fn a_request_body_that_never_arrives_gets_408() {
    /// Far above sesame's 15-second body timeout: only a hang reaches it.
    const BOUND: Duration = Duration::from_secs(40);
    let w = world().await;
    let token_url = Url::parse(&w.sesame.url("/token")).expect("token URL");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", w.sesame.port))
        .await
        .expect("connect to sesame");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
        token_url.path(),
        w.sesame.port
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the request head");

    // Read until the server closes the connection (or the bound passes).
    let deadline = Instant::now() + BOUND;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "a body that never arrives gets 408 Request Timeout within {BOUND:?}; got {text:?}"
    );
    assert!(
        closed,
        "after the 408 the connection is closed, not left hanging; got {text:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Protocol details
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn max_age_zero_shows_the_sign_in_page_despite_a_live_session() {
    let w = world().await;
    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let (url, _) = auth_url_with(&w, "max_age", "0");
    let answer = w.browser.get_following(&url, &w.sesame.issuer).await;
    assert!(
        !answer
            .header("location")
            .is_some_and(|l| l.starts_with(&w.app.redirect_uri)),
        "max_age=0 issued a code from the existing session: {}",
        answer.describe()
    );
    flow::assert_email_page(&answer);
    // The session itself is untouched: without max_age, single sign-on still works.
    let callback = w.prompt_none(&w.browser).await;
    assert!(callback.code.is_some(), "{}", callback.url);
}

#[tokio::test]
async fn userinfo_without_credentials_gets_a_bare_bearer_challenge() {
    let w = world().await;
    let http = HttpClient::new();
    for answer in [
        http.get(&w.sesame.url("/me")).await,
        http.post_form(&w.sesame.url("/me"), &[]).await,
    ] {
        assert_eq!(answer.status, 401, "{}", answer.describe());
        let challenge = answer
            .header("www-authenticate")
            .unwrap_or_else(|| panic!("a 401 carries WWW-Authenticate: {}", answer.describe()));
        assert_eq!(
            challenge,
            "Bearer realm=\"sesame\"",
            "{}",
            answer.describe()
        );
        assert!(
            !challenge.contains("error="),
            "RFC 6750 §3.1: no error code when no credentials were sent: {challenge}"
        );
    }
}

/// Asserts a claims object has no `null` values and none of the profile claims a fresh user
/// does not have; `email` is there.
fn assert_no_null_claims(what: &str, claims: &serde_json::Value) {
    let object = claims
        .as_object()
        .unwrap_or_else(|| panic!("{what} is a JSON object: {claims}"));
    for (name, value) in object {
        assert!(!value.is_null(), "{what} has a null {name}: {claims:#}");
    }
    for absent in ["name", "username", "picture"] {
        assert!(
            !object.contains_key(absent),
            "{what} has {absent} for a user who never set one: {claims:#}"
        );
    }
    assert_eq!(
        claims["email"].as_str(),
        Some(ADA),
        "{what} has the email: {claims:#}"
    );
}

#[tokio::test]
async fn a_fresh_users_claims_have_no_nulls() {
    let w = world().await;
    let start = flow::authorize(&w.client, &["profile", "email"], true, None);
    let callback = flow::sign_in(&w.sesame, &w.browser, start.url.as_str(), ADA).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    let (id_token, claims) = flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
    assert_no_null_claims("the ID token", &flow::jwt_payload(&id_token.to_string()));

    let me = flow::userinfo_raw(&w.sesame, tokens.access_token().secret()).await;
    assert_eq!(me.status, 200, "{}", me.describe());
    assert_no_null_claims("userinfo", &me.json());
    // And a client library reads it.
    flow::userinfo(&w.client, tokens.access_token(), claims.subject().as_str())
        .await
        .expect("userinfo through openidconnect");
}
