use super::{recovery, totp, FactorError};
use crate::audit::Actor;
use crate::crypto::totp::{base32_decode, code_at, step_of, DIGITS};
use crate::provider::testing::{provider, user};
use crate::provider::Provider;
use crate::store::{AuditRange, Reads, StoreError, Writes};

/// Runs `totp::verify` in a transaction that commits whatever it says, as the sign-in step must.
fn verify(p: &Provider, user_id: &str, code: &str) -> Result<(), FactorError> {
    let now = p.now();
    p.store
        .write(|tx| Ok::<_, StoreError>(totp::verify(p, tx, user_id, code, now)))
        .unwrap()
}

fn consume(p: &Provider, user_id: &str, code: &str) -> Result<(), FactorError> {
    let now = p.now();
    p.store
        .write(|tx| Ok::<_, StoreError>(recovery::consume(p, tx, user_id, code, now)))
        .unwrap()
}

/// The code of `secret` (base32) for the step `offset` steps from now.
fn code(p: &Provider, secret: &str, offset: i64) -> String {
    let step = step_of(p.now()).checked_add_signed(offset).unwrap();
    code_at(&base32_decode(secret).unwrap(), step, DIGITS)
}

/// The audit log's commands and sign-in failure reasons, oldest first.
fn audited(p: &Provider) -> Vec<String> {
    let range = AuditRange {
        since: 0,
        before: None,
        limit: 1000,
    };
    let (entries, _) = p
        .store
        .read(|tx| tx.audit_page::<serde_json::Value>(range, &mut |_, _| true))
        .unwrap();
    entries
        .iter()
        .rev()
        .map(|(_, e)| {
            e.get("command")
                .or(e.get("reason"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn enrol_confirm_and_verify_within_one_step_either_side_once_each() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let e = totp::begin(&p, &ada.id).unwrap();
    assert_eq!(e.secret_base32.len(), 32);
    assert!(e.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(e
        .otpauth_uri
        .contains(&format!("secret={}&", e.secret_base32)));
    assert!(e.otpauth_uri.contains(":ada%40example.com?"));
    assert!(e.qr_svg.starts_with("<svg"));
    let again = totp::pending_enrolment(&p, &ada.id).unwrap().unwrap();
    assert_eq!(again.otpauth_uri, e.otpauth_uri);
    assert!(!p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
    assert!(matches!(
        verify(&p, &ada.id, "123456"),
        Err(FactorError::NotEnrolled)
    ));

    assert!(matches!(
        totp::confirm(&p, &ada.id, "000000x"),
        Err(FactorError::WrongCode)
    ));
    let codes = totp::confirm(&p, &ada.id, &code(&p, &e.secret_base32, 0)).unwrap();
    assert_eq!(codes.map(|c| c.len()), Some(recovery::COUNT));
    assert!(p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
    assert!(matches!(
        totp::confirm(&p, &ada.id, "123456"),
        Err(FactorError::NothingToConfirm)
    ));

    // The confirming code's step is used.
    let now_code = code(&p, &e.secret_base32, 0);
    assert!(matches!(
        verify(&p, &ada.id, &now_code),
        Err(FactorError::Reused)
    ));
    p.clock.advance(60);
    // One step behind and one ahead are accepted, each once; two ahead is not a code.
    assert!(verify(&p, &ada.id, &code(&p, &e.secret_base32, -1)).is_ok());
    assert!(matches!(
        verify(&p, &ada.id, &code(&p, &e.secret_base32, 2)),
        Err(FactorError::WrongCode)
    ));
    assert!(matches!(
        verify(&p, &ada.id, &code(&p, &e.secret_base32, -2)),
        Err(FactorError::WrongCode)
    ));
    let ahead = code(&p, &e.secret_base32, 1);
    let spaced = format!("{} {}", &ahead[..3], &ahead[3..]);
    assert!(verify(&p, &ada.id, &spaced).is_ok());
    // The current step is before the last one used now.
    assert!(matches!(
        verify(&p, &ada.id, &code(&p, &e.secret_base32, 0)),
        Err(FactorError::Reused)
    ));

    let log = audited(&p);
    assert_eq!(
        log,
        [
            "account.totp_enrol",
            "account.totp_confirm",
            "wrong_second_factor",
            "account.totp_use",
            "wrong_second_factor",
            "wrong_second_factor",
            "account.totp_use",
            "wrong_second_factor",
        ]
    );
}

#[test]
fn a_new_authenticator_app_replaces_the_old_one_only_once_confirmed() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let old = totp::begin(&p, &ada.id).unwrap();
    // A second begin before confirming replaces the pending secret.
    let first_pending = code(&p, &old.secret_base32, 0);
    let old = totp::begin(&p, &ada.id).unwrap();
    if first_pending != code(&p, &old.secret_base32, 0) {
        assert!(matches!(
            totp::confirm(&p, &ada.id, &first_pending),
            Err(FactorError::WrongCode)
        ));
    }
    assert!(totp::confirm(&p, &ada.id, &code(&p, &old.secret_base32, 0))
        .unwrap()
        .is_some());

    let new = totp::begin(&p, &ada.id).unwrap();
    assert!(p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
    assert!(p.store.read(|tx| totp::pending(tx, &ada.id)).unwrap());
    p.clock.advance(30);
    assert!(
        verify(&p, &ada.id, &code(&p, &old.secret_base32, 0)).is_ok(),
        "the old app still works"
    );
    p.clock.advance(30);
    // The user has unused recovery codes: confirming makes none.
    assert_eq!(
        totp::confirm(&p, &ada.id, &code(&p, &new.secret_base32, 0)).unwrap(),
        None
    );
    p.clock.advance(30);
    assert!(matches!(
        verify(&p, &ada.id, &code(&p, &old.secret_base32, 0)),
        Err(FactorError::WrongCode)
    ));
    assert!(verify(&p, &ada.id, &code(&p, &new.secret_base32, 0)).is_ok());
    assert!(!p.store.read(|tx| totp::pending(tx, &ada.id)).unwrap());
    assert!(
        totp::pending_enrolment(&p, &ada.id).unwrap().is_none(),
        "shown no more"
    );

    let admin = Actor::Admin {
        user_id: "root".into(),
    };
    assert!(totp::remove(&p, &ada.id, admin.clone()).unwrap());
    assert!(!totp::remove(&p, &ada.id, admin).unwrap());
    assert!(!p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &ada.id)).unwrap(),
        10,
        "codes stay"
    );
    assert_eq!(
        audited(&p).last().map(String::as_str),
        Some("account.totp_remove")
    );
}

#[test]
fn wrong_codes_of_both_kinds_share_one_hourly_budget() {
    let (_d, mut p) = provider();
    // 5 wrong codes per sign-in code, 1 code an hour: 5 wrong codes an hour.
    p.tokens.sign_in_codes_per_hour = 1;
    let ada = user(&p, "ada@example.com");
    let e = totp::begin(&p, &ada.id).unwrap();
    totp::confirm(&p, &ada.id, &code(&p, &e.secret_base32, 0)).unwrap();
    p.clock.advance(30);
    for _ in 0..3 {
        assert!(matches!(
            verify(&p, &ada.id, "000000"),
            Err(FactorError::WrongCode)
        ));
    }
    for _ in 0..2 {
        assert!(matches!(
            consume(&p, &ada.id, "AAAA-AAAA-AAAA"),
            Err(FactorError::WrongCode)
        ));
    }
    p.clock.advance(600);
    let right = code(&p, &e.secret_base32, 0);
    match verify(&p, &ada.id, &right) {
        Err(FactorError::TooManyGuesses { retry_after_secs }) => assert_eq!(retry_after_secs, 3000),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        audited(&p).last().map(String::as_str),
        Some("second_factor_budget")
    );
    // The window ends an hour after the first wrong code.
    p.clock.advance(3000);
    assert!(verify(&p, &ada.id, &code(&p, &e.secret_base32, 0)).is_ok());
    // Other accounts were never limited.
    let bob = user(&p, "bob@example.com");
    assert!(matches!(
        verify(&p, &bob.id, "000000"),
        Err(FactorError::NotEnrolled)
    ));
}

#[test]
fn the_default_budget_is_fifty_wrong_codes_an_hour() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    recovery::generate(&p, &ada.id).unwrap();
    for n in 0..50 {
        assert!(
            matches!(consume(&p, &ada.id, "wrong"), Err(FactorError::WrongCode)),
            "{n}"
        );
    }
    assert!(matches!(
        consume(&p, &ada.id, "wrong"),
        Err(FactorError::TooManyGuesses { .. })
    ));
}

#[test]
fn recovery_codes_work_once_in_any_case_and_spacing_until_regenerated() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &ada.id)).unwrap(),
        0
    );
    assert!(matches!(
        consume(&p, &ada.id, "x"),
        Err(FactorError::NotEnrolled)
    ));
    let codes = recovery::generate(&p, &ada.id).unwrap();
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(c.len(), 14, "{c}");
        assert_eq!(c.matches('-').count(), 2, "{c}");
        assert!(
            c.chars()
                .all(|ch| ch == '-' || "23456789ABCDEFGHJKMNPQRSTVWXYZ".contains(ch)),
            "{c}"
        );
    }
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);

    let typed = codes[0].to_lowercase().replace('-', " ");
    assert!(consume(&p, &ada.id, &format!(" {typed} ")).is_ok());
    assert!(
        matches!(consume(&p, &ada.id, &codes[0]), Err(FactorError::WrongCode)),
        "single use"
    );
    assert!(consume(&p, &ada.id, &codes[1].replace('-', "")).is_ok());
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &ada.id)).unwrap(),
        8
    );

    let fresh = recovery::generate(&p, &ada.id).unwrap();
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &ada.id)).unwrap(),
        10
    );
    assert!(
        matches!(consume(&p, &ada.id, &codes[2]), Err(FactorError::WrongCode)),
        "old codes end"
    );
    assert!(consume(&p, &ada.id, &fresh[9]).is_ok());
    // Nothing of a code is stored in the clear.
    let stored = p
        .store
        .read(|tx| tx.recovery_codes(&ada.id))
        .unwrap()
        .unwrap();
    let json = serde_json::to_string(&stored).unwrap();
    assert!(fresh.iter().all(|c| !json.contains(&c.replace('-', ""))));

    let log = audited(&p);
    assert_eq!(
        log.iter()
            .filter(|c| *c == "account.recovery_code_use")
            .count(),
        3
    );
    assert_eq!(
        log.iter()
            .filter(|c| *c == "account.recovery_codes")
            .count(),
        2
    );
}

