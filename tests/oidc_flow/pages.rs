//! The sign-in pages: CSRF tokens, the binding to the browser, wrong tries, resend, expiry.

use super::*;

#[tokio::test]
async fn sign_in_posts_without_the_csrf_token_are_refused() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;

    let missing =
        flow::submit_form(&w.browser, &page, "email", &[("email", ADA)], Some("csrf")).await;
    assert!(
        (400..500).contains(&missing.status),
        "no csrf field: {}",
        missing.describe()
    );
    let forged = flow::submit_form(
        &w.browser,
        &page,
        "email",
        &[("email", ADA), ("csrf", "forged")],
        None,
    )
    .await;
    assert!(
        (400..500).contains(&forged.status),
        "wrong csrf: {}",
        forged.describe()
    );
    assert_eq!(
        w.sesame.smtp.message_count(),
        0,
        "no code is sent for a refused post"
    );

    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    let code = w.sesame.next_code_for(ADA).await;
    let missing = flow::submit_form(
        &w.browser,
        &code_page,
        "code",
        &[("code", &code)],
        Some("csrf"),
    )
    .await;
    assert!(
        (400..500).contains(&missing.status),
        "no csrf field: {}",
        missing.describe()
    );
    assert!(w.browser.cookie("sesame_session").is_none());

    // The real form still works.
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(start.state.secret()),
    );
}

#[tokio::test]
async fn a_sign_in_is_bound_to_the_browser_that_started_it() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    // Another browser posting this page's form (same hidden fields, no interaction cookie).
    let stranger = HttpClient::new();
    let answer = flow::submit_form(&stranger, &page, "email", &[("email", ADA)], None).await;
    assert!((400..500).contains(&answer.status), "{}", answer.describe());
    assert_eq!(w.sesame.smtp.message_count(), 0);
}

/// The text of the page's announced error (`role="alert"`), if any.
fn alert_text(body: &str) -> Option<String> {
    let at = body.find("role=\"alert\"")?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find('<')?;
    Some(body[start..end].trim().to_string())
}

/// The page's alert says the code no longer works (too many wrong tries).
fn says_code_is_void(body: &str) -> bool {
    alert_text(body).is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("too many") || t.contains("no longer")
    })
}

#[tokio::test]
async fn five_wrong_codes_void_the_code() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    let code = w.sesame.next_code_for(ADA).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

    let mut last = None;
    for attempt in 1..=5 {
        let answer = flow::submit_code(&w.browser, &code_page, &wrong).await;
        let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
        assert!(
            !answer.is_redirect(),
            "attempt {attempt}: {}",
            answer.describe()
        );
        assert!(
            answer.body.contains("role=\"alert\""),
            "attempt {attempt}: the error is announced (role=alert): {}",
            answer.describe()
        );
        if attempt < 5 {
            assert!(
                !says_code_is_void(&answer.body),
                "attempt {attempt} of 5 already voids the code: {:?}",
                alert_text(&answer.body)
            );
        }
        last = Some(answer);
    }
    let last = last.unwrap();
    assert!(
        says_code_is_void(&last.body),
        "after 5 wrong codes: {}",
        last.describe()
    );

    // The right code no longer works either.
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    assert!(
        !answer
            .header("location")
            .is_some_and(|l| l.starts_with(&w.app.redirect_uri)),
        "a void code signed in: {}",
        answer.describe()
    );
    assert!(says_code_is_void(&answer.body), "{}", answer.describe());
    assert!(w.browser.cookie("sesame_session").is_none());
}

#[tokio::test]
async fn a_resend_within_60_seconds_sends_nothing() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    let code = w.sesame.next_code_for(ADA).await;

    let answer = flow::submit_resend(&w.browser, &code_page).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    assert_eq!(
        answer.status,
        200,
        "the code page again, through a redirect (Post/Redirect/Get): {}",
        answer.describe()
    );
    flow::assert_code_page_any_status(&answer);
    // sesame answers only after the SMTP server accepted a message, so a second one would be
    // on disk by now.
    assert_eq!(
        w.sesame.smtp.message_count(),
        1,
        "a resend within 60 s sends no mail"
    );
    // Waiting is not an error: no alert, a countdown to when the button comes back.
    assert!(alert_text(&answer.body).is_none(), "{}", answer.describe());
    assert!(
        answer.body.contains("You can ask for a new code in")
            && answer.body.contains("/static/countdown-"),
        "the page counts down: {}",
        answer.describe()
    );
    // The first code still works.
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(start.state.secret()),
    );
}

