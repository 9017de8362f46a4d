//! The application registry: OIDC clients, as Logto has them (traditional web, single-page,
//! native), kept in the store's `APPS` table.
//!
//! Apps come from two places. The CLI (through the control socket or straight on the file)
//! creates, updates, deletes and rotates secrets. `sesame.toml` declares apps that
//! [`reconcile`] writes at every start; those are marked `declared` and the CLI refuses to
//! change them, because the next start would silently undo the change.
//!
//! A client secret exists in the clear exactly once: in the return value of [`create`] or
//! [`rotate_secret`] (or in the operator's own file for declared apps). The store keeps its
//! hash ([`crate::crypto::hash_token`]).

use crate::clock;
use crate::config::AppDecl;
use crate::crypto;
use crate::store::{App, AppType, Store, StoreError, ACCESS_TOKENS, APPS, GRANTS, REFRESH_TOKENS};
use serde::{Deserialize, Serialize};

/// The ID token signing algorithms an app may ask for; the first is the default (Logto's).
pub const ID_TOKEN_ALGS: [&str; 3] = ["ES384", "ES256", "RS256"];

/// What `sesame app create` asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewApp {
    pub name: String,
    /// `traditional` unless given (also accepted as `type`).
    #[serde(alias = "type", default = "traditional")]
    pub app_type: AppType,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
}

fn traditional() -> AppType {
    AppType::Traditional
}

/// What `sesame app update` changes; `None` leaves a field as it is. A given list replaces the
/// stored one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
}

