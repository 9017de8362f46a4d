//! The sesame session: logout through end-session, single sign-on, prompt, max_age, login_hint;
//! and the request shapes of the two Auth.js configurations Logto documents.

use super::*;

#[tokio::test]
async fn logout_through_end_session_ends_the_sesame_session() {
    let w = world().await;
    let signed_in = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let old_session = w.browser.cookie("sesame_session").expect("session cookie");
    let end_session = w
        .meta
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .unwrap();
    let post_logout = w.app.json["post_logout_redirect_uris"][0]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| w.app.redirect_uri.replace("/callback", "/signed-out"));

    let logout_url = LogoutRequest::from(EndSessionUrl::new(end_session).unwrap())
        .set_id_token_hint(&signed_in.id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(post_logout.clone()).unwrap())
        .set_state(CsrfToken::new("bye-42".to_string()))
        .http_get_url();
    let answer = w
        .browser
        .get_following(logout_url.as_str(), &w.sesame.issuer)
        .await;
    let location = answer.expect_redirect();
    assert!(location.as_str().starts_with(&post_logout), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("bye-42"));

    // The next authorization shows the email page: the session is gone...
    let start = flow::authorize(&w.client, SCOPES, true, None);
    flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    // ...on the server too, not just in this browser's jar.
    let replay = HttpClient::new();
    replay.set_cookie("sesame_session", &old_session);
    flow::open_email_page(&w.sesame, &replay, start.url.as_str()).await;
}

#[tokio::test]
async fn end_session_never_redirects_to_an_unregistered_uri() {
    let w = world().await;
    let signed_in = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let end_session = w
        .meta
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .unwrap();
    let logout_url = LogoutRequest::from(EndSessionUrl::new(end_session).unwrap())
        .set_id_token_hint(&signed_in.id_token)
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new("http://127.0.0.1:9/evil".to_string()).unwrap(),
        )
        .http_get_url();
    let answer = w
        .browser
        .get_following(logout_url.as_str(), &w.sesame.issuer)
        .await;
    assert!(
        !answer
            .header("location")
            .is_some_and(|l| l.contains("/evil")),
        "redirected to an unregistered post_logout_redirect_uri: {}",
        answer.describe()
    );
}

#[tokio::test]
async fn single_sign_on_into_a_second_app() {
    let w = world().await;
    let first = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let other = w.sesame.create_web_app("Forum");
    let other_client = flow::client(&w.meta, &other);
    let second = flow::sso_sign_in(&w.sesame, &w.browser, &other_client, &other).await;
    assert_eq!(second.sub(), first.sub(), "same user in both apps");
    assert_eq!(second.claims.audiences()[0].as_str(), other.client_id);
    assert_eq!(
        w.sesame.smtp.message_count(),
        1,
        "single sign-on sends no second code"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, Some(CoreAuthPrompt::None));
    let answer = w
        .browser
        .get_following(start.url.as_str(), &w.sesame.issuer)
        .await;
    let callback = flow::callback(&answer.expect_redirect());
    assert!(
        callback.url.as_str().starts_with(&w.app.redirect_uri),
        "{}",
        callback.url
    );
    assert_eq!(
        callback.error.as_deref(),
        Some("login_required"),
        "{}",
        callback.url
    );
    assert_eq!(
        callback.state.as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(callback.code, None);
}

#[tokio::test]
async fn prompt_none_with_a_session_returns_a_code() {
    let w = world().await;
    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let start = flow::authorize(&w.client, SCOPES, true, Some(CoreAuthPrompt::None));
    let callback = flow::sso(&w.sesame, &w.browser, start.url.as_str()).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
}

#[tokio::test]
async fn prompt_login_shows_the_sign_in_page_despite_a_session() {
    let w = world().await;
    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let start = flow::authorize(&w.client, SCOPES, true, Some(CoreAuthPrompt::Login));
    flow::open_email_page(&w.sesame, &w.browser, start.url.as_str()).await;
    // Signing in as someone else in that page works and yields that user.
    let callback = flow::sign_in(&w.sesame, &w.browser, start.url.as_str(), GRACE).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some(start.state.secret()));
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    let (_, claims) = flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(GRACE));
}

#[tokio::test]
async fn max_age_older_than_the_session_asks_again() {
    let w = world().await;
    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    // The session's auth_time is now at least 2 s old; max_age=1 must not accept it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (verifier, challenge) = flow::pkce_pair();
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("redirect_uri", &w.app.redirect_uri),
            ("scope", "openid email"),
            ("state", "st-max-age"),
            ("nonce", "n-max-age"),
            ("max_age", "1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    flow::open_email_page(&w.sesame, &w.browser, &url).await;
    let callback = flow::sign_in(&w.sesame, &w.browser, &url, GRACE).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some("st-max-age"));
    let tokens = flow::exchange(&w.client, &code, Some(PkceCodeVerifier::new(verifier))).await;
    let (_, claims) =
        flow::validate_id_token(&w.client, &tokens, Some(&Nonce::new("n-max-age".into())));
    assert!(
        claims.auth_time().is_some(),
        "auth_time is required when max_age was sent"
    );
}

