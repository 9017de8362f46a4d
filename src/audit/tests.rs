use super::*;
use crate::store::{Reads, Store, StoreError, Writes};
use serde_json::json;

const T0: u64 = 1_800_000_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
    (dir, store)
}

fn failed(email: &str, reason: SignInFailure) -> AuditEntry {
    AuditEntry::new(Actor::Anonymous, AuditEvent::SignInFailed { reason }).email(email)
}

fn signed_in(user_id: &str, client_id: &str) -> AuditEntry {
    AuditEntry::new(
        Actor::User {
            user_id: user_id.into(),
        },
        AuditEvent::SignInSucceeded { new_user: false },
    )
    .user(user_id)
    .client(client_id)
}

fn all(store: &Store) -> Vec<AuditRecord> {
    let query = AuditQuery {
        limit: Some(MAX_PAGE),
        ..AuditQuery::default()
    };
    store.read(|tx| list(tx, &query)).unwrap().entries
}

fn page(store: &Store, query: AuditQuery) -> AuditPage {
    store.read(|tx| list(tx, &query)).unwrap()
}

#[test]
fn an_entry_commits_with_its_transaction_and_rolls_back_with_it() {
    let (_d, store) = store();
    let user = crate::store::User::new("u1".into(), "ada@example.com".into(), T0);
    // The change fails after the entry was recorded: neither is kept.
    let r: Result<(), StoreError> = store.write(|tx| {
        tx.put_user(&user)?;
        record(tx, T0, signed_in("u1", "c1"))?;
        Err(StoreError::Db("the change failed".into()))
    });
    assert!(r.is_err());
    assert!(all(&store).is_empty());
    assert_eq!(store.read(|tx| tx.user("u1")).unwrap(), None);

    store
        .write(|tx| {
            tx.put_user(&user)?;
            record(tx, T0, signed_in("u1", "c1"))
        })
        .unwrap();
    let kept = all(&store);
    assert_eq!(kept.len(), 1);
    // The rolled-back entry never was: the sequence counter rolled back with it.
    assert_eq!((kept[0].at, kept[0].seq), (T0, 1));
    assert_eq!(kept[0].entry, signed_in("u1", "c1"));
    assert!(store.read(|tx| tx.user("u1")).unwrap().is_some());

    record_now(
        &store,
        T0 + 1,
        failed("ada@example.com", SignInFailure::WrongCode),
    )
    .unwrap();
    assert_eq!(all(&store).len(), 2);
}

