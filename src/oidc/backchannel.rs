//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a sesame session ends,
//! each app it signed in to that registered a `backchannel_logout_uri` gets a signed
//! `logout_token` by POST, server to server, so the app ends its own session too.
//!
//! ```text
//!  session ends (end-session, account page, admin sign-out, user disabled or deleted)
//!    │ same transaction (store: remove_session)
//!    ▼
//!  LogoutNotice{client, sid, sub} queued ──commit rings the store──▶ taken by the deliverer
//!                                                               │ one task per notice
//!                                                               ▼
//!  attempt 1 ──200/204──────────────────────────────────────▶ [delivered]
//!     │ ├──other status (4xx, 3xx: never followed)──────────▶ [refused: status]
//!     │ └──5xx, timeout, no connection ──wait 1 s──▶ attempt 2 ──wait 2 s──▶ attempt 3
//!     │                                                  (same rules)      └─fails─▶ [gave up]
//!  each outcome ──▶ audit log (kind backchannel_logout, client, user, sid)
//! ```
//!
//! Why these limits: logout must never wait on an app (the person pressed "sign out" and sees
//! the page at once), so delivery runs in tasks apart from the request; a slow app costs at
//! most `attempts × timeout` plus the waits (5 s × 3 + 3 s) of one task, never a request. Three
//! attempts ride out an app restarting; beyond that the app is down and the audit log says
//! so. A 4xx will not change by retrying. Notices are taken out of the store when delivery
//! starts: a crash mid-delivery loses those few (the apps' sessions then end on their own
//! expiry), rather than delivering twice on every restart.
//!
//! The token (§2.4): `iss`, `aud` (the client ID), `iat`, `exp` (two minutes), `jti`, `sub`,
//! `sid`, `events` with the back-channel logout event, never `nonce`; header `typ:
//! logout+jwt`; signed with the app's ID token algorithm, so the app checks it with the keys
//! it already trusts.

