//! What a pending sign-in costs, and what a flood of them costs with the limits of issue 10:
//! bytes on disk and resident memory per `/auth` that starts a sign-in with the largest
//! parameters sesame accepts (`state`, `nonce` and `login_hint`: 2 KiB together), and whether
//! the file and the memory come back after the sweep.
//!
//! Run: `cargo bench --bench pending` (about 30 seconds). In process, through the same
//! `signin::start` the authorization endpoint calls, on a real redb file with the configured
//! cache (`[store] cache_mib`, default 16) and the default `[limits] pending_sign_ins` (10,000).
//! Steps: 10,000 sign-ins (up to the cap), then 10,000 more (the cap evicts), then the clock
//! passes their lifetime, the sweep removes them and the file is compacted.

use sesame::clock::Clock;
use sesame::crypto::keys::KeySet;
use sesame::issuer::Issuer;
use sesame::mail::Mailer;
use sesame::provider::{Provider, TokenConfig};
use sesame::store::{AuthRequest, SignInFor, Store, StoreConfig};
use std::time::Instant;

const FLOOD: usize = 10_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.redb");
    let store = Store::open_with(&path, &StoreConfig::default()).expect("open store");
    let (keys, _) = KeySet::load_or_generate_ecdsa(&store).expect("keys");
    let mailer = Mailer::build(&Default::default(), None).expect("log mailer");
    let issuer = Issuer::parse("https://id.example").expect("issuer");
    let p = Provider::new(
        store,
        issuer,
        TokenConfig::default(),
        keys,
        mailer,
        Clock::fixed(1_800_000_000),
    );
    let request = AuthRequest {
        client_id: "bookstore".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: vec!["openid".into(), "email".into()],
        state: Some("s".repeat(1024)),
        nonce: Some("n".repeat(512)),
        code_challenge: Some("c".repeat(43)),
        max_age: None,
        login_hint: Some(format!("{}@example.com", "h".repeat(500))),
        resource: None,
        mfa: false,
    };
    let browser = "b".repeat(43);
    let (file0, rss0) = (p.store.file_len(), rss_kib());
    println!("pending bench: data in {}", dir.path().display());
    println!(
        "start:                      file {:>8} KiB   RSS {:>7} KiB",
        file0 / 1024,
        rss0
    );

    let t = Instant::now();
    for _ in 0..FLOOD {
        sesame::signin::start(&p, SignInFor::App(request.clone()), &browser).expect("start");
    }
    let per = t.elapsed() / FLOOD as u32;
    let (file1, rss1) = (p.store.file_len(), rss_kib());
    println!(
        "{FLOOD} pending (2 KiB params):  file {:>8} KiB   RSS {:>7} KiB   {:.0} µs each",
        file1 / 1024,
        rss1,
        per.as_secs_f64() * 1e6
    );
    println!(
        "  per pending sign-in:      disk {:>6} B     RSS {:>6} B",
        (file1 - file0) / FLOOD as u64,
        (rss1.saturating_sub(rss0)) * 1024 / FLOOD as u64
    );

    let t = Instant::now();
    for _ in 0..FLOOD {
        sesame::signin::start(&p, SignInFor::App(request.clone()), &browser).expect("start");
    }
    let per = t.elapsed() / FLOOD as u32;
    let (file2, rss2) = (p.store.file_len(), rss_kib());
    println!(
        "{FLOOD} more, at the cap:    file {:>8} KiB   RSS {:>7} KiB   {:.0} µs each (evictions included)",
        file2 / 1024,
        rss2,
        per.as_secs_f64() * 1e6
    );

    p.clock.advance(sesame::signin::INTERACTION_TTL + 1);
    let t = Instant::now();
    let swept = p.sweep().expect("sweep");
    let sweep = t.elapsed();
    let t = Instant::now();
    let compacted = p.store.compact().expect("compact");
    let compact = t.elapsed();
    let (file3, rss3) = (p.store.file_len(), rss_kib());
    println!(
        "swept {swept} in {} ms, compacted ({:?}) in {} ms:\n                            file {:>8} KiB   RSS {:>7} KiB",
        sweep.as_millis(),
        compacted.map(|(b, a)| (b / 1024, a / 1024)),
        compact.as_millis(),
        file3 / 1024,
        rss3
    );
}

/// This process's resident set, in KiB (0 where /proc is not there).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
