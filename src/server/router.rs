//! The router: which handler answers which path. [`route`] takes a parsed [`Request`] and
//! returns the response, so tests drive it in-process; [`serve`] adapts a hyper request to it
//! (the issuer's path, the body's size and time limits). Paths under `/api/v1` go to the
//! management API ([`super::api`]), which has its own route table.

use super::account_routes;
use super::api;
use super::device_routes;
use super::forward_auth_routes;
use super::limited;
use super::ops_routes;
use super::routes::{self, cors};
use super::second_routes;
use super::signin_routes;
use super::Server;
use crate::http::{self, Request, RequestError, Response};
use crate::issuer::paths;
use hyper::{Method, StatusCode};

/// How long a request body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Reads a hyper request from `peer` and routes it, counting it under its route's name in the
/// metrics.
pub async fn serve(
    s: &Server,
    req: hyper::Request<hyper::body::Incoming>,
    peer: std::net::IpAddr,
) -> Response {
    let started = std::time::Instant::now();
    let counters = ops_routes::route_metrics(s, req.uri().path());
    let r = read_and_route(s, req, peer).await;
    counters.observe(r.status().as_u16(), started.elapsed());
    r
}

async fn read_and_route(
    s: &Server,
    req: hyper::Request<hyper::body::Incoming>,
    peer: std::net::IpAddr,
) -> Response {
    let Some(rel) = s.provider.issuer.strip(req.uri().path()) else {
        return http::text(
            StatusCode::NOT_FOUND,
            "not found: this server's endpoints are under its issuer URL\n",
        );
    };
    let rel = rel.to_string();
    let for_api = api::handles(&rel);
    // Headers have their own timeout (server::run); a body must also arrive in bounded time, so
    // a client that announces a body and sends nothing cannot hold a connection forever.
    let req = match tokio::time::timeout(BODY_TIMEOUT, Request::read(req, rel)).await {
        Err(_) if for_api => {
            return api::unreadable(
                api::Kind::Timeout,
                "the request body did not arrive in time",
            )
        }
        Err(_) => {
            return http::text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            )
        }
        Ok(r) => r,
    };
    match req {
        Ok(r) => route(s, r.from_peer(peer)).await,
        Err(RequestError::TooLarge) if for_api => api::unreadable(
            api::Kind::TooLarge,
            "the request body is larger than 64 KiB",
        ),
        Err(RequestError::TooLarge) => {
            http::text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n")
        }
        Err(RequestError::Body(e)) => {
            tracing::debug!("could not read request body: {e}");
            if for_api {
                return api::unreadable(api::Kind::InvalidBody, "could not read the request body");
            }
            http::text(StatusCode::BAD_REQUEST, "could not read the request body\n")
        }
    }
}

