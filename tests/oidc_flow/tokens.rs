//! The token lifecycle: ID token algorithms, refresh rotation and reuse detection, code reuse,
//! revocation (RFC 7009), client authentication methods, public clients and PKCE.

use super::*;

#[tokio::test]
async fn rs256_for_an_app_that_asks_for_it() {
    let sesame = Sesame::start_default();
    let app = sesame.create_app(
        &AppSpec::new("Legacy", "http://127.0.0.1:9/legacy/callback").id_token_alg("RS256"),
    );
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let signed_in = flow::full_sign_in(&sesame, &browser, &client, &app, ADA).await;
    let header = flow::jwt_header(&signed_in.id_token.to_string());
    assert_eq!(header["alg"], "RS256", "{header}");
    assert!(header["kid"].is_string(), "{header}");
}

#[tokio::test]
async fn refresh_rotates_a_retry_rotates_again_and_reuse_revokes_the_family() {
    let w = world().await;
    let first = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let r1 = first.refresh_token().clone();

    let second = flow::refresh(&w.client, &r1).await.expect("refresh");
    let r2 = second.refresh_token().expect("a new refresh token").clone();
    assert_ne!(r2.secret(), r1.secret(), "the refresh token rotates");
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    let info = flow::userinfo(&w.client, second.access_token(), &first.sub()).await;
    assert!(info.is_ok(), "the new access token works: {info:?}");
    if second.id_token().is_some() {
        let (_, claims) = flow::validate_id_token(&w.client, &second, None);
        assert_eq!(claims.subject().as_str(), first.sub());
    }

    // r1 again while r2 is unused: a retry (the client never saw the 200), not reuse. It
    // rotates again and r2, never used, is superseded.
    let retried = flow::refresh(&w.client, &r1).await.expect("a retry");
    let r3 = retried
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(r3.secret(), r2.secret());
    let third = flow::refresh(&w.client, &r3).await.expect("refresh");
    let r4 = third.refresh_token().expect("a new refresh token").clone();

    // Now that its successor was used, reusing the spent token is refused, and revokes
    // everything of the family.
    let reuse = flow::refresh_raw(&w.sesame, &w.app, r1.secret()).await;
    flow::assert_oauth_error(&reuse, 400, "invalid_grant");
    let after = flow::refresh_raw(&w.sesame, &w.app, r4.secret()).await;
    flow::assert_oauth_error(&after, 400, "invalid_grant");
    let me = flow::userinfo_raw(&w.sesame, third.access_token().secret()).await;
    assert_eq!(
        me.status,
        401,
        "the family's access token is revoked: {}",
        me.describe()
    );
}

#[tokio::test]
async fn code_reuse_is_refused_and_revokes_what_the_first_use_issued() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let verifier = start.pkce_verifier.as_ref().unwrap().secret().to_string();
    let callback = flow::sign_in(&w.sesame, &w.browser, start.url.as_str(), ADA).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(
        &w.client,
        &code,
        Some(PkceCodeVerifier::new(verifier.clone())),
    )
    .await;

    let again = flow::try_exchange(
        &w.client,
        &code,
        Some(PkceCodeVerifier::new(verifier.clone())),
    )
    .await;
    let error = again.expect_err("a second exchange of the same code must fail");
    assert!(error.contains("invalid_grant"), "{error}");
    let raw = flow::token_form(
        &w.sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &w.app.redirect_uri),
            ("code_verifier", &verifier),
        ],
        Some((&w.app.client_id, w.app.client_secret.as_deref().unwrap())),
    )
    .await;
    flow::assert_oauth_error(&raw, 400, "invalid_grant");

    let me = flow::userinfo_raw(&w.sesame, tokens.access_token().secret()).await;
    assert_eq!(
        me.status,
        401,
        "the first exchange's access token is revoked: {}",
        me.describe()
    );
    let refresh = flow::refresh_raw(
        &w.sesame,
        &w.app,
        tokens.refresh_token().expect("refresh token").secret(),
    )
    .await;
    flow::assert_oauth_error(&refresh, 400, "invalid_grant");
}

