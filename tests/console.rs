//! The console end to end: a real `sesame serve`, a real SMTP server receiving the codes, and
//! a browser-like client on a socket. Without a session `/console` signs in first and comes
//! back; a non-admin gets a 403; an administrator (made with `sesame user add --admin`)
//! creates an app through the form, sees its secret once, rotates it, and the app then signs
//! someone in; restricts it to a group and sees that person refused; deletes it after a
//! confirmation; adds, finds, signs out, disables and enables a user. Refused input shows the form again
//! with the reason; an administrator cannot disable themselves. Every form
//! refuses a missing or wrong CSRF token; the pages carry the strict headers; the audit log
//! names the administrator for each change. `console/users_groups.rs`: a user's page (edit,
//! sign out, delete) and groups (create, edit, members, an app restricted to one, delete).
//! `console/apis.rs`: APIs (register, delete) and a group's API scopes, ending in a JWT.
//!
//! Run: `cargo test --test console` (needs python3 with aiosmtpd).

#[path = "console/apis.rs"]
mod apis;
#[path = "console/second_factor.rs"]
mod second_factor;
mod support;
#[path = "console/users_groups.rs"]
mod users_groups;

use support::flow;
use support::http::{HttpClient, Response};
use support::Sesame;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Opens `/console` without a session, signs in as `email` with the mailed code, and returns
/// the page the sign-in comes back to (through `/console`).
async fn sign_in_to_console(sesame: &Sesame, browser: &HttpClient, email: &str) -> Response {
    flow::sign_in_at(sesame, browser, "/console", email).await
}

