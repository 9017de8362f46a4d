//! Protocol errors: error pages that never redirect, and RFC 6749 errors at the token endpoint.

use super::*;

/// An error page: HTML, 400, and no redirect anywhere.
fn assert_error_page(answer: &support::http::Response) {
    assert_eq!(answer.status, 400, "{}", answer.describe());
    assert!(
        answer.content_type().starts_with("text/html"),
        "{}",
        answer.describe()
    );
    assert!(answer.header("location").is_none(), "{}", answer.describe());
}

#[tokio::test]
async fn an_unknown_client_id_shows_an_error_page() {
    let w = world().await;
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", "no-such-client"),
            ("redirect_uri", "http://127.0.0.1:9/bookstore/callback"),
            ("scope", "openid"),
            ("state", "st"),
        ],
    );
    assert_error_page(&w.browser.get(&url).await);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_shows_an_error_page() {
    let w = world().await;
    let registered = w.app.redirect_uri.clone();
    for redirect in [
        "http://127.0.0.1:9/evil".to_string(),
        format!("{registered}/extra"),
        format!("{registered}?x=1"),
        registered.to_uppercase(),
    ] {
        let url = flow::auth_url(
            &w.sesame,
            &[
                ("response_type", "code"),
                ("client_id", &w.app.client_id),
                ("redirect_uri", &redirect),
                ("scope", "openid"),
                ("state", "st"),
            ],
        );
        let answer = w.browser.get(&url).await;
        assert_error_page(&answer);
    }
    // A missing redirect_uri is an error page too (never a guess).
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("scope", "openid"),
        ],
    );
    assert_error_page(&w.browser.get(&url).await);
}

#[tokio::test]
async fn only_the_code_flow_is_offered() {
    let w = world().await;
    for response_type in ["token", "id_token", "code id_token"] {
        let url = flow::auth_url(
            &w.sesame,
            &[
                ("response_type", response_type),
                ("client_id", &w.app.client_id),
                ("redirect_uri", &w.app.redirect_uri),
                ("scope", "openid"),
                ("state", "st"),
                ("nonce", "n"),
            ],
        );
        let answer = w.browser.get_following(&url, &w.sesame.issuer).await;
        let callback = flow::callback(&answer.expect_redirect());
        assert_eq!(
            callback.error.as_deref(),
            Some("unsupported_response_type"),
            "response_type={response_type}: {}",
            callback.url
        );
        assert!(callback.url.fragment().is_none_or(|f| !f.contains("token")));
    }
}

/// Signs in and returns an unexchanged code with its PKCE verifier.
async fn fresh_code(w: &World) -> (String, String) {
    let (verifier, challenge) = flow::pkce_pair();
    let url = flow::auth_url(
        &w.sesame,
        &[
            ("response_type", "code"),
            ("client_id", &w.app.client_id),
            ("redirect_uri", &w.app.redirect_uri),
            ("scope", "openid offline_access"),
            ("state", "st"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = if w.browser.cookie("sesame_session").is_some() {
        flow::sso(&w.sesame, &w.browser, &url).await
    } else {
        flow::sign_in(&w.sesame, &w.browser, &url, ADA).await
    };
    (
        callback.expect_code(&w.sesame, &w.app, Some("st")),
        verifier,
    )
}

fn code_form<'a>(w: &'a World, code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", w.app.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client() {
    let w = world().await;
    let (code, verifier) = fresh_code(&w).await;
    let id = w.app.client_id.as_str();

    let basic = flow::token_form(
        &w.sesame,
        &code_form(&w, &code, &verifier),
        Some((id, "wrong")),
    )
    .await;
    flow::assert_oauth_error(&basic, 401, "invalid_client");
    assert!(
        basic
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic")),
        "401 to basic auth carries WWW-Authenticate: Basic: {}",
        basic.describe()
    );

    let mut form = code_form(&w, &code, &verifier);
    form.extend([("client_id", id), ("client_secret", "wrong")]);
    let post = flow::token_form(&w.sesame, &form, None).await;
    flow::assert_oauth_error(&post, 401, "invalid_client");

    let unknown = flow::token_form(
        &w.sesame,
        &code_form(&w, &code, &verifier),
        Some(("nobody", "x")),
    )
    .await;
    flow::assert_oauth_error(&unknown, 401, "invalid_client");

    // A confidential client may not skip authentication.
    let mut form = code_form(&w, &code, &verifier);
    form.push(("client_id", id));
    let none = flow::token_form(&w.sesame, &form, None).await;
    flow::assert_oauth_error(&none, 401, "invalid_client");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let w = world().await;
    let secret = w.app.client_secret.clone().unwrap();
    let creds = Some((w.app.client_id.as_str(), secret.as_str()));
    let (code, _verifier) = fresh_code(&w).await;
    let (other_verifier, _) = flow::pkce_pair();
    let wrong = flow::token_form(&w.sesame, &code_form(&w, &code, &other_verifier), creds).await;
    flow::assert_oauth_error(&wrong, 400, "invalid_grant");

    let (code, _verifier) = fresh_code(&w).await;
    let form: Vec<_> = code_form(&w, &code, "")
        .into_iter()
        .filter(|(k, _)| *k != "code_verifier")
        .collect();
    let missing = flow::token_form(&w.sesame, &form, creds).await;
    flow::assert_oauth_error(&missing, 400, "invalid_grant");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let w = world().await;
    let other = w.sesame.create_web_app("Forum");
    let (code, verifier) = fresh_code(&w).await;
    let stolen = flow::token_form(
        &w.sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &other.redirect_uri),
            ("code_verifier", &verifier),
        ],
        Some((&other.client_id, other.client_secret.as_deref().unwrap())),
    )
    .await;
    flow::assert_oauth_error(&stolen, 400, "invalid_grant");

    let (code, verifier) = fresh_code(&w).await;
    let secret = w.app.client_secret.clone().unwrap();
    let moved = flow::token_form(
        &w.sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", &verifier),
        ],
        Some((&w.app.client_id, &secret)),
    )
    .await;
    flow::assert_oauth_error(&moved, 400, "invalid_grant");
}

