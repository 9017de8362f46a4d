//! Retries of a refresh (drawn in [`super::grant`]), in-process with the fixed clock: a
//! rotated token presented again inside the window while its successor is unused rotates
//! again and keeps the family; anything else is reuse.

use super::error::ErrorCode;
use super::tests::{app, first_tokens, refresh, s, userinfo_of};
use crate::provider::testing::*;
use crate::provider::Provider;
use crate::store::Reads;

/// Whether the refresh token `rt` is stored unspent (the one live token of its family).
fn live(p: &Provider, rt: &str) -> bool {
    let key = crate::crypto::hash_token(rt);
    p.store
        .read(|tx| tx.refresh_token(&key))
        .unwrap()
        .is_some_and(|t| !t.spent)
}

fn set_retry_window(p: &Provider, client_id: &str, window: Option<u64>) {
    let mut a = app(p, client_id);
    a.refresh_retry_window = window;
    p.store
        .write(|tx| tx.put(&crate::store::APPS, client_id, &a))
        .unwrap();
}

#[test]
fn a_refresh_retried_within_the_window_rotates_again_and_keeps_the_family() {
    let (_d, p) = provider();
    let window = p.tokens.refresh_retry_window;
    assert_eq!(window, 60, "the default");
    let (_, rt1) = first_tokens(&p);
    // The client never sees this response (a crash, a dropped connection).
    let lost = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    p.clock.advance(window - 1);
    let retried = refresh(&p, &rt1).expect("a retry one second before the window ends");
    let (at3, rt3) = (s(&retried, "access_token"), s(&retried, "refresh_token"));
    assert_ne!(rt3, lost);
    assert!(
        live(&p, &rt3) && !live(&p, &lost),
        "the unused successor is superseded"
    );
    assert!(userinfo_of(&p, &at3).is_ok());
    let rt4 = s(&refresh(&p, &rt3).unwrap(), "refresh_token");
    assert!(refresh(&p, &rt4).is_ok(), "the family lives on");
    let reused = p
        .store
        .read(|tx| crate::audit::list(tx, &Default::default()))
        .unwrap()
        .entries
        .iter()
        .any(|e| e.entry.event.outcome() == "grant_revoked");
    assert!(!reused, "a retry is not reuse");

    // The superseded successor never refreshes: presenting it is reuse, and ends the family.
    assert_eq!(refresh(&p, &lost).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(userinfo_of(&p, &at3).unwrap_err(), ErrorCode::InvalidToken);
}

#[test]
fn the_retry_window_ends_at_its_boundary_and_retries_do_not_extend_it() {
    let (_d, p) = provider();
    let window = p.tokens.refresh_retry_window;
    let (_, rt1) = first_tokens(&p);
    refresh(&p, &rt1).unwrap();
    p.clock.advance(window / 2);
    let rt3 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    // The window counts from the first rotation, not from the retry.
    p.clock.advance(window - window / 2);
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(
        refresh(&p, &rt3).unwrap_err(),
        ErrorCode::InvalidGrant,
        "reuse at the boundary revoked the family"
    );
}

#[test]
fn a_retry_after_the_successor_was_used_is_theft() {
    let (_d, p) = provider();
    let (_, rt1) = first_tokens(&p);
    let rt2 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    let third = refresh(&p, &rt2).unwrap();
    // Within the window, but whoever holds rt2 has used it: rt1 is in two hands.
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(
        refresh(&p, &s(&third, "refresh_token")).unwrap_err(),
        ErrorCode::InvalidGrant
    );
    assert_eq!(
        userinfo_of(&p, &s(&third, "access_token")).unwrap_err(),
        ErrorCode::InvalidToken
    );
}

#[test]
fn a_window_of_zero_makes_every_reuse_theft_and_an_app_may_set_its_own() {
    let (_d, mut p) = provider();
    p.tokens.refresh_retry_window = 0;
    let (_, rt1) = first_tokens(&p);
    let rt2 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(refresh(&p, &rt2).unwrap_err(), ErrorCode::InvalidGrant);

    // The app's own window overrides [tokens]: 5 s here.
    set_retry_window(&p, CLIENT, Some(5));
    let (_, rt1) = first_tokens(&p);
    refresh(&p, &rt1).unwrap();
    p.clock.advance(4);
    let rt3 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    p.clock.advance(1);
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(refresh(&p, &rt3).unwrap_err(), ErrorCode::InvalidGrant);

    // And 0 on the app turns retries off whatever [tokens] says.
    p.tokens.refresh_retry_window = 60;
    set_retry_window(&p, CLIENT, Some(0));
    let (_, rt1) = first_tokens(&p);
    let rt2 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(refresh(&p, &rt2).unwrap_err(), ErrorCode::InvalidGrant);
}

#[test]
fn tabs_refreshing_at_once_all_succeed_and_leave_one_live_token() {
    let (_d, p) = provider();
    let (_, rt1) = first_tokens(&p);
    let tabs = 8;
    let barrier = std::sync::Barrier::new(tabs);
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..tabs)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    s(
                        &refresh(&p, &rt1).expect("every tab's refresh"),
                        "refresh_token",
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: std::collections::HashSet<&String> = answers.iter().collect();
    assert_eq!(distinct.len(), tabs, "each tab got its own token");
    let live_ones: Vec<&String> = answers.iter().filter(|rt| live(&p, rt)).collect();
    assert_eq!(
        live_ones.len(),
        1,
        "the last rotation's token alone is live"
    );
    assert!(refresh(&p, live_ones[0]).is_ok());
}

#[test]
fn a_spent_token_stored_before_retries_existed_is_theft() {
    let (_d, p) = provider();
    let (_, rt1) = first_tokens(&p);
    let rt2 = s(&refresh(&p, &rt1).unwrap(), "refresh_token");
    // As older versions left it: spent, with no rotation time or successor.
    let key = crate::crypto::hash_token(&rt1);
    p.store
        .write(|tx| {
            let mut old = tx.refresh_token(&key)?.unwrap();
            old.rotated_at = None;
            old.successor = None;
            crate::store::Writes::put_refresh_token(tx, &key, &old)
        })
        .unwrap();
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(refresh(&p, &rt2).unwrap_err(), ErrorCode::InvalidGrant);
}
