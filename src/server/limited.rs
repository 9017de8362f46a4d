//! The per-client rate limits as HTTP says them: which requests count, who the client is, and
//! the 429 answer with `Retry-After` (OAuth JSON for the token endpoint, a page for a person,
//! plain text for a proxy). The counting is [`crate::limits`].
//!
//! A route opts in with one line in [`kind_of`]; a check that counts only some outcomes (a
//! forward-auth miss) calls [`check`] where it knows.

use super::error_pages::error_page;
use super::Server;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::limits::{Kind, Refused};
use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use serde_json::json;
use std::net::IpAddr;

/// The limit a request counts against as it arrives, if any: one line per route.
pub fn kind_of(method: &Method, path: &str) -> Option<Kind> {
    let post = *method == Method::POST;
    match path {
        paths::AUTHORIZE => Some(Kind::Authorize),
        paths::TOKEN => Some(Kind::Token),
        paths::SIGN_IN | paths::SIGN_IN_CODE if post => Some(Kind::SignIn),
        _ => None,
    }
}

/// Who the request is from, as the limits count it: `None` for a request without a socket.
pub fn client(s: &Server, req: &Request) -> Option<IpAddr> {
    let peer = req.peer?;
    let forwarded = req
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(s.provider.limits.client_ip(peer, forwarded))
}

/// Counts the request against `kind`: `Ok`, or the 429 to answer with.
pub fn check(s: &Server, req: &Request, kind: Kind) -> Result<(), Box<Response>> {
    let Some(ip) = client(s, req) else {
        return Ok(());
    };
    s.provider
        .limits
        .check(kind, ip, s.provider.now())
        .map_err(|refused| {
            tracing::info!(client = %ip, limit = kind.as_str(), retry_after = refused.retry_after, "request refused by a rate limit");
            Box::new(too_many(s, refused))
        })
}

/// 429 with `Retry-After`, in the words the asker reads.
pub fn too_many(s: &Server, refused: Refused) -> Response {
    let wait = refused.retry_after;
    let mut r = match refused.kind {
        Kind::Token => http::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": format!("too many token requests from this address: retry in {wait} s"),
            }),
        ),
        Kind::ForwardAuthMiss => http::text(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many requests without signing in from this address: retry in {wait} s\n"),
        ),
        kind => error_page(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            &format!("sesame has had {} from your network address in a short time, more than it takes from one person.", what(kind)),
            &format!("Wait {} and try again. Nothing you started is lost; if you share this address with many people (an office, a school), ask the administrator to raise the limit.", seconds(wait)),
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// What a person was doing too often, in their words.
fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Authorize | Kind::PendingSignIns => "too many sign-in starts",
        Kind::SignIn => "too many sign-in forms",
        _ => "too many requests",
    }
}

/// `wait` seconds as a person reads them.
pub fn seconds(wait: u64) -> String {
    if wait < 120 {
        format!("{wait} {}", if wait == 1 { "second" } else { "seconds" })
    } else {
        format!("{} minutes", wait.div_ceil(60))
    }
}
