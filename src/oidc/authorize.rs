//! The authorization endpoint (OIDC Core §3.1.2): validating a request, deciding whether the
//! user must sign in, and issuing authorization codes.
//!
//! Validation is a list of small checks in the order RFC 6749 §4.1.2.1 sets: while the client
//! or the redirect URI is in doubt, nothing redirects (an error page is shown: an open
//! redirector is worse than an unhelpful page); once both are known good, errors go back to
//! the client. Each check names the rule it enforces.

use super::error::{ErrorCode, OAuthError};
use super::grant::Family;
use super::params::Params;
use super::pkce;
use super::resource;
use super::scope::{self, Scope};
use crate::apps::dev::DevRefusal;
use crate::audit::{self, Actor, AuditEntry, AuditEvent, SignInFailure};
use crate::factors;
use crate::issuer::Issuer;
use crate::provider::Provider;
use crate::session;
use crate::store::{App, AuthRequest, Authn, Reads, Session, SessionKind, SignInFor, StoreError};
use crate::users;

/// The most bytes `state`, `nonce` and `login_hint` may have together: sesame stores them with
/// every pending sign-in, so this bounds what a flood of sign-ins costs (RFC 6749 sets no
/// limit on `state`; 2 KiB leaves room for an app's signed or encrypted state).
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
    /// `prompt=select_account`: a signed-in user is asked "continue as X, or another account?".
    pub prompt_select_account: bool,
    /// The `sub` of a valid `id_token_hint`: the user the client expects (OIDC Core §3.1.2.1).
    pub hint_sub: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Untrusted(Untrusted),
    /// The client and redirect URI are good: send the error back to the client.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
    /// Storage failed: nothing can be said about the request.
    Store(String),
}

/// Why a request's client or redirect URI cannot be trusted (RFC 6749 §4.1.2.1). The HTTP edge
/// words each for a person; the app's administrator is the one who can fix them.
#[derive(Debug, Clone, PartialEq)]
pub enum Untrusted {
    /// A parameter was sent twice (RFC 6749 §3.1).
    Repeated(String),
    /// No `client_id`.
    MissingClientId,
    /// No app is registered with this client ID.
    UnknownClient(String),
    /// The app is a machine app: it gets tokens by client credentials and signs no one in (it
    /// has no redirect URI to trust).
    MachineApp { app_name: String },
    /// No `redirect_uri` (sesame requires it even with one registered URI).
    MissingRedirectUri,
    /// The redirect URI is not one the app registered (exact match, RFC 9700 §4.1.3).
    UnregisteredRedirectUri {
        app_name: String,
        redirect_uri: String,
        /// The origin of the app's first registered web redirect URI ([`web_origin`]): where
        /// the page may send the person back, never to the URI the request named.
        home: Option<String>,
    },
    /// `state`, `nonce` and `login_hint` are longer than [`MAX_PARAM_LEN`] together (the one
    /// named took them past it).
    TooLong(&'static str),
    /// `sesame dev` only: an unknown client ID that no app could be registered under.
    DevClientId { client_id: String, reason: String },
    /// `sesame dev` only: a redirect URI dev mode does not register (not on this machine, not
    /// a custom scheme).
    DevRedirectUri {
        redirect_uri: String,
        reason: String,
    },
    /// A `request_uri` that names no pushed request this client may use (RFC 9126 §4).
    PushedRequest(super::par::Refusal),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        AuthorizeError::Store(e.to_string())
    }
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

/// What the authorization endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Send the browser back to the client (with a code, or with an error).
    Redirect(String),
    /// The user must sign in first: start a sign-in for this request.
    SignIn(AuthRequest),
    /// The signed-in user may not use this app (its `allowed_groups`): say so, and offer a
    /// sign-in with another account for this request.
    NotAllowed {
        app_name: String,
        request: AuthRequest,
    },
    /// `prompt=select_account` with a session whose user may use the app: ask whether to
    /// continue as that user or sign in with another account.
    SelectAccount(AuthRequest),
    /// The session's sign-in used one factor and this app (or the user's group, or the
    /// request's `acr_values`) needs two: a sign-in that starts at its second step.
    StepUp(AuthRequest),
}

