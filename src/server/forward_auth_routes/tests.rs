//! The forward-auth endpoints through [`crate::server::route`], in-process: every status and
//! header each proxy's contract gives, the sign-in that begins at `/sign-in?rd=`, and sign-out.

use crate::config::{BrandingConfig, Config};
use crate::forward_auth::access::Names;
use crate::forward_auth::{AccessRuleDecl, AccessRules, CookieDomain, ForwardAuth, Policy};
use crate::http::cookie::CookiePolicy;
use crate::http::{Request, Response};
use crate::issuer::paths;
use crate::pages::Pages;
use crate::provider::testing::{provider, user, T0};
use crate::server::{route, Server};
use crate::session;
use crate::store::{Reads, SessionKind, Writes};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::{Method, StatusCode};
use std::sync::Arc;

const FA_COOKIE: &str = "__Secure-sesame_forward_auth";
const SIGN_IN: &str = "https://id.example/sign-in?rd=";

fn rule(domain: &str, resources: &[&str], policy: Policy, groups: &[&str]) -> AccessRuleDecl {
    AccessRuleDecl {
        domain: Names(vec![domain.into()]),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        policy,
        users: vec![],
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// A server whose provider (issuer https://id.example) protects hosts under home.example:
/// `/public/` everywhere bypasses, app.home.example is for the family, other.example is
/// allowed by a rule but outside the cookie domain.
fn server(forward_auth: bool) -> (tempfile::TempDir, Server) {
    server_with(forward_auth, crate::limits::LimitsConfig::default())
}

/// [`server`] with these limits.
fn server_with(
    forward_auth: bool,
    limits: crate::limits::LimitsConfig,
) -> (tempfile::TempDir, Server) {
    let (dir, p) = provider();
    let p = p.with_limits(crate::limits::Limits::new(limits).unwrap());
    let pages = Pages::new(&BrandingConfig::default()).unwrap();
    let cookies = CookiePolicy {
        path: "/".into(),
        secure: true,
    };
    let s = Server::new(Arc::new(p), Config::default(), pages, cookies);
    if !forward_auth {
        return (dir, s);
    }
    let rules = AccessRules::compile(&[
        rule("*.home.example", &["^/public/"], Policy::Bypass, &[]),
        rule("app.home.example", &[], Policy::Allow, &["family"]),
        rule("other.example", &[], Policy::Allow, &[]),
    ])
    .unwrap();
    let fa = ForwardAuth {
        cookie_domain: CookieDomain::parse("home.example").unwrap(),
        rules,
        https: true,
    };
    (dir, s.with_forward_auth(fa))
}

/// A user in `groups` with a forward-auth session: the `Cookie` header value.
fn signed_in(s: &Server, email: &str, groups: &[&str]) -> String {
    let p = &s.provider;
    let mut u = user(p, email);
    u.groups = groups.iter().map(|g| g.to_string()).collect();
    let value = p
        .store
        .write(|tx| {
            tx.put_user(&u)?;
            session::create_forward_auth(tx, &u.id, T0, T0 + 3600)
        })
        .unwrap();
    format!("{FA_COOKIE}={value}")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// Caddy's forward_auth request for `method https://{host}{uri}`.
fn caddy(host: &str, uri: &str, method: &str, extra: &[(&str, &str)]) -> Request {
    let mut pairs = vec![
        ("x-forwarded-method", method),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", host),
        ("x-forwarded-uri", uri),
        ("x-forwarded-for", "192.0.2.7"),
    ];
    pairs.extend_from_slice(extra);
    Request::synthetic(Method::GET, paths::FORWARD_AUTH, "", "", headers(&pairs))
}

/// nginx's auth_request subrequest for `url`.
fn nginx(url: &str, extra: &[(&str, &str)]) -> Request {
    let mut pairs = vec![("x-original-url", url), ("x-original-method", "GET")];
    pairs.extend_from_slice(extra);
    Request::synthetic(Method::GET, paths::AUTH_REQUEST, "", "", headers(&pairs))
}

async fn body(r: Response) -> String {
    use http_body_util::BodyExt;
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_signed_in_is_sent_to_sign_in_as_each_proxy_wants_it() {
    let (_d, s) = server(true);
    let url = "https://app.home.example/docs?page=2";
    let location = format!("{SIGN_IN}{}", enc(url));
    for (method, status) in [
        ("GET", StatusCode::FOUND),
        ("HEAD", StatusCode::FOUND),
        ("POST", StatusCode::SEE_OTHER),
        ("DELETE", StatusCode::SEE_OTHER),
    ] {
        let r = route(&s, caddy("app.home.example", "/docs?page=2", method, &[])).await;
        assert_eq!(r.status(), status, "{method}");
        assert_eq!(header(&r, "location"), Some(location.as_str()), "{method}");
    }
    // Without X-Forwarded-Method, the request's own method.
    let mut req = caddy("app.home.example", "/docs?page=2", "GET", &[]);
    req.headers.remove("x-forwarded-method");
    assert_eq!(route(&s, req).await.status(), StatusCode::FOUND);

    let r = route(&s, nginx(url, &[])).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "location"), Some(location.as_str()));
    assert!(header(&r, "remote-user").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn misses_are_counted_per_client_behind_a_trusted_proxy_and_passes_never() {
    let (_d, s) = server_with(
        true,
        crate::limits::LimitsConfig {
            forward_auth_misses_per_minute: 2,
            trusted_proxies: vec!["10.0.0.1".into()],
            ..Default::default()
        },
    );
    let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    // The proxy appends the client it saw to what came in (here 192.0.2.7 from `caddy`).
    let miss = |client: &str| {
        caddy(
            "app.home.example",
            "/",
            "GET",
            &[("x-forwarded-for", client)],
        )
        .from_peer(proxy)
    };
    for _ in 0..2 {
        assert_eq!(
            route(&s, miss("192.0.2.7")).await.status(),
            StatusCode::FOUND
        );
    }
    let r = route(&s, miss("192.0.2.7")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after"), Some("30"));
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        route(&s, miss("192.0.2.8")).await.status(),
        StatusCode::FOUND
    );
    // A signed-in check is not a miss: never counted, never refused.
    let cookie = signed_in(&s, "kid@example.com", &["family"]);
    for _ in 0..5 {
        let r = route(
            &s,
            caddy("app.home.example", "/", "GET", &[("cookie", &cookie)]).from_peer(proxy),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_user_passes_with_the_identity_headers() {
    let (_d, s) = server(true);
    let cookie = signed_in(&s, "ada@example.com", &["family", "admins"]);
    for req in [
        caddy("app.home.example", "/", "GET", &[("cookie", &cookie)]),
        nginx("https://app.home.example/", &[("cookie", &cookie)]),
    ] {
        let r = route(&s, req).await;
        assert_eq!(r.status(), StatusCode::OK);
        // No username: the email stands in for it.
        assert_eq!(header(&r, "remote-user"), Some("ada@example.com"));
        assert_eq!(header(&r, "remote-groups"), Some("family,admins"));
        assert_eq!(header(&r, "remote-email"), Some("ada@example.com"));
        assert_eq!(header(&r, "remote-name"), Some("Ada"));
        assert!(header(&r, "location").is_none());
        assert!(
            r.headers().get(SET_COOKIE).is_none(),
            "a check sets nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_user_who_may_not_gets_403_and_a_way_to_switch() {
    let (_d, s) = server(true);
    let cookie = signed_in(&s, "bob@example.com", &["friends"]);
    for req in [
        caddy("app.home.example", "/x", "GET", &[("cookie", &cookie)]),
        nginx("https://app.home.example/x", &[("cookie", &cookie)]),
    ] {
        let r = route(&s, req).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(header(&r, "remote-user").is_none());
        // Served on the protected host: sesame's styles come from its own origin.
        let csp = header(&r, "content-security-policy").unwrap().to_string();
        assert!(csp.contains("style-src 'self' https://id.example"), "{csp}");
        let page = body(r).await;
        assert!(
            page.contains("Your account can&#39;t use app.home.example"),
            "{page}"
        );
        assert!(page.contains("bob@example.com"), "{page}");
        assert!(page.contains("https://id.example/static/"), "{page}");
        let switch = format!(
            "{SIGN_IN}{}&amp;prompt=login",
            enc("https://app.home.example/x")
        );
        assert!(page.contains(&switch), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bypass_denial_and_hosts_sesame_cannot_return_to() {
    let (_d, s) = server(true);
    // Bypass: through, nobody asked.
    let r = route(
        &s,
        caddy("app.home.example", "/public/logo.png", "GET", &[]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    for name in [
        "remote-user",
        "remote-groups",
        "remote-email",
        "remote-name",
    ] {
        assert_eq!(header(&r, name), Some(""), "{name}: present and empty");
    }
    // ...and says who it is when someone is signed in.
    let cookie = signed_in(&s, "ada@example.com", &[]);
    let r = route(
        &s,
        caddy(
            "app.home.example",
            "/public/x",
            "GET",
            &[("cookie", &cookie)],
        ),
    )
    .await;
    assert_eq!(header(&r, "remote-user"), Some("ada@example.com"));
    // The path is normalised before it is matched: no bypass by spelling.
    for uri in [
        "/public/../private",
        "/public/%2e%2e/private",
        "/public%2F..%2Fprivate",
    ] {
        let r = route(&s, caddy("app.home.example", uri, "GET", &[])).await;
        assert_eq!(r.status(), StatusCode::FOUND, "{uri}");
    }
    // No rule for the host: closed to everyone, no sign-in offered.
    let r = route(&s, caddy("closed.home.example", "/", "GET", &[])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = body(r).await;
    assert!(page.contains("closed.home.example is closed"), "{page}");
    assert!(!page.contains("prompt=login"), "{page}");
    // A rule covers it, but the cookie domain does not.
    let r = route(&s, caddy("other.example", "/", "GET", &[])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(header(&r, "location").is_none());
    assert!(body(r)
        .await
        .contains("cannot sign you in for other.example"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_identity_headers_and_other_kinds_of_session_do_not_count() {
    let (_d, s) = server(true);
    let forged = [
        ("remote-user", "admin"),
        ("remote-groups", "family"),
        ("remote-email", "admin@example.com"),
    ];
    let r = route(&s, caddy("app.home.example", "/", "GET", &forged)).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    // sesame's own session cookie is not a forward-auth session.
    let u = user(&s.provider, "ada@example.com");
    let own = s
        .provider
        .store
        .write(|tx| session::create(tx, &u.id, T0, 3600))
        .unwrap();
    for name in [FA_COOKIE, "__Host-sesame_session"] {
        let cookie = format!("{name}={own}");
        let r = route(
            &s,
            caddy("app.home.example", "/", "GET", &[("cookie", &cookie)]),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FOUND, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_unparseable_original_url_is_an_error_never_a_pass() {
    let (_d, s) = server(true);
    let cookie = signed_in(&s, "ada@example.com", &["family"]);
    let c = ("cookie", cookie.as_str());
    let mut missing_host = caddy("app.home.example", "/", "GET", &[c]);
    missing_host.headers.remove("x-forwarded-host");
    let mut missing_uri = caddy("app.home.example", "/", "GET", &[c]);
    missing_uri.headers.remove("x-forwarded-uri");
    let cases = [
        (missing_host, "X-Forwarded-Host"),
        (missing_uri, "X-Forwarded-URI"),
        (
            caddy("app.home.example@evil.example", "/", "GET", &[c]),
            "host name",
        ),
        (
            caddy("app.home.example", "no-slash", "GET", &[c]),
            "path starting with /",
        ),
        (
            caddy("app.home.example", "/a%00b", "GET", &[c]),
            "control character",
        ),
        (nginx("", &[c]), "X-Original-URL"),
        (nginx("/relative/only", &[c]), "not usable"),
        (nginx("https://app.home.example:99999/", &[c]), "not usable"),
        (
            nginx("https://user:pw@app.home.example/", &[c]),
            "user name",
        ),
    ];
    for (req, says) in cases {
        let r = route(&s, req).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{says}");
        assert!(header(&r, "remote-user").is_none());
        let text = body(r).await;
        assert!(text.contains(says), "{says}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_forward_auth_off_the_endpoints_say_how_to_turn_it_on() {
    let (_d, s) = server(false);
    for req in [
        caddy("app.home.example", "/", "GET", &[]),
        nginx("https://app.home.example/", &[]),
    ] {
        let r = route(&s, req).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(body(r).await.contains("[forward_auth] cookie_domain"));
    }
    let q = format!("rd={}", enc("https://app.home.example/"));
    let r = route(
        &s,
        Request::synthetic(Method::GET, paths::SIGN_IN, &q, "", HeaderMap::new()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

fn get_sign_in(query: &str, cookie: Option<&str>) -> Request {
    let h = match cookie {
        Some(c) => headers(&[("cookie", c)]),
        None => HeaderMap::new(),
    };
    Request::synthetic(Method::GET, paths::SIGN_IN, query, "", h)
}

/// The cookie a response sets, `name=value`.
fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_for_a_page_runs_the_email_code_pages_and_returns_with_the_cookie() {
    let (_d, s) = server(true);
    user(&s.provider, "ada@example.com");
    let rd = "https://app.home.example/docs?page=2";
    let r = route(&s, get_sign_in(&format!("rd={}", enc(rd)), None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = header(&r, "location").unwrap().to_string();
    assert!(location.starts_with("/sign-in?interaction="), "{location}");
    let interaction_cookie = set_cookie(&r, "__Host-sesame_interaction").unwrap();
    let interaction_cookie = interaction_cookie.split(';').next().unwrap().to_string();
    let id = location.split_once('=').unwrap().1.to_string();

    // The email page names the host it is for.
    let r = route(
        &s,
        get_sign_in(&format!("interaction={id}"), Some(&interaction_cookie)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body(r).await;
    assert!(page.contains("Sign in to app.home.example"), "{page}");

    // A code is sent (recorded here with a known value), and typed.
    let p = &s.provider;
    let email = crate::users::Email::parse("ada@example.com").unwrap();
    let reservation = crate::signin::reserve_code(p, &id, &email, None).unwrap();
    crate::signin::record_code(p, &id, &email, "123456", reservation).unwrap();
    let csrf = p
        .store
        .read(|tx| tx.interaction(&id))
        .unwrap()
        .unwrap()
        .csrf;
    let mut h = headers(&[("cookie", &interaction_cookie)]);
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let form = format!("interaction={id}&csrf={csrf}&code=123456");
    let r = route(
        &s,
        Request::synthetic(Method::POST, paths::SIGN_IN_CODE, "", &form, h),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, "location"), Some(rd));
    let fa = set_cookie(&r, FA_COOKIE).expect("the forward-auth cookie");
    assert!(
        fa.contains("; Domain=home.example; Path=/;")
            && fa.contains("HttpOnly")
            && fa.contains("SameSite=Lax")
            && fa.contains("Secure"),
        "{fa}"
    );
    assert!(set_cookie(&r, "__Host-sesame_session").is_some());
    let value = fa.split(';').next().unwrap().split_once('=').unwrap().1;
    let kind = session::signed_in(p, Some(value), SessionKind::ForwardAuth).unwrap();
    assert!(kind.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_signed_in_to_sesame_gets_the_cookie_without_a_page() {
    let (_d, s) = server(true);
    let u = user(&s.provider, "ada@example.com");
    let own = s
        .provider
        .store
        .write(|tx| session::create(tx, &u.id, T0, 3600))
        .unwrap();
    let cookie = format!("__Host-sesame_session={own}");
    let rd = "https://app.home.example/";
    let q = format!("rd={}", enc(rd));
    let r = route(&s, get_sign_in(&q, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, "location"), Some(rd));
    let fa = set_cookie(&r, FA_COOKIE).unwrap();
    assert!(fa.contains("Max-Age=3600"), "{fa}");
    // "Use another account" always asks.
    let r = route(&s, get_sign_in(&format!("{q}&prompt=login"), Some(&cookie))).await;
    assert!(header(&r, "location")
        .unwrap()
        .starts_with("/sign-in?interaction="));
}

#[tokio::test(flavor = "multi_thread")]
async fn rd_to_anywhere_outside_the_cookie_domain_is_refused_with_a_page() {
    let (_d, s) = server(true);
    for rd in [
        "https://evil.example/",
        "https://app.home.example.evil.example/",
        "https://app.home.example@evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "http://app.home.example/",
    ] {
        let r = route(&s, get_sign_in(&format!("rd={}", enc(rd)), None)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{rd}");
        assert!(
            r.headers().get(LOCATION).is_none(),
            "{rd}: never a redirect"
        );
        assert!(body(r).await.contains("would end elsewhere"), "{rd}");
    }
    let twice = format!(
        "rd={}&rd={}",
        enc("https://app.home.example/"),
        enc("https://evil.example/")
    );
    let r = route(&s, get_sign_in(&twice, None)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_of_sesame_ends_the_forward_auth_session_too() {
    let (_d, s) = server(true);
    let cookie = signed_in(&s, "ada@example.com", &["family"]);
    let value = cookie.split_once('=').unwrap().1.to_string();
    let mut h = headers(&[("cookie", &cookie)]);
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    // Without a sesame session there is nothing to confirm: signed out at once.
    let r = route(
        &s,
        Request::synthetic(Method::GET, paths::END_SESSION, "", "", h),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cleared = set_cookie(&r, FA_COOKIE).expect("the forward-auth cookie is cleared");
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("Domain=home.example"),
        "{cleared}"
    );
    let kind = session::signed_in(&s.provider, Some(&value), SessionKind::ForwardAuth).unwrap();
    assert!(kind.is_none());
}
