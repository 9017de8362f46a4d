//! The management API driven in-process through [`crate::server::route`], as a client sees it:
//! status, headers and JSON. A real provider over a temporary redb; real users, sessions and
//! API keys, made with the same operations the CLI uses.
//!
//! - `auth.rs`: every route against missing, wrong, expired and revoked keys, a non-admin's
//!   session, and an admin's session with and without its CSRF token.
//! - `routes.rs`: every route answering an API key (a test checks none is left out).
//! - `errors.rs`: bad input, unknown things, conflicts and races, each as problem+json.

mod auth;
mod errors;
mod routes;

use super::{Verb, PREFIX, ROUTES};
use crate::api_keys::{self, NewApiKey};
use crate::config::{BrandingConfig, Config};
use crate::http::cookie::{CookiePolicy, SESSION_COOKIE};
use crate::http::Request;
use crate::pages::Pages;
use crate::provider::testing::provider;
use crate::server::{route, Server};
use crate::users::{self, NewUser, ADMINS};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, COOKIE};
use hyper::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A running API with an administrator, a plain user, and an API key.
struct Api {
    server: Arc<Server>,
    /// A live API key.
    key: String,
    /// The session cookie value of `root@example.com`, a member of `admins`.
    admin_cookie: String,
    /// The session cookie value of `pat@example.com`, in no group.
    user_cookie: String,
    /// The routes (method, template) that answered a test with a 2xx.
    answered: Mutex<BTreeSet<(Verb, &'static str)>>,
    _dir: tempfile::TempDir,
}

/// Who a request comes from.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    /// `Authorization: <value>` as given.
    Authorization(&'a str),
    /// The API key, as `Bearer`.
    Key,
    /// A session cookie value, with an `X-CSRF-Token` header (or none) and an `Origin` (or none).
    Cookie {
        cookie: &'a str,
        csrf: Option<&'a str>,
        origin: Option<&'a str>,
    },
}

/// An answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    /// Asserts this is a problem of `kind` (by its `type`) with the right status, and returns
    /// the member it blames, if any.
    fn problem(&self, kind: super::Kind) -> Option<String> {
        assert_eq!(self.status, kind.status(), "{}", self.json);
        assert_eq!(
            self.headers[CONTENT_TYPE], "application/problem+json",
            "{}",
            self.json
        );
        assert_eq!(self.json["type"], kind.type_uri(), "{}", self.json);
        assert_eq!(self.json["status"], kind.status().as_u16());
        assert_eq!(self.json["title"], kind.title());
        assert!(self.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
        let field = self.json["errors"][0]["field"].as_str().map(String::from);
        if field.is_some() {
            assert_eq!(self.json["errors"][0]["detail"], self.json["detail"]);
        }
        field
    }

    fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "{}: {}", self.status, self.json);
        &self.json
    }
}

impl Api {
    fn new() -> Api {
        let (dir, p) = provider();
        let now = p.now();
        users::ensure_builtin_groups(&p.store, now).unwrap();
        let root = users::add(&p.store, now, new_user("root@example.com", &[ADMINS])).unwrap();
        let pat = users::add(&p.store, now, new_user("pat@example.com", &[])).unwrap();
        let ttl = p.tokens.session_ttl;
        let admin_cookie = p
            .store
            .write(|tx| crate::session::create(tx, &root.id, now, ttl))
            .unwrap();
        let user_cookie = p
            .store
            .write(|tx| crate::session::create(tx, &pat.id, now, ttl))
            .unwrap();
        let (_, key) = api_keys::create(&p.store, now, key_named("tests", None)).unwrap();
        let pages = Pages::new(&BrandingConfig::default()).unwrap();
        let cookies = CookiePolicy {
            path: "/".into(),
            secure: true,
        };
        Api {
            server: Arc::new(Server::new(Arc::new(p), Config::default(), pages, cookies)),
            key,
            admin_cookie,
            user_cookie,
            answered: Mutex::new(BTreeSet::new()),
            _dir: dir,
        }
    }

    fn provider(&self) -> &crate::provider::Provider {
        &self.server.provider
    }

    /// `method path?query` below `/api/v1`, with a JSON body (or none), as `who`.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>, who: As<'_>) -> Answer {
        let body = body.map(Value::to_string).unwrap_or_default();
        self.send(method, path, "application/json", &body, who)
            .await
    }

    /// Like [`Api::call`] with the body as given, under `content_type`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &str,
        who: As<'_>,
    ) -> Answer {
        let mut headers = HeaderMap::new();
        let mut set = |name: HeaderName, value: &str| {
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        };
        if !body.is_empty() {
            set(CONTENT_TYPE, content_type);
        }
        let bearer = format!("Bearer {}", self.key);
        match who {
            As::Nobody => {}
            As::Authorization(v) => set(hyper::header::AUTHORIZATION, v),
            As::Key => set(hyper::header::AUTHORIZATION, &bearer),
            As::Cookie {
                cookie,
                csrf,
                origin,
            } => {
                set(COOKIE, &format!("__Host-{SESSION_COOKIE}={cookie}"));
                if let Some(t) = csrf {
                    set(HeaderName::from_static(super::CSRF_HEADER), t);
                }
                if let Some(o) = origin {
                    set(hyper::header::ORIGIN, o);
                }
            }
        }
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let full = format!("{PREFIX}{path}");
        let req = Request::synthetic(method.clone(), &full, query, body, headers);
        let r = route(&self.server, req).await;
        let status = r.status();
        let headers = r.headers().clone();
        use http_body_util::BodyExt;
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            if let Some(found) = ROUTES.iter().find(|r| {
                r.verb.as_str() == method.as_str() && super::match_path(r.path, path).is_some()
            }) {
                self.answered
                    .lock()
                    .unwrap()
                    .insert((found.verb, found.path));
            }
        }
        Answer {
            status,
            headers,
            json,
        }
    }

    /// With the API key.
    async fn key(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        self.call(method, path, body, As::Key).await
    }
}

fn new_user(email: &str, groups: &[&str]) -> NewUser {
    NewUser {
        email: email.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn key_named(name: &str, days: Option<u64>) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        expires_in_days: days,
    }
}

/// A concrete path for a route's template (each `{param}` as `x`).
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(verb: Verb) -> Method {
    Method::from_bytes(verb.as_str().as_bytes()).unwrap()
}
