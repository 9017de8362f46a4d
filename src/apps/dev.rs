//! `sesame dev`'s client policy: any client ID is an app, registered on first use, with any
//! redirect URI on this machine or with a custom scheme, and any secret unless one was
//! registered. What mock-oauth2-server does, so an app under development needs no setup.
//!
//! The policy is a value, [`DevMode`], that the core is given in
//! [`Provider::dev`](crate::provider::Provider::dev) and consults at the three places where a
//! production issuer refuses an unknown client: the authorization endpoint's client and redirect
//! URI check (`oidc::authorize`), client authentication at the token endpoint (`oidc::client`)
//! and the post-logout redirect check (`oidc::end_session`). Only [`DevMode::on_loopback`] makes
//! one, and only for a loopback listen address; `sesame serve` never makes one, so a production
//! provider has `dev: None` and every check stays as strict as before.
//!
//! ```text
//!  /auth?client_id=X&redirect_uri=U
//!     X registered? ──no──▶ U acceptable? ──yes──▶ register X (traditional, no secret, [U])
//!        │ yes                  └──no──▶ error page (never a redirect)
//!        └──▶ U registered? ──no──▶ U acceptable? ──yes──▶ add U to X
//!                                      └──no──▶ error page
//! ```
//!
//! An app registered this way has no secret, so the token endpoint takes any secret from it
//! (or none); the pre-registered app ([`DEV_CLIENT_ID`]) has one, and only that one works.
//! The data directory of `sesame dev` is marked (`DEV_MARKER`) so that `sesame serve` refuses
//! it: a secretless traditional app must never reach a production issuer.

use super::validate::check_dev_redirect_uri;
use super::{check_client_id, AppError};
use crate::crypto;
use crate::store::{App, AppType, Reads, Store, StoreError, APPS};
use std::net::SocketAddr;

/// The client ID of the app `sesame dev` registers at start and prints.
pub const DEV_CLIENT_ID: &str = "dev-client";
/// Its client secret (printed: this is a development issuer).
pub const DEV_CLIENT_SECRET: &str = "dev-secret";
/// The file in a data directory that says `sesame dev` made it; `sesame serve` refuses such a
/// directory.
pub const DEV_MARKER: &str = "SESAME-DEV";

/// Proof that this provider is `sesame dev` listening on loopback only. Holding one is what
/// lets the core accept unknown clients; see the module docs.
#[derive(Debug, Clone)]
pub struct DevMode {
    listen: SocketAddr,
}

/// `sesame dev` was asked to listen somewhere other than this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLoopback(pub SocketAddr);

impl std::fmt::Display for NotLoopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sesame dev listens on this machine only, and {} is not a loopback address: use \
             127.0.0.1:PORT, [::1]:PORT or localhost:PORT. sesame dev signs anyone in as \
             anyone and must never face a network; run `sesame serve` for that",
            self.0
        )
    }
}

impl std::error::Error for NotLoopback {}

/// Why a dev issuer could not take a client or redirect URI (shown as a page, never
/// redirected).
#[derive(Debug)]
pub enum DevRefusal {
    /// The client ID has characters an app's client ID cannot have.
    ClientId { client_id: String, reason: String },
    /// The redirect URI is neither on this machine nor a custom scheme.
    RedirectUri {
        redirect_uri: String,
        reason: String,
    },
    /// An unknown client came without a redirect URI to register.
    NoRedirectUri,
    /// Storage failed.
    Store(StoreError),
}

impl From<StoreError> for DevRefusal {
    fn from(e: StoreError) -> Self {
        DevRefusal::Store(e)
    }
}

impl DevMode {
    /// The dev policy for a server listening on `listen`, which must be on loopback
    /// (127.0.0.0/8 or ::1).
    pub fn on_loopback(listen: SocketAddr) -> Result<DevMode, NotLoopback> {
        if listen.ip().is_loopback() {
            Ok(DevMode { listen })
        } else {
            Err(NotLoopback(listen))
        }
    }

