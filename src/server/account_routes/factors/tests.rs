//! The fresh-sign-in gate of the account page's two-step verification, through
//! [`crate::server::route`] on the test provider's fixed clock (ten minutes later without
//! waiting): a session older than [`FRESH_FOR`] (a stolen cookie, say) can neither see a secret
//! being set up, nor confirm, remove or regenerate anything; it is sent to the sign-in.

use super::FRESH_FOR;
use crate::crypto::totp::{base32_decode, code_at, step_of, DIGITS};
use crate::factors::{recovery, totp};
use crate::server::console::fresh::tests::{input, signed_in_admin};
use crate::store::Reads;
use hyper::StatusCode;

/// The text of `<code id="ID">` on a page.
fn code_text(html: &str, id: &str) -> String {
    let start = format!("<code id=\"{id}\">");
    let at = html
        .find(&start)
        .unwrap_or_else(|| panic!("no {id} in {html}"))
        + start.len();
    html[at..at + html[at..].find("</code>").unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_need_a_sign_in_within_ten_minutes() {
    let (_d, s, mut jar) = signed_in_admin();
    let p = &s.provider;
    let ada = p
        .store
        .read(|tx| tx.user_id_by_email("ada@example.com"))
        .unwrap()
        .unwrap();
    let (status, _, page) = jar.get(&s, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Two-step verification") && !page.contains("you will be asked"));
    let csrf = input(&page, "csrf");

    // Fresh: set up and confirm an app.
    let (status, to, _) = jar
        .post(&s, "/account/totp/begin", &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/account/totp")
    );
    let (status, _, setup) = jar.get(&s, "/account/totp").await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = base32_decode(&code_text(&setup, "totp-secret")).unwrap();
    let code = code_at(&secret, step_of(p.now()), DIGITS);
    let (_, to, _) = jar
        .post(
            &s,
            "/account/totp/confirm",
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(to, "/account/recovery-codes");
    let (_, _, codes) = jar.get(&s, "/account/recovery-codes").await;
    let first = code_text(&codes, "recovery-code-1");
    let (_, to, _) = jar.get(&s, "/account/recovery-codes").await;
    assert_eq!(to, "/account?error=codes_shown", "shown once");
    let (_, to, _) = jar
        .post(&s, "/account/totp/begin", &[("csrf", &csrf)])
        .await;
    assert!(
        to.ends_with("/account/totp"),
        "a replacement is being set up"
    );

    // Ten minutes after the sign-in: the session still works, but changes it cannot make.
    p.clock.advance(FRESH_FOR);
    let (status, _, page) = jar.get(&s, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("you will be asked for an emailed code first"),
        "{page}"
    );
    let (status, to, _) = jar.get(&s, "/account/totp").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        to.contains("/sign-in?interaction="),
        "the pending key is not shown: {to}"
    );
    for path in [
        "/account/totp/remove",
        "/account/recovery-codes",
        "/account/totp/begin",
    ] {
        let (status, to, _) = jar.post(&s, path, &[("csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(to.contains("/sign-in?interaction="), "{path}: {to}");
    }
    let (status, _, _) = jar.post(&s, "/account/totp/remove", &[("csrf", "x")]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the CSRF token is checked first"
    );
    let later = code_at(&secret, step_of(p.now()), DIGITS);
    let (_, to, _) = jar
        .post(
            &s,
            "/account/totp/confirm",
            &[("csrf", &csrf), ("code", &later)],
        )
        .await;
    assert!(to.contains("/sign-in?interaction="), "{to}");
    let (enrolled, pending, remaining) = p
        .store
        .read(|tx| {
            Ok((
                totp::enrolled(tx, &ada)?,
                totp::pending(tx, &ada)?,
                recovery::remaining(tx, &ada)?,
            ))
        })
        .unwrap();
    assert_eq!(
        (enrolled, pending, remaining),
        (true, true, 10),
        "nothing changed"
    );
    // The old codes still work: none were regenerated.
    let now = p.now();
    let used = p
        .store
        .write(|tx| Ok::<_, crate::store::StoreError>(recovery::consume(p, tx, &ada, &first, now)))
        .unwrap();
    assert!(used.is_ok(), "{used:?}");
}
