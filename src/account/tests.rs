use super::*;
use crate::audit::{list, AuditEvent, AuditQuery};
use crate::provider::testing::{provider, user, CLIENT, PUBLIC_CLIENT, T0};
use crate::store::{Grant, SessionKind};

fn grant(p: &crate::provider::Provider, id: &str, user_id: &str, client: &str, at: u64) {
    let g = Grant {
        client_id: client.into(),
        user_id: user_id.into(),
        scope: vec!["openid".into(), "email".into()],
        auth_time: at,
        revoked: false,
        expires_at: T0 + 3600,
        resource: None,
        sid: None,
        amr: Vec::new(),
    };
    p.store.write(|tx| tx.put_grant(id, &g)).unwrap();
}

fn commands(p: &crate::provider::Provider, user_id: &str) -> Vec<String> {
    let q = AuditQuery {
        user: Some(user_id.into()),
        ..Default::default()
    };
    let page = p.store.read(|tx| list(tx, &q)).unwrap();
    page.entries
        .iter()
        .filter_map(|r| match &r.entry.event {
            AuditEvent::AdminChange { command, .. } => Some(command.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_view_lists_live_sessions_and_apps_and_marks_this_browser() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    let (mine, other, bobs) = p
        .store
        .write(|tx| {
            Ok::<_, StoreError>((
                crate::session::create(tx, &ada.id, T0 - 10, 3600)?,
                crate::session::create_forward_auth(tx, &ada.id, T0 - 5, T0 + 60)?,
                crate::session::create(tx, &bob.id, T0, 3600)?,
            ))
        })
        .unwrap();
    grant(&p, "g1", &ada.id, CLIENT, T0 - 100);
    grant(&p, "g2", &ada.id, CLIENT, T0 - 50);
    grant(&p, "g3", &bob.id, PUBLIC_CLIENT, T0);
    let v = view(&p.store, T0, &ada.id, Some(&mine)).unwrap().unwrap();
    assert_eq!(v.sessions.len(), 2, "{:?}", v.sessions);
    assert_eq!(v.sessions[0].kind, SessionKind::ForwardAuth);
    assert!(v.sessions[1].current && !v.sessions[0].current);
    assert_eq!(v.apps.len(), 1);
    assert_eq!(v.apps[0].0.last_sign_in, T0 - 50);
    assert_eq!(v.apps[0].1, CLIENT, "named by the app's name");
    let _ = (other, bobs);
}

#[test]
fn a_user_ends_only_their_own_sessions_and_it_is_audited() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    let bobs = p
        .store
        .write(|tx| crate::session::create(tx, &bob.id, T0, 3600))
        .unwrap();
    let bobs_id = crate::crypto::hash_token(&bobs);
    assert!(!end_session(&p.store, T0, &ada.id, &bobs_id).unwrap());
    assert!(crate::session::current(&p, Some(&bobs)).unwrap().is_some());
    assert!(end_session(&p.store, T0, &bob.id, &bobs_id).unwrap());
    assert!(crate::session::current(&p, Some(&bobs)).unwrap().is_none());
    assert_eq!(commands(&p, &bob.id), ["account.sign_out"]);
    assert!(commands(&p, &ada.id).is_empty());
}

#[test]
fn revoking_an_app_revokes_only_that_apps_grants_of_that_user() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    grant(&p, "g1", &ada.id, CLIENT, T0);
    grant(&p, "g2", &ada.id, PUBLIC_CLIENT, T0);
    grant(&p, "g3", &bob.id, CLIENT, T0);
    assert_eq!(revoke_app(&p.store, T0, &ada.id, CLIENT).unwrap(), 1);
    let revoked = |id: &str| p.store.read(|tx| tx.grant(id)).unwrap().unwrap().revoked;
    assert!(revoked("g1") && !revoked("g2") && !revoked("g3"));
    assert_eq!(revoke_app(&p.store, T0, &ada.id, CLIENT).unwrap(), 0);
    assert_eq!(commands(&p, &ada.id), ["account.revoke_app"]);
}

#[test]
fn the_profile_changes_name_and_username_and_a_taken_username_is_refused() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    let u = update_profile(&p.store, T0, &ada.id, "Ada L", "ada").unwrap();
    assert_eq!(
        (u.name.as_deref(), u.username.as_deref()),
        (Some("Ada L"), Some("ada"))
    );
    let e = update_profile(&p.store, T0, &bob.id, "Bob", "ADA").unwrap_err();
    assert!(matches!(e, UserError::DuplicateUsername(_)), "{e:?}");
    let e = update_profile(&p.store, T0, &bob.id, "Bob", "no spaces").unwrap_err();
    assert!(matches!(e, UserError::InvalidUsername(_)), "{e:?}");
    assert_eq!(commands(&p, &ada.id), ["account.update"]);
    assert!(
        commands(&p, &bob.id).is_empty(),
        "refused changes change nothing"
    );
}

