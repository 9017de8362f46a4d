//! The token endpoint's grants (RFC 6749 §4.1.3, §6) and ID tokens (OIDC Core §2).
//!
//! The token families these grants create and rotate are drawn in [`super::grant`]. Protocol
//! failures that change state (reuse detection) are committed before the error is returned, so
//! the revocation survives.

use super::claims::user_claims;
use super::error::{ErrorCode, OAuthError};
use super::grant::{self, Family, Minted, Reuse};
use super::grant_type::GrantType;
use super::params::Params;
use super::pkce::{self, PkceError};
use super::resource;
use super::scope::{self, Scope};
use crate::audit::{self, Actor, AuditEntry, AuditEvent};
use crate::crypto;
use crate::provider::Provider;
use crate::store::{ApiResource, App, Group, Pending, Reads, StoreError, User, Writes};
use crate::users;
use serde_json::{json, Value};

/// What a successful grant issued, before the ID token is signed.
pub(super) struct Issued {
    pub(super) minted: Minted,
    pub(super) scope: Vec<String>,
    pub(super) user: User,
    pub(super) groups: Vec<Group>,
    pub(super) auth_time: u64,
    /// How the user proved who they are (RFC 8176; empty: an email code).
    pub(super) amr: Vec<String>,
    pub(super) nonce: Option<String>,
    /// The session's `sid` (Back-Channel Logout §2.4), when a session signed the user in.
    pub(super) sid: Option<String>,
    /// The API the access token is for (RFC 8707): then it is a JWT (RFC 9068).
    pub(super) api: Option<ApiResource>,
}

fn param<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, OAuthError> {
    params
        .get(name)
        .map_err(|e| OAuthError::invalid_request(e.to_string()))
}

/// Handles a token request from an authenticated client; returns the JSON response body once
/// what it wrote is durable (blocking: for callers outside the async runtime).
pub fn exchange(p: &Provider, app: &App, params: &Params) -> Result<Value, OAuthError> {
    let (answer, pending) = exchange_pending(p, app, params);
    p.store.wait_durable(pending)?;
    answer
}

/// [`exchange`] without the wait for durability: the answer (a token response, or an error
/// whose state change such as a revocation was committed), and the commit that must be durable
/// before it is sent ([`crate::store::Store::durable`]). The ID token is signed while the
/// commit thread makes the write durable.
pub fn exchange_pending(
    p: &Provider,
    app: &App,
    params: &Params,
) -> (Result<Value, OAuthError>, Pending) {
    let grant_type = match grant_type(app, params) {
        Ok(g) => g,
        Err(e) => return (Err(e), Pending::none()),
    };
    let granted = match grant_type {
        GrantType::AuthorizationCode => authorization_code(p, app, params),
        GrantType::RefreshToken => refresh_token(p, app, params),
        GrantType::DeviceCode => super::device::poll(p, app, params),
        // Signs nothing: its answer is whole once its token is stored.
        GrantType::ClientCredentials => return super::client_credentials::grant(p, app, params),
    };
    match granted {
        Ok((Ok(issued), pending)) => (respond(p, app, issued), pending),
        Ok((Err(refused), pending)) => (Err(refused), pending),
        Err(e) => (Err(e), Pending::none()),
    }
}

/// What a grant wrote: what it issued or why it refused (with its state change committed).
pub(super) type Granted = (Result<Issued, OAuthError>, Pending);

/// The request's `grant_type`, known and allowed for the app's type (RFC 6749 §5.2:
/// `unsupported_grant_type`, `unauthorized_client`).
fn grant_type(app: &App, params: &Params) -> Result<GrantType, OAuthError> {
    let grant_type = match param(params, "grant_type")? {
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
        Some(g) => GrantType::parse(g).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {g:?} is not supported; use {}",
                    GrantType::names().join(" or ")
                ),
            )
        })?,
    };
    if !grant_type.allowed_for(app.app_type) {
        return Err(super::client_credentials::unauthorized(app, grant_type));
    }
    Ok(grant_type)
}

fn pkce_error(e: PkceError) -> OAuthError {
    OAuthError::invalid_grant(match e {
        PkceError::UnexpectedVerifier => {
            "code_verifier sent, but the authorization request had no code_challenge"
        }
        PkceError::MissingVerifier => {
            "code_verifier is missing (the authorization request used PKCE)"
        }
        PkceError::Mismatch => "code_verifier does not match the code_challenge",
    })
}

