//! sesame with the JavaScript OIDC clients under the two Auth.js configurations Logto documents:
//! openid-client v5 (Next Auth v4) and oauth4webapi v3 (Auth.js v5), from
//! `tests/clients_js` (package-lock.json pins them; `npm ci` installs them).
//!
//! The script plays the app (authorization URL, callback validation, code exchange, ID token
//! validation with ES384, userinfo, refresh); this test plays the browser through sesame's
//! pages with the code from the real mail. Needs Node.js and npm; fails, saying so, without.
//!
//! The `dev_mode_*` tests do the same against `sesame dev` started with no configuration: the
//! script gets only what `sesame dev` printed (issuer, client ID, secret) and a redirect URI
//! nobody registered, and the browser signs in on the dev page with groups and custom claims.
//!
//! Run: `cargo test --test js_clients`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::dev::{dev_sign_in, DevSesame};
use support::flow;
use support::http::HttpClient;
use support::{AppSpec, Sesame};

const ADA: &str = "ada@example.com";

/// `npm ci` once per test run (shared with tests/pages.rs: tests/clients_js/node_modules).
fn install_js_clients() -> &'static Result<(), String> {
    support::npm::install()
}

/// Runs `node run.mjs MODE` against sesame, doing the browser part when it prints the
/// authorization URL. Returns the script's RESULT JSON.
async fn run_client(mode: &str, issuer_path: &str) -> (serde_json::Value, Sesame) {
    let sesame = Sesame::start(support::SesameOpts::with_issuer_path(issuer_path));
    let app = sesame.create_web_app("Bookstore");
    let rp = Rp {
        issuer: &sesame.issuer,
        client_id: &app.client_id,
        client_secret: app.client_secret.as_deref().unwrap(),
        redirect_uri: &app.redirect_uri,
        scope: None,
    };
    let browser = HttpClient::new();
    let s = &sesame;
    let result = drive(mode, &rp, |auth_url| async move {
        assert!(auth_url.starts_with(&s.url("/auth?")), "{auth_url}");
        flow::sign_in(s, &browser, &auth_url, ADA).await.url
    })
    .await;
    (result, sesame)
}

/// The relying party's settings, as `run.mjs` takes them.
struct Rp<'a> {
    issuer: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    redirect_uri: &'a str,
    /// `None`: the script's default (`openid offline_access profile email`).
    scope: Option<&'a str>,
}