#[tokio::test]
async fn a_resend_after_the_wait_sends_a_new_code() {
    let opts = SesameOpts {
        env: vec![("SESAME_TOKENS_SIGN_IN_CODE_RESEND_AFTER".into(), "1".into())],
        ..Default::default()
    };
    let w = world_with(opts).await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    w.sesame.next_code_for(ADA).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = flow::submit_resend(&w.browser, &code_page).await;
    let code_page = w.browser.follow_within(answer, &w.sesame.issuer).await;
    flow::assert_code_page(&code_page);
    let code = w.sesame.next_code_for(ADA).await;
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(start.state.secret()),
    );
}

#[tokio::test]
async fn an_expired_sign_in_code_is_refused() {
    let opts = SesameOpts {
        env: vec![("SESAME_TOKENS_SIGN_IN_CODE_TTL".into(), "1".into())],
        ..Default::default()
    };
    let w = world_with(opts).await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    let code = w.sesame.next_code_for(ADA).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    assert!(
        !answer
            .header("location")
            .is_some_and(|l| l.starts_with(&w.app.redirect_uri)),
        "an expired code signed in: {}",
        answer.describe()
    );
    assert!(w.browser.cookie("sesame_session").is_none());
}

/// The code page must not tell whether the address has an account: the same answer and the
/// same page (but for the address and the form's tokens) for a known and a new address.
#[tokio::test]
async fn the_code_page_does_not_reveal_whether_an_account_exists() {
    // Both code pages count down the resend interval (60 s, per sign-in); the seconds left
    // depend on when each page was read, so they are compared without them.
    let w = world().await;
    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;

    let mut pages = Vec::new();
    for email in [ADA, GRACE] {
        let browser = HttpClient::new();
        let start = flow::authorize(&w.client, SCOPES, true, None);
        let page = flow::open_email_page(&w.sesame, &browser, start.url.as_str()).await;
        let code_page = flow::submit_email(&w.sesame, &browser, &page, email).await;
        assert!(code_page.body.contains("You can ask for a new code in"));
        pages.push(strip_seconds(&strip_tokens(
            &code_page.body.replace(email, "EMAIL"),
        )));
    }
    assert_eq!(
        pages[0], pages[1],
        "the code page differs between a known and a new address"
    );
}

/// Replaces the resend countdown's seconds (`countdown-N.css`, `>N<`) with `N`.
fn strip_seconds(body: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for (i, c) in body.char_indices() {
        let after_marker = body[..i].ends_with("countdown-") || body[..i].ends_with("start\">");
        if c.is_ascii_digit() && (digits || after_marker) {
            if !digits {
                out.push('N');
            }
            digits = true;
            continue;
        }
        digits = false;
        out.push(c);
    }
    out
}

