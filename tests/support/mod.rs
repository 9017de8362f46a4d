//! What the end-to-end tests share: a real `sesame serve` process on 127.0.0.1 with a temp data
//! directory, wired to a real SMTP server (STARTTLS + AUTH); the CLI; and the clients that talk
//! to it (a browser-like HTTP client, an `openidconnect` back channel, a WebDriver client).
//! `dev.rs` starts a real `sesame dev` instead, and plays the browser on its sign-in page.
//!
//! Each test starts its own sesame and its own SMTP server, so tests never share state and run
//! in parallel.
#![allow(dead_code)]

pub mod a11y;
pub mod dev;
pub mod flow;
pub mod html;
pub mod http;
pub mod npm;
pub mod oidc_http;
pub mod proxy;
#[path = "smtp.rs"]
pub mod smtp;
pub mod webdriver;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smtp::{SmtpOpts, SmtpServer};

/// How long `sesame serve` may take to log `listening on` (first start generates keys).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop (SIGTERM) may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a test waits for a mail to arrive.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// The SMTP credentials sesame is given (the test SMTP server requires exactly these).
pub const SMTP_USER: &str = "sesame-smtp";
pub const SMTP_PASSWORD: &str = "smtp-pass-Zq9";
pub const MAIL_FROM: &str = "Sesame Test <noreply@sesame.test>";

/// `[limits]` high enough that no test of something else meets one (tests/limits.rs sets its
/// own low ones).
pub const GENEROUS_LIMITS: [(&str, &str); 7] = [
    ("SESAME_LIMITS_AUTHORIZE_PER_MINUTE", "100000"),
    ("SESAME_LIMITS_TOKEN_PER_MINUTE", "100000"),
    ("SESAME_LIMITS_SIGN_IN_PER_MINUTE", "100000"),
    ("SESAME_LIMITS_FORWARD_AUTH_MISSES_PER_MINUTE", "100000"),
    ("SESAME_LIMITS_PENDING_SIGN_INS_PER_CLIENT", "100000"),
    ("SESAME_LIMITS_MAIL_PER_CLIENT_PER_HOUR", "100000"),
    ("SESAME_LIMITS_MAIL_PER_MINUTE", "100000"),
];

/// How to start sesame.
#[derive(Debug, Clone, Default)]
pub struct SesameOpts {
    /// A path for the issuer, e.g. `/oidc` (empty: the issuer is the origin).
    pub issuer_path: String,
    /// Extra `SESAME_*` environment for the server.
    pub env: Vec<(String, String)>,
    /// Announce an `https://` issuer (as behind a TLS-terminating proxy) while sesame itself
    /// listens on plain HTTP; tests reach it with [`Sesame::local_url`].
    pub https_issuer: bool,
    /// Give sesame no mail configuration at all (as a fresh install has: the log transport);
    /// the harness's SMTP server still runs but sesame does not know it.
    pub no_mail: bool,
    /// The issuer's host name instead of `127.0.0.1` (sesame still listens on 127.0.0.1), e.g.
    /// `auth.home.localhost`: browsers resolve every name under localhost to this machine.
    pub issuer_host: Option<String>,
}

impl SesameOpts {
    pub fn with_issuer_path(path: &str) -> SesameOpts {
        SesameOpts {
            issuer_path: path.to_string(),
            ..Default::default()
        }
    }
}

/// A running `sesame serve` with its own data directory and SMTP server.
///
/// Dropping it kills the process; if the test is failing, sesame's log is printed first so the
/// failure shows what the server said.
pub struct Sesame {
    /// `http://127.0.0.1:PORT[/path]`, no trailing slash.
    pub issuer: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub smtp: SmtpServer,
    opts: SesameOpts,
    child: Option<Child>,
    /// Everything the process wrote to stderr and stdout, across restarts.
    log: Arc<Mutex<String>>,
    _tmp: tempfile::TempDir,
}

/// A registered app, as `sesame app create --json` printed it.
#[derive(Debug, Clone)]
pub struct AppCreds {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    pub json: serde_json::Value,
}

/// What to register with `sesame app create`.
#[derive(Debug, Clone)]
pub struct AppSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// `traditional` (default), `spa`, `native` or `machine`.
    pub app_type: Option<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `--id-token-alg`, e.g. `RS256`.
    pub id_token_alg: Option<String>,
    /// `--allow-insecure-redirect`: http redirect URIs on the LAN.
    pub allow_insecure_redirect: bool,
    /// `--backchannel-logout-uri`.
    pub backchannel_logout_uri: Option<String>,
}

