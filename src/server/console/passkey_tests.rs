//! A user's passkeys on their console page, through [`crate::server::route`] in-process on the
//! fixed clock: listed (never a public key) with a Remove form each (plain HTML forms, CSRF),
//! removed only after a recent sign-in like a reset, audited as the administrator's; an
//! unknown credential is a page naming it; a reset removes the rest.

use super::fresh::tests::{input, signed_in_admin};
use super::fresh::FRESH_FOR;
use crate::audit::{AuditQuery, KindFilter};
use crate::http::cookie::SESSION_COOKIE;
use crate::provider::testing::passkey;
use crate::store::{Reads, Writes};
use hyper::StatusCode;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_removes_a_users_passkey_after_a_fresh_sign_in() {
    let (_d, s, mut jar) = signed_in_admin();
    let p = &s.provider;
    let id_of = |email: &str| {
        p.store
            .read(|tx| tx.user_id_by_email(email))
            .unwrap()
            .unwrap()
    };
    let (bob, ada) = (id_of(BOB), id_of(ADA));
    let mut laptop = passkey(&bob, "bGFwdG9w", p.now() - 100);
    laptop.name = "Laptop".into();
    laptop.last_used_at = Some(p.now() - 50);
    let mut phone = passkey(&bob, "cGhvbmU", p.now());
    phone.name = "Phone".into();
    p.store
        .write(|tx| {
            tx.put_passkey(&laptop)?;
            tx.put_passkey(&phone)
        })
        .unwrap();
    let left = || -> Vec<String> {
        let keys = p.store.read(|tx| tx.passkeys_of(&bob)).unwrap();
        keys.into_iter().map(|k| k.credential_id).collect()
    };

    let page_path = format!("/console/users/show?id={bob}");
    let (status, _, page) = jar.get(&s, &page_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<strong>Phone</strong> · ES256 · synced"),
        "{page}"
    );
    assert!(page.contains("never used"), "{page}");
    assert!(page.contains("last used 2027-01-15"), "{page}");
    assert!(!page.contains(&laptop.public_key), "never the key");
    let phone_form = page
        .find("value=\"cGhvbmU\"")
        .expect("a Remove form for the phone");
    assert!(page[..phone_form].contains("/console/users/remove-passkey"));
    let csrf = input(&page, "csrf");
    let form = |credential: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("id", bob.clone()),
            ("credential_id", credential.to_string()),
        ]
    };
    // A wrong CSRF token changes nothing.
    let mut forged = form("cGhvbmU");
    forged[0].1 = "forged".into();
    let (status, _, _) = jar
        .post(&s, "/console/users/remove-passkey", &fields(&forged))
        .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    assert_eq!(left().len(), 2);

    // Eleven minutes on: a re-authentication first, and nothing changes.
    p.clock.advance(FRESH_FOR + 60);
    let (status, location, _) = jar
        .post(
            &s,
            "/console/users/remove-passkey",
            &fields(&form("cGhvbmU")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.contains("/console/confirm?interaction="),
        "{location}"
    );
    assert_eq!(left().len(), 2);

    // Fresh again (a new session signed in now): the phone's passkey goes.
    let (now, ttl) = (p.now(), p.tokens.session_ttl);
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &ada, now, ttl))
        .unwrap();
    jar.0.insert(s.cookies.name(SESSION_COOKIE), cookie);
    let (_, _, page) = jar.get(&s, &page_path).await;
    let csrf = input(&page, "csrf");
    let form = |credential: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("id", bob.clone()),
            ("credential_id", credential.to_string()),
        ]
    };
    let (status, location, _) = jar
        .post(
            &s,
            "/console/users/remove-passkey",
            &fields(&form("cGhvbmU")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("&notice=passkey_removed"), "{location}");
    assert_eq!(left(), ["bGFwdG9w"]);
    let (_, _, page) = jar.get(&s, &location).await;
    assert!(page.contains("The passkey is removed"), "{page}");
    assert!(!page.contains("<strong>Phone</strong>"), "{page}");

    let query = AuditQuery {
        kind: Some(KindFilter::Command("user.remove-passkey".into())),
        ..Default::default()
    };
    let audit = p.store.read(|tx| crate::audit::list(tx, &query)).unwrap();
    let entry = serde_json::to_value(&audit.entries).unwrap();
    assert_eq!(audit.entries.len(), 1, "{entry}");
    assert_eq!(entry[0]["actor"]["user_id"], ada.as_str(), "{entry}");
    assert!(entry.to_string().contains("cGhvbmU"), "{entry}");

    // Removed already (another tab): a page naming it; nothing else changes.
    let (status, _, page) = jar
        .post(
            &s,
            "/console/users/remove-passkey",
            &fields(&form("cGhvbmU")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("cGhvbmU"), "{page}");
    assert_eq!(left(), ["bGFwdG9w"]);

    // A reset removes the rest.
    let reset = [("csrf", csrf.as_str()), ("id", bob.as_str())];
    let (status, _, _) = jar.post(&s, "/console/users/reset-factors", &reset).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(left().is_empty());
    let (_, _, page) = jar.get(&s, &page_path).await;
    assert!(page.contains("No passkeys."), "{page}");
}

/// A form's fields as `Jar::post` takes them.
fn fields<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
