//! Load on a real `sesame serve` over loopback: throughput and latency of the endpoints an app
//! calls, memory before and after, and how long sesame takes to become ready.
//!
//! Run: `cargo build --release && cargo bench --bench load` (see benches/README.md for what the
//! numbers mean). It builds nothing itself: it runs the release binary (`SESAME_BIN`, default
//! `target/release/sesame`) on 127.0.0.1 with a temporary data directory and talks to it only
//! over loopback. Every loop is bounded by a request count and a time budget, so a slow machine
//! gets fewer requests, never a longer run (about a minute and a half at worst).
//!
//! What it does, in order:
//! 1. Time to ready: spawns sesame 10 times on a fresh data directory (key generation included)
//!    and 10 times on an existing one, timing spawn → first `200` from `/healthz`; then
//!    `sesame dev --listen ADDR` 10 times (a new temporary data directory each time, as a
//!    developer starts it).
//! 2. Starts one sesame, registers an app with `sesame app create --json`, notes idle RSS.
//! 3. Signs in once through the real pages (the code comes from sesame's log: the `log` mail
//!    transport), which gives a session cookie; with it, `/auth` answers at once (single
//!    sign-on), and that is how the authorization codes for the token scenario are made.
//! 4. Scenarios over `SESAME_BENCH_CONNECTIONS` (default 16) keep-alive connections, each
//!    connection sending its next request when the previous answer arrived:
//!    discovery, `/auth` with a session (issues a code), `/token` with those codes, `/token`
//!    refreshing (a chain per connection: each answer carries the next refresh token),
//!    userinfo, whole sign-ins through the pages.
//!    Then, issue 12's machine app: `/token` with client credentials and `/token/introspect`.
//! 5. Forward-auth: the session becomes a forward-auth cookie (`/sign-in?rd=`, no page), and
//!    [`FORWARD_AUTH_CONNECTIONS`] connections ask `/api/authz/forward-auth` what a proxy asks
//!    for a signed-in user under an allow rule. Then RSS again, and each second of 10 s idle.
//!
//! `SESAME_BENCH_ONLY` runs one part instead: `tokens` (`/auth`, the two token grants and
//! userinfo, then memory while idle), `mail` (whole sign-ins with a real STARTTLS + AUTH SMTP
//! server in the loop: `load/mail.rs`), `soak` (64 connections of mixed traffic for 60 s, RSS
//! every second: `load/soak.rs`), `machine` (issue 12: a machine app's client-credentials
//! tokens and introspections: `load/machine.rs`), `console` (issue 8: server time per console
//! page and the users page's weight, with 10,000 users: `load/console.rs`; only alone).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "load/console.rs"]
mod console;
#[path = "load/machine.rs"]
mod machine;
#[path = "load/mail.rs"]
mod mail;
#[path = "load/soak.rs"]
mod soak;

/// Spawns per data-directory kind for the time-to-ready measurement.
const READY_RUNS: usize = 10;
/// Requests per scenario (at most; a scenario also stops at its time budget).
const DISCOVERY_REQUESTS: usize = 50_000;
const AUTHORIZE_REQUESTS: usize = 5_000;
const REFRESH_REQUESTS: usize = 5_000;
const USERINFO_REQUESTS: usize = 50_000;
const SIGN_IN_REQUESTS: usize = 2_000;
const FORWARD_AUTH_REQUESTS: usize = 300_000;
/// A proxy in front of many apps holds many connections to sesame: this many, whatever
/// `SESAME_BENCH_CONNECTIONS` says.
const FORWARD_AUTH_CONNECTIONS: usize = 64;
/// The issuer's host and the cookie domain: forward-auth needs the issuer under a domain (not
/// an IP address); names under localhost are this machine, so nothing needs resolving.
const BENCH_DOMAIN: &str = "bench.localhost";
/// The protected host the proxy asks about, and the rule that allows signed-in people there.
const PROTECTED_HOST: &str = "app.bench.localhost";
const ACCESS_RULES: &str = r#"[{"domain": "app.bench.localhost", "policy": "allow"}]"#;
/// The longest one scenario may run.
const SCENARIO_BUDGET: Duration = Duration::from_secs(15);
const REDIRECT_URI: &str = "http://localhost:3000/api/auth/callback/logto";
const SCOPE: &str = "openid offline_access profile email";
const EMAIL: &str = "load@example.com";

