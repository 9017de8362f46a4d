use super::*;
use crate::apps::{AppUpdate, NewApp};
use crate::audit::{Actor, AuditQuery, KindFilter};
use crate::config::{MailConfig, SesConfig};
use crate::crypto::keys::Alg;
use crate::store::{AppType, Store, CONNECTORS};
use serde_json::{json, Value};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    (dir, store)
}

/// Sends `{"cmd": cmd, "args": args}` as a client writes it on the socket and answers it as
/// the server does.
fn answer(store: &Store, cmd: &str, args: Value) -> (Response, Option<Effect>) {
    let line = json!({ "cmd": cmd, "args": args }).to_string();
    match Command::from_line(line.as_bytes()) {
        Ok(command) => match handle(store, &MailConfig::default(), &Actor::Cli, command) {
            Ok(Done { result, effect }) => (Response::ok(result), effect),
            Err(e) => (Response::err(e), None),
        },
        Err(e) => (Response::err(e), None),
    }
}

fn call(store: &Store, cmd: &str, args: Value) -> Response {
    answer(store, cmd, args).0
}

fn ok(store: &Store, cmd: &str, args: Value) -> Value {
    let r = call(store, cmd, args);
    assert!(r.ok, "{cmd}: {:?}", r.error);
    r.result.unwrap()
}

#[test]
fn the_app_commands_round_trip_as_json() {
    let (_d, store) = store();
    let created = ok(
        &store,
        "app.create",
        json!({"name": "Bookstore", "redirect_uris": ["http://localhost:3000/api/auth/callback/logto"]}),
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    assert!(created["client_secret"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));
    assert_eq!(created["type"], "traditional");
    assert_eq!(created["id_token_signed_response_alg"], "ES384");

    let list = ok(&store, "app.list", Value::Null);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("client_secret").is_none(), "never shown again");

    let shown = ok(&store, "app.show", json!({"client_id": id}));
    assert_eq!(shown["name"], "Bookstore");

    let updated = ok(
        &store,
        "app.update",
        json!({"client_id": id, "name": "Books", "post_logout_redirect_uris": ["http://localhost:3000/"]}),
    );
    assert_eq!(updated["name"], "Books");
    assert_eq!(
        updated["redirect_uris"],
        json!(["http://localhost:3000/api/auth/callback/logto"])
    );

    let rotated = ok(&store, "app.rotate-secret", json!({"client_id": id}));
    assert_ne!(rotated["client_secret"], created["client_secret"]);

    ok(&store, "app.delete", json!({"client_id": id}));
    let gone = call(&store, "app.show", json!({"client_id": id}));
    assert!(!gone.ok && gone.error.unwrap().contains("no app"));
}

