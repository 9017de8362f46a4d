//! The device authorization grant (RFC 8628): a TV or a CLI, which cannot show a browser, signs
//! its user in on another screen.
//!
//! ```text
//!   device: POST /device/code ──▶ device_code (secret, stored hashed), user_code BCDF-GHJK
//!   user:   /device, signs in, types or follows the user code, sees the app and its scopes
//!   device: POST /token grant_type=…:device_code, every `interval` seconds
//!
//!   Pending ──approve (may use the app)──▶ Approved ──poll──▶ Used (tokens issued once)
//!      │    ──deny──────────────────────▶ Denied   (polls: access_denied)
//!      └── expires_at passed, or MAX_POLLS polls ──▶ expired_token
//! ```
//!
//! Polling: a poll sooner than `interval` after the last one answers `slow_down` and adds 5 s to
//! the interval (RFC 8628 §3.5); every poll counts, and after [`MAX_POLLS`] the code is dead.
//! Who may use it: apps that sign users in and set `device_flow` (public apps included: the
//! device code is the secret, and it never leaves the device). The user's access to the app is
//! checked as at `/auth` ([`users::may_use`]) when they approve and again when the tokens are
//! issued.
//!
//! User codes: 8 letters from [`USER_CODE_ALPHABET`] (no vowels, no look-alikes), shown as
//! `XXXX-XXXX`, read case-insensitively with or without the dash. 20⁸ ≈ 2.6·10¹⁰ codes; the edge
//! limits how many one client may try (`limits.device_codes_per_minute`).

use super::error::{ErrorCode, OAuthError};
use super::grant::Family;
use super::params::Params;
use super::token::{Granted, Issued};
use crate::audit::{self, Actor, AuditEntry, AuditEvent};
use crate::crypto;
use crate::provider::Provider;
use crate::store::{
    App, DeviceAuth, DeviceState, Grant, Reads, StoreError, User, UserCode, Writes,
};
use crate::users;
use serde_json::{json, Value};

/// The letters of user codes: consonants only (no words), without look-alikes.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code.
pub const USER_CODE_LEN: usize = 8;
/// How long a device code lives (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_TTL: u64 = 600;
/// The first polling interval, in seconds.
pub const INTERVAL: u64 = 5;
/// What a `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: u64 = 5;
/// The most polls one device code answers (120 at the interval over its lifetime).
pub const MAX_POLLS: u32 = 200;

/// A user code as typed: upper-cased, dashes and spaces dropped; `None` unless it is
/// [`USER_CODE_LEN`] letters of the alphabet.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ok.then_some(code)
}

/// A normalised user code as shown: `XXXX-XXXX`.
pub fn display_user_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => code.to_string(),
    }
}

/// RFC 8628 §3.1–3.2: starts a device authorization for `app` (authenticated as at `/token`).
pub fn start(p: &Provider, app: &App, params: &Params) -> Result<Value, OAuthError> {
    if !app.app_type.signs_in_users() || !app.device_flow {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this app may not use the device flow; turn it on with device_flow = true \
             (sesame app update --device-flow)",
        ));
    }
    let asked = params
        .get("scope")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let scope = super::authorize::scope_has_openid(asked)?;
    let now = p.now();
    let device_code = crypto::random_token();
    let device_key = crypto::hash_token(&device_code);
    let user_code = p.store.write(|tx| {
        // 20⁸ codes against at most a few thousand live ones: a collision is rare; try again.
        let mut code = crypto::random_chars(USER_CODE_ALPHABET, USER_CODE_LEN);
        while tx.user_code(&code)?.is_some_and(|c| c.expires_at > now) {
            code = crypto::random_chars(USER_CODE_ALPHABET, USER_CODE_LEN);
        }
        let expires_at = now + DEVICE_CODE_TTL;
        let entry = UserCode {
            device: device_key.clone(),
            expires_at,
        };
        tx.put_user_code(&code, &entry)?;
        let auth = DeviceAuth {
            client_id: app.client_id.clone(),
            scope,
            user_code: code.clone(),
            expires_at,
            interval: INTERVAL,
            last_poll: None,
            polls: 0,
            state: DeviceState::Pending,
        };
        tx.put_device_auth(&device_key, &auth)?;
        Ok::<_, StoreError>(code)
    })?;
    let shown = display_user_code(&user_code);
    let page = p.issuer.endpoint(crate::issuer::paths::DEVICE);
    let complete = super::authorize::with_query(&page, &[("user_code", &shown)]);
    Ok(json!({
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": page,
        "verification_uri_complete": complete,
        "expires_in": DEVICE_CODE_TTL,
        "interval": INTERVAL,
    }))
}

