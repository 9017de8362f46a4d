//! The provider context: what the core (`oidc`, `signin`) needs to answer a request, and
//! nothing of how the request arrived.
//!
//! A [`Provider`] holds the store, the issuer, the token lifetimes, the audit log's retention,
//! the signing keys, the mailer and the clock. The HTTP edge (`server`) and the control socket (`admin`) hold one and
//! call the core with it; tests build one over a temporary redb with a fixed clock
//! ([`Provider::new`] with [`Clock::fixed`]) and drive the core without a socket.
//!
//! Uses: store, crypto (keys), mail (the mailer), users (the sign-up policy), issuer, clock,
//! audit (retention in the sweep), apps (the dev policy's type).
//! Never the edge.

use crate::apps::dev::DevMode;
use crate::audit::{self, AuditConfig};
use crate::clock::Clock;
use crate::crypto::keys::KeySet;
use crate::issuer::Issuer;
use crate::mail::Mailer;
use crate::pages::BrandingConfig;
use crate::store::{Store, StoreError, Writes};
use crate::users::SignUpConfig;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// Lifetimes, in seconds (`[tokens]` in `sesame.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub access_token_ttl: u64,
    pub id_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub authorization_code_ttl: u64,
    pub session_ttl: u64,
    /// How long a sign-in code stays valid.
    pub sign_in_code_ttl: u64,
    /// How long before another code may be sent to the same address.
    pub sign_in_code_resend_after: u64,
    /// Codes sent to one address in an hour, across all sign-ins (see `signin` for why).
    pub sign_in_codes_per_hour: u32,
    /// Seconds after a rotation during which the rotated refresh token may be presented again
    /// as a retry (see `oidc::grant`), for apps that do not set their own; 0: never.
    pub refresh_retry_window: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl: 3600,
            id_token_ttl: 3600,
            refresh_token_ttl: 14 * 24 * 3600,
            authorization_code_ttl: 60,
            session_ttl: 14 * 24 * 3600,
            sign_in_code_ttl: 600,
            sign_in_code_resend_after: 60,
            // signin::CODES_PER_ADDRESS_PER_HOUR (a test there keeps the two equal).
            sign_in_codes_per_hour: 10,
            refresh_retry_window: 60,
        }
    }
}

/// Seconds in the window of the per-address code budget (see `signin`).
pub const CODE_SEND_WINDOW: u64 = 3600;

/// The sign-in experience in use, and the page branding made from it once.
#[derive(Debug)]
pub struct Experience {
    pub effective: crate::experience::Effective,
    /// What every page shows of `effective.branding` (theme, favicon, product name).
    pub branding: crate::pages::Branding,
}

impl Experience {
    fn of(
        file: &crate::experience::File,
        stored: Option<crate::experience::Experience>,
        logo_file: bool,
    ) -> Experience {
        let effective = crate::experience::Effective::of(file, stored);
        let branding = crate::pages::Branding::of(&effective.branding, logo_file);
        Experience {
            effective,
            branding,
        }
    }
}

/// The provider context shared by every request.
pub struct Provider {
    pub store: Store,
    pub issuer: Issuer,
    /// Lifetimes of codes, tokens and sessions.
    pub tokens: TokenConfig,
    /// How long the audit log keeps entries; [`Provider::sweep`] drops the rest.
    pub audit: AuditConfig,
    /// Where the core reads the time: the system clock, or a fixed one in tests.
    pub clock: Clock,
    /// The file's sign-in experience (`[branding]`, `[sign_up]`): what the console's stored
    /// record overrides, and what `experience.reset` goes back to.
    experience_file: crate::experience::File,
    /// Whether the pages serve a `logo_file` (read at start; the console cannot change it).
    logo_file: bool,
    /// The sign-in experience in use (file + stored record), swapped whole when the console
    /// saves one; readers clone the `Arc`.
    experience: RwLock<Arc<Experience>>,
    /// `sesame dev`'s policy (unknown clients registered on first use, any secret for apps
    /// without one, the dev sign-in page), or `None`: always `None` for `sesame serve`, whose
    /// start-up never calls [`Provider::with_dev_mode`]. The core consults it where a
    /// production issuer would refuse a client (see [`crate::apps::dev`]).
    pub dev: Option<DevMode>,
    /// Limits under abuse: per-client rates and the mail and sign-in budgets' settings.
    pub limits: crate::limits::Limits,
    /// Back-channel logout's retry policy, and the bell that wakes its deliverer.
    pub backchannel: crate::oidc::backchannel::Backchannel,
    /// Swapped whole on key rotation; readers clone the `Arc` and never hold the lock.
    keys: RwLock<Arc<KeySet>>,
    /// Swapped whole when the mail connector changes at run time (no restart).
    mailer: RwLock<Arc<Mailer>>,
}