/// Runs `node run.mjs MODE` as `rp`; `browser` gets the authorization URL and returns the
/// callback URL sesame sent the browser to. Returns the script's RESULT JSON.
async fn drive<F, Fut>(mode: &str, rp: &Rp<'_>, browser: F) -> serde_json::Value
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = url::Url>,
{
    if let Err(e) = install_js_clients() {
        panic!("{e}");
    }
    let dir = support::repo_root().join("tests/clients_js");
    let mut cmd = Command::new("node");
    cmd.arg("run.mjs")
        .arg(mode)
        .current_dir(&dir)
        .env("ISSUER", rp.issuer)
        .env("CLIENT_ID", rp.client_id)
        .env("CLIENT_SECRET", rp.client_secret)
        .env("REDIRECT_URI", rp.redirect_uri);
    if let Some(scope) = rp.scope {
        cmd.env("SCOPE", scope);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node run.mjs");
    let mut stdin = child.stdin.take().expect("stdin");
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let next_line = |what: &str| -> String {
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("node run.mjs {mode} printed no {what}"))
    };

    // The device flow prints the page its user goes to instead (DEVICE).
    let line = next_line("AUTH_URL");
    let auth_url = line
        .strip_prefix("AUTH_URL ")
        .or_else(|| line.strip_prefix("DEVICE "))
        .unwrap_or_else(|| panic!("node run.mjs {mode}: {line}"))
        .to_string();
    let callback = browser(auth_url).await;
    writeln!(stdin, "{callback}").expect("write the callback URL to node");
    drop(stdin);

    let line = next_line("RESULT");
    let status = child.wait().expect("node exit");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    let Some(json) = line.strip_prefix("RESULT ") else {
        panic!("node run.mjs {mode} failed ({status}): {line}\n{stderr}");
    };
    serde_json::from_str(json).expect("RESULT JSON")
}

#[tokio::test]
async fn next_auth_v4_openid_client_signs_in() {
    let (result, _sesame) = run_client("nextauth-v4", "").await;
    assert_eq!(result["alg"], "ES384", "{result}");
    assert_eq!(result["email"], ADA, "{result}");
    assert_eq!(result["userinfo_email"], ADA, "{result}");
    assert_eq!(result["refreshed"], true, "{result}");
}

#[tokio::test]
async fn authjs_v5_oauth4webapi_signs_in_under_an_issuer_path() {
    let (result, _sesame) = run_client("authjs-v5", "/oidc").await;
    assert_eq!(result["alg"], "ES384", "{result}");
    assert_eq!(result["email"], ADA, "{result}");
    assert_eq!(result["userinfo_email"], ADA, "{result}");
    assert_eq!(result["refreshed"], true, "{result}");
}

/// `sesame dev` with no configuration at all: the app is given only what it printed (issuer,
/// client ID, secret), signs in through the dev page as a persona with groups and custom
/// claims, and the library validates the ID token carrying them.
async fn dev_client(mode: &str, redirect_uri: &str) -> serde_json::Value {
    let dev = DevSesame::start();
    let rp = Rp {
        issuer: &dev.issuer,
        client_id: &dev.client_id,
        client_secret: &dev.client_secret,
        redirect_uri,
        scope: Some("openid offline_access profile email groups"),
    };
    let browser = HttpClient::new();
    let fields = [
        ("action", "sign_in"),
        ("email", "dev@example.com"),
        ("name", "Dev Eloper"),
        ("groups", "admin, beta"),
        ("claims", r#"{"role": "owner", "tier": 3}"#),
    ];
    let issuer = dev.issuer.clone();
    drive(mode, &rp, |auth_url| async move {
        assert!(
            auth_url.starts_with(&format!("{issuer}/auth?")),
            "{auth_url}"
        );
        dev_sign_in(&issuer, &browser, &auth_url, &fields).await.url
    })
    .await
}

fn assert_dev_claims(result: &serde_json::Value) {
    assert_eq!(result["alg"], "ES384", "{result}");
    assert_eq!(result["email"], "dev@example.com", "{result}");
    assert_eq!(result["userinfo_email"], "dev@example.com", "{result}");
    assert_eq!(result["refreshed"], true, "{result}");
    let claims = &result["claims"];
    assert_eq!(
        claims["groups"],
        serde_json::json!(["admin", "beta"]),
        "{result}"
    );
    assert_eq!(claims["role"], "owner", "{result}");
    assert_eq!(claims["tier"], 3, "{result}");
    assert_eq!(claims["aud"], "dev-client", "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_mode_openid_client_signs_in_with_custom_claims_and_groups() {
    let result = dev_client(
        "nextauth-v4",
        "http://localhost:3000/api/auth/callback/sesame",
    )
    .await;
    assert_dev_claims(&result);
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_mode_authjs_v5_oauth4webapi_needs_only_what_sesame_dev_printed() {
    let result = dev_client(
        "authjs-v5",
        "http://localhost:3000/api/auth/callback/sesame",
    )
    .await;
    assert_dev_claims(&result);
}

/// A machine app with oauth4webapi (issue 12): client credentials, then introspection of its
/// token (active, `sub` = its client ID), of an unknown token (inactive) and with a wrong secret
/// (`invalid_client`). No browser.
#[tokio::test]
async fn a_machine_app_uses_client_credentials_and_introspection_with_oauth4webapi() {
    if let Err(e) = install_js_clients() {
        panic!("{e}");
    }
    let sesame = Sesame::start_default();
    let job = sesame.create_machine_app("Backup job");
    let out = Command::new("node")
        .args(["run.mjs", "machine"])
        .current_dir(support::repo_root().join("tests/clients_js"))
        .env("ISSUER", &sesame.issuer)
        .env("CLIENT_ID", &job.client_id)
        .env("CLIENT_SECRET", job.client_secret.as_deref().unwrap())
        .stdin(Stdio::null())
        .output()
        .expect("run node run.mjs machine");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(json) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        panic!(
            "node run.mjs machine failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let r: serde_json::Value = serde_json::from_str(json).expect("RESULT JSON");
    assert_eq!(
        r["token_type"], "bearer",
        "oauth4webapi lower-cases it: {r}"
    );
    assert_eq!(r["refresh_token"], serde_json::Value::Null, "{r}");
    assert_eq!(r["id_token"], serde_json::Value::Null, "{r}");
    let i = &r["introspection"];
    assert_eq!(i["active"], true, "{r}");
    assert_eq!(i["sub"], job.client_id.as_str(), "{r}");
    assert_eq!(i["client_id"], job.client_id.as_str(), "{r}");
    assert_eq!(i["iss"], sesame.issuer.as_str(), "{r}");
    assert_eq!(r["unknown"], serde_json::json!({"active": false}), "{r}");
    assert_eq!(r["wrong_secret"]["status"], 401, "{r}");
    assert_eq!(r["wrong_secret"]["error"], "invalid_client", "{r}");
}

/// `sesame app update CLIENT_ID ARGS...`, which must succeed.
fn update_app(sesame: &Sesame, client_id: &str, args: &[&str]) {
    let mut all = vec!["app", "update", client_id];
    all.extend_from_slice(args);
    let out = sesame.cli(&all);
    assert!(
        out.status.success(),
        "sesame {}: {}",
        all.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The device flow (RFC 8628) with oauth4webapi, for a public (native) app with device_flow on:
/// an unknown client is refused, the first poll is pending, polling at once gets slow_down (the
/// script then waits the grown interval), the person follows verification_uri_complete, signs
/// in with the mailed code, sees the app and must still click Approve; the next poll gets the
/// tokens (ID token validated by the library), and the device code works once. Then user-code
/// guesses from this address run into their limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_tv_signs_in_with_the_device_flow_and_oauth4webapi() {
    let sesame = Sesame::start_default();
    let tv = sesame
        .create_app(&AppSpec::new("Living-room TV", "http://127.0.0.1:9/tv").app_type("native"));
    update_app(&sesame, &tv.client_id, &["--device-flow"]);
    let rp = Rp {
        issuer: &sesame.issuer,
        client_id: &tv.client_id,
        client_secret: "",
        redirect_uri: &tv.redirect_uri,
        scope: Some("openid offline_access email"),
    };
    let browser = HttpClient::new();
    let (s, b) = (&sesame, &browser);
    let result = drive("device", &rp, |complete| async move {
        let path = complete
            .strip_prefix(&s.issuer)
            .unwrap_or_else(|| panic!("{complete} is not under the issuer"));
        assert!(path.starts_with("/device?user_code="), "{complete}");
        // Signed out: sign in first, and come back to the same code.
        let page = flow::sign_in_at(s, b, path, ADA).await;
        assert!(
            page.body.contains("Living-room TV") && page.body.contains("your email address"),
            "{}",
            page.describe()
        );
        let csrf = page.expect_input("csrf");
        let user_code = page.expect_input("user_code");
        // Without the CSRF token nothing is decided.
        let forged = b
            .post_form(
                &s.url("/device"),
                &[("user_code", &user_code), ("decision", "approve")],
            )
            .await;
        assert_eq!(forged.status, 403, "{}", forged.describe());
        let answer = b
            .post_form(
                &s.url("/device"),
                &[
                    ("csrf", &csrf),
                    ("user_code", &user_code),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.describe());
        assert_eq!(
            answer.expect_redirect().as_str(),
            s.url("/device?done=approved")
        );
        let done = b.follow_within(answer, &s.issuer).await;
        assert!(
            done.body.contains("Device signed in"),
            "{}",
            done.describe()
        );
        done.url
    })
    .await;
    assert_eq!(
        result["wrong_client"]["error"], "invalid_client",
        "{result}"
    );
    assert_eq!(
        result["pending"]["error"], "authorization_pending",
        "{result}"
    );
    assert_eq!(result["slow_down"]["error"], "slow_down", "{result}");
    assert_eq!(
        result["verification_uri"],
        sesame.url("/device"),
        "{result}"
    );
    assert_eq!(result["expires_in"], 600, "{result}");
    assert_eq!(result["interval"], 5, "{result}");
    let code = result["user_code"].as_str().unwrap();
    assert!(
        code.len() == 9 && code.as_bytes()[4] == b'-',
        "XXXX-XXXX: {result}"
    );
    assert_eq!(result["email"], ADA, "{result}");
    assert_eq!(result["aud"], tv.client_id.as_str(), "{result}");
    assert_eq!(result["access_token"], true, "{result}");
    assert_eq!(result["refresh_token"], true, "{result}");
    assert_eq!(
        result["reused"]["error"], "invalid_grant",
        "single use: {result}"
    );

    // Guessing codes: a wrong one says so (role=alert), and the address runs out of tries.
    let guess = browser
        .get(&sesame.url("/device?user_code=BCDF-GHJK"))
        .await;
    assert_eq!(guess.status, 400, "{}", guess.describe());
    assert!(
        guess.body.contains("role=\"alert\""),
        "{}",
        guess.describe()
    );
    let mut refused_after = None;
    for n in 0..20 {
        let r = browser
            .get(&sesame.url("/device?user_code=BCDF-GHJK"))
            .await;
        if r.status == 429 {
            refused_after = Some(n);
            break;
        }
    }
    assert!(
        refused_after.is_some_and(|n| n < 10),
        "device_codes_per_minute (10) bounds guesses: {refused_after:?}"
    );
    let audit = sesame.cli(&["audit", "--json"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("device_decision"),
        "the approval is audited: {audit}"
    );
}

/// Pushed authorization requests (RFC 9126) with oauth4webapi, for an app that requires them:
/// a plain /auth is sent back with invalid_request; a push with an unregistered redirect URI is
/// refused as /auth would; the pushed request_uri does not work for another app (and survives
/// that), signs in once, and is refused when used again.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_requests_with_oauth4webapi_work_once_for_their_own_app() {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    update_app(&sesame, &app.client_id, &["--require-par"]);
    let other = sesame.create_web_app("Other");
    let rp = Rp {
        issuer: &sesame.issuer,
        client_id: &app.client_id,
        client_secret: app.client_secret.as_deref().unwrap(),
        redirect_uri: &app.redirect_uri,
        scope: None,
    };
    let browser = HttpClient::new();
    let (s, b, a, o) = (&sesame, &browser, &app, &other);
    let result = drive("par", &rp, |auth_url| async move {
        let plain = flow::auth_url(
            s,
            &[
                ("client_id", &a.client_id),
                ("redirect_uri", &a.redirect_uri),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
        );
        let refused = b.get(&plain).await;
        let back = refused.expect_redirect();
        assert!(
            back.as_str().starts_with(&a.redirect_uri)
                && back.as_str().contains("error=invalid_request"),
            "{back}"
        );
        let theirs = auth_url.replace(&a.client_id, &o.client_id);
        let page = b.get(&theirs).await;
        assert_eq!(page.status, 400, "{}", page.describe());
        assert!(page.body.contains("another app"), "{}", page.describe());
        let callback = flow::sign_in(s, b, &auth_url, ADA).await.url;
        let again = b.get(&auth_url).await;
        assert_eq!(again.status, 400, "single use: {}", again.describe());
        assert!(again.location().is_none(), "never a redirect");
        callback
    })
    .await;
    let uri = result["request_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{result}"
    );
    assert_eq!(result["expires_in"], 60, "{result}");
    assert_eq!(
        result["bad_redirect"]["error"], "invalid_request",
        "{result}"
    );
    assert_eq!(result["email"], ADA, "{result}");
    assert_eq!(result["require_par"], false, "{result}");
}
