//! A small HTTP/1.1 client for the tests, on hyper-util's legacy client: a cookie jar, redirects
//! followed by hand (so a test sees every hop), and form posts.
//!
//! It plays the browser in the HTTP-level tests: it keeps `sesame_interaction` and
//! `sesame_session` between requests exactly as a browser would (path-matched, deleted on
//! `Max-Age=0`), and never follows a redirect that leaves the issuer, because that hop is the
//! answer the test asserts on.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use url::Url;

/// No request in a test may hang: a server that does not answer within this is a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A browser-like HTTP client: one cookie jar, redirects by hand.
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    jar: Mutex<Vec<Cookie>>,
}

/// A response with its body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL that was requested (redirect locations are resolved against it).
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// A cookie the jar keeps, with the raw `Set-Cookie` line so tests can assert on attributes.
#[derive(Debug, Clone)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: String,
    pub set_cookie: String,
}

impl HttpClient {
    pub fn new() -> HttpClient {
        // No pooled connections: a test restarts sesame on the same port, and a pooled socket
        // to the old process would fail the first request after the restart.
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        HttpClient {
            inner,
            jar: Mutex::new(Vec::new()),
        }
    }

    /// Sends a request with the jar's cookies, stores the response's cookies, reads the body.
    pub async fn try_send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response, String> {
        let url = Url::parse(url).map_err(|e| format!("bad URL {url:?}: {e}"))?;
        let mut builder = Request::builder().method(method.clone()).uri(url.as_str());
        if let Some(cookie) = self.cookie_header(&url) {
            builder = builder.header("cookie", cookie);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let payload = match body {
            Some((content_type, bytes)) => {
                builder = builder.header("content-type", content_type);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| format!("building {method} {url}: {e}"))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| format!("{method} {url}: {e:?}"))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| format!("{method} {url}: reading body: {e}"))?
                .to_bytes();
            Ok::<_, String>((parts, bytes))
        };
        let (parts, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{method} {url}: no response within {REQUEST_TIMEOUT:?}"))??;
        self.store_cookies(&url, &parts.headers);
        Ok(Response {
            url,
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Like [`HttpClient::try_send`], panicking on a transport error (the server must answer).
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Response {
        match self.try_send(method, url, headers, body).await {
            Ok(response) => response,
            Err(e) => panic!("HTTP request failed: {e}"),
        }
    }

    pub async fn get(&self, url: &str) -> Response {
        self.send(Method::GET, url, &[], None).await
    }

    pub async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Response {
        self.send(Method::GET, url, headers, None).await
    }

    /// POST `application/x-www-form-urlencoded`.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Response {
        self.post_form_with(url, form, &[]).await
    }

    pub async fn post_form_with(
        &self,
        url: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let body = encode_form(form).into_bytes();
        self.send(
            Method::POST,
            url,
            headers,
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }

    /// Follows redirects from `response` while they stay under `base` (the issuer), at most 10.
    /// Returns the first response that is not such a redirect: a page, or a redirect elsewhere
    /// (to the client's `redirect_uri`), which a test inspects rather than follows.
    pub async fn follow_within(&self, mut response: Response, base: &str) -> Response {
        for _ in 0..10 {
            let Some(next) = response.location() else {
                return response;
            };
            if !response.is_redirect() || !under(&next, base) {
                return response;
            }
            response = self.get(next.as_str()).await;
        }
        panic!("more than 10 redirects starting under {base}");
    }

    /// GET `url`, then [`HttpClient::follow_within`] `base`.
    pub async fn get_following(&self, url: &str, base: &str) -> Response {
        let first = self.get(url).await;
        self.follow_within(first, base).await
    }

    /// The value of a cookie in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookie_record(name).map(|c| c.value)
    }

    /// The jar's record of a cookie, with the raw `Set-Cookie` line that set it.
    pub fn cookie_record(&self, name: &str) -> Option<Cookie> {
        let jar = self.jar.lock().unwrap();
        jar.iter().find(|c| c.name == name).cloned()
    }

    /// Puts a cookie into the jar by hand (path `/`).
    pub fn set_cookie(&self, name: &str, value: &str) {
        let mut jar = self.jar.lock().unwrap();
        jar.retain(|c| c.name != name);
        jar.push(Cookie {
            name: name.to_string(),
            value: value.to_string(),
            path: "/".to_string(),
            set_cookie: format!("{name}={value}; Path=/"),
        });
    }

    pub fn remove_cookie(&self, name: &str) {
        self.jar.lock().unwrap().retain(|c| c.name != name);
    }

    pub fn clear_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    /// Copies every cookie of `other` into this jar (a second tab of the same browser).
    pub fn copy_cookies_from(&self, other: &HttpClient) {
        let cookies = other.jar.lock().unwrap().clone();
        *self.jar.lock().unwrap() = cookies;
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        let pairs: Vec<String> = jar
            .iter()
            .filter(|c| path_matches(url.path(), &c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        if pairs.is_empty() {
            None
        } else {
            Some(pairs.join("; "))
        }
    }

    fn store_cookies(&self, url: &Url, headers: &HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for line in headers.get_all("set-cookie") {
            let Ok(line) = line.to_str() else { continue };
            let Some(cookie) = parse_set_cookie(url, line) else {
                continue;
            };
            jar.retain(|c| c.name != cookie.name);
            if !is_deletion(line) {
                jar.push(cookie);
            }
        }
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

impl Response {
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }

    /// The `Location` header resolved against the request URL.
    pub fn location(&self) -> Option<Url> {
        let raw = self.header("location")?;
        self.url.join(raw).ok()
    }

    /// The `Location` of a redirect, or a panic that shows what came instead.
    pub fn expect_redirect(&self) -> Url {
        match (self.is_redirect(), self.location()) {
            (true, Some(location)) => location,
            _ => panic!(
                "expected a redirect from {}, got {} with body:\n{}",
                self.url,
                self.status,
                excerpt(&self.body)
            ),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// The body parsed as JSON, or a panic that shows it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected JSON from {} (status {}): {e}; body:\n{}",
                self.url,
                self.status,
                excerpt(&self.body)
            )
        })
    }

    /// The value of a hidden (or any) `<input name=NAME>` in the page.
    pub fn input_value(&self, name: &str) -> Option<String> {
        super::html::input_value(&self.body, name)
    }

    /// The text of `<code id="ID">...</code>` on the page.
    pub fn code_with_id(&self, id: &str) -> Option<String> {
        let start = format!("<code id=\"{id}\">");
        let at = self.body.find(&start)? + start.len();
        let len = self.body[at..].find("</code>")?;
        Some(self.body[at..at + len].to_string())
    }

    /// The value of `<input name=NAME>`, or a panic that shows the page.
    pub fn expect_input(&self, name: &str) -> String {
        self.input_value(name).unwrap_or_else(|| {
            panic!(
                "no <input name={name:?}> with a value in the page at {} (status {}):\n{}",
                self.url,
                self.status,
                excerpt(&self.body)
            )
        })
    }

    /// A short summary for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{} -> {} location={:?} body:\n{}",
            self.url,
            self.status,
            self.header("location"),
            excerpt(&self.body)
        )
    }
}

/// Builds a `HeaderValue` for HTTP Basic client authentication (RFC 6749 §2.3.1: the
/// client ID and secret are form-urlencoded before base64).
pub fn basic_auth(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let user: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let pass: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let raw = format!("{user}:{pass}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// The first value of query parameter `name` in `url`.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The first 2000 characters of a body, for failure messages.
pub fn excerpt(body: &str) -> String {
    body.chars().take(2000).collect()
}

/// `url` is `base` or below it (path-wise).
pub fn under(url: &Url, base: &str) -> bool {
    let s = url.as_str();
    let base = base.trim_end_matches('/');
    s == base || s.starts_with(&format!("{base}/")) || s.starts_with(&format!("{base}?"))
}

fn parse_set_cookie(url: &Url, line: &str) -> Option<Cookie> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.trim().split_once('=')?;
    let mut path = default_path(url.path());
    for attribute in parts {
        let (key, val) = attribute
            .trim()
            .split_once('=')
            .unwrap_or((attribute.trim(), ""));
        if key.eq_ignore_ascii_case("path") && val.starts_with('/') {
            path = val.to_string();
        }
    }
    Some(Cookie {
        name: name.trim().to_string(),
        value: value.trim().trim_matches('"').to_string(),
        path,
        set_cookie: line.to_string(),
    })
}

/// `Max-Age=0` (or negative), or an `Expires` in 1970: the server deletes the cookie.
fn is_deletion(line: &str) -> bool {
    line.split(';').skip(1).any(|attribute| {
        let (key, val) = attribute
            .trim()
            .split_once('=')
            .unwrap_or((attribute.trim(), ""));
        (key.eq_ignore_ascii_case("max-age") && val.trim().parse::<i64>().is_ok_and(|n| n <= 0))
            || (key.eq_ignore_ascii_case("expires") && val.contains("1970"))
    })
}

/// RFC 6265 §5.1.4 default-path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => request_path[..i].to_string(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_paths() {
        assert!(path_matches("/oidc/sign-in", "/oidc"));
        assert!(path_matches("/oidc", "/oidc"));
        assert!(!path_matches("/oidcx", "/oidc"));
        assert!(path_matches("/anything", "/"));
        assert_eq!(default_path("/oidc/sign-in"), "/oidc");
    }
}
