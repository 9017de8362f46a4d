//! Limits under abuse, end to end: a real `sesame serve` on 127.0.0.1, a real SMTP server
//! receiving the codes, and clients that behave as an attacker would (issue 10).
//!
//! - one client holding 1,300 idle connections: another address still gets `/healthz`;
//! - `/token` and the sign-in posts answer 429 with `Retry-After` past their rate;
//! - mail bombing one mailbox through `+tags` in one sign-in and across sign-ins;
//! - a flood of `/auth` with large parameters: refused past 2 KiB, and past the per-client cap.
//!
//! Other addresses than 127.0.0.1: on Linux all of 127.0.0.0/8 is loopback, so a client socket
//! bound to 127.0.0.2 before it connects is another client to sesame.
//!
//! Run: `cargo test --test limits` (needs python3 with aiosmtpd).

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::flow::{self, submit_form, Metadata, SCOPES};
use support::http::HttpClient;
use support::{Sesame, SesameOpts};

/// sesame with these `SESAME_LIMITS_*` (and everything else as the other tests have it).
fn sesame_with(env: &[(&str, &str)]) -> Sesame {
    Sesame::start(SesameOpts {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
}

/// A TCP connection to sesame (at `port`) from `source` (any port).
async fn connect_from(port: u16, source: &str) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source.parse::<IpAddr>().unwrap(), 0).into())?;
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    socket.connect(to).await
}

/// `GET /healthz` on a new connection from `source`: the status line, or why there was none
/// within 5 s (a server that accepts no more leaves a new connection in the kernel's queue, or
/// its SYN unanswered once that queue is full).
async fn healthz_from(sesame: &Sesame, source: &str) -> Result<String, String> {
    let ask = async {
        let mut s = connect_from(sesame.port, source)
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        Ok(answer.lines().next().unwrap_or("").to_string())
    };
    match tokio::time::timeout(Duration::from_secs(5), ask).await {
        Ok(answer) => answer,
        Err(_) => Err("no answer within 5 s".into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_client_holding_many_idle_connections_leaves_healthz_to_others() {
    let sesame = sesame_with(&[]);
    // More than the 1,024 sesame serves at once, opened together from one address, all idle.
    // A connect that the server's full queue leaves unanswered for 2 s is given up (the
    // attacker holds what it got).
    let port = sesame.port;
    let opening: Vec<_> = (0..1300)
        .map(|_| {
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(2), connect_from(port, "127.0.0.1")).await
            })
        })
        .collect();
    let mut idle = Vec::new();
    for task in opening {
        if let Ok(Ok(stream)) = task.await.unwrap() {
            idle.push(stream);
        }
    }
    assert!(idle.len() >= 1024, "{} connections", idle.len());
    // Another client is served at once: the flooding one got only its 128, the rest were
    // closed as they came. (Checked the other way: without the per-client cap and with the
    // 10 s header timeout throughout, sesame held 1,024 of the flood, the kernel's queue held
    // the rest, and this request got no answer within 5 s. Whether the queue is full when it
    // comes depends on timing, so that direction is not a test.)
    assert_eq!(
        healthz_from(&sesame, "127.0.0.2").await.as_deref(),
        Ok("HTTP/1.1 200 OK"),
        "{}",
        sesame.logs()
    );
    drop(idle);
    assert_eq!(
        healthz_from(&sesame, "127.0.0.1").await.as_deref(),
        Ok("HTTP/1.1 200 OK"),
        "once it lets go, the client is served again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_answers_429_json_with_retry_after() {
    let sesame = sesame_with(&[("SESAME_LIMITS_TOKEN_PER_MINUTE", "3")]);
    let http = HttpClient::new();
    let url = sesame.url("/token");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "nope"),
        ("client_id", "nobody"),
        ("client_secret", "x"),
    ];
    for _ in 0..3 {
        let r = http.post_form(&url, &form).await;
        assert_eq!(r.status, 401, "{}", r.describe());
    }
    let r = http.post_form(&url, &form).await;
    assert_eq!(r.status, 429, "{}", r.describe());
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(r.json()["error"], "temporarily_unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_posts_past_their_rate_get_a_page_with_retry_after() {
    let sesame = sesame_with(&[("SESAME_LIMITS_SIGN_IN_PER_MINUTE", "2")]);
    let app = sesame.create_web_app("Bookstore");
    let meta: Metadata = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let start = flow::authorize(&client, SCOPES, true, None);
    let page = flow::open_email_page(&sesame, &browser, start.url.as_str()).await;
    for _ in 0..2 {
        let r = submit_form(
            &browser,
            &page,
            "email",
            &[("email", "not an address")],
            None,
        )
        .await;
        // Refused on the form: Post/Redirect/Get back to the email page.
        assert_eq!(r.status, 303, "{}", r.describe());
    }
    let r = submit_form(
        &browser,
        &page,
        "email",
        &[("email", "ada@example.com")],
        None,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.describe());
    assert!(r.header("retry-after").is_some());
    assert!(
        r.body.contains("Too many requests") && r.body.contains("Wait"),
        "{}",
        r.body
    );
    assert_eq!(sesame.smtp.message_count(), 0, "nothing was mailed");
}