/// RFC 6749 §4.1.3: exchanging an authorization code.
fn authorization_code(p: &Provider, app: &App, params: &Params) -> Result<Granted, OAuthError> {
    let code =
        param(params, "code")?.ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let redirect_uri = param(params, "redirect_uri")?;
    let verifier = param(params, "code_verifier")?;
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let outcome: Granted = p.store.write_pending(|tx| {
        let key = crypto::hash_token(code);
        let Some(mut ac) = tx.auth_code(&key)? else {
            return Ok(Err(OAuthError::invalid_grant("the authorization code is unknown or expired")));
        };
        if ac.request.client_id != app.client_id {
            return Ok(Err(OAuthError::invalid_grant("the authorization code was issued to another client")));
        }
        if ac.used {
            // RFC 6749 §4.1.2: a second use revokes what the first issued.
            grant::revoke(tx, &ac.grant_id)?;
            tracing::warn!(client_id = %app.client_id, "authorization code reused: its tokens are revoked");
            let event = AuditEvent::AuthorizationCodeReused { grant_id: ac.grant_id.clone() };
            let entry = AuditEntry::new(Actor::Anonymous, event)
                .client(&app.client_id)
                .user(&ac.user_id);
            audit::record(tx, family.now, entry)?;
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens it issued are now revoked",
            )));
        }
        if family.now >= ac.expires_at {
            return Ok(Err(OAuthError::invalid_grant("the authorization code has expired; sign in again")));
        }
        match redirect_uri {
            Some(r) if r == ac.request.redirect_uri => {}
            Some(_) => {
                return Ok(Err(OAuthError::invalid_grant(
                    "redirect_uri differs from the one in the authorization request",
                )))
            }
            None => return Ok(Err(OAuthError::invalid_request("redirect_uri is missing"))),
        }
        if let Err(e) = pkce::verify(ac.request.code_challenge.as_deref(), verifier) {
            return Ok(Err(pkce_error(e)));
        }
        let Some(user) = tx.user(&ac.user_id)? else {
            return Ok(Err(OAuthError::invalid_grant("the user of this code no longer exists")));
        };
        if !users::may_use(app, &user) {
            return Ok(Err(OAuthError::invalid_grant("the user of this code may not use this app")));
        }
        let groups = tx.groups_of(&user)?;
        let (api, scope) = match resource::for_user(tx, ac.request.resource.as_deref(), &ac.request.scope, &groups)? {
            Ok(granted) => granted,
            Err(e) => return Ok(Err(e)),
        };
        ac.used = true;
        ac.request.scope = scope.clone();
        tx.put_auth_code(&key, &ac)?;
        let g = family.start(tx, &ac, &user.id)?;
        let offline = Scope::OfflineAccess.is_in(&scope);
        let minted = family.mint(tx, &ac.grant_id, &g, &scope, offline.then_some(&scope[..]))?;
        Ok::<_, StoreError>(Ok(Issued {
            minted,
            scope,
            user,
            groups,
            auth_time: ac.auth_time,
            amr: ac.amr.clone(),
            nonce: ac.request.nonce.clone(),
            api,
            sid: ac.sid.clone(),
        }))
    })?;
    Ok(outcome)
}

/// RFC 6749 §6: refreshing, with rotation and reuse detection (RFC 9700 §4.14.2), and retries
/// of a rotation whose response was lost (drawn in [`super::grant`]).
fn refresh_token(p: &Provider, app: &App, params: &Params) -> Result<Granted, OAuthError> {
    let token = param(params, "refresh_token")?
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let narrower: Option<Vec<String>> =
        param(params, "scope")?.map(|s| scope::split(s).map(str::to_string).collect());
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let window = crate::apps::refresh_retry_window(app, p.tokens.refresh_retry_window);
    let outcome: Granted = p.store.write_pending(|tx| {
        let key = crypto::hash_token(token);
        let Some(rt) = tx.refresh_token(&key)? else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token is unknown or expired")));
        };
        if rt.client_id != app.client_id {
            return Ok(Err(OAuthError::invalid_grant("the refresh token was issued to another client")));
        }
        let Some(grant) = tx.grant(&rt.grant_id)?.filter(|g| !g.revoked) else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token has been revoked; sign in again")));
        };
        if rt.spent && family.reuse(tx, &rt, window)? == Reuse::Theft {
            grant::revoke(tx, &rt.grant_id)?;
            tracing::warn!(client_id = %app.client_id, "spent refresh token presented again: its family is revoked");
            let event = AuditEvent::RefreshTokenReused { grant_id: rt.grant_id.clone() };
            let entry = AuditEntry::new(Actor::Anonymous, event)
                .client(&app.client_id)
                .user(&rt.user_id);
            audit::record(tx, family.now, entry)?;
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this sign-in is now revoked",
            )));
        }
        if family.now >= rt.expires_at {
            return Ok(Err(OAuthError::invalid_grant("the refresh token has expired; sign in again")));
        }
        let scope = match narrower {
            None => rt.scope.clone(),
            Some(asked) => {
                if let Some(extra) = asked.iter().find(|s| !rt.scope.contains(s)) {
                    return Ok(Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("scope {extra:?} was not granted originally"),
                    )));
                }
                asked
            }
        };
        let Some(user) = tx.user(&rt.user_id)? else {
            return Ok(Err(OAuthError::invalid_grant("the user of this token no longer exists")));
        };
        // Access can be taken away after sign-in (disabled, or out of the app's groups).
        if !users::may_use(app, &user) {
            return Ok(Err(OAuthError::invalid_grant(
                "the user may no longer use this app; sign in again",
            )));
        }
        if rt.spent {
            tracing::info!(client_id = %app.client_id, "refresh retried within its window: rotated again");
        }
        let groups = tx.groups_of(&user)?;
        // The user's groups may have changed since: the API scopes are granted afresh.
        let (api, scope) = match resource::for_user(tx, grant.resource.as_deref(), &scope, &groups)? {
            Ok(granted) => granted,
            Err(e) => return Ok(Err(e)),
        };
        let grant = family.extend(tx, &rt.grant_id, grant)?;
        let minted = family.rotate(tx, &key, rt, &grant, &scope)?;
        Ok::<_, StoreError>(Ok(Issued {
            minted,
            scope,
            user,
            groups,
            auth_time: grant.auth_time,
            amr: grant.amr.clone(),
            nonce: None,
            api,
            sid: grant.sid.clone(),
        }))
    })?;
    Ok(outcome)
}