fn main() -> ExitCode {
    let bin = std::env::var_os("SESAME_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/sesame"));
    if !bin.is_file() {
        println!(
            "load bench: no sesame binary at {}.\n\
             Build it first: `cargo build --release && cargo bench --bench load`\n\
             (or point SESAME_BIN at a binary). Nothing measured.",
            bin.display()
        );
        return ExitCode::SUCCESS;
    }
    match run(&bin) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(bin: &Path) -> Result<(), String> {
    let connections: usize = match std::env::var("SESAME_BENCH_CONNECTIONS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=256).contains(n))
            .ok_or("SESAME_BENCH_CONNECTIONS must be 1 to 256")?,
        Err(_) => 16,
    };
    let size = std::fs::metadata(bin).map_err(|e| e.to_string())?.len();
    println!(
        "binary: {} ({:.1} MiB)",
        bin.display(),
        size as f64 / 1048576.0
    );
    let only = std::env::var("SESAME_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() {
        time_to_ready(bin)?;
    }

    // The load generator gets one thread, so sesame keeps most of the machine.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match only.as_str() {
        "" => rt.block_on(load(bin, connections, false)),
        "tokens" => rt.block_on(load(bin, connections, true)),
        "mail" => rt.block_on(mail::run(bin, connections)),
        "soak" => rt.block_on(soak::run(bin)),
        "machine" => rt.block_on(machine::run(bin, connections)),
        "console" => rt.block_on(console::run(bin)),
        other => Err(format!(
            "SESAME_BENCH_ONLY={other:?}: use tokens, mail, soak, machine or console (or leave it unset for everything)"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The sesame process

/// A running `sesame serve` with its stderr collected (the log, where sign-in codes appear).
struct Server {
    child: Child,
    addr: SocketAddr,
    log: LogLines,
}

impl Server {
    fn start(bin: &Path, data_dir: &Path) -> Result<Server, String> {
        Server::start_with(bin, data_dir, &[])
    }

    /// [`Server::start`] with more environment variables (a mail transport).
    fn start_with(bin: &Path, data_dir: &Path, env: &[(&str, String)]) -> Result<Server, String> {
        let addr = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--issuer",
            &format!("http://auth.{BENCH_DOMAIN}:{}", addr.port()),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        // Codes issued by /auth wait for the token scenario, which may come later than 60 s.
        .env("SESAME_TOKENS_AUTHORIZATION_CODE_TTL", "600")
        // The bench signs in a fresh address (sign-up is by invitation by default).
        .env("SESAME_SIGN_UP_MODE", "open")
        .env("SESAME_FORWARD_AUTH_COOKIE_DOMAIN", BENCH_DOMAIN)
        .env("SESAME_ACCESS", ACCESS_RULES)
        // One load generator on 127.0.0.1 is thousands of clients: no per-client limits.
        .env("SESAME_LIMITS_AUTHORIZE_PER_MINUTE", "100000000")
        .env("SESAME_LIMITS_TOKEN_PER_MINUTE", "100000000")
        .env("SESAME_LIMITS_SIGN_IN_PER_MINUTE", "100000000")
        .env("SESAME_LIMITS_FORWARD_AUTH_MISSES_PER_MINUTE", "100000000")
        .env("SESAME_LIMITS_PENDING_SIGN_INS_PER_CLIENT", "100000000")
        .env("SESAME_LIMITS_MAIL_PER_CLIENT_PER_HOUR", "100000000")
        .env("SESAME_LIMITS_MAIL_PER_MINUTE", "100000000")
        .env("SESAME_LIMITS_CONNECTIONS_PER_CLIENT", "100000")
        .env("SESAME_TOKENS_SIGN_IN_CODES_PER_HOUR", "100000000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(data_dir);
        Server::spawn(cmd, addr)
    }

    /// `sesame dev` as a developer starts it: nothing but `--listen` (its data goes to a new
    /// temporary directory, removed when it stops). `cwd` has no sesame.toml.
    fn start_dev(bin: &Path, cwd: &Path) -> Result<Server, String> {
        let addr = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args(["dev", "--listen", &addr.to_string()])
            .current_dir(cwd);
        Server::spawn(cmd, addr)
    }

    fn spawn(mut cmd: Command, addr: SocketAddr) -> Result<Server, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run sesame: {e}"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            // Always drained: a full pipe would block sesame's logging.
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lock(&log).push(line);
                }
            });
        }
        Ok(Server { child, addr, log })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits (polling, at most 30 s) until `/healthz` answers 200; returns when it did.
    fn wait_ready(&mut self) -> Result<Instant, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if healthz_ok(self.addr) {
                return Ok(Instant::now());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "sesame exited ({status}) before it was ready:\n{}",
                    self.log_text()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "sesame was not ready after 30 s:\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn log_text(&self) -> String {
        lock(&self.log).join("\n")
    }

    /// SIGTERM, then waits for the graceful shutdown (the database closes cleanly, so the next
    /// start on the same directory needs no repair).
    fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("sesame did not stop within 15 s of SIGTERM".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Stopped already in the normal path; this covers an early return on error.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<SocketAddr, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map_err(|e| e.to_string())
}

/// One blocking `GET /healthz`; true on a 200.
fn healthz_ok(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// CPU time (user + system) the process has used, from /proc/PID/stat (fields 14 and 15, in
/// clock ticks of 1/100 s, Linux's USER_HZ on every architecture sesame targets).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After ")", field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// `VmRSS`, `VmHWM` (peak RSS) and `Threads` from /proc/PID/status.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "RSS {}, peak RSS {}, threads {}",
        field("VmRSS:"),
        field("VmHWM:"),
        field("Threads:")
    )
}

