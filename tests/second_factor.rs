//! An app that requires a second factor, end to end over a real socket, with the real SMTP
//! server for the email code and `openidconnect` validating the ID token: a user without a
//! factor is led to set up an authenticator app (the code computed here from the key the page
//! shows), sees recovery codes once, and reaches the app with `amr` `["otp", "mfa"]`. A
//! one-factor session opening the app is stepped up (a recovery code answers), and with
//! `prompt=none` the app hears `interaction_required`.
//!
//! Run: `cargo test --test second_factor` (needs python3 with aiosmtpd).

mod support;

use sesame::crypto::totp::{base32_decode, code_at, step_of, DIGITS};
use support::flow::{self, Callback};
use support::html::forms;
use support::http::{HttpClient, Response};
use support::{AppSpec, Sesame};

const ADA: &str = "ada@example.com";

fn code_now(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    code_at(
        &base32_decode(secret).expect("base32"),
        step_of(now),
        DIGITS,
    )
}

/// Posts the form on `page` whose action ends with `action`, with `extra` fields.
async fn post(
    browser: &HttpClient,
    page: &Response,
    action: &str,
    extra: &[(&str, &str)],
) -> Response {
    // The form for this action; of several (the second step's code forms), the one whose
    // hidden `kind` is the one asked for.
    let kind = extra.iter().find(|(k, _)| *k == "kind").map(|(_, v)| *v);
    let f = forms(&page.body)
        .into_iter()
        .filter(|f| f.action.as_deref().is_some_and(|a| a.ends_with(action)))
        .find(|f| kind.is_none_or(|k| f.fields.iter().any(|(n, v)| n == "kind" && v == k)))
        .unwrap_or_else(|| panic!("no {action} form: {}", page.describe()));
    let target = page.url.join(f.action.as_deref().unwrap_or("")).unwrap();
    let mut pairs: Vec<(&str, &str)> = f
        .fields
        .iter()
        .filter(|(k, _)| k != "kind")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend_from_slice(extra);
    browser.post_form(target.as_str(), &pairs).await
}