/// The authorization endpoint: validates the request and answers it with the session named by
/// `session_cookie` (single sign-on), or asks for a sign-in.
pub fn authorize(
    p: &Provider,
    params: &Params,
    session_cookie: Option<&str>,
) -> Result<Outcome, AuthorizeError> {
    let v = validate(p, params)?;
    // A session of another user than the hint names does not count (OIDC Core §3.1.2.2): the
    // client expects someone else, so `prompt=none` gets `login_required` and an interactive
    // request a sign-in.
    // The session and its user in one read: the user decides the app's access below.
    let signed_in = session::signed_in(p, session_cookie, SessionKind::Sesame)?
        .filter(|(s, _)| v.hint_sub.as_ref().is_none_or(|sub| *sub == s.user_id));
    let session = signed_in.as_ref().map(|(s, _)| s.clone());
    let now = p.now();
    Ok(match decide(&v, session.as_ref(), now) {
        Decision::Issue => {
            let s = session
                .as_ref()
                .map(|s| (s.user_id.as_str(), s.auth_time))
                .unwrap_or_default();
            let family = Family {
                tokens: &p.tokens,
                now,
            };
            // Per-app access: a session of a user outside the app's groups gets no code.
            let allowed = signed_in
                .as_ref()
                .is_some_and(|(_, u)| users::may_use(&v.app, u));
            if !allowed {
                tracing::info!(sub = %s.0, client_id = %v.app.client_id, "authorization refused: the user is in none of the app's allowed groups");
                let event = AuditEvent::SignInFailed {
                    reason: SignInFailure::NotAllowed,
                };
                let entry = AuditEntry::new(
                    Actor::User {
                        user_id: s.0.to_string(),
                    },
                    event,
                )
                .user(s.0)
                .client(&v.app.client_id);
                audit::record_now(&p.store, now, entry)?;
                return Ok(if v.prompt_none {
                    let e = OAuthError::new(
                        ErrorCode::AccessDenied,
                        "the signed-in user may not use this app",
                    );
                    Outcome::Redirect(error_redirect(
                        &p.issuer,
                        &v.request.redirect_uri,
                        v.request.state.as_deref(),
                        &e,
                    ))
                } else {
                    Outcome::NotAllowed {
                        app_name: v.app.name.clone(),
                        request: v.request,
                    }
                });
            }
            if v.prompt_select_account {
                return Ok(Outcome::SelectAccount(v.request));
            }
            if let Some((session, user)) = &signed_in {
                let purpose = SignInFor::App(v.request.clone());
                let needs = p
                    .store
                    .read(|tx| factors::needed(tx, &purpose, user, &session.authn()))?;
                if needs {
                    return Ok(if v.prompt_none {
                        let e = OAuthError::new(
                            ErrorCode::InteractionRequired,
                            "this app needs a second factor, which the user must give on a page",
                        );
                        Outcome::Redirect(error_redirect(
                            &p.issuer,
                            &v.request.redirect_uri,
                            v.request.state.as_deref(),
                            &e,
                        ))
                    } else {
                        Outcome::StepUp(v.request)
                    });
                }
            }
            let code = p.store.write(|tx| {
                let cookie = session_cookie.unwrap_or_default();
                let sid = session::signs_in_to(tx, cookie, &v.request.client_id)?;
                let authn = session
                    .as_ref()
                    .map(Session::authn)
                    .unwrap_or_else(|| Authn::email_code(s.1));
                family.issue_code(tx, &v.request, s.0, &authn, sid)
            })?;
            Outcome::Redirect(success_redirect(&p.issuer, &v.request, &code))
        }
        Decision::LoginRequired => {
            let e = OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in");
            Outcome::Redirect(error_redirect(
                &p.issuer,
                &v.request.redirect_uri,
                v.request.state.as_deref(),
                &e,
            ))
        }
        Decision::SignIn => Outcome::SignIn(v.request),
    })
}

/// Validates an authorization request's parameters (query for GET, form for POST). With a
/// `request_uri`, the request is the one the client pushed (RFC 9126 §4), used once; the rest of
/// the query is not read.
pub fn validate(p: &Provider, params: &Params) -> Result<ValidRequest, AuthorizeError> {
    if params.has("request_uri") {
        let pushed = super::par::take(p, params)?;
        return validate_request(p, &pushed, Pushed::Yes);
    }
    validate_request(p, params, Pushed::No)
}

