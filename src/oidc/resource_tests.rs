//! APIs and JWT access tokens (RFC 8707, RFC 9068), in-process: a temporary redb, a fixed
//! clock. `tests/oidc_flow` proves the same through the binary, with a resource server that
//! verifies the tokens with JWKS alone.

use super::error::ErrorCode;
use super::grant::Family;
use super::tests::{app, exchange, form};
use super::{authorize, introspect, userinfo};
use crate::apis::{self, NewApi};
use crate::crypto::b64url_decode;
use crate::provider::testing::*;
use crate::provider::Provider;
use crate::store::{ApiScope, Writes, APPS};
use serde_json::{json, Value};

const API: &str = "https://api.home/";

/// Registers [`API`] (scopes read, write, admin) and lets the machine app get `read` and
/// `write`, and members of `family` get `read`.
fn with_api(p: &Provider) {
    let scope = |n: &str| ApiScope {
        name: n.into(),
        description: String::new(),
    };
    let new = NewApi {
        indicator: API.into(),
        name: "Home API".into(),
        scopes: vec![scope("read"), scope("write"), scope("admin")],
        alg: None,
        access_token_ttl: None,
    };
    p.store.write(|tx| apis::create_in(tx, T0, new)).unwrap();
    let mut machine = app(p, MACHINE_CLIENT);
    machine
        .api_scopes
        .insert(API.into(), vec!["read".into(), "write".into()]);
    p.store
        .write(|tx| tx.put(&APPS, MACHINE_CLIENT, &machine))
        .unwrap();
    let family = crate::users::NewGroup {
        name: "family".into(),
        api_scopes: [(API.to_string(), vec!["read".to_string()])].into(),
        ..Default::default()
    };
    crate::users::add_group(&p.store, T0, family).unwrap();
}

fn machine(p: &Provider, scope: Option<&str>) -> Result<Value, ErrorCode> {
    let mut pairs = vec![("grant_type", "client_credentials"), ("resource", API)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    exchange(p, MACHINE_CLIENT, &pairs)
}

/// The decoded header of a compact JWS.
fn header(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(&b64url_decode(h).unwrap()).unwrap()
}

#[test]
fn a_machine_app_gets_an_es256_at_jwt_for_the_api_with_the_scopes_it_may_have() {
    let (_d, p) = provider();
    with_api(&p);
    let body = machine(&p, Some("read admin")).unwrap();
    // RFC 6749 §3.3: narrowed to what the app may have, and the response says so.
    assert_eq!(body["scope"], "read");
    assert_eq!(body["expires_in"], apis::DEFAULT_ACCESS_TOKEN_TTL);
    assert!(body.get("refresh_token").is_none());
    let jwt = body["access_token"].as_str().unwrap();
    let h = header(jwt);
    assert_eq!(
        (h["typ"].as_str(), h["alg"].as_str()),
        (Some("at+jwt"), Some("ES256"))
    );
    let claims = p.keys().verify_jwt(jwt).unwrap();
    assert_eq!(claims["iss"], "https://id.example");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], MACHINE_CLIENT);
    assert_eq!(claims["client_id"], MACHINE_CLIENT);
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["iat"], T0);
    assert_eq!(claims["exp"], T0 + apis::DEFAULT_ACCESS_TOKEN_TTL);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims.get("auth_time").is_none(), "no user signed in");
    // Asking for no scope gets every scope the app may have.
    assert_eq!(machine(&p, None).unwrap()["scope"], "read write");
}

#[test]
fn wrong_resources_and_scopes_the_app_may_not_have_are_refused() {
    let (_d, p) = provider();
    with_api(&p);
    let other = [
        ("grant_type", "client_credentials"),
        ("resource", "https://api.home"),
    ];
    // Exact match: the indicator without its slash is another resource.
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &other).unwrap_err(),
        ErrorCode::InvalidTarget
    );
    let two = [
        ("grant_type", "client_credentials"),
        ("resource", API),
        ("resource", API),
    ];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &two).unwrap_err(),
        ErrorCode::InvalidTarget
    );
    assert_eq!(
        machine(&p, Some("admin")).unwrap_err(),
        ErrorCode::InvalidScope
    );
    // Without a resource, scopes stay refused (opaque tokens carry none).
    let no_resource = [("grant_type", "client_credentials"), ("scope", "read")];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &no_resource).unwrap_err(),
        ErrorCode::InvalidScope
    );
}

