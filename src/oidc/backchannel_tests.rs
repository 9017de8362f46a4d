//! Back-channel logout in-process: the session's apps and `sid`, the notices ending a session
//! queues, the logout token's claims, and delivery against a real receiver on 127.0.0.1 (its
//! answers chosen per test), with the outcome in the audit log.

use super::*;
use crate::audit::{list, AuditQuery};
use crate::oidc::grant::Family;
use crate::oidc::params::Params;
use crate::oidc::token;
use crate::provider::testing::*;
use crate::store::{APPS, LOGOUT_NOTICES};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A receiver that answers each request with the next of `statuses` (the last one repeats)
/// and hands over each request's body.
async fn receiver(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bcl", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let mut r = BufReader::new(stream);
            let mut len = 0;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).await.unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).await.unwrap();
            let _ = tx.send(String::from_utf8(body).unwrap());
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            r.into_inner().write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (url, rx)
}

fn register(p: &Provider, client_id: &str, uri: Option<&str>) {
    p.store
        .write(|tx| {
            let mut app = tx.app(client_id)?.unwrap();
            app.backchannel_logout_uri = uri.map(str::to_string);
            tx.put(&APPS, client_id, &app)
        })
        .unwrap();
}

/// Signs `user` in to `client_id` through the session `cookie` (single sign-on), and returns
/// the ID token.
fn sign_in(p: &Provider, cookie: &str, client_id: &str, user_id: &str) -> Value {
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let request = request(
        client_id,
        "openid",
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
    );
    let code = p
        .store
        .write(|tx| {
            let sid = crate::session::signs_in_to(tx, cookie, client_id)?;
            family.issue_code(
                tx,
                &request,
                user_id,
                &crate::store::Authn::email_code(p.now()),
                sid,
            )
        })
        .unwrap();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .finish();
    let app = p.store.read(|tx| tx.app(client_id)).unwrap().unwrap();
    let answer = token::exchange(p, &app, &Params::parse(body.as_bytes())).unwrap();
    p.keys()
        .verify_jwt(answer["id_token"].as_str().unwrap())
        .unwrap()
}

fn notices(p: &Provider) -> Vec<LogoutNotice> {
    p.store
        .read(|tx| tx.scan(&LOGOUT_NOTICES))
        .unwrap()
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

fn header(jwt: &str) -> Value {
    use base64::Engine;
    let h = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(h)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn id_tokens_carry_the_sessions_sid_and_its_end_queues_a_notice_per_registered_app() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    register(&p, CLIENT, Some("https://app.example/bcl"));
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &ada.id, p.now(), 3600))
        .unwrap();
    let first = sign_in(&p, &cookie, CLIENT, &ada.id);
    let second = sign_in(&p, &cookie, PUBLIC_CLIENT, &ada.id);
    let sid = first["sid"].as_str().unwrap().to_string();
    assert_eq!(second["sid"], sid.as_str(), "one session, one sid");
    assert_ne!(sid, cookie);
    assert_ne!(
        sid,
        crate::crypto::hash_token(&cookie),
        "not the store's key either"
    );
    let session = crate::session::current(&p, Some(&cookie)).unwrap().unwrap();
    assert_eq!(session.apps, [CLIENT, PUBLIC_CLIENT]);
    assert!(notices(&p).is_empty());

    crate::session::end(&p, Some(&cookie)).unwrap();
    // Only the app that registered a URI is told.
    assert_eq!(
        notices(&p),
        [LogoutNotice {
            client_id: CLIENT.into(),
            sid,
            user_id: ada.id.clone(),
        }]
    );
}

