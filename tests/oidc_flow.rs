//! The OpenID Connect flow end to end, over real sockets: a real `sesame serve` process, a real
//! SMTP server (STARTTLS + AUTH) receiving the sign-in codes, and the `openidconnect` crate as
//! the relying party validating ID tokens (signature via JWKS, iss, aud, nonce, exp).
//!
//! Each test starts its own sesame and SMTP server. This file: discovery and the whole flow,
//! step by step. Then, one module each: [`tokens`] (ID token algorithms, refresh rotation,
//! reuse detection, revocation, client authentication, public clients), [`sessions`] (logout,
//! single sign-on, prompt, max_age, login_hint, the Auth.js v5 and Next Auth v4 request
//! shapes), [`pages`] (the sign-in pages: CSRF, browser binding, tries, resend, cookies),
//! [`machine`] (client credentials and introspection), [`apis`] (JWT access tokens for an API,
//! checked by a resource server with JWKS alone), [`redirects`] (http on the LAN with
//! `--allow-insecure-redirect`, a confidential app's own scheme) and [`errors`] (the
//! protocol's error cases).
//!
//! Run: `cargo test --test oidc_flow` (needs python3 with aiosmtpd).

mod support;

#[path = "oidc_flow/apis.rs"]
mod apis;
#[path = "oidc_flow/errors.rs"]
mod errors;
#[path = "oidc_flow/machine.rs"]
mod machine;
#[path = "oidc_flow/pages.rs"]
mod pages;
#[path = "oidc_flow/redirects.rs"]
mod redirects;
#[path = "oidc_flow/sessions.rs"]
mod sessions;
#[path = "oidc_flow/tokens.rs"]
mod tokens;

use std::time::Duration;

use openidconnect::core::{CoreAuthPrompt, CoreTokenResponse};
use openidconnect::{
    CsrfToken, EndSessionUrl, JsonWebKey, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeVerifier, PostLogoutRedirectUrl, TokenResponse,
};
use support::flow::{self, Metadata, OidcClient, SCOPES};
use support::html::{attr, input_tags};
use support::http::{query_param, HttpClient};
use support::{AppCreds, AppSpec, Sesame, SesameOpts};

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";

/// One sesame with one confidential app ("Bookstore"), its relying party, and a browser.
struct World {
    sesame: Sesame,
    meta: Metadata,
    app: AppCreds,
    client: OidcClient,
    browser: HttpClient,
}

async fn world_with(opts: SesameOpts) -> World {
    let sesame = Sesame::start(opts);
    let app = sesame.create_web_app("Bookstore");
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    World {
        sesame,
        meta,
        app,
        client,
        browser: HttpClient::new(),
    }
}

async fn world() -> World {
    world_with(SesameOpts::default()).await
}

fn contains(list: &serde_json::Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(item)))
}

// ---------------------------------------------------------------------------------------------
// Discovery and keys
// ---------------------------------------------------------------------------------------------