impl AppSpec {
    pub fn new(name: &str, redirect_uri: &str) -> AppSpec {
        AppSpec {
            name: name.to_string(),
            redirect_uris: vec![redirect_uri.to_string()],
            app_type: None,
            post_logout_redirect_uris: Vec::new(),
            id_token_alg: None,
            allow_insecure_redirect: false,
            backchannel_logout_uri: None,
        }
    }

    /// Another redirect URI (the first stays the one the relying party uses).
    pub fn redirect(mut self, uri: &str) -> AppSpec {
        self.redirect_uris.push(uri.to_string());
        self
    }

    pub fn allow_insecure_redirect(mut self) -> AppSpec {
        self.allow_insecure_redirect = true;
        self
    }

    pub fn app_type(mut self, t: &str) -> AppSpec {
        self.app_type = Some(t.to_string());
        self
    }

    pub fn post_logout(mut self, uri: &str) -> AppSpec {
        self.post_logout_redirect_uris.push(uri.to_string());
        self
    }

    pub fn backchannel_logout(mut self, uri: &str) -> AppSpec {
        self.backchannel_logout_uri = Some(uri.to_string());
        self
    }

    pub fn id_token_alg(mut self, alg: &str) -> AppSpec {
        self.id_token_alg = Some(alg.to_string());
        self
    }
}

