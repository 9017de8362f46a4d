//! Back-channel logout end to end (OIDC Back-Channel Logout 1.0): a real `sesame serve`, two
//! apps signed in to through one browser session with the `openidconnect` crate, and a small
//! HTTP receiver per app on 127.0.0.1 that checks each `logout_token` as an app would: its
//! signature against sesame's JWKS, `typ`, `iss`, `aud`, `iat`, `exp`, `jti`, `events`, `sid`
//! (the ID token's), and no `nonce`.
//!
//! Run: `cargo test --test backchannel` (needs python3 with aiosmtpd).

mod support;

use base64::Engine;
use openidconnect::{EndSessionUrl, LogoutRequest};
use serde_json::Value;
use std::time::Duration;
use support::flow::{self, SignedIn};
use support::http::HttpClient;
use support::{AppCreds, AppSpec, Sesame, SesameOpts};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const ADA: &str = "ada@example.com";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a receiver got: the request's path, content type and body.
#[derive(Debug)]
struct Delivery {
    path: String,
    content_type: String,
    body: String,
}

/// An app's back-channel logout endpoint: answers 204 to every POST and hands each over.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                let mut first = String::new();
                r.read_line(&mut first).await.unwrap();
                let (mut len, mut content_type) = (0, String::new());
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).await.unwrap();
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if let Some(v) = lower.strip_prefix("content-type:") {
                        content_type = v.trim().to_string();
                    }
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).await.unwrap();
                let path = first.split(' ').nth(1).unwrap_or("").to_string();
                assert!(first.starts_with("POST "), "{first}");
                let body = String::from_utf8(body).unwrap();
                let _ = tx.send(Delivery {
                    path,
                    content_type,
                    body,
                });
                let answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
                let _ = r.into_inner().write_all(answer.as_bytes()).await;
            });
        }
    });
    (base, rx)
}

/// The next delivery, or a panic with sesame's log after a minute.
async fn next(rx: &mut mpsc::UnboundedReceiver<Delivery>, sesame: &Sesame) -> Delivery {
    match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
        Ok(Some(d)) => d,
        _ => panic!("no logout token arrived; sesame's log:\n{}", sesame.logs()),
    }
}

fn b64_json(part: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Checks a logout token's signature against sesame's JWKS (ES384, ES256 or RS256 with ring);
/// returns its header and claims.
async fn verify(sesame: &Sesame, jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let (header, claims) = (b64_json(parts[0]), b64_json(parts[1]));
    let jwks = HttpClient::new().get(&sesame.url("/jwks")).await.json();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("kid {} not in JWKS {jwks}", header["kid"]))
        .clone();
    let b64 = |k: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[k].as_str().unwrap())
            .unwrap()
    };
    let signed = format!("{}.{}", parts[0], parts[1]);
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap();
    let ok = match header["alg"].as_str().unwrap() {
        alg @ ("ES384" | "ES256") => {
            let mut point = vec![4u8];
            point.extend(b64("x"));
            point.extend(b64("y"));
            let algorithm = if alg == "ES384" {
                &ring::signature::ECDSA_P384_SHA384_FIXED
            } else {
                &ring::signature::ECDSA_P256_SHA256_FIXED
            };
            ring::signature::UnparsedPublicKey::new(algorithm, point)
                .verify(signed.as_bytes(), &sig)
                .is_ok()
        }
        "RS256" => ring::signature::RsaPublicKeyComponents {
            n: b64("n"),
            e: b64("e"),
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &sig,
        )
        .is_ok(),
        other => panic!("unexpected alg {other}"),
    };
    assert!(ok, "the logout token's signature does not verify: {jwt}");
    (header, claims)
}

/// Checks a delivery as the app `app` would (Back-Channel Logout §2.6); returns the claims.
async fn check_logout_token(sesame: &Sesame, app: &AppCreds, d: &Delivery, sid: &str) -> Value {
    assert_eq!(d.content_type, "application/x-www-form-urlencoded");
    let token = form_urlencoded::parse(d.body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no logout_token in {}", d.body));
    let (header, c) = verify(sesame, &token).await;
    assert_eq!(header["typ"], "logout+jwt", "{header}");
    assert_eq!(c["iss"], sesame.issuer.as_str(), "{c}");
    assert_eq!(c["aud"], app.client_id.as_str(), "{c}");
    assert!(c["iat"].as_u64().is_some(), "{c}");
    assert!(c["exp"].as_u64() > c["iat"].as_u64(), "{c}");
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()), "{c}");
    assert_eq!(c["events"], serde_json::json!({ EVENT: {} }), "{c}");
    assert_eq!(c["sid"], sid, "{c}");
    assert!(
        c.get("nonce").is_none(),
        "a logout token never has a nonce: {c}"
    );
    c
}

/// The ID token's claims, as the app reads them (already verified by `full_sign_in`).
fn id_claims(signed_in: &SignedIn) -> Value {
    let jwt = signed_in.id_token.to_string();
    b64_json(jwt.split('.').nth(1).unwrap())
}

struct TwoApps {
    sesame: Sesame,
    browser: HttpClient,
    apps: Vec<AppCreds>,
    signed_in: Vec<SignedIn>,
    receivers: Vec<mpsc::UnboundedReceiver<Delivery>>,
}

