//! The token endpoint's grants (RFC 6749 §4.1.3, §6) and ID tokens (OIDC Core §2).
//!
//! Token families: an authorization code starts a [`Grant`]; every access and refresh token
//! issued from it, directly or by refreshing, points to that grant.
//!
//! ```text
//!   code ──exchange──▶ grant{live}: AT₁, RT₁ ──refresh──▶ AT₂, RT₂ (RT₁ spent) ──▶ ...
//!     │                    │
//!     └─second exchange──▶ grant{revoked}   ◀── a spent RT presented again, or revocation
//! ```
//!
//! A revoked grant kills every token in the family: a stolen refresh token used after the
//! legitimate client rotated it (or vice versa) ends the family for both (RFC 9700 §4.14.2).
//! Protocol failures that change state (reuse detection) are committed before the error is
//! returned, so the revocation survives.

use super::authorize::revoke_grant;
use super::claims::user_claims;
use super::error::{ErrorCode, OAuthError};
use crate::clock;
use crate::crypto::{self, keys::Alg};
use crate::http::Params;
use crate::server::State;
use crate::store::{
    AccessToken, App, Grant, RefreshToken, StoreError, User, WriteTx, ACCESS_TOKENS, AUTH_CODES,
    GRANTS, REFRESH_TOKENS, USERS,
};
use serde_json::{json, Value};

/// What a successful grant issued, before the ID token is signed.
struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    scope: Vec<String>,
    user: User,
    auth_time: u64,
    nonce: Option<String>,
}

/// Handles a token request from an authenticated client; returns the JSON response body.
pub fn exchange(state: &State, app: &App, params: &Params) -> Result<Value, OAuthError> {
    let issued = match params
        .get("grant_type")
        .map_err(OAuthError::invalid_request)?
    {
        Some("authorization_code") => authorization_code(state, app, params)?,
        Some("refresh_token") => refresh_token(state, app, params)?,
        Some(other) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                "grant_type {other:?} is not supported; use authorization_code or refresh_token"
            ),
            ))
        }
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
    };
    respond(state, app, issued)
}

fn authorization_code(state: &State, app: &App, params: &Params) -> Result<Issued, OAuthError> {
    let p = |n: &str| params.get(n).map_err(OAuthError::invalid_request);
    let code = p("code")?.ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let redirect_uri = p("redirect_uri")?;
    let verifier = p("code_verifier")?;
    let now = clock::now();
    let ttl = &state.config.tokens;
    let outcome: Result<Issued, OAuthError> = state.store.write(|tx| {
        let key = crypto::hash_token(code);
        let Some(mut ac) = tx.get(&AUTH_CODES, &key)? else {
            return Ok(Err(OAuthError::invalid_grant("the authorization code is unknown or expired")));
        };
        if ac.request.client_id != app.client_id {
            return Ok(Err(OAuthError::invalid_grant("the authorization code was issued to another client")));
        }
        if ac.used {
            // RFC 6749 §4.1.2: a second use revokes what the first issued.
            revoke_grant(tx, &ac.grant_id)?;
            tracing::warn!(client_id = %app.client_id, "authorization code reused: its tokens are revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens it issued are now revoked",
            )));
        }
        if now >= ac.expires_at {
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
        if let Err(e) = check_pkce(ac.request.code_challenge.as_deref(), verifier) {
            return Ok(Err(e));
        }
        let Some(user) = tx.get(&USERS, &ac.user_id)? else {
            return Ok(Err(OAuthError::invalid_grant("the user of this code no longer exists")));
        };
        ac.used = true;
        tx.put(&AUTH_CODES, &key, &ac)?;
        let scope = ac.request.scope.clone();
        let offline = scope.iter().any(|s| s == "offline_access");
        tx.put(
            &GRANTS,
            &ac.grant_id,
            &Grant {
                client_id: app.client_id.clone(),
                user_id: user.id.clone(),
                scope: scope.clone(),
                auth_time: ac.auth_time,
                revoked: false,
                expires_at: now + ttl.refresh_token_ttl.max(ttl.access_token_ttl),
            },
        )?;
        let (access_token, refresh_token) = mint(tx, state, &ac.grant_id, app, &user.id, &scope, offline.then_some(&scope[..]), now)?;
        Ok::<_, StoreError>(Ok(Issued {
            access_token,
            refresh_token,
            scope,
            user,
            auth_time: ac.auth_time,
            nonce: ac.request.nonce.clone(),
        }))
    })?;
    outcome
}

