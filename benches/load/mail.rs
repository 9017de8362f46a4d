//! `SESAME_BENCH_ONLY=mail`: email-code logins with a real SMTP server in the loop.
//!
//! The server is the tests' aiosmtpd helper (`tests/support/smtp_server.py`: STARTTLS required,
//! then AUTH PLAIN/LOGIN, as SES's SMTP interface asks), on loopback with its own CA. sesame
//! sends every code through it, and the bench reads the code from the message the server
//! stored. What it measures:
//!
//! 1. whole logins, one after another on each connection: `/auth`, the email page, the email
//!    posted (sesame mails the code before answering), the code posted, the redirect, the token
//!    exchange. Also the email POST alone: a send over sesame's pooled SMTP connection;
//! 2. `sesame mail test` against the running server (the control socket: its pooled
//!    connection), then with sesame stopped (a new process and a new SMTP connection each);
//! 3. the same send by Python's smtplib, fresh and reused, as a reference.

use super::*;

#[path = "../../tests/support/smtp.rs"]
pub(super) mod smtp;

/// Whole logins measured (after [`WARM_UP`] unmeasured ones).
const LOGINS: usize = 300;
const WARM_UP: usize = 5;
/// `sesame mail test` runs per kind.
const MAIL_TESTS: usize = 20;
const SMTP_USER: &str = "bench";
const SMTP_PASSWORD: &str = "bench-secret";
const FROM: &str = "sesame@example.com";

pub(super) async fn run(bin: &Path, connections: usize) -> Result<(), String> {
    let server = Arc::new(smtp::SmtpServer::start(smtp::SmtpOpts::with_auth(
        SMTP_USER,
        SMTP_PASSWORD,
    )));
    let env = mail_env(&server);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut sesame = Server::start_with(bin, dir.path(), &env)?;
    sesame.wait_ready()?;
    let app = Arc::new(create_app(bin, dir.path())?);
    let mailbox = Mailbox::Smtp(server.clone());
    println!(
        "\nsesame pid {} on {}, mail: SMTP STARTTLS + AUTH to aiosmtpd on 127.0.0.1:{}",
        sesame.pid(),
        sesame.addr,
        server.port
    );
    let base: Arc<str> = sesame.base().into();
    for i in 0..WARM_UP {
        login(
            &client(),
            &base,
            &mailbox,
            &app,
            &format!("warm-{i}@example.com"),
        )
        .await?;
    }
    let conns: Vec<Http> = (0..connections).map(|_| client()).collect();
    println!("\n{connections} keep-alive connection(s), {LOGINS} logins");
    println!(
        "  {:<40} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "scenario", "requests", "errors", "req/s", "p50", "p90", "p99", "max", "server CPU/req"
    );
    let posts: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let before = cpu_time(sesame.pid());
    let n = Arc::new(AtomicUsize::new(0));
    let outcome = {
        let (base, mailbox, app, posts) =
            (base.clone(), mailbox.clone(), app.clone(), posts.clone());
        run_scenario(&conns, LOGINS, move |_, h| {
            let (base, mailbox, app, posts) =
                (base.clone(), mailbox.clone(), app.clone(), posts.clone());
            let email = format!("login-{}@example.com", n.fetch_add(1, Ordering::Relaxed));
            async move {
                let post = login(&h, &base, &mailbox, &app, &email).await?;
                lock(&posts).push(post);
                Ok(())
            }
        })
        .await
    };
    let wall = outcome.wall;
    report(
        "login: pages + code mailed + token",
        outcome,
        cpu_time(sesame.pid()).saturating_sub(before),
    );
    let posts = std::mem::take(&mut *lock(&posts));
    report(
        "  of which POST /sign-in (mails the code)",
        Outcome {
            latencies: posts,
            errors: 0,
            first_error: None,
            wall,
        },
        Duration::ZERO,
    );

    println!("\nsesame mail test, {MAIL_TESTS} runs each (wall time of the command)");
    let warm = mail_tests(bin, dir.path(), &env)?;
    print_times("through the running server (pooled)", warm);
    drop(conns);
    println!("  after the logins: {}", memory(sesame.pid()));
    sesame.stop()?;
    let fresh = mail_tests(bin, dir.path(), &env)?;
    print_times("no server (new process, new connection)", fresh);
    python_reference(&server);
    Ok(())
}