use crate::audit::{self, Actor, AuditEntry, AuditEvent, LogoutDelivery};
use crate::crypto;
use crate::outbound;
use crate::provider::Provider;
use crate::store::{App, LogoutNotice, Reads, StoreError, Writes};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The event a logout token carries (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` of a logout token's header (§2.4).
pub const LOGOUT_TYP: &str = "logout+jwt";
/// How long a logout token is good for: delivery is immediate, a token kept longer could only
/// be replayed.
pub const LOGOUT_TOKEN_TTL: u64 = 120;
/// Notices taken per pass: each becomes a task; the rest wait for the next pass.
const BATCH: usize = 256;

/// How deliveries retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// One attempt's deadline: connect, TLS, request, status line.
    pub timeout: Duration,
    /// Attempts in all.
    pub attempts: u32,
    /// The wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(5),
            attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// The provider's handle on the delivery: the retry policy. (The deliverer is woken by the
/// store, after each commit that queued notices: [`crate::store::Store::logout_notices_queued`].)
#[derive(Debug, Default)]
pub struct Backchannel {
    pub policy: Policy,
}

impl Backchannel {
    /// A handle with this policy (tests and benches shorten the waits).
    pub fn with_policy(policy: Policy) -> Backchannel {
        Backchannel { policy }
    }
}

/// Why no logout token could be made.
#[derive(Debug)]
pub enum TokenError {
    /// The app's algorithm has no key yet (RS256 on a first start).
    NoKey,
    /// Signing failed.
    Sign(crypto::CryptoError),
}

/// The logout token for `notice`, to `app` (§2.4), at `now`.
pub fn logout_token(
    p: &Provider,
    app: &App,
    notice: &LogoutNotice,
    now: u64,
) -> Result<String, TokenError> {
    let claims = json!({
        "iss": p.issuer.url,
        "aud": app.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": crypto::random_id(),
        "sub": notice.user_id,
        "sid": notice.sid,
        "events": { LOGOUT_EVENT: {} },
    });
    let keys = p.keys();
    let signer = keys
        .signer(crate::apps::id_token_alg(app))
        .map_err(|_| TokenError::NoKey)?;
    signer
        .sign_jwt_typed(&claims, LOGOUT_TYP)
        .map_err(TokenError::Sign)
}

/// Runs the deliverer for as long as the server runs: takes the notices a restart left, then
/// those of each commit that queues some (the store rings), and delivers each in a task of its
/// own. Idle, it does nothing.
pub async fn run(p: Arc<Provider>) {
    let tls = tls();
    loop {
        drain(&p, &tls).await;
        p.store.logout_notices_queued().await;
    }
}

/// The TLS settings https deliveries use; `None` (logged) makes them fail with a reason.
pub fn tls() -> Option<Arc<rustls::ClientConfig>> {
    outbound::tls_config()
        .inspect_err(|e| {
            tracing::warn!("back-channel logout: no TLS settings ({e}); https deliveries will fail")
        })
        .ok()
}

/// Takes every queued notice and starts its delivery; returns the tasks (which the caller
/// may await: a bench, a test).
pub async fn drain(
    p: &Arc<Provider>,
    tls: &Option<Arc<rustls::ClientConfig>>,
) -> Vec<tokio::task::JoinHandle<LogoutDelivery>> {
    let mut tasks = Vec::new();
    loop {
        let store = p.clone();
        let taken = tokio::task::spawn_blocking(move || {
            store.store.write(|tx| tx.take_logout_notices(BATCH))
        })
        .await;
        let notices = match taken {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::warn!("back-channel logout: reading the queue failed: {e}");
                break;
            }
            Err(_) => break,
        };
        let more = notices.len() == BATCH;
        for notice in notices {
            tasks.push(tokio::spawn(deliver(p.clone(), tls.clone(), notice)));
        }
        if !more {
            break;
        }
    }
    tasks
}

/// Delivers one notice with the retries of [`Policy`], and records the outcome in the audit
/// log. A notice for an app that is gone or no longer has a URI is dropped unrecorded.
pub async fn deliver(
    p: Arc<Provider>,
    tls: Option<Arc<rustls::ClientConfig>>,
    notice: LogoutNotice,
) -> LogoutDelivery {
    let app = p.store.read(|tx| tx.app(&notice.client_id));
    let (app, uri) = match app {
        Ok(Some(app)) => match app.backchannel_logout_uri.as_deref().map(url::Url::parse) {
            Some(Ok(uri)) => (app, uri),
            _ => return gave_up("the app no longer has a back-channel logout URI", 0),
        },
        Ok(None) => return gave_up("the app is gone", 0),
        Err(e) => return gave_up(&e.to_string(), 0),
    };
    let outcome = attempts(&p, &app, &uri, tls, &notice).await;
    record(&p, &notice, outcome.clone()).await;
    outcome
}

/// Up to `policy.attempts` POSTs, a fresh token each (its `iat` and `jti`).
async fn attempts(
    p: &Provider,
    app: &App,
    uri: &url::Url,
    tls: Option<Arc<rustls::ClientConfig>>,
    notice: &LogoutNotice,
) -> LogoutDelivery {
    let policy = p.backchannel.policy;
    let mut wait = policy.backoff;
    let mut last = String::new();
    for attempt in 1..=policy.attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        let token = match logout_token(p, app, notice, p.now()) {
            Ok(t) => t,
            Err(TokenError::NoKey) => {
                last = "no signing key for the app's algorithm yet".into();
                continue;
            }
            Err(TokenError::Sign(e)) => return gave_up(&e.to_string(), attempt),
        };
        let body = format!("logout_token={token}");
        match outbound::post_form(uri, &body, policy.timeout, tls.as_ref()).await {
            Ok(200 | 204) => return LogoutDelivery::Delivered { attempts: attempt },
            Ok(status) if status >= 500 => last = format!("HTTP {status}"),
            Ok(status) => {
                return LogoutDelivery::Refused {
                    status,
                    attempts: attempt,
                }
            }
            Err(e) => last = e.to_string(),
        }
    }
    gave_up(&last, policy.attempts.max(1))
}

fn gave_up(reason: &str, attempts: u32) -> LogoutDelivery {
    LogoutDelivery::GaveUp {
        reason: reason.to_string(),
        attempts,
    }
}

/// Writes the outcome to the audit log (a write of its own, off the async threads).
async fn record(p: &Arc<Provider>, notice: &LogoutNotice, outcome: LogoutDelivery) {
    let event = AuditEvent::BackchannelLogout {
        sid: notice.sid.clone(),
        outcome,
    };
    let entry = AuditEntry::new(Actor::Anonymous, event)
        .client(&notice.client_id)
        .user(&notice.user_id);
    let p = p.clone();
    let res =
        tokio::task::spawn_blocking(move || audit::record_now(&p.store, p.now(), entry)).await;
    if let Ok(Err(e)) = res {
        tracing::warn!("back-channel logout: recording the outcome failed: {e}");
    }
}

/// Whether notices are waiting (for tests and the bench: "all delivered").
pub fn queued(p: &Provider) -> Result<usize, StoreError> {
    p.store
        .read(|tx| Ok(tx.scan(&crate::store::LOGOUT_NOTICES)?.len()))
}

#[cfg(test)]
#[path = "backchannel_tests.rs"]
mod tests;
