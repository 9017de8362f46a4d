//! The directory at 10,000 users: what a user lookup costs on the sign-in path, and what a page
//! of `user list` costs, on a real redb file.
//!
//! Run: `cargo bench --bench directory`. It creates a temporary store (in `TMPDIR`), declares
//! 10,000 users in 20 groups in one transaction (the `[[user]]` reconciliation path), then
//! times, each over many repetitions, in-process (no HTTP):
//! - the sign-in lookup: email key → user ID → user record, as `signin::reserve_code` and
//!   `verify_code` do it (one read transaction);
//! - the same plus the user's group records, as a token response reads them for claims;
//! - `users::get` by username;
//! - `users::list`: the first page of 100, a page in the middle, and a page of one group's
//!   members (a filtered scan).

use sesame::store::{Reads, Store};
use sesame::users::{self, GroupDecl, UserDecl};
use std::time::{Duration, Instant};

const USERS: usize = 10_000;
const GROUPS: usize = 20;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("sesame.redb")).expect("store");
    users::ensure_builtin_groups(&store, 1).expect("admins");
    let groups: Vec<GroupDecl> = (0..GROUPS)
        .map(|g| GroupDecl {
            name: format!("group{g}"),
            description: String::new(),
            claims: Default::default(),
            api_scopes: Default::default(),
            second_factor: Default::default(),
        })
        .collect();
    let decls: Vec<UserDecl> = (0..USERS)
        .map(|i| UserDecl {
            email: format!("user{i}@example.com"),
            name: Some(format!("User {i}")),
            username: Some(format!("user{i}")),
            picture: None,
            groups: vec![
                format!("group{}", i % GROUPS),
                format!("group{}", (i + 7) % GROUPS),
            ],
            claims: Default::default(),
            disabled: false,
        })
        .collect();
    let t = Instant::now();
    users::reconcile(&store, 1, &groups, &decls).expect("reconcile");
    println!(
        "setup: {USERS} users in {GROUPS} groups, one transaction: {:.0} ms",
        ms(t.elapsed())
    );

    let keys: Vec<String> = (0..USERS)
        .map(|i| format!("user{}@example.com", (i * 7919) % USERS))
        .collect();
    report("sign-in lookup (email -> user)", 20_000, |i| {
        let key = &keys[i % USERS];
        let user = store
            .read(|tx| {
                let id = tx.user_id_by_email(key)?.expect("indexed");
                tx.user(&id)
            })
            .expect("read");
        assert!(user.is_some());
    });
    report("lookup + group records (claims)", 20_000, |i| {
        let key = &keys[i % USERS];
        let groups = store
            .read(|tx| {
                let id = tx.user_id_by_email(key)?.expect("indexed");
                let user = tx.user(&id)?.expect("user");
                tx.groups_of(&user)
            })
            .expect("read");
        assert_eq!(groups.len(), 2);
    });
    report("users::get by username", 20_000, |i| {
        let name = format!("user{}", (i * 7919) % USERS);
        assert!(users::get(&store, &name).is_ok());
    });
    let middle = users::list(&store, None, None, None, USERS / 2)
        .expect("list")
        .next
        .expect("a middle cursor");
    report("user list: first page of 100", 200, |_| {
        assert_eq!(
            users::list(&store, None, None, None, 100)
                .unwrap()
                .items
                .len(),
            100
        );
    });
    report("user list: a page of 100 in the middle", 200, |_| {
        let page = users::list(&store, None, None, Some(&middle), 100).unwrap();
        assert_eq!(page.items.len(), 100);
    });
    report(
        "user list --group (100 members, filtered scan)",
        200,
        |_| {
            let page = users::list(&store, Some("group3"), None, None, 100).unwrap();
            assert_eq!(page.items.len(), 100);
        },
    );
    // What every start pays for `[[user]]`/`[[group]]` reconciliation: the same declarations
    // again (nothing changes), then none at all (all released once, then nothing to do).
    report("start-up reconcile, 10,000 declared, unchanged", 5, |_| {
        users::reconcile(&store, 1, &groups, &decls).expect("reconcile");
    });
    let t = Instant::now();
    users::reconcile(&store, 1, &[], &[]).expect("release");
    println!(
        "start-up reconcile releasing 10,000 users: {:.0} ms",
        ms(t.elapsed())
    );
    report("start-up reconcile, nothing declared", 5, |_| {
        users::reconcile(&store, 1, &[], &[]).expect("reconcile");
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `f` `n` times (after a warm-up) and prints the median and p99 of one call.
fn report(what: &str, n: usize, mut f: impl FnMut(usize)) {
    for i in 0..n.min(100) {
        f(i);
    }
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{what:<48} median {:>9.1} µs   p99 {:>9.1} µs   ({n} runs)",
        us(times[n / 2]),
        us(times[n * 99 / 100])
    );
}
