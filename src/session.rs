//! The sesame session (single sign-on): a random cookie value naming a session stored, by
//! hash, in the store. The protocol (`oidc`) reads it to answer without a page; sign-in
//! (`signin`) creates it; logout ends it. The cookie itself is the HTTP edge's business.
//!
//! Uses: store, crypto, provider. Never the edge.

use crate::crypto;
use crate::provider::Provider;
use crate::store::{Reads, Session, StoreError, Writes};

/// Creates a session for `user_id` in the caller's transaction; returns the cookie value.
pub fn create(tx: &impl Writes, user_id: &str, now: u64, ttl: u64) -> Result<String, StoreError> {
    let value = crypto::random_token();
    tx.put_session(
        &crypto::hash_token(&value),
        &Session {
            user_id: user_id.to_string(),
            auth_time: now,
            expires_at: now + ttl,
        },
    )?;
    Ok(value)
}

/// The live session named by the cookie value, if any (its user must still exist and be
/// enabled).
pub fn current(p: &Provider, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
    let Some(value) = cookie.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let now = p.now();
    p.store.read(|tx| {
        let Some(s) = tx.session(&crypto::hash_token(value))? else {
            return Ok(None);
        };
        if now >= s.expires_at || tx.user(&s.user_id)?.is_none_or(|u| u.disabled) {
            return Ok(None);
        }
        Ok(Some(s))
    })
}

/// Ends the session named by the cookie value, in the caller's transaction.
pub fn end_in(tx: &impl Writes, cookie: Option<&str>) -> Result<(), StoreError> {
    if let Some(value) = cookie.filter(|v| !v.is_empty()) {
        tx.remove_session(&crypto::hash_token(value))?;
    }
    Ok(())
}

/// Ends the session named by the cookie value.
pub fn end(p: &Provider, cookie: Option<&str>) -> Result<(), StoreError> {
    if cookie.is_some_and(|v| !v.is_empty()) {
        p.store.write(|tx| end_in(tx, cookie))?;
    }
    Ok(())
}