/// The email-code part of a sign-in: returns the page the right code leads to.
async fn email_code(sesame: &Sesame, browser: &HttpClient, auth_url: &str) -> Response {
    let page = flow::open_email_page(sesame, browser, auth_url).await;
    let code_page = flow::submit_email(sesame, browser, &page, ADA).await;
    let code = sesame.next_code_for(ADA).await;
    let answer = flow::submit_code(browser, &code_page, &code).await;
    browser.follow_within(answer, &sesame.issuer).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_that_requires_a_second_factor_leads_to_one_and_says_so_in_the_id_token() {
    let sesame = Sesame::start_default();
    let callback = "http://127.0.0.1:9/vault/callback";
    let vault = sesame.create_app(&AppSpec::new("Vault", callback));
    let out = sesame.cli(&[
        "app",
        "update",
        &vault.client_id,
        "--second-factor",
        "required",
    ]);
    assert!(out.status.success(), "{out:?}");
    let photos = sesame.create_app(&AppSpec::new(
        "Photos",
        "http://127.0.0.1:9/photos/callback",
    ));
    let meta = flow::discover(&sesame.issuer).await;
    assert!(
        meta.acr_values_supported()
            .is_some_and(|v| v.iter().any(|a| a.as_str() == "urn:sesame:mfa")),
        "discovery lists the acr values"
    );
    let client = flow::client(&meta, &vault);

    // Ada has no second factor: after the email code, the page sets one up.
    let browser = HttpClient::new();
    let start = flow::authorize(&client, flow::SCOPES, true, None);
    let second = email_code(&sesame, &browser, start.url.as_str()).await;
    assert_eq!(second.status, 200, "{}", second.describe());
    assert!(
        second.url.path().ends_with("/sign-in/second"),
        "{}",
        second.describe()
    );
    assert!(
        second.body.contains("Set up a second step"),
        "{}",
        second.body
    );
    let secret = second.code_with_id("totp-secret").expect("the key as text");
    let wrong = post(
        &browser,
        &second,
        "/sign-in/second/totp",
        &[("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status, 303, "{}", wrong.describe());
    let again = browser.follow_within(wrong, &sesame.issuer).await;
    assert!(again.body.contains("not right"), "{}", again.body);
    let codes_page = post(
        &browser,
        &again,
        "/sign-in/second/totp",
        &[("code", &code_now(&secret))],
    )
    .await;
    assert_eq!(codes_page.status, 200, "{}", codes_page.describe());
    assert_eq!(codes_page.header("cache-control"), Some("no-store"));
    let recovery: Vec<String> = (1..=10)
        .map(|n| {
            codes_page
                .code_with_id(&format!("recovery-code-{n}"))
                .expect("ten codes")
        })
        .collect();
    let on = forms(&codes_page.body); // no form: a link on
    assert!(on.is_empty());
    let link = codes_page
        .body
        .split("class=\"button\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the link on")
        .replace("&amp;", "&");
    let cb: Callback = flow::callback(&url::Url::parse(&link).unwrap());
    let code = cb.expect_code(&sesame, &vault, Some(start.state.secret()));
    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&client, &tokens, Some(&start.nonce));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert_eq!(amr, ["otp", "mfa"]);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:sesame:mfa")
    );

    // Another browser signs in to Photos (no policy) with the email code alone.
    let other = HttpClient::new();
    let photos_client = flow::client(&meta, &photos);
    let p_start = flow::authorize(&photos_client, flow::SCOPES, true, None);
    let done = email_code(&sesame, &other, p_start.url.as_str()).await;
    let p_code = flow::callback(&done.expect_redirect()).expect_code(
        &sesame,
        &photos,
        Some(p_start.state.secret()),
    );
    let p_tokens = flow::exchange(&photos_client, &p_code, p_start.pkce_verifier).await;
    let (_, p_claims) = flow::validate_id_token(&photos_client, &p_tokens, Some(&p_start.nonce));
    assert_eq!(
        p_claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:sesame:1fa")
    );

    // That one-factor session and the Vault: prompt=none hears interaction_required...
    let silent = flow::auth_url(
        &sesame,
        &[
            ("client_id", &vault.client_id),
            ("redirect_uri", callback),
            ("response_type", "code"),
            ("scope", "openid"),
            ("prompt", "none"),
            ("state", "s1"),
        ],
    );
    let answer = other.get_following(&silent, &sesame.issuer).await;
    let cb = flow::callback(&answer.expect_redirect());
    assert_eq!(
        cb.error.as_deref(),
        Some("interaction_required"),
        "{}",
        answer.describe()
    );

    // ...and an interactive request is stepped up: no email code, a recovery code answers.
    let v_start = flow::authorize(&client, flow::SCOPES, true, None);
    let step = other
        .get_following(v_start.url.as_str(), &sesame.issuer)
        .await;
    assert!(
        step.url.path().ends_with("/sign-in/second"),
        "{}",
        step.describe()
    );
    assert!(step.body.contains("Confirm it's you"), "{}", step.body);
    let answer = post(
        &other,
        &step,
        "/sign-in/second",
        &[("kind", "recovery"), ("code", &recovery[0])],
    )
    .await;
    let answer = other.follow_within(answer, &sesame.issuer).await;
    let v_code = flow::callback(&answer.expect_redirect()).expect_code(
        &sesame,
        &vault,
        Some(v_start.state.secret()),
    );
    let v_tokens = flow::exchange(&client, &v_code, v_start.pkce_verifier).await;
    let (_, v_claims) = flow::validate_id_token(&client, &v_tokens, Some(&v_start.nonce));
    assert_eq!(
        v_claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:sesame:mfa")
    );

    // The recovery code is spent; the audit log has the second factor's use.
    let audit = sesame.cli_json(&["audit", "--json", "--user", ADA]);
    let text = audit.to_string();
    assert!(text.contains("account.recovery_code_use"), "{text}");
}