impl Provider {
    pub fn new(
        store: Store,
        issuer: Issuer,
        tokens: TokenConfig,
        keys: KeySet,
        mailer: Mailer,
        clock: Clock,
    ) -> Provider {
        Provider {
            store,
            issuer,
            tokens,
            audit: AuditConfig::default(),
            experience_file: crate::experience::File::default(),
            logo_file: false,
            experience: RwLock::new(Arc::new(Experience::of(
                &crate::experience::File::default(),
                None,
                false,
            ))),
            clock,
            dev: None,
            limits: crate::limits::Limits::default(),
            backchannel: Default::default(),
            keys: RwLock::new(Arc::new(keys)),
            mailer: RwLock::new(Arc::new(mailer)),
        }
    }

    /// The same provider with this sign-up policy (the default is invite-only).
    pub fn with_sign_up(mut self, sign_up: SignUpConfig) -> Provider {
        self.experience_file.sign_up = sign_up;
        self.set_experience(None);
        self
    }

    /// The same provider with this branding from the file (`logo_file`: whether the pages
    /// serve one), which the console's record may override.
    pub fn with_branding(mut self, branding: BrandingConfig, logo_file: bool) -> Provider {
        self.experience_file.branding = branding;
        self.logo_file = logo_file;
        self.set_experience(None);
        self
    }

    /// The same provider with the audit log kept as `audit` says (the default is
    /// [`AuditConfig::default`]).
    pub fn with_audit(mut self, audit: AuditConfig) -> Provider {
        self.audit = audit;
        self
    }

    /// The same provider with these limits (the default is [`crate::limits::LimitsConfig`]'s).
    pub fn with_limits(mut self, limits: crate::limits::Limits) -> Provider {
        self.limits = limits;
        self
    }

    /// The same provider with back-channel logouts retried as `policy` says (the default is
    /// [`crate::oidc::backchannel::Policy::default`]).
    pub fn with_backchannel(mut self, policy: crate::oidc::backchannel::Policy) -> Provider {
        self.backchannel = crate::oidc::backchannel::Backchannel::with_policy(policy);
        self
    }

    /// The same provider as `sesame dev`: the dev policy on (see [`crate::apps::dev`]).
    pub fn with_dev_mode(mut self, dev: DevMode) -> Provider {
        self.dev = Some(dev);
        self
    }

    /// Seconds since the Unix epoch, by the provider's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
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