/// Why an `id_token_hint` (authorization or end-session request) names nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintRefused {
    /// Not a JWS one of our keys signed (or too long to be one).
    NotOurs,
    /// Signed by us, but for another issuer URL (sesame moved).
    OtherIssuer,
}

/// The longest `id_token_hint` read (an RS256 ID token with many claims is a few KiB).
const MAX_HINT_LEN: usize = 16 * 1024;

/// The claims of an `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2): an ID token
/// this issuer signed. Its expiry does not matter: a hint names a user, it grants nothing.
pub fn hint_claims(p: &Provider, hint: &str) -> Result<Value, HintRefused> {
    if hint.len() > MAX_HINT_LEN {
        return Err(HintRefused::NotOurs);
    }
    let claims = p
        .keys()
        .verify_jwt(hint)
        .map_err(|_| HintRefused::NotOurs)?;
    if claims["iss"] != p.issuer.url.as_str() {
        return Err(HintRefused::OtherIssuer);
    }
    Ok(claims)
}

/// Signs the ID token (once per response) and builds the token response.
fn respond(p: &Provider, app: &App, mut issued: Issued) -> Result<Value, OAuthError> {
    let mut expires_in = p.tokens.access_token_ttl;
    if let Some(api) = &issued.api {
        // RFC 9068: the access token for an API is a JWT; the opaque one minted with the
        // family is never sent, and so never used (it expires unseen).
        let api_scope = resource::of_api(api, &issued.scope);
        let jwt = resource::AccessJwt {
            api,
            sub: &issued.user.id,
            client_id: &app.client_id,
            scope: &api_scope,
            auth_time: Some(issued.auth_time),
        };
        issued.minted.access_token = resource::sign(p, &jwt, p.now())?;
        expires_in = api.access_token_ttl;
    }
    let mut body = json!({
        "access_token": issued.minted.access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": issued.scope.join(" "),
    });
    // A refresh that narrowed the scope to exclude `openid` gets no ID token.
    if Scope::OpenId.is_in(&issued.scope) {
        body["id_token"] = json!(id_token(p, app, &issued)?);
    }
    if let Some(r) = &issued.minted.refresh_token {
        body["refresh_token"] = json!(r);
    }
    Ok(body)
}

/// Builds and signs the ID token: exactly one signature per token response.
fn id_token(p: &Provider, app: &App, issued: &Issued) -> Result<String, OAuthError> {
    let now = p.now();
    let alg = crate::apps::id_token_alg(app);
    let mut claims = user_claims(&issued.user, &issued.groups, &issued.scope);
    claims.insert("iss".into(), json!(p.issuer.url));
    claims.insert("aud".into(), json!(app.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + p.tokens.id_token_ttl));
    claims.insert("auth_time".into(), json!(issued.auth_time));
    let authn = crate::store::Authn::new(issued.auth_time, &issued.amr);
    claims.insert("acr".into(), json!(crate::factors::acr(&authn)));
    claims.insert("amr".into(), json!(authn.amr));
    claims.insert(
        "at_hash".into(),
        json!(crypto::keys::at_hash(alg, &issued.minted.access_token)),
    );
    if let Some(n) = &issued.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    if let Some(sid) = &issued.sid {
        claims.insert("sid".into(), json!(sid));
    }
    let keys = p.keys();
    let signer = keys.signer(alg).map_err(|_| {
        // Only RS256 can be missing: its key is generated in the background on a first start.
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the RS256 signing key is still being generated (first start); retry in a few seconds",
        )
    })?;
    Ok(signer.sign_jwt(&Value::Object(claims))?)
}
