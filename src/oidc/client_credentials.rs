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
//! Scopes: every OIDC scope releases user claims (`openid`, `profile`, ...), which mean
//! nothing for a machine, so an opaque client-credentials token carries no scope and a request
//! asking for one without a `resource` is refused with `invalid_scope` rather than silently
//! narrowed: a job that expects a scope learns at once that it will not get it.
//!
//! APIs (RFC 8707, RFC 9068): with `resource=<indicator of a registered API>` the app gets a
//! JWT access token for that API instead, signed once and not stored (see
//! [`super::resource`]), with the API scopes asked for that the app's `api_scopes` allows
//! (all it allows when it asks for none); none of those asked: `invalid_scope`. An unknown
//! resource, or several, is `invalid_target` rather than ignored: a job that asks for a token
//! for one API must not get a token that says nothing about its audience.

use super::error::{ErrorCode, OAuthError};
use super::grant_type::GrantType;
use super::params::Params;
use super::resource;
use super::scope;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{AccessToken, ApiResource, App, AppType, Pending, Writes};
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
    let asked = params
        .get("scope")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    if let Some(api) = resource::requested(p, params)? {
        return Ok((for_api(p, app, &api, asked)?, Pending::none()));
    }
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

/// A JWT access token for `api` (RFC 9068), with the scopes asked that the app may get.
fn for_api(
    p: &Provider,
    app: &App,
    api: &ApiResource,
    asked: Option<&str>,
) -> Result<Value, OAuthError> {
    let asked: Vec<&str> = asked.map(scope::split).into_iter().flatten().collect();
    let allowed = resource::allowed_in(&app.api_scopes, api);
    let who = format!("app {:?}", app.client_id);
    let scope = resource::grant(api, &asked, &allowed, &who)?;
    let token = resource::sign(
        p,
        &resource::AccessJwt {
            api,
            sub: &app.client_id,
            client_id: &app.client_id,
            scope: &scope,
            auth_time: None,
        },
        p.now(),
    )?;
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": api.access_token_ttl,
        "scope": scope.join(" "),
    }))
}

/// RFC 6749 §4.4.2, §3.3: the scopes a machine app may ask for without a resource: none (see
/// the module notes): asking for any is `invalid_scope`, naming the first one.
fn allowed_scope(asked: Option<&str>) -> Result<Vec<String>, OAuthError> {
    match asked.map(scope::split).and_then(|mut s| s.next()) {
        None => Ok(Vec::new()),
        Some(first) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope {first:?} is not available to machine apps: a client-credentials token \
                 carries no scope (ask without scope=, or ask for a registered API with resource=)"
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
