//! What goes wrong, as problem+json: bodies that are not JSON objects, members that do not
//! fit (named), unknown routes and things, conflicts, and a create that loses a race.

use super::*;
use crate::server::api::Kind;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_a_json_object_is_refused_with_the_reason() {
    let api = Api::new();
    for (content_type, body, kind, says) in [
        (
            "application/json",
            "{\"email\": ",
            Kind::InvalidBody,
            "not valid JSON",
        ),
        (
            "application/json",
            "[1, 2]",
            Kind::InvalidBody,
            "not an array",
        ),
        (
            "application/json",
            "\"ana@example.com\"",
            Kind::InvalidBody,
            "not a string",
        ),
        (
            "application/x-www-form-urlencoded",
            "email=a%40b.example",
            Kind::UnsupportedMediaType,
            "application/x-www-form-urlencoded",
        ),
        ("text/plain", "{}", Kind::UnsupportedMediaType, "text/plain"),
    ] {
        let r = api
            .send(Method::POST, "/users", content_type, body, As::Key)
            .await;
        assert_eq!(r.problem(kind), None);
        assert!(
            r.json["detail"].as_str().unwrap().contains(says),
            "{}",
            r.json
        );
    }
    // A +json type is JSON.
    let r = api
        .send(
            Method::POST,
            "/groups",
            "application/merge-patch+json",
            "{\"name\":\"g\"}",
            As::Key,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_names_the_member_at_fault() {
    let api = Api::new();
    api.key(Method::POST, "/groups", Some(&json!({"name": "family"})))
        .await
        .ok();
    let cases: Vec<(Method, &str, Value, &str)> = vec![
        (Method::POST, "/users", json!({"name": "Ana"}), "email"),
        (
            Method::POST,
            "/users",
            json!({"email": "not an address"}),
            "email",
        ),
        (Method::POST, "/users", json!({"email": 7}), "email"),
        (
            Method::POST,
            "/users",
            json!({"email": "a@example.com", "emial": "x"}),
            "emial",
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@example.com", "groups": ["family", "nope"]}),
            "groups[1]",
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@example.com", "username": "-x"}),
            "username",
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@example.com", "picture": "ftp://x"}),
            "picture",
        ),
        (
            Method::PATCH,
            "/users/pat@example.com",
            json!({"claims": {"sub": "me"}}),
            "claims.sub",
        ),
        (
            Method::PATCH,
            "/users/pat@example.com",
            json!({"nmae": "Pat"}),
            "nmae",
        ),
        (
            Method::POST,
            "/groups",
            json!({"name": "no spaces"}),
            "name",
        ),
        (
            Method::PATCH,
            "/groups/family",
            json!({"claims": ["a"]}),
            "claims",
        ),
        (
            Method::POST,
            "/apps",
            json!({"redirect_uris": ["https://a.example/cb"]}),
            "name",
        ),
        (
            Method::POST,
            "/apps",
            json!({"name": "A", "type": "desktop", "redirect_uris": []}),
            "type",
        ),
        (
            Method::POST,
            "/apps",
            json!({"name": "A", "redirect_uris": ["https://a.example/cb", "https://a.example/#x"]}),
            "redirect_uris[1]",
        ),
        (
            Method::POST,
            "/apps",
            json!({"name": "A", "redirect_uris": ["https://a.example/cb"], "post_logout_redirect_uris": ["https://a.example/#x"]}),
            "post_logout_redirect_uris[0]",
        ),
        (
            Method::POST,
            "/apps",
            json!({"name": "A", "redirect_uris": ["https://a.example/cb"], "allowed_groups": ["nope"]}),
            "allowed_groups[0]",
        ),
        (
            Method::POST,
            "/apps",
            json!({"name": " ", "redirect_uris": ["https://a.example/cb"]}),
            "name",
        ),
        (Method::POST, "/apps", json!({"name": "A"}), "redirect_uris"),
        (Method::POST, "/keys/rotate", json!({"alg": "HS256"}), "alg"),
        (Method::POST, "/api-keys", json!({"name": ""}), "name"),
        (
            Method::POST,
            "/api-keys",
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            Method::POST,
            "/api-keys",
            json!({"name": "x", "expires_in_days": -1}),
            "expires_in_days",
        ),
        (
            Method::POST,
            "/users/pat@example.com/disable",
            json!({"really": true}),
            "really",
        ),
        (
            Method::PUT,
            "/connectors/ses",
            json!({"region": "eu-west-1"}),
            "",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = api.key(method.clone(), path, Some(&body)).await;
        let blamed = r.problem(Kind::InvalidInput);
        assert_eq!(
            blamed.as_deref().unwrap_or(""),
            field,
            "{method} {path} {body}: {}",
            r.json
        );
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("limit=501", "limit"),
        ("group=nope", "group"),
        ("after=a&after=b", "after"),
    ] {
        let r = api.key(Method::GET, &format!("/users?{query}"), None).await;
        assert_eq!(
            r.problem(Kind::InvalidInput).as_deref(),
            Some(field),
            "{query}"
        );
    }
    // Nothing was made by any of them.
    assert_eq!(
        users::list(&api.provider().store, None, None, None, 100)
            .unwrap()
            .items
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_methods_and_things_are_problems() {
    let api = Api::new();
    for path in [
        "/nowhere",
        "/users/a/b/c",
        "/users/",
        "",
        "/connectors/sendgrid",
    ] {
        api.key(Method::GET, path, None)
            .await
            .problem(Kind::NotFound);
    }
    // No credentials needed to learn that a route does not exist: the table is public.
    api.call(Method::GET, "/nowhere", None, As::Nobody)
        .await
        .problem(Kind::NotFound);
    let r = api.key(Method::DELETE, "/users", None).await;
    r.problem(Kind::MethodNotAllowed);
    assert_eq!(r.headers["allow"], "GET, POST");
    let r = api.key(Method::POST, "/connectors/ses", None).await;
    assert_eq!(r.headers["allow"], "GET, PUT, DELETE");
    for (method, path) in [
        (Method::GET, "/users/nobody@example.com"),
        (Method::PATCH, "/users/nobody"),
        (Method::GET, "/groups/nope"),
        (Method::PUT, "/groups/nope/members/pat@example.com"),
        (Method::PUT, "/groups/admins/members/nobody"),
        (Method::GET, "/apps/nope"),
        (Method::POST, "/apps/nope/rotate-secret"),
        (Method::DELETE, "/api-keys/nope"),
        (Method::DELETE, "/users/nobody/passkeys/a2V5"),
        (Method::DELETE, "/users/pat@example.com/passkeys/a2V5"),
    ] {
        let r = api.key(method.clone(), path, Some(&json!({}))).await;
        assert_eq!(r.problem(Kind::NotFound), None, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_and_what_is_managed_elsewhere_are_conflicts() {
    let api = Api::new();
    let r = api
        .key(
            Method::POST,
            "/users",
            Some(&json!({"email": "PAT@example.com"})),
        )
        .await;
    assert_eq!(r.problem(Kind::Duplicate).as_deref(), Some("email"));
    api.key(
        Method::PATCH,
        "/users/pat@example.com",
        Some(&json!({"username": "pat"})),
    )
    .await
    .ok();
    let r = api
        .key(
            Method::PATCH,
            "/users/root@example.com",
            Some(&json!({"username": "PAT"})),
        )
        .await;
    assert_eq!(r.problem(Kind::Duplicate).as_deref(), Some("username"));
    let r = api
        .key(Method::POST, "/groups", Some(&json!({"name": "admins"})))
        .await;
    assert_eq!(r.problem(Kind::Duplicate).as_deref(), Some("name"));
    api.key(Method::DELETE, "/groups/admins", None)
        .await
        .problem(Kind::Declared);

    // A user declared in sesame.toml.
    let p = api.provider();
    let decl: crate::users::UserDecl =
        serde_json::from_value(json!({"email": "ops@example.com"})).unwrap();
    crate::users::reconcile(&p.store, p.now(), &[], &[decl]).unwrap();
    for (method, path) in [
        (Method::DELETE, "/users/ops@example.com"),
        (Method::PATCH, "/users/ops@example.com"),
        (Method::PUT, "/groups/admins/members/ops@example.com"),
    ] {
        let r = api.key(method.clone(), path, Some(&json!({}))).await;
        r.problem(Kind::Declared);
        assert!(
            r.json["detail"].as_str().unwrap().contains("sesame.toml"),
            "{}",
            r.json
        );
    }
    // A public client has no secret to rotate.
    let path = format!(
        "/apps/{}/rotate-secret",
        crate::provider::testing::PUBLIC_CLIENT
    );
    api.key(Method::POST, &path, None)
        .await
        .problem(Kind::Conflict);
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_concurrent_creates_of_one_email_one_wins_and_one_gets_409() {
    let api = Arc::new(Api::new());
    let create = |api: Arc<Api>| async move {
        let body = json!({"email": "race@example.com"});
        api.key(Method::POST, "/users", Some(&body)).await.status
    };
    let (a, b) = tokio::join!(
        tokio::spawn(create(api.clone())),
        tokio::spawn(create(api.clone()))
    );
    let mut statuses = [a.unwrap(), b.unwrap()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let page = users::list(&api.provider().store, None, None, None, 100).unwrap();
    assert_eq!(
        page.items
            .iter()
            .filter(|u| u.email == "race@example.com")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_groups_api_scopes_are_set_and_shown_through_the_api() {
    let api = Api::new();
    let scopes = json!({"https://api.home/": ["read"]});
    let made = api
        .key(
            Method::POST,
            "/groups",
            Some(&json!({"name": "family", "api_scopes": scopes})),
        )
        .await;
    assert_eq!(made.ok()["api_scopes"], scopes);
    let wider = json!({"https://api.home/": ["read", "write"]});
    let changed = api
        .key(
            Method::PATCH,
            "/groups/family",
            Some(&json!({"api_scopes": wider})),
        )
        .await;
    assert_eq!(changed.ok()["api_scopes"], wider);
    let bad = api
        .key(
            Method::PATCH,
            "/groups/family",
            Some(&json!({"api_scopes": {"https://api.home/": "read"}})),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}: {}", bad.status, bad.json);
}