#[test]
fn signing_a_user_out_everywhere_queues_the_notices_of_each_session() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    register(&p, CLIENT, Some("https://app.example/bcl"));
    let mut sids = Vec::new();
    for _ in 0..2 {
        let c = p
            .store
            .write(|tx| crate::session::create(tx, &ada.id, p.now(), 3600))
            .unwrap();
        sids.push(sign_in(&p, &c, CLIENT, &ada.id)["sid"].clone());
    }
    assert_ne!(sids[0], sids[1]);
    let ended = p
        .store
        .write(|tx| {
            crate::users::sign_out_in(tx, &ada.id).map_err(|e| match e {
                crate::users::UserError::Store(e) => e,
                other => panic!("{other}"),
            })
        })
        .unwrap();
    assert_eq!(ended.1, 2);
    let mut got: Vec<Value> = notices(&p)
        .into_iter()
        .map(|n| Value::from(n.sid))
        .collect();
    got.sort_by_key(|v| v.to_string());
    sids.sort_by_key(|v| v.to_string());
    assert_eq!(got, sids);
}

#[test]
fn the_logout_token_has_the_claims_and_type_the_spec_asks_and_no_nonce() {
    let (_d, p) = provider();
    let app = p.store.read(|tx| tx.app(CLIENT)).unwrap().unwrap();
    let notice = LogoutNotice {
        client_id: CLIENT.into(),
        sid: "the-sid".into(),
        user_id: "the-sub".into(),
    };
    let jwt = logout_token(&p, &app, &notice, T0).unwrap();
    let h = header(&jwt);
    assert_eq!(h["typ"], "logout+jwt");
    assert_eq!(h["alg"], "ES384", "the app's ID token algorithm");
    let c = p.keys().verify_jwt(&jwt).unwrap();
    assert_eq!(c["iss"], "https://id.example");
    assert_eq!(c["aud"], CLIENT);
    assert_eq!(c["iat"], T0);
    assert_eq!(c["exp"], T0 + LOGOUT_TOKEN_TTL);
    assert_eq!(c["sub"], "the-sub");
    assert_eq!(c["sid"], "the-sid");
    assert_eq!(c["events"], serde_json::json!({ LOGOUT_EVENT: {} }));
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(c.get("nonce").is_none());
    let again = p
        .keys()
        .verify_jwt(&logout_token(&p, &app, &notice, T0).unwrap())
        .unwrap();
    assert_ne!(again["jti"], c["jti"], "each token its own jti");
}

fn fast(p: Provider) -> Arc<Provider> {
    Arc::new(p.with_backchannel(Policy {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }))
}

fn last_audit(p: &Provider) -> Value {
    let page = p.store.read(|tx| list(tx, &AuditQuery::default())).unwrap();
    serde_json::to_value(&page.entries[0]).unwrap()
}