/// What [`reconcile`] did, by client ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// Apps declared before but no longer in the file: kept, and now managed by the CLI
    /// (`sesame app delete` removes them). Deleting them on our own could lose an app to a
    /// mistyped `--config`. [`reconcile`] logs a warning for each.
    pub released: Vec<String>,
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
    /// The app type is not traditional, spa or native.
    UnknownType(String),
    /// The name is empty.
    EmptyName,
    /// An app needs at least one redirect URI.
    NoRedirectUri,
    /// A redirect URI (or post-logout redirect URI) is not acceptable.
    InvalidRedirectUri { uri: String, reason: String },
    /// `id_token_signed_response_alg` is not one sesame signs with.
    UnsupportedAlg(String),
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
            AppError::EmptyName => write!(f, "the app name must not be empty"),
            AppError::NoRedirectUri => write!(f, "an app needs at least one redirect URI (--redirect-uri)"),
            AppError::InvalidRedirectUri { uri, reason } => write!(f, "redirect URI {uri:?} {reason}"),
            AppError::UnsupportedAlg(alg) => write!(
                f,
                "id_token_signed_response_alg {alg:?} is not supported; use one of {}",
                ID_TOKEN_ALGS.join(", ")
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

/// Registers a new app. Returns it and, for a traditional app, its client secret in the clear
/// (shown once; only its hash is kept).
pub fn create(store: &Store, new: NewApp) -> Result<(App, Option<String>), AppError> {
    let name = check_name(&new.name)?;
    let redirect_uris = check_uris(&new.redirect_uris, new.app_type, true)?;
    let post_logout_redirect_uris =
        check_uris(&new.post_logout_redirect_uris, new.app_type, false)?;
    let alg = check_alg(new.id_token_signed_response_alg.as_deref())?;
    let secret = (!new.app_type.is_public()).then(crypto::random_token);
    let app = App {
        client_id: crypto::random_id(),
        name,
        app_type: new.app_type,
        secret_hash: secret.as_deref().map(crypto::hash_token),
        redirect_uris,
        post_logout_redirect_uris,
        id_token_signed_response_alg: alg,
        created_at: clock::now(),
        declared: false,
    };
    store.write(|tx| tx.put(&APPS, &app.client_id, &app))?;
    Ok((app, secret))
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

/// Changes an app's name, redirect URIs or ID token algorithm.
pub fn update(store: &Store, client_id: &str, change: AppUpdate) -> Result<App, AppError> {
    store.write(|tx| {
        let mut app = editable(tx.get(&APPS, client_id)?, client_id)?;
        if let Some(name) = &change.name {
            app.name = check_name(name)?;
        }
        if let Some(uris) = &change.redirect_uris {
            app.redirect_uris = check_uris(uris, app.app_type, true)?;
        }
        if let Some(uris) = &change.post_logout_redirect_uris {
            app.post_logout_redirect_uris = check_uris(uris, app.app_type, false)?;
        }
        if let Some(alg) = &change.id_token_signed_response_alg {
            app.id_token_signed_response_alg = check_alg(Some(alg))?;
        }
        tx.put(&APPS, client_id, &app)?;
        Ok(app)
    })
}

/// Deletes an app and revokes what it was issued: its grants are marked revoked and its
/// access and refresh tokens removed, so nothing it holds keeps working.
pub fn delete(store: &Store, client_id: &str) -> Result<App, AppError> {
    store.write(|tx| {
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
    })
}

/// Gives a traditional app a new client secret and returns it in the clear (shown once). The
/// old secret stops working at once.
pub fn rotate_secret(store: &Store, client_id: &str) -> Result<String, AppError> {
    store.write(|tx| {
        let mut app = editable(tx.get(&APPS, client_id)?, client_id)?;
        if app.app_type.is_public() {
            return Err(AppError::PublicClient(client_id.to_string()));
        }
        let secret = crypto::random_token();
        app.secret_hash = Some(crypto::hash_token(&secret));
        tx.put(&APPS, client_id, &app)?;
        Ok(secret)
    })
}

/// Makes the store match the apps declared in `sesame.toml`: creates missing ones, updates
/// changed ones (secret included), and releases apps that are no longer declared. One
/// transaction: either all of it happens or none.
///
/// A released app keeps working (with the secret it had) and is logged as a warning naming
/// `sesame app delete`: removing an `[[app]]` block does not revoke anything by itself.
pub fn reconcile(store: &Store, decls: &[AppDecl]) -> Result<ReconcileReport, AppError> {
    // Secrets are read (files, environment) before the transaction opens.
    let wanted = decls
        .iter()
        .map(declared_app)
        .collect::<Result<Vec<App>, AppError>>()?;
    let mut released_names = Vec::new();
    let report = store.write(|tx| {
        let mut report = ReconcileReport::default();
        for mut app in wanted {
            match tx.get(&APPS, &app.client_id)? {
                Some(old) => {
                    app.created_at = old.created_at;
                    if old == app {
                        report.unchanged.push(app.client_id.clone());
                        continue;
                    }
                    report.updated.push(app.client_id.clone());
                }
                None => report.created.push(app.client_id.clone()),
            }
            tx.put(&APPS, &app.client_id, &app)?;
        }
        for (id, mut app) in tx.scan(&APPS)? {
            if app.declared && !decls.iter().any(|d| d.client_id == id) {
                app.declared = false;
                tx.put(&APPS, &id, &app)?;
                released_names.push(app.name.clone());
                report.released.push(id);
            }
        }
        Ok::<_, AppError>(report)
    })?;
    // Said once, at the start that releases them: from then on they are ordinary apps.
    for (id, name) in report.released.iter().zip(&released_names) {
        tracing::warn!(
            "app {id} ({name}) is no longer declared in sesame.toml but still works; delete it with `sesame app delete {id}`"
        );
    }
    Ok(report)
}

/// The algorithm an app's ID tokens are signed with (ES384 unless it asked for another).
pub fn id_token_alg(app: &App) -> &str {
    app.id_token_signed_response_alg
        .as_deref()
        .unwrap_or(ID_TOKEN_ALGS[0])
}

/// Checks a redirect URI (or post-logout redirect URI) for an app of this type: an absolute
/// URL without a fragment (OAuth 2.0 §3.1.2); https, or http on a loopback host (a developer's
/// machine); a native app may also use its own custom scheme (`com.example.app:/callback`).
pub fn check_redirect_uri(uri: &str, app_type: AppType) -> Result<(), AppError> {
    let invalid = |reason: String| AppError::InvalidRedirectUri {
        uri: uri.to_string(),
        reason,
    };
    let url = url::Url::parse(uri).map_err(|e| invalid(format!("is not an absolute URL ({e})")))?;
    if url.fragment().is_some() {
        return Err(invalid("must not contain a fragment (#...)".into()));
    }
    // `https://good.example.com@evil.example.com/cb` goes to evil.example.com: whoever reads
    // the URI (a person, a log, a naive prefix check) sees the wrong host.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not contain a user name or password (user@host); write the host only".into(),
        ));
    }
    // Redirect URIs are matched exactly (OAuth 2.0 Security BCP §4.1.3); a `*` would only
    // ever match itself, and suggests a pattern the operator expects to work.
    if url.host_str().is_some_and(|h| h.contains('*')) {
        return Err(invalid(
            "has a * in its host: wildcards are not supported; register each URI".into(),
        ));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(invalid(
            "uses http; use https (http is allowed only for localhost, 127.0.0.1 and [::1])".into(),
        )),
        "https" => Err(invalid("has no host".into())),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => {
            Err(invalid(format!("uses the {}: scheme, which is never a redirect target", url.scheme())))
        }
        other if app_type == AppType::Native => {
            // A native app's private-use scheme (RFC 8252 §7.1); it must contain a period so it
            // is a reverse domain name and not a bare word another app could also claim.
            if other.contains('.') {
                Ok(())
            } else {
                Err(invalid(format!(
                    "uses the scheme {other:?}; a native app's own scheme is a reverse domain name, e.g. com.example.app:/callback"
                )))
            }
        }
        other => Err(invalid(format!(
            "uses the scheme {other:?}; only native apps may use their own scheme, others need https"
        ))),
    }
}

