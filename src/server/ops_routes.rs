//! What operators and their tools read: `/healthz`, `/metrics`, and the per-route request
//! counts behind `/metrics`.
//!
//! Who sees what:
//!
//! | endpoint   | anyone                       | local (loopback, not via a proxy) or admin      |
//! |------------|------------------------------|-------------------------------------------------|
//! | `/healthz` | `{"status": "ok"}` (or `degraded`, `error`) | also the issuer, the store, the mail transport, its server, sender and last error |
//! | `/metrics` | 404, or 401 when a token is configured | the metrics (local only with `allow_loopback`; anyone with the token) |
//!
//! "Local" is [`Request::is_local`]: a loopback peer with no `X-Forwarded-For`, `Forwarded` or
//! `X-Real-IP` (a proxy on the same host connects from loopback for everyone). "Admin" is a
//! management API key or an administrator's session ([`super::api::authenticate`]).
//!
//! `/metrics` without a token configured answers 404 to others: nothing is there for them, and
//! a scanner learns nothing. With a token, a missing or wrong one is a 401 with
//! `WWW-Authenticate: Bearer` (RFC 6750 §3), so a misconfigured scraper says why.

use super::Server;
use crate::http::{self, Request, Response};
use crate::issuer::paths;
use crate::metrics::RouteMetrics;
use crate::store::Reads;
use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde_json::json;
use std::sync::LazyLock;

/// The route names requests are counted under: a bounded set, whatever paths clients send.
const ROUTES: [&str; 25] = [
    "discovery",
    "jwks",
    "healthz",
    "metrics",
    "authorize",
    "token",
    "userinfo",
    "revocation",
    "introspection",
    "end_session",
    "device_authorization",
    "device",
    "par",
    "forward_auth",
    "auth_request",
    "sign_in",
    "sign_in_code",
    "static",
    "api",
    "dev",
    "account",
    "console",
    "not_found",
    "outside_issuer",
    "other",
];

/// Each route's counters, made once: counting a request is then an atomic add.
static ROUTE_METRICS: LazyLock<Vec<RouteMetrics>> =
    LazyLock::new(|| ROUTES.iter().map(|r| RouteMetrics::new(r)).collect());

/// The counters of the route that answers `full_path` (the path as the client sent it).
pub fn route_metrics(s: &Server, full_path: &str) -> &'static RouteMetrics {
    let name = match s.provider.issuer.strip(full_path) {
        None => "outside_issuer",
        Some(rel) => route_name(rel),
    };
    let i = ROUTES
        .iter()
        .position(|r| *r == name)
        .unwrap_or(ROUTES.len() - 1);
    &ROUTE_METRICS[i]
}

fn route_name(rel: &str) -> &'static str {
    match rel {
        paths::DISCOVERY => "discovery",
        paths::JWKS => "jwks",
        paths::HEALTH => "healthz",
        paths::METRICS => "metrics",
        paths::AUTHORIZE => "authorize",
        paths::TOKEN => "token",
        paths::USERINFO => "userinfo",
        paths::REVOCATION => "revocation",
        paths::INTROSPECTION => "introspection",
        paths::END_SESSION => "end_session",
        paths::DEVICE_AUTHORIZATION => "device_authorization",
        paths::DEVICE => "device",
        paths::PAR => "par",
        paths::FORWARD_AUTH => "forward_auth",
        paths::AUTH_REQUEST => "auth_request",
        paths::SIGN_IN => "sign_in",
        paths::SIGN_IN_CODE => "sign_in_code",
        p if p.starts_with(paths::STATIC) => "static",
        p if super::api::handles(p) => "api",
        p if p.starts_with("/dev/") => "dev",
        p if super::account_routes::handles(p) => "account",
        p if super::console::handles(p) => "console",
        _ => "not_found",
    }
}

/// `GET /healthz`: `ok`, `degraded` (mail's transport fails: connect, TLS, authentication) or
/// `error` (the store does not answer; 503). Details only for local requests and admins.
pub fn health(s: &Server, req: &Request) -> Response {
    let p = &s.provider;
    let store_ok = p.store.read(|tx| tx.code_sends("")).is_ok();
    let mail = p.mailer().status();
    let status = if !store_ok {
        "error"
    } else if mail.ok == Some(false) {
        "degraded"
    } else {
        "ok"
    };
    // 503 only when sesame cannot serve at all; a mail problem is "degraded" (200).
    let code = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !may_see_details(s, req) {
        return http::json(code, &json!({ "status": status }));
    }
    let body = json!({
        "status": status,
        "issuer": p.issuer.url,
        "store": if store_ok { "ok" } else { "error" },
        "mail": mail,
    });
    http::json(code, &body)
}

fn may_see_details(s: &Server, req: &Request) -> bool {
    if req.is_local() {
        return true;
    }
    let sends_credentials =
        req.headers.contains_key(hyper::header::AUTHORIZATION) || !req.cookies.is_empty();
    sends_credentials && super::api::authenticate(s, req).is_ok()
}

/// `GET /metrics`: the Prometheus text, to those [`crate::metrics::MetricsConfig`] lets in.
pub fn metrics(s: &Server, req: &Request) -> Response {
    let config = &s.config.metrics;
    let token_ok = config.token.as_ref().is_some_and(|token| {
        req.header("authorization")
            .and_then(|v| crate::oidc::params::credentials(v, "Bearer"))
            .is_some_and(|sent| {
                crate::crypto::constant_time_eq(sent.as_bytes(), token.expose().as_bytes())
            })
    });
    if token_ok || (config.allow_loopback && req.is_local()) {
        let mut r = http::text(StatusCode::OK, crate::metrics::encode());
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        return r;
    }
    if config.token.is_none() {
        return http::text(StatusCode::NOT_FOUND, "not found\n");
    }
    let mut r = http::text(
        StatusCode::UNAUTHORIZED,
        "send the configured metrics token as `Authorization: Bearer <token>` ([metrics] token)\n",
    );
    r.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sesame metrics\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each of sesame's own paths is counted under a name of its own, and each name is one
    /// of [`ROUTES`] (an unlisted name would fall through to `other`).
    #[test]
    fn each_path_has_a_listed_name() {
        for (path, name) in [
            (paths::INTROSPECTION, "introspection"),
            (paths::REVOCATION, "revocation"),
            (paths::ACCOUNT, "account"),
            ("/account/sessions", "account"),
            (paths::CONSOLE, "console"),
            ("/console/users", "console"),
            (paths::PAR, "par"),
            ("/nothing-here", "not_found"),
        ] {
            assert_eq!(route_name(path), name, "{path}");
            assert!(ROUTES.contains(&name), "{name}");
        }
    }
}
