//! Issue 12's machine app under load: `/token` with `grant_type=client_credentials`, then
//! `/token/introspect` of the tokens it got; then the same two for an API (`resource=`): ES256
//! JWT access tokens (RFC 9068), signed and not stored. Part of the full run (after userinfo),
//! or alone with `SESAME_BENCH_ONLY=machine`.

use super::*;

/// `SESAME_BENCH_ONLY=machine`: a sesame of its own, just these two scenarios.
pub(super) async fn run(bin: &Path, connections: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut server = Server::start(bin, dir.path())?;
    server.wait_ready()?;
    let conns: Vec<Http> = (0..connections).map(|_| client()).collect();
    println!("\n{connections} keep-alive connections");
    scenarios(bin, dir.path(), &conns, &server.base(), server.pid()).await?;
    drop(conns);
    server.stop()
}

/// Requests per machine scenario (at most; each also stops at its time budget).
const CLIENT_CREDENTIALS_REQUESTS: usize = 50_000;
const INTROSPECTION_REQUESTS: usize = 50_000;

/// Registers a machine app, then: `/token` with `grant_type=client_credentials` (each
/// connection keeps its latest token), and `/token/introspect` of those tokens by the app.
pub(super) async fn scenarios(
    bin: &Path,
    dir: &Path,
    conns: &[Http],
    base: &str,
    pid: u32,
) -> Result<(), String> {
    let app = Arc::new(create_app_with(
        bin,
        dir,
        &["--name", "Load machine", "--type", "machine"],
    )?);
    let latest: Arc<Vec<Mutex<String>>> =
        Arc::new(conns.iter().map(|_| Mutex::default()).collect());
    let before = cpu_time(pid);
    let body = "grant_type=client_credentials".to_string();
    let outcome = client_credentials(conns, base, &app, latest.clone(), body).await;
    report(
        "POST /token client_credentials",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    let before = cpu_time(pid);
    let outcome = introspections(conns, base, &app, latest.clone()).await;
    report(
        "POST /token/introspect (active)",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    // The same app, now for an API: the token is an ES256 at+jwt, signed once, not stored.
    let grant = format!("{BENCH_API}=jobs");
    cli(
        bin,
        dir,
        &[
            "api",
            "create",
            BENCH_API,
            "--name",
            "Bench API",
            "--scope",
            "jobs",
        ],
    )?;
    cli(
        bin,
        dir,
        &["app", "update", &app.client_id, "--api-scope", &grant],
    )?;
    let body = enc_form(&[
        ("grant_type", "client_credentials"),
        ("resource", BENCH_API),
        ("scope", "jobs"),
    ]);
    // The token endpoint's per-address budget (a minute's worth at once, then at most 1000 a
    // second: the limiter counts milliseconds) was spent by the scenarios before; a minute
    // idle makes it whole again, so this scenario measures signing, not the limiter.
    tokio::time::sleep(Duration::from_secs(61)).await;
    let before = cpu_time(pid);
    let outcome = client_credentials(conns, base, &app, latest.clone(), body).await;
    report(
        "POST /token client_credentials (ES256 JWT)",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    let before = cpu_time(pid);
    let outcome = introspections(conns, base, &app, latest).await;
    report(
        "POST /token/introspect (JWT, active)",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    Ok(())
}

/// The API the JWT scenarios ask tokens for.
const BENCH_API: &str = "https://api.bench.localhost/";

/// Runs `sesame ARGS --data-dir DIR` (the running server's control socket).
fn cli(bin: &Path, dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(bin)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "sesame {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

async fn client_credentials(
    conns: &[Http],
    base: &str,
    app: &Arc<AppCreds>,
    latest: Arc<Vec<Mutex<String>>>,
    form: String,
) -> Outcome {
    let (url, app) = (format!("{base}/token"), app.clone());
    run_scenario(conns, CLIENT_CREDENTIALS_REQUESTS, move |w, h| {
        let (url, app, latest, form) = (url.clone(), app.clone(), latest.clone(), form.clone());
        async move {
            let headers = [(AUTHORIZATION, app.basic.as_str()), (CONTENT_TYPE, FORM)];
            let body = Some(form);
            let r = expect(
                send(&h, Method::POST, &url, &headers, body).await?,
                StatusCode::OK,
            )?;
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
            let at = v["access_token"].as_str().ok_or("no access_token")?;
            *lock(&latest[w]) = at.to_string();
            Ok(())
        }
    })
    .await
}

async fn introspections(
    conns: &[Http],
    base: &str,
    app: &Arc<AppCreds>,
    latest: Arc<Vec<Mutex<String>>>,
) -> Outcome {
    let (url, app) = (format!("{base}/token/introspect"), app.clone());
    run_scenario(conns, INTROSPECTION_REQUESTS, move |w, h| {
        let (url, app, latest) = (url.clone(), app.clone(), latest.clone());
        async move {
            let token = lock(&latest[w]).clone();
            let headers = [(AUTHORIZATION, app.basic.as_str()), (CONTENT_TYPE, FORM)];
            let body = Some(enc_form(&[("token", &token)]));
            let r = expect(
                send(&h, Method::POST, &url, &headers, body).await?,
                StatusCode::OK,
            )?;
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
            match v["active"].as_bool() {
                Some(true) => Ok(()),
                _ => Err(format!("introspection: {v}")),
            }
        }
    })
    .await
}
