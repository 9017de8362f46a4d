//! Pushed authorization requests (RFC 9126): the client sends its authorization request to
//! `/par` over the back channel, authenticated as at `/token`, and gets a `request_uri` to send
//! the browser to `/auth` with instead of the parameters.
//!
//! ```text
//!   POST /par (client auth, request params) ──validate as /auth would──▶ kept 60 s, hashed key
//!        ◀── 201 {request_uri: urn:ietf:params:oauth:request_uri:<random>, expires_in: 60}
//!   GET /auth?client_id=…&request_uri=… ──▶ taken (removed: single use), same client only,
//!                                         validated again, then answered as any request
//! ```
//!
//! What was pushed is validated at `/par` with the same checks as `/auth`
//! ([`authorize::validate_request`]), so a bad request fails with OAuth JSON to the client, not
//! later in the user's browser; it is validated again when used, since the app may have changed
//! meanwhile. The client secret is never kept with the request. An app with
//! `require_pushed_authorization_requests` gets no answer at `/auth` without a `request_uri`
//! (RFC 9126 §5).

use super::authorize::{self, AuthorizeError, Pushed, Untrusted};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{App, PushedRequest, Reads, StoreError, Writes};
use serde_json::{json, Value};

/// What every `request_uri` starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request may wait for its use (RFC 9126 §2.2 `expires_in`).
pub const PUSHED_REQUEST_TTL: u64 = 60;

/// Why a `request_uri` at `/auth` was refused (a page: the redirect URI is not known yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `client_id` with it (RFC 9126 §4 requires both).
    NoClientId,
    /// Not one sesame issued, already used, or expired and swept.
    Unknown,
    /// Pushed by another client.
    OtherClient,
    /// Its 60 seconds are over.
    Expired,
}

impl Refusal {
    /// What went wrong, in a sentence.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoClientId => "the request has a request_uri but no client_id",
            Refusal::Unknown => "the request_uri is unknown or was already used",
            Refusal::OtherClient => "the request_uri was pushed by another app",
            Refusal::Expired => "the request_uri has expired",
        }
    }
}

/// RFC 9126 §2: validates and keeps the request `app` (authenticated) pushed; returns the
/// 201 body.
pub fn push(p: &Provider, app: &App, params: &Params) -> Result<Value, OAuthError> {
    if params.has("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed (RFC 9126 §2.1); push the request's parameters",
        ));
    }
    let params = params
        .clone()
        .without("client_secret")
        .or_with("client_id", &app.client_id);
    authorize::validate_request(p, &params, Pushed::Yes).map_err(pushed_error)?;
    let id = crypto::random_token();
    let record = PushedRequest {
        client_id: app.client_id.clone(),
        form: params.to_form(),
        expires_at: p.now() + PUSHED_REQUEST_TTL,
    };
    p.store
        .write(|tx| tx.put_pushed_request(&crypto::hash_token(&id), &record))?;
    Ok(json!({
        "request_uri": format!("{REQUEST_URI_PREFIX}{id}"),
        "expires_in": PUSHED_REQUEST_TTL,
    }))
}

/// A validation failure as the OAuth JSON `/par` answers.
fn pushed_error(e: AuthorizeError) -> OAuthError {
    match e {
        AuthorizeError::Redirect { error, .. } => error,
        AuthorizeError::Store(_) => OAuthError::new(
            ErrorCode::ServerError,
            "sesame could not read its data; try again",
        ),
        AuthorizeError::Untrusted(u) => OAuthError::invalid_request(untrusted_text(&u)),
    }
}

/// An untrusted client or redirect URI, in a sentence for the developer.
fn untrusted_text(u: &Untrusted) -> String {
    match u {
        Untrusted::Repeated(name) => format!("the parameter {name} is repeated"),
        Untrusted::MissingClientId => "client_id is missing".into(),
        Untrusted::UnknownClient(id) => format!("no app with client ID {id:?}"),
        Untrusted::MachineApp { .. } => "a machine app signs no one in".into(),
        Untrusted::MissingRedirectUri => "redirect_uri is missing".into(),
        Untrusted::UnregisteredRedirectUri { redirect_uri, .. } => {
            format!("redirect_uri {redirect_uri:?} is not registered for this app")
        }
        Untrusted::TooLong(name) => format!("{name} is too long"),
        Untrusted::DevClientId { reason, .. } | Untrusted::DevRedirectUri { reason, .. } => {
            reason.clone()
        }
        Untrusted::PushedRequest(r) => r.as_str().into(),
    }
}

/// RFC 9126 §4: the request a `request_uri` at `/auth` names, taken once: bound to the
/// `client_id` beside it, within its lifetime.
pub fn take(p: &Provider, params: &Params) -> Result<Params, AuthorizeError> {
    let refused = |r| AuthorizeError::Untrusted(Untrusted::PushedRequest(r));
    let one = |name: &str| {
        params
            .get(name)
            .map_err(|e| AuthorizeError::Untrusted(Untrusted::Repeated(e.0)))
    };
    let client_id = one("client_id")?.ok_or(refused(Refusal::NoClientId))?;
    let uri = one("request_uri")?.unwrap_or_default();
    let id = uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .ok_or(refused(Refusal::Unknown))?;
    let key = crypto::hash_token(id);
    let now = p.now();
    let found = p.store.write(|tx| {
        let Some(r) = tx.pushed_request(&key)? else {
            return Ok::<_, StoreError>(Err(Refusal::Unknown));
        };
        // Another client's request stays for its own client: a guess must not burn it.
        if r.client_id != client_id {
            return Ok(Err(Refusal::OtherClient));
        }
        tx.remove_pushed_request(&key)?;
        Ok(if now >= r.expires_at {
            Err(Refusal::Expired)
        } else {
            Ok(r)
        })
    })?;
    let r = found.map_err(refused)?;
    Ok(Params::parse(r.form.as_bytes()))
}

#[cfg(test)]
#[path = "par_tests.rs"]
mod tests;
