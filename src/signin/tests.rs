//! Sign-in by email code, in-process: a temporary redb and a fixed clock. The code is mailed
//! by the real `send_code` in the black-box tests; here the steps around the mail (reserve,
//! record, verify) are driven directly with a known code, so every limit is checked at its
//! boundary in milliseconds.

use super::*;
use crate::provider::testing::*;
use crate::store::Reads;

const CODE: &str = "123456";
const BROWSER: &str = "browser-cookie-value-of-at-least-32-chars";

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

/// A sign-in started for the confidential app; returns its interaction ID.
fn started(p: &Provider) -> String {
    start(
        p,
        SignInFor::App(request(CLIENT, "openid email", None)),
        BROWSER,
    )
    .unwrap()
}

/// Reserves and records `code` for `to`, as `send_code` does around a successful mail.
fn sent(p: &Provider, id: &str, to: &str, code: &str) -> Result<Reservation, SignInError> {
    let e = email(to);
    let r = reserve_code(p, id, &e, None)?;
    record_code(p, id, &e, code, r)?;
    Ok(r)
}

/// A provider whose sign-up policy admits anyone (most tests are about codes, not policy).
fn open_provider() -> (tempfile::TempDir, Provider) {
    let (d, p) = provider();
    let open = crate::users::SignUpConfig {
        mode: crate::users::SignUpMode::Open,
        allowed_domains: vec![],
    };
    (d, p.with_sign_up(open))
}

fn redirect(done: &SignedIn) -> &str {
    match &done.next {
        Next::Redirect(url) => url,
        other => panic!("{other:?}"),
    }
}

fn tries(p: &Provider, id: &str) -> u32 {
    let i = p.store.read(|tx| tx.interaction(id)).unwrap().unwrap();
    i.code.unwrap().tries
}

#[test]
fn the_right_code_signs_in_once_and_creates_the_account() {
    let (_d, p) = open_provider();
    let id = started(&p);
    let r = sent(&p, &id, "New@Example.com", CODE).unwrap();
    assert!(r.new_user, "an unknown address gets the Register template");
    let done = verify_code(&p, &id, " 123-456 ", None).unwrap();
    assert!(
        redirect(&done).starts_with("https://app.example/cb?code="),
        "{}",
        redirect(&done)
    );
    let user_id = p
        .store
        .read(|tx| tx.user_id_by_email("new@example.com"))
        .unwrap()
        .expect("account created");
    let session = crate::session::current(&p, Some(&done.session_cookie))
        .unwrap()
        .expect("signed in");
    assert_eq!(session.user_id, user_id);
    assert_eq!(session.auth_time, T0);
    // The interaction is gone: the same code cannot sign in twice.
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::Expired)
    ));
    // The next sign-in of this address is a sign-in, not a registration.
    let again = started(&p);
    assert!(
        !sent(&p, &again, "new@example.com", "654321")
            .unwrap()
            .new_user
    );
}

#[test]
fn wrong_codes_are_counted_and_the_fifth_voids_the_code() {
    let (_d, p) = open_provider();
    let id = started(&p);
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::NoCode)
    ));
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    for left in (1..MAX_CODE_TRIES).rev() {
        match verify_code(&p, &id, "000000", None) {
            Err(SignInError::WrongCode { tries_left }) => assert_eq!(tries_left, left),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        tries(&p, &id),
        MAX_CODE_TRIES - 1,
        "each wrong try is committed"
    );
    assert!(matches!(
        verify_code(&p, &id, "000000", None),
        Err(SignInError::CodeVoid)
    ));
    // Void means void: not even the right code works now.
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::CodeVoid)
    ));
    // A new code (after the resend interval) starts a fresh count.
    p.clock.advance(p.tokens.sign_in_code_resend_after);
    sent(&p, &id, "ada@example.com", "222222").unwrap();
    assert_eq!(tries(&p, &id), 0);
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::WrongCode { .. })
    ));
    assert!(verify_code(&p, &id, "222222", None).is_ok());
}

#[test]
fn malformed_codes_count_as_wrong_tries() {
    let (_d, p) = open_provider();
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    for typed in ["", "12345", "1234567", "abcdef"] {
        assert!(matches!(
            verify_code(&p, &id, typed, None),
            Err(SignInError::WrongCode { .. })
        ));
    }
    assert_eq!(tries(&p, &id), 4);
}

