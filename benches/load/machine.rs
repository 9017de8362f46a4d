//! Issue 12's machine app under load: `/token` with `grant_type=client_credentials`, then
//! `/token/introspect` of the tokens it got. Part of the full run (after userinfo), or alone
//! with `SESAME_BENCH_ONLY=machine`.

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
    let outcome = client_credentials(conns, base, &app, latest.clone()).await;
    report(
        "POST /token client_credentials",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    let before = cpu_time(pid);
    let outcome = introspections(conns, base, &app, latest).await;
    report(
        "POST /token/introspect (active)",
        outcome,
        cpu_time(pid).saturating_sub(before),
    );
    Ok(())
}

async fn client_credentials(
    conns: &[Http],
    base: &str,
    app: &Arc<AppCreds>,
    latest: Arc<Vec<Mutex<String>>>,
) -> Outcome {
    let (url, app) = (format!("{base}/token"), app.clone());
    run_scenario(conns, CLIENT_CREDENTIALS_REQUESTS, move |w, h| {
        let (url, app, latest) = (url.clone(), app.clone(), latest.clone());
        async move {
            let headers = [(AUTHORIZATION, app.basic.as_str()), (CONTENT_TYPE, FORM)];
            let body = Some("grant_type=client_credentials".to_string());
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