#[test]
fn the_refresh_retry_window_goes_over_the_wire_and_shows_in_app_info() {
    let (_d, store) = store();
    let uris = json!(["https://books.example.com/cb"]);
    let created = ok(
        &store,
        "app.create",
        json!({"name": "Books", "redirect_uris": uris}),
    );
    assert!(
        created.get("refresh_retry_window").is_none(),
        "the server's default"
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    let off = ok(
        &store,
        "app.update",
        json!({"client_id": id, "refresh_retry_window": 0}),
    );
    assert_eq!(off["refresh_retry_window"], 0);
    let shown = ok(&store, "app.show", json!({"client_id": id}));
    assert_eq!(shown["refresh_retry_window"], 0);
    let own = ok(
        &store,
        "app.create",
        json!({"name": "Tabs", "redirect_uris": uris, "refresh_retry_window": 30}),
    );
    assert_eq!(own["refresh_retry_window"], 30);
    let r = call(
        &store,
        "app.update",
        json!({"client_id": id, "refresh_retry_window": -1}),
    );
    assert!(!r.ok, "a negative window is refused");
}

#[test]
fn allow_insecure_redirect_goes_over_the_wire_and_shows_in_app_info() {
    let (_d, store) = store();
    let lan = "http://192.168.1.10:8096/sso/OID/redirect/sesame";
    let refused = call(
        &store,
        "app.create",
        json!({"name": "Jellyfin", "redirect_uris": [lan]}),
    );
    assert!(
        refused
            .error
            .as_deref()
            .is_some_and(|e| e.contains("allow_insecure_redirect")),
        "{refused:?}"
    );
    let created = ok(
        &store,
        "app.create",
        json!({"name": "Jellyfin", "redirect_uris": [lan], "allow_insecure_redirect": true}),
    );
    assert_eq!(created["allow_insecure_redirect"], true);
    let id = created["client_id"].as_str().unwrap().to_string();
    let shown = ok(&store, "app.show", json!({"client_id": id}));
    assert_eq!(shown["allow_insecure_redirect"], true);
    assert_eq!(shown["redirect_uris"], json!([lan]));

    // Off while the LAN URI stays: refused, naming the URI; off with an https URI instead: done.
    let r = call(
        &store,
        "app.update",
        json!({"client_id": id, "allow_insecure_redirect": false}),
    );
    let e = r.error.unwrap();
    assert!(
        e.contains("cannot turn allow_insecure_redirect off") && e.contains(lan),
        "{e}"
    );
    let updated = ok(
        &store,
        "app.update",
        json!({"client_id": id, "allow_insecure_redirect": false,
               "redirect_uris": ["https://jellyfin.example.com/sso/OID/redirect/sesame"]}),
    );
    assert_eq!(updated["allow_insecure_redirect"], false);
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let (_d, store) = store();
    let r = call(
        &store,
        "app.create",
        json!({"name": "X", "type": "spa", "redirect_uris": ["https://x.example.com/#a"]}),
    );
    assert!(r.error.unwrap().contains("fragment"));
    let r = call(
        &store,
        "app.create",
        json!({"name": "X", "type": "desktop", "redirect_uris": []}),
    );
    assert!(r.error.unwrap().contains("bad arguments for app.create"));
    let r = call(&store, "app.show", json!({}));
    assert!(r.error.unwrap().contains("client_id"));
    let r = call(&store, "app.frobnicate", json!({}));
    assert!(r.error.unwrap().contains("unknown command"));
    let r = call(&store, "keys.rotate", json!({"alg": "HS256"}));
    assert!(r.error.unwrap().contains("HS256"));
    let r = call(
        &store,
        "connector.set",
        json!({"name": "sendgrid", "config": {}}),
    );
    assert!(r.error.unwrap().contains("unknown connector"));
    let r = call(&store, "connector.show", json!({"name": "sendgrid"}));
    assert_eq!(
        r.error.unwrap(),
        "unknown connector \"sendgrid\"; known: ses, smtp"
    );
    let r = call(&store, "connector.set", json!({"name": "ses"}));
    assert_eq!(
        r.error.unwrap(),
        "connector.set needs the connector's JSON in \"config\""
    );
    let r = call(&store, "mail.test", json!({"to": "ana@example.com"}));
    assert_eq!(r.error.unwrap(), "mail.test needs a running server");
    let r = call(&store, "keys.rotate", json!({"alg": "HS256"}));
    assert_eq!(
        r.error.unwrap(),
        "bad arguments for keys.rotate: unknown key algorithm \"HS256\"; use ES384, ES256 or RS256"
    );
}

#[test]
fn a_connector_is_validated_stored_and_shown_masked() {
    let (_d, store) = store();
    let ses = json!({
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "eu-west-1",
        "emailAddress": "noreply@example.com",
        "templates": []
    });
    let (r, effect) = answer(
        &store,
        "connector.set",
        json!({"name": "ses", "config": ses}),
    );
    assert!(r.ok, "{:?}", r.error);
    assert!(matches!(effect, Some(Effect::SwapMailer(_))));
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        !text.contains("wJalrXUtnFEMI"),
        "the secret is never sent back: {text}"
    );

    let shown = ok(&store, "connector.show", json!({"name": "ses"}));
    assert_eq!(shown["config"]["accessKeySecret"], "********");
    assert_eq!(shown["config"]["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
    let stored: SesConfig = serde_json::from_value(
        store
            .read(|tx| tx.get(&CONNECTORS, "ses"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored.region, "eu-west-1");

    let bad = json!({"accessKeyId": "AKIA", "accessKeySecret": "s", "region": "mars-1"});
    let r = call(
        &store,
        "connector.set",
        json!({"name": "ses", "config": bad}),
    );
    assert!(!r.ok && r.error.unwrap().contains("region"));
    let kept: SesConfig = serde_json::from_value(
        store
            .read(|tx| tx.get(&CONNECTORS, "ses"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        kept.region, "eu-west-1",
        "a refused connector leaves the stored one"
    );
}

#[test]
fn keys_rotate_makes_a_new_active_key() {
    let (_d, store) = store();
    let (r, effect) = answer(&store, "keys.rotate", json!({"alg": "ES256"}));
    assert!(r.ok, "{:?}", r.error);
    assert!(matches!(effect, Some(Effect::ReloadKeys)));
    let kid = r.result.unwrap()["kid"].as_str().unwrap().to_string();
    let rec = store
        .read(|tx| tx.get(&crate::store::KEYS, &kid))
        .unwrap()
        .unwrap();
    assert!(rec.active && rec.alg == Alg::Es256);
}

#[test]
fn the_client_reports_no_server_for_a_missing_or_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let req = Command::AppList(NoArgs {});
    assert!(matches!(
        client::call(dir.path(), &req),
        Err(client::ClientError::NotRunning)
    ));
    // A socket file whose server is gone (a crash): connecting is refused.
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("sesame.sock")).unwrap());
    assert!(matches!(
        client::call(dir.path(), &req),
        Err(client::ClientError::NotRunning)
    ));
}

#[test]
fn the_client_speaks_one_json_line_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::os::unix::net::UnixListener::bind(dir.path().join("sesame.sock")).unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(&stream)
            .read_line(&mut line)
            .unwrap();
        let sent: Value = serde_json::from_str(&line).unwrap();
        let answer = Response::ok(json!({ "echo": sent["cmd"] }));
        (&stream)
            .write_all(format!("{}\n", serde_json::to_string(&answer).unwrap()).as_bytes())
            .unwrap();
        line
    });
    let r = client::call(dir.path(), &Command::AppList(NoArgs {})).unwrap();
    assert_eq!(r.result.unwrap()["echo"], "app.list");
    let sent = server.join().unwrap();
    assert!(sent.ends_with('\n') && !sent.trim_end().contains('\n'));
    assert_eq!(
        serde_json::from_str::<Value>(&sent).unwrap()["cmd"],
        "app.list"
    );
}

