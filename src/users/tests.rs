//! The directory's rules, on a real redb in a temporary directory.

use super::*;
use crate::store::{Grant, Session, Writes};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    ensure_builtin_groups(&store, 1).unwrap();
    (dir, store)
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        ..Default::default()
    }
}

fn group(store: &Store, name: &str) {
    add_group(
        store,
        1,
        NewGroup {
            name: name.into(),
            description: format!("the {name}"),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn emails_and_usernames_are_unique_by_their_keys() {
    let (_d, s) = store();
    let ada = add(
        &s,
        1,
        NewUser {
            username: Some("Ada".into()),
            ..new_user("Ada@Example.com")
        },
    )
    .unwrap();
    assert!(ada.email_verified);
    assert!(matches!(
        add(&s, 1, new_user("ada@EXAMPLE.com")),
        Err(UserError::DuplicateEmail(_))
    ));
    assert!(matches!(
        add(
            &s,
            1,
            NewUser {
                username: Some("ada".into()),
                ..new_user("other@example.com")
            }
        ),
        Err(UserError::DuplicateUsername(_))
    ));
    // The Kelvin sign is another mailbox, so another account.
    assert!(add(&s, 1, new_user("\u{212A}im@example.com")).is_ok());
    assert!(add(&s, 1, new_user("kim@example.com")).is_ok());
    assert!(matches!(
        add(&s, 1, new_user("\"ada\"@example.com")),
        Err(UserError::InvalidEmail {
            reason: EmailError::Quoted,
            ..
        })
    ));
    // Found by ID, by email in any ASCII case, and by username.
    assert_eq!(get(&s, &ada.id).unwrap().id, ada.id);
    assert_eq!(get(&s, "ADA@example.COM").unwrap().id, ada.id);
    assert_eq!(get(&s, "ADA").unwrap().id, ada.id);
    assert!(matches!(get(&s, "nobody"), Err(UserError::UnknownUser(_))));
}

#[test]
fn bad_input_is_refused_by_name() {
    let (_d, s) = store();
    let bad = |n: NewUser| add(&s, 1, n).unwrap_err().to_string();
    assert!(bad(NewUser {
        username: Some("-rf".into()),
        ..new_user("a@example.com")
    })
    .contains("username"));
    assert!(bad(NewUser {
        picture: Some("javascript:alert(1)".into()),
        ..new_user("a@example.com")
    })
    .contains("picture"));
    let mut claims = Map::new();
    claims.insert("email".into(), json!("x@evil.example"));
    assert!(bad(NewUser {
        claims,
        ..new_user("a@example.com")
    })
    .contains("registered claim"));
    assert!(bad(NewUser {
        groups: vec!["nope".into()],
        ..new_user("a@example.com")
    })
    .contains("sesame group add nope"));
}

use serde_json::json;

#[test]
fn changing_the_email_or_username_moves_the_indexes() {
    let (_d, s) = store();
    let u = add(
        &s,
        1,
        NewUser {
            username: Some("ada".into()),
            ..new_user("ada@example.com")
        },
    )
    .unwrap();
    add(&s, 1, new_user("bob@example.com")).unwrap();
    let taken = update(
        &s,
        2,
        &u.id,
        UserChange {
            email: Some("BOB@example.com".into()),
            ..Default::default()
        },
    );
    assert!(matches!(taken, Err(UserError::DuplicateEmail(_))));
    let changed = update(
        &s,
        2,
        &u.id,
        UserChange {
            email: Some("lovelace@example.com".into()),
            username: Some("lovelace".into()),
            name: Some("Ada Lovelace".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        !changed.email_verified,
        "a new email is unverified until used"
    );
    assert_eq!(changed.updated_at, 2);
    assert!(matches!(
        get(&s, "ada@example.com"),
        Err(UserError::UnknownUser(_))
    ));
    assert!(matches!(get(&s, "ada"), Err(UserError::UnknownUser(_))));
    assert_eq!(get(&s, "lovelace").unwrap().id, u.id);
    // The old email and username are free again.
    assert!(add(
        &s,
        1,
        NewUser {
            username: Some("ada".into()),
            ..new_user("ada@example.com")
        }
    )
    .is_ok());
}

#[test]
fn disabling_and_deleting_end_sessions_and_revoke_token_families() {
    let (_d, s) = store();
    let u = add(&s, 1, new_user("ada@example.com")).unwrap();
    let other = add(&s, 1, new_user("bob@example.com")).unwrap();
    let seed = |user_id: &str, key: &str| {
        s.write(|tx| {
            tx.put_session(
                key,
                &Session {
                    user_id: user_id.into(),
                    auth_time: 1,
                    expires_at: 99,
                    kind: crate::store::SessionKind::Sesame,
                    sid: None,
                    apps: Vec::new(),
                    amr: Vec::new(),
                },
            )?;
            tx.put_grant(
                key,
                &Grant {
                    client_id: "c".into(),
                    user_id: user_id.into(),
                    scope: vec![],
                    auth_time: 1,
                    revoked: false,
                    expires_at: 99,
                    resource: None,
                    sid: None,
                    amr: Vec::new(),
                },
            )
        })
        .unwrap()
    };
    seed(&u.id, "s1");
    seed(&other.id, "s2");
    let disabled = set_disabled(&s, 2, "ada@example.com", true).unwrap();
    assert!(disabled.disabled);
    let (sess, grant, other_sess, other_grant) = s
        .read(|tx| {
            Ok((
                tx.session("s1")?,
                tx.grant("s1")?,
                tx.session("s2")?,
                tx.grant("s2")?,
            ))
        })
        .unwrap();
    assert!(sess.is_none());
    assert!(grant.unwrap().revoked);
    assert!(other_sess.is_some(), "other users are untouched");
    assert!(!other_grant.unwrap().revoked);
    assert!(!set_disabled(&s, 3, &u.id, false).unwrap().disabled);

    let deleted = delete(&s, "bob@example.com").unwrap();
    assert_eq!(deleted.id, other.id);
    let (sess, grant) = s
        .read(|tx| Ok((tx.session("s2")?, tx.grant("s2")?)))
        .unwrap();
    assert!(sess.is_none() && grant.unwrap().revoked);
    // The address can be used again; the new account gets a new `sub`.
    let again = add(&s, 4, new_user("bob@example.com")).unwrap();
    assert_ne!(again.id, other.id);
}

#[test]
fn groups_membership_and_listing() {
    let (_d, s) = store();
    group(&s, "family");
    assert!(matches!(
        add_group(
            &s,
            1,
            NewGroup {
                name: "family".into(),
                ..Default::default()
            }
        ),
        Err(UserError::DuplicateGroup(_))
    ));
    for i in 0..7 {
        let u = add(&s, 1, new_user(&format!("u{i}@example.com"))).unwrap();
        if i % 2 == 0 {
            add_member(&s, 2, "family", &u.id).unwrap();
        }
    }
    let all: Vec<String> = list_groups(&s)
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(all, ["admins", "family"]);
    // Pages of 3: 7 users, then the family's 4.
    let first = list(&s, None, None, None, 3).unwrap();
    assert_eq!(first.items.len(), 3);
    let second = list(&s, None, None, first.next.as_deref(), 3).unwrap();
    let third = list(&s, None, None, second.next.as_deref(), 3).unwrap();
    assert_eq!(third.items.len(), 1);
    assert!(third.next.is_none());
    let family = list(&s, Some("family"), None, None, 100).unwrap();
    assert_eq!(family.items.len(), 4);
    assert!(matches!(
        list(&s, Some("nope"), None, None, 10),
        Err(UserError::UnknownGroup(_))
    ));
    // Deleting a group takes it off its members; the built-in admins group stays.
    delete_group(&s, 3, "family").unwrap();
    assert!(list(&s, None, None, None, 100)
        .unwrap()
        .items
        .iter()
        .all(|u| u.groups.is_empty()));
    assert!(matches!(
        delete_group(&s, 3, ADMINS),
        Err(UserError::BuiltInGroup)
    ));
}

#[test]
fn declarations_reconcile_and_release() {
    let (_d, s) = store();
    let groups = vec![GroupDecl {
        name: "family".into(),
        description: "Family".into(),
        claims: Map::new(),
        api_scopes: Default::default(),
        second_factor: crate::store::SecondFactor::Required,
    }];
    let users = vec![UserDecl {
        email: "me@example.com".into(),
        name: Some("Me".into()),
        username: Some("me".into()),
        picture: None,
        groups: vec!["family".into(), ADMINS.into()],
        claims: Map::new(),
        disabled: false,
    }];
    let r = reconcile(&s, 1, &groups, &users).unwrap();
    assert_eq!(r.created, ["group family", "user me@example.com"]);
    let me = get(&s, "me").unwrap();
    assert!(me.declared && me.in_group(ADMINS));
    let family = s.read(|tx| tx.group("family")).unwrap().unwrap();
    assert_eq!(family.second_factor, crate::store::SecondFactor::Required);
    // Again, unchanged: same sub.
    let r = reconcile(&s, 2, &groups, &users).unwrap();
    assert!(r.created.is_empty() && r.updated.is_empty());
    assert_eq!(get(&s, "me@example.com").unwrap().id, me.id);
    // Loosening the policy in the file updates the group.
    let mut looser = groups.clone();
    looser[0].second_factor = crate::store::SecondFactor::Optional;
    let r = reconcile(&s, 2, &looser, &users).unwrap();
    assert_eq!(r.updated, ["group family"]);
    let family = s.read(|tx| tx.group("family")).unwrap().unwrap();
    assert!(family.second_factor.is_optional());
    // The CLI may not change a declared user.
    assert!(matches!(
        update(&s, 3, "me", UserChange::default()),
        Err(UserError::Declared(_))
    ));
    // Dropped from the file: released, not deleted.
    let r = reconcile(&s, 4, &[], &[]).unwrap();
    assert_eq!(r.released, ["group family", "user me@example.com"]);
    let me = get(&s, "me").unwrap();
    assert!(!me.declared);
}

#[test]
fn sign_up_policy_and_app_access() {
    let e = |s: &str| Email::parse(s).unwrap();
    let invite = SignUpConfig::default();
    assert!(!invite.admits(&e("a@example.com")));
    let open = SignUpConfig {
        mode: SignUpMode::Open,
        allowed_domains: vec![],
    };
    assert!(open.admits(&e("a@example.com")));
    let domains = SignUpConfig {
        mode: SignUpMode::Domains,
        allowed_domains: vec!["example.com".into()],
    };
    assert!(domains.admits(&e("a@EXAMPLE.com")));
    assert!(!domains.admits(&e("a@example.org")));

    let mut user = User::new("u".into(), "a@example.com".into(), 1);
    let mut app = crate::store::App {
        client_id: "c".into(),
        name: "Grafana".into(),
        app_type: crate::store::AppType::Traditional,
        secret_hash: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        id_token_signed_response_alg: None,
        created_at: 0,
        declared: false,
        allowed_groups: vec![],
        allow_insecure_redirect: false,
        refresh_retry_window: None,
        api_scopes: Default::default(),
        second_factor: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: true,
        device_flow: false,
        require_pushed_authorization_requests: false,
    };
    assert!(may_use(&app, &user));
    app.allowed_groups = vec!["family".into()];
    assert!(!may_use(&app, &user));
    user.groups = vec!["family".into()];
    assert!(may_use(&app, &user));
    user.disabled = true;
    assert!(!may_use(&app, &user));
}

/// All the pages of a search, following `next`, with `limit` per page.
fn search_all(s: &Store, group: Option<&str>, q: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = list(s, group, Some(q), after.as_deref(), limit).unwrap();
        assert!(page.items.len() <= limit);
        pages.push(page.items.iter().map(|u| u.email.clone()).collect());
        match page.next {
            Some(n) => after = Some(n),
            None => return pages,
        }
    }
}

#[test]
fn search_matches_email_name_or_username_in_any_case() {
    let (_d, s) = store();
    group(&s, "family");
    let ada = NewUser {
        name: Some("Ada Lovelace".into()),
        username: Some("countess".into()),
        groups: vec!["family".into()],
        ..new_user("ada@example.com")
    };
    add(&s, 1, ada).unwrap();
    let zoe = NewUser {
        name: Some("Zoë Ünal".into()),
        ..new_user("zoe@Example.org")
    };
    add(&s, 1, zoe).unwrap();
    add(&s, 1, new_user("bob@example.com")).unwrap();
    let emails = |group, q| search_all(&s, group, q, 10).concat();
    assert_eq!(emails(None, "LOVELACE"), ["ada@example.com"]);
    assert_eq!(emails(None, "Count"), ["ada@example.com"]);
    assert_eq!(
        emails(None, "ünal"),
        ["zoe@Example.org"],
        "non-ASCII, any case"
    );
    assert_eq!(emails(None, "example.org").len(), 1);
    assert_eq!(emails(None, "example.com").len(), 2);
    assert_eq!(emails(Some("family"), "example"), ["ada@example.com"]);
    assert!(emails(Some("family"), "bob").is_empty());
    assert!(emails(None, "nobody").is_empty());
    // Blank search text is no search.
    assert_eq!(list(&s, None, Some("  "), None, 10).unwrap().items.len(), 3);
}

#[test]
fn search_pages_continue_where_the_last_stopped() {
    let (_d, s) = store();
    // 25 users; the 10 whose address has "match" are spread among the others.
    for i in 0..25 {
        let local = if i % 5 < 2 { "match" } else { "other" };
        add(&s, 1, new_user(&format!("{local}{i}@example.com"))).unwrap();
    }
    let pages = search_all(&s, None, "MATCH", 4);
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 4, 2], "{pages:?}");
    let mut all = pages.concat();
    assert!(all.iter().all(|e| e.starts_with("match")));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 10, "each match once, none skipped");
    // A page that ends on the last match says so: no next page for nothing.
    let exact = search_all(&s, None, "match", 5);
    assert_eq!(exact.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5]);
}