    /// The sign-in experience in use: branding, sign-up policy, the stored record.
    pub fn experience(&self) -> Arc<Experience> {
        self.experience
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Who may create an account by signing in (`[sign_up]`, or the console's).
    pub fn sign_up(&self) -> SignUpConfig {
        self.experience().effective.sign_up.clone()
    }

    /// What pages and emails call this service (`[branding] product_name`, or the console's).
    pub fn product_name(&self) -> String {
        self.experience().effective.branding.product_name.clone()
    }

    /// The file's sign-in experience, under the console's record.
    pub fn experience_file(&self) -> &crate::experience::File {
        &self.experience_file
    }

    /// Uses `stored` (the console's record; `None`: the file alone) from now on.
    pub fn set_experience(&self, stored: Option<crate::experience::Experience>) {
        let now = Experience::of(&self.experience_file, stored, self.logo_file);
        *self.experience.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(now);
    }

    /// Replaces the mail transport (after `sesame connector set`).
    pub fn set_mailer(&self, mailer: Mailer) {
        *self.mailer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(mailer);
    }

    /// Removes every expired record, and the audit entries beyond the audit log's bounds
    /// ([`audit::prune`]; logged at debug), in one write transaction; returns how many expired
    /// records went.
    pub fn sweep(&self) -> Result<usize, StoreError> {
        let now = self.now();
        self.store.write(|tx| {
            let expired = tx.sweep_expired(now, now.saturating_sub(CODE_SEND_WINDOW))?;
            let pruned = audit::prune(tx, now, &self.audit)?;
            if pruned != audit::Pruned::default() {
                tracing::debug!(
                    "audit log: dropped {} entries older than {} days and {} beyond {} entries",
                    pruned.by_age,
                    self.audit.retention_days,
                    pruned.by_count,
                    self.audit.max_entries
                );
            }
            Ok(expired)
        })
    }
}

/// A provider over a temporary redb file with a fixed clock, for the core's in-process tests.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::store::{App, AppType, AuthRequest, User, Writes, APPS};

    /// The fixed clock's starting time.
    pub const T0: u64 = 1_800_000_000;
    /// The registered confidential app.
    pub const CLIENT: &str = "bookstore";
    pub const SECRET: &str = "bookstore-secret";
    /// The registered public app (PKCE required).
    pub const PUBLIC_CLIENT: &str = "spa";
    pub const REDIRECT: &str = "https://app.example/cb";
    /// The registered machine app (client credentials only).
    pub const MACHINE_CLIENT: &str = "backup-job";
    pub const MACHINE_SECRET: &str = "backup-job-secret";

    /// A provider with a temporary store, the log mailer, ECDSA keys, a fixed clock at
    /// [`T0`] and three apps registered ([`CLIENT`], [`PUBLIC_CLIENT`], [`MACHINE_CLIENT`]). Keep the directory alive as long as the provider.
    pub fn provider() -> (tempfile::TempDir, Provider) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("sesame.redb")).expect("store");
        let (keys, _) = KeySet::load_or_generate_ecdsa(&store).expect("keys");
        let mailer = Mailer::build(&Default::default(), None).expect("log mailer");
        // A machine app has no redirect URI (it signs no one in).
        for (id, app_type, secret, redirect_uris) in [
            (
                CLIENT,
                AppType::Traditional,
                Some(SECRET),
                vec![REDIRECT.into()],
            ),
            (PUBLIC_CLIENT, AppType::Spa, None, vec![REDIRECT.into()]),
            (
                MACHINE_CLIENT,
                AppType::Machine,
                Some(MACHINE_SECRET),
                vec![],
            ),
        ] {
            let app = App {
                client_id: id.into(),
                name: id.into(),
                app_type,
                secret_hash: secret.map(crate::crypto::hash_token),
                redirect_uris,
                post_logout_redirect_uris: vec![],
                id_token_signed_response_alg: None,
                allow_insecure_redirect: false,
                created_at: T0,
                declared: false,
                allowed_groups: vec![],
                refresh_retry_window: None,
                api_scopes: Default::default(),
                second_factor: Default::default(),
                backchannel_logout_uri: None,
                backchannel_logout_session_required: true,
                device_flow: false,
                require_pushed_authorization_requests: false,
            };
            store
                .write(|tx| tx.put(&APPS, id, &app))
                .expect("register app");
        }
        let issuer = Issuer::parse("https://id.example").expect("issuer");
        let p = Provider::new(
            store,
            issuer,
            TokenConfig::default(),
            keys,
            mailer,
            Clock::fixed(T0),
        );
        (dir, p)
    }

    /// Stores a user and returns it.
    pub fn user(p: &Provider, email: &str) -> User {
        let mut user = User::new(crate::crypto::random_id(), email.into(), p.now());
        user.email_verified = true;
        user.name = Some("Ada".into());
        p.store
            .write(|tx| {
                tx.put_user(&user)?;
                tx.put_user_email(&email.to_lowercase(), &user.id)
            })
            .expect("store user");
        user
    }

    /// A passkey record of `user_id` (ES256, synced, never used), as registration stores it;
    /// its public key is not a real one (admin commands never check it).
    pub fn passkey(user_id: &str, credential_id: &str, created_at: u64) -> crate::store::Passkey {
        crate::store::Passkey {
            user_id: user_id.into(),
            credential_id: credential_id.into(),
            public_key: "cHVibGljLWtleQ".into(),
            alg: "ES256".into(),
            sign_count: 0,
            transports: vec!["internal".into()],
            name: format!("Passkey {credential_id}"),
            backup_eligible: true,
            backed_up: true,
            created_at,
            last_used_at: None,
        }
    }

    /// An authorization request of `client_id` to the registered redirect URI.
    pub fn request(client_id: &str, scope: &str, code_challenge: Option<&str>) -> AuthRequest {
        AuthRequest {
            client_id: client_id.into(),
            redirect_uri: REDIRECT.into(),
            scope: scope.split(' ').map(str::to_string).collect(),
            state: None,
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: code_challenge.map(str::to_string),
            max_age: None,
            login_hint: None,
            resource: None,
            mfa: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{provider, T0};
    use super::*;
    use crate::audit::{list, record, Actor, AuditEntry, AuditEvent, AuditQuery};
    use crate::clock::DAY;

    #[test]
    fn the_sweep_keeps_the_audit_log_within_its_configured_bounds() {
        let (_d, p) = provider();
        let p = p.with_audit(AuditConfig {
            retention_days: 30,
            max_entries: 2,
        });
        let entry = || AuditEntry::new(Actor::Cli, AuditEvent::SignInSucceeded { new_user: false });
        p.store
            .write(|tx| {
                for at in [T0 - 31 * DAY, T0 - 3, T0 - 2, T0 - 1] {
                    record(tx, at, entry())?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        p.sweep().unwrap();
        let kept = p.store.read(|tx| list(tx, &AuditQuery::default())).unwrap();
        let times: Vec<u64> = kept.entries.iter().map(|r| T0 - r.at).collect();
        assert_eq!(
            times,
            [1, 2],
            "the old one by age, then the oldest beyond two"
        );
    }
}
