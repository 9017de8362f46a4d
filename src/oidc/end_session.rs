//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the signed-in user, the session ends at once and the
//! browser returns to the registered `post_logout_redirect_uri` (with `state`). Otherwise
//! sesame cannot tell that the request came from an app the user uses, so it asks the user to
//! confirm (a CSRF-safe form) before ending the session: a bare link must not be able to sign
//! people out.
//!
//! ```text
//!  request ──validate──▶ signed in? ──no──────────────────────────────▶ [signed out]
//!                            │ yes
//!                            ├─ hint is this user's own ID token ─────▶ [signed out]
//!                            ├─ confirmed form with the right token ──▶ [signed out]
//!                            └─ otherwise ─────────────────────────────▶ [confirm page]
//! ```

use super::authorize::with_query;
use super::params::Params;
use super::token::HintRefused;
use crate::crypto;
use crate::provider::Provider;
use crate::session;
use crate::store::{App, Reads, StoreError};

/// A validated logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    /// Where to send the browser afterwards (registered for the client), with `state` added.
    pub return_to: Option<String>,
    /// The client's name, for the pages.
    pub app_name: Option<String>,
    /// The `sub` of a valid `id_token_hint`. Logout proceeds without asking only when it is the
    /// user of the current session: anyone can obtain an ID token of their own, so a hint for
    /// another user proves nothing about who sent this browser here.
    pub hint_sub: Option<String>,
    /// The app, from `client_id` or the hint's audience: the confirmation form carries it, so
    /// the confirmed request can still check `post_logout_redirect_uri` without the hint.
    pub client_id: Option<String>,
}

/// A logout request that cannot be honoured; shown as a page, never redirected.
#[derive(Debug, Clone, PartialEq)]
pub enum LogoutError {
    /// A parameter was sent twice.
    Repeated(String),
    /// `id_token_hint` is not a token this issuer signed.
    HintNotOurs,
    /// `id_token_hint` carries another issuer.
    HintFromAnotherIssuer,
    /// `client_id` and the hint's audience differ.
    ClientMismatch,
    /// No app is registered with this client ID.
    UnknownClient(String),
    /// `post_logout_redirect_uri` came without a way to know the app.
    RedirectWithoutClient,
    /// `post_logout_redirect_uri` is not registered for the app.
    UnregisteredRedirect { uri: String, app_name: String },
    /// The confirmation form did not come from this browser's session.
    FormExpired,
    /// Storage failed.
    Store(String),
}

impl From<StoreError> for LogoutError {
    fn from(e: StoreError) -> Self {
        LogoutError::Store(e.to_string())
    }
}

/// What the end-session endpoint answers.
#[derive(Debug, Clone)]
pub enum LogoutOutcome {
    /// Ask the user to confirm; the form carries `csrf` and the request's parameters.
    Confirm {
        request: LogoutRequest,
        csrf: String,
    },
    /// The session (if any) has ended.
    SignedOut(LogoutRequest),
}

/// The end-session endpoint. `confirming` is a POST of the confirmation form carrying `csrf`.
pub fn end_session(
    p: &Provider,
    params: &Params,
    session_cookie: Option<&str>,
    confirm: Option<Option<&str>>,
) -> Result<LogoutOutcome, LogoutError> {
    let cookie = session_cookie.filter(|c| !c.is_empty());
    let confirmed = match (confirm, cookie) {
        (Some(csrf), Some(c)) => {
            let ok = csrf.is_some_and(|t| {
                crypto::constant_time_eq(confirm_token(c).as_bytes(), t.as_bytes())
            });
            if !ok {
                return Err(LogoutError::FormExpired);
            }
            true
        }
        (Some(_), None) => true,
        (None, _) => false,
    };
    let v = validate(p, params)?;
    let current = session::current(p, cookie)?;
    let hinted_for_this_user = current
        .as_ref()
        .is_some_and(|s| v.hint_sub.as_deref() == Some(s.user_id.as_str()));
    if current.is_some() && !hinted_for_this_user && !confirmed {
        return Ok(LogoutOutcome::Confirm {
            request: v,
            csrf: confirm_token(cookie.unwrap_or_default()),
        });
    }
    // The apps the session signed in to are told apart from this request (`backchannel`).
    session::end(p, cookie)?;
    Ok(LogoutOutcome::SignedOut(v))
}

/// Validates the parameters of an end-session request.
pub fn validate(p: &Provider, params: &Params) -> Result<LogoutRequest, LogoutError> {
    let one = |n: &str| params.get(n).map_err(|e| LogoutError::Repeated(e.0));
    let mut client_id = one("client_id")?.map(str::to_string);
    let mut hint_sub = None;
    if let Some(hint) = one("id_token_hint")? {
        // The hint may have expired (people sign out long after signing in): only the signature
        // and the issuer matter.
        let claims = super::token::hint_claims(p, hint).map_err(|e| match e {
            HintRefused::NotOurs => LogoutError::HintNotOurs,
            HintRefused::OtherIssuer => LogoutError::HintFromAnotherIssuer,
        })?;
        let aud = match &claims["aud"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        };
        if let (Some(c), Some(a)) = (&client_id, &aud) {
            if c != a {
                return Err(LogoutError::ClientMismatch);
            }
        }
        client_id = client_id.or(aud);
        hint_sub = claims["sub"].as_str().map(str::to_string);
    }
    let app: Option<App> = match &client_id {
        Some(id) => Some(
            p.store
                .read(|tx| tx.app(id))?
                .ok_or_else(|| LogoutError::UnknownClient(id.clone()))?,
        ),
        None => None,
    };
    let return_to = match one("post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            let Some(app) = &app else {
                return Err(LogoutError::RedirectWithoutClient);
            };
            let registered = app.post_logout_redirect_uris.iter().any(|r| r == uri);
            // `sesame dev` takes any post-logout URI on this machine (crate::apps::dev).
            let dev_ok = p.dev.as_ref().is_some_and(|d| d.accepts_post_logout(uri));
            if !registered && !dev_ok {
                return Err(LogoutError::UnregisteredRedirect {
                    uri: uri.to_string(),
                    app_name: app.name.clone(),
                });
            }
            Some(match one("state")? {
                Some(s) => with_query(uri, &[("state", s)]),
                None => uri.to_string(),
            })
        }
    };
    Ok(LogoutRequest {
        return_to,
        client_id: app.as_ref().map(|a| a.client_id.clone()),
        app_name: app.map(|a| a.name),
        hint_sub,
    })
}

/// The CSRF token of the logout confirmation form: derived from the session cookie, so only a
/// page the browser itself loaded can carry it.
pub fn confirm_token(session_cookie: &str) -> String {
    crypto::hash_token(&format!("logout:{session_cookie}"))
}