/// The type of the filesystem holding `path` (the longest mount point above it), from
/// /proc/self/mounts: fsync costs differ by orders of magnitude between tmpfs, a VM disk and an
/// SD card.
fn filesystem(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (dev, point, fs) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(point)
                .then(|| (point.len(), format!("{fs} on {dev}")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "filesystem unknown".into())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The only writers push lines or swap tokens; a panic mid-push leaves usable data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Time to ready

fn time_to_ready(bin: &Path) -> Result<(), String> {
    println!("\ntime to ready: spawn -> first 200 from GET /healthz, {READY_RUNS} runs each");
    let mut fresh = Vec::new();
    for _ in 0..READY_RUNS {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        fresh.push(one_start(bin, dir.path())?);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    one_start(bin, dir.path())?; // creates the keys and the database
    let mut existing = Vec::new();
    for _ in 0..READY_RUNS {
        existing.push(one_start(bin, dir.path())?);
    }
    let cwd = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut dev = Vec::new();
    for _ in 0..READY_RUNS {
        let spawned = Instant::now();
        let mut server = Server::start_dev(bin, cwd.path())?;
        let ready = server.wait_ready()?;
        server.stop()?;
        dev.push(ready - spawned);
    }
    for (what, mut times) in [
        ("fresh data dir (generates keys)", fresh),
        ("existing data dir", existing),
        ("sesame dev (temporary data dir)", dev),
    ] {
        times.sort();
        println!(
            "  {what:<34} min {:>8}  median {:>8}",
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
    Ok(())
}

fn one_start(bin: &Path, dir: &Path) -> Result<Duration, String> {
    let spawned = Instant::now();
    let mut server = Server::start(bin, dir)?;
    let ready = server.wait_ready()?;
    server.stop()?;
    Ok(ready - spawned)
}

// ---------------------------------------------------------------------------------------------
// Load

type Http = Client<HttpConnector, Full<Bytes>>;

/// An app's credentials, from `sesame app create --json`.
#[derive(Clone)]
struct AppCreds {
    client_id: String,
    basic: String,
}

/// The tokens one connection carries from scenario to scenario.
#[derive(Default)]
struct Tokens {
    access: String,
    refresh: String,
}

/// The authorization codes `/auth` issued, waiting for the token scenario.
type Codes = Arc<Mutex<Vec<String>>>;
/// The latest tokens of each connection, by connection index.
type TokenSlots = Arc<Vec<Mutex<Tokens>>>;

/// The scenarios over `connections`; with `tokens_only`, just `/auth`, the two grants and
/// userinfo.
async fn load(bin: &Path, connections: usize, tokens_only: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut server = Server::start(bin, dir.path())?;
    server.wait_ready()?;
    let app = create_app(bin, dir.path())?;
    println!(
        "\nsesame pid {} on {} (log mail transport), data on {} ({})",
        server.pid(),
        server.addr,
        dir.path().display(),
        filesystem(dir.path())
    );
    println!(
        "  idle, after start and app create: {}",
        memory(server.pid())
    );

    let mailbox = Mailbox::Log(server.log.clone());
    let session = sign_in(&client(), &server.base(), &mailbox, &app, EMAIL)
        .await?
        .session;
    let base: Arc<str> = server.base().into();
    let app = Arc::new(app);
    let conns: Vec<Http> = (0..connections).map(|_| client()).collect();
    println!(
        "\n{connections} keep-alive connections; each scenario stops at its request count or after {} s",
        SCENARIO_BUDGET.as_secs()
    );
    println!(
        "  {:<40} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "scenario", "requests", "errors", "req/s", "p50", "p90", "p99", "max", "server CPU/req"
    );
    let pid = server.pid();
    // Server CPU (user + system) spent during one scenario: what a request costs sesame, apart
    // from the load generator that shares the machine.
    macro_rules! measured {
        ($name:expr, $scenario:expr) => {{
            let before = cpu_time(pid);
            let outcome = $scenario.await;
            report($name, outcome, cpu_time(pid).saturating_sub(before));
        }};
    }

    if !tokens_only {
        measured!("GET discovery", discovery(&conns, &base));
    }
    let codes: Codes = Arc::default();
    measured!(
        "GET /auth with a session (issues a code)",
        authorize(&conns, &base, &app, &session, codes.clone())
    );
    let tokens: TokenSlots = Arc::new((0..connections).map(|_| Mutex::default()).collect());
    measured!(
        "POST /token authorization_code",
        exchange_codes(&conns, &base, &app, codes, tokens.clone())
    );
    measured!(
        "POST /token refresh_token (chain per conn)",
        refresh_chains(&conns, &base, &app, tokens.clone())
    );
    measured!("GET /me (userinfo)", userinfo(&conns, &base, tokens));
    if tokens_only {
        println!("\n  after load: {}", memory(server.pid()));
        drop(conns);
        idle_memory(server.pid()).await;
        return server.stop();
    }
    machine::scenarios(bin, dir.path(), &conns, &base, pid).await?;
    measured!(
        "sign-in through the pages (6 requests)",
        sign_ins(&conns, &base, &mailbox, &app)
    );

    let forward_auth_cookie = forward_auth_cookie(&client(), &base, &session).await?;
    println!(
        "\n{FORWARD_AUTH_CONNECTIONS} keep-alive connections, as a proxy in front of many apps holds"
    );
    measured!(
        "GET /api/authz/forward-auth (allowed)",
        forward_auth(server.addr, &forward_auth_cookie)
    );

    println!("\n  after load: {}", memory(server.pid()));
    drop(conns);
    idle_memory(server.pid()).await;
    server.stop()
}

/// RSS each second of 10 s without requests (connections closed): what comes back.
async fn idle_memory(pid: u32) {
    let mut series = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        series.push(format!("{:.1}", rss_kib(pid) as f64 / 1024.0));
    }
    println!("  RSS each second of 10 s idle (MiB): {}", series.join(" "));
    println!("  after 10 s idle: {}", memory(pid));
}

/// `VmRSS` in KiB (0 when unreadable).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn discovery(conns: &[Http], base: &str) -> Outcome {
    let url = format!("{base}/.well-known/openid-configuration");
    run_scenario(conns, DISCOVERY_REQUESTS, move |_, h| {
        let url = url.clone();
        async move {
            expect(
                send(&h, Method::GET, &url, &[], None).await?,
                StatusCode::OK,
            )
            .map(drop)
        }
    })
    .await
}

/// `/auth` with the session cookie: a code at once (single sign-on), kept in `codes`.
async fn authorize(
    conns: &[Http],
    base: &str,
    app: &AppCreds,
    session: &str,
    codes: Codes,
) -> Outcome {
    let url = format!(
        "{base}/auth?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s",
        enc(&app.client_id),
        enc(REDIRECT_URI),
        enc(SCOPE)
    );
    let session = session.to_string();
    run_scenario(conns, AUTHORIZE_REQUESTS, move |_, h| {
        let (url, codes, session) = (url.clone(), codes.clone(), session.clone());
        async move {
            let r = send(&h, Method::GET, &url, &[(COOKIE, &session)], None).await?;
            let r = expect(r, StatusCode::SEE_OTHER)?;
            lock(&codes).push(code_from_location(&r.headers)?);
            Ok(())
        }
    })
    .await
}

/// Exchanges every code; each connection keeps the tokens of its last exchange.
async fn exchange_codes(
    conns: &[Http],
    base: &str,
    app: &Arc<AppCreds>,
    codes: Codes,
    tokens: TokenSlots,
) -> Outcome {
    let total = lock(&codes).len();
    let (base, app) = (base.to_string(), app.clone());
    run_scenario(conns, total, move |w, h| {
        let (base, app, codes, tokens) = (base.clone(), app.clone(), codes.clone(), tokens.clone());
        async move {
            let code = lock(&codes).pop().ok_or("no authorization code left")?;
            let form = [
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ];
            *lock(&tokens[w]) = token_request(&h, &base, &app, &form).await?;
            Ok(())
        }
    })
    .await
}

/// Refreshes one chain per connection: each answer carries the next refresh token.
async fn refresh_chains(
    conns: &[Http],
    base: &str,
    app: &Arc<AppCreds>,
    tokens: TokenSlots,
) -> Outcome {
    let (base, app) = (base.to_string(), app.clone());
    run_scenario(conns, REFRESH_REQUESTS, move |w, h| {
        let (base, app, tokens) = (base.clone(), app.clone(), tokens.clone());
        async move {
            let refresh = lock(&tokens[w]).refresh.clone();
            if refresh.is_empty() {
                return Err("this connection got no refresh token".into());
            }
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ];
            *lock(&tokens[w]) = token_request(&h, &base, &app, &form).await?;
            Ok(())
        }
    })
    .await
}

/// Userinfo with each connection's latest access token.
async fn userinfo(conns: &[Http], base: &str, tokens: TokenSlots) -> Outcome {
    let url = format!("{base}/me");
    run_scenario(conns, USERINFO_REQUESTS, move |w, h| {
        let (url, tokens) = (url.clone(), tokens.clone());
        async move {
            let bearer = format!("Bearer {}", lock(&tokens[w]).access);
            let r = send(&h, Method::GET, &url, &[(AUTHORIZATION, &bearer)], None).await?;
            let r = expect(r, StatusCode::OK)?;
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
            v["sub"]
                .as_str()
                .map(drop)
                .ok_or_else(|| "userinfo has no sub".to_string())
        }
    })
    .await
}

/// The forward-auth cookie for the signed-in browser: `/sign-in?rd=` with its sesame session
/// answers at once (no page) with the cookie and a redirect back.
async fn forward_auth_cookie(h: &Http, base: &str, session: &str) -> Result<String, String> {
    let rd = format!("http://{PROTECTED_HOST}/dashboard");
    let url = format!("{base}/sign-in?rd={}", enc(&rd));
    let r = expect(
        send(h, Method::GET, &url, &[(COOKIE, session)], None).await?,
        StatusCode::SEE_OTHER,
    )?;
    if header(&r.headers, LOCATION)? != rd {
        return Err(format!("/sign-in?rd= went elsewhere than {rd}"));
    }
    cookie(&r.headers, "sesame_forward_auth")
}

/// What Caddy's `forward_auth` sends for each request to the protected host: the original
/// request in `X-Forwarded-*`, and the browser's cookies. The answer must be 200 with the user.
///
/// This scenario has its own client: each connection writes the same request bytes and reads
/// the answer's head (a check's answer has no body), a few µs of the load generator's CPU per
/// request where hyper's client takes about 25. On 2 shared cores the generator would
/// otherwise be what is measured: with hyper's client this scenario stopped at ~39,000/s with
/// sesame using 14 µs of CPU per check.
async fn forward_auth(addr: SocketAddr, cookie: &str) -> Outcome {
    let request: Arc<[u8]> = format!(
        "GET /api/authz/forward-auth HTTP/1.1\r\n\
         host: {addr}\r\n\
         cookie: {cookie}\r\n\
         x-forwarded-method: GET\r\n\
         x-forwarded-proto: http\r\n\
         x-forwarded-host: {PROTECTED_HOST}\r\n\
         x-forwarded-uri: /dashboard?tab=1\r\n\
         x-forwarded-for: 192.0.2.10\r\n\r\n"
    )
    .into_bytes()
    .into();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + SCENARIO_BUDGET;
    let workers: Vec<_> = (0..FORWARD_AUTH_CONNECTIONS)
        .map(|_| {
            let (request, next) = (request.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut stream = match connect(addr).await {
                    Ok(s) => s,
                    Err(e) => return (latencies, Some(e)),
                };
                let mut buf = vec![0u8; 4096];
                while next.fetch_add(1, Ordering::Relaxed) < FORWARD_AUTH_REQUESTS
                    && Instant::now() < deadline
                {
                    let t = Instant::now();
                    match check_once(&mut stream, &request, &mut buf).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => return (latencies, Some(e)),
                    }
                }
                (latencies, None)
            })
        })
        .collect();
    collect(workers, started).await
}