#[tokio::test(flavor = "multi_thread")]
async fn plus_tags_cannot_bomb_one_mailbox() {
    let sesame = sesame_with(&[]);
    let app = sesame.create_web_app("Bookstore");
    let meta: Metadata = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);

    // One sign-in, many tagged addresses: three mailboxes' worth at most.
    let browser = HttpClient::new();
    let start = flow::authorize(&client, SCOPES, true, None);
    let page = flow::open_email_page(&sesame, &browser, start.url.as_str()).await;
    let mut refused = None;
    for n in 0..20 {
        let to = format!("victim{}+{n}@example.com", n % 5);
        let r = submit_form(&browser, &page, "email", &[("email", &to)], None).await;
        assert_eq!(r.status, 303, "{}", r.describe());
        // Sent: on to the code page. Refused: back to the email form, which says why.
        let to = r.expect_redirect();
        if !to.path().ends_with("/sign-in/code") {
            refused = Some(browser.get(to.as_str()).await);
            break;
        }
    }
    let refused = refused.expect("refused within 20 addresses");
    assert!(
        refused.body.contains("3 different addresses"),
        "{}",
        refused.body
    );
    assert_eq!(sesame.smtp.message_count(), 3);

    // Across sign-ins, one mailbox gets its hourly budget (10) whatever the tag or case.
    let mut sent_to_victim = 0;
    let mut last = None;
    for n in 0..15 {
        let browser = HttpClient::new();
        let start = flow::authorize(&client, SCOPES, true, None);
        let page = flow::open_email_page(&sesame, &browser, start.url.as_str()).await;
        let to = format!("Target+{n}@Example.com");
        let r = submit_form(&browser, &page, "email", &[("email", &to)], None).await;
        assert_eq!(r.status, 303, "{}", r.describe());
        let to = r.expect_redirect();
        if to.path().ends_with("/sign-in/code") {
            sent_to_victim += 1;
        } else {
            assert!(r.header("retry-after").is_some(), "{}", r.describe());
            last = Some(browser.get(to.as_str()).await);
        }
    }
    assert_eq!(sent_to_victim, 10);
    let last = last.unwrap();
    assert!(last.body.contains("+tag count as one"), "{}", last.body);
    // The audit log says so.
    let out = sesame.cli(&["audit", "--json"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("mailbox_budget") && log.contains("too_many_addresses"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_authorization_requests_is_bounded() {
    let sesame = sesame_with(&[("SESAME_LIMITS_PENDING_SIGN_INS_PER_CLIENT", "20")]);
    let app = sesame.create_web_app("Bookstore");
    let http = HttpClient::new();
    let big = "s".repeat(1024);
    let auth = |state: &str, nonce: &str| {
        flow::auth_url(
            &sesame,
            &[
                ("client_id", &app.client_id),
                ("redirect_uri", &app.redirect_uri),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", state),
                ("nonce", nonce),
            ],
        )
    };
    // More than 2 KiB of state and nonce together is refused before anything is stored.
    let r = http.get(&auth(&big, &format!("{big}n"))).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(r.body.contains("together"), "{}", r.body);
    // 2 KiB is fine, 20 times; the 21st sign-in from this client waits.
    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(http.get(&auth(&big, &big[..1000])).await.status);
    }
    assert!(statuses[..20].iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(statuses[20], 429);
}