/// True when the URL's host is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a declared client ID: 1 to 128 characters of `A-Z a-z 0-9 . _ ~ -` (safe unescaped
/// in URLs, forms and HTTP Basic).
pub fn check_client_id(client_id: &str) -> Result<(), AppError> {
    let invalid = |reason: &str| AppError::InvalidClientId {
        client_id: client_id.to_string(),
        reason: reason.to_string(),
    };
    if client_id.is_empty() || client_id.len() > 128 {
        return Err(invalid("must be 1 to 128 characters long"));
    }
    if !client_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
    {
        return Err(invalid("may contain only letters, digits and . _ ~ -"));
    }
    Ok(())
}

/// The app a declaration describes, with its secret read and hashed.
fn declared_app(decl: &AppDecl) -> Result<App, AppError> {
    check_client_id(&decl.client_id)?;
    let app_type: AppType = match &decl.app_type {
        Some(t) => t.parse().map_err(AppError::UnknownType)?,
        None => AppType::Traditional,
    };
    let secret = declared_secret(decl, app_type)?;
    Ok(App {
        client_id: decl.client_id.clone(),
        name: check_name(&decl.name)?,
        app_type,
        secret_hash: secret.as_deref().map(crypto::hash_token),
        redirect_uris: check_uris(&decl.redirect_uris, app_type, true)?,
        post_logout_redirect_uris: check_uris(&decl.post_logout_redirect_uris, app_type, false)?,
        id_token_signed_response_alg: check_alg(decl.id_token_signed_response_alg.as_deref())?,
        created_at: clock::now(),
        declared: true,
    })
}