async fn check_discovery(sesame: &Sesame) {
    let http = HttpClient::new();
    let response = http
        .get(&sesame.url("/.well-known/openid-configuration"))
        .await;
    assert_eq!(response.status, 200, "{}", response.describe());
    assert!(response.content_type().starts_with("application/json"));
    let d = response.json();
    assert_eq!(d["issuer"].as_str(), Some(sesame.issuer.as_str()));
    for (key, path) in [
        ("authorization_endpoint", "/auth"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/me"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/session/end"),
        ("revocation_endpoint", "/token/revocation"),
    ] {
        assert_eq!(
            d[key].as_str(),
            Some(sesame.url(path).as_str()),
            "{key} in {d:#}"
        );
    }
    assert_eq!(
        d["response_types_supported"],
        serde_json::json!(["code"]),
        "code flow only"
    );
    for alg in ["ES384", "RS256"] {
        assert!(
            contains(&d["id_token_signing_alg_values_supported"], alg),
            "{alg}: {d:#}"
        );
    }
    assert!(
        contains(&d["code_challenge_methods_supported"], "S256"),
        "{d:#}"
    );
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(
            contains(&d["token_endpoint_auth_methods_supported"], method),
            "{method}: {d:#}"
        );
    }
    for grant in ["authorization_code", "refresh_token"] {
        assert!(
            contains(&d["grant_types_supported"], grant),
            "{grant}: {d:#}"
        );
    }
    for scope in ["openid", "offline_access", "profile", "email"] {
        assert!(contains(&d["scopes_supported"], scope), "{scope}: {d:#}");
    }
    assert!(contains(&d["subject_types_supported"], "public"), "{d:#}");
    assert_eq!(
        d["authorization_response_iss_parameter_supported"], true,
        "{d:#}"
    );

    let jwks = http.get(&sesame.url("/jwks")).await;
    assert_eq!(jwks.status, 200, "{}", jwks.describe());
    let keys = jwks.json()["keys"].as_array().cloned().expect("JWKS keys");
    let mut kids: Vec<&str> = keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids.len(), keys.len(), "every key needs a kid: {keys:#?}");
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "kids must be unique: {keys:#?}");
    assert!(
        keys.iter()
            .any(|k| k["kty"] == "EC" && k["crv"] == "P-384" && k["alg"] == "ES384"),
        "an ES384 key: {keys:#?}"
    );
    assert!(
        keys.iter()
            .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256"),
        "an RS256 key: {keys:#?}"
    );
    for key in &keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "JWKS leaks private part {private}: {key}"
            );
        }
    }

    let health = http.get(&sesame.url("/healthz")).await;
    assert_eq!(health.status, 200, "{}", health.describe());
    assert!(
        health.json().get("status").is_some(),
        "{}",
        health.describe()
    );
    assert!(
        !health.body.contains(support::SMTP_PASSWORD),
        "/healthz must not show the SMTP password"
    );

    // And a real client library accepts it (it checks the issuer and loads the JWKS).
    flow::discover(&sesame.issuer).await;
}

#[tokio::test]
async fn discovery_and_jwks_at_the_origin() {
    let sesame = Sesame::start_default();
    check_discovery(&sesame).await;
}

#[tokio::test]
async fn discovery_and_jwks_under_an_issuer_path() {
    let sesame = Sesame::start(SesameOpts::with_issuer_path("/oidc"));
    assert!(sesame.issuer.ends_with("/oidc"));
    check_discovery(&sesame).await;
    // Nothing answers outside the issuer's path.
    let root = HttpClient::new()
        .get(&format!(
            "http://127.0.0.1:{}/.well-known/openid-configuration",
            sesame.port
        ))
        .await;
    assert_eq!(root.status, 404, "{}", root.describe());
}

// ---------------------------------------------------------------------------------------------
// The whole flow
// ---------------------------------------------------------------------------------------------