    /// Where the dev server listens.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// The app `client_id` names, registered (or given `redirect_uri`) on first use when the
    /// URI is acceptable ([`acceptable_redirect`]). `now` stamps a new app.
    pub fn admit(
        &self,
        store: &Store,
        now: u64,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> Result<App, DevRefusal> {
        let known = store.read(|tx| tx.app(client_id))?;
        let registered =
            |app: &App| redirect_uri.is_none_or(|u| app.redirect_uris.iter().any(|r| r == u));
        if let Some(app) = known.filter(|a| registered(a)) {
            return Ok(app);
        }
        let uri = redirect_uri.ok_or(DevRefusal::NoRedirectUri)?;
        acceptable_redirect(uri).map_err(|reason| DevRefusal::RedirectUri {
            redirect_uri: uri.to_string(),
            reason,
        })?;
        store.write(|tx| {
            let app = match tx.app(client_id)? {
                Some(mut app) => {
                    if !app.redirect_uris.iter().any(|r| r == uri) {
                        app.redirect_uris.push(uri.to_string());
                        tracing::info!(
                            client_id,
                            redirect_uri = uri,
                            "dev: redirect URI added to the app"
                        );
                    }
                    app
                }
                None => {
                    check_client_id(client_id).map_err(|e| DevRefusal::ClientId {
                        client_id: client_id.to_string(),
                        reason: match e {
                            AppError::InvalidClientId { reason, .. } => reason,
                            other => other.to_string(),
                        },
                    })?;
                    tracing::info!(
                        client_id,
                        redirect_uri = uri,
                        "dev: app registered on first use (any secret works)"
                    );
                    new_app(client_id, None, vec![uri.to_string()], now)
                }
            };
            tx.put(&APPS, client_id, &app)?;
            Ok(app)
        })
    }

    /// Whether a dev issuer takes `uri` as a post-logout redirect URI it was not given.
    pub fn accepts_post_logout(&self, uri: &str) -> bool {
        acceptable_redirect(uri).is_ok()
    }

    /// Whether the token endpoint takes a secret from `app`, which has none registered: on a
    /// dev issuer any secret works for such an app.
    pub fn accepts_any_secret(&self, app: &App) -> bool {
        app.secret_hash.is_none()
    }

    /// Registers (or resets) the app `sesame dev` prints, [`DEV_CLIENT_ID`] with
    /// [`DEV_CLIENT_SECRET`], with `redirect_uris` (the debugger's callback).
    pub fn register_dev_client(
        &self,
        store: &Store,
        now: u64,
        redirect_uris: Vec<String>,
    ) -> Result<App, StoreError> {
        let app = new_app(
            DEV_CLIENT_ID,
            Some(crypto::hash_token(DEV_CLIENT_SECRET)),
            redirect_uris,
            now,
        );
        store.write(|tx| {
            let mut app = app;
            if let Some(old) = tx.app(DEV_CLIENT_ID)? {
                // Keep what it learnt on earlier runs of the same --data-dir.
                for uri in old.redirect_uris {
                    if !app.redirect_uris.contains(&uri) {
                        app.redirect_uris.push(uri);
                    }
                }
                app.created_at = old.created_at;
            }
            tx.put(&APPS, DEV_CLIENT_ID, &app)?;
            Ok(app)
        })
    }
}

/// Redirect URIs a dev issuer registers on first use: http or https to this machine
/// (`localhost`, `127.0.0.0/8`, `[::1]`, any port), or a custom scheme (`myapp://callback`,
/// `com.example.app:/cb`); never a fragment, `user@`, or a scheme that is never a redirect
/// target. The reason says what would be accepted.
pub fn acceptable_redirect(uri: &str) -> Result<(), String> {
    check_dev_redirect_uri(uri)
}

/// A traditional app with these settings, as dev mode registers them.
fn new_app(
    client_id: &str,
    secret_hash: Option<String>,
    redirect_uris: Vec<String>,
    now: u64,
) -> App {
    App {
        client_id: client_id.to_string(),
        name: client_id.to_string(),
        // Traditional: PKCE is optional (as for a server-side app) and own schemes are allowed.
        app_type: AppType::Traditional,
        secret_hash,
        redirect_uris,
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: None,
        allow_insecure_redirect: false,
        created_at: now,
        declared: false,
        allowed_groups: Vec::new(),
        refresh_retry_window: None,
        api_scopes: Default::default(),
        second_factor: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: true,
        device_flow: false,
        require_pushed_authorization_requests: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DevMode {
        DevMode::on_loopback("127.0.0.1:8080".parse().unwrap()).unwrap()
    }

    #[test]
    fn only_loopback_addresses_make_a_dev_mode() {
        for ok in ["127.0.0.1:1", "127.8.9.10:80", "[::1]:8080"] {
            assert!(DevMode::on_loopback(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "0.0.0.0:8080",
            "[::]:8080",
            "192.168.1.2:8080",
            "10.0.0.1:80",
        ] {
            let e = DevMode::on_loopback(bad.parse().unwrap()).unwrap_err();
            assert!(e.to_string().contains("never face a network"), "{e}");
        }
    }

    #[test]
    fn loopback_and_custom_scheme_redirects_are_acceptable_and_nothing_else() {
        for ok in [
            "http://localhost:3000/api/auth/callback/sesame",
            "http://127.0.0.1:5173/cb",
            "https://localhost/cb",
            "http://[::1]:8080/cb?x=1",
            "myapp://callback",
            "com.example.app:/oauth",
        ] {
            acceptable_redirect(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "https://app.example.com/cb",
            "http://192.168.1.10/cb",
            "http://localhost:3000/cb#frag",
            "http://me@localhost/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(acceptable_redirect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_clients_are_registered_on_first_use_and_learn_redirect_uris() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let d = dev();
        let app = d
            .admit(&store, 5, "my-app", Some("http://localhost:3000/cb"))
            .unwrap();
        assert_eq!(app.redirect_uris, ["http://localhost:3000/cb"]);
        assert!(app.secret_hash.is_none() && d.accepts_any_secret(&app));
        let app = d.admit(&store, 6, "my-app", Some("myapp://cb")).unwrap();
        assert_eq!(
            app.redirect_uris,
            ["http://localhost:3000/cb", "myapp://cb"]
        );
        assert_eq!(app.created_at, 5);
        assert!(matches!(
            d.admit(&store, 7, "my-app", Some("https://evil.example/cb")),
            Err(DevRefusal::RedirectUri { .. })
        ));
        assert!(matches!(
            d.admit(&store, 7, "bad id!", Some("http://localhost/cb")),
            Err(DevRefusal::ClientId { .. })
        ));
        assert!(matches!(
            d.admit(&store, 7, "other", None),
            Err(DevRefusal::NoRedirectUri)
        ));
        let client = d
            .register_dev_client(
                &store,
                8,
                vec!["http://localhost:8080/dev/debugger/callback".into()],
            )
            .unwrap();
        assert!(
            !d.accepts_any_secret(&client),
            "the printed app has its secret"
        );
    }
}
