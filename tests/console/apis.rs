//! The console's APIs, end to end (part of `tests/console.rs`, sharing its helpers): an
//! administrator registers an API (a bad indicator and a bad scope refused with the reason,
//! the typed values kept), grants a group one of its scopes on the group's page, and a member
//! of that group then gets a JWT access token for the API with that scope, and no other; the
//! API is deleted after a confirmation. Every form refuses a missing and a wrong CSRF token.

use super::{admin_console, assert_audited_as_admin, assert_strict_headers, post, ADA};
use crate::support::flow;
use crate::support::http::HttpClient;
use serde_json::json;

const HOME: &str = "https://api.home.test/";

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_registers_an_api_grants_a_group_a_scope_and_a_member_gets_a_jwt_with_it() {
    let sesame = crate::support::Sesame::start_default();
    let app = sesame.create_web_app("Immich");
    let kid = "kid@example.com";
    for args in [
        &["group", "add", "family"][..],
        &["user", "add", kid, "--group", "family"],
    ] {
        let out = sesame.cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let browser = HttpClient::new();
    let page = admin_console(&sesame, &browser).await;
    let token = page.expect_input("csrf");

    let list = browser.get(&sesame.url("/console/apis")).await;
    assert_eq!(list.status, 200, "{}", list.describe());
    assert_strict_headers(&list);
    assert!(list.body.contains("aria-current=\"page\">APIs"), "the nav");
    assert!(list.body.contains("No APIs yet."));

    // Register: CSRF checked; a bad indicator and a bad scope refused, the form kept.
    let create = [
        ("indicator", HOME),
        ("name", "Home API"),
        ("scopes", "read = Read the photos\r\nwrite\r\n"),
        ("alg", "ES256"),
        ("ttl", "300"),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/apis", &create)
        .await;
    let mut bad = create;
    bad[0] = ("indicator", "api.home.test");
    let r = post(&sesame, &browser, "/console/apis", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("api.home.test"));
    assert!(r.body.contains("value=\"Home API\""), "the form is kept");
    let mut bad = create;
    bad[2] = ("scopes", "two words");
    let r = post(&sesame, &browser, "/console/apis", &bad).await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("is not usable"));
    let r = post(&sesame, &browser, "/console/apis", &create).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(list.body.contains("The API is registered") && list.body.contains(HOME));
    let api = sesame.cli_json(&["api", "show", HOME, "--json"]);
    assert_eq!(api["access_token_ttl"], 300);
    assert_eq!(
        api["scopes"],
        json!([{"name": "read", "description": "Read the photos"}, {"name": "write", "description": ""}])
    );
    assert_audited_as_admin(&sesame, "api.create", ADA);

    // Grant family the read scope on its page (one checkbox per scope).
    let group = browser
        .get(&sesame.url("/console/groups/show?name=family"))
        .await;
    assert_eq!(group.status, 200, "{}", group.describe());
    let read = format!("{HOME} read");
    assert!(
        group.body.contains(&format!("value=\"{read}\"")),
        "{}",
        group.body
    );
    let grant = [
        ("name", "family"),
        ("scope", read.as_str()),
        ("csrf", token.as_str()),
    ];
    sesame
        .assert_csrf_refused(&browser, "/console/groups/api-scopes", &grant)
        .await;
    let r = post(&sesame, &browser, "/console/groups/api-scopes", &grant).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let group = browser.follow_within(r, &sesame.issuer).await;
    assert!(
        group.body.contains("API scopes are saved"),
        "{}",
        group.describe()
    );
    assert!(group.body.contains(&format!("value=\"{read}\" checked")));
    let stored = sesame.cli_json(&["group", "show", "family", "--json"]);
    assert_eq!(stored["api_scopes"], json!({ HOME: ["read"] }));

    // A member asks for read and write for the API: the JWT carries read, as granted.
    let (verifier, challenge) = flow::pkce_pair();
    let auth = flow::auth_url(
        &sesame,
        &[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", &app.redirect_uri),
            ("scope", "openid read write"),
            ("resource", HOME),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = flow::sign_in(&sesame, &HttpClient::new(), &auth, kid).await;
    let code = back.code.unwrap_or_else(|| panic!("no code: {}", back.url));
    let secret = app.client_secret.clone().expect("a web app has a secret");
    let tokens = flow::token_form(
        &sesame,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &app.redirect_uri),
            ("code_verifier", &verifier),
        ],
        Some((&app.client_id, &secret)),
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.describe());
    let at = tokens.json()["access_token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(flow::jwt_header(&at)["typ"], "at+jwt");
    let claims = flow::jwt_payload(&at);
    assert_eq!(
        (claims["aud"].as_str(), claims["scope"].as_str()),
        (Some(HOME), Some("read"))
    );

    // Delete, after the confirmation step.
    let confirm_url = format!(
        "/console/apis/delete?indicator={}",
        "https%3A%2F%2Fapi.home.test%2F"
    );
    let confirm = browser.get(&sesame.url(&confirm_url)).await;
    assert_eq!(confirm.status, 200, "{}", confirm.describe());
    assert!(confirm.body.contains("Delete the API Home API?"));
    let delete = [("indicator", HOME), ("csrf", token.as_str())];
    sesame
        .assert_csrf_refused(&browser, "/console/apis/delete", &delete)
        .await;
    let r = post(&sesame, &browser, "/console/apis/delete", &delete).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    let list = browser.follow_within(r, &sesame.issuer).await;
    assert!(list.body.contains("The API is deleted") && list.body.contains("No APIs yet."));
    let r = post(&sesame, &browser, "/console/apis/delete", &delete).await;
    assert_eq!(r.status, 404, "already gone: {}", r.describe());
}
