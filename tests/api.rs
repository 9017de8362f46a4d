//! The management API against the real binary on 127.0.0.1: an API key made with the CLI,
//! then users, groups and apps managed over HTTP and read back, as a provisioning script
//! would.
//!
//! Run: `cargo test --test api` (needs python3 with aiosmtpd, like every test that starts
//! sesame).

mod support;

use hyper::Method;
use serde_json::{json, Value};
use support::http::{HttpClient, Response};
use support::{Sesame, SesameOpts};

/// A client of the management API holding one API key.
struct Admin<'a> {
    sesame: &'a Sesame,
    http: HttpClient,
    bearer: String,
}

impl Admin<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let url = self.sesame.url(&format!("/api/v1{path}"));
        let headers = [("authorization", self.bearer.as_str())];
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.http.send(method, &url, &headers, body).await
    }

    /// A request that must answer `status`; returns its JSON.
    async fn expect(&self, status: u16, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        let r = self.send(method, path, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        r.json()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_with_an_api_key_manages_users_groups_and_apps() {
    let sesame = Sesame::start_default();
    let made = sesame.cli_json(&[
        "api-key",
        "create",
        "--name",
        "provisioning",
        "--expires",
        "30",
        "--json",
    ]);
    let key = made["key"].as_str().expect("the key, shown once");
    assert!(key.starts_with("sesame_"), "{key}");
    let admin = Admin {
        sesame: &sesame,
        http: HttpClient::new(),
        bearer: format!("Bearer {key}"),
    };

    let user = admin
        .expect(
            201,
            Method::POST,
            "/users",
            Some(json!({"email": "ana@example.com", "name": "Ana"})),
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_string();
    admin
        .expect(
            201,
            Method::POST,
            "/groups",
            Some(json!({"name": "family", "description": "Us"})),
        )
        .await;
    admin
        .expect(
            200,
            Method::PUT,
            "/groups/family/members/ana@example.com",
            None,
        )
        .await;
    // An app registered with the CLI, restricted to the group over HTTP.
    let app = sesame.create_web_app("Photos");
    let path = format!("/apps/{}", app.client_id);
    admin
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(json!({"allowed_groups": ["family"]})),
        )
        .await;

    // Read back.
    let shown = admin
        .expect(200, Method::GET, &format!("/users/{user_id}"), None)
        .await;
    assert_eq!(shown["groups"], json!(["family"]));
    let group = admin.expect(200, Method::GET, "/groups/family", None).await;
    assert_eq!(
        group["members"],
        json!([{"id": user_id, "email": "ana@example.com"}])
    );
    let members = admin
        .expect(200, Method::GET, "/users?group=family", None)
        .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1);
    let app_now = admin.expect(200, Method::GET, &path, None).await;
    assert_eq!(app_now["allowed_groups"], json!(["family"]));
    // The CLI sees the same app: one store, one set of operations.
    let from_cli = sesame.cli_json(&["app", "show", &app.client_id, "--json"]);
    assert_eq!(from_cli["allowed_groups"], json!(["family"]));

    // A machine app over HTTP: a secret, shown once, and no redirect URIs (one is refused).
    let machine = admin
        .expect(
            201,
            Method::POST,
            "/apps",
            Some(json!({"name": "Backup job", "type": "machine"})),
        )
        .await;
    assert_eq!(machine["type"], "machine");
    assert!(machine["client_secret"].is_string(), "{machine}");
    assert_eq!(machine["redirect_uris"], json!([]));
    let r = admin
        .send(
            Method::POST,
            "/apps",
            Some(
                json!({"name": "X", "type": "machine", "redirect_uris": ["https://x.example/cb"]}),
            ),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("machine app"), "{}", r.body);

    // Bad input is a problem naming the member.
    let r = admin
        .send(
            Method::POST,
            "/users",
            Some(json!({"email": "not an address"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.json()["errors"][0]["field"], "email");

    // The key's use is noted; once revoked, it no longer works.
    let listed = sesame.cli_json(&["api-key", "list", "--json"]);
    assert!(listed[0]["last_used_at"].is_u64(), "{listed}");
    assert!(listed[0].get("key").is_none());
    let id = made["id"].as_str().unwrap();
    sesame.cli_json(&["api-key", "revoke", id, "--json"]);
    let r = admin.send(Method::GET, "/users", None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_creates_of_one_email_at_once_give_one_user_and_a_409() {
    let sesame = Sesame::start(SesameOpts::with_issuer_path("/oidc"));
    let made = sesame.cli_json(&["api-key", "create", "--name", "race", "--json"]);
    let admin = Admin {
        sesame: &sesame,
        http: HttpClient::new(),
        bearer: format!("Bearer {}", made["key"].as_str().unwrap()),
    };
    let body = || Some(json!({"email": "race@example.com"}));
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            admin.send(Method::POST, "/users", body()),
            admin.send(Method::POST, "/users", body()),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let user = if a.status == 201 { a.json() } else { b.json() };
        let id = user["id"].as_str().unwrap();
        admin
            .expect(200, Method::DELETE, &format!("/users/{id}"), None)
            .await;
    }

    // A body over the limit is refused before it is parsed, as a problem too.
    let huge = json!({ "email": "x@example.com", "name": "n".repeat(70 * 1024) });
    let r = admin.send(Method::POST, "/users", Some(huge)).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");

    // The API lives under the issuer's path, and its document says so; nothing is at the root.
    let doc = admin.http.get(&sesame.url("/api/v1/openapi.json")).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["servers"][0]["url"], sesame.url("/api/v1"));
    let outside = admin
        .http
        .get(&format!("http://127.0.0.1:{}/api/v1/users", sesame.port))
        .await;
    assert_eq!(outside.status, 404);
}

/// Issue 11's policy over HTTP: set on a group and an app at creation or by `PATCH`, returned
/// by every read (named even when optional), refused when misspelt, and each change audited.
#[tokio::test(flavor = "multi_thread")]
async fn the_second_factor_policy_of_groups_and_apps_is_set_read_back_and_audited() {
    let sesame = Sesame::start_default();
    let made = sesame.cli_json(&["api-key", "create", "--name", "policy", "--json"]);
    let admin = Admin {
        sesame: &sesame,
        http: HttpClient::new(),
        bearer: format!("Bearer {}", made["key"].as_str().unwrap()),
    };

    let staff = admin
        .expect(
            201,
            Method::POST,
            "/groups",
            Some(json!({"name": "staff", "second_factor": "required"})),
        )
        .await;
    assert_eq!(staff["second_factor"], "required");
    let family = admin
        .expect(
            201,
            Method::POST,
            "/groups",
            Some(json!({"name": "family"})),
        )
        .await;
    assert_eq!(
        family["second_factor"], "optional",
        "named when optional too"
    );
    let listed = admin.expect(200, Method::GET, "/groups", None).await;
    let policy_of = |name: &str| {
        let items = listed["items"].as_array().unwrap();
        items.iter().find(|g| g["name"] == name).unwrap()["second_factor"].clone()
    };
    assert_eq!(policy_of("staff"), "required");
    assert_eq!(policy_of("family"), "optional");
    let loosened = admin
        .expect(
            200,
            Method::PATCH,
            "/groups/staff",
            Some(json!({"second_factor": "optional"})),
        )
        .await;
    assert_eq!(loosened["second_factor"], "optional");
    let shown = admin.expect(200, Method::GET, "/groups/staff", None).await;
    assert_eq!(shown["second_factor"], "optional");

    let app = admin
        .expect(
            201,
            Method::POST,
            "/apps",
            Some(json!({"name": "NAS", "redirect_uris": ["https://nas.example/cb"], "second_factor": "required"})),
        )
        .await;
    assert_eq!(app["second_factor"], "required");
    let path = format!("/apps/{}", app["client_id"].as_str().unwrap());
    // An update that does not name it keeps it.
    let renamed = admin
        .expect(200, Method::PATCH, &path, Some(json!({"name": "The NAS"})))
        .await;
    assert_eq!(renamed["second_factor"], "required");
    admin
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(json!({"second_factor": "optional"})),
        )
        .await;
    let from_cli = sesame.cli_json(&["app", "show", app["client_id"].as_str().unwrap(), "--json"]);
    assert_eq!(from_cli["second_factor"], "optional");

    // A misspelt value is refused, naming the member; nothing changes.
    for (url, body) in [
        ("/groups/family", json!({"second_factor": "always"})),
        (path.as_str(), json!({"second_factor": "Required!"})),
    ] {
        let r = admin.send(Method::PATCH, url, Some(body)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("second_factor"), "{}", r.body);
    }
    let family = admin.expect(200, Method::GET, "/groups/family", None).await;
    assert_eq!(family["second_factor"], "optional");

    // The audit log has each change: the group's loosening, and the app's from and to.
    let log = sesame.cli_json(&["audit", "--json"]);
    let text = log["entries"].to_string();
    assert!(text.contains("group.update"), "{log}");
    assert!(
        text.contains(r#""second_factor":{"from":"required","to":"optional"}"#),
        "the app's change, field by field: {log}"
    );
    let group_change = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.to_string().contains("group.update"))
        .unwrap();
    assert_eq!(
        group_change["changes"]["second_factor"], "optional",
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_lists_and_removes_a_users_passkeys() {
    let mut sesame = Sesame::start_default();
    let ana = sesame.cli_json(&["user", "add", "ana@example.com", "--json"]);
    let id = ana["id"].as_str().unwrap().to_string();
    sesame.put_passkey(&id, "a2V5LTE", "Security key 1");
    sesame.put_passkey(&id, "a2V5LTI", "Passkey 2");
    let made = sesame.cli_json(&["api-key", "create", "--name", "ops", "--json"]);
    let admin = Admin {
        sesame: &sesame,
        http: HttpClient::new(),
        bearer: format!("Bearer {}", made["key"].as_str().unwrap()),
    };

    let factors = admin
        .expect(200, Method::GET, "/users/ana@example.com/factors", None)
        .await;
    let listed = factors["passkeys"].as_array().expect("a list");
    assert_eq!(listed.len(), 2, "{factors}");
    assert_eq!(listed[0]["alg"], "ES256");
    assert!(listed[0].get("public_key").is_none(), "{factors}");

    let missing = admin
        .expect(
            404,
            Method::DELETE,
            "/users/ana@example.com/passkeys/bm9wZQ",
            None,
        )
        .await;
    assert!(
        missing["detail"].as_str().unwrap().contains("bm9wZQ"),
        "{missing}"
    );
    let removed = admin
        .expect(
            200,
            Method::DELETE,
            &format!("/users/{id}/passkeys/a2V5LTE"),
            None,
        )
        .await;
    assert_eq!(removed["removed"]["name"], "Security key 1", "{removed}");
    admin
        .expect(
            404,
            Method::DELETE,
            &format!("/users/{id}/passkeys/a2V5LTE"),
            None,
        )
        .await;
    let audit = admin
        .expect(200, Method::GET, "/audit?kind=user.remove-passkey", None)
        .await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"]["type"], "api_key", "{audit}");
    assert!(entries[0].to_string().contains("a2V5LTE"), "{audit}");

    let reset = admin
        .expect(
            200,
            Method::POST,
            "/users/ana@example.com/reset-factors",
            None,
        )
        .await;
    assert_eq!(reset["passkeys_removed"], 1, "{reset}");
    let factors = admin
        .expect(200, Method::GET, "/users/ana@example.com/factors", None)
        .await;
    assert_eq!(factors["passkeys"], json!([]));
}
