//! What survives a restart: sign in, stop sesame, start it again on the same data directory,
//! and check that keys, apps, users, sessions and refresh tokens are all still there.
//!
//! Run: `cargo test --test restart` (needs python3 with aiosmtpd).

mod support;

use openidconnect::core::CoreIdToken;
use openidconnect::{Nonce, OAuth2TokenResponse};
use support::flow::{self, SignedIn};
use support::http::HttpClient;
use support::Sesame;

const ADA: &str = "ada@example.com";

async fn jwks_kids(sesame: &Sesame) -> Vec<String> {
    let jwks = HttpClient::new().get(&sesame.url("/jwks")).await.json();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .expect("JWKS keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect();
    kids.sort();
    kids
}

/// After the restart: everything the first run made still works.
async fn check_survivors(
    sesame: &Sesame,
    browser: &HttpClient,
    app: &support::AppCreds,
    kids_before: &[String],
    first: &SignedIn,
    old_id_token: &CoreIdToken,
    old_nonce: &Nonce,
) {
    assert_eq!(
        jwks_kids(sesame).await,
        kids_before,
        "the signing keys survive"
    );

    // A fresh discovery (new JWKS fetch) still verifies the ID token issued before the restart.
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, app);
    let verifier = client.id_token_verifier();
    // Its `exp` is an hour away; this checks signature, iss, aud and nonce.
    let claims = old_id_token
        .claims(&verifier, old_nonce)
        .unwrap_or_else(|e| {
            panic!(
                "the old ID token no longer verifies: {}",
                flow::error_chain(&e)
            )
        });
    assert_eq!(claims.subject().as_str(), first.sub());

    // The access token issued before the restart is still valid (it is stored, not in memory).
    let me = flow::userinfo_raw(sesame, first.access_token().secret()).await;
    assert_eq!(me.status, 200, "{}", me.describe());

    // The session cookie still gives single sign-on; the app's secret still authenticates it
    // (the exchange uses client_secret_basic); the user is the same.
    let again = flow::sso_sign_in(sesame, browser, &client, app).await;
    assert_eq!(
        again.sub(),
        first.sub(),
        "the same user (same sub) after the restart"
    );
    assert_eq!(sesame.smtp.message_count(), 1, "no new code was needed");

    // The refresh token issued before the restart still refreshes (and rotates).
    let refreshed = flow::refresh(&client, first.refresh_token())
        .await
        .unwrap_or_else(|e| panic!("the refresh token did not survive the restart: {e}"));
    let new_refresh = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(new_refresh.secret(), first.refresh_token().secret());
    let info = flow::userinfo(&client, refreshed.access_token(), &first.sub()).await;
    assert!(info.is_ok(), "the refreshed access token works: {info:?}");
}

/// Signs in once; returns the outcome with the nonce used.
async fn sign_in_once(
    sesame: &Sesame,
    browser: &HttpClient,
    app: &support::AppCreds,
) -> (SignedIn, Nonce) {
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, app);
    let start = flow::authorize(&client, flow::SCOPES, true, None);
    let nonce = start.nonce.clone();
    let callback = flow::sign_in(sesame, browser, start.url.as_str(), ADA).await;
    let code = callback.expect_code(sesame, app, Some(start.state.secret()));
    let tokens = flow::exchange(&client, &code, start.pkce_verifier).await;
    let (id_token, claims) = flow::validate_id_token(&client, &tokens, Some(&nonce));
    (
        SignedIn {
            tokens,
            id_token,
            claims,
            callback,
        },
        nonce,
    )
}

#[tokio::test]
async fn keys_apps_users_sessions_and_refresh_tokens_survive_a_restart() {
    let mut sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let browser = HttpClient::new();
    let kids = jwks_kids(&sesame).await;
    let (first, nonce) = sign_in_once(&sesame, &browser, &app).await;
    let id_token = first.id_token.clone();

    sesame.restart();
    check_survivors(&sesame, &browser, &app, &kids, &first, &id_token, &nonce).await;
}

#[tokio::test]
async fn everything_survives_a_crash_too() {
    let mut sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let browser = HttpClient::new();
    let kids = jwks_kids(&sesame).await;
    let (first, nonce) = sign_in_once(&sesame, &browser, &app).await;
    let id_token = first.id_token.clone();

    // SIGKILL: nothing gets to flush; every answered request must already be durable.
    sesame.kill();
    sesame.start_again();
    check_survivors(&sesame, &browser, &app, &kids, &first, &id_token, &nonce).await;
}

#[tokio::test]
async fn an_app_created_while_sesame_is_stopped_works_after_start() {
    let mut sesame = Sesame::start_default();
    sesame.stop();
    // The CLI opens the redb file directly when no server runs.
    let app = sesame.create_web_app("Offline");
    sesame.start_again();
    let browser = HttpClient::new();
    let (signed_in, _) = sign_in_once(&sesame, &browser, &app).await;
    assert_eq!(signed_in.claims.audiences()[0].as_str(), app.client_id);
}