async fn connect(addr: SocketAddr) -> Result<tokio::net::TcpStream, String> {
    let s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

/// One check on a keep-alive connection: the request written, the answer's head read whole;
/// it must be 200, name the user, and have no body.
async fn check_once(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
    buf: &mut [u8],
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request).await.map_err(|e| e.to_string())?;
    let mut n = 0;
    loop {
        let k = stream
            .read(&mut buf[n..])
            .await
            .map_err(|e| e.to_string())?;
        if k == 0 {
            return Err("sesame closed the connection".into());
        }
        n += k;
        if buf[..n].ends_with(b"\r\n\r\n") {
            break;
        }
        if n == buf.len() {
            return Err("an answer head over 4 KiB".into());
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(format!(
            "expected 200, got {}",
            head.lines().next().unwrap_or("")
        ));
    }
    if !head.contains(&format!("\r\nremote-user: {EMAIL}\r\n"))
        || !head.contains("\r\ncontent-length: 0\r\n")
    {
        return Err(format!("not a pass for {EMAIL} without a body:\n{head}"));
    }
    Ok(())
}

fn client() -> Http {
    // One client per connection, so each worker holds exactly one keep-alive connection.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector)
}

fn create_app(bin: &Path, dir: &Path) -> Result<AppCreds, String> {
    create_app_with(
        bin,
        dir,
        &["--name", "Load bench", "--redirect-uri", REDIRECT_URI],
    )
}

/// `sesame app create ARGS --json`: the app's client ID and its Basic credentials.
fn create_app_with(bin: &Path, dir: &Path, args: &[&str]) -> Result<AppCreds, String> {
    let out = Command::new(bin)
        .args(["app", "create"])
        .args(args)
        .args(["--json", "--data-dir"])
        .arg(dir)
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "sesame app create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("app create --json: {e}"))?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or(format!("app create --json has no {k}: {v}"))
    };
    let (id, secret) = (field("client_id")?, field("client_secret")?);
    // RFC 6749 §2.3.1: each part form-encoded, then base64.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", enc(&id), enc(&secret)),
    );
    Ok(AppCreds {
        client_id: id,
        basic: format!("Basic {basic}"),
    })
}

