//! The HTTP edge of a running sesame: the [`Server`] (the core's [`Provider`] plus what only
//! HTTP needs: pages and cookies), start-up, the accept loop and graceful shutdown.
//!
//! Start-up does only what must happen before the first request (open the store, load or
//! generate keys, reconcile declared apps, parse templates); everything else is lazy. A mail
//! problem never stops the server: it is logged and shown by `/healthz`.
//!
//! - [`router`]: which handler answers which path; takes a parsed [`Request`], so a test can
//!   drive it in-process.
//! - `routes.rs`, `signin_routes.rs`: the thin handlers (parse, call the core, render).
//! - `forward_auth_routes.rs`: the proxies' endpoints (`/api/authz/forward-auth`,
//!   `/api/authz/auth-request`) and the start of a sign-in for a page behind them
//!   (`/sign-in?rd=`).
//! - `ops_routes.rs`: `/healthz` and `/metrics` (who sees what), and the route names requests
//!   are counted under.
//! - `limited.rs`: the per-client rate limits as HTTP says them (which routes count, who the
//!   client is, the 429 answers); `connections.rs`: the per-client connection cap.
//! - `protocol_errors.rs`, `error_pages.rs`: the core's typed errors mapped onto JSON error
//!   responses and onto the pages a person reads, exhaustively.
//! - [`api`]: the management API under `/api/v1` (its own route table, authentication, problem
//!   responses and OpenAPI document), a door to the same admin commands as the control socket.
//!
//! Uses everything below it: the core (`oidc`, `signin`, `session`, `provider`), `http`,
//! `pages`, `admin` (the control socket), `config`. Nothing imports it but the CLI.

mod account_routes;
pub mod api;
mod connections;
mod console;
pub mod dev;
pub(crate) mod device_routes;
mod error_pages;
pub(crate) mod forward_auth_routes;
mod limited;
pub mod memory;
mod ops_routes;
mod protocol_errors;
pub mod router;
mod routes;
mod second_routes;
mod signin_routes;

pub use router::route;