#[test]
fn a_connector_that_is_not_an_object_is_refused_in_its_own_terms() {
    let (_d, store) = store();
    for config in [json!([]), json!(5), json!("ses")] {
        let r = call(
            &store,
            "connector.set",
            json!({"name": "ses", "config": config}),
        );
        let e = r.error.unwrap();
        assert!(
            e.contains(
                "must be a JSON object: for ses, Logto's AWS SES connector (accessKeyId, accessKeySecret or smtpPassword, region"
            ),
            "{config}: {e}"
        );
        assert!(!e.contains("invalid type"), "{e}");
    }
}

#[test]
fn deleting_the_connector_goes_back_to_the_configured_mailer() {
    let (_d, store) = store();
    let ses = json!({
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "eu-west-1",
        "emailAddress": "noreply@example.com"
    });
    ok(
        &store,
        "connector.set",
        json!({"name": "ses", "config": ses}),
    );
    let (r, effect) = answer(&store, "connector.delete", json!({"name": "ses"}));
    assert!(r.ok, "{:?}", r.error);
    let result = r.result.unwrap();
    assert_eq!(result["deleted"], true);
    assert_eq!(result["mail"]["transport"], "log");
    match effect {
        Some(Effect::SwapMailer(m)) => assert_eq!(m.transport_name(), "log"),
        _ => panic!("the running server must swap its mailer"),
    }
    assert!(store
        .read(|tx| tx.get(&CONNECTORS, "ses"))
        .unwrap()
        .is_none());
    let shown = ok(&store, "connector.show", json!({"name": "ses"}));
    assert_eq!(shown["stored"], false);

    // Deleting again: nothing to delete, nothing to swap.
    let (r, effect) = answer(&store, "connector.delete", json!({"name": "ses"}));
    assert_eq!(r.result.unwrap()["deleted"], false);
    assert!(effect.is_none());
    let r = call(&store, "connector.delete", json!({"name": "sendgrid"}));
    assert!(r.error.unwrap().contains("unknown connector"));
}