#[test]
fn sign_out_everywhere_ends_both_kinds_and_a_new_address_must_be_free() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let _bob = user(&p, "bob@example.com");
    p.store
        .write(|tx| {
            crate::session::create(tx, &ada.id, T0, 3600)?;
            crate::session::create_forward_auth(tx, &ada.id, T0, T0 + 60)
        })
        .unwrap();
    assert_eq!(sign_out_everywhere(&p.store, T0, &ada.id).unwrap(), 2);
    assert!(view(&p.store, T0, &ada.id, None)
        .unwrap()
        .unwrap()
        .sessions
        .is_empty());
    assert!(matches!(
        check_new_email(&p.store, &ada.id, "BOB@example.com"),
        Err(UserError::DuplicateEmail(_))
    ));
    assert!(matches!(
        check_new_email(&p.store, &ada.id, "not an address"),
        Err(UserError::InvalidEmail { .. })
    ));
    assert!(check_new_email(&p.store, &ada.id, "ada@example.com").is_ok());
    assert!(check_new_email(&p.store, &ada.id, "ada2@example.com").is_ok());
}

mod email_change {
    use super::*;
    use crate::signin::{record_code, reserve_code, start, verify_code, Next, SignInError};
    use crate::store::SignInFor;

    const CODE: &str = "123456";

    /// A change of ada's address to `to` with `CODE` sent (as send_code does around the mail).
    fn pending(p: &crate::provider::Provider, user_id: &str, to: &str) -> String {
        let purpose = SignInFor::ChangeEmail {
            user_id: user_id.into(),
        };
        let id = start(p, purpose, "browser-cookie-value-of-at-least-32-chars").unwrap();
        let e = crate::users::Email::parse(to).unwrap();
        let r = reserve_code(p, &id, &e, None).unwrap();
        assert!(
            r.changing_email && !r.refused,
            "the sign-up policy does not apply"
        );
        record_code(p, &id, &e, CODE, r).unwrap();
        id
    }

    #[test]
    fn only_the_right_code_changes_the_address_and_the_change_is_audited() {
        // The fixture's sign-up policy admits nobody new: a change is not a sign-up.
        let (_d, p) = provider();
        let ada = user(&p, "ada@example.com");
        let id = pending(&p, &ada.id, "ada@new.example");
        let e = verify_code(&p, &id, "000000", None).unwrap_err();
        assert!(
            matches!(e, SignInError::WrongCode { tries_left: 4 }),
            "{e:?}"
        );
        let now = p.store.read(|tx| tx.user(&ada.id)).unwrap().unwrap();
        assert_eq!(now.email, "ada@example.com");
        let done = verify_code(&p, &id, CODE, None).unwrap();
        assert_eq!(done.next, Next::Account);
        assert!(done.session_cookie.is_empty(), "nobody new is signed in");
        let now = p.store.read(|tx| tx.user(&ada.id)).unwrap().unwrap();
        assert_eq!(now.email, "ada@new.example");
        assert!(now.email_verified);
        let by_new = p
            .store
            .read(|tx| tx.user_id_by_email("ada@new.example"))
            .unwrap();
        let by_old = p
            .store
            .read(|tx| tx.user_id_by_email("ada@example.com"))
            .unwrap();
        assert_eq!((by_new.as_deref(), by_old), (Some(ada.id.as_str()), None));
        assert_eq!(commands(&p, &ada.id), ["account.email"]);
        assert!(
            matches!(verify_code(&p, &id, CODE, None), Err(SignInError::Expired)),
            "the code works once"
        );
    }

    #[test]
    fn an_address_taken_meanwhile_is_refused_and_nothing_changes() {
        let (_d, p) = provider();
        let ada = user(&p, "ada@example.com");
        let id = pending(&p, &ada.id, "shared@example.com");
        let _other = user(&p, "shared@example.com");
        let e = verify_code(&p, &id, CODE, None).unwrap_err();
        assert!(matches!(e, SignInError::EmailChangeRefused(_)), "{e:?}");
        let now = p.store.read(|tx| tx.user(&ada.id)).unwrap().unwrap();
        assert_eq!(now.email, "ada@example.com");
        assert!(commands(&p, &ada.id).is_empty());
    }
}
