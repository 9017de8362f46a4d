//! HTTP plumbing: turning a hyper request into a parsed [`Request`] once, at the edge, and
//! building responses with the headers every response of an identity provider needs.
//!
//! Part of the HTTP edge: routing lives in the server module, protocol decisions in the core.
//! Nothing here knows what a token is. Uses: [`crate::oidc::Params`] (what a request's
//! parameters decode into).

pub mod cookie;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Method, StatusCode};
use std::collections::BTreeMap;

pub use crate::oidc::Params;

/// The response type every handler returns.
pub type Response = hyper::Response<Full<Bytes>>;

/// The largest request body we read. OAuth and form requests are a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// A request, read and parsed once.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The path below the issuer's path, always starting with `/`.
    pub path: String,
    pub headers: HeaderMap,
    /// Query parameters and form parameters (of a form POST), each in arrival order.
    query: Params,
    form: Params,
    /// The body as it arrived (at most [`MAX_BODY`] bytes; empty for GET and HEAD): what a JSON
    /// endpoint parses. A form POST has it parsed in `form` as well.
    body: Bytes,
    pub cookies: BTreeMap<String, String>,
    /// The socket's peer (`None` for a request made by hand in a test): who the limits count,
    /// unless it is a trusted proxy (see [`crate::limits`]).
    pub peer: Option<std::net::IpAddr>,
}

/// Headers a reverse proxy adds: a request carrying one came through a proxy, even from a
/// loopback peer.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Why a request could not be read.
#[derive(Debug)]
pub enum RequestError {
    /// The body was larger than [`MAX_BODY`].
    TooLarge,
    /// The connection failed while the body was read.
    Body(String),
}

impl Request {
    /// Reads and parses a hyper request. `path` is the path relative to the issuer.
    pub async fn read(
        req: hyper::Request<hyper::body::Incoming>,
        path: String,
    ) -> Result<Request, RequestError> {
        let (parts, body) = req.into_parts();
        let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes());
        let cookies = cookie::parse(&parts.headers);
        let has_body = !matches!(parts.method, Method::GET | Method::HEAD);
        let body = if has_body {
            Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        RequestError::TooLarge
                    } else {
                        RequestError::Body(e.to_string())
                    }
                })?
                .to_bytes()
        } else {
            Bytes::new()
        };
        let form = form_params(&parts.method, &parts.headers, &body);
        Ok(Request {
            method: parts.method,
            path,
            headers: parts.headers,
            query,
            form,
            body,
            cookies,
            peer: None,
        })
    }

    /// The same request, from `peer`.
    pub fn from_peer(mut self, peer: std::net::IpAddr) -> Request {
        self.peer = Some(peer);
        self
    }

    /// Builds a request by hand (for tests of handlers without a socket). The body is parsed
    /// as a form when the headers say it is one, as [`Request::read`] does.
    pub fn synthetic(
        method: Method,
        path: &str,
        query: &str,
        body: &str,
        headers: HeaderMap,
    ) -> Request {
        let body = Bytes::copy_from_slice(body.as_bytes());
        Request {
            form: form_params(&method, &headers, &body),
            method,
            path: path.to_string(),
            cookies: cookie::parse(&headers),
            headers,
            query: Params::parse(query.as_bytes()),
            body,
            peer: None,
        }
    }

    /// Whether the request comes from this machine: its peer is a loopback address (all of
    /// 127.0.0.0/8, or ::1) and it carries no header a reverse proxy adds. A proxy on the same
    /// host connects from loopback on behalf of anyone, and says so in `X-Forwarded-For`
    /// (Caddy, Traefik, nginx's usual configuration) or `Forwarded`; such a request is not
    /// local. An in-process request (no peer) is not local either.
    pub fn is_local(&self) -> bool {
        let loopback = self.peer.is_some_and(|p| p.to_canonical().is_loopback());
        loopback && !PROXY_HEADERS.iter().any(|h| self.headers.contains_key(*h))
    }

    /// The parameters of the request: the query for GET, the form body for POST (as OAuth
    /// endpoints define them).
    pub fn params(&self) -> &Params {
        if self.method == Method::POST {
            &self.form
        } else {
            &self.query
        }
    }

    /// Query parameters regardless of method.
    pub fn query(&self) -> &Params {
        &self.query
    }

    /// The raw body (empty for GET and HEAD).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The media type of the body (`Content-Type` without its parameters, lower-cased).
    pub fn media_type(&self) -> Option<String> {
        media_type(&self.headers)
    }

    /// A request header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(|s| s.as_str())
    }
}

