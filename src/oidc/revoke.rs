//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant (every access
//! and refresh token of that sign-in); revoking an access token removes just that token.

use super::authorize::revoke_grant;
use super::error::OAuthError;
use crate::crypto;
use crate::http::Params;
use crate::server::State;
use crate::store::{App, StoreError, ACCESS_TOKENS, REFRESH_TOKENS};

/// Revokes `token` if this client owns it. Unknown tokens, and tokens of other clients, are
/// answered the same way (200), so a client learns nothing about tokens it does not hold
/// (RFC 7009 §2.2).
pub fn revoke(state: &State, app: &App, params: &Params) -> Result<(), OAuthError> {
    let token = params
        .get("token")
        .map_err(OAuthError::invalid_request)?
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let hint = params
        .get("token_type_hint")
        .map_err(OAuthError::invalid_request)?;
    let key = crypto::hash_token(token);
    state.store.write(|tx| {
        let refresh_first = hint == Some("refresh_token");
        for pass in 0..2 {
            let try_refresh = (pass == 0) == refresh_first;
            if try_refresh {
                if let Some(rt) = tx.get(&REFRESH_TOKENS, &key)? {
                    if rt.client_id == app.client_id {
                        revoke_grant(tx, &rt.grant_id)?;
                    }
                    return Ok(());
                }
            } else if let Some(at) = tx.get(&ACCESS_TOKENS, &key)? {
                if at.client_id == app.client_id {
                    tx.remove(&ACCESS_TOKENS, &key)?;
                }
                return Ok(());
            }
        }
        Ok::<(), StoreError>(())
    })?;
    Ok(())
}
