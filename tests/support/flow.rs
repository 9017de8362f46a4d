//! The OpenID Connect flow as a relying party and a browser run it, in reusable steps.
//!
//! The relying party is the `openidconnect` crate (discovery, authorization URL, code exchange,
//! ID token validation, userinfo, refresh, revocation, logout URL). The browser is
//! [`HttpClient`]: it follows sesame's redirects, fills the email page, reads the code from the
//! mail the SMTP server received, fills the code page, and stops at the redirect back to the app.
//! Raw helpers (`token_form`, `userinfo_raw`, ...) exist for the error cases a library refuses
//! to produce.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreIdTokenClaims,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RefreshToken, RevocationUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::html::{find_form_with, forms, Form};
use super::http::{basic_auth, excerpt, query_param, HttpClient, Response};
use super::oidc_http::OidcHttp;
use super::{AppCreds, Sesame};

/// The scope Logto's Auth.js guides ask for.
pub const SCOPES: &[&str] = &["offline_access", "profile", "email"];

/// Discovery fields `openidconnect`'s core metadata does not model.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    pub revocation_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A client built from discovery: authorization, token, userinfo and revocation endpoints.
pub type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An authorization request as the relying party remembers it until the callback.
pub struct AuthStart {
    pub url: Url,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub pkce_verifier: Option<PkceCodeVerifier>,
}

/// What the app's callback received.
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: Url,
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The outcome of a whole sign-in: tokens, with the ID token already validated.
pub struct SignedIn {
    pub tokens: CoreTokenResponse,
    pub id_token: CoreIdToken,
    pub claims: CoreIdTokenClaims,
    pub callback: Callback,
}

impl SignedIn {
    pub fn access_token(&self) -> &AccessToken {
        self.tokens.access_token()
    }

    pub fn refresh_token(&self) -> &RefreshToken {
        self.tokens
            .refresh_token()
            .expect("a refresh token (offline_access was asked for)")
    }

    pub fn sub(&self) -> String {
        self.claims.subject().to_string()
    }
}

/// Discovery through `openidconnect` (which also fetches the JWKS and checks the issuer).
pub async fn discover(issuer: &str) -> Metadata {
    let issuer_url = IssuerUrl::new(issuer.to_string()).expect("issuer URL");
    Metadata::discover_async(issuer_url, &OidcHttp::new())
        .await
        .unwrap_or_else(|e| panic!("discovery of {issuer} failed: {}", error_chain(&e)))
}

/// A relying party for `app`, from discovery. Confidential apps authenticate with
/// `client_secret_basic` (the library's default) unless changed with `set_auth_type`.
pub fn client(meta: &Metadata, app: &AppCreds) -> OidcClient {
    let revocation = meta
        .additional_metadata()
        .revocation_endpoint
        .clone()
        .expect("discovery has revocation_endpoint");
    CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(app.client_id.clone()),
        app.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(app.redirect_uri.clone()).expect("redirect URI"))
    .set_revocation_url(RevocationUrl::new(revocation).expect("revocation URL"))
}

/// Same as [`client`] with `client_secret_post`.
pub fn client_post(meta: &Metadata, app: &AppCreds) -> OidcClient {
    client(meta, app).set_auth_type(AuthType::RequestBody)
}

/// An authorization URL with PKCE S256 (when `pkce`), state, nonce, and the given scopes on
/// top of `openid`, plus any extra parameters.
pub fn authorize(
    client: &OidcClient,
    scopes: &[&str],
    pkce: bool,
    prompt: Option<CoreAuthPrompt>,
) -> AuthStart {
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    if let Some(prompt) = prompt {
        request = request.add_prompt(prompt);
    }
    let mut pkce_verifier = None;
    if pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        request = request.set_pkce_challenge(challenge);
        pkce_verifier = Some(verifier);
    }
    let (url, state, nonce) = request.url();
    AuthStart {
        url,
        state,
        nonce,
        pkce_verifier,
    }
}