use crate::apps::dev::DEV_MARKER;
use crate::clock::Clock;
use crate::config::{Config, MailConfig};
use crate::crypto::keys::KeySet;
use crate::forward_auth::ForwardAuth;
use crate::http::cookie::CookiePolicy;
use crate::issuer::Issuer;
use crate::mail::Mailer;
use crate::pages::Pages;
use crate::provider::Provider;
use crate::store::{Store, StoreError};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Why sesame could not start serving. Each says what to do about it.
#[derive(Debug)]
pub enum StartError {
    /// The configured issuer is not a usable URL.
    Issuer(crate::issuer::IssuerError),
    /// The data directory could not be created.
    DataDir { dir: PathBuf, reason: String },
    /// Another process holds the database file.
    Locked(PathBuf),
    /// The database file could not be opened.
    Store { path: PathBuf, error: StoreError },
    /// The signing keys could not be loaded or made.
    Keys(crate::crypto::CryptoError),
    /// The apps declared in `sesame.toml` could not be reconciled.
    DeclaredApps(crate::apps::AppError),
    /// The APIs declared in `sesame.toml` could not be reconciled.
    DeclaredApis(crate::apis::ApiError),
    /// The users and groups declared in `sesame.toml` could not be reconciled.
    DeclaredUsers(crate::users::UserError),
    /// The page templates did not load.
    Pages(crate::pages::PageError),
    /// `[forward_auth]` or `[[access]]` cannot be used (configuration checks this first).
    ForwardAuth(crate::forward_auth::ForwardAuthError),
    /// `[limits] trusted_proxies` holds something that is not an address or a range
    /// (configuration checks this first).
    Limits(crate::limits::CidrError),
    /// The listening address could not be bound.
    Listen { addr: String, reason: String },
    /// `sesame serve` was pointed at a data directory `sesame dev` made.
    DevDataDir(PathBuf),
    /// `sesame dev` was pointed at a data directory `sesame serve` uses.
    ServeDataDir(PathBuf),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Issuer(e) => write!(f, "{e}"),
            StartError::DataDir { dir, reason } => write!(
                f,
                "cannot create the data directory {}: {reason}",
                dir.display()
            ),
            StartError::Locked(db) => write!(
                f,
                "{} is in use by another sesame process: stop it first, or give this one its own --data-dir",
                db.display()
            ),
            StartError::Store { path, error } => {
                write!(f, "cannot open {}: {error}", path.display())
            }
            StartError::Keys(e) => write!(f, "cannot load the signing keys: {e}"),
            StartError::DeclaredApps(e) => write!(f, "declared apps: {e}"),
            StartError::DeclaredApis(e) => write!(f, "declared APIs: {e}"),
            StartError::DeclaredUsers(e) => write!(f, "declared users and groups: {e}"),
            StartError::Pages(e) => write!(f, "pages: {e}"),
            StartError::ForwardAuth(e) => write!(f, "forward-auth: {e}"),
            StartError::Limits(e) => write!(f, "limits.trusted_proxies: {e}"),
            StartError::Listen { addr, reason } => write!(
                f,
                "cannot listen on {addr}: {reason} (is another program using the port? choose one with --listen)"
            ),
            StartError::DevDataDir(dir) => write!(
                f,
                "{} was made by `sesame dev` (its apps take any client secret): `sesame serve` will not use it; give serve its own --data-dir",
                dir.display()
            ),
            StartError::ServeDataDir(dir) => write!(
                f,
                "{} holds the data of `sesame serve`: `sesame dev` will not change it (it registers any app and signs anyone in); give dev an empty or new --data-dir, or none for a temporary one",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for StartError {}

/// Everything a request handler may need, shared by all connections.
pub struct Server {
    /// The core context; shared with the control socket, which swaps keys and mailer in it.
    pub provider: Arc<Provider>,
    pub config: Config,
    pub pages: Pages,
    pub cookies: CookiePolicy,
    /// `sesame dev`'s debugger runs in progress (empty, and never used, for `sesame serve`).
    pub debugger: dev::Debugger,
    /// The cookie domain and access rules; `None` when forward-auth is off (its endpoints then
    /// say how to turn it on).
    pub forward_auth: Option<ForwardAuth>,
    /// Makes (and recognises) the browser-binding cookie values: never a client's choice.
    pub browser_ids: crate::http::cookie::BrowserIds,
    /// First run's one-time setup link (minted at start only while there is no admin).
    pub setup: crate::signin::setup::SetupLink,
    /// New client secrets waiting to be shown once by the console.
    pub console_reveals: console::reveal::Reveals,
}

impl Server {
    /// Opens the data directory and prepares everything the server needs (`sesame serve`).
    /// A data directory `sesame dev` made is refused: its apps take any secret.
    pub fn open(config: Config) -> Result<Server, StartError> {
        if config.data_dir.join(DEV_MARKER).exists() {
            return Err(StartError::DevDataDir(config.data_dir.clone()));
        }
        let (store, keys) = open_data(&config)?;
        let now = crate::clock::now();
        let report = crate::users::reconcile(&store, now, &config.groups, &config.users)
            .map_err(StartError::DeclaredUsers)?;
        tracing::debug!("declared users and groups reconciled: {report:?}");
        let report =
            crate::apps::reconcile(&store, &config.apps).map_err(StartError::DeclaredApps)?;
        let declared =
            crate::apis::reconcile(&store, now, &config.apis).map_err(StartError::DeclaredApis)?;
        tracing::debug!("declared APIs reconciled: {declared:?}");
        tracing::debug!("declared apps reconciled: {report:?}");
        let mailer = build_mailer(&config.mail, &store);
        Server::assemble(config, store, keys, mailer, |p| p)
    }

    /// The server over an opened store: the provider (made from `config`, then passed through
    /// `customize`), the pages and the cookie policy.
    fn assemble(
        config: Config,
        store: Store,
        keys: KeySet,
        mailer: Mailer,
        customize: impl FnOnce(Provider) -> Provider,
    ) -> Result<Server, StartError> {
        let issuer = Issuer::parse(&config.issuer).map_err(StartError::Issuer)?;
        let pages = Pages::new(&config.branding).map_err(StartError::Pages)?;
        let forward_auth = ForwardAuth::new(&config.forward_auth, &config.access, &issuer)
            .map_err(StartError::ForwardAuth)?;
        let cookies = CookiePolicy {
            path: if issuer.base_path.is_empty() {
                "/".into()
            } else {
                issuer.base_path.clone()
            },
            secure: issuer.https,
        };
        let provider = Provider::new(
            store,
            issuer,
            config.tokens.clone(),
            keys,
            mailer,
            Clock::system(),
        )
        .with_sign_up(config.sign_up.clone())
        .with_audit(config.audit.clone())
        .with_limits(crate::limits::Limits::new(config.limits.clone()).map_err(StartError::Limits)?)
        .with_branding(config.branding.clone(), pages.has_logo_file());
        let provider = customize(provider);
        // The console's sign-in experience, over the file's; one that does not load is said
        // in the log and the file's is used (the pages must still show).
        match crate::experience::load(&provider.store) {
            Ok(stored) => provider.set_experience(stored),
            Err(e) => tracing::error!("{e}: the configuration file's sign-in experience is used"),
        }
        let server = Server::new(Arc::new(provider), config, pages, cookies);
        Ok(match forward_auth {
            Some(fa) => server.with_forward_auth(fa),
            None => server,
        })
    }

    /// A server over an existing provider (what tests use to drive the router in-process).
    pub fn new(
        provider: Arc<Provider>,
        config: Config,
        pages: Pages,
        cookies: CookiePolicy,
    ) -> Server {
        Server {
            provider,
            config,
            pages,
            cookies,
            debugger: dev::Debugger::default(),
            forward_auth: None,
            browser_ids: crate::http::cookie::BrowserIds::new(),
            setup: Default::default(),
            console_reveals: Default::default(),
        }
    }

    /// The same server with forward-auth on.
    pub fn with_forward_auth(mut self, fa: ForwardAuth) -> Server {
        self.forward_auth = Some(fa);
        self
    }
}

/// Checks the issuer, creates the data directory, opens the store and loads (or makes) the
/// ECDSA signing keys and the built-in groups: what both `sesame serve` and `sesame dev` need
/// before anything else.
fn open_data(config: &Config) -> Result<(Store, KeySet), StartError> {
    Issuer::parse(&config.issuer).map_err(StartError::Issuer)?;
    create_data_dir(&config.data_dir)?;
    let db = config.data_dir.join("sesame.redb");
    let store = open_store(&db, &config.store).map_err(|e| match e {
        StoreError::Locked => StartError::Locked(db.clone()),
        error => StartError::Store {
            path: db.clone(),
            error,
        },
    })?;
    let (keys, _) = KeySet::load_or_generate_ecdsa(&store).map_err(StartError::Keys)?;
    crate::users::ensure_builtin_groups(&store, crate::clock::now()).map_err(|error| {
        StartError::Store {
            path: db.clone(),
            error,
        }
    })?;
    Ok((store, keys))
}

/// Marks `dir` as `sesame dev`'s (see [`StartError::DevDataDir`]).
fn build_marker(dir: &std::path::Path) -> Result<(), StartError> {
    let text = "This data directory was made by `sesame dev`: its apps take any client secret \
                and anyone can sign in as anyone. `sesame serve` refuses it.\n";
    std::fs::write(dir.join(DEV_MARKER), text).map_err(|e| StartError::DataDir {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Builds the mailer from the configuration and any connector stored at run time. A broken
/// mail configuration still lets sesame start: sends then fail with the reason (never a
/// silent fallback to printing codes in the log, which would let log readers sign in).
fn build_mailer(config: &MailConfig, store: &Store) -> Mailer {
    // A stored connector that does not load is a broken mail setup too: falling back to the
    // file's transport (perhaps `log`) would print codes where log readers see them.
    let config = &crate::experience::mail_config(store, config);
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
fn open_store(
    path: &std::path::Path,
    config: &crate::store::StoreConfig,
) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Store::open_with(path, config) {
            Err(StoreError::Locked) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn create_data_dir(dir: &std::path::Path) -> Result<(), StartError> {
    std::fs::create_dir_all(dir).map_err(|e| StartError::DataDir {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
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
pub async fn run(config: Config) -> Result<(), StartError> {
    let started = std::time::Instant::now();
    let listen = config.listen.clone();
    let server = Arc::new(tokio::task::block_in_place(|| Server::open(config))?);
    let provider = server.provider.clone();
    let (listener, addr) = bind(&listen).await?;
    let shutdown = shutdown_signal();
    start_background(&server);

    tracing::info!("issuer: {}", provider.issuer.url);
    tracing::info!(
        "discovery: {}",
        provider.issuer.endpoint(crate::issuer::paths::DISCOVERY)
    );
    if server.config.mail.transport == crate::config::MailTransportKind::Log
        && !has_stored_connector(&provider.store)
    {
        tracing::warn!(
            "mail is not set up: sign-in codes are printed to this log (set [mail] in sesame.toml)"
        );
    }
    if crate::users::none_yet(&provider.store).unwrap_or(false) {
        match provider.sign_up().mode {
            crate::users::SignUpMode::Invite => tracing::warn!(
                "no users yet, and sign-up is by invitation: add the first with `sesame user add you@example.com --admin` (or a [[user]] in sesame.toml)"
            ),
            crate::users::SignUpMode::Domains | crate::users::SignUpMode::Open => tracing::info!(
                "no users yet: the first comes with a sign-in ([sign_up] mode = {}); make yourself an administrator with `sesame user add you@example.com --admin` first",
                provider.sign_up().mode.as_str()
            ),
        }
    }
    announce_setup_link(&server);
    tracing::info!(
        "next: register an app with `sesame app create --name NAME --redirect-uri URI`, then point it at the issuer"
    );
    tracing::info!(
        "listening on http://{addr} (ready in {} ms)",
        started.elapsed().as_millis()
    );
    accept_loop(server, listener, shutdown).await;
    Ok(())
}

/// First run: with no administrator yet, mints the one-time setup link and prints it (see
/// `signin::setup`).
fn announce_setup_link(server: &Server) {
    let p = &server.provider;
    match crate::signin::setup::has_admin(&p.store) {
        Ok(false) => {
            let token = server.setup.mint(p.now());
            let url = format!(
                "{}?token={token}",
                p.issuer.endpoint(crate::issuer::paths::SETUP)
            );
            tracing::warn!(
                "no administrator yet: open this one-time setup link within an hour and sign in to become the first ({} minutes; a restart makes a new one; or `sesame user add you@example.com --admin`): {url}",
                crate::signin::setup::SETUP_TTL / 60
            );
        }
        Ok(true) => {}
        Err(e) => tracing::warn!("could not check for an administrator: {e}"),
    }
}

/// Binds the listening address; returns the listener and the address it got (the port, when
/// `:0` asked for any).
async fn bind(listen: &str) -> Result<(TcpListener, std::net::SocketAddr), StartError> {
    let listen_error = |e: std::io::Error| StartError::Listen {
        addr: listen.to_string(),
        reason: e.to_string(),
    };
    let listener = TcpListener::bind(listen).await.map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    Ok((listener, addr))
}

/// Starts what runs beside the requests: the control socket, the sweep of expired records,
/// and on a first start the RSA key.
fn start_background(server: &Arc<Server>) {
    let provider = server.provider.clone();
    {
        let p = provider.clone();
        let mail = server.config.mail.clone();
        let data_dir = server.config.data_dir.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::admin::serve(p, mail, &data_dir).await {
                tracing::warn!(
                    "control socket unavailable ({e}); `sesame app ...` will not reach this server"
                );
            }
        });
    }
    tokio::spawn(sweep_forever(provider.clone()));
    tokio::spawn(crate::oidc::backchannel::run(provider.clone()));
    if let Some(days) = server.config.keys.rotate_after_days {
        tokio::spawn(rotate_keys_forever(
            provider.clone(),
            days.saturating_mul(86_400),
        ));
    }
    tokio::spawn(memory::trim_when_idle());
    if provider
        .keys()
        .signer(crate::crypto::keys::Alg::Rs256)
        .is_err()
    {
        // First start: the ECDSA keys exist (microseconds to make); the RSA key's prime search
        // takes a fraction of a second here and seconds on a small board, so it runs in the
        // background and sesame is ready now. Until it is stored, RS256 apps get
        // `temporarily_unavailable` from the token endpoint (JWKS shows it once ready).
        let p = provider.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match KeySet::load_or_generate(&p.store) {
                Ok(keys) => {
                    p.set_keys(keys);
                    tracing::info!("RS256 signing key ready ({} ms)", started.elapsed().as_millis());
                }
                Err(e) => tracing::error!(
                    "could not generate the RS256 signing key ({e}); RS256 apps get no ID tokens until sesame restarts"
                ),
            }
        });
    }
}

/// Serves connections until `shutdown` ([`shutdown_signal`]) completes, then lets the requests
/// in flight finish and removes the control socket.
async fn accept_loop(
    server: Arc<Server>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // At most this many connections at once: beyond it sesame stops accepting (the kernel's
    // backlog holds the rest) instead of running out of file descriptors.
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_client = Arc::new(connections::PerClient::default());
    let limits = &server.provider.limits.config;
    let (cap, normal, busy) = (
        limits.connections_per_client as usize,
        Duration::from_secs(limits.header_timeout),
        Duration::from_secs(limits.busy_header_timeout),
    );
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            permit = connections.clone().acquire_owned() => {
                // The semaphore is never closed, so acquiring only waits.
                let Ok(permit) = permit else { continue };
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut shutdown => break,
                };
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment rather than spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let peer = peer.ip();
                let trusted = server.provider.limits.is_trusted_proxy(peer);
                let Some(held) = per_client.open(&per_client, peer, if trusted { usize::MAX } else { cap }) else {
                    // Closed at once: this client holds its share of the connections already.
                    server.provider.limits.hit(crate::limits::Kind::Connections);
                    tracing::debug!(client = %peer, "connection refused: the client holds {cap} already");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                // Near the cap, idle and slow connections go sooner, so the last quarter turns
                // over quickly for everyone else.
                let timeout = if connections.available_permits() < MAX_CONNECTIONS / 4 { busy } else { normal };
                let s = server.clone();
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    memory::note_request();
                    let s = s.clone();
                    async move { Ok::<_, Infallible>(router::serve(&s, req, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    // Slow clients cannot hold a connection open forever (slowloris).
                    .header_read_timeout(timeout)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(held);
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
    let _ = std::fs::remove_file(server.config.data_dir.join("sesame.sock"));
}

fn has_stored_connector(store: &Store) -> bool {
    matches!(crate::mail::stored_connector(store), Ok(Some(_)))
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when it is first polled: called before sesame says it is ready, a signal sent
/// right after that (a test, a supervisor) stops it gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `[keys] rotate_after_days`: at start and every hour, rotates the keys that are due and
/// prunes the retired keys whose tokens have all expired; the running server then signs with
/// the new keys (the old ones stay in JWKS until then: `crypto::keys::lifecycle`).
async fn rotate_keys_forever(provider: Arc<Provider>, rotate_after: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let p = provider.clone();
        let res = tokio::task::spawn_blocking(move || {
            let lifetime = crate::apis::key_lifetime(&p.store, p.tokens.id_token_ttl)?;
            let done = crate::crypto::keys::rotate_due(&p.store, p.now(), rotate_after, lifetime)?;
            if !done.rotated.is_empty() || !done.pruned.is_empty() {
                p.set_keys(KeySet::load_or_generate(&p.store)?);
            }
            Ok::<_, crate::crypto::CryptoError>(done)
        })
        .await;
        match res {
            Ok(Ok(done)) => {
                for (alg, kid) in done.rotated {
                    tracing::info!("scheduled key rotation: new {alg} signing key {kid}");
                }
                for key in done.pruned {
                    tracing::info!(
                        "pruned retired {} key {}: every token it signed has expired",
                        key.alg,
                        key.kid
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!("scheduled key rotation failed: {e}"),
            Err(e) => tracing::warn!("scheduled key rotation failed: {e}"),
        }
    }
}

/// Removes expired records every ten minutes, then gives the file's free space back when a
/// large part of it is free ([`Store::compact`]: a flood of sign-ins swept away).
async fn sweep_forever(provider: Arc<Provider>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    tick.tick().await;
    loop {
        tick.tick().await;
        let p = provider.clone();
        let res = tokio::task::spawn_blocking(move || (p.sweep(), p.store.compact())).await;
        let Ok((swept, compacted)) = res else {
            continue;
        };
        match swept {
            Ok(n) if n > 0 => tracing::debug!("swept {n} expired records"),
            Err(e) => tracing::warn!("sweeping expired records failed: {e}"),
            _ => {}
        }
        match compacted {
            Ok(Some((before, after))) => tracing::info!(
                "compacted the database file: {} KiB -> {} KiB",
                before / 1024,
                after / 1024
            ),
            Err(e) => tracing::warn!("compacting the database file failed: {e}"),
            Ok(None) => {}
        }
    }
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
