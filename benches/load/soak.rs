//! `SESAME_BENCH_ONLY=soak`: [`CONNECTIONS`] keep-alive connections of mixed traffic for
//! [`DURATION`], RSS recorded every second, then 10 s idle.
//!
//! Each connection first signs in (its own address) and exchanges the code, then loops over
//! discovery, a refresh of its own chain, userinfo with its latest access token, and (every
//! [`SIGN_IN_EVERY`]th step) a whole sign-in through the pages with a fresh address (the code
//! read from sesame's log: the `log` transport). A connection stops at its first unexpected
//! answer; the aim is 0 errors.

use super::*;

const CONNECTIONS: usize = 64;
const DURATION: Duration = Duration::from_secs(60);
/// One step in this many is a whole sign-in (six requests and three commits); the others
/// rotate through discovery, refresh and userinfo.
const SIGN_IN_EVERY: usize = 8;

/// The kinds of step, in report order.
const KINDS: [&str; 4] = [
    "GET discovery",
    "POST /token refresh_token",
    "GET /me (userinfo)",
    "sign-in through the pages (6 requests)",
];

pub(super) async fn run(bin: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut server = Server::start(bin, dir.path())?;
    server.wait_ready()?;
    let app = Arc::new(create_app(bin, dir.path())?);
    let pid = server.pid();
    println!(
        "\nsesame pid {pid} on {} (log mail transport), data on {} ({})",
        server.addr,
        dir.path().display(),
        filesystem(dir.path())
    );
    println!("  idle, after start and app create: {}", memory(pid));
    let base: Arc<str> = server.base().into();
    let mailbox = Mailbox::Log(server.log.clone());

    // RSS every second while the load runs.
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut series = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                series.push(rss_kib(pid));
            }
            series
        })
    };
    let before = cpu_time(pid);
    let started = Instant::now();
    let deadline = started + DURATION;
    let signups = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|w| {
            let (base, mailbox, app, signups) =
                (base.clone(), mailbox.clone(), app.clone(), signups.clone());
            tokio::spawn(async move { worker(w, &base, &mailbox, &app, &signups, deadline).await })
        })
        .collect();
    let mut by_kind: Vec<Outcome> = KINDS
        .iter()
        .map(|_| Outcome {
            latencies: Vec::new(),
            errors: 0,
            first_error: None,
            wall: Duration::ZERO,
        })
        .collect();
    for w in workers {
        let (latencies, error) = w.await.unwrap_or_else(|e| {
            (
                Default::default(),
                Some((0, format!("worker panicked: {e}"))),
            )
        });
        for (kind, lat) in latencies.into_iter().enumerate() {
            by_kind[kind].latencies.extend(lat);
        }
        if let Some((kind, e)) = error {
            by_kind[kind].errors += 1;
            by_kind[kind].first_error.get_or_insert(e);
        }
    }
    let wall = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(before);
    sampling.store(false, Ordering::Relaxed);
    let series = sampler.join().unwrap_or_default();

    println!(
        "\n{CONNECTIONS} keep-alive connections of mixed traffic for {} s ({:.1} s measured)",
        DURATION.as_secs(),
        wall.as_secs_f64()
    );
    println!(
        "  {:<40} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "step", "requests", "errors", "req/s", "p50", "p90", "p99", "max"
    );
    let steps: usize = by_kind.iter().map(|o| o.latencies.len()).sum();
    let errors: usize = by_kind.iter().map(|o| o.errors).sum();
    for (name, mut o) in KINDS.iter().zip(by_kind) {
        o.wall = wall;
        report(name, o, Duration::ZERO);
    }
    println!(
        "  all: {steps} steps, {errors} errors, server CPU {:.1} s ({:.0} % of one core)",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
    );
    print_series("RSS each second under load (MiB)", &series);
    println!("  after load: {}", memory(pid));
    idle_memory(pid).await;
    server.stop()
}

/// Latencies by kind, and the first error with its kind.
type WorkerResult = ([Vec<Duration>; 4], Option<(usize, String)>);

/// One connection's loop until `deadline` or its first error.
async fn worker(
    w: usize,
    base: &str,
    mailbox: &Mailbox,
    app: &AppCreds,
    signups: &AtomicUsize,
    deadline: Instant,
) -> WorkerResult {
    let mut latencies: [Vec<Duration>; 4] = Default::default();
    let h = client();
    let email = |n: usize| format!("soak-{w}-{n}@example.com");
    let first = match start_chain(&h, base, mailbox, app, &email(0)).await {
        Ok(t) => t,
        Err(e) => return (latencies, Some((3, e))),
    };
    let mut tokens = first;
    let mut step = w; // connections start at different kinds
    while Instant::now() < deadline {
        let kind = if step % SIGN_IN_EVERY == SIGN_IN_EVERY - 1 {
            3
        } else {
            step % 3
        };
        step += 1;
        let t = Instant::now();
        let result = match kind {
            0 => discovery_once(&h, base).await,
            1 => refresh_once(&h, base, app, &mut tokens).await,
            2 => userinfo_once(&h, base, &tokens).await,
            _ => {
                let n = signups.fetch_add(1, Ordering::Relaxed) + 1;
                sign_in(&h, base, mailbox, app, &email(n)).await.map(drop)
            }
        };
        match result {
            Ok(()) => latencies[kind].push(t.elapsed()),
            Err(e) => return (latencies, Some((kind, e))),
        }
    }
    (latencies, None)
}

/// A sign-in and its code exchanged: the connection's first tokens.
async fn start_chain(
    h: &Http,
    base: &str,
    mailbox: &Mailbox,
    app: &AppCreds,
    email: &str,
) -> Result<Tokens, String> {
    let signed_in = sign_in(h, base, mailbox, app, email).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", signed_in.code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    token_request(h, base, app, &form).await
}

async fn discovery_once(h: &Http, base: &str) -> Result<(), String> {
    let url = format!("{base}/.well-known/openid-configuration");
    expect(send(h, Method::GET, &url, &[], None).await?, StatusCode::OK).map(drop)
}

async fn refresh_once(
    h: &Http,
    base: &str,
    app: &AppCreds,
    tokens: &mut Tokens,
) -> Result<(), String> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh.as_str()),
    ];
    *tokens = token_request(h, base, app, &form).await?;
    Ok(())
}

async fn userinfo_once(h: &Http, base: &str, tokens: &Tokens) -> Result<(), String> {
    let bearer = format!("Bearer {}", tokens.access);
    let url = format!("{base}/me");
    let r = send(h, Method::GET, &url, &[(AUTHORIZATION, &bearer)], None).await?;
    expect(r, StatusCode::OK).map(drop)
}

/// A series of KiB values as MiB, with its minimum, maximum and last value.
fn print_series(what: &str, kib: &[u64]) {
    let mib = |k: u64| k as f64 / 1024.0;
    let (Some(min), Some(max), Some(last)) = (kib.iter().min(), kib.iter().max(), kib.last())
    else {
        println!("  {what}: no samples");
        return;
    };
    println!(
        "  {what}: min {:.1}, max {:.1}, last {:.1}",
        mib(*min),
        mib(*max),
        mib(*last)
    );
    let series: Vec<String> = kib.iter().map(|k| format!("{:.0}", mib(*k))).collect();
    println!("    {}", series.join(" "));
}