/// Whole sign-ins through the pages, each with a fresh address (sign-up is open in this
/// bench): `/auth`, the email page, the email posted (a code "mailed" by the log transport), the
/// code read from the log and posted, the redirect with an authorization code. One request of
/// the table is one whole sign-in of six HTTP requests.
async fn sign_ins(conns: &[Http], base: &str, mailbox: &Mailbox, app: &AppCreds) -> Outcome {
    let (base, log, app) = (
        Arc::<str>::from(base),
        mailbox.clone(),
        Arc::new(app.clone()),
    );
    let n = Arc::new(AtomicUsize::new(0));
    run_scenario(conns, SIGN_IN_REQUESTS, move |w, h| {
        let (base, log, app) = (base.clone(), log.clone(), app.clone());
        let email = format!(
            "signin-{w}-{}@example.com",
            n.fetch_add(1, Ordering::Relaxed)
        );
        async move { sign_in(&h, &base, &log, &app, &email).await.map(drop) }
    })
    .await
}

/// sesame's log lines, as the reader thread collects them.
type LogLines = Arc<Mutex<Vec<String>>>;

/// Where the sign-in codes arrive: sesame's log (the `log` transport), or a real SMTP server.
#[derive(Clone)]
enum Mailbox {
    Log(LogLines),
    Smtp(Arc<mail::smtp::SmtpServer>),
}