/// Whether a request arrives pushed (RFC 9126): apps that require it get nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Yes,
    No,
}

/// [`validate`] on the request's own parameters: at `/auth`, and at `/par` before a request is
/// kept.
pub fn validate_request(
    p: &Provider,
    params: &Params,
    pushed: Pushed,
) -> Result<ValidRequest, AuthorizeError> {
    // Until the client and redirect URI are trusted, every failure is a page.
    let (app, redirect_uri) = trusted_client(p, params)?;
    bounded_lengths(params).map_err(AuthorizeError::Untrusted)?;
    // From here on the redirect URI is trusted: errors go back to the client. A repeated
    // `state` is reported there too, without echoing either value.
    let state = params.get("state").ok().flatten().map(str::to_string);
    let back = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error,
    };
    let get = |name: &str| get(params, name).map_err(back);
    get("state")?;
    if pushed == Pushed::No && app.require_pushed_authorization_requests {
        return Err(back(OAuthError::invalid_request(
            "this app's authorization requests must be pushed first (POST /par, then /auth with request_uri)",
        )));
    }
    no_request_objects(params).map_err(back)?;
    response_type_is_code(get("response_type")?).map_err(back)?;
    response_mode_is_query(get("response_mode")?).map_err(back)?;
    let mut scope = scope_has_openid(get("scope")?).map_err(back)?;
    let resource = api_asked(p, params, get("scope")?, &mut scope).map_err(back)?;
    let code_challenge =
        pkce_challenge(&app, get("code_challenge")?, get("code_challenge_method")?)
            .map_err(back)?;
    let (prompt_none, prompt_login, prompt_select_account) =
        prompt(get("prompt")?).map_err(back)?;
    let max_age = max_age(get("max_age")?).map_err(back)?;
    let hint_sub = id_token_hint(p, get("id_token_hint")?).map_err(back)?;
    let request = AuthRequest {
        client_id: app.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope,
        state: state.clone(),
        nonce: get("nonce")?.map(str::to_string),
        code_challenge: code_challenge.map(str::to_string),
        max_age,
        login_hint: get("login_hint")?.map(str::to_string),
        resource,
        mfa: asks_mfa(get("acr_values")?),
    };
    Ok(ValidRequest {
        app,
        request,
        prompt_none,
        prompt_login,
        prompt_select_account,
        hint_sub,
    })
}

/// OIDC Core §3.1.2.1 `acr_values`: whether the space-separated values name
/// [`crate::factors::ACR_MFA`] (two factors). Other values are voluntary claims sesame cannot honour
/// more than it does (the ID token's `acr` says what was done), so they are ignored.
fn asks_mfa(acr_values: Option<&str>) -> bool {
    acr_values.is_some_and(|v| v.split(' ').any(|a| a == crate::factors::ACR_MFA))
}

/// OIDC Core §3.1.2.1 `id_token_hint`: an ID token this issuer signed (its expiry does not
/// matter: it names a user, it grants nothing); returns its `sub`.
fn id_token_hint(p: &Provider, hint: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(hint) = hint else {
        return Ok(None);
    };
    let refused =
        || OAuthError::invalid_request("id_token_hint is not an ID token this issuer signed");
    let claims = super::token::hint_claims(p, hint).map_err(|_| refused())?;
    claims["sub"]
        .as_str()
        .map(|s| Some(s.to_string()))
        .ok_or_else(refused)
}

/// One parameter; a repeated one is `invalid_request` (RFC 6749 §3.1).
fn get<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, OAuthError> {
    params
        .get(name)
        .map_err(|e| OAuthError::invalid_request(e.to_string()))
}

