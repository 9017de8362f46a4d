//! The application registry: OIDC clients, as Logto has them (traditional web, single-page,
//! native), kept in the store's `APPS` table.
//!
//! Apps come from two places. The CLI (through the control socket or straight on the file)
//! creates, updates, deletes and rotates secrets. `sesame.toml` declares apps that
//! [`reconcile`](fn@reconcile) writes at every start; those are marked `declared` and the CLI refuses to
//! change them, because the next start would silently undo the change.
//!
//! A client secret exists in the clear exactly once: in the return value of [`create`] or
//! [`rotate_secret`] (or in the operator's own file for declared apps). The store keeps its
//! hash ([`crate::crypto::hash_token`]).
//!
//! It owns the rules for what an app may be (`validate.rs`, with `lan.rs` saying which http
//! hosts are on the LAN), `sesame dev`'s policy for unknown clients ([`dev`]), and the
//! registry's operations,
//! [`AppError`] and the argument types [`NewApp`] and [`AppUpdate`]. It uses [`crate::store`]
//! (`APPS`, and on delete the token tables it revokes), [`crate::crypto`] (random IDs and
//! secrets, hashing, [`Alg`]), [`crate::clock`], and for [`reconcile`](fn@reconcile) the configuration's
//! [`AppDecl`] (the `[[app]]` tables of `sesame.toml`). It knows nothing of how a request arrived: the control
//! socket, the CLI and start-up all call the same functions.
//!
//! Each change has two forms: [`create`] runs in a write transaction of its own, and
//! [`create_in`] inside the caller's, so the caller can write something with the change (the
//! control commands record their audit entry that way: both commit, or neither).

pub mod dev;
mod lan;
mod reconcile;
mod validate;

pub use reconcile::{reconcile, ReconcileReport};
pub use validate::{
    check_backchannel_uri, check_client_id, check_redirect_uri, is_insecure_redirect,
    is_loopback_host, RedirectRules,
};

use crate::clock;
use crate::crypto;
use crate::crypto::keys::Alg;
use crate::store::{
    ApiScopes, App, AppType, Reads, SecondFactor, Store, StoreError, WriteTx, ACCESS_TOKENS, APPS,
    GRANTS, REFRESH_TOKENS,
};
use serde::{Deserialize, Serialize};
use validate::{alg_any_case, check_name, check_uris};

/// An application declared in the configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDecl {
    pub client_id: String,
    pub name: String,
    /// `traditional` (default), `spa`, `native` or `machine`.
    #[serde(default)]
    pub app_type: Option<String>,
    /// The client secret in the clear (prefer `client_secret_file` or `client_secret_env`).
    #[serde(default)]
    pub client_secret: Option<crate::secret::Secret>,
    #[serde(default)]
    pub client_secret_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Required (at least one) unless the app is a machine app, which has none.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<crate::alg::Alg>,
    /// When not empty, only members of these groups may use the app.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Accept `http://` redirect URIs to hosts on the LAN (see [`RedirectRules`]).
    #[serde(default)]
    pub allow_insecure_redirect: bool,
    /// Seconds in which a refresh may be retried (0: never); unset, `[tokens]`'s.
    #[serde(default)]
    pub refresh_retry_window: Option<u64>,
    /// May use the device authorization grant (RFC 8628).
    #[serde(default)]
    pub device_flow: bool,
    /// `/auth` only with a pushed request (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// A machine app only: the API scopes it may get by client credentials, by resource
    /// indicator.
    #[serde(default)]
    pub api_scopes: ApiScopes,
    /// Where a session's end is POSTed as a logout token (`oidc::backchannel`).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` (sesame always sends it); default true.
    #[serde(default = "yes")]
    pub backchannel_logout_session_required: bool,
    /// `optional` (default) or `required`: a second factor after the email code.
    #[serde(default)]
    pub second_factor: SecondFactor,
}

fn yes() -> bool {
    true
}