/// A hand-built authorization URL (for requests `openidconnect` would not make).
pub fn auth_url(sesame: &Sesame, params: &[(&str, &str)]) -> String {
    auth_url_at(&sesame.issuer, params)
}

/// [`auth_url`] for any issuer (`sesame dev`'s).
pub fn auth_url_at(issuer: &str, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{issuer}/auth")).expect("auth URL");
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    url.to_string()
}

/// A PKCE pair made by hand: (verifier, S256 challenge).
pub fn pkce_pair() -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    (
        verifier.secret().to_string(),
        challenge.as_str().to_string(),
    )
}

/// Opens `auth_url` in `browser`, following sesame's redirects; panics unless the email page
/// comes up. Returns the page.
pub async fn open_email_page(sesame: &Sesame, browser: &HttpClient, auth_url: &str) -> Response {
    let page = browser.get_following(auth_url, &sesame.issuer).await;
    assert_email_page(&page);
    page
}

/// Opens `path` (a page of sesame's own that needs a session: `/account`, `/console`) in a
/// browser without one, signs in as `email` with the mailed code, checks the sign-in comes back
/// to `path`, and returns the page there.
pub async fn sign_in_at(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    email: &str,
) -> Response {
    let page = browser
        .get_following(&sesame.url(path), &sesame.issuer)
        .await;
    assert_email_page(&page);
    let code_page = submit_email(sesame, browser, &page, email).await;
    let code = sesame.next_code_for(email).await;
    let answer = submit_code(browser, &code_page, &code).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    assert_eq!(
        answer.expect_redirect().as_str(),
        sesame.url(path),
        "back to {path}"
    );
    browser.follow_within(answer, &sesame.issuer).await
}

/// Panics unless `page` is sesame's email page.
pub fn assert_email_page(page: &Response) {
    assert!(
        page.status == 200 && find_form_with(&page.body, "email").is_some(),
        "expected the email page, got {}",
        page.describe()
    );
}

/// Submits the email form on `page` (with the page's own hidden fields) and follows to the
/// code page, which it returns.
pub async fn submit_email(
    sesame: &Sesame,
    browser: &HttpClient,
    page: &Response,
    email: &str,
) -> Response {
    let response = submit_form(browser, page, "email", &[("email", email)], None).await;
    assert_eq!(
        response.status,
        303,
        "POST /sign-in should answer 303 to the code page: {}",
        response.describe()
    );
    let location = response.expect_redirect();
    assert!(
        location.as_str().starts_with(&sesame.url("/sign-in/code")),
        "POST /sign-in should redirect to {}, went to {location}",
        sesame.url("/sign-in/code")
    );
    let code_page = browser.follow_within(response, &sesame.issuer).await;
    assert_code_page(&code_page);
    code_page
}

/// Panics unless `page` is sesame's code page.
pub fn assert_code_page(page: &Response) {
    assert!(
        page.status == 200 && find_form_with(&page.body, "code").is_some(),
        "expected the code page, got {}",
        page.describe()
    );
}

/// Panics unless `page` shows the code form, whatever its status (an error page may be 4xx).
pub fn assert_code_page_any_status(page: &Response) {
    assert!(
        find_form_with(&page.body, "code").is_some(),
        "expected the code form, got {}",
        page.describe()
    );
}

/// Submits the code form on `page`; returns sesame's answer (not followed).
pub async fn submit_code(browser: &HttpClient, page: &Response, code: &str) -> Response {
    submit_form(browser, page, "code", &[("code", code)], None).await
}

/// Submits the form containing the button `name="resend"`; returns sesame's answer.
pub async fn submit_resend(browser: &HttpClient, page: &Response) -> Response {
    let forms = forms(&page.body);
    let form = forms
        .iter()
        .find(|f| f.buttons.iter().any(|(n, _)| n == "resend"))
        .unwrap_or_else(|| panic!("no button name=\"resend\" on {}", page.describe()));
    let value = form
        .buttons
        .iter()
        .find(|(n, _)| n == "resend")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = form.fields.clone();
    fields.push(("resend".to_string(), value));
    post_fields(browser, page, form, &fields).await
}

