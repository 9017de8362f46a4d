//! Every route answering an API key, in the order an operator would use them; the last test
//! checks that no route of the table was left out.

use super::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_an_api_key() {
    let api = Api::new();
    let me = api.key(Method::GET, "/session", None).await;
    assert_eq!(me.ok()["kind"], "api_key");
    users_and_groups(&api).await;
    apps(&api).await;
    apis(&api).await;
    mail_keys_and_api_keys(&api).await;
    audit_log(&api).await;
    let doc = api
        .call(Method::GET, "/openapi.json", None, As::Nobody)
        .await;
    assert_eq!(doc.ok()["openapi"], "3.1.0");
    assert_eq!(doc.json["servers"][0]["url"], "https://id.example/api/v1");

    let answered = api.answered.lock().unwrap().clone();
    let all: BTreeSet<(Verb, &str)> = ROUTES.iter().map(|r| (r.verb, r.path)).collect();
    let missed: Vec<_> = all.difference(&answered).collect();
    assert!(missed.is_empty(), "routes no test answered: {missed:?}");
}

async fn users_and_groups(api: &Api) {
    let family = api
        .key(
            Method::POST,
            "/groups",
            Some(&json!({"name": "family", "description": "Us"})),
        )
        .await;
    assert_eq!(family.status, StatusCode::CREATED);
    assert_eq!(family.headers["location"], "/api/v1/groups/family");
    let ana = api
        .key(
            Method::POST,
            "/users",
            Some(&json!({"email": "ana@example.com", "name": "Ana", "groups": ["family"]})),
        )
        .await;
    assert_eq!(ana.status, StatusCode::CREATED, "{}", ana.json);
    let id = ana.json["id"].as_str().unwrap().to_string();
    assert_eq!(ana.headers["location"], format!("/api/v1/users/{id}"));
    assert_eq!(ana.json["email_verified"], true);

    // By ID, by email (percent-encoded or not).
    for who in [id.as_str(), "ana@example.com", "ana%40example.com"] {
        let shown = api.key(Method::GET, &format!("/users/{who}"), None).await;
        assert_eq!(shown.ok()["id"], id.as_str());
    }
    let changed = api
        .key(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(&json!({"username": "ana", "claims": {"team": "a"}})),
        )
        .await;
    assert_eq!(changed.ok()["username"], "ana");
    assert_eq!(changed.json["name"], "Ana", "what is absent stays");

    let page = api.key(Method::GET, "/users?group=family", None).await;
    assert_eq!(page.ok()["items"].as_array().unwrap().len(), 1);
    assert!(page.json.get("next").is_none());

    let disabled = api.key(Method::POST, "/users/ana/disable", None).await;
    assert_eq!(disabled.ok()["disabled"], true);
    let enabled = api.key(Method::POST, "/users/ana/enable", None).await;
    assert_eq!(enabled.ok()["disabled"], false);
    let out = api.key(Method::POST, "/users/ana/sign-out", None).await;
    assert_eq!(out.ok()["sessions_ended"], 0);
    let factors = api.key(Method::GET, "/users/ana/factors", None).await;
    assert_eq!(factors.ok()["totp"], "none");
    assert_eq!(factors.json["recovery_codes"], 0);
    let reset = api
        .key(Method::POST, "/users/ana/reset-factors", None)
        .await;
    assert_eq!(reset.ok()["totp_removed"], false);
    assert_eq!(reset.json["recovery_codes_removed"], 0);
    assert_eq!(reset.json["passkeys_removed"], 0);
    passkeys(api, &id).await;

    let friends = json!({"name": "friends"});
    api.key(Method::POST, "/groups", Some(&friends)).await.ok();
    let joined = api
        .key(Method::PUT, "/groups/friends/members/ana", None)
        .await;
    assert_eq!(joined.ok()["groups"], json!(["family", "friends"]));
    let shown = api.key(Method::GET, "/groups/friends", None).await;
    assert_eq!(shown.ok()["members"][0]["email"], "ana@example.com");
    let left = api
        .key(Method::DELETE, "/groups/friends/members/ana", None)
        .await;
    assert_eq!(left.ok()["groups"], json!(["family"]));
    let described = api
        .key(
            Method::PATCH,
            "/groups/friends",
            Some(&json!({"description": "Pals"})),
        )
        .await;
    assert_eq!(described.ok()["description"], "Pals");
    let groups = api.key(Method::GET, "/groups", None).await;
    let names: Vec<&str> = groups.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admins", "family", "friends"]);
    api.key(Method::DELETE, "/groups/friends", None).await.ok();

    let bob = json!({"email": "bob@example.com"});
    api.key(Method::POST, "/users", Some(&bob)).await.ok();
    let gone = api
        .key(Method::DELETE, "/users/bob@example.com", None)
        .await;
    assert_eq!(gone.ok()["email"], "bob@example.com");
    api.key(Method::GET, "/users/bob@example.com", None)
        .await
        .problem(crate::server::api::Kind::NotFound);
}