#[test]
fn introspection_answers_for_an_at_jwt_to_its_app_until_it_expires_and_userinfo_refuses_it() {
    let (_d, p) = provider();
    with_api(&p);
    let jwt = machine(&p, Some("write")).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect = |caller: &str| {
        introspect::introspect(&p, &app(&p, caller), &form(&[("token", &jwt)])).unwrap()
    };
    let v = inspect(MACHINE_CLIENT);
    assert_eq!(v["active"], true);
    assert_eq!(
        (v["aud"].as_str(), v["scope"].as_str()),
        (Some(API), Some("write"))
    );
    assert_eq!(
        inspect(CLIENT),
        json!({"active": false}),
        "another app's token"
    );
    assert!(
        userinfo::userinfo(&p, &jwt).is_err(),
        "the token is for the API, not sesame"
    );
    p.clock.advance(apis::DEFAULT_ACCESS_TOKEN_TTL);
    assert_eq!(inspect(MACHINE_CLIENT), json!({"active": false}));
}

/// The authorization request `scope` with `resource=API`, signed in as a new user in
/// `groups`; returns the token response of the code's exchange.
fn user_flow(p: &Provider, scope: &str, groups: &[&str]) -> Result<Value, ErrorCode> {
    let q = form(&[
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("resource", API),
    ]);
    let v = authorize::validate(p, &q).unwrap();
    assert_eq!(v.request.resource.as_deref(), Some(API));
    let mut u = user(p, &format!("{}@example.com", crate::crypto::random_id()));
    u.groups = groups.iter().map(|g| g.to_string()).collect();
    p.store.write(|tx| tx.put_user(&u)).unwrap();
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let code = p
        .store
        .write(|tx| {
            family.issue_code(
                tx,
                &v.request,
                &u.id,
                &crate::store::Authn::email_code(p.now()),
                None,
            )
        })
        .unwrap();
    exchange(
        p,
        CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
}

#[test]
fn a_user_gets_the_api_scopes_their_groups_grant_and_refresh_remembers_the_api() {
    let (_d, p) = provider();
    with_api(&p);
    let body = user_flow(&p, "openid offline_access read write", &["family"]).unwrap();
    assert_eq!(body["scope"], "openid offline_access read");
    let jwt = body["access_token"].as_str().unwrap();
    assert_eq!(header(jwt)["typ"], "at+jwt");
    let claims = p.keys().verify_jwt(jwt).unwrap();
    assert_eq!(
        (claims["aud"].as_str(), claims["scope"].as_str()),
        (Some(API), Some("read"))
    );
    assert_eq!(claims["auth_time"], T0);
    assert_eq!(claims["client_id"], CLIENT);
    // The ID token's at_hash is over the JWT that was sent.
    let id = p
        .keys()
        .verify_jwt(body["id_token"].as_str().unwrap())
        .unwrap();
    let alg = crate::apps::id_token_alg(&app(&p, CLIENT));
    assert_eq!(id["at_hash"], crate::crypto::keys::at_hash(alg, jwt));
    // A refresh may narrow the scope (dropping offline_access here); the API is remembered.
    let rt = body["refresh_token"].as_str().unwrap();
    let refreshed = exchange(
        &p,
        CLIENT,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "openid read"),
        ],
    )
    .unwrap();
    assert_eq!(refreshed["scope"], "openid read");
    let again = p
        .keys()
        .verify_jwt(refreshed["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(again["aud"], API);
}

#[test]
fn scopes_no_group_of_the_user_grants_are_invalid_scope_and_unknown_apis_invalid_target() {
    let (_d, p) = provider();
    with_api(&p);
    assert_eq!(
        user_flow(&p, "openid write", &["family"]).unwrap_err(),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        user_flow(&p, "openid read", &[]).unwrap_err(),
        ErrorCode::InvalidScope
    );
    let q = form(&[
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("resource", "https://elsewhere.example/"),
    ]);
    match authorize::validate(&p, &q) {
        Err(authorize::AuthorizeError::Redirect { error, .. }) => {
            assert_eq!(error.code, ErrorCode::InvalidTarget)
        }
        other => panic!("{other:?}"),
    }
}