/// An administrator signed in to the console, on its apps page.
async fn admin_console(sesame: &Sesame, browser: &HttpClient) -> Response {
    let out = sesame.cli(&["user", "add", ADA, "--admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = sign_in_to_console(sesame, browser, ADA).await;
    assert!(
        page.status == 200 && page.body.contains("<h1>Apps</h1>"),
        "{}",
        page.describe()
    );
    page
}

fn assert_strict_headers(page: &Response) {
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(!page.body.contains("<script"), "no script on the page");
}

async fn post(
    sesame: &Sesame,
    browser: &HttpClient,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    browser.post_form(&sesame.url(path), form).await
}

fn audit_log(sesame: &Sesame) -> String {
    let out = sesame.cli(&["audit", "--json"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the audit log has an entry of `command` whose actor is the administrator `email`.
fn assert_audited_as_admin(sesame: &Sesame, command: &str, email: &str) {
    let out = sesame.cli(&["audit", "--kind", command, "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("audit JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let shown = sesame.cli(&["user", "show", email, "--json"]);
    let user: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("user JSON");
    let entries = log["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e["actor"].to_string().contains("admin")
                && e["actor"]
                    .to_string()
                    .contains(user["id"].as_str().unwrap_or("?"))),
        "no {command} entry by {email}: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_signs_in_and_is_refused_with_a_page_saying_who_may() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = sign_in_to_console(&sesame, &browser, BOB).await;
    assert_eq!(page.status, 403, "{}", page.describe());
    assert!(page.body.contains("The console is for administrators"));
    assert!(page.body.contains("admins") && page.body.contains(BOB));
    assert_strict_headers(&page);
    // A form post is refused the same way, whatever its token.
    let r = post(
        &sesame,
        &browser,
        "/console/users",
        &[("email", "x@example.com")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    assert!(!audit_log(&sesame).contains("x@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_creates_an_app_sees_the_secret_once_signs_in_with_it_and_deletes_it() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    assert_strict_headers(&page);
    assert!(page.body.contains("aria-current=\"page\">Apps"), "the nav");
    let token = page.expect_input("csrf");
    let redirect = "http://127.0.0.1:9/grafana/login/generic_oauth";
    let form = |csrf: &'static str| {
        vec![
            ("name", "Grafana"),
            ("type", "traditional"),
            ("redirect_uris", redirect),
            ("csrf", csrf),
        ]
    };

    // Missing and wrong CSRF tokens: 403, no app.
    let missing: Vec<_> = form("").into_iter().filter(|(k, _)| *k != "csrf").collect();
    let r = post(&sesame, &browser, "/console/apps", &missing).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    assert!(r.body.contains("This form has expired"));
    let r = post(&sesame, &browser, "/console/apps", &form("wrong")).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let list = browser.get(&sesame.url("/console/apps")).await;
    assert!(!list.body.contains("Grafana"), "nothing was created");

    // Refused input: the form again with the reason, what was typed kept, nothing created.
    let bad = [
        ("name", "Grafana"),
        ("type", "traditional"),
        ("redirect_uris", "not a url"),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/apps", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(
        r.body.contains("role=\"alert\"") && r.body.contains("not a url"),
        "{}",
        r.describe()
    );
    let bad = [
        ("name", "Grafana"),
        ("type", "mainframe"),
        ("redirect_uris", redirect),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/apps", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    let list = browser.get(&sesame.url("/console/apps")).await;
    assert!(!list.body.contains("Grafana"), "nothing was created");

    // Created: the redirect leads to the app's page, which shows the secret once.
    let mut fields = form("");
    fields.retain(|(k, _)| *k != "csrf");
    fields.push(("csrf", &token));
    let r = post(&sesame, &browser, "/console/apps", &fields).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let shown = browser.follow_within(r, &sesame.issuer).await;
    assert_eq!(shown.status, 200, "{}", shown.describe());
    assert_strict_headers(&shown);
    let client_id = shown.code_with_id("client-id").expect("client ID shown");
    let secret = shown
        .code_with_id("client-secret")
        .expect("secret shown once");
    assert!(secret.len() >= 32, "{secret}");
    for needle in [
        "AUTH_SESAME_ID=",
        "AUTH_SESAME_ISSUER=",
        "[auth.generic_oauth]",
        "add-oauth",
        "oidc_issuer_url",
        redirect,
        sesame.issuer.as_str(),
    ] {
        assert!(shown.body.contains(needle), "{needle} in the settings");
    }
    let again = browser.get(shown.url.as_str()).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains(&client_id));
    assert!(
        !again.body.contains(&secret),
        "a reload does not show the secret"
    );
    assert!(again.code_with_id("client-secret").is_none());

    // Rotating makes a new secret, shown once the same way (the CSRF token checked first).
    let rotate = [("id", client_id.as_str()), ("csrf", "bad")];
    let r = post(&sesame, &browser, "/console/apps/rotate", &rotate).await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let rotate = [("id", client_id.as_str()), ("csrf", token.as_str())];
    let r = post(&sesame, &browser, "/console/apps/rotate", &rotate).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let rotated = browser.follow_within(r, &sesame.issuer).await;
    let new_secret = rotated
        .code_with_id("client-secret")
        .expect("the new secret, once");
    assert_ne!(new_secret, secret);

    // The app works: someone signs in to it with the settings the page gave.
    let app = support::AppCreds {
        client_id: client_id.clone(),
        client_secret: Some(new_secret),
        redirect_uri: redirect.to_string(),
        json: serde_json::Value::Null,
    };
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let carol = HttpClient::new();
    let signed_in = flow::full_sign_in(&sesame, &carol, &client, &app, "carol@example.com").await;
    assert!(!signed_in.sub().is_empty());

    // Edit: restricted to the admins group and renamed; a bad URI is refused, typed text kept.
    let edit = [
        ("id", client_id.as_str()),
        ("name", "Grafana Ops"),
        ("redirect_uris", redirect),
        ("post_logout_redirect_uris", ""),
        ("allowed_groups", "admins"),
        ("alg", "RS256"),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/apps/update", &edit[..6]).await;
    assert_eq!(r.status, 403, "missing CSRF: {}", r.describe());
    let r = post(&sesame, &browser, "/console/apps/update", &edit).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved.body.contains("The app is saved."),
        "{}",
        saved.describe()
    );
    assert!(saved.body.contains("<h1>Grafana Ops</h1>"));
    assert!(saved.body.contains("<option value=\"RS256\" selected>"));
    let out = sesame.cli(&["app", "show", &client_id, "--json"]);
    let shown_app: serde_json::Value = serde_json::from_slice(&out.stdout).expect("app JSON");
    assert_eq!(shown_app["allowed_groups"], serde_json::json!(["admins"]));
    assert_eq!(shown_app["device_flow"], false);
    // The device flow's checkbox turns it on (a cleared one, as above, leaves it off).
    let mut with_device = edit.to_vec();
    with_device.push(("device_flow", "1"));
    let r = post(&sesame, &browser, "/console/apps/update", &with_device).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let saved = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        saved
            .body
            .contains("name=\"device_flow\" value=\"1\" checked"),
        "{}",
        saved.describe()
    );
    let out = sesame.cli(&["app", "show", &client_id, "--json"]);
    let shown_app: serde_json::Value = serde_json::from_slice(&out.stdout).expect("app JSON");
    assert_eq!(shown_app["device_flow"], true);
    assert_eq!(shown_app["require_pushed_authorization_requests"], false);
    // Restricted: carol (signed in to it above, not in admins) is now refused by the app.
    let start = flow::authorize(&client, &["openid", "email"], true, None);
    let refused = carol
        .get_following(start.url.as_str(), &sesame.issuer)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.describe());
    assert!(
        refused.body.contains("can&#39;t use Grafana Ops"),
        "{}",
        refused.describe()
    );
    let mut bad = edit;
    bad[2] = ("redirect_uris", "ftp://nope.example/cb#frag");
    let r = post(&sesame, &browser, "/console/apps/update", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\""), "{}", r.describe());
    assert!(
        r.body.contains("ftp://nope.example/cb#frag"),
        "typed text kept"
    );

    // Delete: a confirmation page first, then the post (CSRF checked), then the list.
    let confirm_url = format!("{}?id={client_id}", sesame.url("/console/apps/delete"));
    let confirm = browser.get(&confirm_url).await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Delete Grafana Ops?"));
    let r = post(
        &sesame,
        &browser,
        "/console/apps/delete",
        &[("id", &client_id), ("csrf", "x")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &sesame,
        &browser,
        "/console/apps/delete",
        &[("id", &client_id), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The app is deleted"),
        "{}",
        list.describe()
    );
    assert!(!list.body.contains(&client_id));

    for command in [
        "app.create",
        "app.rotate-secret",
        "app.update",
        "app.delete",
    ] {
        assert_audited_as_admin(&sesame, command, ADA);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_finds_disables_and_enables_a_user() {
    let sesame = Sesame::start_default();
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");
    let users = browser.get(&sesame.url("/console/users")).await;
    assert_eq!(users.status, 200, "{}", users.describe());
    assert_strict_headers(&users);

    let add = [
        ("email", BOB),
        ("name", "Bob Builder"),
        ("groups", ""),
        ("csrf", token.as_str()),
    ];
    let r = post(&sesame, &browser, "/console/users", &add[..3]).await;
    assert_eq!(r.status, 403, "missing CSRF: {}", r.describe());
    let r = post(&sesame, &browser, "/console/users", &add).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The user is added"),
        "{}",
        list.describe()
    );
    assert!(list.body.contains(BOB) && list.body.contains(ADA));
    // The same address again: the command's own refusal, the form kept.
    let r = post(&sesame, &browser, "/console/users", &add).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\""));

    let found = browser
        .get(&format!("{}?q=builder", sesame.url("/console/users")))
        .await;
    assert!(found.body.contains(BOB), "{}", found.describe());
    // ADA only in the nav ("signed in as"), not in the list.
    assert_eq!(found.body.matches(ADA).count(), 1, "only the match");

    // Sign out everywhere: bob's browser (signed in, refused as a non-admin) must sign in again.
    let bob_browser = HttpClient::new();
    let refused = sign_in_to_console(&sesame, &bob_browser, BOB).await;
    assert_eq!(refused.status, 403, "{}", refused.describe());
    // The list is links and status only; the forms are on the user's page.
    assert!(
        !found.body.contains("/users/disable"),
        "{}",
        found.describe()
    );
    let out = sesame.cli(&["user", "show", BOB, "--json"]);
    let bob: serde_json::Value = serde_json::from_slice(&out.stdout).expect("user JSON");
    let bob_id = bob["id"].as_str().expect("id").to_string();
    assert!(found.body.contains(&format!("/users/show?id={bob_id}")));
    let out = [("user", bob_id.as_str()), ("csrf", token.as_str())];
    let r = post(&sesame, &browser, "/console/users/sign-out", &out[..1]).await;
    assert_eq!(r.status, 403, "missing CSRF: {}", r.describe());
    let r = post(&sesame, &browser, "/console/users/sign-out", &out).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("signed out everywhere"),
        "{}",
        list.describe()
    );
    let again = bob_browser.get(&sesame.url("/console")).await;
    assert_eq!(again.status, 303, "{}", again.describe());
    assert!(
        again.expect_redirect().path().ends_with("/sign-in"),
        "a sign-in, not the 403"
    );

    let r = post(
        &sesame,
        &browser,
        "/console/users/disable",
        &[("user", &bob_id), ("csrf", "nope")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &sesame,
        &browser,
        "/console/users/disable",
        &[("user", &bob_id), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The user is disabled"),
        "{}",
        list.describe()
    );
    assert!(list.body.contains(" · disabled"));
    let out = sesame.cli(&["user", "show", BOB, "--json"]);
    let bob: serde_json::Value = serde_json::from_slice(&out.stdout).expect("user JSON");
    assert_eq!(bob["disabled"], true, "{bob}");
    let r = post(
        &sesame,
        &browser,
        "/console/users/enable",
        &[("user", &bob_id), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        list.body.contains("The user is enabled"),
        "{}",
        list.describe()
    );
    assert!(!list.body.contains(" · disabled"));

    // An administrator cannot lock themselves out from here.
    let out = sesame.cli(&["user", "show", ADA, "--json"]);
    let ada: serde_json::Value = serde_json::from_slice(&out.stdout).expect("user JSON");
    let ada_id = ada["id"].as_str().expect("id").to_string();
    let r = post(
        &sesame,
        &browser,
        "/console/users/disable",
        &[("user", &ada_id), ("csrf", &token)],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("cannot disable your own account"));

    for command in ["user.add", "user.sign-out", "user.disable", "user.enable"] {
        assert_audited_as_admin(&sesame, command, ADA);
    }
}