/// What `sesame app create` asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewApp {
    pub name: String,
    /// `traditional` unless given. Sent as `type` (the name results use too); `app_type` is
    /// accepted as well.
    #[serde(rename = "type", alias = "app_type", default = "traditional")]
    pub app_type: AppType,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The default ([`Alg::default`]) unless given; its name is matched ignoring case.
    #[serde(default, deserialize_with = "alg_any_case")]
    pub id_token_signed_response_alg: Option<Alg>,
    /// When not empty, only members of these groups may use the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_groups: Vec<String>,
    /// Accept `http://` redirect URIs to hosts on the LAN (see [`RedirectRules`]). Sent only
    /// when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_redirect: bool,
    /// Seconds in which a refresh may be retried (0: never); unset, `[tokens]`'s. Sent only
    /// when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_retry_window: Option<u64>,
    /// A machine app only: the API scopes it may get by client credentials, by resource
    /// indicator. Sent only when set.
    #[serde(default, skip_serializing_if = "ApiScopes::is_empty")]
    pub api_scopes: ApiScopes,
    /// Where a session's end is POSTed as a logout token (`oidc::backchannel`). Sent only when
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` in logout tokens; default true. Sent only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
    /// May use the device authorization grant (RFC 8628). Sent only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub device_flow: bool,
    /// `/auth` only with a pushed request (RFC 9126). Sent only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// A second factor after the email code (`optional` unless given). Sent only when required.
    #[serde(default, skip_serializing_if = "SecondFactor::is_optional")]
    pub second_factor: SecondFactor,
}

fn traditional() -> AppType {
    AppType::Traditional
}

/// What `sesame app update` changes; `None` leaves a field as it is (and is not sent). A given
/// list replaces the stored one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Its name is matched ignoring case.
    #[serde(
        default,
        deserialize_with = "alg_any_case",
        skip_serializing_if = "Option::is_none"
    )]
    pub id_token_signed_response_alg: Option<Alg>,
    /// Replaces the list of groups whose members may use the app (empty: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
    /// Turning it off is refused while a kept URI still needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_insecure_redirect: Option<bool>,
    /// Seconds in which a refresh may be retried (0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_retry_window: Option<u64>,
    /// Replaces the API scopes a machine app may get by client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_scopes: Option<ApiScopes>,
    /// Where a session's end is POSTed as a logout token; `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` in logout tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
    /// May use the device authorization grant (RFC 8628).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_flow: Option<bool>,
    /// `/auth` only with a pushed request (RFC 9126).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Whether signing in to the app needs a second factor after the email code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactor>,
}

impl AppUpdate {
    /// True when the update would leave the app as it is.
    pub fn changes_nothing(&self) -> bool {
        let AppUpdate {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            id_token_signed_response_alg,
            allowed_groups,
            allow_insecure_redirect,
            refresh_retry_window,
            api_scopes,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            device_flow,
            require_pushed_authorization_requests,
            second_factor,
        } = self;
        name.is_none()
            && redirect_uris.is_none()
            && post_logout_redirect_uris.is_none()
            && id_token_signed_response_alg.is_none()
            && allowed_groups.is_none()
            && allow_insecure_redirect.is_none()
            && refresh_retry_window.is_none()
            && api_scopes.is_none()
            && backchannel_logout_uri.is_none()
            && backchannel_logout_session_required.is_none()
            && device_flow.is_none()
            && require_pushed_authorization_requests.is_none()
            && second_factor.is_none()
    }
}

/// Why an application operation failed.
#[derive(Debug)]
pub enum AppError {
    /// No app has this client ID.
    NotFound(String),
    /// The app is declared in `sesame.toml`; the CLI may not change or delete it.
    Declared(String),
    /// The app is public (single-page or native) and has no secret.
    PublicClient(String),
    /// The app type is not traditional, spa, native or machine.
    UnknownType(crate::store::UnknownAppType),
    /// `allowed_groups` names a group that does not exist.
    UnknownGroup(String),
    /// The name is empty.
    EmptyName,
    /// An app needs at least one redirect URI.
    NoRedirectUri,
    /// A redirect URI (or post-logout redirect URI) is not acceptable.
    InvalidRedirectUri { uri: String, reason: String },
    /// A `backchannel_logout_uri` is not acceptable.
    InvalidBackchannelUri { uri: String, reason: String },
    /// `allow_insecure_redirect` was being turned off while a URI the update keeps needs it.
    InsecureRedirectStillRegistered { uri: String },
    /// A declared client ID is not usable.
    InvalidClientId { client_id: String, reason: String },
    /// A declared app's secret could not be read from its file or environment variable.
    Secret { client_id: String, reason: String },
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::NotFound(id) => write!(f, "no app with client ID {id:?} (sesame app list shows them)"),
            AppError::Declared(id) => write!(
                f,
                "app {id:?} is declared in sesame.toml; edit it there (it is reconciled at every start)"
            ),
            AppError::PublicClient(id) => {
                write!(f, "app {id:?} is a public client (spa or native) and has no client secret")
            }
            AppError::UnknownType(reason) => write!(f, "{reason}"),
            AppError::UnknownGroup(g) => write!(
                f,
                "no group {g:?} (create it with `sesame group add {g}`, or declare it in sesame.toml)"
            ),
            AppError::EmptyName => write!(f, "the app name must not be empty"),
            AppError::NoRedirectUri => write!(f, "an app needs at least one redirect URI (--redirect-uri)"),
            AppError::InvalidRedirectUri { uri, reason } => write!(f, "redirect URI {uri:?} {reason}"),
            AppError::InvalidBackchannelUri { uri, reason } => {
                write!(f, "back-channel logout URI {uri:?} {reason}")
            }
            AppError::InsecureRedirectStillRegistered { uri } => write!(
                f,
                "cannot turn allow_insecure_redirect off: redirect URI {uri:?} uses http on the LAN and needs it; \
                 replace it (--redirect-uri or --post-logout-redirect-uri) in the same update"
            ),
            AppError::InvalidClientId { client_id, reason } => write!(f, "client ID {client_id:?} {reason}"),
            AppError::Secret { client_id, reason } => write!(f, "app {client_id:?}: {reason}"),
            AppError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

/// Registers a new app. Returns it and, for a traditional or machine app, its client secret in
/// the clear (shown once; only its hash is kept).
pub fn create(store: &Store, new: NewApp) -> Result<(App, Option<String>), AppError> {
    let created = store.write(|tx| create_in(tx, new))?;
    warn_if_insecure(&created.0);
    Ok(created)
}

/// [`create`] inside the caller's write transaction (the audit entry commits with it).
pub fn create_in(tx: &WriteTx, new: NewApp) -> Result<(App, Option<String>), AppError> {
    let name = check_name(&new.name)?;
    let rules = RedirectRules {
        app_type: new.app_type,
        allow_insecure_redirect: new.allow_insecure_redirect,
    };
    let redirect_uris = check_uris(&new.redirect_uris, rules, true)?;
    let post_logout_redirect_uris = check_uris(&new.post_logout_redirect_uris, rules, false)?;
    let backchannel_logout_uri = check_backchannel_uri(new.backchannel_logout_uri, rules)?;
    let secret = (!new.app_type.is_public()).then(crypto::random_token);
    let app = App {
        client_id: crypto::random_id(),
        name,
        app_type: new.app_type,
        secret_hash: secret.as_deref().map(crypto::hash_token),
        redirect_uris,
        post_logout_redirect_uris,
        id_token_signed_response_alg: new.id_token_signed_response_alg,
        allow_insecure_redirect: new.allow_insecure_redirect,
        created_at: clock::now(),
        declared: false,
        allowed_groups: known_groups(tx, &new.allowed_groups)?,
        refresh_retry_window: new.refresh_retry_window,
        api_scopes: new.api_scopes,
        second_factor: new.second_factor,
        backchannel_logout_uri,
        backchannel_logout_session_required: new
            .backchannel_logout_session_required
            .unwrap_or(true),
        device_flow: new.device_flow,
        require_pushed_authorization_requests: new.require_pushed_authorization_requests,
    };
    tx.put(&APPS, &app.client_id, &app)?;
    Ok((app, secret))
}

/// Checks that every group named exists; returns them sorted, without repeats.
fn known_groups(tx: &impl Reads, groups: &[String]) -> Result<Vec<String>, AppError> {
    crate::users::known_groups(tx, groups).map_err(|e| match e {
        crate::users::GroupCheck::Unknown(g) => AppError::UnknownGroup(g),
        crate::users::GroupCheck::Store(e) => AppError::Store(e),
    })
}

/// Every app, oldest first.
pub fn list(store: &Store) -> Result<Vec<App>, AppError> {
    let mut apps: Vec<App> = store
        .read(|tx| tx.scan(&APPS))?
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    apps.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(apps)
}

/// One app by client ID.
pub fn get(store: &Store, client_id: &str) -> Result<App, AppError> {
    store
        .read(|tx| tx.get(&APPS, client_id))?
        .ok_or_else(|| AppError::NotFound(client_id.to_string()))
}

/// Changes an app's name, redirect URIs, ID token algorithm or `allow_insecure_redirect`.
/// Given URI lists are checked against the app's rules as the update leaves them; kept ones
/// are checked again when the rules change.
pub fn update(store: &Store, client_id: &str, change: AppUpdate) -> Result<App, AppError> {
    let app = store.write(|tx| update_in(tx, client_id, change))?;
    warn_if_insecure(&app);
    Ok(app)
}

/// [`update`] inside the caller's write transaction.
pub fn update_in(tx: &WriteTx, client_id: &str, change: AppUpdate) -> Result<App, AppError> {
    {
        let mut app = editable(tx.get(&APPS, client_id)?, client_id)?;
        if let Some(name) = &change.name {
            app.name = check_name(name)?;
        }
        if let Some(allow) = change.allow_insecure_redirect {
            app.allow_insecure_redirect = allow;
        }
        let rules = RedirectRules::of(&app);
        let rules_changed = change.allow_insecure_redirect.is_some();
        match &change.redirect_uris {
            Some(uris) => app.redirect_uris = check_uris(uris, rules, true)?,
            None if rules_changed => still_allowed(&app.redirect_uris, rules)?,
            None => {}
        }
        match &change.post_logout_redirect_uris {
            Some(uris) => app.post_logout_redirect_uris = check_uris(uris, rules, false)?,
            None if rules_changed => still_allowed(&app.post_logout_redirect_uris, rules)?,
            None => {}
        }
        if let Some(alg) = change.id_token_signed_response_alg {
            app.id_token_signed_response_alg = Some(alg);
        }
        if let Some(groups) = &change.allowed_groups {
            app.allowed_groups = known_groups(tx, groups)?;
        }
        if let Some(window) = change.refresh_retry_window {
            app.refresh_retry_window = Some(window);
        }
        if let Some(scopes) = change.api_scopes {
            app.api_scopes = scopes;
        }
        if let Some(on) = change.device_flow {
            app.device_flow = on;
        }
        if let Some(on) = change.require_pushed_authorization_requests {
            app.require_pushed_authorization_requests = on;
        }
        if let Some(policy) = change.second_factor {
            app.second_factor = policy;
        }
        match change.backchannel_logout_uri {
            Some(uri) => app.backchannel_logout_uri = check_backchannel_uri(Some(uri), rules)?,
            None if rules_changed => {
                check_backchannel_uri(app.backchannel_logout_uri.clone(), rules)?;
            }
            None => {}
        }
        if let Some(required) = change.backchannel_logout_session_required {
            app.backchannel_logout_session_required = required;
        }
        tx.put(&APPS, client_id, &app)?;
        Ok(app)
    }
}

/// Deletes an app and revokes what it was issued: its grants are marked revoked and its
/// access and refresh tokens removed, so nothing it holds keeps working.
pub fn delete(store: &Store, client_id: &str) -> Result<App, AppError> {
    store.write(|tx| delete_in(tx, client_id))
}

/// [`delete`] inside the caller's write transaction.
pub fn delete_in(tx: &WriteTx, client_id: &str) -> Result<App, AppError> {
    let app = editable(tx.get(&APPS, client_id)?, client_id)?;
    tx.remove(&APPS, client_id)?;
    for (id, mut grant) in tx.scan(&GRANTS)? {
        if grant.client_id == client_id && !grant.revoked {
            grant.revoked = true;
            tx.put(&GRANTS, &id, &grant)?;
        }
    }
    tx.sweep(&ACCESS_TOKENS, |t| t.client_id == client_id)?;
    tx.sweep(&REFRESH_TOKENS, |t| t.client_id == client_id)?;
    Ok(app)
}

/// Gives a traditional or machine app a new client secret and returns it in the clear (shown
/// once). The old secret stops working at once.
pub fn rotate_secret(store: &Store, client_id: &str) -> Result<String, AppError> {
    store.write(|tx| rotate_secret_in(tx, client_id))
}

/// [`rotate_secret`] inside the caller's write transaction.
pub fn rotate_secret_in(tx: &WriteTx, client_id: &str) -> Result<String, AppError> {
    let mut app = editable(tx.get(&APPS, client_id)?, client_id)?;
    if app.app_type.is_public() {
        return Err(AppError::PublicClient(client_id.to_string()));
    }
    let secret = crypto::random_token();
    app.secret_hash = Some(crypto::hash_token(&secret));
    tx.put(&APPS, client_id, &app)?;
    Ok(secret)
}

/// The algorithm an app's ID tokens are signed with (ES384 unless it asked for another).
pub fn id_token_alg(app: &App) -> Alg {
    app.id_token_signed_response_alg.unwrap_or_default()
}

/// Seconds after a rotation during which the app's clients may retry a refresh (see
/// `oidc::grant`): its own setting, else `default` (`[tokens] refresh_retry_window`).
pub fn refresh_retry_window(app: &App, default: u64) -> u64 {
    app.refresh_retry_window.unwrap_or(default)
}

/// The warning an app that uses `allow_insecure_redirect` earns, or `None` when none of its
/// redirect URIs uses http on the LAN. Logged when such an app is created, updated or
/// reconciled; the CLI prints it too.
pub fn insecure_redirect_warning(client_id: &str, redirect_uris: &[String]) -> Option<String> {
    let insecure: Vec<&str> = redirect_uris
        .iter()
        .map(String::as_str)
        .filter(|uri| is_insecure_redirect(uri))
        .collect();
    (!insecure.is_empty()).then(|| {
        format!(
            "app {client_id} accepts insecure http redirect URIs on the LAN: codes travel unencrypted ({})",
            insecure.join(", ")
        )
    })
}

/// Logs [`insecure_redirect_warning`] for `app`, if it earns one (after a create or update).
pub fn warn_if_insecure(app: &App) {
    if let Some(warning) = insecure_redirect_warning(&app.client_id, &app.redirect_uris) {
        tracing::warn!("{warning}");
    }
}

/// Checks the URIs an update keeps against the rules it changed: turning
/// `allow_insecure_redirect` off must not leave an http URI on the LAN registered.
fn still_allowed(uris: &[String], rules: RedirectRules) -> Result<(), AppError> {
    for uri in uris {
        match check_redirect_uri(uri, rules) {
            Err(_) if is_insecure_redirect(uri) => {
                return Err(AppError::InsecureRedirectStillRegistered { uri: uri.clone() })
            }
            result => result?,
        }
    }
    Ok(())
}

/// Loads an app for a CLI change: it must exist and not be declared in `sesame.toml`.
fn editable(app: Option<App>, client_id: &str) -> Result<App, AppError> {
    match app {
        None => Err(AppError::NotFound(client_id.to_string())),
        Some(app) if app.declared => Err(AppError::Declared(client_id.to_string())),
        Some(app) => Ok(app),
    }
}

#[cfg(test)]
mod tests;