fn refresh_token(state: &State, app: &App, params: &Params) -> Result<Issued, OAuthError> {
    let p = |n: &str| params.get(n).map_err(OAuthError::invalid_request);
    let token = p("refresh_token")?
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let narrower: Option<Vec<String>> = p("scope")?.map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    });
    let now = clock::now();
    let ttl = &state.config.tokens;
    let outcome: Result<Issued, OAuthError> = state.store.write(|tx| {
        let key = crypto::hash_token(token);
        let Some(mut rt) = tx.get(&REFRESH_TOKENS, &key)? else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token is unknown or expired")));
        };
        if rt.client_id != app.client_id {
            return Ok(Err(OAuthError::invalid_grant("the refresh token was issued to another client")));
        }
        let grant = tx.get(&GRANTS, &rt.grant_id)?;
        let Some(mut grant) = grant.filter(|g| !g.revoked) else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token has been revoked; sign in again")));
        };
        if rt.spent {
            revoke_grant(tx, &rt.grant_id)?;
            tracing::warn!(client_id = %app.client_id, "spent refresh token presented again: its family is revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this sign-in is now revoked",
            )));
        }
        if now >= rt.expires_at {
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
        let Some(user) = tx.get(&USERS, &rt.user_id)? else {
            return Ok(Err(OAuthError::invalid_grant("the user of this token no longer exists")));
        };
        rt.spent = true;
        tx.put(&REFRESH_TOKENS, &key, &rt)?;
        grant.expires_at = now + ttl.refresh_token_ttl.max(ttl.access_token_ttl);
        tx.put(&GRANTS, &rt.grant_id, &grant)?;
        // Rotation keeps the original scope on the refresh token; only this access token is narrowed.
        let (access_token, refresh_token) = mint(tx, state, &rt.grant_id, app, &user.id, &scope, Some(&rt.scope), now)?;
        Ok::<_, StoreError>(Ok(Issued {
            access_token,
            refresh_token,
            scope,
            user,
            auth_time: grant.auth_time,
            nonce: None,
        }))
    })?;
    outcome
}

/// Checks a PKCE verifier against the stored S256 challenge (RFC 7636 §4.6). A verifier sent
/// for a code issued without a challenge is refused too (PKCE downgrade, RFC 9700 §2.1.1).
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is missing (the authorization request used PKCE)",
        )),
        (Some(c), Some(v)) => {
            let well_formed = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed =
                crypto::b64url(ring::digest::digest(&ring::digest::SHA256, v.as_bytes()).as_ref());
            if well_formed && crypto::constant_time_eq(computed.as_bytes(), c.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

/// Stores a new access token for `access_scope` and, when `refresh_scope` is given, a new
/// refresh token for it, both under `grant_id`.
#[allow(clippy::too_many_arguments)]
fn mint(
    tx: &WriteTx,
    state: &State,
    grant_id: &str,
    app: &App,
    user_id: &str,
    access_scope: &[String],
    refresh_scope: Option<&[String]>,
    now: u64,
) -> Result<(String, Option<String>), StoreError> {
    let ttl = &state.config.tokens;
    let access = crypto::random_token();
    tx.put(
        &ACCESS_TOKENS,
        &crypto::hash_token(&access),
        &AccessToken {
            grant_id: grant_id.to_string(),
            client_id: app.client_id.clone(),
            user_id: user_id.to_string(),
            scope: access_scope.to_vec(),
            expires_at: now + ttl.access_token_ttl,
        },
    )?;
    let refresh = if let Some(refresh_scope) = refresh_scope {
        let r = crypto::random_token();
        tx.put(
            &REFRESH_TOKENS,
            &crypto::hash_token(&r),
            &RefreshToken {
                grant_id: grant_id.to_string(),
                client_id: app.client_id.clone(),
                user_id: user_id.to_string(),
                scope: refresh_scope.to_vec(),
                expires_at: now + ttl.refresh_token_ttl,
                spent: false,
            },
        )?;
        Some(r)
    } else {
        None
    };
    Ok((access, refresh))
}

/// The algorithm an app's ID tokens are signed with (ES384 unless the app asks otherwise).
pub fn id_token_alg(app: &App) -> Alg {
    app.id_token_signed_response_alg.unwrap_or(Alg::Es384)
}

/// Signs the ID token (once per response) and builds the token response.
fn respond(state: &State, app: &App, issued: Issued) -> Result<Value, OAuthError> {
    let ttl = &state.config.tokens;
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": ttl.access_token_ttl,
        "scope": issued.scope.join(" "),
    });
    // A refresh that narrowed the scope to exclude `openid` gets no ID token.
    if issued.scope.iter().any(|s| s == "openid") {
        body["id_token"] = json!(id_token(state, app, &issued)?);
    }
    if let Some(r) = issued.refresh_token {
        body["refresh_token"] = json!(r);
    }
    Ok(body)
}

/// Builds and signs the ID token: exactly one signature per token response.
fn id_token(state: &State, app: &App, issued: &Issued) -> Result<String, OAuthError> {
    let now = clock::now();
    let alg = id_token_alg(app);
    let mut claims = user_claims(&issued.user, &issued.scope);
    claims.insert("iss".into(), json!(state.issuer.url));
    claims.insert("aud".into(), json!(app.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + state.config.tokens.id_token_ttl));
    claims.insert("auth_time".into(), json!(issued.auth_time));
    claims.insert(
        "at_hash".into(),
        json!(crypto::keys::at_hash(alg, &issued.access_token)),
    );
    if let Some(n) = &issued.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    let keys = state.keys();
    let signer = keys.signer(alg).map_err(|_| {
        // Only RS256 can be missing: its key is generated in the background on a first start.
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the RS256 signing key is still being generated (first start); retry in a few seconds",
        )
    })?;
    Ok(signer.sign_jwt(&Value::Object(claims))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_known_answer_and_downgrade() {
        // RFC 7636 Appendix B.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(c), Some(v)).is_ok());
        assert!(check_pkce(Some(c), Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")).is_err());
        assert!(check_pkce(Some(c), None).is_err());
        assert!(check_pkce(None, Some(v)).is_err());
        assert!(check_pkce(None, None).is_ok());
    }
}
