//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant (every access
//! and refresh token of that sign-in); revoking an access token removes just that token.

use super::error::OAuthError;
use super::grant;
use super::params::Params;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{App, Reads, StoreError, Writes};

/// Revokes `token` if this client owns it. Unknown tokens, and tokens of other clients, are
/// answered the same way (200), so a client learns nothing about tokens it does not hold
/// (RFC 7009 §2.2).
pub fn revoke(p: &Provider, app: &App, params: &Params) -> Result<(), OAuthError> {
    let one = |name: &str| {
        params
            .get(name)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))
    };
    let token = one("token")?.ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let hint = one("token_type_hint")?;
    let key = crypto::hash_token(token);
    p.store.write(|tx| {
        let refresh_first = hint == Some("refresh_token");
        for pass in 0..2 {
            let try_refresh = (pass == 0) == refresh_first;
            if try_refresh {
                if let Some(rt) = tx.refresh_token(&key)? {
                    if rt.client_id == app.client_id {
                        grant::revoke(tx, &rt.grant_id)?;
                    }
                    return Ok(());
                }
            } else if let Some(at) = tx.access_token(&key)? {
                if at.client_id == app.client_id {
                    tx.remove_access_token(&key)?;
                }
                return Ok(());
            }
        }
        Ok::<(), StoreError>(())
    })?;
    Ok(())
}