/// The mail settings pointing sesame at `server`.
fn mail_env(server: &smtp::SmtpServer) -> Vec<(&'static str, String)> {
    vec![
        ("SESAME_MAIL_TRANSPORT", "smtp".into()),
        ("SESAME_MAIL_FROM", FROM.into()),
        ("SESAME_MAIL_SMTP_HOST", "127.0.0.1".into()),
        ("SESAME_MAIL_SMTP_PORT", server.port.to_string()),
        ("SESAME_MAIL_SMTP_TLS", "starttls".into()),
        ("SESAME_MAIL_SMTP_USERNAME", SMTP_USER.into()),
        ("SESAME_MAIL_SMTP_PASSWORD", SMTP_PASSWORD.into()),
        (
            "SESAME_MAIL_SMTP_CA_FILE",
            server.ca_pem_path.display().to_string(),
        ),
    ]
}

/// One whole login: the pages, the code from the mailbox, the token exchange. Returns how long
/// the email POST (the send) took.
async fn login(
    h: &Http,
    base: &str,
    mailbox: &Mailbox,
    app: &AppCreds,
    email: &str,
) -> Result<Duration, String> {
    let signed_in = sign_in(h, base, mailbox, app, email).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", signed_in.code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    token_request(h, base, app, &form).await?;
    Ok(signed_in.email_post)
}

/// The code in the newest message to `email`. sesame answers the email POST after the server's
/// `250`, and the server stores a message before it says `250`: it is there already.
pub(super) async fn code_in_mailbox(
    server: &smtp::SmtpServer,
    email: &str,
) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(message) = server.try_next_message() {
            if message.rcpt_tos.iter().any(|r| r == email) {
                return message
                    .extract_code()
                    .ok_or_else(|| format!("no code in the message to {email}"));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no message to {email} within 10 s"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Runs `sesame mail test` [`MAIL_TESTS`] times; the wall time of each.
fn mail_tests(bin: &Path, dir: &Path, env: &[(&str, String)]) -> Result<Vec<Duration>, String> {
    let mut times = Vec::new();
    for i in 0..MAIL_TESTS {
        let started = Instant::now();
        let out = Command::new(bin)
            .args(["mail", "test", "--to", &format!("test-{i}@example.com")])
            .arg("--data-dir")
            .arg(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir)
            .output()
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        if !out.status.success() {
            return Err(format!(
                "sesame mail test failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(times)
}

fn print_times(what: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "  {what:<42} min {:>8}  median {:>8}  max {:>8}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}

/// Python's smtplib sending the same kind of message through the same server: fresh
/// connections, then one reused connection (a reference for what the protocol costs here).
fn python_reference(server: &smtp::SmtpServer) {
    let script = r#"
import smtplib, ssl, sys, time
port, ca, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
msg = "From: sesame@example.com\r\nTo: py@example.com\r\nSubject: Your code\r\n\r\nYour code is 123456\r\n"
def fresh():
    s = smtplib.SMTP("127.0.0.1", port); s.starttls(context=ctx); s.login(user, pw)
    s.sendmail("sesame@example.com", ["py@example.com"], msg); s.quit()
def med(xs): xs = sorted(xs); return xs[len(xs) // 2] * 1000
f = []
for _ in range(20):
    t = time.perf_counter(); fresh(); f.append(time.perf_counter() - t)
s = smtplib.SMTP("127.0.0.1", port); s.starttls(context=ctx); s.login(user, pw)
r = []
for _ in range(50):
    t = time.perf_counter(); s.sendmail("sesame@example.com", ["py@example.com"], msg); r.append(time.perf_counter() - t)
s.quit()
print(f"  python smtplib, fresh connection             median {med(f):6.2f} ms")
print(f"  python smtplib, reused connection            median {med(r):6.2f} ms")
"#;
    let python = std::env::var("SESAME_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(python)
        .args(["-c", script, &server.port.to_string()])
        .arg(&server.ca_pem_path)
        .args([SMTP_USER, SMTP_PASSWORD])
        .output()
    {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "  python reference failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!("  python reference not run: {e}"),
    }
}