impl Sesame {
    /// Starts an SMTP server (STARTTLS required, AUTH required) and sesame pointed at it; waits
    /// until sesame logs `listening on`.
    pub fn start(opts: SesameOpts) -> Sesame {
        let smtp = SmtpServer::start(SmtpOpts::with_auth(SMTP_USER, SMTP_PASSWORD));
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("data");
        let mut sesame = Sesame {
            issuer: String::new(),
            port: 0,
            data_dir,
            smtp,
            opts,
            child: None,
            log: Arc::new(Mutex::new(String::new())),
            _tmp: tmp,
        };
        // The free port may be taken by another test between our probe and sesame's bind:
        // then try another one.
        for attempt in 1..=3 {
            sesame.port = free_port();
            let path = sesame.opts.issuer_path.trim_end_matches('/');
            let scheme = if sesame.opts.https_issuer {
                "https"
            } else {
                "http"
            };
            let host = sesame.opts.issuer_host.as_deref().unwrap_or("127.0.0.1");
            sesame.issuer = format!("{scheme}://{host}:{}{path}", sesame.port);
            match sesame.try_spawn() {
                Ok(()) => return sesame,
                Err(e) if attempt < 3 && sesame.logs().contains("in use") => {
                    sesame.append_log(&format!("\n[test harness] {e}; trying another port\n"));
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Starts with default options (issuer at the origin).
    pub fn start_default() -> Sesame {
        Sesame::start(SesameOpts::default())
    }

    /// `issuer + path`, e.g. `sesame.url("/jwks")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The plain-HTTP address of `path` under the issuer's path (differs from [`Sesame::url`]
    /// only with `https_issuer`).
    pub fn local_url(&self, path: &str) -> String {
        let issuer_path = self.opts.issuer_path.trim_end_matches('/');
        format!("http://127.0.0.1:{}{issuer_path}{path}", self.port)
    }

    /// What sesame has logged so far (stderr and stdout, all runs).
    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops sesame gracefully (SIGTERM), killing it if it does not exit in time.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The shell's own `kill`: std has no way to send SIGTERM, and /bin/kill may be absent.
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", child.id())])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    self.append_log(&format!(
                        "\n[test harness] sesame did not exit {STOP_TIMEOUT:?} after SIGTERM; killing it\n"
                    ));
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
        self.append_log("\n[test harness] ---- sesame stopped ----\n");
    }

    /// Kills sesame at once (SIGKILL), as a crash or power loss would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.append_log("\n[test harness] ---- sesame killed ----\n");
        }
    }

    /// Starts sesame again on the same port and data directory (same issuer, same SMTP server).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts the process again after [`Sesame::stop`] or [`Sesame::kill`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "sesame is still running");
        self.spawn();
    }

    /// Stores a passkey of `user_id` named `name` in the data file, as registration stores
    /// one (ES256, synced), stopping sesame for it and starting it again (redb is one
    /// process's). Its public key is not a real one: for the administrator's commands, which
    /// never check it.
    pub fn put_passkey(&mut self, user_id: &str, credential_id: &str, name: &str) {
        use sesame::store::{Passkey, Store, Writes};
        self.stop();
        let store = Store::open(&self.data_dir.join("sesame.redb")).expect("the data file");
        let passkey = Passkey {
            user_id: user_id.into(),
            credential_id: credential_id.into(),
            public_key: "bm90LWEta2V5".into(),
            alg: "ES256".into(),
            sign_count: 0,
            transports: vec!["internal".into()],
            name: name.into(),
            backup_eligible: true,
            backed_up: true,
            created_at: 1_800_000_000,
            last_used_at: None,
        };
        store
            .write(|tx| tx.put_passkey(&passkey))
            .expect("store the passkey");
        drop(store);
        self.start_again();
    }

    /// Sets (or replaces) one `SESAME_*` variable for the next start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.opts.env.retain(|(k, _)| k != key);
        self.opts.env.push((key.to_string(), value.to_string()));
    }

    /// Runs `sesame ARGS --data-dir DIR` and returns its output (whatever the exit status).
    /// Runs the CLI, which must succeed, and returns its JSON output.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "sesame {}: {}{}",
            args.join(" "),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Posts `form` to the console or account `path` without a `csrf` field, then with a
    /// wrong one: both 403, the page saying the form expired.
    pub async fn assert_csrf_refused(
        &self,
        browser: &http::HttpClient,
        path: &str,
        form: &[(&str, &str)],
    ) {
        let mut without: Vec<(&str, &str)> =
            form.iter().filter(|(k, _)| *k != "csrf").copied().collect();
        let r = browser.post_form(&self.url(path), &without).await;
        assert_eq!(r.status, 403, "{path} without CSRF: {}", r.describe());
        assert!(r.body.contains("This form has expired"), "{}", r.describe());
        without.push(("csrf", "not-the-token"));
        let r = browser.post_form(&self.url(path), &without).await;
        assert_eq!(r.status, 403, "{path} with a wrong CSRF: {}", r.describe());
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sesame"));
        clear_sesame_env(&mut cmd);
        cmd.args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null());
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sesame CLI");
        wait_output(
            child,
            Duration::from_secs(60),
            &format!("sesame {}", args.join(" ")),
        )
    }

    /// Registers an app with `sesame app create ... --json` (through the running server's
    /// control socket, or the redb file when it is stopped).
    pub fn create_app(&self, spec: &AppSpec) -> AppCreds {
        let mut args: Vec<&str> = vec!["app", "create", "--name", &spec.name];
        for uri in &spec.redirect_uris {
            args.extend(["--redirect-uri", uri]);
        }
        if let Some(t) = &spec.app_type {
            args.extend(["--type", t]);
        }
        for uri in &spec.post_logout_redirect_uris {
            args.extend(["--post-logout-redirect-uri", uri]);
        }
        if let Some(alg) = &spec.id_token_alg {
            args.extend(["--id-token-alg", alg]);
        }
        if spec.allow_insecure_redirect {
            args.push("--allow-insecure-redirect");
        }
        if let Some(uri) = &spec.backchannel_logout_uri {
            args.extend(["--backchannel-logout-uri", uri]);
        }
        args.push("--json");
        let out = self.cli(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`sesame {}` failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" "),
            out.status
        );
        let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("`sesame app create --json` printed no JSON ({e}):\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
        let client_id = json["client_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no client_id in {json}"))
            .to_string();
        let client_secret = json["client_secret"].as_str().map(str::to_string);
        AppCreds {
            client_id,
            client_secret,
            // A machine app has none.
            redirect_uri: spec.redirect_uris.first().cloned().unwrap_or_default(),
            json,
        }
    }

    /// A machine app (client credentials only, no redirect URIs).
    pub fn create_machine_app(&self, name: &str) -> AppCreds {
        let mut spec = AppSpec::new(name, "").app_type("machine");
        spec.redirect_uris.clear();
        self.create_app(&spec)
    }

    /// A confidential (traditional) app with one redirect URI on a port nothing listens on:
    /// the tests read the redirect instead of following it.
    pub fn create_web_app(&self, name: &str) -> AppCreds {
        let redirect = format!("http://127.0.0.1:9/{}/callback", slug(name));
        let logout = format!("http://127.0.0.1:9/{}/signed-out", slug(name));
        self.create_app(&AppSpec::new(name, &redirect).post_logout(&logout))
    }

    /// Waits for the next mail and returns it; panics with sesame's log if none comes.
    pub async fn next_mail(&self) -> smtp::Received {
        let smtp = &self.smtp;
        let deadline = Instant::now() + MAIL_TIMEOUT;
        loop {
            if let Some(mail) = smtp.try_next_message() {
                return mail;
            }
            if Instant::now() > deadline {
                panic!(
                    "no mail arrived within {MAIL_TIMEOUT:?}; sesame's log:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for the next mail, checks it went to `to`, and returns the 6-digit code in it.
    pub async fn next_code_for(&self, to: &str) -> String {
        let mail = self.next_mail().await;
        assert!(
            mail.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to)),
            "mail went to {:?}, expected {to}",
            mail.rcpt_tos
        );
        assert!(mail.tls, "sesame sent the mail without TLS");
        assert_eq!(mail.auth_user.as_deref(), Some(SMTP_USER));
        mail.extract_code()
            .unwrap_or_else(|| panic!("no 6-digit code in the mail's text part:\n{}", mail.data))
    }

    fn spawn(&mut self) {
        if let Err(e) = self.try_spawn() {
            panic!("{e}");
        }
    }

    /// Starts `sesame serve` and waits for `listening on`; the error carries its output.
    fn try_spawn(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sesame"));
        clear_sesame_env(&mut cmd);
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--issuer")
            .arg(&self.issuer)
            .arg("--data-dir")
            .arg(&self.data_dir);
        if !self.opts.no_mail {
            cmd.env("SESAME_MAIL_TRANSPORT", "smtp")
                .env("SESAME_MAIL_SMTP_HOST", "127.0.0.1")
                .env("SESAME_MAIL_SMTP_PORT", self.smtp.port.to_string())
                .env("SESAME_MAIL_SMTP_TLS", "starttls")
                .env("SESAME_MAIL_SMTP_USERNAME", SMTP_USER)
                .env("SESAME_MAIL_SMTP_PASSWORD", SMTP_PASSWORD)
                .env("SESAME_MAIL_SMTP_CA_FILE", &self.smtp.ca_pem_path)
                .env("SESAME_MAIL_FROM", MAIL_FROM);
        }
        // The protocol tests sign in fresh addresses as they go: open sign-up, unless a test
        // sets its own policy in `opts.env` (the users-and-access tests do).
        cmd.env("SESAME_SIGN_UP_MODE", "open");
        // Every test signs in from 127.0.0.1, often and fast: the per-client limits would
        // count all of them as one person. The limits' own tests set theirs in `opts.env`.
        for (var, value) in GENEROUS_LIMITS {
            cmd.env(var, value);
        }
        cmd.envs(self.opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sesame serve");

        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let stderr = child.stderr.take().expect("piped stderr");
        let stdout = child.stdout.take().expect("piped stdout");
        pump(stderr, self.log.clone(), Some(ready_tx));
        pump(stdout, self.log.clone(), None);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(()) => break,
                Err(mpsc::RecvTimeoutError::Timeout)
                | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        // Give the pumps a moment to collect the last lines.
                        std::thread::sleep(Duration::from_millis(200));
                        return Err(format!(
                            "sesame serve exited ({status}) before logging `listening on`; its output:\n{}",
                            self.logs()
                        ));
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "sesame serve did not log `listening on` within {READY_TIMEOUT:?}; its output:\n{}",
                            self.logs()
                        ));
                    }
                }
            }
        }
        self.child = Some(child);
        // On a first start the RS256 key is generated in the background after sesame is ready;
        // tests expect every key (RS256 apps, JWKS compared across restarts), so wait for it.
        while !self.jwks_has_rsa() {
            if Instant::now() > deadline {
                return Err(format!(
                    "sesame's JWKS had no RSA key within {READY_TIMEOUT:?}; its output:\n{}",
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Whether GET /jwks (plain HTTP/1.0 over a std socket) lists an RSA key.
    fn jwks_has_rsa(&self) -> bool {
        use std::io::Write;
        let path = format!("{}/jwks", self.opts.issuer_path.trim_end_matches('/'));
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut body = String::new();
        let _ = stream.read_to_string(&mut body);
        body.contains("\"kty\":\"RSA\"")
    }

    fn append_log(&self, text: &str) {
        self.log.lock().unwrap().push_str(text);
    }
}

impl Drop for Sesame {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "==== sesame log ({}) ====\n{}\n==== end of sesame log ====",
                self.issuer,
                self.logs()
            );
        }
    }
}

/// A port that was free a moment ago (bind to :0, read it, release it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A lower-case, dash-separated form of a name, for URLs.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The developer's own `SESAME_*` variables must not leak into the server under test.
fn clear_sesame_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SESAME_") {
            cmd.env_remove(key);
        }
    }
}

/// Copies a child's output into `log` line by line on a thread; signals `ready` once a line
/// contains `listening on`.
fn pump(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    ready: Option<mpsc::Sender<()>>,
) {
    std::thread::spawn(move || {
        let mut ready = ready;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
            if line.contains("listening on") {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
            }
        }
    });
}

/// Waits for a child with a bound, collecting its output.
fn wait_output(mut child: Child, timeout: Duration, what: &str) -> Output {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_all = |s: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = s {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_thread = read_all(stdout.map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err_thread = read_all(stderr.map(|s| Box::new(s) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{what}` did not finish within {timeout:?}");
            }
        }
    };
    Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// The repository root (for files the tests ship, like `tests/clients_js`).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
