//! `sesame dev`: the same server as `sesame serve`, started as a local issuer for development.
//!
//! What differs, and where:
//! - start-up ([`run`]): it listens on loopback only ([`DevListen`] cannot hold anything else),
//!   names the issuer after the address it bound (so `--listen 127.0.0.1:0` works), keeps its
//!   data in a temporary directory unless given one, registers the app it prints
//!   ([`crate::apps::dev::DEV_CLIENT_ID`]), sends no mail (the outbox mailer), lets anyone sign up, and gives the
//!   core the dev policy ([`DevMode`]); it ignores the issuer, listen address, data directory,
//!   mail, apps, users, groups and sign-up policy of `sesame.toml` and reads only `[tokens]`,
//!   `[branding]` and `[dev]`;
//! - the sign-in page (`sign_in.rs`, `/dev/sign-in`): sign in as anyone, or answer the app with
//!   an error; the email-code pages stay one link away, with the code shown on the page;
//! - the debugger (`debugger.rs`, `/dev/debugger`);
//! - a DEV MODE banner on every page (`error_pages::page`).
//!
//! Discovery, JWKS, the token endpoint, userinfo and logout are the production ones, unchanged:
//! an app moving to a real issuer changes only the issuer URL (and its client credentials).
//! These routes exist only when the provider holds a [`DevMode`]; `sesame serve` answers them
//! with 404.

mod debugger;
mod sign_in;

pub use debugger::Debugger;

use super::{
    accept_loop, bind, build_marker, open_data, shutdown_signal, start_background, Server,
    StartError,
};
use crate::apps::dev::{DevMode, NotLoopback, DEV_MARKER};
use crate::config::Config;
use crate::http::{Request, Response};
use crate::issuer::paths;
use crate::mail::Mailer;
use crate::users::{SignUpConfig, SignUpMode};
use hyper::Method;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Where `sesame dev` listens, parsed from `--listen`: a loopback address (`127.0.0.0/8`,
/// `[::1]`, or `localhost`, which binds 127.0.0.1) and the host name the issuer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevListen {
    addr: SocketAddr,
    /// `localhost`, an IPv4 address, or `[v6]`: what the issuer URL says.
    host: String,
}

/// Why `--listen` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadDevListen {
    /// Not `HOST:PORT`.
    NotAnAddress(String),
    /// An address off this machine (or a name other than `localhost`).
    NotLoopback(String),
}

impl std::fmt::Display for BadDevListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadDevListen::NotAnAddress(s) => write!(
                f,
                "{s:?} is not an address to listen on: use localhost:PORT, 127.0.0.1:PORT or [::1]:PORT"
            ),
            BadDevListen::NotLoopback(s) => write!(
                f,
                "sesame dev listens on this machine only, and {s:?} is not a loopback address: use \
                 localhost:PORT, 127.0.0.1:PORT or [::1]:PORT. sesame dev signs anyone in as \
                 anyone and must never face a network; run `sesame serve` for that"
            ),
        }
    }
}

impl std::error::Error for BadDevListen {}

impl std::str::FromStr for DevListen {
    type Err = BadDevListen;

    fn from_str(s: &str) -> Result<DevListen, BadDevListen> {
        let text = s.trim();
        let not_loopback = |_: NotLoopback| BadDevListen::NotLoopback(text.to_string());
        if let Ok(addr) = text.parse::<SocketAddr>() {
            DevMode::on_loopback(addr).map_err(not_loopback)?;
            let host = match addr.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            };
            return Ok(DevListen { addr, host });
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| BadDevListen::NotAnAddress(text.to_string()))?;
        let port: u16 = port
            .parse()
            .map_err(|_| BadDevListen::NotAnAddress(text.to_string()))?;
        if !host.eq_ignore_ascii_case("localhost") {
            return Err(BadDevListen::NotLoopback(text.to_string()));
        }
        Ok(DevListen {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            host: "localhost".into(),
        })
    }
}

/// What `sesame dev` tells its user once it is ready (the CLI prints it).
#[derive(Debug, Clone)]
pub struct Ready {
    /// `http://localhost:8080`, `http://127.0.0.1:PORT`, ...
    pub issuer: String,
    pub data_dir: PathBuf,
    /// The data directory is removed when sesame dev stops.
    pub temporary: bool,
    /// The `[dev.users]` personas' names.
    pub personas: Vec<String>,
    /// Milliseconds from the start of [`run`] to ready.
    pub ready_ms: u128,
}

