//! A running sesame: the shared [`State`], start-up, the accept loop and graceful shutdown.
//!
//! Start-up does only what must happen before the first request (open the store, load or
//! generate keys, reconcile declared apps, parse templates); everything else is lazy. A mail
//! problem never stops the server: it is logged and shown by `/healthz`.

mod routes;
mod signin_routes;

use crate::config::{Config, MailConfig};
use crate::crypto::keys::KeySet;
use crate::http::cookie::CookiePolicy;
use crate::mail::Mailer;
use crate::oidc::Issuer;
use crate::pages::Pages;
use crate::store::{Store, StoreError};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// Everything a request handler may need, shared by all connections.
pub struct State {
    pub config: Config,
    pub issuer: Issuer,
    pub store: Store,
    /// Swapped whole on key rotation; readers clone the `Arc` and never hold the lock.
    pub keys: RwLock<Arc<KeySet>>,
    /// Swapped whole when the mail connector changes at run time (no restart).
    pub mailer: RwLock<Arc<Mailer>>,
    pub pages: Pages,
    pub cookies: CookiePolicy,
}

impl State {
    /// Opens the data directory and prepares everything the server needs.
    pub fn open(config: Config) -> Result<State, String> {
        let issuer = Issuer::parse(&config.issuer)?;
        create_data_dir(&config.data_dir)?;
        let db = config.data_dir.join("sesame.redb");
        let store = open_store(&db).map_err(|e| match e {
            StoreError::Locked => format!(
                "{} is in use by another sesame process: stop it first, or give this one its own --data-dir",
                db.display()
            ),
            other => format!("cannot open {}: {other}", db.display()),
        })?;
        let (keys, _) = KeySet::load_or_generate_ecdsa(&store)
            .map_err(|e| format!("cannot load the signing keys: {e}"))?;
        let report = crate::apps::reconcile(&store, &config.apps)
            .map_err(|e| format!("declared apps: {e}"))?;
        tracing::debug!("declared apps reconciled: {report:?}");
        let mailer = build_mailer(&config.mail, &store);
        let pages = Pages::new(&config.branding).map_err(|e| format!("pages: {e}"))?;
        let cookies = CookiePolicy {
            path: if issuer.base_path.is_empty() {
                "/".into()
            } else {
                issuer.base_path.clone()
            },
            secure: issuer.https,
        };
        Ok(State {
            config,
            issuer,
            store,
            keys: RwLock::new(Arc::new(keys)),
            mailer: RwLock::new(Arc::new(mailer)),
            pages,
            cookies,
        })
    }

    /// The current signing keys.
    pub fn keys(&self) -> Arc<KeySet> {
        // A poisoned lock only means a writer panicked mid-swap; the Arc inside is still whole.
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current mail transport.
    pub fn mailer(&self) -> Arc<Mailer> {
        self.mailer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the signing keys (after rotation).
    pub fn set_keys(&self, keys: KeySet) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
    }

    /// Replaces the mail transport (after `sesame connector set`).
    pub fn set_mailer(&self, mailer: Mailer) {
        *self.mailer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(mailer);
    }
}

/// Builds the mailer from the configuration and any connector stored at run time. A broken
/// mail configuration still lets sesame start: sends then fail with the reason (never a
/// silent fallback to printing codes in the log, which would let log readers sign in).
fn build_mailer(config: &MailConfig, store: &Store) -> Mailer {
    // A stored connector that does not load is a broken mail setup too: falling back to the
    // file's transport (perhaps `log`) would print codes where log readers see them.
    let built = crate::mail::stored_connector(store)
        .map_err(|e| e.to_string())
        .and_then(|stored| Mailer::build(config, stored).map_err(|e| e.to_string()));
    match built {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(
                "mail is misconfigured ({e}): sign-in codes cannot be sent until it is fixed; /healthz shows it"
            );
            Mailer::misconfigured(e.to_string())
        }
    }
}