/// The whole browser side: open the authorization URL, enter `email`, read the code from the
/// mail, enter it, and return where sesame sent the browser back to (the app's redirect URI).
pub async fn sign_in(
    sesame: &Sesame,
    browser: &HttpClient,
    auth_url: &str,
    email: &str,
) -> Callback {
    let page = open_email_page(sesame, browser, auth_url).await;
    let code_page = submit_email(sesame, browser, &page, email).await;
    let code = sesame.next_code_for(email).await;
    let answer = submit_code(browser, &code_page, &code).await;
    let answer = browser.follow_within(answer, &sesame.issuer).await;
    let location = answer.expect_redirect();
    callback(&location)
}

/// Runs the authorization again in a browser that already has a session: no page, straight
/// back to the app.
pub async fn sso(sesame: &Sesame, browser: &HttpClient, auth_url: &str) -> Callback {
    let answer = browser.get_following(auth_url, &sesame.issuer).await;
    let location = answer.expect_redirect();
    callback(&location)
}

/// Parses the app's callback URL.
pub fn callback(location: &Url) -> Callback {
    Callback {
        url: location.clone(),
        code: query_param(location, "code"),
        state: query_param(location, "state"),
        iss: query_param(location, "iss"),
        error: query_param(location, "error"),
    }
}

impl Callback {
    /// Checks the callback is a success for `app` with `state` and sesame's `iss`; returns
    /// the code.
    pub fn expect_code(&self, sesame: &Sesame, app: &AppCreds, state: Option<&str>) -> String {
        self.expect_code_at(&sesame.issuer, app, state)
    }

    /// [`Callback::expect_code`] for any issuer (`sesame dev`'s).
    pub fn expect_code_at(&self, issuer: &str, app: &AppCreds, state: Option<&str>) -> String {
        assert!(
            self.url.as_str().starts_with(&app.redirect_uri),
            "redirected to {}, expected the app's redirect URI {}",
            self.url,
            app.redirect_uri
        );
        assert_eq!(self.error, None, "error in callback {}", self.url);
        assert_eq!(
            self.state.as_deref(),
            state,
            "state in callback {}",
            self.url
        );
        assert_eq!(
            self.iss.as_deref(),
            Some(issuer),
            "iss (RFC 9207) in callback {}",
            self.url
        );
        self.code
            .clone()
            .unwrap_or_else(|| panic!("no code in callback {}", self.url))
    }
}

/// Exchanges a code with `openidconnect`; panics with the server's answer on failure.
pub async fn exchange(
    client: &OidcClient,
    code: &str,
    verifier: Option<PkceCodeVerifier>,
) -> CoreTokenResponse {
    try_exchange(client, code, verifier)
        .await
        .unwrap_or_else(|e| panic!("code exchange failed: {e}"))
}

/// Exchanges a code; the error is a readable description (with the server's error code).
pub async fn try_exchange(
    client: &OidcClient,
    code: &str,
    verifier: Option<PkceCodeVerifier>,
) -> Result<CoreTokenResponse, String> {
    let mut request = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .expect("token endpoint in discovery");
    if let Some(verifier) = verifier {
        request = request.set_pkce_verifier(verifier);
    }
    request
        .request_async(&OidcHttp::new())
        .await
        .map_err(|e| error_chain(&e))
}