#[test]
fn a_code_expires_at_its_lifetime() {
    let (_d, p) = open_provider();
    let ttl = p.tokens.sign_in_code_ttl;
    let early = started(&p);
    let late = started(&p);
    sent(&p, &early, "ada@example.com", CODE).unwrap();
    sent(&p, &late, "bob@example.com", CODE).unwrap();
    p.clock.advance(ttl - 1);
    assert!(
        verify_code(&p, &early, CODE, None).is_ok(),
        "one second before the end"
    );
    p.clock.advance(1);
    assert!(matches!(
        verify_code(&p, &late, CODE, None),
        Err(SignInError::CodeExpired)
    ));
}

#[test]
fn an_interaction_expires_and_belongs_to_its_browser() {
    let (_d, p) = open_provider();
    let id = started(&p);
    assert!(load(&p, &id, Some(BROWSER)).is_ok());
    assert!(matches!(
        load(&p, &id, Some("another-browser")),
        Err(SignInError::WrongBrowser)
    ));
    assert!(matches!(
        load(&p, &id, None),
        Err(SignInError::WrongBrowser)
    ));
    assert!(matches!(
        load(&p, "no-such-id", Some(BROWSER)),
        Err(SignInError::Expired)
    ));
    p.clock.advance(INTERACTION_TTL - 1);
    assert!(
        load(&p, &id, Some(BROWSER)).is_ok(),
        "one second before the end"
    );
    p.clock.advance(1);
    assert!(matches!(
        load(&p, &id, Some(BROWSER)),
        Err(SignInError::Expired)
    ));
    assert!(matches!(
        reserve_code(&p, &id, &email("ada@example.com"), None),
        Err(SignInError::Expired)
    ));
}

#[test]
fn a_new_code_for_the_same_address_waits_for_the_resend_interval() {
    let (_d, p) = open_provider();
    let wait = p.tokens.sign_in_code_resend_after;
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    p.clock.advance(wait - 1);
    match reserve_code(&p, &id, &email("ADA@example.com"), None) {
        Err(SignInError::ResendTooSoon { wait }) => assert_eq!(wait, 1),
        other => panic!("{other:?}"),
    }
    // Another address in the same sign-in is not held back by the interval.
    assert!(reserve_code(&p, &id, &email("bob@example.com"), None).is_ok());
    p.clock.advance(1);
    assert!(reserve_code(&p, &id, &email("ada@example.com"), None).is_ok());
}

#[test]
fn an_address_gets_at_most_ten_codes_an_hour_across_sign_ins() {
    let (_d, p) = open_provider();
    for _ in 0..CODES_PER_ADDRESS_PER_HOUR {
        let id = started(&p);
        sent(&p, &id, "ada@example.com", CODE).unwrap();
    }
    p.clock.advance(CODE_SEND_WINDOW - 1);
    let id = started(&p);
    match reserve_code(&p, &id, &email("Ada@Example.com"), None) {
        Err(SignInError::TooManyCodes { wait }) => assert_eq!(wait, 1),
        other => panic!("{other:?}"),
    }
    // Other addresses have their own budget.
    assert!(reserve_code(&p, &id, &email("bob@example.com"), None).is_ok());
    // A new window starts an hour after the first send.
    p.clock.advance(1);
    let id = started(&p);
    assert!(reserve_code(&p, &id, &email("ada@example.com"), None).is_ok());
}

#[test]
fn a_failed_send_gives_its_slot_back() {
    let (_d, p) = open_provider();
    let e = email("ada@example.com");
    for _ in 0..CODES_PER_ADDRESS_PER_HOUR {
        let id = started(&p);
        reserve_code(&p, &id, &e, None).unwrap();
        release_code(&p, &id, &e, "refused".into()).unwrap();
    }
    let id = started(&p);
    assert!(
        reserve_code(&p, &id, &e, None).is_ok(),
        "released slots are free again"
    );
}

#[test]
fn signing_in_again_replaces_the_old_session() {
    let (_d, p) = open_provider();
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    let first = verify_code(&p, &id, CODE, None).unwrap();
    let id = started(&p);
    p.clock.advance(p.tokens.sign_in_code_resend_after);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    let second = verify_code(&p, &id, CODE, Some(first.session_cookie.as_str())).unwrap();
    assert!(crate::session::current(&p, Some(&first.session_cookie))
        .unwrap()
        .is_none());
    assert!(crate::session::current(&p, Some(&second.session_cookie))
        .unwrap()
        .is_some());
}

