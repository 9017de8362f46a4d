use super::*;
use crate::config::{MailConfig, SesConfig};
use crate::store::{Store, CONNECTORS};
use serde_json::{json, Value};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    (dir, store)
}

fn call(store: &Store, cmd: &str, args: Value) -> Response {
    handle(store, &MailConfig::default(), &Request::new(cmd, args)).0
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
        cmd::APP_CREATE,
        json!({"name": "Bookstore", "redirect_uris": ["http://localhost:3000/api/auth/callback/logto"]}),
    );
    let id = created["client_id"].as_str().unwrap().to_string();
    assert!(created["client_secret"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));
    assert_eq!(created["type"], "traditional");
    assert_eq!(created["id_token_signed_response_alg"], "ES384");

    let list = ok(&store, cmd::APP_LIST, Value::Null);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("client_secret").is_none(), "never shown again");

    let shown = ok(&store, cmd::APP_SHOW, json!({"client_id": id}));
    assert_eq!(shown["name"], "Bookstore");

    let updated = ok(
        &store,
        cmd::APP_UPDATE,
        json!({"client_id": id, "name": "Books", "post_logout_redirect_uris": ["http://localhost:3000/"]}),
    );
    assert_eq!(updated["name"], "Books");
    assert_eq!(
        updated["redirect_uris"],
        json!(["http://localhost:3000/api/auth/callback/logto"])
    );

    let rotated = ok(&store, cmd::APP_ROTATE_SECRET, json!({"client_id": id}));
    assert_ne!(rotated["client_secret"], created["client_secret"]);

    ok(&store, cmd::APP_DELETE, json!({"client_id": id}));
    let gone = call(&store, cmd::APP_SHOW, json!({"client_id": id}));
    assert!(!gone.ok && gone.error.unwrap().contains("no app"));
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let (_d, store) = store();
    let r = call(
        &store,
        cmd::APP_CREATE,
        json!({"name": "X", "type": "spa", "redirect_uris": ["https://x.example.com/#a"]}),
    );
    assert!(r.error.unwrap().contains("fragment"));
    let r = call(
        &store,
        cmd::APP_CREATE,
        json!({"name": "X", "type": "desktop", "redirect_uris": []}),
    );
    assert!(r.error.unwrap().contains("bad arguments for app.create"));
    let r = call(&store, cmd::APP_SHOW, json!({}));
    assert!(r.error.unwrap().contains("client_id"));
    let r = call(&store, "app.frobnicate", json!({}));
    assert!(r.error.unwrap().contains("unknown command"));
    let r = call(&store, cmd::KEYS_ROTATE, json!({"alg": "HS256"}));
    assert!(r.error.unwrap().contains("HS256"));
    let r = call(
        &store,
        cmd::CONNECTOR_SET,
        json!({"name": "sendgrid", "config": {}}),
    );
    assert!(r.error.unwrap().contains("unknown connector"));
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
    let (r, effect) = handle(
        &store,
        &MailConfig::default(),
        &Request::new(cmd::CONNECTOR_SET, json!({"name": "ses", "config": ses})),
    );
    assert!(r.ok, "{:?}", r.error);
    assert!(matches!(effect, Some(Effect::SwapMailer(_))));
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        !text.contains("wJalrXUtnFEMI"),
        "the secret is never sent back: {text}"
    );

    let shown = ok(&store, cmd::CONNECTOR_SHOW, json!({"name": "ses"}));
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
        cmd::CONNECTOR_SET,
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
    let (r, effect) = handle(
        &store,
        &MailConfig::default(),
        &Request::new(cmd::KEYS_ROTATE, json!({"alg": "ES256"})),
    );
    assert!(r.ok, "{:?}", r.error);
    assert!(matches!(effect, Some(Effect::ReloadKeys)));
    let kid = r.result.unwrap()["kid"].as_str().unwrap().to_string();
    let rec = store
        .read(|tx| tx.get(&crate::store::KEYS, &kid))
        .unwrap()
        .unwrap();
    assert!(rec.active && rec.alg == crate::crypto::keys::Alg::Es256);
}

#[test]
fn the_client_reports_no_server_for_a_missing_or_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let req = Request::new(cmd::APP_LIST, Value::Null);
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
        let req: Request = serde_json::from_str(&line).unwrap();
        let answer = Response::ok(json!({ "echo": req.cmd }));
        (&stream)
            .write_all(format!("{}\n", serde_json::to_string(&answer).unwrap()).as_bytes())
            .unwrap();
        line
    });
    let r = client::call(dir.path(), &Request::new(cmd::APP_LIST, Value::Null)).unwrap();
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
            cmd::CONNECTOR_SET,
            json!({"name": "ses", "config": config}),
        );
        let e = r.error.unwrap();
        assert!(
            e.contains(
                "must be an object with accessKeyId, accessKeySecret (or smtpPassword) and region"
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
        cmd::CONNECTOR_SET,
        json!({"name": "ses", "config": ses}),
    );
    let (r, effect) = handle(
        &store,
        &MailConfig::default(),
        &Request::new(cmd::CONNECTOR_DELETE, json!({"name": "ses"})),
    );
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
    let shown = ok(&store, cmd::CONNECTOR_SHOW, json!({"name": "ses"}));
    assert_eq!(shown["stored"], false);

    // Deleting again: nothing to delete, nothing to swap.
    let (r, effect) = handle(
        &store,
        &MailConfig::default(),
        &Request::new(cmd::CONNECTOR_DELETE, json!({"name": "ses"})),
    );
    assert_eq!(r.result.unwrap()["deleted"], false);
    assert!(effect.is_none());
    let r = call(&store, cmd::CONNECTOR_DELETE, json!({"name": "sendgrid"}));
    assert!(r.error.unwrap().contains("unknown connector"));
}

#[test]
fn only_commands_that_store_something_new_may_start_a_data_dir() {
    for c in [cmd::APP_CREATE, cmd::CONNECTOR_SET, cmd::KEYS_ROTATE] {
        assert!(creates_data(c), "{c}");
    }
    for c in [
        cmd::APP_LIST,
        cmd::APP_SHOW,
        cmd::APP_UPDATE,
        cmd::APP_DELETE,
        cmd::APP_ROTATE_SECRET,
        cmd::CONNECTOR_SHOW,
        cmd::CONNECTOR_DELETE,
        cmd::MAIL_TEST,
    ] {
        assert!(!creates_data(c), "{c}");
    }
}

#[test]
fn the_client_falls_back_to_the_file_for_a_deep_or_missing_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
    let req = Request::new(cmd::APP_LIST, Value::Null);
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
