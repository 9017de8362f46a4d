//! Token introspection (RFC 7662): an app asks whether a token is active, and what it carries.
//!
//! The caller authenticates as a confidential app (traditional or machine) at
//! `/token/introspect`, the same way as at the token endpoint (`client_secret_basic` or
//! `client_secret_post`); a public app has no secret to prove who it is, so it is refused
//! with `invalid_client` (RFC 7662 §2.1: the endpoint MUST require authorization).
//!
//! Which tokens an app may see: those issued to it (its own `client_id`), access and refresh
//! tokens alike. A token of another app is answered exactly like an unknown, expired or revoked
//! one, `{"active": false}`, so the answer never says why (§2.2, §4: it must not help anyone
//! probe for tokens). A JWT access token for an API (RFC 9068) is checked by its signature,
//! `typ`, issuer and expiry instead of a store look-up ([`super::resource::introspect`]), with
//! the same rule: only the app it was issued to sees it; the API itself verifies it with JWKS.
//!
//! Active means what the other endpoints would accept now: an access token userinfo (or a
//! client-credentials caller) would take, a refresh token the token endpoint would rotate. The
//! checks, in order, for each kind:
//!
//! ```text
//!   access token:  ours ─▶ not expired ─▶ client credentials? ──yes──▶ active
//!                                                  │no
//!                                                  ▼
//!                                  grant not revoked ─▶ user exists, enabled ─▶ active
//!   refresh token: ours ─▶ not spent ─▶ not expired ─▶ grant not revoked ─▶ user exists,
//!                  enabled ─▶ active
//! ```

use super::error::OAuthError;
use super::params::Params;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{AccessToken, App, Reads, RefreshToken, StoreError};
use serde_json::{json, Map, Value};

/// RFC 7662 §2.1–§2.2: the introspection response for `app`'s request.
pub fn introspect(p: &Provider, app: &App, params: &Params) -> Result<Value, OAuthError> {
    if app.app_type.is_public() {
        return Err(OAuthError::invalid_client(
            "introspection needs a confidential app: authenticate with a client secret (client_secret_basic or client_secret_post)",
        ));
    }
    let one = |name: &str| {
        params
            .get(name)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))
    };
    let token = one("token")?.ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    // §2.1: the hint only orders the look-ups; a wrong hint still finds the token.
    let refresh_first = one("token_type_hint")? == Some("refresh_token");
    let now = p.now();
    if let Some(mut c) = super::resource::introspect(p, &app.client_id, token, now) {
        c.insert("active".into(), json!(true));
        return Ok(Value::Object(c));
    }
    let key = crypto::hash_token(token);
    let claims = p.store.read(|tx| {
        let access = |tx: &_| access_claims(tx, p, app, now, &key);
        let refresh = |tx: &_| refresh_claims(tx, p, app, now, &key);
        let found = if refresh_first {
            refresh(tx)?.or(access(tx)?)
        } else {
            access(tx)?.or(refresh(tx)?)
        };
        Ok::<_, StoreError>(found)
    })?;
    Ok(match claims {
        Some(mut c) => {
            c.insert("active".into(), json!(true));
            Value::Object(c)
        }
        None => json!({ "active": false }),
    })
}

/// The claims of an active access token of `app` hashing to `key`, or `None`.
fn access_claims(
    tx: &impl Reads,
    p: &Provider,
    app: &App,
    now: u64,
    key: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let Some(at) = tx.access_token(key)? else {
        return Ok(None);
    };
    if at.client_id != app.client_id || now >= at.expires_at {
        return Ok(None);
    }
    if !at.client_credentials && !family_live(tx, &at.grant_id, &at.user_id)? {
        return Ok(None);
    }
    Ok(Some(access_token_claims(p, &at)))
}

/// The claims of an active refresh token of `app` hashing to `key`, or `None`.
fn refresh_claims(
    tx: &impl Reads,
    p: &Provider,
    app: &App,
    now: u64,
    key: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let Some(rt) = tx.refresh_token(key)? else {
        return Ok(None);
    };
    if rt.client_id != app.client_id || rt.spent || now >= rt.expires_at {
        return Ok(None);
    }
    if !family_live(tx, &rt.grant_id, &rt.user_id)? {
        return Ok(None);
    }
    Ok(Some(refresh_token_claims(p, &rt)))
}

/// A user's token is live while its grant is not revoked and its user exists and is enabled.
fn family_live(tx: &impl Reads, grant_id: &str, user_id: &str) -> Result<bool, StoreError> {
    let grant_live = tx.grant(grant_id)?.is_some_and(|g| !g.revoked);
    Ok(grant_live && tx.user(user_id)?.is_some_and(|u| !u.disabled))
}

/// §2.2's members for an access token: `sub` is the user, or the app itself for a
/// client-credentials token.
fn access_token_claims(p: &Provider, at: &AccessToken) -> Map<String, Value> {
    let sub = if at.client_credentials {
        &at.client_id
    } else {
        &at.user_id
    };
    let mut c = common(
        p,
        &at.client_id,
        sub,
        &at.scope,
        at.expires_at,
        at.issued_at,
    );
    c.insert("token_type".into(), json!("Bearer"));
    c
}

/// §2.2's members for a refresh token (no `token_type`: it is not a bearer access token).
fn refresh_token_claims(p: &Provider, rt: &RefreshToken) -> Map<String, Value> {
    common(
        p,
        &rt.client_id,
        &rt.user_id,
        &rt.scope,
        rt.expires_at,
        rt.issued_at,
    )
}

fn common(
    p: &Provider,
    client_id: &str,
    sub: &str,
    scope: &[String],
    exp: u64,
    iat: Option<u64>,
) -> Map<String, Value> {
    let mut c = Map::new();
    // A client-credentials token has no scope; an empty `scope` would read as one empty scope.
    if !scope.is_empty() {
        c.insert("scope".into(), json!(scope.join(" ")));
    }
    c.insert("client_id".into(), json!(client_id));
    c.insert("sub".into(), json!(sub));
    c.insert("exp".into(), json!(exp));
    if let Some(iat) = iat {
        c.insert("iat".into(), json!(iat));
    }
    c.insert("iss".into(), json!(p.issuer.url));
    c
}