/// The policy the sign-in step asks for: the app's, or any of the user's groups' (read from the
/// store, so a change counts at once), on the fixed-clock provider's registered apps.
#[test]
fn a_second_factor_is_required_by_the_app_or_any_group_of_the_user() {
    use crate::provider::testing::{self, CLIENT, T0};
    use crate::store::{SecondFactor, APPS};
    let (_d, p) = testing::provider();
    ensure_builtin_groups(&p.store, T0).unwrap();
    let mut user = testing::user(&p, "ada@example.com");
    let mut app: crate::store::App = p.store.read(|tx| tx.get(&APPS, CLIENT)).unwrap().unwrap();
    let required = |app: Option<&crate::store::App>, user: &User| {
        p.store
            .read(|tx| second_factor_required(tx, app, user))
            .unwrap()
    };
    assert!(!required(Some(&app), &user));
    assert!(!required(None, &user));

    app.second_factor = SecondFactor::Required;
    assert!(required(Some(&app), &user));
    assert!(
        !required(None, &user),
        "sesame's own pages follow groups only"
    );
    app.second_factor = SecondFactor::Optional;

    group(&p.store, "family");
    group(&p.store, "staff");
    user = add_member(&p.store, T0, "family", &user.id).unwrap();
    user = add_member(&p.store, T0, "staff", &user.id).unwrap();
    assert!(!required(Some(&app), &user));
    let strict = GroupChange {
        second_factor: Some(SecondFactor::Required),
        ..Default::default()
    };
    update_group(&p.store, T0, "staff", strict).unwrap();
    assert!(required(Some(&app), &user));
    assert!(required(None, &user));

    // Someone outside the strict group is not affected by it.
    let other = testing::user(&p, "bob@example.com");
    assert!(!required(Some(&app), &other));

    // A group the user still names but that is gone counts as optional.
    user.groups.push("gone".into());
    update_group(
        &p.store,
        T0,
        "staff",
        GroupChange {
            second_factor: Some(SecondFactor::Optional),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!required(Some(&app), &user));
}