fn refused(code: ErrorCode, why: &str) -> Result<Result<Issued, OAuthError>, StoreError> {
    Ok(Err(OAuthError::new(code, why)))
}

/// RFC 8628 §3.4–3.5: the device polls the token endpoint.
pub(super) fn poll(p: &Provider, app: &App, params: &Params) -> Result<Granted, OAuthError> {
    if !app.device_flow {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this app may not use the device flow (device_flow is off)",
        ));
    }
    let device_code = params
        .get("device_code")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?
        .ok_or_else(|| OAuthError::invalid_request("device_code is missing"))?;
    let key = crypto::hash_token(device_code);
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let now = family.now;
    Ok(p.store.write_pending(|tx| {
        let Some(mut auth) = tx.device_auth(&key)? else {
            return refused(
                ErrorCode::InvalidGrant,
                "the device code is unknown or expired",
            );
        };
        if auth.client_id != app.client_id {
            return refused(
                ErrorCode::InvalidGrant,
                "the device code was issued to another client",
            );
        }
        if now >= auth.expires_at || auth.polls >= MAX_POLLS {
            return refused(
                ErrorCode::ExpiredToken,
                "the device code has expired (or was polled too often); start again",
            );
        }
        auth.polls += 1;
        let too_soon = auth.last_poll.is_some_and(|t| now < t + auth.interval);
        auth.last_poll = Some(now);
        if too_soon && auth.state == DeviceState::Pending {
            auth.interval += SLOW_DOWN_STEP;
            tx.put_device_auth(&key, &auth)?;
            return refused(
                ErrorCode::SlowDown,
                "polling too fast: wait the interval, which grew by 5 s",
            );
        }
        let (user_id, auth_time) = match auth.state.clone() {
            DeviceState::Pending => {
                tx.put_device_auth(&key, &auth)?;
                return refused(
                    ErrorCode::AuthorizationPending,
                    "the user has not approved yet",
                );
            }
            DeviceState::Denied => {
                return refused(ErrorCode::AccessDenied, "the user denied the request")
            }
            DeviceState::Used => {
                return refused(ErrorCode::InvalidGrant, "the device code was already used")
            }
            DeviceState::Approved { user_id, auth_time } => (user_id, auth_time),
        };
        let Some(user) = tx.user(&user_id)? else {
            return refused(
                ErrorCode::InvalidGrant,
                "the user who approved no longer exists",
            );
        };
        if !users::may_use(app, &user) {
            return refused(ErrorCode::AccessDenied, "the user may not use this app");
        }
        auth.state = DeviceState::Used;
        tx.put_device_auth(&key, &auth)?;
        tx.remove_user_code(&auth.user_code)?;
        Ok(Ok(issue(tx, &family, app, auth.scope, user, auth_time)?))
    })?)
}