/// Replaces every `value="..."` and `interaction=...` token so two pages can be compared.
fn strip_tokens(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("value=\"") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push_str("TOKEN");
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("interaction=") {
        result.push_str(&rest[..i + 12]);
        rest = &rest[i + 12..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        result.push_str("ID");
        rest = &rest[end..];
    }
    result.push_str(rest);
    result
}

#[tokio::test]
async fn cookies_are_httponly_lax_and_secure_behind_an_https_issuer() {
    let sesame = Sesame::start(SesameOpts {
        https_issuer: true,
        ..Default::default()
    });
    assert!(sesame.issuer.starts_with("https://"));
    let app = sesame.create_web_app("Bookstore");
    let (_, challenge) = flow::pkce_pair();
    let query = support::http::encode_form(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
        ("scope", "openid"),
        ("state", "st"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    // sesame listens on plain HTTP here (TLS would end at a proxy in front of it).
    let browser = HttpClient::new();
    let mut answer = browser
        .get(&sesame.local_url(&format!("/auth?{query}")))
        .await;
    if answer.is_redirect() {
        let raw = answer.header("location").unwrap_or_default().to_string();
        // A relative Location stays on this origin; an absolute one must use the issuer.
        let local = if raw.starts_with('/') {
            answer.location().expect("location").to_string()
        } else {
            assert!(
                raw.starts_with(&sesame.issuer),
                "redirects use the configured https issuer: {raw}"
            );
            raw.replacen(&sesame.issuer, &sesame.local_url(""), 1)
        };
        answer = browser.get(&local).await;
    }
    flow::assert_email_page(&answer);
    // An https issuer at the root of its host gets `__Host-` cookies: host-only, Secure,
    // Path=/, so a sibling subdomain cannot toss in a cookie of its own.
    let cookie = browser
        .cookie_record("__Host-sesame_interaction")
        .expect("the interaction cookie, with the __Host- prefix");
    let attributes = cookie.set_cookie.to_ascii_lowercase();
    for attribute in ["httponly", "samesite=lax", "secure", "path=/"] {
        assert!(
            attributes.split(';').any(|a| a.trim() == attribute),
            "{attribute} on {}",
            cookie.set_cookie
        );
    }
}

/// A send the SMTP server refuses shows a clear page, and consumes nothing: the person can try
/// again at once (no 60-second wait was started by the failed send) and sign in.
#[tokio::test]
async fn a_failed_send_shows_a_clear_page_and_consumes_nothing() {
    let w = world().await;
    // Every transaction fails with 454 (after DATA), retries included.
    w.sesame.smtp.set_throttle(1000);
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let answer = flow::submit_form(&w.browser, &page, "email", &[("email", ADA)], None).await;
    let answer = w.browser.follow_within(answer, &w.sesame.issuer).await;
    assert!(
        !answer.is_redirect() && answer.status >= 400,
        "a failed send is an error page: {}",
        answer.describe()
    );
    assert!(
        answer.body.to_ascii_lowercase().contains("could not send"),
        "the page says the code could not be sent: {}",
        answer.describe()
    );
    assert_eq!(w.sesame.smtp.message_count(), 0);

    // The mail server recovers; the same page works at once.
    w.sesame.smtp.set_throttle(0);
    let code_page = flow::submit_email(&w.sesame, &w.browser, &page, ADA).await;
    let code = w.sesame.next_code_for(ADA).await;
    let answer = flow::submit_code(&w.browser, &code_page, &code).await;
    flow::callback(&answer.expect_redirect()).expect_code(
        &w.sesame,
        &w.app,
        Some(start.state.secret()),
    );
}

/// The pages that end a sign-in lead somewhere: a sign-in opened in another browser offers
/// the way back to the app (its registered redirect URI's origin, never a URL from the
/// request), and the root page says what this service is.
#[tokio::test]
async fn dead_ends_offer_a_way_back_and_the_root_page_says_what_this_is() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let page = flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    let elsewhere = HttpClient::new();
    let opened = elsewhere.get(page.url.as_str()).await;
    assert_eq!(opened.status, 400, "{}", opened.describe());
    let redirect = url::Url::parse(&w.app.redirect_uri).expect("redirect URI");
    let origin = format!("{}/", redirect.origin().ascii_serialization());
    assert!(
        opened
            .body
            .contains(&format!("href=\"{origin}\">Back to Bookstore</a>")),
        "{}",
        opened.describe()
    );
    // An unknown sign-in talks about the sign-in, not about links the person never saw.
    let gone = w
        .browser
        .get(&w.sesame.url("/sign-in?interaction=no-such-sign-in"))
        .await;
    assert_eq!(gone.status, 400, "{}", gone.describe());
    assert!(
        gone.body.contains("This sign-in has expired"),
        "{}",
        gone.body
    );
    assert!(!gone.body.contains("links"), "{}", gone.body);

    // A redirect URI the app never registered: back to the app's registered origin, never
    // to the URI the request named.
    let unregistered = flow::auth_url(
        &w.sesame,
        &[
            ("client_id", &w.app.client_id),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
        ],
    );
    let refused = HttpClient::new().get(&unregistered).await;
    assert_eq!(refused.status, 400, "{}", refused.describe());
    assert!(refused.header("location").is_none());
    assert!(
        refused
            .body
            .contains(&format!("href=\"{origin}\">Back to Bookstore</a>")),
        "{}",
        refused.describe()
    );
    assert!(!refused.body.contains("href=\"https://evil.example"));

    let home = HttpClient::new().get(&w.sesame.url("/")).await;
    assert_eq!(home.status, 200, "{}", home.describe());
    assert!(home.content_type().starts_with("text/html"));
    assert!(home
        .header("content-security-policy")
        .is_some_and(|c| c.contains("frame-ancestors 'none'")));
    assert!(home
        .body
        .contains(&w.sesame.url("/.well-known/openid-configuration")));
}

/// Sign-out asks first and offers to stay; the signed-out page says so once.
#[tokio::test]
async fn sign_out_offers_to_stay_signed_in_and_says_signed_out_once() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    flow::sign_in(&w.sesame, &w.browser, start.url.as_str(), ADA).await;
    let confirm = w.browser.get(&w.sesame.url("/session/end")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(
        confirm.body.contains("href=\"/\">Stay signed in</a>"),
        "{}",
        confirm.describe()
    );
    // Staying goes to the root page, and the session still answers single sign-on.
    let stay = w.browser.get(&w.sesame.url("/")).await;
    assert_eq!(stay.status, 200);
    let again = flow::authorize(&w.client, SCOPES, true, None);
    flow::sso(&w.sesame, &w.browser, again.url.as_str()).await;

    let done = flow::submit_form(&w.browser, &confirm, "csrf", &[], None).await;
    assert_eq!(done.status, 200, "{}", done.describe());
    assert_eq!(
        done.body.to_ascii_lowercase().matches("signed out").count(),
        2,
        "the title and the heading, not the message again: {}",
        done.body
    );
    assert!(w
        .browser
        .cookie("sesame_session")
        .is_none_or(|c| c.is_empty()));
}
