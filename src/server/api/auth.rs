//! Who is calling the management API, and whether they may.
//!
//! Two kinds of caller, checked in this order:
//!
//! 1. A program with an API key: `Authorization: Bearer sesame_...` ([`crate::api_keys`]). A
//!    request that sends `Authorization` is judged by it alone, never by a cookie it also
//!    carries. A key that is missing, malformed, unknown, expired or revoked is a 401 with
//!    `WWW-Authenticate: Bearer` (RFC 6750 §3); the reason goes to the log, not to the caller.
//! 2. A person signed in to sesame (the session cookie) who is a member of the built-in
//!    `admins` group ([`crate::users::ADMINS`]); signed in but not a member is a 403.
//!
//! A cookie goes wherever the browser sends it, so a write authenticated by the cookie must
//! also prove it came from a page of this issuer (cross-site request forgery):
//! - `Origin`, when the browser sends it, must be the issuer's origin;
//! - `X-CSRF-Token` must equal [`csrf_token`] of the session, which only a page that can read
//!   `GET /api/v1/session` learns (the API sends no CORS headers, so only this origin can). A
//!   form cannot set the header at all.
//!
//! Reads (`GET`) need neither: they change nothing, and their answers are not readable from
//! another origin. API keys need neither: a browser never adds them by itself.

use super::problem::{Kind, Problem};
use crate::api_keys::{self, Refused};
use crate::crypto;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::Request;
use crate::server::Server;
use crate::users::ADMINS;

/// The header a cookie-authenticated write carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A program holding an API key.
    ApiKey { id: String, name: String },
    /// A member of `admins`, by their session cookie.
    Admin {
        user_id: String,
        email: String,
        /// The session's CSRF token: what its writes must carry in `X-CSRF-Token`.
        csrf: String,
    },
}

impl Principal {
    /// Who the audit log says made a change.
    pub fn actor(&self) -> crate::audit::Actor {
        match self {
            Principal::ApiKey { id, name } => crate::audit::Actor::ApiKey {
                id: id.clone(),
                name: name.clone(),
            },
            Principal::Admin { user_id, .. } => crate::audit::Actor::Admin {
                user_id: user_id.clone(),
            },
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::ApiKey { id, name } => write!(f, "API key {name:?} ({id})"),
            Principal::Admin { user_id, email, .. } => write!(f, "admin {email} ({user_id})"),
        }
    }
}

/// Who sent `req`, or the 401 or 403 that answers it.
pub fn authenticate(s: &Server, req: &Request) -> Result<Principal, Problem> {
    if let Some(authorization) = req.headers.get(hyper::header::AUTHORIZATION) {
        let key = authorization
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or_else(|| {
                Problem::unauthorized("send the API key as `Authorization: Bearer <key>`", true)
            })?;
        return api_key(s, key);
    }
    let cookie = req.cookie(&s.cookies.name(SESSION_COOKIE));
    match cookie {
        Some(cookie) => admin_session(s, cookie),
        None => Err(Problem::unauthorized(
            "send an API key as `Authorization: Bearer <key>` (make one with `sesame api-key create`), or sign in as an administrator",
            false,
        )),
    }
}

/// Checks a cookie-authenticated write: the request's `Origin` and `X-CSRF-Token`.
pub fn check_csrf(s: &Server, req: &Request, principal: &Principal) -> Result<(), Problem> {
    let Principal::Admin { csrf, .. } = principal else {
        return Ok(());
    };
    if let Some(origin) = req.header("origin") {
        let ours = origin_of(&s.provider.issuer.url);
        if ours.as_deref() != Some(origin) {
            return Err(Problem::new(
                Kind::CsrfFailed,
                format!("the request comes from {origin:?}, not from this issuer's origin"),
            ));
        }
    }
    let sent = req.header(CSRF_HEADER).unwrap_or_default();
    if !crypto::constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
        return Err(Problem::new(
            Kind::CsrfFailed,
            "a change made with the session cookie needs the X-CSRF-Token header; GET /api/v1/session gives its value",
        ));
    }
    Ok(())
}

/// The CSRF token of a session: derived from the cookie's value (so it needs no storage and
/// ends with the session), and not the cookie's hash under which the store keeps the session.
pub fn csrf_token(session_cookie: &str) -> String {
    crypto::hash_token(&format!("api-csrf:{session_cookie}"))
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    crate::oidc::params::credentials(value, "Bearer")
}

fn api_key(s: &Server, key: &str) -> Result<Principal, Problem> {
    let p = &s.provider;
    match api_keys::authenticate(&p.store, p.now(), key) {
        Ok(key) => Ok(Principal::ApiKey {
            id: key.id,
            name: key.name,
        }),
        Err(Refused::Store(e)) => Err(Problem::from_store(e)),
        Err(refused) => {
            tracing::info!("management API: API key refused: {refused}");
            Err(Problem::unauthorized(
                "the API key is not valid: unknown, expired or revoked",
                true,
            ))
        }
    }
}

fn admin_session(s: &Server, cookie: &str) -> Result<Principal, Problem> {
    let p = &s.provider;
    let session = crate::session::current(p, Some(cookie)).map_err(Problem::from_store)?;
    let Some(session) = session else {
        return Err(Problem::unauthorized(
            "the session has ended: sign in again",
            false,
        ));
    };
    let user = crate::users::get(&p.store, &session.user_id).map_err(|e| match e {
        crate::users::UserError::Store(e) => Problem::from_store(e),
        _ => Problem::unauthorized("the session's user no longer exists", false),
    })?;
    if !user.in_group(ADMINS) {
        return Err(Problem::new(
            Kind::NotAdmin,
            format!(
                "{} is signed in but is not in the {ADMINS:?} group",
                user.email
            ),
        ));
    }
    Ok(Principal::Admin {
        user_id: user.id,
        email: user.email,
        csrf: csrf_token(cookie),
    })
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_and_origins_parse_as_browsers_and_clients_send_them() {
        assert_eq!(bearer("Bearer sesame_x"), Some("sesame_x"));
        assert_eq!(bearer("bearer  sesame_x "), Some("sesame_x"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(
            origin_of("https://id.example/oidc").as_deref(),
            Some("https://id.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_ne!(
            csrf_token("a"),
            crypto::hash_token("a"),
            "not the session's key"
        );
    }
}
