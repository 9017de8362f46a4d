//! Every page sesame shows a person, checked the same way: a real `sesame serve`, an
//! administrator signed in, real headless Chromium.
//!
//! - Each page at desktop (1280×800) and phone (390×844) size, light, and desktop in dark mode
//!   (`prefers-color-scheme: dark`): a screenshot PNG saved as a test artefact, and axe-core
//!   (from npm, `tests/clients_js`) run in the page; any violation of impact "serious" or
//!   "critical" fails the test, every one printed; so does a form field's border under 3:1
//!   against its background (WCAG 1.4.11, which axe does not check). The checker is
//!   `support/a11y.rs`.
//! - With JavaScript turned off in Chromium, an administrator creates an app and adds a user.
//! - Every `<form method=post>` on the console and account pages, found in the pages' own HTML,
//!   refuses a missing and a wrong CSRF token: 403, and nothing changes (the audit log, where
//!   every change is written, stays as it was).
//! - Every page carries the strict headers: a CSP without inline or eval'd script and with
//!   `frame-ancestors 'none'`, `Referrer-Policy: no-referrer`; the console and account pages
//!   (which show secrets and personal data) `Cache-Control: no-store`.
//!
//! **Adding a page**: one line in [`SIGNED_IN_PAGES`] (an administrator's browser) or
//! [`PUBLIC_PAGES`] (a browser without a session); the placeholders `{app}`, `{user}`,
//! `{group}` and `{authorize}` stand for fixtures every test creates (see [`Fixtures`]). Every
//! check above then covers it, its forms included.
//!
//! Screenshots go to `$SESAME_ARTEFACTS/screenshots/<page>-<size>.png`, by default
//! `target/artefacts/screenshots/` (never the source tree).
//!
//! Run: `cargo test --test pages` (needs chromium + chromium-driver, Node.js + npm, python3 with
//! aiosmtpd; `.ci/run` installs them).

mod support;

use serde_json::Value;
use support::a11y::Checker;
use support::flow;
use support::http::{HttpClient, Response};
use support::webdriver::{Browser, ChromeDriver};
use support::{AppSpec, Sesame};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const APP_REDIRECT: &str = "https://photos.example.com/auth/login";

/// Pages an administrator's browser opens, by name (the screenshot's) and path.
const SIGNED_IN_PAGES: &[(&str, &str)] = &[
    ("home-signed-in", "/"),
    ("account", "/account"),
    // (`/account/recovery-codes` shows its codes once, so it cannot be opened at three sizes:
    // tests/totp.rs checks it.)
    ("account-totp", "/account/totp"),
    ("console-apps", "/console/apps"),
    ("console-app", "/console/apps/show?id={app}"),
    ("console-app-delete", "/console/apps/delete?id={app}"),
    ("console-users", "/console/users"),
    ("console-users-search", "/console/users?q=bob"),
    ("console-users-in-group", "/console/users?group={group}"),
    ("console-user", "/console/users/show?id={user}"),
    ("console-user-delete", "/console/users/delete?id={user}"),
    ("console-groups", "/console/groups"),
    ("console-group", "/console/groups/show?name={group}"),
    (
        "console-group-delete",
        "/console/groups/delete?name={group}",
    ),
    ("console-apis", "/console/apis"),
    (
        "console-api-delete",
        "/console/apis/delete?indicator=https%3A%2F%2Fapi.home.test%2F",
    ),
    ("console-experience", "/console/experience"),
    ("console-mail", "/console/mail"),
    ("console-keys", "/console/keys"),
    ("console-keys-rotate", "/console/keys/rotate?alg=ES256"),
    ("console-audit", "/console/audit"),
    (
        "console-audit-filtered",
        "/console/audit?kind=app.create&app={app}",
    ),
    ("console-api-keys", "/console/api-keys"),
    ("select-account", "/auth?{authorize}&prompt=select_account"),
    ("logout-confirm", "/session/end"),
    ("device", "/device"),
];

/// Pages a browser without a session opens.
const PUBLIC_PAGES: &[(&str, &str)] = &[
    ("home", "/"),
    ("sign-in-email", "/auth?{authorize}"),
    (
        "error-unknown-app",
        "/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fx.example%2Fcb",
    ),
    ("error-setup-link", "/setup?token=wrong"),
];