#[test]
fn only_commands_that_store_something_new_may_start_a_data_dir() {
    for command in one_of_each() {
        let creates = [
            "app.create",
            "connector.set",
            "experience.set",
            "keys.rotate",
            "user.add",
            "group.add",
            "api-key.create",
            "api.create",
        ]
        .contains(&command.name());
        assert_eq!(command.creates_data(), creates, "{}", command.name());
    }
}

#[test]
fn the_client_falls_back_to_the_file_for_a_deep_or_missing_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
    let req = Command::AppList(NoArgs {});
    // Missing: no server.
    assert!(matches!(
        client::call(&deep, &req),
        Err(client::ClientError::NotRunning)
    ));
    // There, too deep for a socket address, no socket: no server either (never Failed).
    std::fs::create_dir_all(&deep).unwrap();
    assert!(matches!(
        client::call(&deep, &req),
        Err(client::ClientError::NotRunning)
    ));
    if cfg!(target_os = "linux") {
        assert_eq!(client::unreachable_reason(&deep), None);
    } else {
        assert!(client::unreachable_reason(&deep).is_some());
    }
    assert_eq!(client::unreachable_reason(root.path()), None);
}

/// One command of every kind, with arguments as the CLI sends them.
fn one_of_each() -> Vec<Command> {
    let app = || AppRef {
        client_id: "c1".into(),
    };
    let connector = || ConnectorRef { name: "ses".into() };
    let user = || UserRef {
        user: "ana@example.com".into(),
    };
    let group = || GroupRef {
        name: "family".into(),
    };
    let member = || Membership {
        group: "family".into(),
        user: "ana@example.com".into(),
    };
    vec![
        Command::AppCreate(NewApp {
            name: "Bookstore".into(),
            app_type: AppType::Spa,
            redirect_uris: vec!["http://localhost:3000/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_groups: vec![],
            id_token_signed_response_alg: None,
            allow_insecure_redirect: false,
            refresh_retry_window: None,
            api_scopes: Default::default(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: None,
            device_flow: false,
            require_pushed_authorization_requests: false,
            second_factor: Default::default(),
        }),
        Command::AppList(NoArgs {}),
        Command::AppShow(app()),
        Command::AppUpdate(AppChange {
            client_id: "c1".into(),
            change: AppUpdate {
                name: Some("Books".into()),
                ..AppUpdate::default()
            },
        }),
        Command::AppDelete(app()),
        Command::AppRotateSecret(app()),
        Command::ConnectorSet(ConnectorSettings {
            name: "ses".into(),
            config: Some(json!({"region": "eu-west-1"})),
        }),
        Command::ConnectorShow(connector()),
        Command::ConnectorDelete(connector()),
        Command::ExperienceShow(NoArgs {}),
        Command::ExperienceSet(crate::experience::Experience {
            product_name: Some("Family Cloud".into()),
            ..Default::default()
        }),
        Command::ExperienceReset(NoArgs {}),
        Command::KeysRotate(KeyRotation { alg: Alg::Es256 }),
        Command::KeysList(KeyWindow {
            token_lifetime: Some(3600),
        }),
        Command::KeysPrune(KeyWindow::default()),
        Command::Backup(BackupTo {
            path: "/var/backups/sesame.redb".into(),
        }),
        Command::MailTest(TestMessage {
            to: "ana@example.com".into(),
            template: Some("SignIn".into()),
            dry_run: true,
        }),
        Command::UserAdd(crate::users::NewUser {
            email: "ana@example.com".into(),
            groups: vec!["family".into()],
            ..Default::default()
        }),
        Command::UserList(UserQuery {
            group: Some("family".into()),
            q: Some("ana".into()),
            after: None,
            limit: Some(10),
        }),
        Command::UserShow(user()),
        Command::UserUpdate(UserEdit {
            user: "ana@example.com".into(),
            change: crate::users::UserChange {
                name: Some("Ana".into()),
                ..Default::default()
            },
        }),
        Command::UserDisable(user()),
        Command::UserEnable(user()),
        Command::UserDelete(user()),
        Command::UserSignOut(user()),
        Command::UserFactors(user()),
        Command::UserResetFactors(user()),
        Command::UserRemovePasskey(PasskeyRef {
            user: "ana@example.com".into(),
            credential_id: "Y3JlZA".into(),
        }),
        Command::GroupAdd(crate::users::NewGroup {
            name: "family".into(),
            ..Default::default()
        }),
        Command::GroupList(NoArgs {}),
        Command::GroupShow(group()),
        Command::GroupUpdate(GroupEdit {
            name: "family".into(),
            change: crate::users::GroupChange {
                description: Some("Family".into()),
                claims: None,
                api_scopes: None,
                second_factor: None,
            },
        }),
        Command::GroupDelete(group()),
        Command::GroupAddMember(member()),
        Command::GroupRemoveMember(member()),
        Command::AuditList(AuditQuery {
            app: Some("c1".into()),
            kind: Some(KindFilter::Command("app.create".into())),
            limit: Some(10),
            ..AuditQuery::default()
        }),
        Command::ApiKeyCreate(crate::api_keys::NewApiKey {
            name: "deploy".into(),
            expires_in_days: Some(30),
        }),
        Command::ApiKeyList(NoArgs {}),
        Command::ApiKeyRevoke(ApiKeyRef { id: "k1".into() }),
        Command::ApiCreate(crate::apis::NewApi {
            indicator: "https://api.home/".into(),
            name: "Home API".into(),
            scopes: vec![crate::store::ApiScope {
                name: "read".into(),
                description: String::new(),
            }],
            alg: None,
            access_token_ttl: Some(300),
        }),
        Command::ApiList(NoArgs {}),
        Command::ApiShow(ApiRef {
            indicator: "https://api.home/".into(),
        }),
        Command::ApiUpdate(ApiChange {
            indicator: "https://api.home/".into(),
            change: crate::apis::ApiUpdate {
                name: Some("Home".into()),
                ..Default::default()
            },
        }),
        Command::ApiDelete(ApiRef {
            indicator: "https://api.home/".into(),
        }),
    ]
}

#[test]
fn an_api_is_registered_shown_changed_and_deleted() {
    let (_d, store) = store();
    let made = ok(
        &store,
        "api.create",
        json!({"indicator": "https://api.home/", "name": "Home API",
               "scopes": [{"name": "read", "description": "Read"}]}),
    );
    assert_eq!(made["alg"], "ES256");
    assert_eq!(made["access_token_ttl"], 600);
    let changed = ok(
        &store,
        "api.update",
        json!({"indicator": "https://api.home/", "access_token_ttl": 120}),
    );
    assert_eq!(changed["access_token_ttl"], 120);
    assert_eq!(
        ok(&store, "api.list", Value::Null)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    ok(
        &store,
        "api.delete",
        json!({"indicator": "https://api.home/"}),
    );
    let gone = handle(
        &store,
        &MailConfig::default(),
        &Actor::Cli,
        Command::from_line(br#"{"cmd":"api.show","args":{"indicator":"https://api.home/"}}"#)
            .unwrap(),
    );
    assert!(matches!(
        gone,
        Err(AdminError::Api(crate::apis::ApiError::NotFound(_)))
    ));
    let bad = Command::from_line(
        br#"{"cmd":"api.create","args":{"indicator":"https://x/#f","name":"X"}}"#,
    )
    .unwrap();
    assert!(handle(&store, &MailConfig::default(), &Actor::Cli, bad).is_err());
}

#[test]
fn every_command_has_one_name_on_the_wire_in_the_log_and_in_the_list() {
    let all = one_of_each();
    let names: Vec<&str> = all.iter().map(Command::name).collect();
    assert_eq!(names, Command::NAMES, "one_of_each covers every command");
    for command in all {
        let line = serde_json::to_vec(&command).unwrap();
        let wire: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(wire["cmd"], command.name());
        let back = Command::from_line(&line).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), wire);
    }
}

#[test]
fn an_api_key_is_shown_once_listed_without_it_and_revoked() {
    let (_d, store) = store();
    let made = ok(
        &store,
        "api-key.create",
        json!({"name": "deploy", "expires_in_days": 30}),
    );
    let key = made["key"].as_str().unwrap();
    assert!(key.starts_with(crate::api_keys::PREFIX));
    assert_eq!(made["state"], "active");
    let id = made["id"].as_str().unwrap();
    let list = ok(&store, "api-key.list", Value::Null);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("key").is_none(), "never shown again: {list}");
    assert!(!list
        .to_string()
        .contains(&key[crate::api_keys::PREFIX.len()..]));
    let revoked = ok(&store, "api-key.revoke", json!({ "id": id }));
    assert_eq!(revoked["state"], "revoked");
    let r = call(&store, "api-key.revoke", json!({"id": "nope"}));
    assert!(r.error.unwrap().contains("no API key with ID \"nope\""));
    let r = call(&store, "api-key.create", json!({"name": " "}));
    assert!(r.error.unwrap().contains("needs a name"));
}

#[test]
fn commands_go_on_the_wire_as_before_the_typed_protocol() {
    let wire = |c: &Command| serde_json::to_value(c).unwrap();
    let all = one_of_each();
    assert_eq!(
        wire(&all[0]),
        json!({"cmd": "app.create", "args": {
            "name": "Bookstore",
            "type": "spa",
            "redirect_uris": ["http://localhost:3000/cb"],
            "post_logout_redirect_uris": [],
            "id_token_signed_response_alg": null,
        }})
    );
    assert_eq!(wire(&all[1]), json!({"cmd": "app.list", "args": {}}));
    assert_eq!(
        wire(&all[3]),
        json!({"cmd": "app.update", "args": {"client_id": "c1", "name": "Books"}}),
        "only what changes is sent"
    );
    assert_eq!(
        wire(&all[12]),
        json!({"cmd": "keys.rotate", "args": {"alg": "ES256"}})
    );
    let named = |name: &str| wire(all.iter().find(|c| c.name() == name).unwrap());
    assert_eq!(
        named("mail.test"),
        json!({"cmd": "mail.test", "args": {"to": "ana@example.com", "template": "SignIn", "dry_run": true}})
    );
    assert_eq!(
        named("store.backup"),
        json!({"cmd": "store.backup", "args": {"path": "/var/backups/sesame.redb"}})
    );
}

#[test]
fn keys_list_and_prune_on_the_file_and_backup_needs_an_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb")).unwrap();
    crate::crypto::keys::KeySet::load_or_generate_ecdsa(&store).unwrap();
    ok(&store, "keys.rotate", json!({"alg": "ES256"}));
    let keys = ok(&store, "keys.list", json!({"token_lifetime": 3600}));
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let retired: Vec<_> = keys.iter().filter(|k| k["active"] == false).collect();
    assert_eq!(retired.len(), 1);
    assert!(retired[0]["in_jwks_until"].as_u64().unwrap() > crate::clock::now());
    // Retired just now: its ID tokens are still valid, so it stays.
    let pruned = ok(&store, "keys.prune", json!({"token_lifetime": 3600}));
    assert_eq!(pruned["pruned"], json!([]));
    let pruned = ok(&store, "keys.prune", json!({"token_lifetime": 0}));
    assert_eq!(pruned["pruned"].as_array().unwrap().len(), 1);
    let kid = pruned["pruned"][0]["kid"].clone();
    let entries = audit_entries(&store, json!({"kind": "keys.prune"}));
    assert_eq!(
        entries.len(),
        1,
        "one entry, for the prune that removed a key"
    );
    assert_eq!(entries[0]["changes"], json!({ "pruned": [kid] }));

    let r = call(&store, "store.backup", json!({"path": "relative.redb"}));
    assert!(r.error.unwrap().contains("must be absolute"));
    let path = dir.path().join("backup.redb");
    let report = ok(&store, "store.backup", json!({ "path": path }));
    assert!(report["records"].as_u64().unwrap() >= 2, "{report}");
    assert!(path.exists());
}

