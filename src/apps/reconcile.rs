//! Reconciling the apps declared in `sesame.toml` with the registry, at every start. The
//! declarations are the `[[app]]` tables of `sesame.toml`; each is checked with the same rules as an app
//! created from the CLI (`validate.rs`).

use super::validate::{
    check_backchannel_uri, check_client_id, check_name, check_uris, RedirectRules,
};
use super::{insecure_redirect_warning, AppError};
use crate::apps::AppDecl;
use crate::clock;
use crate::crypto;
use crate::store::{App, AppType, Store, APPS};
use serde::{Deserialize, Serialize};

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
/// Makes the store match the apps declared in `sesame.toml`: creates missing ones, updates
/// changed ones (secret included), and releases apps that are no longer declared. One
/// transaction: either all of it happens or none.
///
/// A released app keeps working (with the secret it had) and is logged as a warning naming
/// `sesame app delete`: removing an `[[app]]` block does not revoke anything by itself. A
/// declared app with http redirect URIs on the LAN is warned about at every start.
pub fn reconcile(store: &Store, decls: &[AppDecl]) -> Result<ReconcileReport, AppError> {
    // Secrets are read (files, environment) before the transaction opens.
    let wanted = decls
        .iter()
        .map(declared_app)
        .collect::<Result<Vec<App>, AppError>>()?;
    let insecure: Vec<String> = wanted
        .iter()
        .filter_map(|app| insecure_redirect_warning(&app.client_id, &app.redirect_uris))
        .collect();
    let mut released_names = Vec::new();
    let report = store.write(|tx| {
        let mut report = ReconcileReport::default();
        for mut app in wanted {
            app.allowed_groups = super::known_groups(tx, &app.allowed_groups)?;
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
    for warning in insecure {
        tracing::warn!("{warning}");
    }
    // Said once, at the start that releases them: from then on they are ordinary apps.
    for (id, name) in report.released.iter().zip(&released_names) {
        tracing::warn!(
            "app {id} ({name}) is no longer declared in sesame.toml but still works; delete it with `sesame app delete {id}`"
        );
    }
    Ok(report)
}
/// The app a declaration describes, with its secret read and hashed.
fn declared_app(decl: &AppDecl) -> Result<App, AppError> {
    check_client_id(&decl.client_id)?;
    let app_type: AppType = match &decl.app_type {
        Some(t) => t.parse().map_err(AppError::UnknownType)?,
        None => AppType::Traditional,
    };
    let secret = declared_secret(decl, app_type)?;
    let rules = RedirectRules {
        app_type,
        allow_insecure_redirect: decl.allow_insecure_redirect,
    };
    Ok(App {
        client_id: decl.client_id.clone(),
        name: check_name(&decl.name)?,
        app_type,
        secret_hash: secret.as_deref().map(crypto::hash_token),
        redirect_uris: check_uris(&decl.redirect_uris, rules, true)?,
        post_logout_redirect_uris: check_uris(&decl.post_logout_redirect_uris, rules, false)?,
        id_token_signed_response_alg: decl.id_token_signed_response_alg,
        allow_insecure_redirect: decl.allow_insecure_redirect,
        created_at: clock::now(),
        declared: true,
        allowed_groups: crate::users::group_names(&decl.allowed_groups),
        refresh_retry_window: decl.refresh_retry_window,
        api_scopes: decl.api_scopes.clone(),
        second_factor: decl.second_factor,
        backchannel_logout_uri: check_backchannel_uri(decl.backchannel_logout_uri.clone(), rules)?,
        backchannel_logout_session_required: decl.backchannel_logout_session_required,
        device_flow: decl.device_flow,
        require_pushed_authorization_requests: decl.require_pushed_authorization_requests,
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
        (Some(s), None, None) => s.expose().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::{delete, get, list, rotate_secret, update, AppUpdate};

    /// Held by the tests that release an app, so they never run at the same time: the first
    /// `tracing::warn!` of a release caches the callsite's interest, and if that happens on
    /// one thread (no subscriber) while another installs its capturing subscriber, the warning
    /// can be filtered out for the second test.
    static RELEASING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        (dir, store)
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
            allowed_groups: vec![],
            allow_insecure_redirect: false,
            refresh_retry_window: None,
            api_scopes: Default::default(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: true,
            device_flow: false,
            require_pushed_authorization_requests: false,
            second_factor: Default::default(),
        }
    }

    #[test]
    fn reconcile_creates_updates_and_releases_declared_apps() {
        let _releasing = RELEASING.lock().unwrap_or_else(|e| e.into_inner());
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
        let _releasing = RELEASING.lock().unwrap_or_else(|e| e.into_inner());
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
