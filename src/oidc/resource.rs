//! Resource indicators (RFC 8707) and JWT access tokens (RFC 9068): a request names the API
//! it wants a token for with `resource=`, and gets a signed JWT whose `aud` is that API, which
//! the API verifies with sesame's JWKS alone.
//!
//! The checks, in order (each a function below):
//!
//! ```text
//!   resource= ─▶ at most one (else invalid_target) ─▶ a registered API (else invalid_target)
//!     ─▶ scopes: asked ∩ defined by the API ∩ allowed (the user's groups, or the machine
//!        app) ─▶ none left of those asked: invalid_scope; else the token says what it got
//! ```
//!
//! Only one resource per request: a token with several audiences would let each API replay it
//! at the others, and sesame's one token per response has one audience.
//!
//! What the token is: header `{"alg", "typ": "at+jwt", "kid"}`; claims `iss`, `sub` (the user,
//! or the machine app's `client_id`), `aud` (the indicator), `client_id`, `scope`, `jti`,
//! `iat`, `exp` (the API's `access_token_ttl`) and `auth_time` when a user signed in. It is
//! not stored: nothing can revoke it, so it lives briefly (10 minutes by default). Userinfo
//! does not take it (it is for the API, not for sesame: RFC 9068 §4's audience rule);
//! introspection answers for it ([`super::introspect`]).

use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::scope::Scope;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{ApiResource, ApiScopes, Group, Reads, StoreError};
use serde_json::{json, Map, Value};

/// The JOSE `typ` of an RFC 9068 access token.
pub const AT_JWT_TYP: &str = "at+jwt";

/// RFC 8707 §2: the `resource` a request names, or `None`; more than one is `invalid_target`.
pub fn indicator(params: &Params) -> Result<Option<&str>, OAuthError> {
    params.get("resource").map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            "name one resource per request: sesame issues one access token with one audience \
             per response (ask again for each API)",
        )
    })
}

/// The registered API named `indicator`, or `invalid_target`.
pub fn api(p: &Provider, indicator: &str) -> Result<ApiResource, OAuthError> {
    p.store.read(|tx| tx.api(indicator))?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            format!(
                "resource {indicator:?} is not an API sesame issues tokens for (sesame api list \
                 shows them; the indicator must match exactly)"
            ),
        )
    })
}

/// [`indicator`] and [`api`] in one: the API the request names, if any.
pub fn requested(p: &Provider, params: &Params) -> Result<Option<ApiResource>, OAuthError> {
    indicator(params)?.map(|i| api(p, i)).transpose()
}

/// The scopes of `api` that members of `groups` may be granted (the union of the groups').
pub fn allowed_for_groups(groups: &[Group], api: &ApiResource) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        for s in allowed_in(&g.api_scopes, api) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The scopes of `api` that `scopes` (a group's or a machine app's `api_scopes`) allows.
pub fn allowed_in(scopes: &ApiScopes, api: &ApiResource) -> Vec<String> {
    scopes
        .get(&api.indicator)
        .map(|s| s.to_vec())
        .unwrap_or_default()
}

/// RFC 6749 §3.3: which of `asked` (scope names, OIDC ones already removed) `api` defines and
/// `allowed` grants, in the API's order. Asked for none: every one allowed. None left of those
/// asked: `invalid_scope`, naming what was asked and who grants scopes.
pub fn grant(
    api: &ApiResource,
    asked: &[&str],
    allowed: &[String],
    who: &str,
) -> Result<Vec<String>, OAuthError> {
    let granted: Vec<String> = api
        .scopes
        .iter()
        .map(|s| s.name.clone())
        .filter(|s| asked.is_empty() || asked.contains(&s.as_str()))
        .filter(|s| allowed.contains(s))
        .collect();
    if granted.is_empty() {
        let what = if asked.is_empty() {
            "no scope".to_string()
        } else {
            format!("none of the scopes asked for ({})", asked.join(" "))
        };
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "{what} of API {:?} is granted to {who} (an administrator grants API scopes \
                 with api_scopes)",
                api.indicator
            ),
        ));
    }
    Ok(granted)
}

/// What [`for_user`] grants: the API (if the grant names one) and the scopes to issue.
pub type ForUser = (Option<ApiResource>, Vec<String>);