impl Mailbox {
    async fn code_for(&self, email: &str) -> Result<String, String> {
        match self {
            Mailbox::Log(log) => code_in_log(log, email).await,
            Mailbox::Smtp(server) => mail::code_in_mailbox(server, email).await,
        }
    }
}

/// The newest sign-in code logged for `email`, waiting (asynchronously) up to 10 s.
async fn code_in_log(log: &LogLines, email: &str) -> Result<String, String> {
    let needle = format!("code for {email} is ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let found = lock(log).iter().rev().take(2_000).find_map(|l| {
            let rest = &l[l.find(&needle)? + needle.len()..];
            Some(
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>(),
            )
        });
        if let Some(code) = found.filter(|c| !c.is_empty()) {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(format!("no sign-in code for {email} in sesame's log"))
}

/// What one sign-in through the pages gave.
struct SignedIn {
    /// The `sesame_session` cookie (`name=value`), with which `/auth` issues codes at once.
    session: String,
    /// The authorization code in the redirect back to the app.
    code: String,
    /// How long the email form's POST took: sesame mails the code before it answers.
    email_post: Duration,
}

/// Signs in once through the pages, as a browser would.
async fn sign_in(
    http: &Http,
    base: &str,
    mailbox: &Mailbox,
    app: &AppCreds,
    email: &str,
) -> Result<SignedIn, String> {
    let url = format!(
        "{base}/auth?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s&nonce=n",
        enc(&app.client_id),
        enc(REDIRECT_URI),
        enc(SCOPE)
    );
    let r = expect(
        send(http, Method::GET, &url, &[], None).await?,
        StatusCode::SEE_OTHER,
    )?;
    let interaction_cookie = cookie(&r.headers, "sesame_interaction")?;
    let page = format!("{base}{}", header(&r.headers, LOCATION)?);
    let interaction = url::Url::parse(&page)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "interaction")
        .map(|(_, v)| v.into_owned())
        .ok_or("the sign-in redirect has no interaction")?;
    let r = expect(
        send(
            http,
            Method::GET,
            &page,
            &[(COOKIE, &interaction_cookie)],
            None,
        )
        .await?,
        StatusCode::OK,
    )?;
    let html = String::from_utf8_lossy(&r.body);
    let csrf = hidden_value(&html, "csrf").ok_or("no csrf field on the sign-in page")?;
    let form = enc_form(&[
        ("interaction", &interaction),
        ("csrf", &csrf),
        ("email", email),
    ]);
    let post = |path: &'static str, body: String| {
        let (url, c) = (format!("{base}{path}"), interaction_cookie.clone());
        async move {
            send(
                http,
                Method::POST,
                &url,
                &[(COOKIE, &c), (CONTENT_TYPE, FORM)],
                Some(body),
            )
            .await
        }
    };
    let posted = Instant::now();
    expect(post("/sign-in", form).await?, StatusCode::SEE_OTHER)?;
    let email_post = posted.elapsed();
    let code = mailbox.code_for(email).await?;
    let form = enc_form(&[
        ("interaction", &interaction),
        ("csrf", &csrf),
        ("code", &code),
    ]);
    let r = expect(post("/sign-in/code", form).await?, StatusCode::SEE_OTHER)?;
    Ok(SignedIn {
        code: code_from_location(&r.headers)?,
        session: cookie(&r.headers, "sesame_session")?,
        email_post,
    })
}