/// Reads a declared app's secret from exactly one of its three sources.
fn declared_secret(decl: &AppDecl, app_type: AppType) -> Result<Option<String>, AppError> {
    let fail = |reason: String| AppError::Secret {
        client_id: decl.client_id.clone(),
        reason,
    };
    let secret = match (
        &decl.client_secret,
        &decl.client_secret_file,
        &decl.client_secret_env,
    ) {
        (None, None, None) if app_type.is_public() => return Ok(None),
        (_, _, _) if app_type.is_public() => {
            return Err(fail(format!(
                "a {} app is public and has no secret; remove it",
                app_type.as_str()
            )))
        }
        (Some(s), None, None) => s.clone(),
        (None, Some(path), None) => std::fs::read_to_string(path)
            .map_err(|e| {
                fail(format!(
                    "cannot read client_secret_file {}: {e}",
                    path.display()
                ))
            })?
            .trim_end_matches(['\r', '\n'])
            .to_string(),
        (None, None, Some(var)) => std::env::var(var)
            .map_err(|_| fail(format!("client_secret_env names {var}, which is not set")))?,
        (None, None, None) => return Err(fail(
            "a traditional app needs one of client_secret_file, client_secret_env or client_secret"
                .into(),
        )),
        _ => {
            return Err(fail(
                "set only one of client_secret, client_secret_file and client_secret_env".into(),
            ))
        }
    };
    if secret.is_empty() {
        return Err(fail("the client secret is empty".into()));
    }
    Ok(Some(secret))
}

/// Loads an app for a CLI change: it must exist and not be declared in `sesame.toml`.
fn editable(app: Option<App>, client_id: &str) -> Result<App, AppError> {
    match app {
        None => Err(AppError::NotFound(client_id.to_string())),
        Some(app) if app.declared => Err(AppError::Declared(client_id.to_string())),
        Some(app) => Ok(app),
    }
}

fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::EmptyName);
    }
    Ok(name.to_string())
}

/// Checks every URI and drops repeats, keeping the order given.
fn check_uris(
    uris: &[String],
    app_type: AppType,
    at_least_one: bool,
) -> Result<Vec<String>, AppError> {
    if at_least_one && uris.is_empty() {
        return Err(AppError::NoRedirectUri);
    }
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        check_redirect_uri(uri, app_type)?;
        if !out.contains(uri) {
            out.push(uri.clone());
        }
    }
    Ok(out)
}