/// For a user's grant: the API named by `indicator` (if any) and the scopes to issue: the OIDC
/// scopes of `scope`, then those of the API's asked in `scope` (all when none) that `groups`
/// grant. Errors are the protocol's (`invalid_target` for an API deleted since,
/// `invalid_scope` when the groups grant none of those asked); the store's are the outer ones.
pub fn for_user(
    tx: &impl Reads,
    indicator: Option<&str>,
    scope: &[String],
    groups: &[Group],
) -> Result<Result<ForUser, OAuthError>, StoreError> {
    let Some(indicator) = indicator else {
        return Ok(Ok((None, scope.to_vec())));
    };
    let Some(api) = tx.api(indicator)? else {
        return Ok(Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            format!("the API {indicator:?} is no longer registered"),
        )));
    };
    let asked_owned = of_api(&api, scope);
    let asked: Vec<&str> = asked_owned.iter().map(String::as_str).collect();
    let allowed = allowed_for_groups(groups, &api);
    let granted = match grant(&api, &asked, &allowed, "this user's groups") {
        Ok(g) => g,
        Err(e) => return Ok(Err(e)),
    };
    let mut out = Scope::known(scope.iter().map(String::as_str));
    out.extend(granted);
    Ok(Ok((Some(api), out)))
}

/// The scopes in `scope` that `api` defines (and OIDC does not), in `scope`'s order.
pub fn of_api(api: &ApiResource, scope: &[String]) -> Vec<String> {
    let oidc = Scope::names();
    scope
        .iter()
        .filter(|s| !oidc.contains(&s.as_str()) && api.scopes.iter().any(|d| &d.name == *s))
        .cloned()
        .collect()
}

/// Who a JWT access token is for and what it carries.
pub struct AccessJwt<'a> {
    pub api: &'a ApiResource,
    /// The user's ID, or the machine app's client ID.
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a [String],
    /// When the user signed in; `None` for client credentials.
    pub auth_time: Option<u64>,
}

/// RFC 9068 §2: signs the access token (once), returns it and its lifetime in seconds.
pub fn sign(p: &Provider, at: &AccessJwt, now: u64) -> Result<String, OAuthError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(p.issuer.url));
    claims.insert("sub".into(), json!(at.sub));
    claims.insert("aud".into(), json!(at.api.indicator));
    claims.insert("client_id".into(), json!(at.client_id));
    claims.insert("scope".into(), json!(at.scope.join(" ")));
    claims.insert("jti".into(), json!(crypto::random_id()));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + at.api.access_token_ttl));
    if let Some(t) = at.auth_time {
        claims.insert("auth_time".into(), json!(t));
    }
    let keys = p.keys();
    let signer = keys.signer(at.api.alg).map_err(|_| {
        // Only RS256 can be missing: its key is generated in the background on a first start.
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the RS256 signing key is still being generated (first start); retry in a few seconds",
        )
    })?;
    Ok(signer.sign_jwt_typed(&Value::Object(claims), AT_JWT_TYP)?)
}

/// RFC 7662 for a JWT access token: its claims if it is ours (signed by our key, `typ`
/// `at+jwt`, our `iss`), unexpired, and issued to `client_id` (the same rule as for opaque
/// tokens: an app sees only its own tokens; an API verifies tokens itself, with JWKS). `None`
/// otherwise, whatever the reason.
pub fn introspect(
    p: &Provider,
    client_id: &str,
    token: &str,
    now: u64,
) -> Option<Map<String, Value>> {
    if header_typ(token)? != AT_JWT_TYP {
        return None;
    }
    let Value::Object(mut claims) = p.keys().verify_jwt(token).ok()? else {
        return None;
    };
    let live = claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|e| e > now);
    let ours = claims.get("iss").and_then(Value::as_str) == Some(p.issuer.url.as_str());
    let theirs = claims.get("client_id").and_then(Value::as_str) == Some(client_id);
    if !(live && ours && theirs) {
        return None;
    }
    claims.insert("token_type".into(), json!("Bearer"));
    Some(claims)
}

/// The `typ` of a compact JWS's header, unverified (to tell an access token from an ID token
/// before looking further).
fn header_typ(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = crypto::b64url_decode(header)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("typ")?.as_str().map(str::to_string)
}