/// Adds a user as an administrator would.
fn added(p: &Provider, email: &str, groups: &[&str]) -> crate::store::User {
    for g in groups {
        let _ = crate::users::add_group(
            &p.store,
            p.now(),
            crate::users::NewGroup {
                name: g.to_string(),
                ..Default::default()
            },
        );
    }
    crate::users::add(
        &p.store,
        p.now(),
        crate::users::NewUser {
            email: email.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn invite_mode_lets_known_users_in_and_refuses_strangers_without_saying_so() {
    let (_d, p) = provider(); // the default policy: invite
    added(&p, "ada@example.com", &[]);
    let id = started(&p);
    let r = sent(&p, &id, "Ada@Example.com", CODE).unwrap();
    assert!(!r.refused && !r.new_user);
    assert!(verify_code(&p, &id, CODE, None).is_ok());

    // A stranger: the reservation is taken as for anyone, but marked refused, and no code is
    // right, not even the one "sent".
    let id = started(&p);
    let r = sent(&p, &id, "stranger@example.com", CODE).unwrap();
    assert!(r.refused && r.new_user);
    match verify_code(&p, &id, CODE, None) {
        Err(SignInError::WrongCode { tries_left }) => assert_eq!(tries_left, MAX_CODE_TRIES - 1),
        other => panic!("{other:?}"),
    }
    assert!(p
        .store
        .read(|tx| tx.user_id_by_email("stranger@example.com"))
        .unwrap()
        .is_none());
}

#[test]
fn domains_mode_admits_only_the_listed_domains() {
    let (_d, p) = provider();
    let p = p.with_sign_up(crate::users::SignUpConfig {
        mode: crate::users::SignUpMode::Domains,
        allowed_domains: vec!["Family.Example".into(), "bücher.example".into()],
    });
    for (address, admitted) in [
        ("kid@family.example", true),
        ("kid@xn--bcher-kva.example", true),
        ("kid@sub.family.example", false),
        ("kid@elsewhere.example", false),
    ] {
        let id = started(&p);
        let r = sent(&p, &id, address, CODE).unwrap();
        assert_eq!(!r.refused, admitted, "{address}");
        assert_eq!(
            verify_code(&p, &id, CODE, None).is_ok(),
            admitted,
            "{address}"
        );
    }
}

#[test]
fn a_disabled_user_gets_no_code_and_cannot_finish_a_sign_in() {
    let (_d, p) = provider();
    added(&p, "ada@example.com", &[]);
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    crate::users::set_disabled(&p.store, p.now(), "ada@example.com", true).unwrap();
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::Disabled)
    ));
    let id = started(&p);
    assert!(matches!(
        reserve_code(&p, &id, &email("ada@example.com"), None),
        Err(SignInError::Disabled)
    ));
}

#[test]
fn an_app_restricted_to_groups_turns_away_other_users_after_sign_in() {
    let (_d, p) = provider();
    added(&p, "kid@example.com", &["family"]);
    added(&p, "guest@example.com", &[]);
    p.store
        .write(|tx| {
            let mut app = tx.app(CLIENT)?.unwrap();
            app.allowed_groups = vec!["family".into()];
            tx.put(&crate::store::APPS, CLIENT, &app)
        })
        .unwrap();
    let id = started(&p);
    sent(&p, &id, "guest@example.com", CODE).unwrap();
    let done = verify_code(&p, &id, CODE, None).unwrap();
    match &done.next {
        Next::NotAllowed { app_name, request } => {
            assert_eq!(app_name, CLIENT);
            assert_eq!(request.client_id, CLIENT);
        }
        other => panic!("{other:?}"),
    }
    // Signed in all the same (another app may admit them), but no code was issued.
    assert!(crate::session::current(&p, Some(&done.session_cookie))
        .unwrap()
        .is_some());

    let id = started(&p);
    sent(&p, &id, "kid@example.com", CODE).unwrap();
    let done = verify_code(&p, &id, CODE, None).unwrap();
    assert!(redirect(&done).contains("code="));
}