#[test]
fn retention_drops_by_age_then_the_oldest_beyond_the_count() {
    let (_d, store) = store();
    store
        .write(|tx| {
            for day in 0..10u64 {
                record(tx, T0 + day * DAY, signed_in("u1", "c1"))?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let config = AuditConfig {
        retention_days: 5,
        max_entries: 100,
    };
    // Day 9 is "now": days 0 to 3 are more than five days old; day 4 is exactly five.
    let now = T0 + 9 * DAY;
    let pruned = store.write(|tx| prune(tx, now, &config)).unwrap();
    assert_eq!(
        pruned,
        Pruned {
            by_age: 4,
            by_count: 0
        }
    );
    let days =
        |store: &Store| -> Vec<u64> { all(store).iter().map(|r| (r.at - T0) / DAY).collect() };
    assert_eq!(days(&store), [9, 8, 7, 6, 5, 4]);

    let config = AuditConfig {
        retention_days: 5,
        max_entries: 2,
    };
    let pruned = store.write(|tx| prune(tx, now, &config)).unwrap();
    assert_eq!(
        pruned,
        Pruned {
            by_age: 0,
            by_count: 4
        }
    );
    assert_eq!(days(&store), [9, 8], "the oldest go first");
    assert_eq!(store.read(|tx| tx.audit_len()).unwrap(), 2);
    // At the bounds, nothing more goes.
    let pruned = store.write(|tx| prune(tx, now, &config)).unwrap();
    assert_eq!(pruned, Pruned::default());
}

#[test]
fn filters_combine_and_pages_follow_each_other() {
    let (_d, store) = store();
    store
        .write(|tx| {
            tx.put_user_email("ada@example.com", "u1")?;
            record(tx, T0, failed("Ada@Example.com", SignInFailure::WrongCode))?;
            record(tx, T0 + 1, signed_in("u1", "c1"))?;
            record(tx, T0 + 2, signed_in("u2", "c1"))?;
            record(tx, T0 + 3, signed_in("u1", "c2"))?;
            let changes = Changes::of(json!({"name": "Books"}));
            record(
                tx,
                T0 + 4,
                AuditEntry::admin_change(Actor::Cli, "app.update", changes).client("c1"),
            )?;
            record(
                tx,
                T0 + 5,
                AuditEntry::admin_change(Actor::Cli, "keys.rotate", Changes::of(json!({}))),
            )
        })
        .unwrap();
    let seqs = |p: &AuditPage| p.entries.iter().map(|r| r.seq).collect::<Vec<_>>();
    // Queries as the control socket receives them.
    let query = |q: serde_json::Value| page(&store, serde_json::from_value(q).unwrap());
    let found = |q: serde_json::Value| seqs(&query(q));

    assert_eq!(found(json!({})), [6, 5, 4, 3, 2, 1]);
    assert_eq!(found(json!({"app": "c1"})), [5, 3, 2]);
    assert_eq!(found(json!({"user": "u1"})), [4, 2]);
    // By address: the attempts by that address (any case) and what its user did.
    assert_eq!(found(json!({"user": "ADA@example.com"})), [4, 2, 1]);
    assert_eq!(found(json!({"user": "u1", "app": "c1"})), [2]);
    assert_eq!(found(json!({"kind": "admin_change"})), [6, 5]);
    assert_eq!(found(json!({"kind": "app.update"})), [5]);
    assert_eq!(found(json!({"kind": "sign_in_failed"})), [1]);
    assert_eq!(
        found(json!({"kind": "sign_in_failed", "app": "c1"})),
        [] as [u64; 0]
    );
    assert_eq!(found(json!({"since": T0 + 4})), [6, 5]);
    // A time range: `until` is its end, not included.
    assert_eq!(found(json!({"until": T0 + 2})), [2, 1]);
    assert_eq!(found(json!({"since": T0 + 1, "until": T0 + 4})), [4, 3, 2]);
    assert_eq!(found(json!({"until": T0 + 4, "app": "c1"})), [3, 2]);
    // With a page's cursor, the earlier of the two ends holds.
    let at = |seq: u64| format!("{}-{seq}", T0 + seq - 1);
    assert_eq!(found(json!({"until": T0 + 4, "before": at(3)})), [2, 1]);
    assert_eq!(found(json!({"until": T0 + 2, "before": at(5)})), [2, 1]);
    let p = query(json!({"since": T0 + 1, "until": T0 + 5, "limit": 2}));
    assert_eq!(seqs(&p), [5, 4]);
    let p = query(json!({"since": T0 + 1, "until": T0 + 5, "limit": 2, "before": p.next}));
    assert_eq!((seqs(&p), p.next.is_some()), (vec![3, 2], false));

    // Pages of two, each starting where the last ended; the last has no `next`.
    let mut q = AuditQuery {
        limit: Some(2),
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let p = page(&store, q.clone());
        pages.push(seqs(&p));
        match p.next {
            Some(next) => q.before = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, [vec![6, 5], vec![4, 3], vec![2, 1]]);
    // A filtered page knows whether another match follows; `next` is a string cursor.
    let p = query(json!({"user": "u1", "limit": 1}));
    assert_eq!(seqs(&p), [4]);
    let next = serde_json::to_value(p.next).unwrap();
    assert_eq!(next, json!(format!("{}-4", T0 + 3)));
    let p = query(json!({"user": "u1", "before": next}));
    assert_eq!((seqs(&p), p.next), (vec![2], None));
}

#[test]
fn changes_never_hold_a_secret() {
    let created =
        Changes::of(json!({"client_id": "c1", "client_secret": "s3cret", "name": "Books"}));
    assert_eq!(
        created.as_json(),
        &json!({"client_id": "c1", "client_secret": crate::secret::MASK, "name": "Books"})
    );
    let before =
        json!({"name": "Books", "redirect_uris": ["https://a/cb"], "secret_hash": "h1", "gone": 1});
    let after = json!({"name": "Books", "redirect_uris": ["https://b/cb"], "secret_hash": "h2", "new": true});
    assert_eq!(
        Changes::between(&before, &after).as_json(),
        &json!({
            "redirect_uris": {"from": ["https://a/cb"], "to": ["https://b/cb"]},
            "secret_hash": crate::secret::MASK,
            "gone": {"from": 1, "to": null},
            "new": {"from": null, "to": true},
        })
    );
    // Read back from JSON, a change is masked again: no way around the mask.
    let read: Changes = serde_json::from_value(json!({"api_key": "sk_live"})).unwrap();
    assert_eq!(read.as_json(), &json!({"api_key": crate::secret::MASK}));
}

#[test]
fn a_record_reads_as_flat_json_and_back() {
    let record = AuditRecord {
        at: T0,
        seq: 7,
        entry: AuditEntry::new(
            Actor::ApiKey {
                id: "k1".into(),
                name: "deploy".into(),
            },
            AuditEvent::CodeSend {
                mail: MailOutcome::Failed {
                    reason: "connection refused".into(),
                },
            },
        )
        .email("ada@example.com")
        .client("c1"),
    };
    let v = serde_json::to_value(&record).unwrap();
    assert_eq!(
        v,
        json!({
            "at": T0, "seq": 7,
            "actor": {"type": "api_key", "id": "k1", "name": "deploy"},
            "client_id": "c1", "email": "ada@example.com",
            "kind": "code_send", "mail": {"outcome": "failed", "reason": "connection refused"},
        })
    );
    assert_eq!(serde_json::from_value::<AuditRecord>(v).unwrap(), record);
}

#[test]
fn kind_names_are_the_serialised_tags() {
    let events = [
        AuditEvent::SignInSucceeded { new_user: true },
        AuditEvent::SignInFailed {
            reason: SignInFailure::TooManyTries,
        },
        AuditEvent::CodeSend {
            mail: MailOutcome::Sent,
        },
        AuditEvent::RefreshTokenReused {
            grant_id: "g".into(),
        },
        AuditEvent::AuthorizationCodeReused {
            grant_id: "g".into(),
        },
        AuditEvent::AdminChange {
            command: "app.create".into(),
            changes: Changes::of(json!({})),
        },
        AuditEvent::BackchannelLogout {
            sid: "s".into(),
            outcome: crate::audit::LogoutDelivery::Refused {
                status: 400,
                attempts: 1,
            },
        },
        AuditEvent::DeviceDecision { approved: true },
    ];
    assert_eq!(events.len(), AuditKind::ALL.len());
    for (event, kind) in events.iter().zip(AuditKind::ALL) {
        assert_eq!(event.kind(), kind);
        assert_eq!(serde_json::to_value(event).unwrap()["kind"], kind.as_str());
        assert_eq!(kind.as_str().parse(), Ok(KindFilter::Kind(kind)));
    }
    for reason in [
        SignInFailure::WrongCode,
        SignInFailure::TooManyTries,
        SignInFailure::CodeExpired,
        SignInFailure::NotAllowed,
        SignInFailure::Disabled,
        SignInFailure::TooManyAddresses,
        SignInFailure::MailboxBudget,
        SignInFailure::ClientMailBudget,
        SignInFailure::GlobalMailBudget,
        SignInFailure::WrongSecondFactor,
        SignInFailure::SecondFactorBudget,
    ] {
        assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
    }
    assert!("sign_in".parse::<KindFilter>().is_err());
    assert!("App.Create".parse::<KindFilter>().is_err());
}

#[test]
fn since_takes_durations_dates_and_timestamps() {
    let now = T0;
    assert_eq!(parse_since("90s", now), Ok(now - 90));
    assert_eq!(parse_since("30m", now), Ok(now - 1800));
    assert_eq!(parse_since("24h", now), Ok(now - DAY));
    assert_eq!(parse_since(" 7d ", now), Ok(now - 7 * DAY));
    assert_eq!(parse_since("2w", now), Ok(now - 14 * DAY));
    assert_eq!(parse_since("2026-11-01", now), Ok(1_793_491_200));
    assert_eq!(parse_since("1793437503", now), Ok(1_793_437_503));
    for bad in ["", "d", "7 d", "-7d", "7y", "yesterday", "2026-11-31"] {
        assert!(parse_since(bad, now).is_err(), "{bad:?}");
    }
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_entry_is_a_log_line_refusals_at_warn() {
    let (_d, store) = store();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let record_both = || {
            record_now(
                &store,
                T0,
                failed("ada@example.com", SignInFailure::TooManyTries),
            )
            .unwrap();
            let created = Changes::of(json!({"name": "Books", "client_secret": "s3cret"}));
            let entry = AuditEntry::admin_change(Actor::Cli, "app.create", created).client("c1");
            record_now(&store, T0, entry).unwrap();
        };
        // tracing caches per call site, for the whole process, whether anyone listens. With a
        // single scoped subscriber, a call site that another test's thread (which has none)
        // reaches first is cached as unheard, even here. So reach both call sites, ask tracing
        // to decide again now that every one is known, and only then record what is checked.
        record_both();
        tracing::callsite::rebuild_interest_cache();
        captured.0.lock().unwrap().clear();
        record_both();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("WARN audit: too_many_tries")
            && lines[0].contains(r#"kind="sign_in_failed""#)
            && lines[0].contains("actor=anonymous")
            && lines[0].contains(r#"email="ada@example.com""#),
        "{log}"
    );
    assert!(
        lines[1].contains("INFO audit: app.create {")
            && lines[1].contains(r#"client="c1""#)
            && lines[1].contains("actor=cli"),
        "{log}"
    );
    assert!(!log.contains("s3cret"), "{log}");
}