/// Starts the grant of an approved device code and mints its tokens, as an exchanged
/// authorization code does (a refresh token with `offline_access`).
fn issue(
    tx: &impl Writes,
    family: &Family,
    app: &App,
    scope: Vec<String>,
    user: User,
    auth_time: u64,
) -> Result<Issued, StoreError> {
    let grant_id = crypto::random_id();
    let grant = Grant {
        client_id: app.client_id.clone(),
        user_id: user.id.clone(),
        scope: scope.clone(),
        auth_time,
        revoked: false,
        expires_at: family.expiry(),
        // The device is not the browser that approved it: ending that browser's session
        // does not sign the TV out, so its tokens name no session.
        sid: None,
        // The device grant asks for no API (`resource=` is for `/auth` and client credentials).
        resource: None,
        // Read as an email code: the approval keeps when the approver signed in, not how.
        amr: Vec::new(),
    };
    tx.put_grant(&grant_id, &grant)?;
    let offline = super::scope::Scope::OfflineAccess.is_in(&scope);
    let minted = family.mint(tx, &grant_id, &grant, &scope, offline.then_some(&scope[..]))?;
    let groups = tx.groups_of(&user)?;
    Ok(Issued {
        minted,
        scope,
        user,
        groups,
        auth_time,
        amr: Vec::new(),
        nonce: None,
        sid: None,
        api: None,
    })
}

/// A pending device request as the device page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequest {
    /// `XXXX-XXXX`.
    pub user_code: String,
    pub app_name: String,
    pub scope: Vec<String>,
}

/// The pending, unexpired request with this (normalised) user code.
pub fn lookup(p: &Provider, user_code: &str) -> Result<Option<DeviceRequest>, StoreError> {
    let now = p.now();
    p.store.read(|tx| {
        let Some((_, auth)) = pending(tx, user_code, now)? else {
            return Ok(None);
        };
        let Some(app) = tx.app(&auth.client_id)? else {
            return Ok(None);
        };
        Ok(Some(DeviceRequest {
            user_code: display_user_code(user_code),
            app_name: app.name,
            scope: auth.scope,
        }))
    })
}

fn pending(
    tx: &impl Reads,
    user_code: &str,
    now: u64,
) -> Result<Option<(String, DeviceAuth)>, StoreError> {
    let Some(entry) = tx.user_code(user_code)? else {
        return Ok(None);
    };
    Ok(tx
        .device_auth(&entry.device)?
        .filter(|a| a.state == DeviceState::Pending && a.expires_at > now)
        .map(|a| (entry.device, a)))
}

/// What the user's decision on the device page came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Approved: the device's next poll gets the tokens.
    Approved,
    /// Denied: the device's next poll gets `access_denied`.
    Denied,
    /// The user may not use the app (its `allowed_groups`): denied for them.
    NotAllowed,
    /// No pending request has this code (expired, decided, never issued).
    Gone,
}

/// The signed-in `user` (who proved themselves at `auth_time`) approves or denies the request
/// with this (normalised) user code; audited.
pub fn decide(
    p: &Provider,
    user_code: &str,
    user: &User,
    auth_time: u64,
    approve: bool,
) -> Result<Decided, StoreError> {
    let now = p.now();
    p.store.write(|tx| {
        let Some((key, mut auth)) = pending(tx, user_code, now)? else {
            return Ok(Decided::Gone);
        };
        let allowed = tx
            .app(&auth.client_id)?
            .is_some_and(|a| users::may_use(&a, user));
        let approved = approve && allowed;
        auth.state = if approved {
            DeviceState::Approved {
                user_id: user.id.clone(),
                auth_time,
            }
        } else {
            DeviceState::Denied
        };
        tx.put_device_auth(&key, &auth)?;
        tx.remove_user_code(user_code)?;
        let entry = AuditEntry::new(
            Actor::User {
                user_id: user.id.clone(),
            },
            AuditEvent::DeviceDecision { approved },
        )
        .user(&user.id)
        .client(&auth.client_id);
        audit::record(tx, now, entry)?;
        Ok(match (approve, allowed) {
            (true, true) => Decided::Approved,
            (true, false) => Decided::NotAllowed,
            (false, _) => Decided::Denied,
        })
    })
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