/// Sesame with two apps whose back-channel URIs are `uris` (receivers made for those that are
/// `None`), and ADA signed in to both through one browser session.
async fn two_apps(uris: [Option<String>; 2]) -> TwoApps {
    let sesame = Sesame::start(SesameOpts::default());
    let browser = HttpClient::new();
    let meta = flow::discover(&sesame.issuer).await;
    let (mut apps, mut signed_in, mut receivers) = (vec![], vec![], vec![]);
    for (i, uri) in uris.into_iter().enumerate() {
        let name = format!("App{i}");
        let uri = match uri {
            Some(u) => u,
            None => {
                let (base, rx) = receiver().await;
                receivers.push(rx);
                format!("{base}/bcl/{i}")
            }
        };
        let redirect = format!("http://127.0.0.1:9/app{i}/callback");
        let app = sesame.create_app(&AppSpec::new(&name, &redirect).backchannel_logout(&uri));
        assert_eq!(app.json["backchannel_logout_uri"], uri.as_str());
        let client = flow::client(&meta, &app);
        let s = if i == 0 {
            flow::full_sign_in(&sesame, &browser, &client, &app, ADA).await
        } else {
            flow::sso_sign_in(&sesame, &browser, &client, &app).await
        };
        apps.push(app);
        signed_in.push(s);
    }
    TwoApps {
        sesame,
        browser,
        apps,
        signed_in,
        receivers,
    }
}

#[tokio::test]
async fn signing_out_of_one_app_signs_the_user_out_of_both() {
    let mut w = two_apps([None, None]).await;
    let sid = id_claims(&w.signed_in[0])["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        id_claims(&w.signed_in[1])["sid"],
        sid.as_str(),
        "one session, one sid"
    );
    let cookie = w.browser.cookie("sesame_session").unwrap();
    assert_ne!(sid, cookie);

    let discovery = HttpClient::new()
        .get(&w.sesame.url("/.well-known/openid-configuration"))
        .await
        .json();
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    let end_session = discovery["end_session_endpoint"].as_str().unwrap();
    let logout_url = LogoutRequest::from(EndSessionUrl::new(end_session.to_string()).unwrap())
        .set_id_token_hint(&w.signed_in[0].id_token)
        .http_get_url();
    let answer = w
        .browser
        .get_following(logout_url.as_str(), &w.sesame.issuer)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.describe());

    for i in 0..2 {
        let d = next(&mut w.receivers[i], &w.sesame).await;
        assert_eq!(d.path, format!("/bcl/{i}"));
        let c = check_logout_token(&w.sesame, &w.apps[i], &d, &sid).await;
        assert_eq!(c["sub"], id_claims(&w.signed_in[i])["sub"]);
    }
    let audit = audit_of(&w.sesame, 2).await;
    assert!(
        audit.iter().all(|e| e["delivery"] == "delivered"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn an_admin_signing_the_user_out_or_disabling_them_tells_the_apps() {
    let mut w = two_apps([None, None]).await;
    let sid = id_claims(&w.signed_in[0])["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let out = w.sesame.cli(&["user", "sign-out", ADA]);
    assert!(out.status.success(), "{out:?}");
    for i in 0..2 {
        let d = next(&mut w.receivers[i], &w.sesame).await;
        check_logout_token(&w.sesame, &w.apps[i], &d, &sid).await;
    }

    // A new session, then the user is disabled.
    let meta = flow::discover(&w.sesame.issuer).await;
    let browser = HttpClient::new();
    let client = flow::client(&meta, &w.apps[1]);
    let again = flow::full_sign_in(&w.sesame, &browser, &client, &w.apps[1], ADA).await;
    let sid = id_claims(&again)["sid"].as_str().unwrap().to_string();
    let out = w.sesame.cli(&["user", "disable", ADA]);
    assert!(out.status.success(), "{out:?}");
    let d = next(&mut w.receivers[1], &w.sesame).await;
    check_logout_token(&w.sesame, &w.apps[1], &d, &sid).await;
}

#[tokio::test]
async fn an_app_that_is_down_never_holds_up_logout_and_its_failure_is_audited() {
    // App 0 points at a port nothing listens on; app 1 has a working receiver.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/bcl", closed.local_addr().unwrap());
    drop(closed);
    let mut w = two_apps([Some(dead), None]).await;
    let sid = id_claims(&w.signed_in[1])["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let out = w.sesame.cli(&["user", "sign-out", ADA]);
    assert!(out.status.success(), "{out:?}");
    // The working app is told; the logout itself did not wait for either.
    let d = next(&mut w.receivers[0], &w.sesame).await;
    check_logout_token(&w.sesame, &w.apps[1], &d, &sid).await;
    // After its retries, the dead app's delivery is in the audit log as given up.
    let entries = audit_of(&w.sesame, 2).await;
    let failed = entries
        .iter()
        .find(|e| e["client_id"] == w.apps[0].client_id.as_str())
        .unwrap_or_else(|| panic!("no entry for the dead app: {entries:?}"));
    assert_eq!(failed["delivery"], "gave_up", "{failed}");
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["sid"], sid.as_str(), "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{failed}"
    );
}

/// Waits (up to a minute) until the audit log has `n` back-channel logout entries; returns them.
async fn audit_of(sesame: &Sesame, n: usize) -> Vec<Value> {
    for _ in 0..600 {
        let out = sesame.cli(&["audit", "--kind", "backchannel_logout", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = v["entries"].as_array().cloned().unwrap_or_default();
        if entries.len() >= n {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "fewer than {n} back-channel logout entries; log:\n{}",
        sesame.logs()
    );
}