/// Validates the ID token in `tokens` (signature with the JWKS, `iss`, `aud`, `exp`, `iat`, the
/// nonce, and `at_hash` when present). Returns the token and its claims.
pub fn validate_id_token(
    client: &OidcClient,
    tokens: &CoreTokenResponse,
    nonce: Option<&Nonce>,
) -> (CoreIdToken, CoreIdTokenClaims) {
    let id_token = tokens
        .id_token()
        .expect("an ID token in the token response")
        .clone();
    let verifier = client.id_token_verifier();
    let claims = match nonce {
        Some(nonce) => id_token.claims(&verifier, nonce),
        None => id_token.claims(&verifier, |n: Option<&Nonce>| match n {
            None => Ok(()),
            Some(n) => Err(format!("unexpected nonce {:?} (none was sent)", n.secret())),
        }),
    }
    .unwrap_or_else(|e| panic!("ID token did not validate: {}", error_chain(&e)))
    .clone();
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().expect("signing alg");
        let key = id_token.signing_key(&verifier).expect("signing key");
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key).expect("at_hash");
        assert_eq!(&actual, expected, "at_hash does not match the access token");
    }
    (id_token, claims)
}

/// The whole flow for a confidential or public app: authorization (PKCE + state + nonce + the
/// Logto scopes), the pages, the exchange, ID token validation.
pub async fn full_sign_in(
    sesame: &Sesame,
    browser: &HttpClient,
    client: &OidcClient,
    app: &AppCreds,
    email: &str,
) -> SignedIn {
    let start = authorize(client, SCOPES, true, None);
    let callback = sign_in(sesame, browser, start.url.as_str(), email).await;
    let code = callback.expect_code(sesame, app, Some(start.state.secret()));
    let tokens = exchange(client, &code, start.pkce_verifier).await;
    let (id_token, claims) = validate_id_token(client, &tokens, Some(&start.nonce));
    SignedIn {
        tokens,
        id_token,
        claims,
        callback,
    }
}

/// Same as [`full_sign_in`] for a browser that already has a session (no pages, no mail).
pub async fn sso_sign_in(
    sesame: &Sesame,
    browser: &HttpClient,
    client: &OidcClient,
    app: &AppCreds,
) -> SignedIn {
    let start = authorize(client, SCOPES, true, None);
    let callback = sso(sesame, browser, start.url.as_str()).await;
    let code = callback.expect_code(sesame, app, Some(start.state.secret()));
    let tokens = exchange(client, &code, start.pkce_verifier).await;
    let (id_token, claims) = validate_id_token(client, &tokens, Some(&start.nonce));
    SignedIn {
        tokens,
        id_token,
        claims,
        callback,
    }
}

/// Userinfo through `openidconnect` (checks `sub` matches).
pub async fn userinfo(
    client: &OidcClient,
    access_token: &AccessToken,
    sub: &str,
) -> Result<CoreUserInfoClaims, String> {
    client
        .user_info(
            access_token.clone(),
            Some(openidconnect::SubjectIdentifier::new(sub.to_string())),
        )
        .expect("userinfo endpoint in discovery")
        .request_async(&OidcHttp::new())
        .await
        .map_err(|e| error_chain(&e))
}

/// Refresh through `openidconnect`.
pub async fn refresh(
    client: &OidcClient,
    refresh_token: &RefreshToken,
) -> Result<CoreTokenResponse, String> {
    client
        .exchange_refresh_token(refresh_token)
        .expect("token endpoint in discovery")
        .request_async(&OidcHttp::new())
        .await
        .map_err(|e| error_chain(&e))
}

