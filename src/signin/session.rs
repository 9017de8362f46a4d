//! The sesame session: an HttpOnly cookie naming a session stored (by hash) in redb.

use crate::clock;
use crate::crypto;
use crate::server::State;
use crate::store::{Session, StoreError, WriteTx, SESSIONS, USERS};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sesame_session";
/// The cookie that binds an interaction to the browser that started it.
pub const INTERACTION_COOKIE: &str = "sesame_interaction";

/// Creates a session for `user_id` in the caller's transaction; returns the cookie value.
pub fn create(tx: &WriteTx, user_id: &str, now: u64, ttl: u64) -> Result<String, StoreError> {
    let value = crypto::random_token();
    tx.put(
        &SESSIONS,
        &crypto::hash_token(&value),
        &Session {
            user_id: user_id.to_string(),
            auth_time: now,
            expires_at: now + ttl,
        },
    )?;
    Ok(value)
}

/// The live session named by the cookie value, if any (its user must still exist).
pub fn current(state: &State, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
    let Some(value) = cookie.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let now = clock::now();
    state.store.read(|tx| {
        let Some(s) = tx.get(&SESSIONS, &crypto::hash_token(value))? else {
            return Ok(None);
        };
        if now >= s.expires_at || tx.get(&USERS, &s.user_id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(s))
    })
}

/// Ends the session named by the cookie value.
pub fn end(state: &State, cookie: Option<&str>) -> Result<(), StoreError> {
    if let Some(value) = cookie.filter(|v| !v.is_empty()) {
        state
            .store
            .write(|tx| tx.remove(&SESSIONS, &crypto::hash_token(value)).map(|_| ()))?;
    }
    Ok(())
}
