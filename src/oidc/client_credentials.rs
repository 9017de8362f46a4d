//! The client-credentials grant (RFC 6749 §4.4): a machine app (a backup job, a cron script)
//! gets an access token for itself, with no user in the loop.
//!
//! Who may use it: machine apps only ([`GrantType::allowed_for`]), which are confidential and
//! have already authenticated at the token endpoint (`client::ClientCredentials`) by the time
//! [`grant`] runs. A public client cannot keep a secret, so it can never prove it is the app
//! (§4.4: "MUST only be used by confidential clients").
//!
//! What it issues: one opaque access token, stored like a user's but marked
//! `client_credentials`, with the app as its subject (`sub` = `client_id` at introspection) and
//! no grant: it lives `access_token_ttl`, or until revoked or its app is deleted. No refresh
//! token (§4.4.3: the app can simply ask again) and no ID token (there is no user).
//!
//! Scopes: every scope sesame knows today releases user claims (`openid`, `profile`, ...), which
//! mean nothing for a machine, so a client-credentials token carries no scope and a request
//! asking for one is refused with `invalid_scope` rather than silently narrowed: a job that
//! expects a scope learns at once that it will not get it. API scopes arrive with API resources
//! (RFC 8707 resource indicators).
//!
//! Resource indicators: until sesame knows API resources, a `resource` parameter names one it
//! does not issue tokens for, so it is refused with `invalid_target` (RFC 8707 §2) rather than
//! ignored: a job that asks for a token for one API must not get a token that says nothing
//! about its audience.

use super::error::{ErrorCode, OAuthError};
use super::grant_type::GrantType;
use super::params::Params;
use super::scope;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{AccessToken, App, AppType, Pending, Writes};
use serde_json::{json, Value};

/// RFC 6749 §4.4.2–§4.4.3: issues an access token to `app`, an authenticated machine app.
pub fn grant(p: &Provider, app: &App, params: &Params) -> (Result<Value, OAuthError>, Pending) {
    match issue(p, app, params) {
        Ok((body, pending)) => (Ok(body), pending),
        Err(e) => (Err(e), Pending::none()),
    }
}

/// [`grant`]'s work: the response body and the commit that must be durable before it is sent.
fn issue(p: &Provider, app: &App, params: &Params) -> Result<(Value, Pending), OAuthError> {
    no_resource(params)?;
    let asked = params
        .get("scope")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let scope = allowed_scope(asked)?;
    let now = p.now();
    let token = crypto::random_token();
    let record = AccessToken {
        grant_id: String::new(),
        client_id: app.client_id.clone(),
        user_id: String::new(),
        scope: scope.clone(),
        expires_at: now + p.tokens.access_token_ttl,
        client_credentials: true,
        issued_at: Some(now),
    };
    let key = crypto::hash_token(&token);
    let ((), pending) = p
        .store
        .write_pending(|tx| tx.put_access_token(&key, &record))?;
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": p.tokens.access_token_ttl,
    });
    if !scope.is_empty() {
        body["scope"] = json!(scope.join(" "));
    }
    Ok((body, pending))
}

/// RFC 8707 §2: sesame knows no API resource yet, so any `resource` (once or repeated) is a
/// target it cannot issue for.
fn no_resource(params: &Params) -> Result<(), OAuthError> {
    match params.get("resource") {
        Ok(None) => Ok(()),
        Ok(Some(r)) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!("resource {r:?} is not an API sesame issues tokens for"),
        )),
        Err(_) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "resource names APIs sesame does not issue tokens for",
        )),
    }
}

/// RFC 6749 §4.4.2, §3.3: the scopes a machine app may ask for. None yet (see the module
/// notes): asking for any is `invalid_scope`, naming the first one.
fn allowed_scope(asked: Option<&str>) -> Result<Vec<String>, OAuthError> {
    match asked.map(scope::split).and_then(|mut s| s.next()) {
        None => Ok(Vec::new()),
        Some(first) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope {first:?} is not available to machine apps: a client-credentials token \
                 carries no scope (ask without scope=)"
            ),
        )),
    }
}

/// RFC 6749 §5.2 `unauthorized_client`: `app` may not use `grant_type`, and what to do instead.
pub fn unauthorized(app: &App, grant_type: GrantType) -> OAuthError {
    let why = match (grant_type, app.app_type) {
        (GrantType::ClientCredentials, AppType::Spa | AppType::Native) => format!(
            "a {} app is a public client and cannot use client_credentials; register a machine \
             app (sesame app create --type machine)",
            app.app_type.as_str()
        ),
        (GrantType::ClientCredentials, _) => format!(
            "only machine apps may use client_credentials, and this app is {}; register a \
             machine app (sesame app create --type machine)",
            app.app_type.as_str()
        ),
        (_, _) => format!(
            "a machine app signs no user in and may use only client_credentials, not {}",
            grant_type.as_str()
        ),
    };
    OAuthError::new(ErrorCode::UnauthorizedClient, why)
}