/// RFC 6749 §4.1.2.1: the client must be registered and the redirect URI one of its own,
/// compared exactly (RFC 9700 §4.1.3), before anything is sent back to it.
fn trusted_client<'p>(p: &Provider, params: &'p Params) -> Result<(App, &'p str), AuthorizeError> {
    let untrusted = AuthorizeError::Untrusted;
    let one = |name: &str| {
        params
            .get(name)
            .map_err(|e| untrusted(Untrusted::Repeated(e.0)))
    };
    let client_id = one("client_id")?.ok_or(untrusted(Untrusted::MissingClientId))?;
    let app = match &p.dev {
        None => p
            .store
            .read(|tx| tx.app(client_id))?
            .ok_or_else(|| untrusted(Untrusted::UnknownClient(client_id.to_string())))?,
        // `sesame dev`: registered on first use (crate::apps::dev).
        Some(dev) => dev
            .admit(&p.store, p.now(), client_id, one("redirect_uri")?)
            .map_err(dev_refusal)?,
    };
    if !app.app_type.signs_in_users() {
        return Err(untrusted(Untrusted::MachineApp { app_name: app.name }));
    }
    let redirect_uri = one("redirect_uri")?.ok_or(untrusted(Untrusted::MissingRedirectUri))?;
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        let home = app.redirect_uris.iter().find_map(|r| web_origin(r));
        return Err(untrusted(Untrusted::UnregisteredRedirectUri {
            app_name: app.name,
            redirect_uri: redirect_uri.to_string(),
            home,
        }));
    }
    Ok((app, redirect_uri))
}

/// The origin of a registered redirect URI, with a trailing `/`, when it is a web address
/// (`https://app.example/`): the one place pages link "back to the app" from, so they never
/// link to a URL a request made up. `None` for a native app's custom scheme.
pub fn web_origin(redirect_uri: &str) -> Option<String> {
    let u = url::Url::parse(redirect_uri).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    Some(format!("{}/", u.origin().ascii_serialization()))
}

/// Why `sesame dev` took no app for the request, as the refusal the edge shows.
fn dev_refusal(r: DevRefusal) -> AuthorizeError {
    AuthorizeError::Untrusted(match r {
        DevRefusal::ClientId { client_id, reason } => Untrusted::DevClientId { client_id, reason },
        DevRefusal::RedirectUri {
            redirect_uri,
            reason,
        } => Untrusted::DevRedirectUri {
            redirect_uri,
            reason,
        },
        DevRefusal::NoRedirectUri => Untrusted::MissingRedirectUri,
        DevRefusal::Store(e) => return AuthorizeError::from(e),
    })
}

/// Values sesame stores with the pending sign-in and echoes back are capped, so a request
/// cannot make sesame store (or send back) megabytes.
fn bounded_lengths(params: &Params) -> Result<(), Untrusted> {
    let mut total = 0;
    for name in ["state", "nonce", "login_hint"] {
        let v = params.get(name).map_err(|e| Untrusted::Repeated(e.0))?;
        total += v.map_or(0, str::len);
        if total > MAX_PARAM_LEN {
            return Err(Untrusted::TooLong(name));
        }
    }
    Ok(())
}

/// OIDC Core §6: request objects are optional; sesame supports neither form.
fn no_request_objects(params: &Params) -> Result<(), OAuthError> {
    if params.has("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.has("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.1.1, OIDC Core §3.1.2.1: only the authorization code flow.
fn response_type_is_code(response_type: Option<&str>) -> Result<(), OAuthError> {
    match response_type {
        Some("code") => Ok(()),
        Some(other) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "response_type {other:?} is not supported; use \"code\" (authorization code flow)"
            ),
        )),
        None => Err(OAuthError::invalid_request(
            "response_type is missing; use \"code\"",
        )),
    }
}

/// OAuth 2.0 Multiple Response Type Encoding Practices §2.1: results go in the query.
fn response_mode_is_query(response_mode: Option<&str>) -> Result<(), OAuthError> {
    match response_mode {
        None | Some("query") => Ok(()),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "response_mode {other:?} is not supported; use \"query\""
        ))),
    }
}

/// OIDC Core §3.1.2.1: `openid` is required; unknown scopes are dropped (RFC 6749 §3.3).
pub(super) fn scope_has_openid(scope_param: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let asked = scope::split(scope_param.unwrap_or(""));
    if !asked.clone().any(|s| s == Scope::OpenId.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope must include \"openid\" (this is an OpenID Connect provider)",
        ));
    }
    Ok(Scope::known(asked))
}

