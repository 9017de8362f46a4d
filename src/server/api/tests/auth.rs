//! Who may call: every route refuses what does not authenticate (401) and a signed-in
//! non-administrator (403); an administrator's session may read, and write with its CSRF token
//! from this issuer's origin.

use super::*;
use crate::server::api::{Access, Kind};
use serde_json::json;

/// Each admin route, as a concrete path with the method it answers.
fn admin_routes() -> impl Iterator<Item = (Method, String)> {
    ROUTES
        .iter()
        .filter(|r| r.access == Access::Admin)
        .map(|r| (method(r.verb), concrete(r.path)))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_missing_wrong_expired_and_revoked_keys() {
    let api = Api::new();
    let p = api.provider();
    let (expired, expired_key) =
        api_keys::create(&p.store, p.now() - 2 * 86400, key_named("old", Some(1))).unwrap();
    let (revoked, revoked_key) =
        api_keys::create(&p.store, p.now(), key_named("gone", None)).unwrap();
    api_keys::revoke(&p.store, p.now(), &revoked.id).unwrap();
    let expired_bearer = format!("Bearer {expired_key}");
    let revoked_bearer = format!("Bearer {revoked_key}");
    let wrong_key = format!("Bearer {}x", api.key);
    let credentials = [
        ("none", As::Nobody),
        ("a wrong key", As::Authorization(&wrong_key)),
        (
            "not a sesame key",
            As::Authorization("Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig"),
        ),
        ("another scheme", As::Authorization("Basic cm9vdDpyb290")),
        ("an expired key", As::Authorization(&expired_bearer)),
        ("a revoked key", As::Authorization(&revoked_bearer)),
        (
            "an ended session",
            As::Cookie {
                cookie: "no-such-session",
                csrf: None,
                origin: None,
            },
        ),
    ];
    for (method, path) in admin_routes() {
        for (what, who) in credentials {
            let r = api.call(method.clone(), &path, Some(&json!({})), who).await;
            r.problem(Kind::Unauthorized);
            let challenge = r.headers["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.starts_with("Bearer realm=\"sesame\""),
                "{method} {path} with {what}: {challenge}"
            );
            let presented = !matches!(who, As::Nobody | As::Cookie { .. });
            assert_eq!(
                challenge.contains("invalid_token"),
                presented,
                "{method} {path} with {what}"
            );
        }
    }
    // Nothing was done on their behalf: the expired key's use was not even noted.
    let listed = api_keys::list(&p.store).unwrap();
    let old = listed.iter().find(|k| k.id == expired.id).unwrap();
    assert_eq!(old.last_used_at, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_a_signed_in_user_who_is_not_an_administrator() {
    let api = Api::new();
    let cookie = api.user_cookie.clone();
    let csrf = crate::server::api::csrf_token(&cookie);
    for (method, path) in admin_routes() {
        let who = As::Cookie {
            cookie: &cookie,
            csrf: Some(&csrf),
            origin: Some("https://id.example"),
        };
        let r = api.call(method.clone(), &path, Some(&json!({})), who).await;
        r.problem(Kind::NotAdmin);
        assert!(r.json["detail"]
            .as_str()
            .unwrap()
            .contains("pat@example.com"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_administrators_session_reads_freely_and_writes_with_its_csrf_token_from_this_origin() {
    let api = Api::new();
    let cookie = api.admin_cookie.clone();
    let plain = As::Cookie {
        cookie: &cookie,
        csrf: None,
        origin: None,
    };
    let me = api.call(Method::GET, "/session", None, plain).await;
    assert_eq!(me.ok()["kind"], "session");
    assert_eq!(me.json["user"]["email"], "root@example.com");
    let token = me.json["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(token, crate::server::api::csrf_token(&cookie));
    api.call(Method::GET, "/users", None, plain).await.ok();

    let group = |name: &str| json!({ "name": name });
    // A write without the token, with a wrong one, or with another session's.
    let other = crate::server::api::csrf_token(&api.user_cookie);
    for csrf in [None, Some("wrong"), Some(other.as_str())] {
        let who = As::Cookie {
            cookie: &cookie,
            csrf,
            origin: None,
        };
        let r = api
            .call(Method::POST, "/groups", Some(&group("a")), who)
            .await;
        r.problem(Kind::CsrfFailed);
    }
    // The right token from another origin (a sibling subdomain the cookie also reaches).
    for origin in [
        "https://evil.example",
        "https://sub.id.example",
        "null",
        "http://id.example",
    ] {
        let who = As::Cookie {
            cookie: &cookie,
            csrf: Some(&token),
            origin: Some(origin),
        };
        let r = api.call(Method::DELETE, "/groups/admins", None, who).await;
        r.problem(Kind::CsrfFailed);
        assert!(r.json["detail"].as_str().unwrap().contains(origin));
    }
    // The right token, from this origin or with no Origin at all (not every client sends it).
    for (name, origin) in [("family", Some("https://id.example")), ("friends", None)] {
        let who = As::Cookie {
            cookie: &cookie,
            csrf: Some(&token),
            origin,
        };
        let r = api
            .call(Method::POST, "/groups", Some(&group(name)), who)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    }
    assert!(users::get_group(&api.provider().store, "friends").is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_needs_no_csrf_token_and_says_who_it_is() {
    let api = Api::new();
    let r = api
        .call(
            Method::POST,
            "/groups",
            Some(&json!({"name": "ci"})),
            As::Key,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let me = api.key(Method::GET, "/session", None).await;
    assert_eq!(me.ok()["kind"], "api_key");
    assert_eq!(me.json["api_key"]["name"], "tests");
    assert!(me.json.get("csrf_token").is_none());
    // Its use is noted.
    let keys = api_keys::list(&api.provider().store).unwrap();
    assert_eq!(keys[0].last_used_at, Some(api.provider().now()));
}
