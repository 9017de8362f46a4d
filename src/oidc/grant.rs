//! Grants and their token families: the one place that issues authorization codes, starts a
//! grant, mints its tokens, computes their lifetimes and revokes the family.
//!
//! An authorization code starts a [`Grant`]; every access and refresh token issued from it,
//! directly or by refreshing, points to that grant.
//!
//! ```text
//!   code ──exchange──▶ grant{live}: AT₁, RT₁ ──refresh──▶ AT₂, RT₂ (RT₁ spent) ──▶ ...
//!     │                    │
//!     └─second exchange──▶ grant{revoked}   ◀── a spent RT presented again, or revocation
//! ```
//!
//! A revoked grant kills every token in the family: a stolen refresh token used after the
//! legitimate client rotated it (or vice versa) ends the family for both (RFC 9700 §4.14.2).
//!
//! Lifetimes, all from `[tokens]`:
//! - an authorization code lives `authorization_code_ttl` and is single use;
//! - an access token lives `access_token_ttl`, a refresh token `refresh_token_ttl` from its
//!   issue (rotation gives the new one a full lifetime);
//! - a grant record lives as long as the longest of its tokens can ([`Family::expiry`]), and
//!   is swept with them.

use crate::crypto;
use crate::provider::TokenConfig;
use crate::store::{AccessToken, AuthCode, AuthRequest, Grant, RefreshToken, StoreError, Writes};

/// Lifetimes and minting for token families, at one instant.
pub struct Family<'a> {
    pub tokens: &'a TokenConfig,
    pub now: u64,
}

/// The tokens minted for one response (in the clear: returned to the client once, stored
/// hashed).
#[derive(Debug)]
pub struct Minted {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl Family<'_> {
    /// When a grant touched now may be swept: when its last possible token has expired.
    pub fn expiry(&self) -> u64 {
        self.now
            + self
                .tokens
                .refresh_token_ttl
                .max(self.tokens.access_token_ttl)
    }

    /// Issues an authorization code bound to the client, redirect URI, PKCE challenge and nonce
    /// (all in `request`), inside the caller's transaction; returns the code.
    pub fn issue_code(
        &self,
        tx: &impl Writes,
        request: &AuthRequest,
        user_id: &str,
        auth_time: u64,
    ) -> Result<String, StoreError> {
        let code = crypto::random_token();
        tx.put_auth_code(
            &crypto::hash_token(&code),
            &AuthCode {
                request: request.clone(),
                user_id: user_id.to_string(),
                auth_time,
                grant_id: crypto::random_id(),
                expires_at: self.now + self.tokens.authorization_code_ttl,
                used: false,
            },
        )?;
        Ok(code)
    }

    /// Starts (and returns) the grant of a code being exchanged.
    pub fn start(
        &self,
        tx: &impl Writes,
        code: &AuthCode,
        user_id: &str,
    ) -> Result<Grant, StoreError> {
        let grant = Grant {
            client_id: code.request.client_id.clone(),
            user_id: user_id.to_string(),
            scope: code.request.scope.clone(),
            auth_time: code.auth_time,
            revoked: false,
            expires_at: self.expiry(),
        };
        tx.put_grant(&code.grant_id, &grant)?;
        Ok(grant)
    }

    /// Extends a live grant whose refresh token is being rotated.
    pub fn extend(
        &self,
        tx: &impl Writes,
        grant_id: &str,
        mut grant: Grant,
    ) -> Result<Grant, StoreError> {
        grant.expires_at = self.expiry();
        tx.put_grant(grant_id, &grant)?;
        Ok(grant)
    }

    /// Stores a new access token for `access_scope` and, when `refresh_scope` is given, a new
    /// refresh token for it, both in the family `grant_id`.
    pub fn mint(
        &self,
        tx: &impl Writes,
        grant_id: &str,
        grant: &Grant,
        access_scope: &[String],
        refresh_scope: Option<&[String]>,
    ) -> Result<Minted, StoreError> {
        let access = crypto::random_token();
        tx.put_access_token(
            &crypto::hash_token(&access),
            &AccessToken {
                grant_id: grant_id.to_string(),
                client_id: grant.client_id.clone(),
                user_id: grant.user_id.clone(),
                scope: access_scope.to_vec(),
                expires_at: self.now + self.tokens.access_token_ttl,
            },
        )?;
        let refresh = match refresh_scope {
            Some(refresh_scope) => {
                let r = crypto::random_token();
                tx.put_refresh_token(
                    &crypto::hash_token(&r),
                    &RefreshToken {
                        grant_id: grant_id.to_string(),
                        client_id: grant.client_id.clone(),
                        user_id: grant.user_id.clone(),
                        scope: refresh_scope.to_vec(),
                        expires_at: self.now + self.tokens.refresh_token_ttl,
                        spent: false,
                    },
                )?;
                Some(r)
            }
            None => None,
        };
        Ok(Minted {
            access_token: access,
            refresh_token: refresh,
        })
    }
}

/// Revokes a grant: every token issued under it stops working.
pub fn revoke(tx: &impl Writes, grant_id: &str) -> Result<(), StoreError> {
    // A used code and a live refresh token always have their grant: the grant is created in
    // the transaction that first uses the code, and swept together with its tokens.
    if let Some(mut g) = tx.grant(grant_id)? {
        g.revoked = true;
        tx.put_grant(grant_id, &g)?;
    }
    Ok(())
}
