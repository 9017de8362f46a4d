//! Back-channel logout fan-out: how long from a session's end until all ten apps it signed in
//! to have their logout token (signed, POSTed over loopback, answered 204, outcome audited).
//!
//! Run: `cargo bench --bench backchannel` (a few seconds; put `TMPDIR` on the disk you care
//! about: each delivery's audit entry is a durable commit). In-process, on a real redb file:
//! ten receivers on 127.0.0.1 (tokio, one per app, answering 204), ten apps registered with
//! ES384 ID tokens, and per round a session that signed in to all ten. Each round times:
//!
//! 1. **logout**: the write that ends the session and queues the ten notices (what a logout
//!    request waits for; the deliveries are not part of it);
//! 2. **fan-out**: from the session's end until every delivery task has finished: the notices
//!    taken, ten tokens signed, ten POSTs answered, ten audit entries committed.
//!
//! Prints the median and the 90th percentile of each over the rounds.

use sesame::clock::Clock;
use sesame::crypto::keys::KeySet;
use sesame::issuer::Issuer;
use sesame::mail::Mailer;
use sesame::oidc::backchannel;
use sesame::provider::{Provider, TokenConfig};
use sesame::store::{App, AppType, Store, APPS};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const APPS_PER_SESSION: usize = 10;
const ROUNDS: usize = 200;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("store");
    let (keys, _) = KeySet::load_or_generate_ecdsa(&store).expect("keys");
    let mailer = Mailer::build(&Default::default(), None).expect("log mailer");
    let issuer = Issuer::parse("https://id.example").expect("issuer");
    let p = Provider::new(
        store,
        issuer,
        TokenConfig::default(),
        keys,
        mailer,
        Clock::system(),
    );
    let p = Arc::new(p);
    let mut client_ids = Vec::new();
    for i in 0..APPS_PER_SESSION {
        let uri = receiver().await;
        let app = App {
            client_id: format!("app{i}"),
            name: format!("App {i}"),
            app_type: AppType::Traditional,
            secret_hash: None,
            redirect_uris: vec![format!("https://app{i}.example/cb")],
            post_logout_redirect_uris: vec![],
            id_token_signed_response_alg: None,
            allow_insecure_redirect: false,
            created_at: 0,
            declared: false,
            allowed_groups: vec![],
            refresh_retry_window: None,
            backchannel_logout_uri: Some(uri),
            backchannel_logout_session_required: true,
            device_flow: false,
            require_pushed_authorization_requests: false,
            api_scopes: Default::default(),
            second_factor: Default::default(),
        };
        p.store
            .write(|tx| tx.put(&APPS, &app.client_id, &app))
            .expect("app");
        client_ids.push(app.client_id);
    }
    let tls = backchannel::tls();
    let (mut logout, mut fan_out) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let cookie = p
            .store
            .write(|tx| {
                let cookie = sesame::session::create(tx, "user-1", p.now(), 3600)?;
                for id in &client_ids {
                    sesame::session::signs_in_to(tx, &cookie, id)?;
                }
                Ok::<_, sesame::store::StoreError>(cookie)
            })
            .expect("session");
        let start = Instant::now();
        sesame::session::end(&p, Some(&cookie)).expect("end");
        logout.push(start.elapsed());
        let tasks = backchannel::drain(&p, &tls).await;
        assert_eq!(tasks.len(), APPS_PER_SESSION);
        for t in tasks {
            let outcome = t.await.expect("task");
            assert!(
                matches!(outcome, sesame::audit::LogoutDelivery::Delivered { .. }),
                "{outcome:?}"
            );
        }
        fan_out.push(start.elapsed());
    }
    println!("back-channel logout, a session used by {APPS_PER_SESSION} apps, {ROUNDS} rounds:");
    for (name, mut times) in [
        ("logout (end + queue)", logout),
        ("fan-out (all delivered)", fan_out),
    ] {
        times.sort();
        println!(
            "  {name:<24} median {:>8.2} ms   p90 {:>8.2} ms",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 9 / 10])
        );
    }
}

/// An app's endpoint: reads the request, answers 204, closes.
async fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/bcl", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0; 8192];
                let mut got = Vec::new();
                // The headers, then the body by its length.
                loop {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if complete(&got) {
                        break;
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    url
}

fn complete(got: &[u8]) -> bool {
    let text = String::from_utf8_lossy(got);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let len: usize = text[..end]
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    got.len() >= end + 4 + len
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