/// The audit log's outcomes, oldest first.
fn audited(p: &Provider) -> Vec<String> {
    let page = p
        .store
        .read(|tx| {
            crate::audit::list(
                tx,
                &crate::audit::AuditQuery {
                    limit: Some(100),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    let mut out: Vec<String> = page
        .entries
        .iter()
        .map(|r| r.entry.event.outcome().to_string())
        .collect();
    out.reverse();
    out
}

#[test]
fn sign_ins_codes_and_refusals_are_audited() {
    let (_d, p) = provider();
    added(&p, "ada@example.com", &[]);
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    let _ = verify_code(&p, &id, "000000", None);
    verify_code(&p, &id, CODE, None).unwrap();
    // A stranger (invite mode): refused at the reservation, no code sent, wrong at the form.
    let id = started(&p);
    sent(&p, &id, "stranger@example.com", CODE).unwrap();
    let _ = verify_code(&p, &id, CODE, None);
    // A disabled user.
    crate::users::set_disabled(&p.store, p.now(), "ada@example.com", true).unwrap();
    let id = started(&p);
    let _ = reserve_code(&p, &id, &email("ada@example.com"), None);
    assert_eq!(
        audited(&p),
        [
            "sent",
            "wrong_code",
            "signed_in",
            "not_allowed",
            "wrong_code",
            "disabled"
        ]
    );
    let release = p
        .store
        .read(|tx| {
            crate::audit::list(
                tx,
                &crate::audit::AuditQuery {
                    user: Some("stranger@example.com".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(release.entries.len(), 2, "filtered by address");
    assert!(release
        .entries
        .iter()
        .all(|r| r.entry.client_id.as_deref() == Some(CLIENT)));
}

#[test]
fn a_failed_send_is_audited_with_the_mailers_reason() {
    let (_d, p) = open_provider();
    let id = started(&p);
    let e = email("ada@example.com");
    reserve_code(&p, &id, &e, None).unwrap();
    release_code(&p, &id, &e, "554 Message rejected".into()).unwrap();
    assert_eq!(audited(&p), ["failed"]);
}

#[test]
fn the_hourly_budget_defaults_to_the_constant_and_follows_the_setting() {
    assert_eq!(
        crate::provider::TokenConfig::default().sign_in_codes_per_hour,
        CODES_PER_ADDRESS_PER_HOUR
    );
    let (_d, mut p) = open_provider();
    p.tokens.sign_in_codes_per_hour = 2;
    for _ in 0..2 {
        let id = started(&p);
        sent(&p, &id, "ada@example.com", CODE).unwrap();
    }
    let id = started(&p);
    assert!(matches!(
        reserve_code(&p, &id, &email("ada@example.com"), None),
        Err(SignInError::TooManyCodes { .. })
    ));
}

#[test]
fn a_reauthentication_takes_only_the_accounts_own_address_and_ends_where_it_came_from() {
    let (_d, p) = open_provider();
    let ada = user(&p, "ada@example.com");
    user(&p, "bob@example.com");
    let purpose = SignInFor::Reauth {
        user_id: ada.id.clone(),
        back: "/apps/show?id=x".into(),
    };
    let id = start(&p, purpose, BROWSER).unwrap();
    // Another account's address, and an address with no account: no code is sent.
    for other in ["bob@example.com", "nobody@example.com"] {
        assert!(matches!(
            sent(&p, &id, other, CODE),
            Err(SignInError::NotTheSameAccount)
        ));
    }
    // A code recorded for another address (as if the check at sending were bypassed) is
    // refused when entered, and signs nobody in.
    let bob = email("bob@example.com");
    let r = Reservation {
        at: p.now(),
        new_user: false,
        refused: false,
        changing_email: false,
    };
    record_code(&p, &id, &bob, CODE, r).unwrap();
    assert!(matches!(
        verify_code(&p, &id, CODE, None),
        Err(SignInError::NotTheSameAccount)
    ));
    // The account's own address: a new session, signed in now, back to the console page.
    p.clock.advance(61);
    sent(&p, &id, "Ada@Example.com", "654321").unwrap();
    let done = verify_code(&p, &id, "654321", None).unwrap();
    assert_eq!(done.next, Next::Console("/apps/show?id=x".into()));
    let session = crate::session::current(&p, Some(&done.session_cookie))
        .unwrap()
        .expect("signed in");
    assert_eq!((session.user_id, session.auth_time), (ada.id, p.now()));
}
