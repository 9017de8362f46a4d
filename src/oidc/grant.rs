//! Grants and their token families: the one place that issues authorization codes, starts a
//! grant, mints its tokens, rotates refresh tokens, computes their lifetimes and revokes the
//! family.
//!
//! An authorization code starts a [`Grant`]; every access and refresh token issued from it,
//! directly or by refreshing, points to that grant.
//!
//! ```text
//!   code ──exchange──▶ grant{live}: AT₁, RT₁ ──refresh──▶ AT₂, RT₂ (RT₁ spent → RT₂) ──▶ ...
//!     │                    │
//!     └─second exchange──▶ grant{revoked}   ◀── a spent RT presented again (not a retry),
//!                                               or revocation
//! ```
//!
//! A revoked grant kills every token in the family: a stolen refresh token used after the
//! legitimate client rotated it (or vice versa) ends the family for both (RFC 9700 §4.14.2).
//!
//! Retries. A rotation can commit while its response is lost (a crash, a dropped connection),
//! and two tabs of one app can refresh with the same token at once. The client then presents
//! the rotated token again. That is a retry, not theft, while nobody can have used what the
//! rotation issued:
//!
//! ```text
//!   RT₁ spent at t, successor RT₂ (never used)
//!     │
//!     ├─RT₁ again before t + window ──▶ AT₃, RT₃; RT₂ superseded (spent, no successor);
//!     │   and RT₂ still unused         RT₁'s successor is RT₃, its window still ends at t + window
//!     │
//!     └─RT₁ again at or after t + window, or after RT₂ was used (refreshed), or when RT₁
//!       predates retries (no successor recorded) ──▶ grant{revoked}
//! ```
//!
//! A superseded token is spent with no successor: presenting it revokes the family. So tabs
//! refreshing at once all get an answer, but only the last rotation's token stays live: a tab
//! that keeps an earlier one ends the family when it next refreshes (clients sharing a token
//! across tabs should still refresh under a lock, as the common libraries do). The
//! window is short (default 60 s: a client retries at once or not at all), per app
//! (`refresh_retry_window`, else `[tokens] refresh_retry_window`), and 0 turns retries off.
//! Within it a thief holding RT₁ can take the family over only until the client uses RT₂ (or
//! presents the superseded RT₂, which revokes everything): detection is delayed, not lost.
//!
//! Lifetimes, all from `[tokens]`:
//! - an authorization code lives `authorization_code_ttl` and is single use;
//! - an access token lives `access_token_ttl`, a refresh token `refresh_token_ttl` from its
//!   issue (rotation gives the new one a full lifetime);
//! - a grant record lives as long as the longest of its tokens can ([`Family::expiry`]), and
//!   is swept with them.