async fn apps(api: &Api) {
    let new = json!({
        "name": "Photos",
        "redirect_uris": ["https://photos.example/cb"],
        "allowed_groups": ["family"],
    });
    let made = api.key(Method::POST, "/apps", Some(&new)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let id = made.json["client_id"].as_str().unwrap().to_string();
    assert!(made.json["client_secret"].is_string(), "shown once");
    assert_eq!(made.json["allowed_groups"], json!(["family"]));

    let shown = api.key(Method::GET, &format!("/apps/{id}"), None).await;
    assert!(shown.ok().get("client_secret").is_none());
    let list = api.key(Method::GET, "/apps", None).await;
    assert_eq!(
        list.ok()["items"].as_array().unwrap().len(),
        4,
        "with the fixture's three"
    );
    let changed = api
        .key(
            Method::PATCH,
            &format!("/apps/{id}"),
            Some(&json!({"name": "Pictures", "allowed_groups": [], "refresh_retry_window": 0})),
        )
        .await;
    assert_eq!(changed.ok()["name"], "Pictures");
    assert_eq!(changed.json["allowed_groups"], json!([]));
    assert_eq!(changed.json["refresh_retry_window"], 0);
    let rotated = api
        .key(Method::POST, &format!("/apps/{id}/rotate-secret"), None)
        .await;
    assert_ne!(rotated.ok()["client_secret"], made.json["client_secret"]);
    let deleted = api.key(Method::DELETE, &format!("/apps/{id}"), None).await;
    assert_eq!(deleted.ok()["name"], "Pictures");
}

/// APIs by their indicator, percent-encoded as one path segment; errors name what is wrong.
async fn apis(api: &Api) {
    use crate::server::api::Kind;
    const AT: &str = "/apis/https%3A%2F%2Fapi.home%2F";
    let new = json!({
        "indicator": "https://api.home/",
        "name": "Home API",
        "scopes": [{"name": "read", "description": "Read things"}],
    });
    let made = api.key(Method::POST, "/apis", Some(&new)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    assert_eq!(made.headers["location"], format!("/api/v1{AT}"));
    assert_eq!(made.json["alg"], "ES256");
    assert_eq!(made.json["access_token_ttl"], 600);
    let again = api.key(Method::POST, "/apis", Some(&new)).await;
    assert_eq!(again.problem(Kind::Duplicate).as_deref(), Some("indicator"));
    let bad = json!({"indicator": "api.home", "name": "Bad"});
    let bad = api.key(Method::POST, "/apis", Some(&bad)).await;
    assert_eq!(
        bad.problem(Kind::InvalidInput).as_deref(),
        Some("indicator")
    );
    assert!(bad.json["detail"].as_str().unwrap().contains("api.home"));
    let ttl = json!({"indicator": "https://b.home/", "name": "B", "access_token_ttl": 0});
    let ttl = api.key(Method::POST, "/apis", Some(&ttl)).await;
    assert_eq!(
        ttl.problem(Kind::InvalidInput).as_deref(),
        Some("access_token_ttl")
    );

    let list = api.key(Method::GET, "/apis", None).await;
    assert_eq!(list.ok()["items"][0]["indicator"], "https://api.home/");
    let shown = api.key(Method::GET, AT, None).await;
    assert_eq!(shown.ok()["scopes"][0]["name"], "read");
    let changed = json!({"name": "Home", "scopes": [{"name": "write"}], "alg": "RS256"});
    let changed = api.key(Method::PATCH, AT, Some(&changed)).await;
    assert_eq!(changed.ok()["name"], "Home");
    assert_eq!(
        changed.json["scopes"],
        json!([{"name": "write", "description": ""}])
    );
    assert_eq!(changed.json["alg"], "RS256");
    let typo = api
        .key(Method::PATCH, AT, Some(&json!({"nmae": "x"})))
        .await;
    assert_eq!(typo.problem(Kind::InvalidInput).as_deref(), Some("nmae"));

    // Not exactly the registered indicator (no trailing slash), or not a URI at all: 404.
    for unknown in ["/apis/https%3A%2F%2Fapi.home", "/apis/nothing"] {
        let r = api.key(Method::GET, unknown, None).await;
        r.problem(Kind::NotFound);
        let r = api.key(Method::DELETE, unknown, None).await;
        r.problem(Kind::NotFound);
    }
    let deleted = api.key(Method::DELETE, AT, None).await;
    assert_eq!(deleted.ok()["name"], "Home");
    api.key(Method::GET, AT, None).await.problem(Kind::NotFound);
}

async fn mail_keys_and_api_keys(api: &Api) {
    let none = api.key(Method::GET, "/connectors/ses", None).await;
    assert_eq!(none.ok()["stored"], false);
    let ses = json!({
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "eu-west-1",
        "emailAddress": "noreply@example.com",
        "templates": []
    });
    let set = api.key(Method::PUT, "/connectors/ses", Some(&ses)).await;
    assert_eq!(set.ok()["stored"], true);
    assert_eq!(set.json["config"]["accessKeySecret"], "********");
    assert_eq!(
        api.provider().mailer().transport_name(),
        "ses",
        "the running server sends with it at once"
    );
    let shown = api.key(Method::GET, "/connectors/ses", None).await;
    assert_eq!(shown.ok()["config"]["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
    let deleted = api.key(Method::DELETE, "/connectors/ses", None).await;
    assert_eq!(deleted.ok()["deleted"], true);
    assert_eq!(api.provider().mailer().transport_name(), "log");

    // An SMTP server instead: tls "none" only to this machine, the password masked; storing it
    // removes a stored SES connector (one connector at a time).
    api.key(Method::PUT, "/connectors/ses", Some(&ses))
        .await
        .ok();
    let clear = json!({"host": "mail.example.com", "tls": "none", "from": "noreply@example.com"});
    let r = api.key(Method::PUT, "/connectors/smtp", Some(&clear)).await;
    assert_eq!(
        r.problem(crate::server::api::Kind::InvalidInput).as_deref(),
        Some("tls")
    );
    assert!(
        r.json["detail"].as_str().unwrap().contains("127.0.0.0/8"),
        "{}",
        r.json
    );
    let file = json!({"host": "127.0.0.1", "from": "noreply@example.com", "ca_file": "/ca.pem"});
    let r = api.key(Method::PUT, "/connectors/smtp", Some(&file)).await;
    assert_eq!(
        r.problem(crate::server::api::Kind::InvalidInput).as_deref(),
        Some("ca_file")
    );
    let smtp = json!({"host": "127.0.0.1", "port": 2525, "tls": "none", "username": "relay",
                      "password": "relay-pw-77", "from": "noreply@example.com"});
    let set = api.key(Method::PUT, "/connectors/smtp", Some(&smtp)).await;
    assert_eq!(set.ok()["config"]["password"], "********");
    assert_eq!(api.provider().mailer().transport_name(), "smtp");
    let ses_now = api.key(Method::GET, "/connectors/ses", None).await;
    assert_eq!(ses_now.ok()["stored"], false, "the SES connector gave way");
    let shown = api.key(Method::GET, "/connectors/smtp", None).await;
    assert_eq!(shown.ok()["config"]["host"], "127.0.0.1");
    assert_eq!(shown.json["config"]["password"], "********");
    let deleted = api.key(Method::DELETE, "/connectors/smtp", None).await;
    assert_eq!(deleted.ok()["deleted"], true);
    assert_eq!(api.provider().mailer().transport_name(), "log");

    let before = api.provider().keys().jwks();
    let rotated = api
        .key(Method::POST, "/keys/rotate", Some(&json!({"alg": "ES256"})))
        .await;
    let kid = rotated.ok()["kid"].as_str().unwrap().to_string();
    let after = api.provider().keys().jwks();
    assert_ne!(before, after, "the running server loaded the new key");
    assert!(after.to_string().contains(&kid));

    // No expiry: the command stamps keys with the system clock, and this provider's clock is
    // fixed in the future (expiry itself is tested with keys made at the provider's time).
    let made = api
        .key(Method::POST, "/api-keys", Some(&json!({"name": "deploy"})))
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let new_key = made.json["key"].as_str().unwrap().to_string();
    let id = made.json["id"].as_str().unwrap().to_string();
    let list = api.key(Method::GET, "/api-keys", None).await;
    let items = list.ok()["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        !list.json.to_string().contains(&new_key[7..]),
        "never listed"
    );
    let bearer = format!("Bearer {new_key}");
    let who = As::Authorization(&bearer);
    api.call(Method::GET, "/users", None, who).await.ok();
    let revoked = api
        .key(Method::DELETE, &format!("/api-keys/{id}"), None)
        .await;
    assert_eq!(revoked.ok()["state"], "revoked");
    api.call(Method::GET, "/users", None, who)
        .await
        .problem(crate::server::api::Kind::Unauthorized);
}

/// Ana's passkeys listed and one removed (a record as registration stores it); an unknown
/// credential is a 404 naming it; the removal is audited as the API key's.
async fn passkeys(api: &Api, id: &str) {
    use crate::store::Writes;
    let key = crate::provider::testing::passkey(id, "a2V5LTE", 1_800_000_000);
    let store = &api.server.provider.store;
    store.write(|tx| tx.put_passkey(&key)).unwrap();
    let factors = api.key(Method::GET, "/users/ana/factors", None).await;
    let listed = &factors.ok()["passkeys"];
    assert_eq!(listed[0]["credential_id"], "a2V5LTE", "{listed}");
    assert_eq!(listed[0]["synced"], true);
    assert!(listed[0].get("public_key").is_none(), "{listed}");

    let unknown = api
        .key(Method::DELETE, "/users/ana/passkeys/bm9wZQ", None)
        .await;
    unknown.problem(crate::server::api::Kind::NotFound);
    assert!(unknown.json["detail"].as_str().unwrap().contains("bm9wZQ"));
    let removed = api
        .key(Method::DELETE, "/users/ana/passkeys/a2V5LTE", None)
        .await;
    assert_eq!(removed.ok()["removed"]["credential_id"], "a2V5LTE");
    assert_eq!(removed.json["user"], id);
    let factors = api.key(Method::GET, "/users/ana/factors", None).await;
    assert_eq!(factors.ok()["passkeys"], json!([]));
    let audit = api
        .key(Method::GET, "/audit?kind=user.remove-passkey", None)
        .await;
    let entries = audit.ok()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{}", audit.json);
    assert_eq!(entries[0]["actor"]["type"], "api_key");
    assert!(entries[0].to_string().contains("a2V5LTE"));
}

/// Every change above is in the audit log, made by the API key, with secrets masked.
async fn audit_log(api: &Api) {
    let page = api
        .key(Method::GET, "/audit?kind=user.add&limit=5", None)
        .await;
    let entries = page.ok()["entries"].as_array().unwrap().clone();
    assert!(!entries.is_empty(), "{}", page.json);
    for e in &entries {
        assert_eq!(e["actor"]["type"], "api_key", "{e}");
        assert_eq!(e["command"], "user.add", "{e}");
    }
    let set = api
        .key(Method::GET, "/audit?kind=connector.set", None)
        .await;
    let text = set.ok().to_string();
    assert!(text.contains("connector.set"), "{text}");
    assert!(
        !text.contains("wJalrXUtnFEMI") && !text.contains("relay-pw-77"),
        "the connector secrets are masked: {text}"
    );
    let bad = api.key(Method::GET, "/audit?kind=nonsense", None).await;
    bad.problem(crate::server::api::Kind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_come_a_page_at_a_time() {
    let api = Api::new();
    for n in 0..3 {
        let u = json!({ "email": format!("u{n}@example.com") });
        api.key(Method::POST, "/users", Some(&u)).await.ok();
    }
    // Five in all, with the fixture's two.
    let mut seen = Vec::new();
    let mut path = "/users?limit=2".to_string();
    loop {
        let page = api.key(Method::GET, &path, None).await;
        let items = page.ok()["items"].as_array().unwrap().clone();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_string()),
        );
        match page.json["next"].as_str() {
            Some(next) => path = format!("/users?limit=2&after={next}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "pat@example.com",
            "root@example.com",
            "u0@example.com",
            "u1@example.com",
            "u2@example.com"
        ]
    );
}