/// RFC 8707 §2: the API named by `resource` (one, registered: else `invalid_target`); the
/// scopes asked that it defines join `scope`. Which of them the user gets is decided when the
/// code is exchanged, from their groups ([`super::resource`]).
fn api_asked(
    p: &Provider,
    params: &Params,
    scope_param: Option<&str>,
    scope: &mut Vec<String>,
) -> Result<Option<String>, OAuthError> {
    let Some(api) = resource::requested(p, params)? else {
        return Ok(None);
    };
    for asked in scope::split(scope_param.unwrap_or("")) {
        let defined = api.scopes.iter().any(|s| s.name == asked);
        if defined && !scope.iter().any(|s| s == asked) {
            scope.push(asked.to_string());
        }
    }
    Ok(Some(api.indicator))
}

/// RFC 7636 §4.3: S256 only (RFC 9700 §2.1.1 forbids `plain`); public clients must use PKCE.
fn pkce_challenge<'p>(
    app: &App,
    challenge: Option<&'p str>,
    method: Option<&str>,
) -> Result<Option<&'p str>, OAuthError> {
    match (challenge, method) {
        (Some(c), Some("S256")) if pkce::valid_challenge(c) => Ok(Some(c)),
        (Some(_), Some("S256")) => Err(OAuthError::invalid_request(
            "code_challenge is not a valid S256 challenge",
        )),
        (Some(_), Some(m)) => Err(OAuthError::invalid_request(format!(
            "code_challenge_method {m:?} is not supported; use S256"
        ))),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method is missing; sesame supports only S256 (plain is not allowed)",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (None, None) if app.app_type.is_public() => Err(OAuthError::invalid_request(
            "this app is public: PKCE is required (send code_challenge with code_challenge_method=S256)",
        )),
        (None, None) => Ok(None),
    }
}

/// OIDC Core §3.1.2.1 `prompt`: returns (none, login, select_account). Apps are registered
/// by the administrator (first party), so consent is implied by registration; there is no
/// consent screen to show. `select_account` shows the signed-in account with a way to use
/// another one.
fn prompt(prompt: Option<&str>) -> Result<(bool, bool, bool), OAuthError> {
    let Some(p) = prompt else {
        return Ok((false, false, false));
    };
    let (mut none, mut login, mut select) = (false, false, false);
    for v in scope::split(p) {
        match v {
            "none" => none = true,
            "login" => login = true,
            "select_account" => select = true,
            "consent" => {}
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unknown prompt value {other:?}"
                )))
            }
        }
    }
    if none && scope::split(p).count() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok((none, login, select))
}

