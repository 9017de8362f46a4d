//! The console's audit log and API keys end to end: a real `sesame serve`, real SMTP for the
//! codes, a browser-like client on a socket. An administrator creates an API key (shown once,
//! never again), a program uses it against the management API (`Authorization: Bearer`), the
//! audit log finds its changes by kind, user, app and date range, a page of 50 at a time, newest
//! first; revoking the key stops it. Every new form refuses a missing or wrong CSRF token; a
//! non-administrator gets a 403. (A sign-in older than ten minutes asking for a fresh code is
//! tested in-process on a fixed clock: `server::console::fresh::tests`.)
//!
//! Run: `cargo test --test console_audit` (needs python3 with aiosmtpd).

mod support;

use hyper::Method;
use serde_json::json;
use support::flow;
use support::html::{attr, tags};
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Ada, an administrator, signed in to the console in `browser`.
async fn admin_console(sesame: &Sesame, browser: &HttpClient) {
    let out = sesame.cli(&["user", "add", ADA, "--admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = flow::sign_in_at(sesame, browser, "/console", ADA).await;
    assert_eq!(page.status, 200, "{}", page.describe());
}

/// The `href` of the page's link with `rel` (entity-decoded).
fn link(page: &Response, rel: &str) -> Option<String> {
    tags(&page.body, "a")
        .iter()
        .find(|t| attr(t, "rel").as_deref() == Some(rel))
        .and_then(|t| attr(t, "href"))
}

/// How many entries a page of the audit log lists.
fn entries(page: &Response) -> usize {
    page.body.matches("<time>").count()
}

/// A management API request with `key`.
async fn api(
    sesame: &Sesame,
    key: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Response {
    let url = sesame.url(&format!("/api/v1{path}"));
    let bearer = format!("Bearer {key}");
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    HttpClient::new()
        .send(method, &url, &[("authorization", bearer.as_str())], body)
        .await
}

/// The UTC date `days` from today, as the date fields take it.
fn date(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sesame::clock::utc((now + days * 86_400) as u64)[..10].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_makes_an_api_key_shown_once_finds_its_changes_in_the_audit_log_and_revokes_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    admin_console(&sesame, &browser).await;
    let page = browser.get(&sesame.url("/console/api-keys")).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert!(
        page.body.contains("aria-current=\"page\">API keys"),
        "the nav"
    );
    let token = page.expect_input("csrf");

    // Missing and wrong CSRF tokens: 403, no key.
    let url = sesame.url("/console/api-keys");
    let r = browser.post_form(&url, &[("name", "deploy")]).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let r = browser
        .post_form(&url, &[("name", "deploy"), ("csrf", "wrong")])
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    // Refused input: the form again with why, nothing made.
    let r = browser
        .post_form(&url, &[("name", " "), ("csrf", &token)])
        .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\""), "{}", r.describe());
    let r = browser
        .post_form(
            &url,
            &[
                ("name", "deploy"),
                ("expires_in_days", "soon"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(
        r.body.contains("value=\"deploy\""),
        "what was typed is kept"
    );
    let list = browser.get(&url).await;
    assert!(list.body.contains("No API keys yet"), "{}", list.describe());

    // Made (the sign-in is fresh): shown once, on a page that is never stored.
    let r = browser
        .post_form(
            &url,
            &[
                ("name", "deploy"),
                ("expires_in_days", "30"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let shown = browser.follow_within(r, &sesame.issuer).await;
    assert_eq!(shown.status, 200, "{}", shown.describe());
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let key = shown.code_with_id("api-key").expect("the key, shown once");
    assert!(key.starts_with("sesame_"), "{key}");
    let again = browser.get(shown.url.as_str()).await;
    assert!(!again.body.contains(&key), "shown once only");
    assert!(again.body.contains("deploy") && again.body.contains("active"));

    // A program uses it: 55 groups made through the management API.
    let r = api(&sesame, &key, Method::GET, "/users", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for n in 0..55 {
        let body = json!({ "name": format!("team{n:02}") });
        let r = api(&sesame, &key, Method::POST, "/groups", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let app = api(
        &sesame,
        &key,
        Method::POST,
        "/apps",
        Some(json!({"name": "Backup", "type": "machine"})),
    )
    .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let client_id = app.json()["client_id"].as_str().unwrap().to_string();
    // Bob signs in to his account page (his own entries).
    flow::sign_in_at(&sesame, &HttpClient::new(), "/account", BOB).await;

    // By kind: 50 on the first page, newest first, then the other 5.
    let audit = |q: &str| sesame.url(&format!("/console/audit{q}"));
    let first = browser.get(&audit("?kind=group.add")).await;
    assert_eq!(first.status, 200, "{}", first.describe());
    assert!(
        first.body.contains("aria-current=\"page\">Audit log"),
        "the nav"
    );
    assert_eq!(entries(&first), 50);
    assert!(
        first.body.contains("API key “deploy”"),
        "the actor, readable"
    );
    let newest = first.body.find("team54").expect("the newest");
    assert!(newest < first.body.find("team53").unwrap(), "newest first");
    assert!(!first.body.contains("team04"));
    let older = link(&first, "next").expect("an Older entries link");
    assert!(
        older.contains("kind=group.add") && older.contains("before="),
        "{older}"
    );
    let second = browser.get(&sesame.url(&older)).await;
    assert_eq!(entries(&second), 5, "{}", second.describe());
    assert!(second.body.contains("team04") && second.body.contains("team00"));
    assert!(!second.body.contains("team05"));
    assert_eq!(link(&second, "next"), None, "the last page");
    assert!(second.body.contains("Newest entries") && !first.body.contains("Newest entries"));

    // By app, by user, by both.
    let by_app = browser.get(&audit(&format!("?app={client_id}"))).await;
    assert_eq!(entries(&by_app), 1, "{}", by_app.describe());
    assert!(by_app.body.contains("app.create"));
    let by_bob = browser.get(&audit(&format!("?user={BOB}"))).await;
    assert!(
        entries(&by_bob) >= 2,
        "his code and sign-up: {}",
        by_bob.describe()
    );
    assert!(by_bob.body.contains("signed_up"), "{}", by_bob.describe());
    // Ada's address appears once: in the nav's "signed in as", in no entry.
    assert_eq!(by_bob.body.matches(ADA).count(), 1, "{}", by_bob.describe());
    let by_ada = browser
        .get(&audit(&format!("?user={ADA}&kind=sign_in_succeeded")))
        .await;
    assert_eq!(entries(&by_ada), 1, "{}", by_ada.describe());
    assert!(!by_ada.body.contains(BOB));

    // By date (UTC): a range around today has them all; one before or after, none.
    let around = browser
        .get(&audit(&format!(
            "?kind=group.add&from={}&to={}",
            date(-1),
            date(1)
        )))
        .await;
    assert_eq!(entries(&around), 50);
    for q in [format!("?from={}", date(2)), format!("?to={}", date(-2))] {
        let none = browser.get(&audit(&q)).await;
        assert_eq!((none.status, entries(&none)), (200, 0), "{q}");
        assert!(none.body.contains("No entry matches"));
    }
    // The same range's end through the CLI and the API (`until`, not included).
    let count = |v: serde_json::Value| v["entries"].as_array().map(Vec::len);
    let cli = |until: String| {
        let out = sesame.cli(&["audit", "--kind", "group.add", "--until", &until, "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("audit JSON")
    };
    assert_eq!(count(cli(date(1))), Some(50));
    assert_eq!(count(cli(date(-1))), Some(0));
    let q = format!("/audit?kind=group.add&limit=100&until={}", date(1));
    let r = api(&sesame, &key, Method::GET, &q, None).await;
    assert_eq!(count(r.json()), Some(55), "{}", r.body);
    let q = format!("/audit?kind=group.add&until={}", date(-1));
    let r = api(&sesame, &key, Method::GET, &q, None).await;
    assert_eq!(count(r.json()), Some(0), "{}", r.body);
    // Bad filters: a 400 page saying what is wrong, the form kept.
    for (q, says) in [
        ("?from=yesterday", "not a date"),
        ("?kind=nonsense", "unknown audit entry kind"),
        ("?before=x", "does not exist"),
    ] {
        let bad = browser.get(&audit(q)).await;
        assert_eq!(bad.status, 400, "{q}: {}", bad.describe());
        assert!(
            bad.body.contains("role=\"alert\"") && bad.body.contains(says),
            "{q}: {}",
            bad.describe()
        );
    }

    // Revoke: a confirmation, CSRF checked, then the key stops working.
    let list = browser.get(&url).await;
    let revoke_page = tags(&list.body, "a")
        .iter()
        .find_map(|t| attr(t, "href").filter(|h| h.contains("/api-keys/revoke")))
        .expect("a Revoke link");
    let confirm = browser.get(&sesame.url(&revoke_page)).await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    let id = confirm.input_value("id").expect("the key's ID");
    let revoke = sesame.url("/console/api-keys/revoke");
    let r = browser.post_form(&revoke, &[("id", &id)]).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let r = browser
        .post_form(&revoke, &[("id", &id), ("csrf", "wrong")])
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    assert_eq!(
        api(&sesame, &key, Method::GET, "/users", None).await.status,
        200,
        "still live"
    );
    let r = browser
        .post_form(
            &revoke,
            &[("id", &id), ("csrf", &confirm.expect_input("csrf"))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let after = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        after.body.contains("The API key is revoked"),
        "{}",
        after.describe()
    );
    assert!(after.body.contains("revoked"));
    assert_eq!(
        api(&sesame, &key, Method::GET, "/users", None).await.status,
        401
    );
    let log = browser.get(&audit("?kind=api-key.revoke")).await;
    assert_eq!(entries(&log), 1);
    assert!(
        log.body.contains(&format!("admin {ADA}")),
        "{}",
        log.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_gets_a_403_on_the_audit_log_and_api_keys() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = flow::sign_in_at(&sesame, &browser, "/console", BOB).await;
    assert_eq!(page.status, 403, "{}", page.describe());
    for path in [
        "/console/audit",
        "/console/api-keys",
        "/console/api-keys/revoke?id=x",
    ] {
        let r = browser.get(&sesame.url(path)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.describe());
    }
    let r = browser
        .post_form(&sesame.url("/console/api-keys"), &[("name", "x")])
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let out = sesame.cli(&["api-key", "list", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "no key made"
    );
}
