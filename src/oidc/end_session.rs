//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` the session ends at once and the browser returns to the
//! registered `post_logout_redirect_uri` (with `state`). Without one, sesame cannot tell that
//! the request came from an app the user uses, so it asks the user to confirm (a CSRF-safe
//! form) before ending the session: a bare link must not be able to sign people out.

use crate::crypto;
use crate::http::Params;
use crate::server::State;
use crate::store::{App, APPS};

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
#[derive(Debug, Clone)]
pub struct LogoutError {
    pub message: String,
}

fn err(m: impl Into<String>) -> LogoutError {
    LogoutError { message: m.into() }
}

/// Validates the parameters of an end-session request.
pub fn validate(state: &State, params: &Params) -> Result<LogoutRequest, LogoutError> {
    let p = |n: &str| params.get(n).map_err(err);
    let mut client_id = p("client_id")?.map(str::to_string);
    let mut hint_sub = None;
    if let Some(hint) = p("id_token_hint")? {
        // The hint may have expired (people sign out long after signing in): only the signature
        // and the issuer matter.
        let claims = state.keys().verify_jwt(hint).map_err(|_| {
            err("The sign-out request carries an ID token that this service did not issue.")
        })?;
        if claims["iss"] != state.issuer.url.as_str() {
            return Err(err(
                "The sign-out request carries an ID token from another issuer.",
            ));
        }
        let aud = match &claims["aud"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        };
        if let (Some(c), Some(a)) = (&client_id, &aud) {
            if c != a {
                return Err(err("client_id does not match the ID token's audience."));
            }
        }
        client_id = client_id.or(aud);
        hint_sub = claims["sub"].as_str().map(str::to_string);
    }
    let app: Option<App> = match &client_id {
        Some(id) => Some(
            state
                .store
                .read(|tx| tx.get(&APPS, id))
                .map_err(|_| err("sesame could not read its data; try again."))?
                .ok_or_else(|| err(format!("No app with client ID {id:?} is registered.")))?,
        ),
        None => None,
    };
    let return_to = match p("post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            let Some(app) = &app else {
                return Err(err(
                    "post_logout_redirect_uri needs id_token_hint or client_id, so sesame can check it is registered.",
                ));
            };
            if !app.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(err(format!(
                    "{uri:?} is not a registered post-logout redirect URI of the app {:?}.",
                    app.name
                )));
            }
            let state_param = p("state")?;
            Some(match state_param {
                Some(s) => crate::oidc::authorize::with_query(uri, &[("state", s)]),
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