/// OIDC Core §3.1.2.1 `max_age`: a non-negative number of seconds.
fn max_age(max_age: Option<&str>) -> Result<Option<u64>, OAuthError> {
    max_age
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                OAuthError::invalid_request("max_age must be a non-negative number of seconds")
            })
        })
        .transpose()
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
    let description = error.wire_description();
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", description.as_str()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::{provider, CLIENT, MACHINE_CLIENT, PUBLIC_CLIENT};

    fn q(s: &str) -> Params {
        Params::parse(s.as_bytes())
    }

    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https%3A%2F%2Fapp.example%2Fcb";

    #[test]
    fn web_origin_is_a_web_redirect_uris_origin_only() {
        assert_eq!(
            web_origin("https://app.example:8443/auth/cb?x=1").as_deref(),
            Some("https://app.example:8443/")
        );
        assert_eq!(
            web_origin("http://localhost:3000/cb").as_deref(),
            Some("http://localhost:3000/")
        );
        for not_web in [
            "com.example.app:/cb",
            "javascript:alert(1)",
            "not a url",
            "file:///x",
        ] {
            assert_eq!(web_origin(not_web), None, "{not_web}");
        }
    }

    #[test]
    fn unknown_client_and_bad_redirect_never_redirect() {
        let (_d, p) = provider();
        let untrusted = |query: &str| match validate(&p, &q(query)).unwrap_err() {
            AuthorizeError::Untrusted(u) => u,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            untrusted("client_id=nope&redirect_uri=http://evil/&response_type=code&scope=openid"),
            Untrusted::UnknownClient("nope".into())
        );
        assert!(matches!(
            untrusted(&format!(
                "client_id={CLIENT}&redirect_uri=http://evil/&response_type=code&scope=openid"
            )),
            Untrusted::UnregisteredRedirectUri { .. }
        ));
        assert!(matches!(
            untrusted(&format!(
                "client_id={MACHINE_CLIENT}&redirect_uri={CB}&response_type=code&scope=openid"
            )),
            Untrusted::MachineApp { .. }
        ));
        assert_eq!(
            untrusted(&format!(
                "client_id={CLIENT}&client_id={CLIENT}&redirect_uri={CB}"
            )),
            Untrusted::Repeated("client_id".into())
        );
        assert_eq!(
            untrusted(&format!(
                "client_id={CLIENT}&redirect_uri={CB}&state={}",
                "s".repeat(2049)
            )),
            Untrusted::TooLong("state")
        );
        // Together, too: what a pending sign-in stores is bounded.
        let each = "x".repeat(MAX_PARAM_LEN / 2);
        assert_eq!(
            untrusted(&format!(
                "client_id={CLIENT}&redirect_uri={CB}&state={each}&nonce={each}&login_hint=a"
            )),
            Untrusted::TooLong("login_hint")
        );
    }

    #[test]
    fn only_a_dev_provider_registers_unknown_clients() {
        let (_d, p) = provider();
        let query = "client_id=new-app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&response_type=code&scope=openid";
        assert!(matches!(
            validate(&p, &q(query)),
            Err(AuthorizeError::Untrusted(Untrusted::UnknownClient(_)))
        ));
        let dev = crate::apps::dev::DevMode::on_loopback("127.0.0.1:8080".parse().unwrap());
        let p = p.with_dev_mode(dev.unwrap());
        let v = validate(&p, &q(query)).unwrap();
        assert_eq!(v.app.client_id, "new-app");
        assert_eq!(v.request.redirect_uri, "http://localhost:3000/cb");
        let elsewhere = format!("client_id={CLIENT}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid");
        assert!(matches!(
            validate(&p, &q(&elsewhere)),
            Err(AuthorizeError::Untrusted(Untrusted::DevRedirectUri { .. }))
        ));
    }

    #[test]
    fn protocol_errors_go_back_to_the_client_with_state() {
        let (_d, p) = provider();
        let base = format!("client_id={CLIENT}&redirect_uri={CB}&state=xyz");
        let code = |extra: &str| match validate(&p, &q(&format!("{base}&{extra}"))).unwrap_err() {
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
            code("response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256"),
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
        assert_eq!(
            code("response_type=code&scope=openid&response_mode=fragment"),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn public_clients_need_pkce() {
        let (_d, p) = provider();
        let base =
            format!("client_id={PUBLIC_CLIENT}&redirect_uri={CB}&response_type=code&scope=openid");
        assert!(matches!(
            validate(&p, &q(&base)),
            Err(AuthorizeError::Redirect { .. })
        ));
        let ok = validate(
            &p,
            &q(&format!(
                "{base}&code_challenge={CH}&code_challenge_method=S256"
            )),
        )
        .unwrap();
        assert_eq!(ok.request.code_challenge.as_deref(), Some(CH));
    }

    #[test]
    fn unknown_scopes_are_dropped_and_sso_decisions_follow_prompt_and_max_age() {
        let (_d, p) = provider();
        let v = validate(
            &p,
            &q(&format!("client_id={CLIENT}&redirect_uri={CB}&response_type=code&scope=openid%20email%20photos&max_age=60")),
        )
        .unwrap();
        assert_eq!(v.request.scope, vec!["openid", "email"]);
        let sess = Session {
            user_id: "u".into(),
            auth_time: 1000,
            expires_at: 99999,
            kind: crate::store::SessionKind::Sesame,
            sid: None,
            apps: Vec::new(),
            amr: Vec::new(),
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
            resource: None,
            mfa: false,
        };
        assert_eq!(
            success_redirect(&i, &r, "C"),
            "http://app/cb?code=C&state=s&iss=http%3A%2F%2Flocalhost%3A8080"
        );
    }
}
