//! Machine apps: the client-credentials grant (RFC 6749 §4.4) and token introspection (RFC
//! 7662), with `openidconnect`'s own `exchange_client_credentials` and `introspect` (from the
//! `oauth2` crate it re-exports) as the client, and raw forms for what a library will not send.

use super::*;
use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreTokenIntrospectionResponse};
use openidconnect::{
    AccessToken, AuthType, ClientId, ClientSecret, IntrospectionUrl, RequestTokenError, Scope,
    TokenIntrospectionResponse,
};
use support::oidc_http::OidcHttp;

/// A client for `app` that knows the token and introspection endpoints from discovery, and
/// authenticates with `client_secret_basic` (the library's default).
fn machine_client(
    meta: &Metadata,
    client_id: &str,
    secret: Option<&str>,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let introspection = meta
        .additional_metadata()
        .introspection_endpoint
        .clone()
        .expect("discovery has introspection_endpoint");
    CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(client_id.to_string()),
        secret.map(|s| ClientSecret::new(s.to_string())),
    )
    .set_introspection_url(IntrospectionUrl::new(introspection).expect("introspection URL"))
}

fn secret(app: &AppCreds) -> &str {
    app.client_secret.as_deref().expect("a confidential app")
}

async fn introspect(
    client: &CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    token: &str,
) -> CoreTokenIntrospectionResponse {
    let token = AccessToken::new(token.to_string());
    client
        .introspect(&token)
        .request_async(&OidcHttp::new())
        .await
        .unwrap_or_else(|e| panic!("introspection failed: {}", flow::error_chain(&e)))
}

