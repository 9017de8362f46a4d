//! Crash safety under load: many refresh-token families refreshing at once, and sign-ins beside
//! them, when sesame is killed with SIGKILL mid-burst and started again on the same data file.
//!
//! What must hold afterwards:
//! - every refresh token whose 200 the client received works, once: the family goes on;
//! - no token the client already used works again (presenting one is reuse, and revokes);
//! - no family was revoked, even those whose last rotation committed but whose 200 never
//!   arrived (the client retries with the token it has, inside the retry window).
//!
//! Some families also throw away every third 200 they get, as a client whose connection
//! dropped after the server answered, and retry: the retry rule is exercised on every run,
//! whatever the kill happens to interrupt.
//!
//! Run: `cargo test --test crash` (needs python3 with aiosmtpd).

mod support;

use hyper::Method;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::http::{basic_auth, encode_form, query_param, HttpClient, Response};
use support::{flow, AppCreds, Sesame, SesameOpts};

const ADA: &str = "ada@example.com";
/// Families refreshing in a loop, each on its own task.
const FAMILIES: usize = 32;
/// Every LOSSY-th family loses every third 200 it gets, and retries.
const LOSSY: usize = 4;
/// Tasks signing in again and again (single sign-on, then the code exchange) meanwhile.
const SIGN_IN_TASKS: usize = 4;
/// Acknowledged refreshes before the kill: far enough in that every task is running.
const KILL_AFTER: usize = 200;

/// What a client knows of one family.
#[derive(Debug, Clone)]
struct Family {
    /// Tokens it received and then used: spent.
    spent: Vec<String>,
    /// The token it holds (received, not known to be used).
    current: String,
    /// Its last request was cut off by the kill (sent, no answer).
    interrupted: bool,
    /// 200s it threw away and retried.
    retried: usize,
}

/// How the tasks reach sesame.
struct Client {
    http: HttpClient,
    issuer: String,
    app: AppCreds,
    /// Acknowledged refreshes and sign-ins, all tasks together.
    acknowledged: AtomicUsize,
}

impl Client {
    async fn token(&self, form: &[(&str, &str)]) -> Result<Response, String> {
        let secret = self
            .app
            .client_secret
            .as_deref()
            .expect("a traditional app");
        let auth = basic_auth(&self.app.client_id, secret);
        let body = encode_form(form).into_bytes();
        self.http
            .try_send(
                Method::POST,
                &format!("{}/token", self.issuer),
                &[("authorization", &auth)],
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await
    }

    async fn refresh(&self, token: &str) -> Result<Response, String> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }

    /// Single sign-on in `browser` (already signed in), then the code exchange; the new
    /// family's refresh token. `Err` when the server is gone.
    async fn sign_in(&self, browser: &HttpClient) -> Result<String, String> {
        let mut url = flow::auth_url_at(
            &self.issuer,
            &[
                ("client_id", &self.app.client_id),
                ("redirect_uri", &self.app.redirect_uri),
                ("response_type", "code"),
                ("scope", "openid offline_access"),
                ("state", "s"),
            ],
        );
        for _ in 0..5 {
            let answer = browser.try_send(Method::GET, &url, &[], None).await?;
            let Some(location) = answer.location() else {
                panic!("single sign-on did not redirect: {}", answer.describe());
            };
            if !location.as_str().starts_with(&self.app.redirect_uri) {
                url = location.to_string();
                continue;
            }
            let code =
                query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
            let exchanged = self
                .token(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &self.app.redirect_uri),
                ])
                .await?;
            return Ok(refresh_token_of(&exchanged));
        }
        panic!("single sign-on went round in redirects");
    }
}

fn refresh_token_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.describe());
    r.json()["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {}", r.body))
        .to_string()
}