fn check_alg(alg: Option<&str>) -> Result<Option<String>, AppError> {
    match alg {
        None => Ok(None),
        Some(a) => ID_TOKEN_ALGS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(a.trim()))
            .map(|known| Some(known.to_string()))
            .ok_or_else(|| AppError::UnsupportedAlg(a.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccessToken, Grant, RefreshToken};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        (dir, store)
    }

    fn new_app(app_type: AppType, uris: &[&str]) -> NewApp {
        NewApp {
            name: "Bookstore".into(),
            app_type,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            id_token_signed_response_alg: None,
        }
    }

    fn decl(client_id: &str) -> AppDecl {
        AppDecl {
            client_id: client_id.into(),
            name: "Declared".into(),
            app_type: None,
            client_secret: Some("s3cret".into()),
            client_secret_file: None,
            client_secret_env: None,
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            id_token_signed_response_alg: None,
        }
    }

    #[test]
    fn a_traditional_app_gets_a_secret_stored_only_as_its_hash() {
        let (_d, store) = store();
        let (app, secret) = create(
            &store,
            new_app(AppType::Traditional, &["http://localhost:3000/cb"]),
        )
        .unwrap();
        let secret = secret.expect("traditional apps have a secret");
        assert_eq!(
            app.secret_hash.as_deref(),
            Some(crypto::hash_token(&secret).as_str())
        );
        assert!(!app.client_id.is_empty());
        let stored = get(&store, &app.client_id).unwrap();
        assert_eq!(stored, app);
        assert_eq!(id_token_alg(&stored), "ES384");
        let raw = serde_json::to_string(&stored).unwrap();
        assert!(!raw.contains(&secret), "the secret itself is never stored");
    }

    #[test]
    fn public_apps_have_no_secret() {
        let (_d, store) = store();
        let (spa, secret) = create(
            &store,
            new_app(AppType::Spa, &["https://spa.example.com/cb"]),
        )
        .unwrap();
        assert!(secret.is_none() && spa.secret_hash.is_none());
        assert!(matches!(
            rotate_secret(&store, &spa.client_id),
            Err(AppError::PublicClient(_))
        ));
        let (native, _) = create(
            &store,
            new_app(AppType::Native, &["com.example.app:/callback"]),
        )
        .unwrap();
        assert_eq!(native.redirect_uris, vec!["com.example.app:/callback"]);
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let (_d, store) = store();
        let cases: Vec<(NewApp, &str)> = vec![
            (
                new_app(AppType::Traditional, &[]),
                "at least one redirect URI",
            ),
            (
                new_app(AppType::Traditional, &["/relative"]),
                "not an absolute URL",
            ),
            (
                new_app(AppType::Traditional, &["https://a.example.com/cb#x"]),
                "fragment",
            ),
            (
                new_app(AppType::Traditional, &["http://a.example.com/cb"]),
                "use https",
            ),
            (
                new_app(AppType::Spa, &["com.example.app:/cb"]),
                "only native apps",
            ),
            (
                new_app(AppType::Native, &["myapp:/cb"]),
                "reverse domain name",
            ),
            (
                new_app(AppType::Native, &["javascript:alert(1)"]),
                "never a redirect target",
            ),
            (
                NewApp {
                    name: "  ".into(),
                    ..new_app(AppType::Spa, &["https://a.example.com"])
                },
                "name",
            ),
            (
                NewApp {
                    id_token_signed_response_alg: Some("HS256".into()),
                    ..new_app(AppType::Spa, &["https://a.example.com"])
                },
                "HS256",
            ),
            (
                NewApp {
                    post_logout_redirect_uris: vec!["http://evil.example.com/".into()],
                    ..new_app(AppType::Spa, &["https://a.example.com"])
                },
                "evil.example.com",
            ),
        ];
        for (new, says) in cases {
            let e = create(&store, new).unwrap_err().to_string();
            assert!(e.contains(says), "{e:?} should mention {says:?}");
        }
        assert!(
            list(&store).unwrap().is_empty(),
            "nothing stored on refusal"
        );
    }

    #[test]
    fn user_info_and_wildcards_are_refused_everywhere_a_uri_is_registered() {
        let cases = [
            (
                "https://good.example.com@evil.example.com/cb",
                "user name or password",
            ),
            ("https://u:p@host.example.com/cb", "user name or password"),
            ("https://:p@host.example.com/cb", "user name or password"),
            ("http://me@localhost:3000/cb", "user name or password"),
            ("com.example.app://user@host/cb", "user name or password"),
            (
                "https://*.example.com/cb",
                "wildcards are not supported; register each URI",
            ),
            ("https://app*.example.com/cb", "wildcards are not supported"),
            ("com.example.app://*/cb", "wildcards are not supported"),
        ];
        for (uri, says) in cases {
            let e = check_redirect_uri(uri, AppType::Native)
                .expect_err(uri)
                .to_string();
            assert!(e.contains(says), "{uri}: {e}");
        }
        let (_d, store) = store();
        let e = create(
            &store,
            new_app(
                AppType::Traditional,
                &["https://good.example.com@evil.example.com/cb"],
            ),
        )
        .unwrap_err();
        assert!(e.to_string().contains("user name"), "{e}");
        let (app, _) = create(
            &store,
            new_app(AppType::Traditional, &["https://a.example.com/cb"]),
        )
        .unwrap();
        let e = update(
            &store,
            &app.client_id,
            AppUpdate {
                post_logout_redirect_uris: Some(vec!["https://*.example.com/".into()]),
                ..AppUpdate::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("wildcards"), "{e}");
        let mut declared = decl("declared");
        declared.post_logout_redirect_uris = vec!["https://u:p@a.example.com/".into()];
        let e = reconcile(&store, &[declared]).unwrap_err();
        assert!(e.to_string().contains("user name"), "{e}");
        // A path or query may still hold an @ or a *: only the authority is refused.
        check_redirect_uri("https://a.example.com/cb/@me?x=*", AppType::Spa).unwrap();
    }

    #[test]
    fn loopback_http_is_allowed_in_every_form() {
        for uri in [
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
        ] {
            check_redirect_uri(uri, AppType::Traditional).unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }

    #[test]
    fn list_update_delete_and_rotate() {
        let (_d, store) = store();
        let (a, secret) = create(
            &store,
            new_app(AppType::Traditional, &["https://a.example.com/cb"]),
        )
        .unwrap();
        let (b, _) = create(&store, new_app(AppType::Spa, &["https://b.example.com/cb"])).unwrap();
        assert_eq!(list(&store).unwrap().len(), 2);

        let change = AppUpdate {
            name: Some("Renamed".into()),
            redirect_uris: Some(vec![
                "https://a.example.com/new".into(),
                "https://a.example.com/new".into(),
            ]),
            post_logout_redirect_uris: Some(vec!["https://a.example.com/".into()]),
            id_token_signed_response_alg: Some("rs256".into()),
        };
        let updated = update(&store, &a.client_id, change).unwrap();
        assert_eq!(updated.name, "Renamed");
        assert_eq!(
            updated.redirect_uris,
            vec!["https://a.example.com/new"],
            "repeats dropped"
        );
        assert_eq!(
            updated.id_token_signed_response_alg.as_deref(),
            Some("RS256")
        );
        assert_eq!(
            updated.secret_hash, a.secret_hash,
            "update keeps the secret"
        );
        let bad = AppUpdate {
            redirect_uris: Some(vec!["https://x/#f".into()]),
            ..AppUpdate::default()
        };
        assert!(update(&store, &a.client_id, bad).is_err());
        assert_eq!(
            get(&store, &a.client_id).unwrap(),
            updated,
            "a refused update changes nothing"
        );

        let new_secret = rotate_secret(&store, &a.client_id).unwrap();
        assert_ne!(Some(new_secret.clone()), secret);
        assert_eq!(
            get(&store, &a.client_id).unwrap().secret_hash,
            Some(crypto::hash_token(&new_secret))
        );

        delete(&store, &b.client_id).unwrap();
        assert!(matches!(
            get(&store, &b.client_id),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            delete(&store, &b.client_id),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            update(&store, "nope", AppUpdate::default()),
            Err(AppError::NotFound(_))
        ));
    }

    #[test]
    fn deleting_an_app_revokes_what_it_was_issued() {
        let (_d, store) = store();
        let (a, _) = create(
            &store,
            new_app(AppType::Traditional, &["https://a.example.com/cb"]),
        )
        .unwrap();
        let grant = Grant {
            client_id: a.client_id.clone(),
            user_id: "u".into(),
            scope: vec!["openid".into()],
            auth_time: 1,
            revoked: false,
            expires_at: u64::MAX,
        };
        let at = AccessToken {
            grant_id: "g".into(),
            client_id: a.client_id.clone(),
            user_id: "u".into(),
            scope: vec![],
            expires_at: u64::MAX,
        };
        let rt = RefreshToken {
            grant_id: "g".into(),
            client_id: a.client_id.clone(),
            user_id: "u".into(),
            scope: vec![],
            expires_at: u64::MAX,
            spent: false,
        };
        store
            .write(|tx| {
                tx.put(&GRANTS, "g", &grant)?;
                tx.put(&ACCESS_TOKENS, "at", &at)?;
                tx.put(&REFRESH_TOKENS, "rt", &rt)
            })
            .unwrap();
        delete(&store, &a.client_id).unwrap();
        let (g, at, rt) = store
            .read(|tx| {
                Ok((
                    tx.get(&GRANTS, "g")?,
                    tx.get(&ACCESS_TOKENS, "at")?,
                    tx.get(&REFRESH_TOKENS, "rt")?,
                ))
            })
            .unwrap();
        assert!(g.unwrap().revoked);
        assert!(at.is_none() && rt.is_none());
    }

    #[test]
    fn reconcile_creates_updates_and_releases_declared_apps() {
        let (dir, store) = store();
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, "from-file\n").unwrap();
        // A variable name no other test uses: tests share the process environment.
        std::env::set_var("APPS_TEST_RECONCILE_SECRET", "from-env");
        let mut from_file = decl("from-file");
        from_file.client_secret = None;
        from_file.client_secret_file = Some(secret_file);
        let mut from_env = decl("from-env");
        from_env.client_secret = None;
        from_env.client_secret_env = Some("APPS_TEST_RECONCILE_SECRET".into());
        let mut spa = decl("spa");
        spa.client_secret = None;
        spa.app_type = Some("spa".into());
        let decls = vec![decl("inline"), from_file, from_env, spa];

        let report = reconcile(&store, &decls).unwrap();
        assert_eq!(
            report.created,
            vec!["inline", "from-file", "from-env", "spa"]
        );
        let hash = |id: &str| get(&store, id).unwrap().secret_hash;
        assert_eq!(hash("inline"), Some(crypto::hash_token("s3cret")));
        assert_eq!(
            hash("from-file"),
            Some(crypto::hash_token("from-file")),
            "trailing newline trimmed"
        );
        assert_eq!(hash("from-env"), Some(crypto::hash_token("from-env")));
        assert_eq!(hash("spa"), None);
        assert!(get(&store, "inline").unwrap().declared);

        let again = reconcile(&store, &decls).unwrap();
        assert_eq!(again.unchanged.len(), 4);
        assert!(again.created.is_empty() && again.updated.is_empty());

        // Declared apps are edited in sesame.toml, not with the CLI.
        for e in [
            update(&store, "inline", AppUpdate::default()).unwrap_err(),
            delete(&store, "inline").unwrap_err(),
            rotate_secret(&store, "inline").unwrap_err(),
        ] {
            assert!(e.to_string().contains("sesame.toml"), "{e}");
        }

        let mut changed = decls[..1].to_vec();
        changed[0]
            .redirect_uris
            .push("https://app.example.com/other".into());
        let created_at = get(&store, "inline").unwrap().created_at;
        let third = reconcile(&store, &changed).unwrap();
        assert_eq!(third.updated, vec!["inline"]);
        assert_eq!(third.released, vec!["from-env", "from-file", "spa"]);
        assert_eq!(get(&store, "inline").unwrap().created_at, created_at);
        let released = get(&store, "spa").unwrap();
        assert!(!released.declared);
        delete(&store, "spa").unwrap();
    }

    /// Collects what `tracing` writes, for asserting on log lines.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_released_app_is_reported_and_warned_about_once() {
        let (_d, store) = store();
        let mut kept = decl("kept");
        kept.name = "Kept".into();
        let mut dropped = decl("dropped");
        dropped.name = "Dropped".into();
        reconcile(&store, &[kept.clone(), dropped]).unwrap();

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let report = tracing::subscriber::with_default(subscriber, || {
            reconcile(&store, std::slice::from_ref(&kept)).unwrap()
        });
        assert_eq!(report.released, vec!["dropped"]);
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("WARN"), "{log}");
        assert!(
            log.contains(
                "app dropped (Dropped) is no longer declared in sesame.toml but still works; \
                 delete it with `sesame app delete dropped`"
            ),
            "{log}"
        );
        assert!(!log.contains("kept"), "{log}");
        // It still works, as an app the CLI manages now.
        let app = get(&store, "dropped").unwrap();
        assert!(!app.declared && app.secret_hash == Some(crypto::hash_token("s3cret")));
        assert!(reconcile(&store, &[kept]).unwrap().released.is_empty());
    }

    #[test]
    fn reconcile_refuses_unreadable_secrets_and_changes_nothing() {
        let (dir, store) = store();
        let mut missing = decl("missing-file");
        missing.client_secret = None;
        missing.client_secret_file = Some(dir.path().join("nope"));
        let e = reconcile(&store, &[decl("ok"), missing])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing-file") && e.contains("client_secret_file"),
            "{e}"
        );
        assert!(list(&store).unwrap().is_empty());

        let mut unset = decl("unset-env");
        unset.client_secret = None;
        unset.client_secret_env = Some("APPS_TEST_UNSET_VARIABLE".into());
        let e = reconcile(&store, &[unset]).unwrap_err().to_string();
        assert!(
            e.contains("APPS_TEST_UNSET_VARIABLE") && e.contains("not set"),
            "{e}"
        );

        let e = reconcile(&store, &[decl("bad id!")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad id!"), "{e}");
    }
}