#[tokio::test]
async fn revocation_of_access_and_refresh_tokens() {
    let w = world().await;
    let secret = w.app.client_secret.clone().unwrap();
    let first = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;

    // Access token, with a type hint (RFC 7009 over client_secret_basic). By hand: openidconnect
    // refuses to send a revocation request to an http:// endpoint.
    let revoked = flow::revoke_raw(
        &w.sesame,
        &w.app.client_id,
        &secret,
        first.access_token().secret(),
        Some("access_token"),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.describe());
    let me = flow::userinfo_raw(&w.sesame, first.access_token().secret()).await;
    assert_eq!(me.status, 401, "{}", me.describe());

    // Refresh token of a second grant (SSO, no mail), by hand with a type hint.
    let second = flow::sso_sign_in(&w.sesame, &w.browser, &w.client, &w.app).await;
    let revoked = flow::revoke_raw(
        &w.sesame,
        &w.app.client_id,
        &secret,
        second.refresh_token().secret(),
        Some("refresh_token"),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.describe());
    let refresh = flow::refresh_raw(&w.sesame, &w.app, second.refresh_token().secret()).await;
    flow::assert_oauth_error(&refresh, 400, "invalid_grant");
    // RFC 7009 §2.1: revoking a refresh token should also invalidate the grant's access tokens.
    let me = flow::userinfo_raw(&w.sesame, second.access_token().secret()).await;
    assert_eq!(me.status, 401, "{}", me.describe());

    // An unknown token is not an error (RFC 7009 §2.2).
    let unknown =
        flow::revoke_raw(&w.sesame, &w.app.client_id, &secret, "no-such-token", None).await;
    assert_eq!(unknown.status, 200, "{}", unknown.describe());

    // The client must authenticate.
    let wrong = flow::revoke_raw(&w.sesame, &w.app.client_id, "wrong", "no-such-token", None).await;
    flow::assert_oauth_error(&wrong, 401, "invalid_client");

    // Another client cannot revoke this client's tokens.
    let other = w.sesame.create_web_app("Other");
    let third = flow::sso_sign_in(&w.sesame, &w.browser, &w.client, &w.app).await;
    let _ = flow::revoke_raw(
        &w.sesame,
        &other.client_id,
        other.client_secret.as_deref().unwrap(),
        third.access_token().secret(),
        None,
    )
    .await;
    let me = flow::userinfo_raw(&w.sesame, third.access_token().secret()).await;
    assert_eq!(
        me.status,
        200,
        "another client revoked our token: {}",
        me.describe()
    );
}

#[tokio::test]
async fn client_secret_post_authenticates_too() {
    let w = world().await;
    let client = flow::client_post(&w.meta, &w.app);
    let signed_in = flow::full_sign_in(&w.sesame, &w.browser, &client, &w.app, ADA).await;
    let refreshed = flow::refresh(&client, signed_in.refresh_token()).await;
    assert!(
        refreshed.is_ok(),
        "refresh with client_secret_post: {refreshed:?}"
    );
}

#[tokio::test]
async fn public_client_signs_in_with_pkce_and_no_secret() {
    let sesame = Sesame::start_default();
    let app = sesame
        .create_app(&AppSpec::new("Reader SPA", "http://127.0.0.1:9/spa/callback").app_type("spa"));
    assert!(
        app.client_secret.is_none(),
        "a single-page app has no secret: {}",
        app.json
    );
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let signed_in = flow::full_sign_in(&sesame, &browser, &client, &app, ADA).await;
    let refreshed = flow::refresh(&client, signed_in.refresh_token()).await;
    assert!(
        refreshed.is_ok(),
        "a public client refreshes with its client_id: {refreshed:?}"
    );
}

#[tokio::test]
async fn public_client_without_pkce_is_refused() {
    let sesame = Sesame::start_default();
    let app = sesame
        .create_app(&AppSpec::new("Reader SPA", "http://127.0.0.1:9/spa/callback").app_type("spa"));
    let browser = HttpClient::new();
    for extra in [
        vec![],
        vec![
            (
                "code_challenge",
                "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
            ),
            ("code_challenge_method", "plain"),
        ],
    ] {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("scope", "openid email"),
            ("state", "st-1"),
        ];
        params.extend(extra.iter().copied());
        let answer = browser
            .get_following(&flow::auth_url(&sesame, &params), &sesame.issuer)
            .await;
        // RFC 7636 §4.4.1: an authorization error response, sent back to the (valid) client.
        let location = answer.expect_redirect();
        assert!(
            location.as_str().starts_with(&app.redirect_uri),
            "{location}"
        );
        let callback = flow::callback(&location);
        assert_eq!(
            callback.error.as_deref(),
            Some("invalid_request"),
            "{location}"
        );
        assert_eq!(callback.state.as_deref(), Some("st-1"), "{location}");
        assert_eq!(callback.code, None, "{location}");
    }
}
