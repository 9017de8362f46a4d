//! What recording one audit entry adds to a write transaction, on a real redb file.
//!
//! Run: `cargo bench --bench audit` (about 20 seconds; put `TMPDIR` on the disk you care about,
//! since a durable commit is an fsync). It prints three numbers:
//!
//! 1. **durable**: the wall time of one `Store::write` storing a grant (the smallest write a
//!    sign-in makes) and waiting for its fsync, without and with an audit entry recorded in the
//!    same transaction. The two kinds alternate in rounds, so a disk that speeds up or slows
//!    down affects both alike; each is the median over the rounds.
//! 2. **in a transaction**: the CPU and B-tree cost of `audit::record` alone, from one large
//!    transaction of grants without and with an entry each (no fsync in the difference).
//! 3. **log line**: what formatting the entry's log line costs when a subscriber prints it
//!    (written to a sink here; the server writes it to stderr).

use sesame::audit::{self, Actor, AuditEntry, AuditEvent};
use sesame::store::{Grant, Store, Writes};
use std::time::{Duration, Instant};

/// Transactions per round and rounds, for the durable measurement.
const PER_ROUND: u32 = 100;
const ROUNDS: usize = 10;
/// Writes in the one large transaction.
const BULK: u32 = 20_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("open store");
    println!("audit bench: data in {}", dir.path().display());

    let (without, with) = durable(&store);
    println!(
        "durable write (grant, one fsync each), median of {ROUNDS} rounds of {PER_ROUND}:\n  \
         without audit {:>9.1} µs/tx\n  with audit    {:>9.1} µs/tx\n  difference    {:>+9.1} µs/tx ({:+.1} %)",
        micros(without),
        micros(with),
        micros(with) - micros(without),
        (micros(with) / micros(without) - 1.0) * 100.0
    );

    let (without, with) = in_transaction(&store);
    println!(
        "in one transaction of {BULK} grants (no fsync in the difference):\n  \
         grant only        {:>7.2} µs/write\n  grant + audit     {:>7.2} µs/write\n  \
         one audit entry   {:>7.2} µs",
        micros(without) / f64::from(BULK),
        micros(with) / f64::from(BULK),
        (micros(with) - micros(without)) / f64::from(BULK)
    );

    let line = log_line(&store);
    println!(
        "log line, formatted by a subscriber (to a sink): {:.2} µs/entry",
        micros(line) / f64::from(BULK)
    );
}

/// Median time per durable transaction without, then with, an audit entry.
fn durable(store: &Store) -> (Duration, Duration) {
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut n = 0u64;
    for _ in 0..ROUNDS {
        for (audited, times) in [(false, &mut without), (true, &mut with)] {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                n += 1;
                store
                    .write(|tx| write(tx, n, audited))
                    .expect("durable write");
            }
            times.push(start.elapsed() / PER_ROUND);
        }
    }
    (median(without), median(with))
}

/// Time for one transaction of [`BULK`] writes without, then with, an audit entry each.
fn in_transaction(store: &Store) -> (Duration, Duration) {
    let mut times = [Duration::ZERO; 2];
    // Twice over, keeping the second: the first grows the file.
    for _ in 0..2 {
        for (i, audited) in [false, true].into_iter().enumerate() {
            let base = 1_000_000 * (i as u64 + 1);
            let start = Instant::now();
            store
                .write(|tx| {
                    for n in 0..u64::from(BULK) {
                        write(tx, base + n, audited)?;
                    }
                    Ok::<_, sesame::store::StoreError>(())
                })
                .expect("bulk write");
            times[i] = start.elapsed();
        }
    }
    (times[0], times[1])
}

/// The extra time of recording [`BULK`] entries with a formatting subscriber installed.
fn log_line(store: &Store) -> Duration {
    let quiet = {
        let start = Instant::now();
        store
            .write(|tx| {
                for n in 0..u64::from(BULK) {
                    audit::record(tx, n, entry(n))?;
                }
                Ok::<_, sesame::store::StoreError>(())
            })
            .expect("write");
        start.elapsed()
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_ansi(false)
        .finish();
    let logged = tracing::subscriber::with_default(subscriber, || {
        let start = Instant::now();
        store
            .write(|tx| {
                for n in 0..u64::from(BULK) {
                    audit::record(tx, n, entry(n))?;
                }
                Ok::<_, sesame::store::StoreError>(())
            })
            .expect("write");
        start.elapsed()
    });
    logged.saturating_sub(quiet)
}

/// A grant (what a sign-in stores), and with `audited` its audit entry, inside `tx`.
fn write(
    tx: &sesame::store::WriteTx,
    n: u64,
    audited: bool,
) -> Result<(), sesame::store::StoreError> {
    let grant = Grant {
        client_id: "bookstore-7Xc2Kq0bNn4".into(),
        user_id: "VfNlq7ZJrxp5wKqk1Gd3Ag".into(),
        scope: vec!["openid".into(), "profile".into(), "email".into()],
        auth_time: 1_800_000_000,
        revoked: false,
        expires_at: 1_800_000_000 + n,
        resource: None,
        sid: None,
        amr: Vec::new(),
    };
    tx.put_grant(&format!("grant-{n:012}"), &grant)?;
    if audited {
        audit::record(tx, 1_800_000_000 + n, entry(n))?;
    }
    Ok(())
}

/// A typical entry: a successful sign-in, with its user, app and address.
fn entry(n: u64) -> AuditEntry {
    let user_id = "VfNlq7ZJrxp5wKqk1Gd3Ag";
    AuditEntry::new(
        Actor::User {
            user_id: user_id.into(),
        },
        AuditEvent::SignInSucceeded { new_user: n == 0 },
    )
    .user(user_id)
    .client("bookstore-7Xc2Kq0bNn4")
    .email("ana@example.com")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
