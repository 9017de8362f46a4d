//! The authorization endpoint (OIDC Core §3.1.2): validating a request, deciding whether the
//! user must sign in, and issuing authorization codes.
//!
//! Validation order follows RFC 6749 §4.1.2.1: while the client or the redirect URI is in
//! doubt, nothing redirects (an error page is shown: an open redirector is worse than an
//! unhelpful page); once both are known good, errors go back to the client.

use super::error::{ErrorCode, OAuthError};
use super::issuer::Issuer;
use crate::crypto;
use crate::http::Params;
use crate::store::{
    App, AuthCode, AuthRequest, Session, Store, StoreError, WriteTx, APPS, AUTH_CODES, GRANTS,
};

/// Scopes sesame knows; others are dropped from the request (RFC 6749 §3.3 allows the server
/// to grant fewer scopes than asked).
pub const KNOWN_SCOPES: &[&str] = &["openid", "offline_access", "profile", "email"];

/// The longest `state`, `nonce` or `login_hint` accepted.
pub const MAX_PARAM_LEN: usize = 2048;

/// A request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub app: App,
    pub request: AuthRequest,
    /// `prompt=none`: never show a page.
    pub prompt_none: bool,
    /// `prompt=login`: make the user sign in again even with a session.
    pub prompt_login: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page {
        title: String,
        message: String,
        hint: String,
    },
    /// The client and redirect URI are good: send the error back to the client.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// What to do with a valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The session is good enough: issue a code now (single sign-on).
    Issue,
    /// The user must sign in: show the sign-in pages.
    SignIn,
    /// `prompt=none` and the user would have to sign in: answer `login_required`.
    LoginRequired,
}

fn page(title: &str, message: impl Into<String>, hint: &str) -> AuthorizeError {
    AuthorizeError::Page {
        title: title.into(),
        message: message.into(),
        hint: hint.into(),
    }
}

/// Validates an authorization request's parameters (query for GET, form for POST).
pub fn validate(store: &Store, params: &Params) -> Result<ValidRequest, AuthorizeError> {
    const FIX_APP: &str = "The app that sent you here is misconfigured. Tell its administrator; the details are above.";
    let one = |name: &str| {
        params
            .get(name)
            .map_err(|m| page("This sign-in link is malformed", m, FIX_APP))
    };
    let client_id = one("client_id")?.ok_or_else(|| {
        page(
            "This sign-in link is incomplete",
            "The request has no client_id.",
            FIX_APP,
        )
    })?;
    let app = store
        .read(|tx| tx.get(&APPS, client_id))
        .map_err(|e| {
            tracing::error!("storage error: {e}");
            page("Something went wrong", "sesame could not read its data.", "Try again in a moment.")
        })?
        .ok_or_else(|| {
            page(
                "Unknown app",
                format!("No app with client ID {client_id:?} is registered with this sign-in service."),
                "If you run this service, register the app with `sesame app create`, or check the client ID configured in the app.",
            )
        })?;
    let redirect_uri = one("redirect_uri")?.ok_or_else(|| {
        page(
            "This sign-in link is incomplete",
            "The request has no redirect_uri.",
            FIX_APP,
        )
    })?;
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page(
            "Redirect URI not registered",
            format!("The app {:?} asked to return to {redirect_uri:?}, which is not one of its registered redirect URIs.", app.name),
            "If you run this service, add the exact URI with `sesame app update CLIENT_ID --redirect-uri URI` (or in sesame.toml).",
        ));
    }
    // Values sesame stores with the pending sign-in and echoes back are capped, so a request
    // cannot make sesame store (or send back) megabytes.
    for name in ["state", "nonce", "login_hint"] {
        if one(name)?.is_some_and(|v| v.len() > MAX_PARAM_LEN) {
            return Err(page(
                "This sign-in link is malformed",
                format!("The {name} parameter is longer than {MAX_PARAM_LEN} characters."),
                FIX_APP,
            ));
        }
    }
    // From here on the redirect URI is trusted: errors go back to the client.
    let state = params.get("state").ok().flatten().map(str::to_string);
    let back = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error,
    };
    let get = |name: &str| {
        params
            .get(name)
            .map_err(|m| back(OAuthError::invalid_request(m)))
    };
    // `state` itself repeated: report it (the first value is echoed back).
    get("state")?;

    if params.has("request") {
        return Err(back(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        )));
    }
    if params.has("request_uri") {
        return Err(back(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        )));
    }
    match get("response_type")? {
        Some("code") => {}
        Some(other) => {
            return Err(back(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!(
                "response_type {other:?} is not supported; use \"code\" (authorization code flow)"
            ),
            )))
        }
        None => {
            return Err(back(OAuthError::invalid_request(
                "response_type is missing; use \"code\"",
            )))
        }
    }
    match get("response_mode")? {
        None | Some("query") => {}
        Some(other) => {
            return Err(back(OAuthError::invalid_request(format!(
                "response_mode {other:?} is not supported; use \"query\""
            ))))
        }
    }
    let scope_param = get("scope")?.unwrap_or("");
    let asked: Vec<&str> = scope_param.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return Err(back(OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope must include \"openid\" (this is an OpenID Connect provider)",
        )));
    }
    let mut scope: Vec<String> = Vec::new();
    for s in KNOWN_SCOPES {
        if asked.contains(s) {
            scope.push(s.to_string());
        }
    }

    let code_challenge = get("code_challenge")?;
    match (code_challenge, get("code_challenge_method")?) {
        (Some(c), Some("S256")) => {
            // A base64url SHA-256 is 43 characters; RFC 7636 allows 43..=128 unreserved ones.
            let ok = (43..=128).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !ok {
                return Err(back(OAuthError::invalid_request(
                    "code_challenge is not a valid S256 challenge",
                )));
            }
        }
        (Some(_), Some(m)) => {
            return Err(back(OAuthError::invalid_request(format!(
                "code_challenge_method {m:?} is not supported; use S256"
            ))))
        }
        (Some(_), None) => return Err(back(OAuthError::invalid_request(
            "code_challenge_method is missing; sesame supports only S256 (plain is not allowed)",
        ))),
        (None, Some(_)) => {
            return Err(back(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            )))
        }
        (None, None) => {
            if app.app_type.is_public() {
                return Err(back(OAuthError::invalid_request(
                    "this app is public: PKCE is required (send code_challenge with code_challenge_method=S256)",
                )));
            }
        }
    }

    let mut prompt_none = false;
    let mut prompt_login = false;
    if let Some(p) = get("prompt")? {
        for v in p.split(' ').filter(|s| !s.is_empty()) {
            match v {
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                // Apps are registered by the administrator (first party), so consent is
                // implied by registration; there is no consent screen to show.
                "consent" | "select_account" => {}
                other => {
                    return Err(back(OAuthError::invalid_request(format!(
                        "unknown prompt value {other:?}"
                    ))))
                }
            }
        }
        if prompt_none && p.split(' ').filter(|s| !s.is_empty()).count() > 1 {
            return Err(back(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            )));
        }
    }
    let max_age = match get("max_age")? {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            back(OAuthError::invalid_request(
                "max_age must be a non-negative number of seconds",
            ))
        })?),
    };
    let request = AuthRequest {
        client_id: app.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope,
        state: state.clone(),
        nonce: get("nonce")?.map(str::to_string),
        code_challenge: code_challenge.map(str::to_string),
        max_age,
        login_hint: get("login_hint")?.map(str::to_string),
    };
    Ok(ValidRequest {
        app,
        request,
        prompt_none,
        prompt_login,
    })
}