/// What the pages' placeholders stand for: made with the CLI before the pages are opened.
struct Fixtures {
    /// A registered app's client ID (`{app}`).
    app: String,
    /// Bob's user ID (`{user}`); Bob is a member of `{group}`.
    user: String,
    /// A group's name (`{group}`).
    group: String,
    /// An authorization request's query for the app (`{authorize}`), PKCE included.
    authorize: String,
}

impl Fixtures {
    async fn create(sesame: &Sesame) -> Fixtures {
        cli_ok(sesame, &["user", "add", ADA, "--admin"]);
        cli_ok(sesame, &["group", "add", "family"]);
        cli_ok(
            sesame,
            &[
                "user",
                "add",
                BOB,
                "--name",
                "Bob Builder",
                "--group",
                "family",
            ],
        );
        cli_ok(
            sesame,
            &[
                "api",
                "create",
                "https://api.home.test/",
                "--name",
                "Home API",
                "--scope",
                "read=Read the photos",
                "--scope",
                "write",
            ],
        );
        let shown = cli_ok(sesame, &["user", "show", BOB, "--json"]);
        let bob: Value = serde_json::from_str(&shown).expect("user show --json");
        let app = sesame.create_app(&AppSpec::new("Immich", APP_REDIRECT));
        let meta = flow::discover(&sesame.issuer).await;
        let client = flow::client(&meta, &app);
        // Ada has used the app (the account page lists it, with its revoke form).
        let ada = HttpClient::new();
        flow::full_sign_in(sesame, &ada, &client, &app, ADA).await;
        let start = flow::authorize(&client, flow::SCOPES, true, None);
        Fixtures {
            app: app.client_id.clone(),
            user: bob["id"].as_str().expect("user id").to_string(),
            group: "family".to_string(),
            authorize: start.url.query().unwrap_or_default().to_string(),
        }
    }

    /// `path` with its placeholders filled.
    fn fill(&self, path: &str) -> String {
        path.replace("{app}", &self.app)
            .replace("{user}", &self.user)
            .replace("{group}", &self.group)
            .replace("{authorize}", &self.authorize)
    }
}