/// POST to the token endpoint with a raw form, optionally with HTTP Basic client credentials.
pub async fn token_form(
    sesame: &Sesame,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Response {
    token_form_to(&sesame.url("/token"), form, basic).await
}

/// [`token_form`] for any issuer (`sesame dev`'s), with HTTP Basic client credentials.
pub async fn token_form_at(issuer: &str, form: &[(&str, &str)], basic: (&str, &str)) -> Response {
    token_form_to(&format!("{issuer}/token"), form, Some(basic)).await
}

async fn token_form_to(
    token_endpoint: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Response {
    let http = HttpClient::new();
    let auth = basic.map(|(id, secret)| basic_auth(id, secret));
    let headers: Vec<(&str, &str)> = match &auth {
        Some(value) => vec![
            ("authorization", value.as_str()),
            ("accept", "application/json"),
        ],
        None => vec![("accept", "application/json")],
    };
    http.post_form_with(token_endpoint, form, &headers).await
}

/// A refresh grant with `client_secret_basic`, raw.
pub async fn refresh_raw(sesame: &Sesame, app: &AppCreds, refresh_token: &str) -> Response {
    let secret = app.client_secret.as_deref().unwrap_or("");
    token_form(
        sesame,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        Some((&app.client_id, secret)),
    )
    .await
}

/// GET /me with a bearer token, raw.
pub async fn userinfo_raw(sesame: &Sesame, access_token: &str) -> Response {
    userinfo_raw_at(&sesame.issuer, access_token).await
}

/// [`userinfo_raw`] for any issuer (`sesame dev`'s).
pub async fn userinfo_raw_at(issuer: &str, access_token: &str) -> Response {
    let bearer = format!("Bearer {access_token}");
    HttpClient::new()
        .get_with(&format!("{issuer}/me"), &[("authorization", &bearer)])
        .await
}

/// POST /token/revocation with `client_secret_basic`, raw.
pub async fn revoke_raw(
    sesame: &Sesame,
    client_id: &str,
    secret: &str,
    token: &str,
    hint: Option<&str>,
) -> Response {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let auth = basic_auth(client_id, secret);
    HttpClient::new()
        .post_form_with(
            &sesame.url("/token/revocation"),
            &form,
            &[("authorization", &auth)],
        )
        .await
}

/// Asserts an RFC 6749 error response: status, JSON `error`.
pub fn assert_oauth_error(response: &Response, status: u16, error: &str) {
    assert_eq!(
        response.status,
        status,
        "expected HTTP {status} with error={error}, got {}",
        response.describe()
    );
    assert!(
        response.content_type().starts_with("application/json"),
        "an OAuth error must be JSON, got content-type {:?}: {}",
        response.content_type(),
        response.describe()
    );
    assert_eq!(
        response.json()["error"].as_str(),
        Some(error),
        "wrong error code: {}",
        response.describe()
    );
}

/// Decodes a JWT's header without checking anything (for `alg`/`kid` assertions).
pub fn jwt_header(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 0)
}

/// Decodes a JWT's payload without checking anything.
pub fn jwt_payload(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 1)
}

fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(index).expect("JWT part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url JWT part");
    serde_json::from_slice(&bytes).expect("JSON JWT part")
}

/// An error with its sources, so a failure says what the server answered.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Fills `values` into the form that has an input named `key_field` and submits it as a
/// browser would (to its action, resolved against the page URL; all its other fields as they
/// are). `skip` drops one field (to test a missing CSRF token).
pub async fn submit_form(
    browser: &HttpClient,
    page: &Response,
    key_field: &str,
    values: &[(&str, &str)],
    skip: Option<&str>,
) -> Response {
    let form = find_form_with(&page.body, key_field)
        .unwrap_or_else(|| panic!("no form with input {key_field:?}: {}", page.describe()));
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in &form.fields {
        if Some(name.as_str()) == skip {
            continue;
        }
        let filled = values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| value.clone());
        fields.push((name.clone(), filled));
    }
    post_fields(browser, page, &form, &fields).await
}

async fn post_fields(
    browser: &HttpClient,
    page: &Response,
    form: &Form,
    fields: &[(String, String)],
) -> Response {
    assert!(
        form.method.eq_ignore_ascii_case("post"),
        "sesame's forms must use method=post, got {:?} in:\n{}",
        form.method,
        excerpt(&form.html)
    );
    let target = match form.action.as_deref() {
        Some(action) if !action.is_empty() => page.url.join(action).expect("form action URL"),
        _ => page.url.clone(),
    };
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post_form(target.as_str(), &pairs).await
}
