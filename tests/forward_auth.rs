//! Forward-auth with real parts: sesame (issuer `http://auth.home.localhost:PORT`, cookie domain
//! `home.localhost`) behind real Caddy (`forward_auth`) and real nginx (`auth_request`), each
//! started here on a free port with README's configuration, in front of an upstream that
//! echoes the headers it gets. Headless Chromium does the whole round trip: not signed in →
//! sesame's sign-in (the code from the real SMTP server) → back at the original URL with the
//! identity headers. The HTTP-level tests send `Host` headers to 127.0.0.1 themselves.
//!
//! Needs Debian's `caddy`, `nginx`, `chromium` and `chromium-driver` (`.ci/run` installs them);
//! a missing one fails its test with the install command.
//!
//! Run: `cargo test --test forward_auth`.

mod support;

use support::flow;
use support::html::find_form_with;
use support::http::{HttpClient, Response};
use support::proxy::{Kind, Proxy, Upstream};
use support::webdriver::ChromeDriver;
use support::{Sesame, SesameOpts};

const ISSUER_HOST: &str = "auth.home.localhost";
const COOKIE_DOMAIN: &str = "home.localhost";
/// Behind Caddy.
const APP: &str = "app.home.localhost";
/// Behind nginx.
const MEDIA: &str = "media.home.localhost";
const FA_COOKIE: &str = "sesame_forward_auth";
/// In `family`.
const ADA: &str = "ada@example.com";
/// In no group.
const BOB: &str = "bob@example.com";

/// `/public/` is open everywhere; `/admin/` on the app is for admins and refused to the rest;
/// everything else is for the family.
const RULES: &str = r#"[
    {"domain": "*.home.localhost", "resources": ["^/public/"], "policy": "bypass"},
    {"domain": "app.home.localhost", "resources": ["^/admin/"], "policy": "allow", "groups": ["admins"]},
    {"domain": "app.home.localhost", "resources": ["^/admin/"], "policy": "deny"},
    {"domain": "*.home.localhost", "policy": "allow", "groups": ["family"]}
]"#;

