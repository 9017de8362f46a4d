//! Administrators and a user's passkeys: `user.factors` lists them (never a public key),
//! `user.remove-passkey` removes one with an audit entry naming the administrator, and refuses
//! an unknown credential by name; `user.reset-factors` removes them all and counts them.

use super::*;
use crate::audit::{Actor, AuditQuery, KindFilter};
use crate::config::MailConfig;
use crate::provider::testing::{passkey, T0};
use crate::store::{Reads, Store, Writes};
use crate::users::UserError;
use serde_json::{json, Value};

fn store_with_ana() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    let admin = Actor::Cli;
    let new = serde_json::from_value(json!({"email": "ana@example.com"})).unwrap();
    let ana = handle(
        &store,
        &MailConfig::default(),
        &admin,
        Command::UserAdd(new),
    )
    .unwrap()
    .result;
    let id = ana["id"].as_str().unwrap().to_string();
    store
        .write(|tx| {
            tx.put_passkey(&passkey(&id, "b2xk", T0))?;
            let mut used = passkey(&id, "bmV3", T0 + 60);
            used.last_used_at = Some(T0 + 120);
            used.backed_up = false;
            tx.put_passkey(&used)
        })
        .unwrap();
    (dir, store, id)
}

fn run(store: &Store, actor: &Actor, command: Command) -> Result<Value, AdminError> {
    handle(store, &MailConfig::default(), actor, command).map(|d| d.result)
}

fn remove(user: &str, credential_id: &str) -> Command {
    Command::UserRemovePasskey(PasskeyRef {
        user: user.into(),
        credential_id: credential_id.into(),
    })
}

fn factors(store: &Store) -> Value {
    let ana = UserRef {
        user: "ana@example.com".into(),
    };
    run(store, &Actor::Cli, Command::UserFactors(ana)).unwrap()
}

#[test]
fn factors_list_passkeys_newest_first_without_their_keys() {
    let (_d, store, id) = store_with_ana();
    let shown = factors(&store);
    assert_eq!(shown["user"], id.as_str());
    assert_eq!(
        shown["passkeys"],
        json!([
            {"credential_id": "bmV3", "name": "Passkey bmV3", "alg": "ES256", "synced": false,
             "created_at": T0 + 60, "last_used_at": T0 + 120},
            {"credential_id": "b2xk", "name": "Passkey b2xk", "alg": "ES256", "synced": true,
             "created_at": T0, "last_used_at": null},
        ])
    );
    assert!(!shown.to_string().contains("cHVibGljLWtleQ"), "{shown}");
}

#[test]
fn an_admin_removes_one_passkey_audited_and_an_unknown_one_is_named() {
    let (_d, store, id) = store_with_ana();
    let admin = Actor::User {
        user_id: "root-id".into(),
    };
    match run(&store, &admin, remove("ana@example.com", "bm9wZQ")) {
        Err(AdminError::Users(UserError::UnknownPasskey {
            user,
            credential_id,
        })) => {
            assert_eq!(
                (user.as_str(), credential_id.as_str()),
                ("ana@example.com", "bm9wZQ")
            )
        }
        other => panic!("{:?}", other.map(|v| v.to_string())),
    }
    let refused = run(&store, &admin, remove("ana@example.com", "bm9wZQ"))
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("\"bm9wZQ\""), "{refused}");
    assert!(matches!(
        run(&store, &admin, remove("nobody@example.com", "b2xk")),
        Err(AdminError::Users(UserError::UnknownUser(_)))
    ));

    let removed = run(&store, &admin, remove(&id, "b2xk")).unwrap();
    assert_eq!(removed["removed"]["credential_id"], "b2xk");
    assert_eq!(removed["email"], "ana@example.com");
    let left: Vec<String> = store
        .read(|tx| tx.passkeys_of(&id))
        .unwrap()
        .into_iter()
        .map(|k| k.credential_id)
        .collect();
    assert_eq!(left, ["bmV3"]);
    assert!(run(&store, &admin, remove(&id, "b2xk")).is_err(), "gone");

    let query = AuditQuery {
        kind: Some(KindFilter::Command("user.remove-passkey".into())),
        ..Default::default()
    };
    let page = store.read(|tx| crate::audit::list(tx, &query)).unwrap();
    assert_eq!(page.entries.len(), 1, "one entry; refusals record nothing");
    let entry = serde_json::to_value(&page.entries[0]).unwrap();
    assert_eq!(
        entry["actor"],
        json!({"type": "user", "user_id": "root-id"})
    );
    assert!(entry.to_string().contains("b2xk"), "{entry}");
    let about_ana = AuditQuery {
        user: Some("ana@example.com".into()),
        ..query
    };
    let page = store.read(|tx| crate::audit::list(tx, &about_ana)).unwrap();
    assert_eq!(page.entries.len(), 1, "the entry is about Ana too");
}

#[test]
fn a_reset_removes_every_passkey_and_says_how_many() {
    let (_d, store, id) = store_with_ana();
    let ana = UserRef { user: id.clone() };
    let reset = run(&store, &Actor::Cli, Command::UserResetFactors(ana)).unwrap();
    assert_eq!(reset["passkeys_removed"], 2, "{reset}");
    assert_eq!(reset["totp_removed"], false);
    assert_eq!(factors(&store)["passkeys"], json!([]));
}
