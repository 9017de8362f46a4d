//! What an operator relies on, over real sockets: `/metrics` (who may read it, and that its
//! counters move), `/healthz` (public status, details for local requests and admins, judged
//! from the mail transport and not from one refused recipient), `sesame backup` and `sesame
//! restore`, and `sesame keys list|prune`.
//!
//! Run: `cargo test --test operations` (needs python3 with aiosmtpd).

mod support;

use openidconnect::OAuth2TokenResponse;
use serde_json::Value;
use support::flow;
use support::http::HttpClient;
use support::{Sesame, SesameOpts};

const ADA: &str = "ada@example.com";

/// What a proxy on the same host adds: the request is no longer local.
const VIA_PROXY: (&str, &str) = ("x-forwarded-for", "203.0.113.9");

/// The value of the series `series` (name with labels) in a scrape, if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

fn cli_ok(sesame: &Sesame, args: &[&str]) -> String {
    let out = sesame.cli(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sesame {}: {stdout}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn scrape(sesame: &Sesame) -> String {
    let r = HttpClient::new().get(&sesame.url("/metrics")).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{}",
        r.describe()
    );
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_sign_ins_token_requests_mail_and_commits_and_stay_local() {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let before = scrape(&sesame).await;
    let token_2xx = r#"sesame_http_requests_total{route="token",status="2xx"}"#;
    assert_eq!(value(&before, token_2xx).unwrap_or(0.0), 0.0, "{before}");

    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let signed_in = flow::full_sign_in(&sesame, &HttpClient::new(), &client, &app, ADA).await;
    flow::refresh(&client, signed_in.refresh_token())
        .await
        .expect("refresh");

    let after = scrape(&sesame).await;
    let at_least = |series: &str, n: f64| {
        let v = value(&after, series).unwrap_or(0.0);
        assert!(v >= n, "{series} = {v}, expected at least {n}:\n{after}");
    };
    at_least(token_2xx, 2.0);
    at_least(r#"sesame_sign_ins_total{outcome="signed_in"}"#, 1.0);
    at_least(r#"sesame_mail_sends_total{outcome="sent"}"#, 1.0);
    at_least(r#"sesame_mail_send_duration_seconds_count"#, 1.0);
    at_least(
        r#"sesame_http_request_duration_seconds_count{route="token"}"#,
        2.0,
    );
    at_least(
        r#"sesame_http_requests_total{route="sign_in",status="2xx"}"#,
        1.0,
    );
    at_least(r#"sesame_store_flush_duration_seconds_count"#, 1.0);
    at_least(r#"sesame_store_flush_batch_size_count"#, 1.0);
    at_least(r#"sesame_store_write_duration_seconds_count"#, 3.0);
    // Route names, never raw paths: a scan of made-up paths adds no series.
    HttpClient::new().get(&sesame.url("/wp-admin/x.php")).await;
    let scanned = scrape(&sesame).await;
    assert!(!scanned.contains("wp-admin"), "{scanned}");
    assert!(value(
        &scanned,
        r#"sesame_http_requests_total{route="not_found",status="4xx"}"#
    )
    .is_some());

    // Through a proxy on the same host the request is not local: no metrics, a public health.
    let proxied = HttpClient::new()
        .get_with(&sesame.url("/metrics"), &[VIA_PROXY])
        .await;
    assert_eq!(proxied.status, 404, "{}", proxied.describe());
    let health = HttpClient::new()
        .get_with(&sesame.url("/healthz"), &[VIA_PROXY])
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
    let local = HttpClient::new().get(&sesame.url("/healthz")).await.json();
    assert_eq!(local["status"], "ok");
    assert_eq!(local["mail"]["transport"], "smtp", "{local:#}");
    assert!(local["mail"]["host"].is_string(), "{local:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_loopback_off_metrics_need_the_token_and_health_details_an_admin() {
    let sesame = Sesame::start(SesameOpts {
        env: vec![
            ("SESAME_METRICS_ALLOW_LOOPBACK".into(), "false".into()),
            (
                "SESAME_METRICS_TOKEN".into(),
                "metrics-token-for-tests".into(),
            ),
        ],
        ..Default::default()
    });
    let http = HttpClient::new();
    let url = sesame.url("/metrics");
    let none = http.get(&url).await;
    assert_eq!(none.status, 401, "{}", none.describe());
    assert!(none
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));
    let wrong = http
        .get_with(&url, &[("authorization", "Bearer metrics-token-for-test")])
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.describe());
    let right = http
        .get_with(
            &url,
            &[
                ("authorization", "bearer metrics-token-for-tests"),
                VIA_PROXY,
            ],
        )
        .await;
    assert_eq!(right.status, 200, "{}", right.describe());
    assert!(right.body.contains("sesame_build_info"), "{}", right.body);

    // /healthz details: an admin's API key from anywhere; nobody else through the proxy.
    let key = sesame.cli_json(&["api-key", "create", "--name", "monitor", "--json"]);
    let bearer = format!("Bearer {}", key["key"].as_str().unwrap());
    let admin = http
        .get_with(
            &sesame.url("/healthz"),
            &[("authorization", &bearer), VIA_PROXY],
        )
        .await
        .json();
    assert_eq!(admin["mail"]["transport"], "smtp", "{admin:#}");
    let stranger = http
        .get_with(
            &sesame.url("/healthz"),
            &[("authorization", "Bearer sesame_nope"), VIA_PROXY],
        )
        .await
        .json();
    assert_eq!(stranger, serde_json::json!({"status": "ok"}));
}

/// Anyone may ask for a code to an address the relay refuses; that must not turn health to
/// "degraded" (the transport works), though the details show the refusal.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_recipient_does_not_make_health_degraded() {
    let sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let browser = HttpClient::new();
    let start = flow::authorize(&client, flow::SCOPES, true, None);
    let page = flow::open_email_page(&sesame, &browser, start.url.as_str()).await;
    let answer = flow::submit_form(
        &browser,
        &page,
        "email",
        &[("email", "rejected@example.com")],
        None,
    )
    .await;
    assert!(answer.status >= 500, "{}", answer.describe());

    let health = HttpClient::new().get(&sesame.url("/healthz")).await.json();
    assert_eq!(health["status"], "ok", "{health:#}");
    assert_ne!(health["mail"]["ok"], false, "{health:#}");
    let last_error = health["mail"]["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("550"), "{health:#}");
    let scraped = scrape(&sesame).await;
    assert!(
        value(&scraped, r#"sesame_mail_sends_total{outcome="rejected"}"#).is_some_and(|v| v >= 1.0),
        "{scraped}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_running_restores_and_its_refresh_token_works() {
    let mut sesame = Sesame::start_default();
    let app = sesame.create_web_app("Bookstore");
    let meta = flow::discover(&sesame.issuer).await;
    let client = flow::client(&meta, &app);
    let signed_in = flow::full_sign_in(&sesame, &HttpClient::new(), &client, &app, ADA).await;
    let refresh_token = signed_in.refresh_token().clone();

    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("sesame-backup.redb");
    let report = sesame.cli_json(&["backup", file.to_str().unwrap(), "--json"]);
    assert!(report["records"].as_u64().unwrap() > 5, "{report}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup holds keys: owner only");
    }

    // A running server's data is never replaced.
    let refused = sesame.cli(&["restore", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("stop it first"), "{said}");

    // Stop, lose the data directory, restore into a fresh one, start again.
    sesame.stop();
    std::fs::remove_dir_all(&sesame.data_dir).unwrap();
    let junk = backups.path().join("junk.redb");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = sesame.cli(&["restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a usable sesame backup"));
    assert!(
        !sesame.data_dir.join("sesame.redb").exists(),
        "nothing replaced"
    );
    cli_ok(&sesame, &["restore", file.to_str().unwrap()]);
    sesame.start_again();

    // The refresh token issued before the backup works, and the app and user are there.
    let refreshed = flow::refresh(&client, &refresh_token)
        .await
        .unwrap_or_else(|e| panic!("the refresh token did not survive backup and restore: {e}"));
    let info = flow::userinfo(&client, refreshed.access_token(), &signed_in.sub()).await;
    assert!(info.is_ok(), "{info:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_list_shows_until_when_a_retired_key_stays_in_jwks() {
    let sesame = Sesame::start_default();
    let listed = sesame.cli_json(&["keys", "list", "--json"]);
    let active = listed.as_array().unwrap().len();
    assert!(active >= 2, "{listed:#}");
    let rotated = sesame.cli_json(&["keys", "rotate", "--alg", "ES256", "--json"]);
    let listed = sesame.cli_json(&["keys", "list", "--json"]);
    let keys = listed.as_array().unwrap();
    assert_eq!(keys.len(), active + 1, "{listed:#}");
    let retired: Vec<&Value> = keys.iter().filter(|k| k["active"] == false).collect();
    assert_eq!(retired.len(), 1, "{listed:#}");
    let old = retired[0];
    assert_eq!(old["alg"], "ES256");
    // The server's ID token lifetime (default one hour) after its retirement.
    assert_eq!(
        old["in_jwks_until"].as_u64().unwrap(),
        old["retired_at"].as_u64().unwrap() + 3600,
        "{old:#}"
    );
    assert!(keys
        .iter()
        .any(|k| k["kid"] == rotated["kid"] && k["active"] == true));

    // Its tokens may still be valid: prune keeps it, and JWKS still has it.
    let pruned = sesame.cli_json(&["keys", "prune", "--json"]);
    assert_eq!(pruned["pruned"], serde_json::json!([]));
    let jwks = HttpClient::new().get(&sesame.url("/jwks")).await.body;
    assert!(jwks.contains(old["kid"].as_str().unwrap()), "{jwks}");
    let text = cli_ok(&sesame, &["keys", "list"]);
    assert!(
        text.contains("IN JWKS UNTIL") && text.contains("while active"),
        "{text}"
    );
}