#[test]
fn empty_arguments_may_be_absent_null_or_an_empty_object() {
    for line in [
        r#"{"cmd":"app.list"}"#,
        r#"{"cmd":"app.list","args":null}"#,
        r#"{"cmd":"app.list","args":{}}"#,
    ] {
        let command = Command::from_line(line.as_bytes()).unwrap();
        assert_eq!(command.name(), "app.list", "{line}");
    }
    let rotate = Command::from_line(br#"{"cmd":"keys.rotate","args":null}"#).unwrap();
    assert!(matches!(
        rotate,
        Command::KeysRotate(KeyRotation { alg: Alg::Es384 })
    ));
    // The app type's name in AppInfo (`type`) and in the Rust struct (`app_type`) both work.
    let create = Command::from_line(
        br#"{"cmd":"app.create","args":{"name":"X","app_type":"native","redirect_uris":["com.example.x:/cb"]}}"#,
    )
    .unwrap();
    assert!(matches!(
        create,
        Command::AppCreate(NewApp {
            app_type: AppType::Native,
            ..
        })
    ));
}

fn ses_json() -> Value {
    json!({
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "eu-west-1",
        "emailAddress": "noreply@example.com",
    })
}

/// The audit log's entries for `query`, as `audit.list` answers.
fn audit_entries(store: &Store, query: Value) -> Vec<Value> {
    let page = ok(store, "audit.list", query);
    page["entries"].as_array().unwrap().clone()
}

#[test]
fn every_change_is_audited_with_its_actor_and_no_secret() {
    let (_d, store) = store();
    let created = ok(
        &store,
        "app.create",
        json!({"name": "Bookstore", "redirect_uris": ["http://localhost:3000/cb"]}),
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    ok(
        &store,
        "app.update",
        json!({"client_id": id, "name": "Books"}),
    );
    let rotated = ok(&store, "app.rotate-secret", json!({"client_id": id}));
    ok(
        &store,
        "connector.set",
        json!({"name": "ses", "config": ses_json()}),
    );
    ok(&store, "connector.delete", json!({"name": "ses"}));
    // Deleting what is not there changes nothing: no entry.
    ok(&store, "connector.delete", json!({"name": "ses"}));
    let kid = ok(&store, "keys.rotate", json!({"alg": "ES256"}))["kid"].clone();
    ok(&store, "app.delete", json!({"client_id": id}));
    // Reads and refusals record nothing.
    ok(&store, "app.list", Value::Null);
    assert!(
        !call(
            &store,
            "app.update",
            json!({"client_id": "nope", "name": "X"})
        )
        .ok
    );

    let entries = audit_entries(&store, Value::Null);
    let commands: Vec<&str> = entries
        .iter()
        .map(|e| e["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "app.delete",
            "keys.rotate",
            "connector.delete",
            "connector.set",
            "app.rotate-secret",
            "app.update",
            "app.create"
        ],
        "newest first, one per change"
    );
    for e in &entries {
        assert_eq!(e["kind"], "admin_change");
        assert_eq!(e["actor"], json!({"type": "cli"}));
    }
    let text = serde_json::to_string(&entries).unwrap();
    for leaked in [
        secret.as_str(),
        rotated["client_secret"].as_str().unwrap(),
        "wJalrXUtnFEMI",
    ] {
        assert!(!text.contains(leaked), "a secret in the audit log: {text}");
    }
    let [deleted, rotated_key, _, set, rotated_secret, updated, created] = &entries[..] else {
        panic!("{entries:?}");
    };
    assert_eq!(created["client_id"], id.as_str());
    assert_eq!(created["changes"]["client_secret"], crate::secret::MASK);
    assert_eq!(created["changes"]["name"], "Bookstore");
    assert_eq!(
        updated["changes"],
        json!({"name": {"from": "Bookstore", "to": "Books"}}),
        "only what changed"
    );
    assert_eq!(
        rotated_secret["changes"],
        json!({"client_secret": crate::secret::MASK})
    );
    assert_eq!(
        set["changes"]["config"]["accessKeySecret"],
        crate::secret::MASK
    );
    assert_eq!(rotated_key["changes"], json!({"alg": "ES256", "kid": kid}));
    assert_eq!(deleted["changes"]["name"], "Books");

    // Filters as the CLI sends them.
    let for_app = audit_entries(&store, json!({"app": id}));
    assert_eq!(for_app.len(), 4, "create, update, rotate-secret, delete");
    let rotations = audit_entries(&store, json!({"kind": "keys.rotate"}));
    assert_eq!(rotations.len(), 1);
    let r = call(&store, "audit.list", json!({"kind": "app.creat"}));
    assert!(r.error.unwrap().contains("unknown audit entry kind"));
    let r = call(&store, "audit.list", json!({"kind": "sign_in"}));
    assert!(r.error.unwrap().contains("bad arguments for audit.list"));
}