use crate::crypto;
use crate::provider::TokenConfig;
use crate::store::{
    AccessToken, AuthCode, AuthRequest, Authn, Grant, Reads, RefreshToken, StoreError, Writes,
};

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
    /// (all in `request`), inside the caller's transaction; returns the code. `sid` names the
    /// session that signed the user in ([`crate::session::signs_in_to`]), for the ID token.
    pub fn issue_code(
        &self,
        tx: &impl Writes,
        request: &AuthRequest,
        user_id: &str,
        authn: &Authn,
        sid: Option<String>,
    ) -> Result<String, StoreError> {
        let code = crypto::random_token();
        tx.put_auth_code(
            &crypto::hash_token(&code),
            &AuthCode {
                request: request.clone(),
                user_id: user_id.to_string(),
                auth_time: authn.time,
                grant_id: crypto::random_id(),
                expires_at: self.now + self.tokens.authorization_code_ttl,
                used: false,
                sid,
                amr: authn.amr.clone(),
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
            resource: code.request.resource.clone(),
            sid: code.sid.clone(),
            amr: code.amr.clone(),
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
                client_credentials: false,
                issued_at: Some(self.now),
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
                        rotated_at: None,
                        successor: None,
                        issued_at: Some(self.now),
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

/// What a spent refresh token presented again is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// The client retrying a rotation whose response it never saw: rotate again.
    Retry,
    /// Anything else: the family must be revoked (RFC 9700 §4.14.2).
    Theft,
}

impl Family<'_> {
    /// Judges a spent refresh token presented again, with the app's retry window in seconds.
    pub fn reuse(
        &self,
        tx: &impl Reads,
        spent: &RefreshToken,
        window: u64,
    ) -> Result<Reuse, StoreError> {
        let (Some(rotated_at), Some(successor)) = (spent.rotated_at, &spent.successor) else {
            return Ok(Reuse::Theft);
        };
        if self.now >= rotated_at.saturating_add(window) {
            return Ok(Reuse::Theft);
        }
        // A successor swept or removed (its app deleted) cannot be shown unused.
        Ok(match tx.refresh_token(successor)? {
            Some(next) if !next.spent => Reuse::Retry,
            _ => Reuse::Theft,
        })
    }

    /// Rotates the refresh token stored at `key` (live, or spent and judged a [`Reuse::Retry`]):
    /// mints the new tokens, marks `rt` spent with the new refresh token as its successor, and
    /// supersedes the successor a retried rotation had issued.
    pub fn rotate(
        &self,
        tx: &impl Writes,
        key: &str,
        mut rt: RefreshToken,
        grant: &Grant,
        access_scope: &[String],
    ) -> Result<Minted, StoreError> {
        // Rotation keeps the original scope on the refresh token; only the access token may be
        // narrowed.
        let minted = self.mint(tx, &rt.grant_id, grant, access_scope, Some(&rt.scope))?;
        if let Some(previous) = rt.successor.take() {
            supersede(tx, &previous)?;
        }
        rt.spent = true;
        rt.rotated_at = Some(rt.rotated_at.unwrap_or(self.now));
        rt.successor = minted.refresh_token.as_deref().map(crypto::hash_token);
        tx.put_refresh_token(key, &rt)?;
        Ok(minted)
    }
}

/// Marks the unused successor of a retried rotation spent, with no successor: it never
/// refreshes, and presenting it is reuse.
fn supersede(tx: &impl Writes, key: &str) -> Result<(), StoreError> {
    if let Some(mut old) = tx.refresh_token(key)? {
        old.spent = true;
        old.rotated_at = None;
        old.successor = None;
        tx.put_refresh_token(key, &old)?;
    }
    Ok(())
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

/// An app a user has signed in to and whose tokens still live: what the account page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUse {
    pub client_id: String,
    /// The latest sign-in among its live grants (Unix seconds).
    pub last_sign_in: u64,
    /// The scopes granted, across its live grants, sorted.
    pub scope: Vec<String>,
}

/// The apps `user_id` holds live (unrevoked, unexpired) grants for, by client ID.
pub fn apps_of(tx: &impl Reads, user_id: &str, now: u64) -> Result<Vec<AppUse>, StoreError> {
    let mut by_app: std::collections::BTreeMap<String, AppUse> = Default::default();
    for (_, g) in tx.grants_of(user_id)? {
        if g.revoked || g.expires_at <= now {
            continue;
        }
        let e = by_app.entry(g.client_id.clone()).or_insert_with(|| AppUse {
            client_id: g.client_id.clone(),
            last_sign_in: 0,
            scope: Vec::new(),
        });
        e.last_sign_in = e.last_sign_in.max(g.auth_time);
        e.scope.extend(g.scope);
    }
    let mut apps: Vec<AppUse> = by_app.into_values().collect();
    for a in &mut apps {
        a.scope.sort();
        a.scope.dedup();
    }
    Ok(apps)
}

/// Revokes every grant `user_id` holds for `client_id`: that app's refresh and access tokens
/// stop working. Returns how many grants were revoked (0: none was live).
pub fn revoke_app(tx: &impl Writes, user_id: &str, client_id: &str) -> Result<usize, StoreError> {
    let mut n = 0;
    for (id, g) in tx.grants_of(user_id)? {
        if g.client_id == client_id && !g.revoked {
            revoke(tx, &id)?;
            n += 1;
        }
    }
    Ok(n)
}
