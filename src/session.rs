//! The sesame session (single sign-on): a random cookie value naming a session stored, by
//! hash, in the store. The protocol (`oidc`) reads it to answer without a page; sign-in
//! (`signin`) creates it; logout ends it. The cookie itself is the HTTP edge's business.
//!
//! A session has a [`SessionKind`]: sesame's own (its pages, `/auth`, the management API) or
//! forward-auth's (the cookie shared with the hosts behind the proxy). Each reader asks for its
//! kind, so a cookie of one kind never works as the other.
//!
//! A sesame session has a `sid` (random, apart from the cookie) that the ID tokens of the apps
//! it signs in to carry, and keeps the list of those apps: when it ends, the store queues a
//! back-channel logout for each that asked for one (`oidc::backchannel`).
//!
//! Uses: store, crypto, provider. Never the edge.

use crate::crypto;
use crate::provider::Provider;
use crate::store::{Authn, Reads, Session, SessionKind, StoreError, User, Writes};

/// Creates a sesame session for `user_id`, who proved themselves with an email code `now`, in
/// the caller's transaction; returns the cookie value.
pub fn create(tx: &impl Writes, user_id: &str, now: u64, ttl: u64) -> Result<String, StoreError> {
    create_proved(tx, user_id, &Authn::email_code(now), ttl)
}

/// Creates a sesame session for `user_id`, who proved themselves as `authn` says (when and
/// how: the ID tokens' `auth_time` and `amr`), living `ttl` seconds from then.
pub fn create_proved(
    tx: &impl Writes,
    user_id: &str,
    authn: &Authn,
    ttl: u64,
) -> Result<String, StoreError> {
    let cookie = create_kind(
        tx,
        user_id,
        authn.time,
        authn.time + ttl,
        SessionKind::Sesame,
    )?;
    let hash = crypto::hash_token(&cookie);
    if let Some(mut s) = tx.session(&hash)? {
        s.amr = authn.amr.clone();
        tx.put_session(&hash, &s)?;
    }
    Ok(cookie)
}

/// Creates a forward-auth session for `user_id`, signed in at `auth_time`, ending at
/// `expires_at`; returns the cookie value.
pub fn create_forward_auth(
    tx: &impl Writes,
    user_id: &str,
    auth_time: u64,
    expires_at: u64,
) -> Result<String, StoreError> {
    create_kind(tx, user_id, auth_time, expires_at, SessionKind::ForwardAuth)
}

fn create_kind(
    tx: &impl Writes,
    user_id: &str,
    auth_time: u64,
    expires_at: u64,
    kind: SessionKind,
) -> Result<String, StoreError> {
    let value = crypto::random_token();
    tx.put_session(
        &crypto::hash_token(&value),
        &Session {
            user_id: user_id.to_string(),
            auth_time,
            expires_at,
            kind,
            // Only sesame's own sessions sign in to apps.
            sid: kind.is_sesame().then(crypto::random_id),
            apps: Vec::new(),
            amr: Vec::new(),
        },
    )?;
    Ok(value)
}

/// The live sesame session named by the cookie value, if any (its user must still exist and
/// be enabled).
pub fn current(p: &Provider, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
    Ok(signed_in(p, cookie, SessionKind::Sesame)?.map(|(s, _)| s))
}

/// The live session of `kind` named by the cookie value, and its user (existing and enabled),
/// read in one snapshot.
pub fn signed_in(
    p: &Provider,
    cookie: Option<&str>,
    kind: SessionKind,
) -> Result<Option<(Session, User)>, StoreError> {
    let Some(value) = cookie.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let now = p.now();
    p.store.read(|tx| {
        let Some(s) = tx.session(&crypto::hash_token(value))? else {
            return Ok(None);
        };
        if s.kind != kind || now >= s.expires_at {
            return Ok(None);
        }
        match tx.user(&s.user_id)? {
            Some(u) if !u.disabled => Ok(Some((s, u))),
            _ => Ok(None),
        }
    })
}

/// Records that the session named by the cookie value signs in to `client_id` (its logout
/// will tell the app), in the caller's transaction; returns the session's `sid` (one is given
/// to a session from before sesame kept them). `None`: no such session.
pub fn signs_in_to(
    tx: &impl Writes,
    cookie: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    let hash = crypto::hash_token(cookie);
    let Some(mut s) = tx.session(&hash)? else {
        return Ok(None);
    };
    let known = s.sid.is_some() && s.apps.iter().any(|a| a == client_id);
    if !known {
        s.sid.get_or_insert_with(crypto::random_id);
        if !s.apps.iter().any(|a| a == client_id) {
            s.apps.push(client_id.to_string());
        }
        tx.put_session(&hash, &s)?;
    }
    Ok(s.sid)
}

/// Replaces the session named by the cookie value `old` with the new one named by `new`, in
/// the caller's transaction. For the same user (signing in again: `prompt=login`, `max_age`)
/// the new session takes over the old one's `sid` and apps: the apps' sessions go on, and none
/// is logged out. For another user the old session ends, and its apps are told.
pub fn replace(tx: &impl Writes, old: &str, new: &str) -> Result<(), StoreError> {
    let (old_hash, new_hash) = (crypto::hash_token(old), crypto::hash_token(new));
    if old.is_empty() || old_hash == new_hash {
        return Ok(());
    }
    let (Some(mut before), Some(mut after)) = (tx.session(&old_hash)?, tx.session(&new_hash)?)
    else {
        return end_in(tx, Some(old));
    };
    if before.user_id == after.user_id && before.kind == after.kind && before.sid.is_some() {
        after.sid = before.sid.take();
        after.apps = std::mem::take(&mut before.apps);
        tx.put_session(&new_hash, &after)?;
        // Emptied of its apps, its end tells nobody.
        tx.put_session(&old_hash, &before)?;
    }
    tx.remove_session(&old_hash).map(|_| ())
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

/// One of a user's live sessions, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Names it in a form: the hash of its cookie value (the store's key; not a credential,
    /// since a cookie is looked up by hashing it).
    pub id: String,
    pub kind: SessionKind,
    /// When its user signed in with it.
    pub auth_time: u64,
    pub expires_at: u64,
    /// It is the session named by the cookie the list was asked with.
    pub current: bool,
}

/// The live sessions of `user_id`, newest first; `current` is the cookie value of the asking
/// browser's session.
pub fn list_of(
    tx: &impl Reads,
    user_id: &str,
    now: u64,
    current: Option<&str>,
) -> Result<Vec<SessionInfo>, StoreError> {
    let current = current.map(crypto::hash_token);
    let mut out: Vec<SessionInfo> = tx
        .sessions_of(user_id)?
        .into_iter()
        .filter(|(_, s)| now < s.expires_at)
        .map(|(id, s)| SessionInfo {
            current: current.as_deref() == Some(id.as_str()),
            id,
            kind: s.kind,
            auth_time: s.auth_time,
            expires_at: s.expires_at,
        })
        .collect();
    out.sort_by(|a, b| b.auth_time.cmp(&a.auth_time).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Ends the session `id` (as [`SessionInfo::id`] names it) if it is `user_id`'s; returns
/// whether it was.
pub fn end_one_of(tx: &impl Writes, user_id: &str, id: &str) -> Result<bool, StoreError> {
    match tx.session(id)? {
        Some(s) if s.user_id == user_id => tx.remove_session(id),
        _ => Ok(false),
    }
}