#[tokio::test]
async fn an_unsupported_grant_type_is_refused() {
    let w = world().await;
    let secret = w.app.client_secret.clone().unwrap();
    // client_credentials is supported, for machine apps only (tests/oidc_flow/machine.rs); the
    // device code grant for apps with device_flow only (tests/js_clients.rs).
    for (grant, error) in [
        ("password", "unsupported_grant_type"),
        (
            "urn:ietf:params:oauth:grant-type:device_code",
            "unauthorized_client",
        ),
    ] {
        let answer = flow::token_form(
            &w.sesame,
            &[
                ("grant_type", grant),
                ("username", "ada"),
                ("password", "x"),
                ("device_code", "x"),
                ("scope", "openid"),
            ],
            Some((&w.app.client_id, &secret)),
        )
        .await;
        flow::assert_oauth_error(&answer, 400, error);
    }
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    let w = world().await;
    let secret = w.app.client_secret.clone().unwrap();
    let (verifier, _) = flow::pkce_pair();
    let answer = flow::token_form(
        &w.sesame,
        &code_form(&w, "no-such-code", &verifier),
        Some((&w.app.client_id, &secret)),
    )
    .await;
    flow::assert_oauth_error(&answer, 400, "invalid_grant");
    let refresh = flow::refresh_raw(&w.sesame, &w.app, "no-such-refresh-token").await;
    flow::assert_oauth_error(&refresh, 400, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let opts = SesameOpts {
        env: vec![("SESAME_TOKENS_AUTHORIZATION_CODE_TTL".into(), "1".into())],
        ..Default::default()
    };
    let w = world_with(opts).await;
    let (code, verifier) = fresh_code(&w).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let secret = w.app.client_secret.clone().unwrap();
    let answer = flow::token_form(
        &w.sesame,
        &code_form(&w, &code, &verifier),
        Some((&w.app.client_id, &secret)),
    )
    .await;
    flow::assert_oauth_error(&answer, 400, "invalid_grant");
}

/// The issuer comes from configuration, never from the request's Host header.
#[tokio::test]
async fn the_issuer_ignores_the_host_header() {
    let sesame = Sesame::start_default();
    for host in ["evil.example", "evil.example:443", "127.0.0.1:1"] {
        let answer = HttpClient::new()
            .get_with(
                &sesame.url("/.well-known/openid-configuration"),
                &[
                    ("host", host),
                    ("x-forwarded-host", host),
                    ("forwarded", "host=evil.example"),
                ],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.describe());
        let d = answer.json();
        assert_eq!(
            d["issuer"].as_str(),
            Some(sesame.issuer.as_str()),
            "Host: {host}"
        );
        assert_eq!(
            d["authorization_endpoint"].as_str(),
            Some(sesame.url("/auth").as_str()),
            "Host: {host}"
        );
    }
}