/// The media type of `Content-Type`, without parameters, lower-cased.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// The form parameters of a form POST (OAuth endpoints and the sign-in pages); none otherwise.
fn form_params(method: &Method, headers: &HeaderMap, body: &[u8]) -> Params {
    let is_form = media_type(headers).as_deref() == Some("application/x-www-form-urlencoded");
    if *method == Method::POST && is_form {
        Params::parse(body)
    } else {
        Params::default()
    }
}

/// Headers that every response carries: no framing, no sniffing, no referrer leaks.
fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    resp
}

fn build(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    let mut resp = hyper::Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure(resp)
}

/// A JSON response that must not be cached (tokens, userinfo, errors).
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut resp = build(status, "application/json", value.to_string());
    no_store(&mut resp);
    resp
}

/// A JSON response that may be cached for a while (discovery, JWKS).
pub fn json_cacheable(value: &serde_json::Value, max_age: u32) -> Response {
    let mut resp = build(StatusCode::OK, "application/json", value.to_string());
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        resp.headers_mut().insert(CACHE_CONTROL, v);
    }
    resp
}

/// An HTML page under a strict content security policy: no scripts at all, styles and
/// images from us (images also from https, for a configured logo), never framed.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = build(status, "text/html; charset=utf-8", body);
    resp.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // The pages' links and forms carry interaction IDs in their URLs: never sent onwards.
    resp.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    no_store(&mut resp);
    resp
}

/// Lets `resp` (an HTML page of [`html`]) run script files from sesame's own origin and fetch
/// from it: `script-src 'self'; connect-src 'self'`, still no inline script. Only the pages
/// that carry a script file of their own say so (the console's sign-in experience preview).
/// That page also frames `data:` documents: the emails' HTML, each in an `<iframe sandbox>`
/// (an opaque origin that runs no script), where the email's own inline styles apply.
pub fn allow_own_scripts(resp: &mut Response) {
    resp.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; frame-src data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// Lets `resp` (an HTML page of [`html`]) run script files from sesame's own origin and fetch
/// from it, nothing more: the pages that offer a passkey (`passkey.js`; the WebAuthn API is
/// JavaScript only). Still no inline script.
pub fn allow_script_files(resp: &mut Response) {
    resp.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// An HTML page served on another host than sesame's (forward-auth's pages reach the browser
/// through the proxy, on the protected host): as [`html`], with sesame's styles loaded from
/// `origin`.
pub fn html_from(status: StatusCode, body: String, origin: &str) -> Response {
    let mut resp = html(status, body);
    let csp = format!(
        "default-src 'none'; style-src 'self' {origin}; img-src 'self' {origin} https: data:; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert("content-security-policy", v);
    }
    resp
}

/// A redirect (303 See Other: the browser follows with GET, whatever the request was).
pub fn redirect(location: &str) -> Response {
    let mut resp = build(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    no_store(&mut resp);
    resp
}

/// A static asset, cacheable.
pub fn asset(body: Bytes, content_type: &'static str) -> Response {
    let mut resp = build(StatusCode::OK, content_type, body);
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}

/// An image that may come from the operator's files (the branding logo): an asset whose
/// document, if opened on its own (an SVG), may run nothing and load nothing.
pub fn image(body: Bytes, content_type: &'static str) -> Response {
    let mut resp = asset(body, content_type);
    resp.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    resp
}

/// A plain-text response (health checks, 404s outside the issuer, what a proxy is told).
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response {
    build(status, "text/plain; charset=utf-8", body)
}

fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert("pragma", HeaderValue::from_static("no-cache"));
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(resp: &mut Response, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(hyper::header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_post_is_parsed_and_any_body_stays_readable() {
        let mut form = HeaderMap::new();
        form.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let r = Request::synthetic(Method::POST, "/token", "", "a=1&b=2", form);
        assert_eq!(r.params().first("a"), Some("1"));
        assert_eq!(r.body(), b"a=1&b=2");

        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("Application/JSON"));
        let r = Request::synthetic(Method::PATCH, "/x", "", r#"{"a":"1"}"#, json);
        assert!(!r.params().has("a"), "a JSON body is not a form");
        assert_eq!(r.body(), br#"{"a":"1"}"#);
        assert_eq!(r.media_type().as_deref(), Some("application/json"));
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let r = html(StatusCode::OK, "<p>hi</p>".into());
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }
}