#[test]
fn deleting_a_user_deletes_their_factors_and_a_reset_clears_them() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let e = totp::begin(&p, &ada.id).unwrap();
    totp::confirm(&p, &ada.id, &code(&p, &e.secret_base32, 0)).unwrap();
    assert!(matches!(
        consume(&p, &ada.id, "wrong"),
        Err(FactorError::WrongCode)
    ));
    let key = crate::provider::testing::passkey(&ada.id, "a2V5", p.now());
    p.store.write(|tx| tx.put_passkey(&key)).unwrap();
    let reset = p.store.write(|tx| totp::reset_in(tx, &ada.id)).unwrap();
    assert_eq!(
        reset,
        totp::Reset {
            totp: true,
            recovery_codes: 10,
            passkeys: 1,
        }
    );
    assert!(p
        .store
        .read(|tx| tx.passkeys_of(&ada.id))
        .unwrap()
        .is_empty());
    assert!(!p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
    assert_eq!(
        p.store.read(|tx| recovery::remaining(tx, &ada.id)).unwrap(),
        0
    );
    assert_eq!(p.store.read(|tx| tx.factor_guesses(&ada.id)).unwrap(), None);

    let e = totp::begin(&p, &ada.id).unwrap();
    totp::confirm(&p, &ada.id, &code(&p, &e.secret_base32, 0)).unwrap();
    crate::users::delete(&p.store, &ada.id).unwrap();
    let left = p
        .store
        .read(|tx| Ok((tx.totp(&ada.id)?, tx.recovery_codes(&ada.id)?)))
        .unwrap();
    assert_eq!(left, (None, None));
    assert!(matches!(
        totp::begin(&p, &ada.id),
        Err(FactorError::NoSuchUser)
    ));
}