fn env() -> Vec<(String, String)> {
    [
        ("SESAME_FORWARD_AUTH_COOKIE_DOMAIN", COOKIE_DOMAIN),
        ("SESAME_ACCESS", RULES),
        ("SESAME_SIGN_UP_MODE", "invite"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// sesame at `http://auth.home.localhost:PORT`, with Ada (family) and Bob (no group).
fn start_sesame() -> Sesame {
    let sesame = Sesame::start(SesameOpts {
        issuer_host: Some(ISSUER_HOST.into()),
        env: env(),
        ..Default::default()
    });
    for args in [
        &["group", "add", "family"][..],
        &[
            "user",
            "add",
            ADA,
            "--group",
            "family",
            "--name",
            "Ada Lovelace",
        ],
        &["user", "add", BOB],
    ] {
        let out = sesame.cli(args);
        assert!(
            out.status.success(),
            "sesame {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    sesame
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A request to a proxy on 127.0.0.1 for `host` (no name resolution needed).
async fn via(
    proxy: &Proxy,
    host: &str,
    method: hyper::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let host_header = format!("{host}:{}", proxy.port);
    send_as(proxy, &host_header, method, path, headers).await
}

/// A request to a proxy with this `Host` header, as it is.
async fn send_as(
    proxy: &Proxy,
    host_header: &str,
    method: hyper::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut all = vec![("host", host_header)];
    all.extend_from_slice(headers);
    // A fresh client each time: no cookie jar, only the cookies a test passes.
    let url = format!("http://127.0.0.1:{}{path}", proxy.port);
    HttpClient::new().send(method, &url, &all, None).await
}

async fn get(proxy: &Proxy, host: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    via(proxy, host, hyper::Method::GET, path, headers).await
}

/// Signs `email` in over HTTP for a page (`rd`), as a browser would: sesame's `/sign-in?rd=`,
/// the email page, the code from the mail, the code page. Returns the forward-auth cookie as
/// `name=value` and the browser (holding sesame's own cookies).
async fn sign_in_for(sesame: &Sesame, rd: &str, email: &str) -> (String, HttpClient) {
    let browser = HttpClient::new();
    let base = sesame.local_url("");
    let start = sesame.local_url(&format!("/sign-in?rd={}", enc(rd)));
    let page = browser.get_following(&start, &base).await;
    flow::assert_email_page(&page);
    assert!(
        page.body.contains(&format!(
            "Sign in to {}",
            url::Url::parse(rd).unwrap().host_str().unwrap()
        )),
        "{}",
        page.describe()
    );
    let sent = flow::submit_form(&browser, &page, "email", &[("email", email)], None).await;
    let code_page = browser.follow_within(sent, &base).await;
    flow::assert_code_page(&code_page);
    let code = sesame.next_code_for(email).await;
    let answer = flow::submit_code(&browser, &code_page, &code).await;
    assert_eq!(answer.status, 303, "{}", answer.describe());
    assert_eq!(answer.header("location"), Some(rd));
    let set = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(FA_COOKIE))
        .unwrap_or_else(|| panic!("no forward-auth cookie: {}", answer.describe()))
        .to_string();
    assert!(
        set.contains(&format!("Domain={COOKIE_DOMAIN}"))
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "an http issuer sets no Secure: {set}"
    );
    (set.split(';').next().unwrap().to_string(), browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_caddy_and_comes_back_with_the_identity_headers() {
    let sesame = start_sesame();
    let upstream = Upstream::start().await;
    let caddy = Proxy::start(Kind::Caddy, APP, sesame.port, upstream.port);
    let nginx = Proxy::start(Kind::Nginx, MEDIA, sesame.port, upstream.port);

    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;
    let original = caddy.url(APP, "/shows/42?season=2");
    browser.goto(&original).await;

    // Not signed in: Caddy passes on sesame's redirect to its sign-in, for this host.
    let email = browser.find("input[type=email][name=email]").await;
    let at = browser.current_url().await;
    assert!(
        at.starts_with(&format!(
            "http://{ISSUER_HOST}:{}/sign-in?interaction=",
            sesame.port
        )),
        "{at}"
    );
    assert!(browser
        .source()
        .await
        .contains(&format!("Sign in to {APP}")));
    browser.send_keys(&email, ADA).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser
        .wait_for_url("the code page", |u| u.contains("/sign-in/code"))
        .await;
    let code_input = browser.find("input[name=code]").await;
    let code = sesame.next_code_for(ADA).await;
    browser.send_keys(&code_input, &code).await;
    browser
        .click(
            &browser
                .find("form button[type=submit]:not([name=resend])")
                .await,
        )
        .await;

    // Back at the original URL, and the app saw who it is.
    let landed = browser
        .wait_for_url("the original URL", |u| u == original)
        .await;
    assert_eq!(landed, original);
    let page = browser.source().await;
    for line in [
        "GET /shows/42?season=2",
        "Remote-User: ada@example.com",
        "Remote-Groups: family",
        "Remote-Email: ada@example.com",
        "Remote-Name: Ada Lovelace",
    ] {
        assert!(page.contains(line), "{line} not in:\n{page}");
    }

    // One sign-in covers every host under the cookie domain: nginx's host, no page.
    let media = nginx.url(MEDIA, "/library");
    browser.goto(&media).await;
    let landed = browser.wait_for_url("the media host", |u| u == media).await;
    assert_eq!(landed, media);
    let page = browser.source().await;
    assert!(page.contains("Remote-User: ada@example.com"), "{page}");
    assert_eq!(sesame.smtp.message_count(), 1, "no second code");

    // Signed in, but not allowed: the refusal page, through the proxy, with a way out.
    browser.goto(&caddy.url(APP, "/admin/users")).await;
    let title = browser.title().await;
    assert!(
        title.starts_with(&format!("Your account can't use {APP}")),
        "{title}"
    );
    let switch = browser.find("a.button").await;
    let href = browser.attribute(&switch, "href").await.unwrap_or_default();
    assert!(href.contains("prompt=login"), "{href}");
    browser.click(&switch).await;
    browser.find("input[type=email][name=email]").await;

    browser.quit().await;
    let seen = upstream.seen();
    assert!(
        seen.iter().all(|s| !s.target.starts_with("/admin/")),
        "a refused request reached the app: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_and_nginx_carry_every_answer_and_drop_forged_identity_headers() {
    let sesame = start_sesame();
    let upstream = Upstream::start().await;
    let caddy = Proxy::start(Kind::Caddy, APP, sesame.port, upstream.port);
    let nginx = Proxy::start(Kind::Nginx, MEDIA, sesame.port, upstream.port);
    let (ada, _) = sign_in_for(&sesame, &caddy.url(APP, "/"), ADA).await;
    let (bob, _) = sign_in_for(&sesame, &nginx.url(MEDIA, "/"), BOB).await;
    let sign_in = format!("http://{ISSUER_HOST}:{}/sign-in?rd=", sesame.port);

    for (proxy, host) in [(&caddy, APP), (&nginx, MEDIA)] {
        let kind = proxy.kind;
        let before = upstream.seen().len();

        // Not signed in: to sesame's sign-in, with the original URL.
        let r = get(proxy, host, "/family/photos?page=3", &[]).await;
        assert_eq!(r.status, 302, "{kind:?}: {}", r.describe());
        let want = format!(
            "{sign_in}{}",
            enc(&proxy.url(host, "/family/photos?page=3"))
        );
        assert_eq!(r.header("location"), Some(want.as_str()), "{kind:?}");
        // A form post: 303 from Caddy (the browser then GETs the sign-in); nginx's
        // error_page makes every such answer a 302.
        let r = via(proxy, host, hyper::Method::POST, "/family/upload", &[]).await;
        let want = if kind == Kind::Caddy { 303 } else { 302 };
        assert_eq!(r.status, want, "{kind:?}: {}", r.describe());

        // A bypass path: through without a sign-in, and a forged identity does not get through.
        let forged = [("remote-user", "admin"), ("remote-groups", "admins")];
        let r = get(proxy, host, "/public/logo.svg", &forged).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.describe());
        let seen = upstream.seen().pop().unwrap();
        assert_eq!(seen.target, "/public/logo.svg");
        for name in ["remote-user", "remote-groups"] {
            assert!(
                seen.header(name).iter().all(|v| v.is_empty()),
                "{kind:?}: {name} reached the app: {seen:?}"
            );
        }

        // Signed in and in the group: through, with who it is, and nothing forged.
        let cookie = ("cookie", ada.as_str());
        let r = get(
            proxy,
            host,
            "/family/photos",
            &[cookie, ("remote-user", "admin")],
        )
        .await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.describe());
        let seen = upstream.seen().pop().unwrap();
        assert_eq!(seen.header("remote-user"), ["ada@example.com"], "{kind:?}");
        assert_eq!(seen.header("remote-groups"), ["family"], "{kind:?}");
        assert_eq!(seen.header("remote-email"), ["ada@example.com"], "{kind:?}");
        assert_eq!(seen.header("remote-name"), ["Ada Lovelace"], "{kind:?}");

        // Signed in, in the wrong group (none): 403 and sesame's page.
        let r = get(proxy, host, "/family/photos", &[("cookie", &bob)]).await;
        assert_eq!(r.status, 403, "{kind:?}: {}", r.describe());
        assert!(
            r.body
                .contains(&format!("Your account can&#39;t use {host}")),
            "{kind:?}: {}",
            r.describe()
        );
        assert!(r.body.contains("prompt=login"), "{kind:?}");

        // A host the original URL cannot be made of (port out of range): never through.
        let bad_host = format!("{host}:99999");
        let r = send_as(
            proxy,
            &bad_host,
            hyper::Method::GET,
            "/family/photos",
            &[cookie],
        )
        .await;
        assert_ne!(r.status, 200, "{kind:?}: {}", r.describe());

        let reached: Vec<String> = upstream.seen()[before..]
            .iter()
            .map(|s| s.target.clone())
            .collect();
        assert_eq!(reached, ["/public/logo.svg", "/family/photos"], "{kind:?}");
    }
    // Ada may not see the app's admin pages either.
    let r = get(&caddy, APP, "/admin/", &[("cookie", &ada)]).await;
    assert_eq!(r.status, 403);
    // A path sesame cannot read (a control character) is refused, never let through.
    let r = get(&caddy, APP, "/public/a%00b", &[]).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(r.body.contains("control character"), "{}", r.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sesame_refuses_a_missing_original_url_and_an_rd_to_another_host() {
    let sesame = start_sesame();
    let http = HttpClient::new();
    let r = http.get(&sesame.local_url("/api/authz/forward-auth")).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(r.body.contains("X-Forwarded-Proto"), "{}", r.describe());
    let r = http
        .get_with(
            &sesame.local_url("/api/authz/auth-request"),
            &[("x-original-url", "not a url")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.describe());

    for rd in [
        "http://evil.example/",
        "http://app.home.localhost.evil.example/",
        "http://app.home.localhost@evil.example/",
        "http://localhost/",
        "//evil.example/",
    ] {
        let r = http
            .get(&sesame.local_url(&format!("/sign-in?rd={}", enc(rd))))
            .await;
        assert_eq!(r.status, 400, "{rd}: {}", r.describe());
        assert!(r.header("location").is_none(), "{rd}: an open redirect");
        assert!(r.body.contains("This sign-in would end elsewhere"), "{rd}");
    }
    assert_eq!(sesame.smtp.message_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_of_sesame_signs_out_of_forward_auth() {
    let sesame = start_sesame();
    let upstream = Upstream::start().await;
    let caddy = Proxy::start(Kind::Caddy, APP, sesame.port, upstream.port);
    let (ada, browser) = sign_in_for(&sesame, &caddy.url(APP, "/"), ADA).await;
    assert_eq!(get(&caddy, APP, "/", &[("cookie", &ada)]).await.status, 200);

    // The browser has both cookies (the forward-auth one goes to sesame's host too); sign out
    // and confirm.
    let page = browser.get(&sesame.local_url("/session/end")).await;
    let form = find_form_with(&page.body, "confirm").expect("the sign-out confirmation");
    assert!(form.method.eq_ignore_ascii_case("post"));
    let answer = flow::submit_form(&browser, &page, "confirm", &[], None).await;
    let cleared = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with(&format!("{FA_COOKIE}=;")) && c.contains("Max-Age=0"));
    assert!(cleared, "{}", answer.describe());
    let r = get(&caddy, APP, "/", &[("cookie", &ada)]).await;
    assert_eq!(
        r.status,
        302,
        "the old cookie no longer works: {}",
        r.describe()
    );
}

#[test]
fn sesame_access_check_explains_a_url_with_the_server_running_and_stopped() {
    let mut sesame = start_sesame();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sesame.toml");
    let rules: Vec<serde_json::Value> = serde_json::from_str(RULES).unwrap();
    let mut toml = format!(
        "issuer = \"http://{ISSUER_HOST}:8080\"\n[forward_auth]\ncookie_domain = \"{COOKIE_DOMAIN}\"\n"
    );
    for r in &rules {
        toml.push_str("\n[[access]]\n");
        for (k, v) in r.as_object().unwrap() {
            toml.push_str(&format!("{k} = {v}\n"));
        }
    }
    std::fs::write(&config, toml).unwrap();
    let config = config.to_str().unwrap();
    let check = |sesame: &Sesame, args: &[&str]| {
        let mut all = vec!["access", "check", "--config", config];
        all.extend_from_slice(args);
        let out = sesame.cli(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    let running = check(
        &sesame,
        &["http://app.home.localhost/admin/users", "--user", ADA],
    );
    for line in [
        "  host app.home.localhost, path /admin/users (as the rules see it)",
        "  as ada@example.com (groups: family)",
        "  access[0] does not match: none of its resources matches /admin/users",
        "  access[1] does not match: the user is none of its users and in none of its groups",
        "  access[2] matches: domain app.home.localhost, path matches \"^/admin/\", anyone; policy deny",
        "=> refused (access[2], deny): 403",
    ] {
        assert!(running.contains(line), "{line:?} not in:\n{running}");
    }
    let anonymous = check(&sesame, &["http://media.home.localhost/public/%2e%2e/x"]);
    assert!(anonymous.contains("path /x"), "{anonymous}");
    assert!(
        anonymous.contains("=> sign in first (access[3]"),
        "{anonymous}"
    );

    sesame.stop();
    let stopped = check(
        &sesame,
        &["http://app.home.localhost/admin/users", "--user", ADA],
    );
    assert_eq!(stopped, running, "the same answer with the server stopped");
    let out = sesame.cli(&["access", "check", "--config", config, "not-a-url"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not usable"));
}
