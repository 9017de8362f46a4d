use super::*;
use crate::apps::AppDecl;
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
        allowed_groups: vec![],
        allow_insecure_redirect: false,
        refresh_retry_window: None,
        api_scopes: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: None,
        device_flow: false,
        require_pushed_authorization_requests: false,
        second_factor: Default::default(),
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

/// The rules of an app of this type that has not set `allow_insecure_redirect`.
fn strict(app_type: AppType) -> RedirectRules {
    RedirectRules {
        app_type,
        allow_insecure_redirect: false,
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
    assert_eq!(id_token_alg(&stored), Alg::Es384);
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
fn machine_apps_have_a_secret_and_no_redirect_uris() {
    let (_d, store) = store();
    let (app, secret) = create(&store, new_app(AppType::Machine, &[])).unwrap();
    assert!(secret.is_some() && app.secret_hash.is_some());
    assert!(app.redirect_uris.is_empty());
    assert!(rotate_secret(&store, &app.client_id).is_ok());
    let e = create(
        &store,
        new_app(AppType::Machine, &["https://a.example.com/cb"]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("machine app"), "{e}");
    let e = update(
        &store,
        &app.client_id,
        AppUpdate {
            post_logout_redirect_uris: Some(vec!["https://a.example.com/".into()]),
            ..AppUpdate::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("machine app"), "{e}");
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
            "only native and traditional apps",
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
fn the_id_token_algorithm_is_read_ignoring_case_and_refused_naming_the_choices() {
    let parse = |alg: serde_json::Value| {
        serde_json::from_value::<NewApp>(serde_json::json!({
            "name": "X",
            "redirect_uris": ["https://a.example.com"],
            "id_token_signed_response_alg": alg,
        }))
    };
    assert_eq!(
        parse("rs256".into()).unwrap().id_token_signed_response_alg,
        Some(Alg::Rs256)
    );
    assert_eq!(
        parse(" ES256 ".into())
            .unwrap()
            .id_token_signed_response_alg,
        Some(Alg::Es256)
    );
    assert_eq!(
        parse(serde_json::Value::Null)
            .unwrap()
            .id_token_signed_response_alg,
        None
    );
    let e = parse("HS256".into()).unwrap_err().to_string();
    assert_eq!(
        e,
        "id_token_signed_response_alg \"HS256\" is not supported; use one of ES384, ES256, RS256"
    );
    let change: AppUpdate =
        serde_json::from_value(serde_json::json!({"id_token_signed_response_alg": "es384"}))
            .unwrap();
    assert_eq!(change.id_token_signed_response_alg, Some(Alg::Es384));
}

#[test]
fn http_redirect_uris_under_localhost_are_this_machine() {
    for ok in [
        "http://app.localhost:3000/cb",
        "http://app.home.localhost:8081/oauth2/callback",
    ] {
        check_redirect_uri(ok, strict(AppType::Spa)).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let e = check_redirect_uri("http://localhost.example.com/cb", strict(AppType::Spa))
        .unwrap_err()
        .to_string();
    assert!(e.contains("use https"), "{e}");
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
        let e = check_redirect_uri(uri, strict(AppType::Native))
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
    check_redirect_uri("https://a.example.com/cb/@me?x=*", strict(AppType::Spa)).unwrap();
}

const JELLYFIN: &str = "http://192.168.1.10:8096/sso/OID/redirect/sesame";
const IMMICH_MOBILE: &str = "app.immich:///oauth-callback";

#[test]
fn lan_http_needs_the_flag_at_create_update_and_reconcile() {
    let (_d, store) = store();
    let e = create(&store, new_app(AppType::Traditional, &[JELLYFIN]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--allow-insecure-redirect"), "{e}");
    let (app, _) = create(
        &store,
        NewApp {
            allow_insecure_redirect: true,
            ..new_app(AppType::Traditional, &[JELLYFIN])
        },
    )
    .unwrap();
    assert!(app.allow_insecure_redirect);
    assert_eq!(
        get(&store, &app.client_id).unwrap().redirect_uris,
        vec![JELLYFIN]
    );

    // Another app turns it on in an update, with its LAN URI in the same update.
    let (other, _) = create(
        &store,
        new_app(AppType::Traditional, &["https://a.example.com/cb"]),
    )
    .unwrap();
    let lan_only = AppUpdate {
        redirect_uris: Some(vec!["http://jellyfin.lan/cb".into()]),
        ..AppUpdate::default()
    };
    assert!(update(&store, &other.client_id, lan_only.clone()).is_err());
    let on = AppUpdate {
        allow_insecure_redirect: Some(true),
        ..lan_only
    };
    assert!(
        update(&store, &other.client_id, on)
            .unwrap()
            .allow_insecure_redirect
    );

    // Off is refused while a LAN URI stays registered, and the refusal changes nothing.
    let off = AppUpdate {
        allow_insecure_redirect: Some(false),
        ..AppUpdate::default()
    };
    let e = update(&store, &app.client_id, off.clone()).unwrap_err();
    assert!(
        matches!(&e, AppError::InsecureRedirectStillRegistered { uri } if uri == JELLYFIN),
        "{e}"
    );
    assert!(get(&store, &app.client_id).unwrap().allow_insecure_redirect);
    let replaced = AppUpdate {
        redirect_uris: Some(vec!["https://jellyfin.example.com/cb".into()]),
        ..off
    };
    assert!(
        !update(&store, &app.client_id, replaced)
            .unwrap()
            .allow_insecure_redirect
    );

    // Declared apps follow the same rules.
    let mut declared = decl("jellyfin");
    declared.redirect_uris = vec![JELLYFIN.into()];
    let e = reconcile(&store, std::slice::from_ref(&declared)).unwrap_err();
    assert!(e.to_string().contains("allow_insecure_redirect"), "{e}");
    declared.allow_insecure_redirect = true;
    reconcile(&store, &[declared]).unwrap();
    assert!(get(&store, "jellyfin").unwrap().allow_insecure_redirect);
}

#[test]
fn the_warning_names_the_app_and_its_http_uris_only_when_it_has_some() {
    let uris = vec![
        "https://jellyfin.example.com/cb".to_string(),
        JELLYFIN.to_string(),
        "http://localhost:8096/cb".to_string(),
    ];
    assert_eq!(
        insecure_redirect_warning("jellyfin", &uris).as_deref(),
        Some(
            "app jellyfin accepts insecure http redirect URIs on the LAN: codes travel unencrypted \
             (http://192.168.1.10:8096/sso/OID/redirect/sesame)"
        )
    );
    assert_eq!(insecure_redirect_warning("jellyfin", &uris[..1]), None);
    assert_eq!(insecure_redirect_warning("jellyfin", &uris[2..]), None);
}

#[test]
fn a_traditional_app_may_register_its_mobile_clients_own_scheme() {
    let (_d, store) = store();
    let (app, secret) = create(
        &store,
        new_app(
            AppType::Traditional,
            &["https://photos.example.com/auth/login", IMMICH_MOBILE],
        ),
    )
    .unwrap();
    assert!(secret.is_some(), "still a confidential client");
    assert_eq!(app.redirect_uris[1], IMMICH_MOBILE);
    let e = create(&store, new_app(AppType::Spa, &[IMMICH_MOBILE]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("single-page app needs https"), "{e}");
    let mut declared = decl("immich");
    declared.redirect_uris.push(IMMICH_MOBILE.into());
    reconcile(&store, &[declared]).unwrap();
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
        id_token_signed_response_alg: Some(Alg::Rs256),
        allowed_groups: None,
        allow_insecure_redirect: None,
        refresh_retry_window: None,
        api_scopes: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: None,
        device_flow: None,
        require_pushed_authorization_requests: None,
        second_factor: None,
    };
    let updated = update(&store, &a.client_id, change).unwrap();
    assert_eq!(updated.name, "Renamed");
    assert_eq!(
        updated.redirect_uris,
        vec!["https://a.example.com/new"],
        "repeats dropped"
    );
    assert_eq!(updated.id_token_signed_response_alg, Some(Alg::Rs256));
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
        resource: None,
        sid: None,
        amr: Vec::new(),
    };
    let at = AccessToken {
        grant_id: "g".into(),
        client_id: a.client_id.clone(),
        user_id: "u".into(),
        scope: vec![],
        expires_at: u64::MAX,
        client_credentials: false,
        issued_at: None,
    };
    let rt = RefreshToken {
        grant_id: "g".into(),
        client_id: a.client_id.clone(),
        user_id: "u".into(),
        scope: vec![],
        expires_at: u64::MAX,
        spent: false,
        rotated_at: None,
        successor: None,
        issued_at: None,
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
fn the_second_factor_policy_is_set_at_create_update_and_reconcile() {
    use crate::store::SecondFactor;
    let (_d, store) = store();
    let (app, _) = create(
        &store,
        new_app(AppType::Traditional, &["https://a.example/cb"]),
    )
    .unwrap();
    assert_eq!(app.second_factor, SecondFactor::Optional);
    let mut strict_app = new_app(AppType::Traditional, &["https://b.example/cb"]);
    strict_app.second_factor = SecondFactor::Required;
    let (strict_app, _) = create(&store, strict_app).unwrap();
    assert_eq!(
        get(&store, &strict_app.client_id).unwrap().second_factor,
        SecondFactor::Required
    );

    let change = AppUpdate {
        second_factor: Some(SecondFactor::Required),
        ..Default::default()
    };
    assert!(!change.changes_nothing());
    update(&store, &app.client_id, change).unwrap();
    assert_eq!(
        get(&store, &app.client_id).unwrap().second_factor,
        SecondFactor::Required
    );
    // An update that does not name it leaves it.
    let rename = AppUpdate {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    assert_eq!(
        update(&store, &app.client_id, rename)
            .unwrap()
            .second_factor,
        SecondFactor::Required
    );

    let mut declared = decl("strict-declared");
    declared.second_factor = SecondFactor::Required;
    reconcile(&store, std::slice::from_ref(&declared)).unwrap();
    assert_eq!(
        get(&store, "strict-declared").unwrap().second_factor,
        SecondFactor::Required
    );
    declared.second_factor = SecondFactor::Optional;
    let report = reconcile(&store, &[declared]).unwrap();
    assert_eq!(report.updated, vec!["strict-declared"]);
    assert_eq!(
        get(&store, "strict-declared").unwrap().second_factor,
        SecondFactor::Optional
    );
}