#[tokio::test]
async fn login_hint_prefills_the_email() {
    let w = world().await;
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("redirect_uri", &w.app.redirect_uri),
            ("scope", "openid email"),
            ("state", "st"),
            ("login_hint", ADA),
        ],
    );
    let page = flow::open_email_page(&w.sesame, &w.browser, &url).await;
    assert_eq!(
        page.input_value("email").as_deref(),
        Some(ADA),
        "{}",
        page.describe()
    );
}

// The request shapes of the two Auth.js configurations Logto documents

/// Auth.js v5 (`next-auth@beta`, oauth4webapi): PKCE S256, no state, no nonce,
/// client_secret_basic, the Logto scopes.
#[tokio::test]
async fn authjs_v5_request_with_pkce_and_no_state_or_nonce() {
    let w = world().await;
    let (verifier, challenge) = flow::pkce_pair();
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("redirect_uri", &w.app.redirect_uri),
            ("scope", "openid offline_access profile email"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = flow::sign_in(&w.sesame, &w.browser, &url, ADA).await;
    let code = callback.expect_code(&w.sesame, &w.app, None);
    let tokens = flow::exchange(&w.client, &code, Some(PkceCodeVerifier::new(verifier))).await;
    let (id_token, claims) = flow::validate_id_token(&w.client, &tokens, None);
    assert!(claims.nonce().is_none());
    assert_eq!(flow::jwt_header(&id_token.to_string())["alg"], "ES384");
    assert!(tokens.refresh_token().is_some());
    // Auth.js maps the profile from these userinfo claims.
    let me = flow::userinfo_raw(&w.sesame, tokens.access_token().secret()).await;
    assert_eq!(me.status, 200, "{}", me.describe());
    let me = me.json();
    assert_eq!(me["sub"].as_str(), Some(claims.subject().as_str()));
    assert_eq!(me["email"].as_str(), Some(ADA));
}

/// Next Auth v4 (openid-client v5, `type: 'oauth'` with wellKnown): state, no PKCE, no nonce,
/// a confidential client with client_secret_basic, expecting ES384.
#[tokio::test]
async fn nextauth_v4_request_with_state_and_no_pkce() {
    let w = world().await;
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("redirect_uri", &w.app.redirect_uri),
            ("scope", "openid offline_access profile email"),
            ("state", "v4-state-xyz"),
        ],
    );
    let callback = flow::sign_in(&w.sesame, &w.browser, &url, ADA).await;
    let code = callback.expect_code(&w.sesame, &w.app, Some("v4-state-xyz"));
    let raw = flow::token_form(
        &w.sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &w.app.redirect_uri),
        ],
        Some((&w.app.client_id, w.app.client_secret.as_deref().unwrap())),
    )
    .await;
    assert_eq!(raw.status, 200, "{}", raw.describe());
    assert!(
        raw.header("cache-control")
            .is_some_and(|v| v.contains("no-store")),
        "{}",
        raw.describe()
    );
    let tokens: CoreTokenResponse = serde_json::from_str(&raw.body).expect("token response");
    let (id_token, _) = flow::validate_id_token(&w.client, &tokens, None);
    assert_eq!(flow::jwt_header(&id_token.to_string())["alg"], "ES384");
}

/// Sends an authorization request's parameters as a POSTed form instead of a query.
async fn post_authorization(w: &World, start: &flow::AuthStart) -> support::http::Response {
    let pairs: Vec<(String, String)> = start
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    w.browser.post_form(&w.sesame.url("/auth"), &form).await
}

/// The authorization endpoint takes its parameters as a POSTed form too (OIDC Core §3.1.2.1):
/// without a session the browser goes to the sign-in page, with one it gets a code at once.
#[tokio::test]
async fn authorization_requests_may_be_posted() {
    let w = world().await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let answer = post_authorization(&w, &start).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let to = answer.location().expect("a Location header");
    assert!(to.path().ends_with("/sign-in"), "to the sign-in page: {to}");

    flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let start = flow::authorize(&w.client, SCOPES, true, None);
    let answer = post_authorization(&w, &start).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    let to = answer.location().expect("a Location header");
    assert!(
        to.as_str().starts_with(&w.app.redirect_uri),
        "back to the app: {to}"
    );
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    let code = query_param(&to, "code").expect("a code");
    let tokens = flow::exchange(&w.client, &code, start.pkce_verifier).await;
    flow::validate_id_token(&w.client, &tokens, Some(&start.nonce));
}