/// A token request with client_secret_basic; the tokens it returned.
async fn token_request(
    h: &Http,
    base: &str,
    app: &AppCreds,
    form: &[(&str, &str)],
) -> Result<Tokens, String> {
    let headers = [(AUTHORIZATION, app.basic.as_str()), (CONTENT_TYPE, FORM)];
    let r = expect(
        send(
            h,
            Method::POST,
            &format!("{base}/token"),
            &headers,
            Some(enc_form(form)),
        )
        .await?,
        StatusCode::OK,
    )?;
    let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or(format!("token response has no {k}"))
    };
    field("id_token")?;
    Ok(Tokens {
        access: field("access_token")?,
        refresh: field("refresh_token")?,
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP

const FORM: &str = "application/x-www-form-urlencoded";

/// A response, its body read whole (so the connection can carry the next request).
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(
    h: &Http,
    method: Method,
    url: &str,
    headers: &[(HeaderName, &str)],
    body: Option<String>,
) -> Result<Reply, String> {
    let mut req = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(
            name,
            HeaderValue::from_str(value).map_err(|e| e.to_string())?,
        );
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let resp = h.request(req).await.map_err(|e| format!("{url}: {e}"))?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

fn expect(r: Reply, status: StatusCode) -> Result<Reply, String> {
    if r.status == status {
        return Ok(r);
    }
    let body = String::from_utf8_lossy(&r.body);
    Err(format!(
        "expected {status}, got {}: {}",
        r.status,
        body.chars().take(300).collect::<String>()
    ))
}

fn header(h: &HeaderMap, name: HeaderName) -> Result<String, String> {
    h.get(&name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or(format!("no {name} header"))
}

/// The cookie `name` set by a response, as `name=value` for a `Cookie` header.
fn cookie(h: &HeaderMap, name: &str) -> Result<String, String> {
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")))
        .map(str::to_string)
        .ok_or(format!("no {name} cookie set"))
}

/// The `code` parameter of a redirect back to the app.
fn code_from_location(h: &HeaderMap) -> Result<String, String> {
    let loc = header(h, LOCATION)?;
    url::Url::parse(&loc)
        .map_err(|e| format!("{loc}: {e}"))?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or(format!("no code in {loc}"))
}

/// The value of `<input ... name="NAME" ... value="...">`.
fn hidden_value(html: &str, name: &str) -> Option<String> {
    let tag_start = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..tag_start].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let v = &tag[tag.find("value=\"")? + 7..];
    Some(v[..v.find('"')?].to_string())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn enc_form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

// ---------------------------------------------------------------------------------------------
// Running a scenario and reporting

/// What one scenario measured.
struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
}

/// Runs `step(connection index, client)` up to `total` times over all connections, each
/// connection one request at a time. A connection stops at its first error.
async fn run_scenario<F, Fut>(conns: &[Http], total: usize, step: F) -> Outcome
where
    F: Fn(usize, Http) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let step = Arc::new(step);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + SCENARIO_BUDGET;
    let workers: Vec<_> = conns
        .iter()
        .enumerate()
        .map(|(w, h)| {
            let (step, next, h) = (step.clone(), next.clone(), h.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                    let t = Instant::now();
                    match step(w, h.clone()).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => return (latencies, Some(e)),
                    }
                }
                (latencies, None)
            })
        })
        .collect();
    collect(workers, started).await
}

