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
    start(p, request(CLIENT, "openid email", None), BROWSER).unwrap()
}

/// Reserves and records `code` for `to`, as `send_code` does around a successful mail.
fn sent(p: &Provider, id: &str, to: &str, code: &str) -> Result<Reservation, SignInError> {
    let e = email(to);
    let r = reserve_code(p, id, &e)?;
    record_code(p, id, &e, code, r)?;
    Ok(r)
}

fn tries(p: &Provider, id: &str) -> u32 {
    let i = p.store.read(|tx| tx.interaction(id)).unwrap().unwrap();
    i.code.unwrap().tries
}

#[test]
fn email_addresses_are_parsed_and_keyed_lower_case() {
    let e = Email::parse("  Ada@Example.COM ").unwrap();
    assert_eq!(e.address, "Ada@Example.COM");
    assert_eq!(e.key, "ada@example.com");
    assert!(Email::parse("not an address").is_err());
    assert!(Email::parse("a@").is_err());
    assert!(Email::parse(&format!("{}@example.com", "a".repeat(260))).is_err());
}

#[test]
fn the_right_code_signs_in_once_and_creates_the_account() {
    let (_d, p) = provider();
    let id = started(&p);
    let r = sent(&p, &id, "New@Example.com", CODE).unwrap();
    assert!(r.new_user, "an unknown address gets the Register template");
    let done = verify_code(&p, &id, " 123-456 ", None).unwrap();
    assert!(
        done.redirect.starts_with("https://app.example/cb?code="),
        "{}",
        done.redirect
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
    let (_d, p) = provider();
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
    let (_d, p) = provider();
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
    let (_d, p) = provider();
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
    let (_d, p) = provider();
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
        reserve_code(&p, &id, &email("ada@example.com")),
        Err(SignInError::Expired)
    ));
}

#[test]
fn a_new_code_for_the_same_address_waits_for_the_resend_interval() {
    let (_d, p) = provider();
    let wait = p.tokens.sign_in_code_resend_after;
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    p.clock.advance(wait - 1);
    match reserve_code(&p, &id, &email("ADA@example.com")) {
        Err(SignInError::ResendTooSoon { wait }) => assert_eq!(wait, 1),
        other => panic!("{other:?}"),
    }
    // Another address in the same sign-in is not held back by the interval.
    assert!(reserve_code(&p, &id, &email("bob@example.com")).is_ok());
    p.clock.advance(1);
    assert!(reserve_code(&p, &id, &email("ada@example.com")).is_ok());
}

#[test]
fn an_address_gets_at_most_ten_codes_an_hour_across_sign_ins() {
    let (_d, p) = provider();
    for _ in 0..CODES_PER_ADDRESS_PER_HOUR {
        let id = started(&p);
        sent(&p, &id, "ada@example.com", CODE).unwrap();
    }
    p.clock.advance(CODE_SEND_WINDOW - 1);
    let id = started(&p);
    match reserve_code(&p, &id, &email("Ada@Example.com")) {
        Err(SignInError::TooManyCodes { wait }) => assert_eq!(wait, 1),
        other => panic!("{other:?}"),
    }
    // Other addresses have their own budget.
    assert!(reserve_code(&p, &id, &email("bob@example.com")).is_ok());
    // A new window starts an hour after the first send.
    p.clock.advance(1);
    let id = started(&p);
    assert!(reserve_code(&p, &id, &email("ada@example.com")).is_ok());
}

#[test]
fn a_failed_send_gives_its_slot_back() {
    let (_d, p) = provider();
    let e = email("ada@example.com");
    for _ in 0..CODES_PER_ADDRESS_PER_HOUR {
        let id = started(&p);
        reserve_code(&p, &id, &e).unwrap();
        release_code(&p, &e).unwrap();
    }
    let id = started(&p);
    assert!(
        reserve_code(&p, &id, &e).is_ok(),
        "released slots are free again"
    );
}

#[test]
fn signing_in_again_replaces_the_old_session() {
    let (_d, p) = provider();
    let id = started(&p);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    let first = verify_code(&p, &id, CODE, None).unwrap();
    let id = started(&p);
    p.clock.advance(p.tokens.sign_in_code_resend_after);
    sent(&p, &id, "ada@example.com", CODE).unwrap();
    let second = verify_code(&p, &id, CODE, Some(&first.session_cookie)).unwrap();
    assert!(crate::session::current(&p, Some(&first.session_cookie))
        .unwrap()
        .is_none());
    assert!(crate::session::current(&p, Some(&second.session_cookie))
        .unwrap()
        .is_some());
}
