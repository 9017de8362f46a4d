//! The userinfo endpoint (OIDC Core §5.3): the claims of the access token's user.

use super::claims::user_claims;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{AccessToken, Reads, User};
use serde_json::Value;

fn invalid_token(d: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, d)
}

/// The bearer token of a request: the `Authorization: Bearer` header, or `access_token` in a
/// form body (RFC 6750 §2.1, §2.2). Both at once is an error.
pub fn bearer(authorization: Option<&str>, form: Option<&Params>) -> Result<String, OAuthError> {
    let from_body = match form {
        Some(p) => p
            .get("access_token")
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?,
        None => None,
    };
    let from_header = authorization.and_then(|h| super::params::credentials(h, "Bearer"));
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token once: header or body",
        )),
        (Some(t), None) | (None, Some(t)) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(invalid_token(
            "no access token: send Authorization: Bearer <token>",
        )),
    }
}

/// Looks up a live access token and its user.
pub fn check_access_token(p: &Provider, token: &str) -> Result<(AccessToken, User), OAuthError> {
    let now = p.now();
    p.store.read(|tx| {
        let Some(at) = tx.access_token(&crypto::hash_token(token))? else {
            return Ok(Err(invalid_token("the access token is unknown or expired")));
        };
        if now >= at.expires_at {
            return Ok(Err(invalid_token("the access token has expired")));
        }
        if at.client_credentials {
            return Ok(Err(invalid_token(
                "this access token was issued to a machine app (client credentials) and names no user; userinfo answers only for a user's token",
            )));
        }
        match tx.grant(&at.grant_id)? {
            Some(g) if !g.revoked => {}
            _ => return Ok(Err(invalid_token("the access token has been revoked"))),
        }
        match tx.user(&at.user_id)? {
            Some(u) if u.disabled => Ok(Err(invalid_token("the user of this token is disabled"))),
            Some(u) => Ok(Ok((at, u))),
            None => Ok(Err(invalid_token(
                "the user of this token no longer exists",
            ))),
        }
    })?
}

/// The userinfo response for a bearer token.
pub fn userinfo(p: &Provider, token: &str) -> Result<Value, OAuthError> {
    let (at, user) = check_access_token(p, token)?;
    let groups = p.store.read(|tx| tx.groups_of(&user))?;
    Ok(Value::Object(user_claims(&user, &groups, &at.scope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_from_header_or_body_but_not_both() {
        assert_eq!(bearer(Some("Bearer abc"), None).unwrap(), "abc");
        assert!(bearer(None, None).is_err());
        assert!(bearer(Some("Basic abc"), None).is_err());
    }
}