fn cli_ok(sesame: &Sesame, args: &[&str]) -> String {
    let out = sesame.cli(args);
    assert!(
        out.status.success(),
        "sesame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
/// Signs in through the real pages in Chromium, starting at `path`: types `email`, reads the
/// code from the mail, types it; waits until the browser is back at `path`. With a checker, the
/// email and code pages are checked on the way.
async fn sign_in_in_chromium(
    sesame: &Sesame,
    browser: &Browser,
    path: &str,
    email: &str,
    mut checker: Option<&mut Checker>,
) {
    browser.goto(&sesame.url(path)).await;
    let field = browser.find("input[type=email][name=email]").await;
    if let Some(c) = checker.as_deref_mut() {
        c.check(browser, "sign-in-email-from-console").await;
    }
    browser.send_keys(&field, email).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser
        .wait_for_url("the code page", |url| url.contains("/sign-in/code"))
        .await;
    let field = browser.find("input[name=code]").await;
    if let Some(c) = checker {
        c.check(browser, "sign-in-code").await;
    }
    let code = sesame.next_code_for(email).await;
    browser.send_keys(&field, &code).await;
    let submit = browser
        .find("form button[type=submit]:not([name=resend])")
        .await;
    browser.click(&submit).await;
    let back = sesame.url(path);
    browser
        .wait_for_url(path, |url| url.starts_with(&back))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_core_at_desktop_and_phone_size_and_is_screenshotted() {
    let sesame = Sesame::start_default();
    let fixtures = Fixtures::create(&sesame).await;
    let mut checker = Checker::load();
    let driver = ChromeDriver::start();
    let browser = driver.new_session().await;

    sign_in_in_chromium(&sesame, &browser, "/console", ADA, Some(&mut checker)).await;
    // Ada has started setting up an authenticator app (the setup page shows it).
    browser.goto(&sesame.url("/account")).await;
    browser
        .click(&browser.find("form[action$='/totp/begin'] button").await)
        .await;
    browser.find("svg.qr").await;
    for (name, path) in SIGNED_IN_PAGES {
        let url = sesame.url(&fixtures.fill(path));
        checker.check_at(&browser, name, &url).await;
    }
    // Signing out: the confirmation's button, then the signed-out page.
    browser.goto(&sesame.url("/session/end")).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser.find("h1").await;
    checker.check(&browser, "signed-out").await;
    // Now without a session.
    for (name, path) in PUBLIC_PAGES {
        let url = sesame.url(&fixtures.fill(path));
        checker.check_at(&browser, name, &url).await;
    }
    browser.quit().await;
    checker.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_an_admin_creates_an_app_and_adds_a_user() {
    let sesame = Sesame::start_default();
    cli_ok(&sesame, &["user", "add", ADA, "--admin"]);
    let driver = ChromeDriver::start();
    let browser = driver.new_session_without_javascript().await;
    // JavaScript is really off: this page's script would change its title.
    browser
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await;
    assert_eq!(browser.title().await, "off", "JavaScript is not turned off");

    sign_in_in_chromium(&sesame, &browser, "/console", ADA, None).await;
    browser.goto(&sesame.url("/console/apps")).await;
    browser
        .send_keys(&browser.find("#app-name").await, "Immich")
        .await;
    browser
        .click(&browser.find("input[name=type][value=traditional]").await)
        .await;
    browser
        .send_keys(&browser.find("#redirect-uris").await, APP_REDIRECT)
        .await;
    browser
        .click(
            &browser
                .find("form[action$='/console/apps'] button[type=submit]")
                .await,
        )
        .await;
    browser
        .wait_for_url("the new app's page", |url| {
            url.contains("/console/apps/show")
        })
        .await;
    let secret = browser.find("#client-secret").await;
    assert!(browser.displayed(&secret).await, "the secret is shown");
    let client_id = browser
        .property(&browser.find("#client-id").await, "textContent")
        .await;
    let client_id = client_id.as_str().expect("client ID text");
    let app: Value = serde_json::from_str(&cli_ok(&sesame, &["app", "show", client_id, "--json"]))
        .expect("app show --json");
    assert_eq!(app["name"], "Immich", "{app}");

    browser.goto(&sesame.url("/console/users")).await;
    browser.send_keys(&browser.find("#email").await, BOB).await;
    browser
        .send_keys(&browser.find("#name").await, "Bob Builder")
        .await;
    browser
        .click(
            &browser
                .find("form[method=post][action$='/console/users'] button[type=submit]")
                .await,
        )
        .await;
    browser
        .wait_for_url("the users page after adding", |url| {
            url.contains("notice=user_added")
        })
        .await;
    let bob: Value = serde_json::from_str(&cli_ok(&sesame, &["user", "show", BOB, "--json"]))
        .expect("user show --json");
    assert_eq!(bob["name"], "Bob Builder", "{bob}");
    browser.quit().await;
}

// ---------------------------------------------------------------------------------------------
// Over plain HTTP: CSRF on every form, headers on every page

/// An administrator's HTTP client, signed in through the pages.
async fn admin_client(sesame: &Sesame) -> HttpClient {
    let browser = HttpClient::new();
    flow::sign_in_at(sesame, &browser, "/console", ADA).await;
    // Ada has started setting up an authenticator app (the setup page shows it).
    let account = browser.get(&sesame.url("/account")).await;
    let csrf = account.expect_input("csrf");
    let begun = browser
        .post_form(&sesame.url("/account/totp/begin"), &[("csrf", &csrf)])
        .await;
    assert_eq!(begun.status, 303, "{}", begun.describe());
    browser
}

/// How many entries the audit log has: every change sesame makes is one.
fn audit_entries(sesame: &Sesame) -> usize {
    let out = cli_ok(sesame, &["audit", "--json", "--limit", "1000"]);
    let log: Value = serde_json::from_str(&out).expect("audit --json");
    log["entries"].as_array().map(Vec::len).unwrap_or(0)
}

/// A post form a page shows, to a URL that must check the CSRF token.
struct GuardedForm {
    /// The page's name in the list.
    page: &'static str,
    target: url::Url,
    /// Its fields and first button, without `csrf`.
    fields: Vec<(String, String)>,
}

/// Whether a form's action (resolved against its page) is one of the console's or the account
/// page's: the forms that must carry a CSRF token.
fn csrf_guarded(page: &Response, action: Option<&str>) -> Option<url::Url> {
    let target = match action {
        Some(a) if !a.is_empty() => page.url.join(a).ok()?,
        _ => page.url.clone(),
    };
    let path = target.path();
    let guarded = ["/console", "/account"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    guarded.then_some(target)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_console_and_account_form_refuses_a_missing_or_wrong_csrf_token() {
    let sesame = Sesame::start_default();
    let fixtures = Fixtures::create(&sesame).await;
    let admin = admin_client(&sesame).await;
    // Every guarded form on every page, found before anything is posted.
    let mut forms: Vec<GuardedForm> = Vec::new();
    for (name, path) in SIGNED_IN_PAGES {
        let page = admin
            .get_following(&sesame.url(&fixtures.fill(path)), &sesame.issuer)
            .await;
        assert_eq!(page.status, 200, "{name}: {}", page.describe());
        for form in support::html::forms(&page.body) {
            if !form.method.eq_ignore_ascii_case("post") {
                continue;
            }
            let Some(target) = csrf_guarded(&page, form.action.as_deref()) else {
                continue;
            };
            assert!(
                form.fields.iter().any(|(n, _)| n == "csrf"),
                "{name}: a form to {target} has no csrf field:\n{}",
                form.html
            );
            let mut fields: Vec<(String, String)> = form
                .fields
                .iter()
                .filter(|(n, _)| n != "csrf")
                .cloned()
                .collect();
            fields.extend(form.buttons.iter().take(1).cloned());
            forms.push(GuardedForm {
                page: name,
                target,
                fields,
            });
        }
    }
    let before = audit_entries(&sesame);
    let mut checked = Vec::new();
    for GuardedForm {
        page: name,
        target,
        fields,
    } in &forms
    {
        for csrf in [None, Some("wrong"), Some("")] {
            let mut sent: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(token) = csrf {
                sent.push(("csrf", token));
            }
            let r = admin.post_form(target.as_str(), &sent).await;
            assert_eq!(
                r.status,
                403,
                "{name}: the form to {target} with csrf {csrf:?} was not refused: {}",
                r.describe()
            );
        }
        checked.push(format!("{name}: {}", target.path()));
    }
    println!("forms checked:\n  {}", checked.join("\n  "));
    assert!(
        checked.len() >= 8,
        "the pages should have had more forms: {checked:?}"
    );
    assert_eq!(
        audit_entries(&sesame),
        before,
        "a refused form changed something"
    );
    // The administrator's session still works, and nothing they own was touched.
    let apps = admin.get(&sesame.url("/console/apps")).await;
    assert!(apps.body.contains(&fixtures.app), "{}", apps.describe());
    cli_ok(&sesame, &["user", "show", BOB]);
}

/// The headers every page must carry; `private` pages also `no-store`.
fn assert_headers(name: &str, page: &Response, private: bool) {
    let what = format!("{name} ({})", page.url);
    assert!(
        page.content_type().starts_with("text/html"),
        "{what} is not an HTML page: {}",
        page.describe()
    );
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what} has no Content-Security-Policy"));
    let directive = |d: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|part| part.split_whitespace().next() == Some(d))
            .map(str::to_string)
    };
    let scripts = directive("script-src")
        .or_else(|| directive("default-src"))
        .unwrap_or_else(|| panic!("{what}: the CSP governs no script: {csp}"));
    assert!(
        !scripts.contains("'unsafe-inline'") && !scripts.contains("'unsafe-eval'"),
        "{what}: scripts may be inline or eval'd: {csp}"
    );
    assert_eq!(
        directive("frame-ancestors").as_deref(),
        Some("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
    assert_eq!(
        page.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    if private {
        assert_eq!(page.header("cache-control"), Some("no-store"), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_carries_the_strict_headers() {
    let sesame = Sesame::start_default();
    let fixtures = Fixtures::create(&sesame).await;
    let admin = admin_client(&sesame).await;
    for (name, path) in SIGNED_IN_PAGES {
        let page = admin
            .get_following(&sesame.url(&fixtures.fill(path)), &sesame.issuer)
            .await;
        let private = ["/console", "/account"].iter().any(|p| path.starts_with(p));
        assert_headers(name, &page, private);
    }
    let anonymous = HttpClient::new();
    for (name, path) in PUBLIC_PAGES {
        let page = anonymous
            .get_following(&sesame.url(&fixtures.fill(path)), &sesame.issuer)
            .await;
        assert_headers(name, &page, false);
    }
}