/// Decides whether the current session (if any) can answer the request.
pub fn decide(v: &ValidRequest, session: Option<&Session>, now: u64) -> Decision {
    let fresh_enough = |s: &Session| match v.request.max_age {
        // OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login.
        Some(0) => false,
        Some(max) => now.saturating_sub(s.auth_time) <= max,
        None => true,
    };
    match session {
        Some(s) if !v.prompt_login && fresh_enough(s) => Decision::Issue,
        _ if v.prompt_none => Decision::LoginRequired,
        _ => Decision::SignIn,
    }
}

/// Issues an authorization code inside the caller's write transaction and returns it.
/// The code is bound to the client, redirect URI, PKCE challenge and nonce (all in `request`).
pub fn issue_code(
    tx: &WriteTx,
    request: &AuthRequest,
    user_id: &str,
    auth_time: u64,
    now: u64,
    ttl: u64,
) -> Result<String, StoreError> {
    let code = crypto::random_token();
    let grant_id = crypto::random_id();
    tx.put(
        &AUTH_CODES,
        &crypto::hash_token(&code),
        &AuthCode {
            request: request.clone(),
            user_id: user_id.to_string(),
            auth_time,
            grant_id,
            expires_at: now + ttl,
            used: false,
        },
    )?;
    Ok(code)
}

/// The URL that returns a code to the client (with `state` and RFC 9207's `iss`).
pub fn success_redirect(issuer: &Issuer, request: &AuthRequest, code: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer.url));
    with_query(&request.redirect_uri, &pairs)
}

/// The URL that returns an error to the client.
pub fn error_redirect(
    issuer: &Issuer,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> String {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer.url));
    with_query(redirect_uri, &pairs)
}

/// Appends query parameters to a registered redirect URI, keeping its own query.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        // Registered URIs are validated as absolute URLs at registration; this keeps a
        // malformed legacy record from panicking.
        Err(_) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            format!("{uri}{sep}{q}")
        }
    }
}