/// `sesame dev`: binds `listen`, opens (or makes) the data directory, tells `on_ready`, serves
/// until SIGINT or SIGTERM, then removes a temporary data directory.
pub async fn run(
    mut config: Config,
    listen: DevListen,
    data_dir: Option<PathBuf>,
    on_ready: impl FnOnce(&Ready),
) -> Result<(), StartError> {
    let started = std::time::Instant::now();
    let (listener, addr) = bind(&listen.addr.to_string()).await?;
    let dev = DevMode::on_loopback(addr).map_err(|e| StartError::Listen {
        addr: addr.to_string(),
        reason: e.to_string(),
    })?;
    let temporary = data_dir.is_none();
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => temporary_dir()?,
    };
    config.issuer = format!("http://{}:{}", listen.host, addr.port());
    config.listen = addr.to_string();
    config.data_dir = data_dir.clone();
    let opened = tokio::task::block_in_place(|| Server::open_dev(config, dev));
    let server = match opened {
        Ok(s) => Arc::new(s),
        Err(e) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            return Err(e);
        }
    };
    let shutdown = shutdown_signal();
    start_background(&server);
    let ready = Ready {
        issuer: server.provider.issuer.url.clone(),
        data_dir: data_dir.clone(),
        temporary,
        personas: server.config.dev.users.keys().cloned().collect(),
        ready_ms: started.elapsed().as_millis(),
    };
    on_ready(&ready);
    tracing::warn!("DEV MODE: anyone can sign in as anyone here; never let it face a network");
    tracing::info!(
        "listening on http://{addr} (ready in {} ms)",
        ready.ready_ms
    );
    accept_loop(server, listener, shutdown).await;
    if temporary {
        if let Err(e) = std::fs::remove_dir_all(&data_dir) {
            tracing::warn!("could not remove {}: {e}", data_dir.display());
        }
    }
    Ok(())
}

impl Server {
    /// The server of `sesame dev` over `config` (issuer, listen and data directory already
    /// set by [`run`]): the data directory marked as dev's, the printed app registered, no
    /// mail, open sign-up, the dev policy in the provider. `[[app]]`, `[[user]]` and
    /// `[[group]]` of `sesame.toml` are not applied: they describe production.
    pub fn open_dev(mut config: Config, dev: DevMode) -> Result<Server, StartError> {
        let dir = &config.data_dir;
        if dir.join("sesame.redb").exists() && !dir.join(DEV_MARKER).exists() {
            return Err(StartError::ServeDataDir(dir.clone()));
        }
        let (store, keys) = open_data(&config)?;
        build_marker(&config.data_dir)?;
        let callback = format!("{}{}", config.issuer, paths::DEV_DEBUGGER_CALLBACK);
        dev.register_dev_client(&store, crate::clock::now(), vec![callback])
            .map_err(|error| StartError::Store {
                path: config.db_path(),
                error,
            })?;
        config.sign_up = SignUpConfig {
            mode: SignUpMode::Open,
            allowed_domains: Vec::new(),
        };
        config.apps.clear();
        config.users.clear();
        config.groups.clear();
        Server::assemble(config, store, keys, Mailer::outbox(), |p| {
            p.with_dev_mode(dev)
        })
    }
}

/// The dev routes, or `None` for a path that is not one (or a provider without the dev
/// policy: `sesame serve` answers 404).
pub async fn route(s: &Server, req: &Request) -> Option<Response> {
    let dev = s.provider.dev.as_ref()?;
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    Some(match req.path.as_str() {
        paths::DEV_SIGN_IN if get => sign_in::page(s, req),
        paths::DEV_SIGN_IN if post => sign_in::submit(s, dev, req),
        paths::DEV_DEBUGGER if get => debugger::page(s),
        paths::DEV_DEBUGGER if post => debugger::start(s, req),
        paths::DEV_DEBUGGER_CALLBACK if get => debugger::callback(s, req),
        paths::DEV_SIGN_IN | paths::DEV_DEBUGGER | paths::DEV_DEBUGGER_CALLBACK => {
            super::routes::method_not_allowed(&req.method)
        }
        _ => return None,
    })
}

/// A new directory under the system's temporary directory, owner-only.
fn temporary_dir() -> Result<PathBuf, StartError> {
    let dir = std::env::temp_dir().join(format!("sesame-dev-{}", crate::crypto::random_id()));
    std::fs::create_dir(&dir).map_err(|e| StartError::DataDir {
        dir: dir.clone(),
        reason: e.to_string(),
    })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_listen_addresses_parse() {
        let l: DevListen = "localhost:8080".parse().unwrap();
        assert_eq!(
            (l.addr, l.host.as_str()),
            ("127.0.0.1:8080".parse().unwrap(), "localhost")
        );
        let l: DevListen = "127.0.0.1:0".parse().unwrap();
        assert_eq!(l.host, "127.0.0.1");
        let l: DevListen = "[::1]:9000".parse().unwrap();
        assert_eq!(l.host, "[::1]");
        for bad in [
            "0.0.0.0:8080",
            "[::]:8080",
            "192.168.1.5:80",
            "example.com:80",
        ] {
            let e = bad.parse::<DevListen>().unwrap_err();
            assert!(matches!(e, BadDevListen::NotLoopback(_)), "{bad}: {e}");
            assert!(e.to_string().contains("never face a network"), "{e}");
        }
        for bad in ["8080", "localhost", "localhost:http", ""] {
            assert!(
                matches!(bad.parse::<DevListen>(), Err(BadDevListen::NotAnAddress(_))),
                "{bad}"
            );
        }
    }
}
