//! A real `sesame dev` process for the tests, started as a developer starts it: with no
//! configuration (or a `sesame.toml` with `[dev.users]`), on `127.0.0.1:0`, its issuer and
//! credentials read from what it prints; and the browser's side of its sign-in page.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::flow::{self, Callback};
use super::html::find_form_with;
use super::http::{HttpClient, Response};
use super::{clear_sesame_env, AppCreds};

/// How long `sesame dev` may take to print its `.env.local`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `sesame dev`.
pub struct DevSesame {
    /// What it printed: `AUTH_SESAME_ISSUER`.
    pub issuer: String,
    /// `AUTH_SESAME_ID` and `AUTH_SESAME_SECRET`.
    pub client_id: String,
    pub client_secret: String,
    /// The whole of standard output.
    pub printed: String,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

/// How to start `sesame dev`.
#[derive(Default)]
pub struct DevOpts {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
    /// More arguments (`--access-token-ttl 30s`).
    pub args: Vec<String>,
}

impl DevSesame {
    /// `sesame dev --listen 127.0.0.1:0` with nothing else.
    pub fn start() -> DevSesame {
        DevSesame::start_with(DevOpts::default())
    }

    /// Starts `sesame dev` and waits until it has printed its `.env.local` snippet.
    pub fn start_with(opts: DevOpts) -> DevSesame {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sesame"));
        clear_sesame_env(&mut cmd);
        cmd.args(["dev", "--listen", "127.0.0.1:0"]);
        cmd.envs(super::GENEROUS_LIMITS);
        if let Some(c) = &opts.config {
            cmd.arg("--config").arg(c);
        }
        if let Some(d) = &opts.data_dir {
            cmd.arg("--data-dir").arg(d);
        }
        cmd.args(&opts.args)
            // No ./sesame.toml of the developer's: an empty working directory.
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sesame dev");
        let log = Arc::new(Mutex::new(String::new()));
        {
            let log = log.clone();
            let stderr = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut printed = String::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        while !printed.contains("AUTH_SESAME_SECRET=") {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    printed.push_str(&line);
                    printed.push('\n');
                }
                Err(_) if Instant::now() > deadline => {
                    let _ = child.kill();
                    panic!(
                        "sesame dev printed no .env.local in time:\n{printed}\n{}",
                        log.lock().unwrap()
                    );
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        std::thread::sleep(Duration::from_millis(100));
                        panic!(
                            "sesame dev exited ({status}):\n{printed}\n{}",
                            log.lock().unwrap()
                        );
                    }
                }
            }
        }
        let value = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name}= in:\n{printed}"))
                .to_string()
        };
        DevSesame {
            issuer: value("AUTH_SESAME_ISSUER"),
            client_id: value("AUTH_SESAME_ID"),
            client_secret: value("AUTH_SESAME_SECRET"),
            printed,
            child: Some(child),
            log,
        }
    }

    /// `issuer + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The printed app, as the relying party uses it, with `redirect_uri` (never registered:
    /// dev mode registers it on first use).
    pub fn app(&self, redirect_uri: &str) -> AppCreds {
        AppCreds {
            client_id: self.client_id.clone(),
            client_secret: Some(self.client_secret.clone()),
            redirect_uri: redirect_uri.to_string(),
            json: serde_json::Value::Null,
        }
    }

    /// The log (standard error) so far.
    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops it with SIGTERM and waits; returns whether it exited in time.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", child.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// The data directory it printed.
    pub fn data_dir(&self) -> PathBuf {
        let line = self
            .printed
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("data"))
            .unwrap_or_else(|| panic!("no data line in:\n{}", self.printed));
        let path = line.trim_start();
        PathBuf::from(path.split(" (").next().unwrap_or(path))
    }
}

impl Drop for DevSesame {
    fn drop(&mut self) {
        let stopped = self.stop();
        if std::thread::panicking() || !stopped {
            eprintln!(
                "==== sesame dev ({}) ====\n{}\n{}\n====",
                self.issuer,
                self.printed,
                self.logs()
            );
        }
    }
}

/// Opens `auth_url` in `browser` and follows sesame's redirects to the dev sign-in page.
pub async fn open_dev_page(issuer: &str, browser: &HttpClient, auth_url: &str) -> Response {
    let page = browser.get_following(auth_url, issuer).await;
    assert!(
        page.status == 200 && find_form_with(&page.body, "groups").is_some(),
        "expected the dev sign-in page, got {}",
        page.describe()
    );
    page
}

/// Posts a dev page form: the page's interaction and CSRF token, and `fields` (with the
/// `action` button); returns sesame's answer (not followed).
pub async fn post_dev_form(
    browser: &HttpClient,
    page: &Response,
    fields: &[(&str, &str)],
) -> Response {
    let interaction = page.expect_input("interaction");
    let csrf = page.expect_input("csrf");
    let mut form = vec![
        ("interaction", interaction.as_str()),
        ("csrf", csrf.as_str()),
    ];
    form.extend_from_slice(fields);
    let action = find_form_with(&page.body, "groups")
        .and_then(|f| f.action)
        .unwrap_or_else(|| panic!("no dev form action: {}", page.describe()));
    let target = page.url.join(&action).expect("action URL");
    browser.post_form(target.as_str(), &form).await
}

/// The whole browser side on the dev page: open `auth_url`, post `fields`, follow to the
/// redirect back to the app, and parse it.
pub async fn dev_sign_in(
    issuer: &str,
    browser: &HttpClient,
    auth_url: &str,
    fields: &[(&str, &str)],
) -> Callback {
    let page = open_dev_page(issuer, browser, auth_url).await;
    let answer = post_dev_form(browser, &page, fields).await;
    let answer = browser.follow_within(answer, issuer).await;
    flow::callback(&answer.expect_redirect())
}

/// Runs `sesame ARGS` to the end (for the refusals); returns the exit status and stderr.
pub fn run_sesame(args: &[&str], dir: &Path) -> (std::process::ExitStatus, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sesame"));
    clear_sesame_env(&mut cmd);
    let out = cmd
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sesame");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