/// Revokes a grant: every token issued under it stops working.
pub fn revoke_grant(tx: &WriteTx, grant_id: &str) -> Result<(), StoreError> {
    // A used code and a live refresh token always have their grant: the grant is created in
    // the transaction that first uses the code, and swept together with its tokens.
    if let Some(mut g) = tx.get(&GRANTS, grant_id)? {
        g.revoked = true;
        tx.put(&GRANTS, grant_id, &g)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Request;
    use crate::store::AppType;
    use hyper::{HeaderMap, Method};

    fn store_with_app(app_type: AppType) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let app = App {
            client_id: "c1".into(),
            name: "Bookstore".into(),
            app_type,
            secret_hash: None,
            redirect_uris: vec!["http://localhost:3000/cb".into()],
            post_logout_redirect_uris: vec![],
            id_token_signed_response_alg: None,
            created_at: 0,
            declared: false,
        };
        store.write(|tx| tx.put(&APPS, "c1", &app)).unwrap();
        (dir, store)
    }

    fn q(s: &str) -> Params {
        Request::synthetic(Method::GET, "/auth", s, "", HeaderMap::new())
            .params()
            .clone()
    }

    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn unknown_client_and_bad_redirect_never_redirect() {
        let (_d, s) = store_with_app(AppType::Traditional);
        let e = validate(
            &s,
            &q("client_id=nope&redirect_uri=http://evil/&response_type=code&scope=openid"),
        )
        .unwrap_err();
        assert!(matches!(e, AuthorizeError::Page { .. }));
        let e = validate(
            &s,
            &q("client_id=c1&redirect_uri=http://evil/&response_type=code&scope=openid"),
        )
        .unwrap_err();
        assert!(matches!(e, AuthorizeError::Page { .. }));
        let e = validate(
            &s,
            &q("client_id=c1&client_id=c1&redirect_uri=http://localhost:3000/cb"),
        )
        .unwrap_err();
        assert!(matches!(e, AuthorizeError::Page { .. }));
    }

    #[test]
    fn protocol_errors_go_back_to_the_client_with_state() {
        let (_d, s) = store_with_app(AppType::Traditional);
        let base = "client_id=c1&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&state=xyz";
        let code = |extra: &str| match validate(&s, &q(&format!("{base}&{extra}"))).unwrap_err() {
            AuthorizeError::Redirect { error, state, .. } => {
                assert_eq!(state.as_deref(), Some("xyz"));
                error.code
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code("response_type=token&scope=openid"),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            code("response_type=code&scope=profile"),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code(&format!(
                "response_type=code&scope=openid&code_challenge={CH}&code_challenge_method=plain"
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code("response_type=code&scope=openid&prompt=none%20login"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code("response_type=code&scope=openid&request=x"),
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            code("response_type=code&scope=openid&max_age=soon"),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn public_clients_need_pkce() {
        let (_d, s) = store_with_app(AppType::Spa);
        let base = "client_id=c1&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&response_type=code&scope=openid";
        assert!(matches!(
            validate(&s, &q(base)),
            Err(AuthorizeError::Redirect { .. })
        ));
        let ok = validate(
            &s,
            &q(&format!(
                "{base}&code_challenge={CH}&code_challenge_method=S256"
            )),
        )
        .unwrap();
        assert_eq!(ok.request.code_challenge.as_deref(), Some(CH));
    }

    #[test]
    fn unknown_scopes_are_dropped_and_sso_decisions_follow_prompt_and_max_age() {
        let (_d, s) = store_with_app(AppType::Traditional);
        let v = validate(
            &s,
            &q("client_id=c1&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&response_type=code&scope=openid%20email%20photos&max_age=60"),
        )
        .unwrap();
        assert_eq!(v.request.scope, vec!["openid", "email"]);
        let sess = Session {
            user_id: "u".into(),
            auth_time: 1000,
            expires_at: 99999,
        };
        assert_eq!(decide(&v, Some(&sess), 1050), Decision::Issue);
        assert_eq!(decide(&v, Some(&sess), 1100), Decision::SignIn);
        assert_eq!(decide(&v, None, 1000), Decision::SignIn);
        let mut none = v.clone();
        none.prompt_none = true;
        assert_eq!(decide(&none, None, 1000), Decision::LoginRequired);
        let mut login = v;
        login.prompt_login = true;
        assert_eq!(decide(&login, Some(&sess), 1001), Decision::SignIn);
    }

    #[test]
    fn redirects_keep_the_registered_query_and_carry_iss() {
        let i = Issuer::parse("http://localhost:8080").unwrap();
        let u = with_query("http://app/cb?x=1", &[("code", "a b")]);
        assert_eq!(u, "http://app/cb?x=1&code=a+b");
        let r = AuthRequest {
            client_id: "c".into(),
            redirect_uri: "http://app/cb".into(),
            scope: vec![],
            state: Some("s".into()),
            nonce: None,
            code_challenge: None,
            max_age: None,
            login_hint: None,
        };
        assert_eq!(
            success_redirect(&i, &r, "C"),
            "http://app/cb?code=C&state=s&iss=http%3A%2F%2Flocalhost%3A8080"
        );
    }
}