/// Waits for every worker and puts their latencies and first error together.
async fn collect(
    workers: Vec<tokio::task::JoinHandle<(Vec<Duration>, Option<String>)>>,
    started: Instant,
) -> Outcome {
    let mut out = Outcome {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        wall: Duration::ZERO,
    };
    for w in workers {
        let (lat, err) = w
            .await
            .unwrap_or_else(|e| (Vec::new(), Some(format!("worker panicked: {e}"))));
        out.latencies.extend(lat);
        if let Some(e) = err {
            out.errors += 1;
            out.first_error.get_or_insert(e);
        }
    }
    out.wall = started.elapsed();
    out
}

fn report(name: &str, mut o: Outcome, cpu: Duration) {
    o.latencies.sort();
    let n = o.latencies.len();
    let pct = |p: usize| {
        if n == 0 {
            Duration::ZERO
        } else {
            o.latencies[((n * p).div_ceil(100)).saturating_sub(1).min(n - 1)]
        }
    };
    let rate = n as f64 / o.wall.as_secs_f64().max(1e-9);
    let cpu_per_request = cpu.as_secs_f64() * 1e6 / (n.max(1) as f64);
    println!(
        "  {name:<40} {n:>8} {:>6} {rate:>9.1} {:>9} {:>9} {:>9} {:>9} {cpu_per_request:>8.0} µs",
        o.errors,
        ms(pct(50)),
        ms(pct(90)),
        ms(pct(99)),
        ms(o.latencies.last().copied().unwrap_or_default())
    );
    if let Some(e) = o.first_error {
        println!("    first error: {e}");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