#[tokio::test]
async fn a_machine_app_gets_a_token_for_itself_and_introspects_it() {
    let sesame = Sesame::start_default();
    let job = sesame.create_machine_app("Backup job");
    assert_eq!(job.json["type"], "machine", "{}", job.json);
    let meta = flow::discover(&sesame.issuer).await;
    let d = HttpClient::new()
        .get(&sesame.url("/.well-known/openid-configuration"))
        .await
        .json();
    assert!(contains(&d["grant_types_supported"], "client_credentials"));
    assert_eq!(
        d["introspection_endpoint"].as_str(),
        Some(sesame.url("/token/introspect").as_str())
    );
    assert_eq!(
        d["introspection_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );

    let client = machine_client(&meta, &job.client_id, Some(secret(&job)));
    let tokens = client
        .exchange_client_credentials()
        .expect("token endpoint in discovery")
        .request_async(&OidcHttp::new())
        .await
        .unwrap_or_else(|e| panic!("client credentials failed: {}", flow::error_chain(&e)));
    assert!(tokens.refresh_token().is_none(), "RFC 6749 §4.4.3");
    assert!(tokens.id_token().is_none(), "no user, no ID token");
    assert!(tokens.expires_in().is_some());
    let at = tokens.access_token().secret().clone();

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = machine_client(&meta, &job.client_id, Some(secret(&job))).set_auth_type(auth);
        let v = introspect(&client, &at).await;
        assert!(v.active());
        assert_eq!(v.sub(), Some(job.client_id.as_str()));
        assert_eq!(
            v.client_id().map(|c| c.as_str()),
            Some(job.client_id.as_str())
        );
        assert_eq!(v.iss(), Some(sesame.issuer.as_str()));
        assert!(v.exp().is_some() && v.iat().is_some());
        assert!(v.scopes().is_none());
        assert_eq!(
            v.token_type().map(|t| t.as_ref().to_ascii_lowercase()),
            Some("bearer".to_string())
        );
    }

    // Userinfo answers for a user; a machine token names none.
    let r = flow::userinfo_raw(&sesame, &at).await;
    flow::assert_oauth_error(&r, 401, "invalid_token");
}

#[tokio::test]
async fn an_app_sees_only_its_own_tokens_and_revoked_ones_go_inactive() {
    let w = world().await;
    let signed_in = flow::full_sign_in(&w.sesame, &w.browser, &w.client, &w.app, ADA).await;
    let at = signed_in.access_token().secret().clone();
    let rt = signed_in.refresh_token().secret().clone();
    let own = machine_client(&w.meta, &w.app.client_id, Some(secret(&w.app)));

    let v = introspect(&own, &at).await;
    assert!(v.active());
    assert_eq!(v.sub(), Some(signed_in.sub().as_str()));
    let scopes: Vec<String> = v.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert!(scopes.contains(&"openid".to_string()), "{scopes:?}");
    let v = introspect(&own, &rt).await;
    assert!(v.active(), "a refresh token is introspected too");
    assert_eq!(v.sub(), Some(signed_in.sub().as_str()));

    // Another app, even a confidential one of the same sesame, learns nothing.
    let job = w.sesame.create_machine_app("Backup job");
    let other = machine_client(&w.meta, &job.client_id, Some(secret(&job)));
    for token in [&at, &rt, &"not-a-token".to_string()] {
        let v = introspect(&other, token).await;
        assert!(!v.active());
        assert!(v.sub().is_none() && v.client_id().is_none() && v.exp().is_none());
    }

    // Revoking the refresh token ends the family: both go inactive.
    let r = flow::revoke_raw(
        &w.sesame,
        &w.app.client_id,
        secret(&w.app),
        &rt,
        Some("refresh_token"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(!introspect(&own, &at).await.active());
    assert!(!introspect(&own, &rt).await.active());
}

#[tokio::test]
async fn wrong_credentials_public_clients_and_scopes_are_refused() {
    let w = world().await;
    let job = w.sesame.create_machine_app("Backup job");

    // Wrong secret: invalid_client, 401, at the token and the introspection endpoints.
    let wrong = machine_client(&w.meta, &job.client_id, Some("wrong"));
    let e = wrong
        .exchange_client_credentials()
        .unwrap()
        .request_async(&OidcHttp::new())
        .await
        .unwrap_err();
    assert_server_error(&e, CoreErrorResponseType::InvalidClient);
    let token = AccessToken::new("anything".into());
    let e = wrong
        .introspect(&token)
        .request_async(&OidcHttp::new())
        .await
        .unwrap_err();
    match &e {
        RequestTokenError::ServerResponse(r) => {
            assert_eq!(*r.error(), CoreErrorResponseType::InvalidClient)
        }
        other => panic!("expected invalid_client, got {}", flow::error_chain(other)),
    }
    let r = introspect_raw(&w.sesame, &job.client_id, "wrong").await;
    flow::assert_oauth_error(&r, 401, "invalid_client");

    // A traditional app may not use the grant; nor may a public one, which has no secret.
    let web = machine_client(&w.meta, &w.app.client_id, Some(secret(&w.app)));
    let e = web
        .exchange_client_credentials()
        .unwrap()
        .request_async(&OidcHttp::new())
        .await
        .unwrap_err();
    assert_server_error(&e, CoreErrorResponseType::UnauthorizedClient);
    let spa = w
        .sesame
        .create_app(&AppSpec::new("Reader SPA", "http://127.0.0.1:9/spa/callback").app_type("spa"));
    let r = flow::token_form(
        &w.sesame,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &spa.client_id),
        ],
        None,
    )
    .await;
    flow::assert_oauth_error(&r, 400, "unauthorized_client");
    // A public app cannot introspect: it has nothing to authenticate with.
    let r = HttpClient::new()
        .post_form_with(
            &w.sesame.url("/token/introspect"),
            &[("token", "x"), ("client_id", &spa.client_id)],
            &[("accept", "application/json")],
        )
        .await;
    flow::assert_oauth_error(&r, 401, "invalid_client");

    // A machine app may not sign a user in: /auth shows a page saying so (nothing to redirect
    // to), the token endpoint refuses a code exchange, and it gets no user scopes.
    let auth = flow::auth_url(
        &w.sesame,
        &[
            ("client_id", &job.client_id),
            ("redirect_uri", "https://x.example/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
        ],
    );
    let page = HttpClient::new().get(&auth).await;
    assert_eq!(page.status, 400, "{}", page.describe());
    assert!(page.header("location").is_none(), "{}", page.describe());
    assert!(page.body.contains("machine app"), "{}", page.describe());
    let r = flow::token_form(
        &w.sesame,
        &[("grant_type", "authorization_code"), ("code", "x")],
        Some((&job.client_id, secret(&job))),
    )
    .await;
    flow::assert_oauth_error(&r, 400, "unauthorized_client");
    let own = machine_client(&w.meta, &job.client_id, Some(secret(&job)));
    for scope in ["openid", "bogus"] {
        let e = own
            .exchange_client_credentials()
            .unwrap()
            .add_scope(Scope::new(scope.into()))
            .request_async(&OidcHttp::new())
            .await
            .unwrap_err();
        assert_server_error(&e, CoreErrorResponseType::InvalidScope);
    }
}

fn assert_server_error<RE: std::error::Error + 'static>(
    e: &RequestTokenError<RE, openidconnect::StandardErrorResponse<CoreErrorResponseType>>,
    expected: CoreErrorResponseType,
) {
    match e {
        RequestTokenError::ServerResponse(r) => assert_eq!(*r.error(), expected, "{r:?}"),
        other => panic!("expected {expected:?}, got {}", flow::error_chain(other)),
    }
}

async fn introspect_raw(sesame: &Sesame, client_id: &str, secret: &str) -> support::http::Response {
    let auth = support::http::basic_auth(client_id, secret);
    HttpClient::new()
        .post_form_with(
            &sesame.url("/token/introspect"),
            &[("token", "x")],
            &[("authorization", &auth), ("accept", "application/json")],
        )
        .await
}
