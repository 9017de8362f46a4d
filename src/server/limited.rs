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
        // Revocation shares the token endpoint's budget: the same app backends call both.
        // Introspection does not: a resource server may introspect on each request it serves.
        paths::TOKEN | paths::REVOCATION => Some(Kind::Token),
        // A device asking for codes and a client pushing requests are back ends like /token.
        paths::DEVICE_AUTHORIZATION | paths::PAR if post => Some(Kind::Token),
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
            &format!("{} has had {} from your network address in a short time, more than it takes from one person.", s.provider.product_name(), what(kind)),
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
        Kind::DeviceCode => "too many device codes tried",
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

#[cfg(test)]
mod tests {
    use super::super::router::route;
    use super::*;
    use crate::limits::{Limits, LimitsConfig};
    use crate::provider::testing::{provider, CLIENT};
    use hyper::header::CONTENT_TYPE;
    use hyper::HeaderMap;

    fn server(config: LimitsConfig) -> (tempfile::TempDir, Server) {
        let (dir, p) = provider();
        let p = p.with_limits(Limits::new(config).unwrap());
        (dir, super::super::router::tests::server_of(p))
    }

    fn from(peer: &str, method: Method, path: &str, xff: Option<&str>) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some(x) = xff {
            headers.insert("x-forwarded-for", HeaderValue::from_str(x).unwrap());
        }
        let query = format!("client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid");
        let (query, body) = if method == Method::GET {
            (query.as_str(), "")
        } else {
            ("", "grant_type=authorization_code&code=x")
        };
        Request::synthetic(method, path, query, body, headers).from_peer(peer.parse().unwrap())
    }

    async fn body(r: Response) -> String {
        use http_body_util::BodyExt;
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn revocation_counts_with_the_token_endpoint_and_introspection_does_not() {
        assert_eq!(kind_of(&Method::POST, paths::REVOCATION), Some(Kind::Token));
        assert_eq!(kind_of(&Method::POST, paths::TOKEN), Some(Kind::Token));
        assert_eq!(kind_of(&Method::POST, paths::INTROSPECTION), None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_token_endpoint_answers_429_in_oauth_json_with_retry_after() {
        let (_d, s) = server(LimitsConfig {
            token_per_minute: 2,
            ..Default::default()
        });
        for _ in 0..2 {
            let r = route(&s, from("192.0.2.1", Method::POST, paths::TOKEN, None)).await;
            assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        let r = route(&s, from("192.0.2.1", Method::POST, paths::TOKEN, None)).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "30");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let json: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
        assert_eq!(json["error"], "temporarily_unavailable");
        let description = json["error_description"].as_str().unwrap();
        assert!(
            description
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "RFC 6749 §5.2 characters only: {description}"
        );
        // Another client is not affected, and time gives the budget back.
        let r = route(&s, from("192.0.2.2", Method::POST, paths::TOKEN, None)).await;
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        s.provider.clock.advance(30);
        let r = route(&s, from("192.0.2.1", Method::POST, paths::TOKEN, None)).await;
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_browser_gets_a_page_and_a_trusted_proxy_names_the_client() {
        let (_d, s) = server(LimitsConfig {
            authorize_per_minute: 1,
            trusted_proxies: vec!["10.0.0.0/8".into()],
            ..Default::default()
        });
        let auth = |peer: &'static str, xff: Option<&'static str>| {
            route(&s, from(peer, Method::GET, paths::AUTHORIZE, xff))
        };
        assert_eq!(
            auth("10.0.0.5", Some("198.51.100.7")).await.status(),
            StatusCode::SEE_OTHER
        );
        // Through the proxy, another client is another budget; the same one is refused.
        assert_eq!(
            auth("10.0.0.5", Some("198.51.100.8")).await.status(),
            StatusCode::SEE_OTHER
        );
        let r = auth("10.0.0.6", Some("6.6.6.6, 198.51.100.7")).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "60");
        let page = body(r).await;
        assert!(
            page.contains("Too many requests") && page.contains("60 seconds"),
            "{page}"
        );
        // An untrusted peer's X-Forwarded-For is ignored: it counts as itself.
        assert_eq!(
            auth("192.0.2.9", Some("198.51.100.99")).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            auth("192.0.2.9", Some("198.51.100.100")).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let hits: std::collections::HashMap<_, _> = s.provider.limits.hits().into_iter().collect();
        assert_eq!(hits["authorize"], 2);
    }
}
