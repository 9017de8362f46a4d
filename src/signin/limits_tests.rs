//! The mail budgets and the cap on pending sign-ins, in-process with a fixed clock: each limit
//! at its boundary, its audit entry, and time giving the budget back.

use super::*;
use crate::audit::{list, AuditQuery};
use crate::limits::{Limits, LimitsConfig};
use crate::provider::testing::*;
use crate::store::Reads;

const BROWSER: &str = "browser-cookie-value-of-at-least-32-chars";

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// An open sign-up provider with these limits.
fn limited(config: LimitsConfig) -> (tempfile::TempDir, Provider) {
    let (d, p) = provider();
    let open = crate::users::SignUpConfig {
        mode: crate::users::SignUpMode::Open,
        allowed_domains: vec![],
    };
    (
        d,
        p.with_sign_up(open)
            .with_limits(Limits::new(config).unwrap()),
    )
}

fn started(p: &Provider) -> String {
    start(
        p,
        SignInFor::App(request(CLIENT, "openid email", None)),
        BROWSER,
    )
    .unwrap()
}

/// Reserves and records a code to `to`, from `client`.
fn send(p: &Provider, id: &str, to: &str, client: Option<IpAddr>) -> Result<(), SignInError> {
    let e = email(to);
    let r = reserve_code(p, id, &e, client)?;
    record_code(p, id, &e, "123456", r)
}

/// The reasons of the audit log's failed sign-ins, oldest first.
fn refusals(p: &Provider) -> Vec<String> {
    let page = p.store.read(|tx| list(tx, &AuditQuery::default())).unwrap();
    let mut out: Vec<String> = page
        .entries
        .iter()
        .filter_map(|r| match &r.entry.event {
            AuditEvent::SignInFailed { reason } => Some(reason.as_str().to_string()),
            _ => None,
        })
        .collect();
    out.reverse();
    out
}

#[test]
fn one_sign_in_mails_at_most_a_few_distinct_mailboxes() {
    let (_d, p) = limited(LimitsConfig::default());
    let id = started(&p);
    for to in ["a@example.com", "b@example.com", "c@example.com"] {
        send(&p, &id, to, ip("192.0.2.1")).unwrap();
    }
    // A fourth mailbox is refused, however it is spelled; the three already used still work.
    for to in ["d@example.com", "d+x@example.com"] {
        match send(&p, &id, to, ip("192.0.2.1")) {
            Err(SignInError::TooManyAddresses { allowed: 3 }) => {}
            other => panic!("{other:?}"),
        }
    }
    p.clock.advance(60);
    send(&p, &id, "A+again@example.com", ip("192.0.2.1")).unwrap();
    assert_eq!(refusals(&p), ["too_many_addresses", "too_many_addresses"]);
    let hits: std::collections::HashMap<_, _> = p.limits.hits().into_iter().collect();
    assert_eq!(hits["mail_addresses"], 2);
}

#[test]
fn plus_tags_and_case_count_against_one_mailbox_across_sign_ins() {
    let (_d, p) = limited(LimitsConfig::default());
    let budget = p.tokens.sign_in_codes_per_hour;
    for n in 0..budget {
        let id = started(&p);
        send(&p, &id, &format!("Victim+{n}@Example.com"), ip("192.0.2.1")).unwrap();
    }
    let id = started(&p);
    match send(&p, &id, "victim+other@example.com", ip("192.0.2.2")) {
        Err(SignInError::TooManyCodes { wait: 3600 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(refusals(&p), ["mailbox_budget"]);
    // Another mailbox is not affected; the hour gives the budget back.
    send(&p, &id, "victim2@example.com", ip("192.0.2.2")).unwrap();
    p.clock.advance(3600);
    let id = started(&p);
    send(&p, &id, "victim+later@example.com", ip("192.0.2.2")).unwrap();
}

#[test]
fn one_client_gets_its_hourly_mail_and_no_more() {
    let (_d, p) = limited(LimitsConfig {
        mail_per_client_per_hour: 2,
        ..Default::default()
    });
    for to in ["a@example.com", "b@example.com"] {
        let id = started(&p);
        send(&p, &id, to, ip("2001:db8:1:2::1")).unwrap();
    }
    // The same /64 is the same client.
    let id = started(&p);
    match send(&p, &id, "c@example.com", ip("2001:db8:1:2::99")) {
        Err(SignInError::ClientMailBudget { wait: 1800 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(refusals(&p), ["client_mail_budget"]);
    // Another client is not held back; half an hour gives one code back.
    send(&p, &id, "c@example.com", ip("2001:db8:1:3::1")).unwrap();
    p.clock.advance(1800);
    let id = started(&p);
    send(&p, &id, "d@example.com", ip("2001:db8:1:2::1")).unwrap();
}

#[test]
fn the_global_budget_holds_everyone_back_for_the_rest_of_the_minute() {
    let (_d, p) = limited(LimitsConfig {
        mail_per_minute: 3,
        ..Default::default()
    });
    for n in 0..3 {
        let id = started(&p);
        send(
            &p,
            &id,
            &format!("u{n}@example.com"),
            ip(&format!("192.0.2.{n}")),
        )
        .unwrap();
    }
    let id = started(&p);
    match send(&p, &id, "late@example.com", ip("198.51.100.1")) {
        Err(SignInError::GlobalMailBudget { wait: 20 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(refusals(&p), ["global_mail_budget"]);
    p.clock.advance(20);
    send(&p, &id, "late@example.com", ip("198.51.100.1")).unwrap();
}

#[test]
fn at_the_total_cap_the_oldest_unmailed_sign_ins_go_and_mailed_ones_stay() {
    let (_d, p) = limited(LimitsConfig {
        pending_sign_ins: 10,
        ..Default::default()
    });
    // The oldest sign-in has mailed its code: it must survive the flood.
    let honest = started(&p);
    send(&p, &honest, "ada@example.com", ip("192.0.2.1")).unwrap();
    let mut flood = Vec::new();
    for _ in 0..30 {
        p.clock.advance(1);
        flood.push(started(&p));
    }
    let pending = p
        .store
        .read(|tx| Ok(tx.scan(&crate::store::INTERACTIONS)?.len()))
        .unwrap();
    assert!(pending <= 10, "{pending} pending");
    let live = |id: &str| p.store.read(|tx| tx.interaction(id)).unwrap().is_some();
    assert!(live(&honest), "the sign-in waiting for its code stays");
    assert!(live(flood.last().unwrap()), "the newest stays");
    assert!(!live(&flood[0]), "the oldest unmailed went");
    let hits: std::collections::HashMap<_, _> = p.limits.hits().into_iter().collect();
    assert_eq!(hits["pending_sign_ins_total"], 21);
}

#[test]
fn the_pending_window_is_an_interactions_lifetime() {
    assert_eq!(crate::limits::PENDING_WINDOW, INTERACTION_TTL);
}
