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
use support::Sesame;

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

    let line = next_line("AUTH_URL");
    let auth_url = line
        .strip_prefix("AUTH_URL ")
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