/// Every step of the flow, asserting what goes over the wire at each.
async fn whole_flow(w: &World) {
    let (sesame, browser) = (&w.sesame, &w.browser);
    let start = flow::authorize(&w.client, SCOPES, true, None);
    assert!(start.url.as_str().starts_with(&sesame.url("/auth?")));

    // The email page, bound to this browser by an HttpOnly cookie, showing the app's name.
    let page = flow::open_email_page(sesame, browser, start.url.as_str()).await;
    assert!(
        page.content_type().starts_with("text/html"),
        "{}",
        page.describe()
    );
    let interaction = browser
        .cookie_record("sesame_interaction")
        .expect("the sesame_interaction cookie is set");
    assert!(
        interaction
            .set_cookie
            .to_ascii_lowercase()
            .contains("httponly"),
        "{interaction:?}"
    );
    assert!(
        page.body.contains("Bookstore"),
        "the page shows the app's name"
    );
    let email_input = input_tags(&page.body)
        .into_iter()
        .find(|t| attr(t, "name").as_deref() == Some("email"))
        .expect("email input");
    assert_eq!(
        attr(&email_input, "type").as_deref(),
        Some("email"),
        "{email_input}"
    );
    assert_eq!(
        attr(&email_input, "autocomplete").as_deref(),
        Some("email"),
        "{email_input}"
    );
    assert!(!page.expect_input("interaction").is_empty());
    assert!(!page.expect_input("csrf").is_empty());

    // The code page.
    let code_page = flow::submit_email(sesame, browser, &page, ADA).await;
    let code_input = input_tags(&code_page.body)
        .into_iter()
        .find(|t| attr(t, "name").as_deref() == Some("code"))
        .expect("code input");
    assert_eq!(
        attr(&code_input, "autocomplete").as_deref(),
        Some("one-time-code")
    );
    assert_eq!(attr(&code_input, "inputmode").as_deref(), Some("numeric"));
    assert!(
        support::html::forms(&code_page.body)
            .iter()
            .any(|f| f.buttons.iter().any(|(n, _)| n == "resend")),
        "a resend button: {}",
        code_page.describe()
    );

    // The code from the real mail, then back to the app with code + state + iss.
    let code = sesame.next_code_for(ADA).await;
    assert_eq!(code.len(), 6);
    let answer = flow::submit_code(browser, &code_page, &code).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let callback = flow::callback(&answer.expect_redirect());
    let auth_code = callback.expect_code(sesame, &w.app, Some(start.state.secret()));
    let session = browser
        .cookie_record("sesame_session")
        .expect("the sesame_session cookie is set after sign-in");
    let attributes = session.set_cookie.to_ascii_lowercase();
    assert!(attributes.contains("httponly"), "{}", session.set_cookie);
    assert!(
        attributes.contains("samesite=lax"),
        "{}",
        session.set_cookie
    );

    // The exchange (client_secret_basic) and the ID token, validated by openidconnect.
    let tokens = flow::exchange(&w.client, &auth_code, start.pkce_verifier).await;
    assert_eq!(tokens.token_type().as_ref(), "bearer");
    let expires_in = tokens.expires_in().expect("expires_in");
    assert!(
        expires_in.as_secs() > 0 && expires_in.as_secs() <= 3600,
        "{expires_in:?}"
    );
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access gives a refresh token"
    );
    let (id_token, claims) = flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
    let header = flow::jwt_header(&id_token.to_string());
    assert_eq!(header["alg"], "ES384", "ES384 by default: {header}");
    let kid = header["kid"].as_str().expect("kid in the ID token header");
    assert!(
        w.meta
            .jwks()
            .keys()
            .iter()
            .any(|k| k.key_id().map(|id| id.as_str()) == Some(kid)),
        "the ID token's kid {kid} is in the JWKS"
    );
    assert_eq!(claims.issuer().as_str(), sesame.issuer);
    assert_eq!(claims.audiences().len(), 1);
    assert_eq!(claims.audiences()[0].as_str(), w.app.client_id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADA));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(!claims.subject().is_empty());
    assert!(claims.expiration() > claims.issue_time());

    // Userinfo through the library (sub must match), and by hand with GET and POST.
    let sub = claims.subject().to_string();
    let info = flow::userinfo(&w.client, tokens.access_token(), &sub)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(ADA));
    assert_eq!(info.email_verified(), Some(true));
    let access = tokens.access_token().secret();
    let get = flow::userinfo_raw(sesame, access).await;
    assert_eq!(get.status, 200, "{}", get.describe());
    assert_eq!(get.json()["sub"].as_str(), Some(sub.as_str()));
    let bearer = format!("Bearer {access}");
    let post = HttpClient::new()
        .post_form_with(&sesame.url("/me"), &[], &[("authorization", &bearer)])
        .await;
    assert_eq!(post.status, 200, "{}", post.describe());
    assert_eq!(post.json()["sub"].as_str(), Some(sub.as_str()));
    let anonymous = HttpClient::new().get(&sesame.url("/me")).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.describe());
    assert!(
        anonymous
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "{}",
        anonymous.describe()
    );
    let forged = flow::userinfo_raw(sesame, "not-a-token").await;
    assert_eq!(forged.status, 401, "{}", forged.describe());
}

#[tokio::test]
async fn sign_in_exchange_and_userinfo_at_the_origin() {
    let w = world().await;
    whole_flow(&w).await;
}

#[tokio::test]
async fn sign_in_exchange_and_userinfo_under_an_issuer_path() {
    let w = world_with(SesameOpts::with_issuer_path("/oidc")).await;
    whole_flow(&w).await;
}
