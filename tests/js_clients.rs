//! sesame with the JavaScript OIDC clients under the two Auth.js configurations Logto documents:
//! openid-client v5 (Next Auth v4) and oauth4webapi v3 (Auth.js v5), from
//! `tests/clients_js` (package-lock.json pins them; `npm ci` installs them).
//!
//! The script plays the app (authorization URL, callback validation, code exchange, ID token
//! validation with ES384, userinfo, refresh); this test plays the browser through sesame's
//! pages with the code from the real mail. Needs Node.js and npm; fails, saying so, without.
//!
//! Run: `cargo test --test js_clients`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use support::flow;
use support::http::HttpClient;
use support::Sesame;

const ADA: &str = "ada@example.com";

/// `npm ci` once per test run (both tests share tests/clients_js/node_modules).
fn install_js_clients() -> &'static Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = support::repo_root().join("tests/clients_js");
        for tool in ["node", "npm"] {
            let found = Command::new(tool).arg("--version").output();
            if !found.is_ok_and(|o| o.status.success()) {
                return Err(format!(
                    "`{tool}` is not available: the JS client tests need Node.js 18+ and npm \
                     (Debian: apt-get install -y nodejs npm)"
                ));
            }
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("npm ci: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci in {} failed:\n{}\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    })
}

/// Runs `node run.mjs MODE` against sesame, doing the browser part when it prints the
/// authorization URL. Returns the script's RESULT JSON.
async fn run_client(mode: &str, issuer_path: &str) -> (serde_json::Value, Sesame) {
    if let Err(e) = install_js_clients() {
        panic!("{e}");
    }
    let sesame = Sesame::start(support::SesameOpts::with_issuer_path(issuer_path));
    let app = sesame.create_web_app("Bookstore");
    let dir = support::repo_root().join("tests/clients_js");
    let mut child = Command::new("node")
        .arg("run.mjs")
        .arg(mode)
        .current_dir(&dir)
        .env("ISSUER", &sesame.issuer)
        .env("CLIENT_ID", &app.client_id)
        .env("CLIENT_SECRET", app.client_secret.as_deref().unwrap())
        .env("REDIRECT_URI", &app.redirect_uri)
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
    assert!(auth_url.starts_with(&sesame.url("/auth?")), "{auth_url}");
    let browser = HttpClient::new();
    let callback = flow::sign_in(&sesame, &browser, &auth_url, ADA).await;
    writeln!(stdin, "{}", callback.url).expect("write the callback URL to node");
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
    (serde_json::from_str(json).expect("RESULT JSON"), sesame)
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