/// Refreshes until the server dies. Any answer but 200 before that is a failure.
async fn refresh_until_killed(client: Arc<Client>, mut family: Family, lossy: bool) -> Family {
    let mut answers = 0;
    loop {
        let answer = match client.refresh(&family.current).await {
            Ok(answer) => answer,
            Err(_) => {
                family.interrupted = true;
                return family;
            }
        };
        let next = refresh_token_of(&answer);
        answers += 1;
        if lossy && answers % 3 == 0 {
            // The 200 "never arrived": try again with the same token.
            family.retried += 1;
            continue;
        }
        family
            .spent
            .push(std::mem::replace(&mut family.current, next));
        client.acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

/// Signs in until the server dies; the families those sign-ins started.
async fn sign_in_until_killed(client: Arc<Client>, browser: Arc<HttpClient>) -> Vec<Family> {
    let mut started = Vec::new();
    while let Ok(token) = client.sign_in(&browser).await {
        client.acknowledged.fetch_add(1, Ordering::Relaxed);
        started.push(Family {
            spent: Vec::new(),
            current: token,
            interrupted: false,
            retried: 0,
        });
    }
    started
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_mid_burst_loses_no_acknowledged_token_and_revokes_no_family() {
    // A long window: the restart below must come inside it however slow the machine is. The
    // window's own edges are tested in-process (src/oidc/tests.rs).
    let mut sesame = Sesame::start(SesameOpts {
        env: vec![("SESAME_TOKENS_REFRESH_RETRY_WINDOW".into(), "600".into())],
        ..Default::default()
    });
    let app = sesame.create_web_app("Burst");
    let browser = Arc::new(HttpClient::new());
    let url = flow::auth_url(
        &sesame,
        &[
            ("client_id", &app.client_id),
            ("redirect_uri", &app.redirect_uri),
            ("response_type", "code"),
            ("scope", "openid offline_access"),
            ("state", "s"),
        ],
    );
    flow::sign_in(&sesame, &browser, &url, ADA).await;
    let client = Arc::new(Client {
        http: HttpClient::new(),
        issuer: sesame.issuer.clone(),
        app,
        acknowledged: AtomicUsize::new(0),
    });
    let mut first = Vec::new();
    for _ in 0..FAMILIES {
        first.push(client.sign_in(&browser).await.expect("sesame is up"));
    }

    let refreshing: Vec<_> = first
        .into_iter()
        .enumerate()
        .map(|(i, current)| {
            let family = Family {
                spent: Vec::new(),
                current,
                interrupted: false,
                retried: 0,
            };
            tokio::spawn(refresh_until_killed(client.clone(), family, i % LOSSY == 0))
        })
        .collect();
    let signing_in: Vec<_> = (0..SIGN_IN_TASKS)
        .map(|_| tokio::spawn(sign_in_until_killed(client.clone(), browser.clone())))
        .collect();
    while client.acknowledged.load(Ordering::Relaxed) < KILL_AFTER {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    sesame.kill();
    let mut families = Vec::new();
    for task in refreshing {
        families.push(task.await.expect("a refresh task"));
    }
    let burst_families = families.len();
    for task in signing_in {
        families.extend(task.await.expect("a sign-in task"));
    }
    sesame.start_again();

    let interrupted = families.iter().filter(|f| f.interrupted).count();
    let retried: usize = families.iter().map(|f| f.retried).sum();
    let spent: usize = families.iter().map(|f| f.spent.len()).sum();
    eprintln!(
        "killed after {} acknowledged requests: {burst_families} refreshing families ({interrupted} cut off mid-request, \
         {retried} responses thrown away and retried, {spent} tokens spent), {} families from sign-ins during the burst",
        client.acknowledged.load(Ordering::Relaxed),
        families.len() - burst_families
    );
    assert!(retried > 0, "the lossy families retried");

    // Every token the client holds works: no family was revoked, whatever the kill cut off.
    let mut revoked = Vec::new();
    let mut next = Vec::new();
    for (i, f) in families.iter().enumerate() {
        let answer = client
            .refresh(&f.current)
            .await
            .expect("sesame is up again");
        match answer.status {
            200 => next.push(refresh_token_of(&answer)),
            _ => revoked.push(format!("family {i} ({f:?}): {}", answer.describe())),
        }
    }
    assert!(
        revoked.is_empty(),
        "{} of {} families lost after the kill:\n{}\n\nsesame's log:\n{}",
        revoked.len(),
        families.len(),
        revoked.join("\n"),
        sesame.logs()
    );
    eprintln!(
        "after the restart every family refreshed; sesame logged {} retries in all",
        sesame
            .logs()
            .matches("refresh retried within its window")
            .count()
    );
    // ... and its successor works too: the family goes on.
    let mut after = Vec::new();
    for token in &next {
        let answer = client.refresh(token).await.expect("sesame is up");
        after.push(refresh_token_of(&answer));
    }

    // No token the client used works again: each one is reuse, and ends its family.
    for (f, last) in families.iter().zip(&after) {
        for old in f.spent.iter().chain([&f.current]) {
            let answer = client.refresh(old).await.expect("sesame is up");
            assert_eq!(
                answer.status,
                400,
                "a spent token worked again: {}",
                answer.describe()
            );
        }
        let answer = client.refresh(last).await.expect("sesame is up");
        assert_eq!(
            answer.status,
            400,
            "the family was not revoked: {}",
            answer.describe()
        );
    }
}