/// Opens the store, waiting a few seconds if a `sesame app ...` command holds the file (it
/// opens it directly when no server runs, for a moment).
fn open_store(path: &std::path::Path) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Store::open(path) {
            Err(StoreError::Locked) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn create_data_dir(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Keys, hashes and sessions live here: owner only.
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Open connections served at once.
const MAX_CONNECTIONS: usize = 1024;

/// `sesame serve`: runs until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), String> {
    let started = std::time::Instant::now();
    let listen = config.listen.clone();
    let state = Arc::new(tokio::task::block_in_place(|| State::open(config))?);
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (is another program using the port? choose one with --listen)"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    {
        let st = state.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::admin::serve(st).await {
                tracing::warn!(
                    "control socket unavailable ({e}); `sesame app ...` will not reach this server"
                );
            }
        });
    }
    tokio::spawn(sweep_forever(state.clone()));
    if state
        .keys()
        .signer(crate::crypto::keys::Alg::Rs256)
        .is_err()
    {
        // First start: the ECDSA keys exist (microseconds to make); the RSA key's prime search
        // takes a fraction of a second here and seconds on a small board, so it runs in the
        // background and sesame is ready now. Until it is stored, RS256 apps get
        // `temporarily_unavailable` from the token endpoint (JWKS shows it once ready).
        let st = state.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match KeySet::load_or_generate(&st.store) {
                Ok(keys) => {
                    st.set_keys(keys);
                    tracing::info!("RS256 signing key ready ({} ms)", started.elapsed().as_millis());
                }
                Err(e) => tracing::error!(
                    "could not generate the RS256 signing key ({e}); RS256 apps get no ID tokens until sesame restarts"
                ),
            }
        });
    }

    tracing::info!("issuer: {}", state.issuer.url);
    tracing::info!(
        "discovery: {}",
        state.issuer.endpoint(crate::oidc::issuer::paths::DISCOVERY)
    );
    if state.config.mail.transport == crate::config::MailTransportKind::Log
        && !has_stored_connector(&state)
    {
        tracing::warn!(
            "mail is not set up: sign-in codes are printed to this log (set [mail] in sesame.toml)"
        );
    }
    tracing::info!(
        "next: register an app with `sesame app create --name NAME --redirect-uri URI`, then point it at the issuer"
    );
    tracing::info!(
        "listening on http://{addr} (ready in {} ms)",
        started.elapsed().as_millis()
    );

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // At most this many connections at once: beyond it sesame stops accepting (the kernel's
    // backlog holds the rest) instead of running out of file descriptors.
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            permit = connections.clone().acquire_owned() => {
                // The semaphore is never closed, so acquiring only waits.
                let Ok(permit) = permit else { continue };
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut shutdown => break,
                };
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment rather than spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let st = state.clone();
                let svc = service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(routes::route(st, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    // Slow clients cannot hold a connection open forever (slowloris).
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("gave up waiting for open connections"),
    }
    let _ = std::fs::remove_file(state.config.data_dir.join("sesame.sock"));
    Ok(())
}

fn has_stored_connector(state: &State) -> bool {
    matches!(crate::mail::stored_connector(&state.store), Ok(Some(_)))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Removes expired records every ten minutes.
async fn sweep_forever(state: Arc<State>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    tick.tick().await;
    loop {
        tick.tick().await;
        let st = state.clone();
        let res = tokio::task::spawn_blocking(move || sweep(&st)).await;
        match res {
            Ok(Ok(n)) if n > 0 => tracing::debug!("swept {n} expired records"),
            Ok(Err(e)) => tracing::warn!("sweeping expired records failed: {e}"),
            _ => {}
        }
    }
}

/// Removes every expired record; returns how many went.
pub fn sweep(state: &State) -> Result<usize, StoreError> {
    use crate::store::*;
    let now = crate::clock::now();
    state.store.write(|tx| {
        let mut n = 0;
        n += tx.sweep(&INTERACTIONS, |v| v.expires_at <= now)?;
        n += tx.sweep(&AUTH_CODES, |v| v.expires_at <= now)?;
        n += tx.sweep(&ACCESS_TOKENS, |v| v.expires_at <= now)?;
        n += tx.sweep(&REFRESH_TOKENS, |v| v.expires_at <= now)?;
        n += tx.sweep(&GRANTS, |v| v.expires_at <= now)?;
        n += tx.sweep(&SESSIONS, |v| v.expires_at <= now)?;
        n += tx.sweep(&CODE_SENDS, |v| v.window_start + 3600 <= now)?;
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_connector_that_does_not_load_never_falls_back_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let default = MailConfig::default();
        assert_eq!(build_mailer(&default, &store).transport_name(), "log");
        store
            .write(|tx| {
                tx.put(
                    &crate::store::CONNECTORS,
                    "ses",
                    &serde_json::json!({ "region": 7 }),
                )
            })
            .unwrap();
        let mailer = build_mailer(&default, &store);
        assert_eq!(mailer.transport_name(), "misconfigured");
        assert_eq!(mailer.status().ok, Some(false));
    }
}