/// Routes one parsed request (its path relative to the issuer).
pub async fn route(s: &Server, req: Request) -> Response {
    let m = &req.method;
    let get_or_post = *m == Method::GET || *m == Method::POST;
    let path = req.path.as_str();
    if *m == Method::OPTIONS && is_api(path) {
        return cors(http::text(StatusCode::NO_CONTENT, ""));
    }
    if api::handles(path) {
        return api::route(s, &req).await;
    }
    // `sesame dev`'s own pages: `None` unless the provider holds the dev policy.
    if let Some(r) = super::dev::route(s, &req).await {
        return r;
    }
    if account_routes::handles(path) {
        return account_routes::route(s, &req).await;
    }
    if super::console::handles(path) {
        return super::console::route(s, &req).await;
    }
    if let Some(kind) = limited::kind_of(m, path) {
        if let Err(r) = limited::check(s, &req, kind) {
            return if kind == crate::limits::Kind::Token {
                cors(*r)
            } else {
                *r
            };
        }
    }
    match path {
        "/" | "" if *m == Method::GET => routes::home(s),
        paths::DISCOVERY if *m == Method::GET => routes::discovery(s),
        paths::JWKS if *m == Method::GET => routes::jwks(s),
        paths::HEALTH if *m == Method::GET => ops_routes::health(s, &req),
        paths::METRICS if *m == Method::GET => ops_routes::metrics(s, &req),
        paths::AUTHORIZE if get_or_post => routes::authorize(s, &req),
        paths::TOKEN if *m == Method::POST => cors(routes::token(s, &req).await),
        paths::USERINFO if get_or_post => cors(routes::userinfo(s, &req)),
        paths::REVOCATION if *m == Method::POST => cors(routes::revocation(s, &req)),
        paths::INTROSPECTION if *m == Method::POST => cors(routes::introspection(s, &req)),
        paths::END_SESSION if get_or_post => routes::end_session(s, &req),
        paths::DEVICE_AUTHORIZATION if *m == Method::POST => {
            cors(device_routes::device_authorization(s, &req))
        }
        paths::PAR if *m == Method::POST => {
            cors(device_routes::pushed_authorization_request(s, &req))
        }
        paths::DEVICE if *m == Method::GET => device_routes::device_page(s, &req),
        paths::DEVICE if *m == Method::POST => device_routes::device_submit(s, &req),
        // The proxy's endpoints answer any method: the original one comes in a header.
        paths::FORWARD_AUTH => forward_auth_routes::forward_auth(s, &req),
        paths::AUTH_REQUEST => forward_auth_routes::auth_request(s, &req),
        paths::SETUP if *m == Method::GET => account_routes::setup(s, &req),
        paths::SIGN_IN if *m == Method::GET && is_forward_auth_sign_in(&req) => {
            forward_auth_routes::begin(s, &req)
        }
        paths::SIGN_IN if *m == Method::GET => signin_routes::email_page(s, &req),
        paths::SIGN_IN if *m == Method::POST => signin_routes::email_submit(s, &req).await,
        paths::SIGN_IN_CODE if *m == Method::GET => signin_routes::code_page(s, &req),
        paths::SIGN_IN_CODE if *m == Method::POST => signin_routes::code_submit(s, &req).await,
        paths::SIGN_IN_SECOND if *m == Method::GET => second_routes::page_get(s, &req),
        paths::SIGN_IN_SECOND if *m == Method::POST => second_routes::code_post(s, &req),
        paths::SIGN_IN_SECOND_TOTP if *m == Method::POST => second_routes::totp_post(s, &req),
        paths::SIGN_IN_SECOND_PASSKEY if *m == Method::POST => {
            second_routes::enrol_passkey_post(s, &req)
        }
        paths::SIGN_IN_SECOND_PASSKEY_OPTIONS if *m == Method::POST => {
            second_routes::enrol_options_post(s, &req)
        }
        paths::SIGN_IN_PASSKEY if *m == Method::POST => second_routes::passkey_post(s, &req),
        paths::SIGN_IN_PASSKEY_OPTIONS if *m == Method::POST => {
            second_routes::options_post(s, &req)
        }
        paths::SIGN_IN_CONTINUE if *m == Method::GET => signin_routes::select_account_page(s, &req),
        paths::SIGN_IN_CONTINUE if *m == Method::POST => signin_routes::continue_submit(s, &req),
        p if p.starts_with(paths::STATIC) && *m == Method::GET => {
            routes::static_file(s, &p[paths::STATIC.len()..])
        }
        paths::DISCOVERY
        | paths::JWKS
        | paths::HEALTH
        | paths::METRICS
        | paths::TOKEN
        | paths::REVOCATION
        | paths::INTROSPECTION
        | paths::AUTHORIZE
        | paths::USERINFO
        | paths::END_SESSION
        | paths::DEVICE_AUTHORIZATION
        | paths::PAR
        | paths::DEVICE
        | paths::SIGN_IN
        | paths::SIGN_IN_CODE
        | paths::SIGN_IN_SECOND
        | paths::SIGN_IN_SECOND_TOTP
        | paths::SIGN_IN_SECOND_PASSKEY
        | paths::SIGN_IN_SECOND_PASSKEY_OPTIONS
        | paths::SIGN_IN_PASSKEY
        | paths::SIGN_IN_PASSKEY_OPTIONS
        | paths::SIGN_IN_CONTINUE => routes::method_not_allowed(m),
        _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `/sign-in?rd=URL`: a sign-in for a page behind the proxy begins (one already begun carries
/// its `interaction`).
fn is_forward_auth_sign_in(req: &Request) -> bool {
    let q = req.query();
    q.has("rd") && !q.has("interaction")
}

fn is_api(path: &str) -> bool {
    matches!(
        path,
        paths::DISCOVERY
            | paths::JWKS
            | paths::TOKEN
            | paths::USERINFO
            | paths::REVOCATION
            | paths::INTROSPECTION
            | paths::DEVICE_AUTHORIZATION
            | paths::PAR
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::{BrandingConfig, Config};
    use crate::http::cookie::CookiePolicy;
    use crate::pages::Pages;
    use crate::provider::testing::{provider, CLIENT, SECRET};
    use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
    use hyper::HeaderMap;
    use std::sync::Arc;

    fn server() -> (tempfile::TempDir, Server) {
        let (dir, p) = provider();
        (dir, server_of(p))
    }

    /// A server over `p` with the default branding and secure cookies (for the edge's tests).
    pub(in crate::server) fn server_of(p: crate::provider::Provider) -> Server {
        let pages = Pages::new(&BrandingConfig::default()).unwrap();
        let cookies = CookiePolicy {
            path: "/".into(),
            secure: true,
        };
        Server::new(Arc::new(p), Config::default(), pages, cookies)
    }

    fn get(path: &str, query: &str, headers: HeaderMap) -> Request {
        Request::synthetic(Method::GET, path, query, "", headers)
    }

    fn post(path: &str, form: &str, mut headers: HeaderMap) -> Request {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        Request::synthetic(Method::POST, path, "", form, headers)
    }

    async fn body(r: Response) -> String {
        use http_body_util::BodyExt;
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_router_answers_in_process() {
        let (_d, s) = server();
        let r = route(&s, get(paths::DISCOVERY, "", HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let doc: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
        assert_eq!(doc["issuer"], "https://id.example");

        let r = route(&s, get("/nowhere", "", HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = route(&s, get(paths::TOKEN, "", HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        let r = route(&s, get(paths::HEALTH, "", HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_authorization_request_without_a_session_goes_to_the_sign_in_page() {
        let (_d, s) = server();
        let query = format!(
            "client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid"
        );
        let r = route(&s, get(paths::AUTHORIZE, &query, HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/sign-in?interaction="), "{location}");
        let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("__Host-sesame_interaction="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Secure"),
            "{cookie}"
        );

        // The sign-in page opens in the same browser, and only there.
        let value = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(value).unwrap());
        let id_query = location.split_once('?').unwrap().1;
        let r = route(&s, get(paths::SIGN_IN, id_query, headers)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(body(r).await.contains("name=\"email\""));
        let r = route(&s, get(paths::SIGN_IN, id_query, HeaderMap::new())).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(body(r).await.contains("started in another browser"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_planted_interaction_cookie_is_replaced_not_adopted() {
        let (_d, s) = server();
        let query = format!(
            "client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid"
        );
        let planted = "p".repeat(43);
        let mut headers = HeaderMap::new();
        let cookie = format!("__Host-sesame_interaction={planted}");
        headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
        let r = route(&s, get(paths::AUTHORIZE, &query, headers)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(!set.contains(&planted), "{set}");
        // The value sesame made is kept for the browser's next sign-in (tabs, other apps).
        let ours = set.split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&ours).unwrap());
        let r = route(&s, get(paths::AUTHORIZE, &query, headers)).await;
        let again = r.headers()[SET_COOKIE].to_str().unwrap();
        assert!(again.starts_with(&ours), "{again} keeps {ours}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn untrusted_requests_get_a_page_and_protocol_errors_get_json() {
        let (_d, s) = server();
        let r = route(
            &s,
            get(
                paths::AUTHORIZE,
                "client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2F",
                HeaderMap::new(),
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(
            r.headers().get(LOCATION).is_none(),
            "never an open redirect"
        );
        assert!(body(r).await.contains("Unknown app"));

        let mut headers = HeaderMap::new();
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:wrong"));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
        );
        let r = route(
            &s,
            post(
                paths::TOKEN,
                "grant_type=authorization_code&code=x",
                headers,
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"sesame\"");
        assert!(body(r).await.contains("\"invalid_client\""));

        let r = route(
            &s,
            post(
                paths::TOKEN,
                &format!("grant_type=authorization_code&code=x&client_id={CLIENT}&client_secret={SECRET}"),
                HeaderMap::new(),
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(body(r).await.contains("\"invalid_grant\""));
    }
}