/// Queues one notice for CLIENT (registered at `uri`) by ending a session that signed in to it.
fn queue_one(p: &Provider, uri: &str) -> (String, String) {
    let ada = user(p, "ada@example.com");
    register(p, CLIENT, Some(uri));
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &ada.id, p.now(), 3600))
        .unwrap();
    let sid = sign_in(p, &cookie, CLIENT, &ada.id)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    crate::session::end(p, Some(&cookie)).unwrap();
    (ada.id, sid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_token_verifies_and_is_audited() {
    let (_d, p) = provider();
    let p = fast(p);
    let (url, mut bodies) = receiver(vec![204]).await;
    let (sub, sid) = queue_one(&p, &url);
    let tasks = drain(&p, &tls()).await;
    assert_eq!(tasks.len(), 1);
    for t in tasks {
        assert_eq!(t.await.unwrap(), LogoutDelivery::Delivered { attempts: 1 });
    }
    let body = bodies.recv().await.unwrap();
    let jwt = body.strip_prefix("logout_token=").unwrap();
    let c = p.keys().verify_jwt(jwt).unwrap();
    assert_eq!(
        (c["sid"].as_str(), c["sub"].as_str()),
        (Some(&*sid), Some(&*sub))
    );
    assert!(notices(&p).is_empty(), "taken off the queue");
    let entry = last_audit(&p);
    assert_eq!(entry["kind"], "backchannel_logout");
    assert_eq!(entry["delivery"], "delivered");
    assert_eq!(entry["client_id"], CLIENT);
    assert_eq!(entry["sid"], sid.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_retried_until_the_attempts_run_out_and_a_4xx_is_not() {
    let (_d, p) = provider();
    let p = fast(p);
    let (url, mut bodies) = receiver(vec![503, 500, 502, 204]).await;
    queue_one(&p, &url);
    let outcomes: Vec<_> = futures_join(drain(&p, &tls()).await).await;
    assert_eq!(
        outcomes,
        [LogoutDelivery::GaveUp {
            reason: "HTTP 502".into(),
            attempts: 3
        }]
    );
    for _ in 0..3 {
        bodies.recv().await.unwrap();
    }
    assert_eq!(last_audit(&p)["delivery"], "gave_up");

    let (url, _bodies) = receiver(vec![500, 400]).await;
    register(&p, CLIENT, Some(&url));
    let bob = user(&p, "bob@example.com");
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &bob.id, p.now(), 3600))
        .unwrap();
    sign_in(&p, &cookie, CLIENT, &bob.id);
    crate::session::end(&p, Some(&cookie)).unwrap();
    let outcomes = futures_join(drain(&p, &tls()).await).await;
    assert_eq!(
        outcomes,
        [LogoutDelivery::Refused {
            status: 400,
            attempts: 2
        }]
    );
    assert_eq!(last_audit(&p)["delivery"], "refused");
    assert_eq!(last_audit(&p)["status"], 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_is_not_listening_is_given_up_on_after_the_attempts() {
    let (_d, p) = provider();
    let p = fast(p);
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bcl", closed.local_addr().unwrap());
    drop(closed);
    queue_one(&p, &url);
    let outcomes = futures_join(drain(&p, &tls()).await).await;
    assert!(
        matches!(&outcomes[..], [LogoutDelivery::GaveUp { reason, attempts: 3 }] if reason.starts_with("could not connect")),
        "{outcomes:?}"
    );
    let entry = last_audit(&p);
    assert_eq!(entry["delivery"], "gave_up");
    assert_eq!(entry["attempts"], 3);
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<LogoutDelivery>>) -> Vec<LogoutDelivery> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[test]
fn signing_in_again_as_the_same_user_keeps_the_sid_and_tells_no_app_but_another_user_ends_it() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    register(&p, CLIENT, Some("https://app.example/bcl"));
    let new_session = |who: &str| {
        p.store
            .write(|tx| crate::session::create(tx, who, p.now(), 3600))
            .unwrap()
    };
    let first = new_session(&ada.id);
    let sid = sign_in(&p, &first, CLIENT, &ada.id)["sid"].clone();
    let again = new_session(&ada.id);
    p.store
        .write(|tx| crate::session::replace(tx, &first, &again))
        .unwrap();
    assert!(
        notices(&p).is_empty(),
        "the same user: nobody is logged out"
    );
    assert!(crate::session::current(&p, Some(&first)).unwrap().is_none());
    let kept = crate::session::current(&p, Some(&again)).unwrap().unwrap();
    assert_eq!(kept.sid.as_deref(), sid.as_str());
    assert_eq!(kept.apps, [CLIENT]);

    let other = new_session(&bob.id);
    p.store
        .write(|tx| crate::session::replace(tx, &again, &other))
        .unwrap();
    assert_eq!(notices(&p).len(), 1, "another user: ada's apps are told");
    assert_eq!(notices(&p)[0].sid, sid.as_str().unwrap());
}

/// The running deliverer needs no call from the path that ended the session: the commit that
/// queued the notice rings the store, and the deliverer (idle until then) delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deliverer_is_woken_by_the_commit_that_queues_a_notice() {
    let (_d, p) = provider();
    let p = fast(p);
    let (url, mut bodies) = receiver(vec![204]).await;
    let deliverer = tokio::spawn(super::run(p.clone()));
    let (_, sid) = queue_one(&p, &url);
    // A bound on waiting (not a speed check): without the bell the deliverer never wakes.
    let body = tokio::time::timeout(std::time::Duration::from_secs(30), bodies.recv())
        .await
        .expect("the deliverer was woken")
        .unwrap();
    let jwt = body.strip_prefix("logout_token=").unwrap();
    assert_eq!(p.keys().verify_jwt(jwt).unwrap()["sid"], sid.as_str());
    deliverer.abort();
}
