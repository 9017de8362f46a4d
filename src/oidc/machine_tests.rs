//! Client credentials (RFC 6749 §4.4) and introspection (RFC 7662), in-process: a temporary
//! redb, a fixed clock moved across each lifetime's boundary. `tests/oidc_flow` proves the same
//! through the binary with a real client library.

use super::error::ErrorCode;
use super::grant::Family;
use super::tests::{app, exchange, form};
use super::{introspect, revoke, userinfo};
use crate::provider::testing::*;
use crate::provider::Provider;
use crate::store::{Reads, Writes};
use serde_json::{json, Value};

fn machine_token(p: &Provider) -> String {
    let body = exchange(p, MACHINE_CLIENT, &[("grant_type", "client_credentials")]).unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

fn inspect(p: &Provider, caller: &str, token: &str) -> Result<Value, ErrorCode> {
    introspect::introspect(p, &app(p, caller), &form(&[("token", token)])).map_err(|e| e.code)
}

fn active(p: &Provider, caller: &str, token: &str) -> bool {
    let v = inspect(p, caller, token).unwrap();
    match v["active"].as_bool() {
        Some(true) => true,
        // §2.2: an inactive answer says nothing else.
        Some(false) => {
            assert_eq!(v, json!({ "active": false }));
            false
        }
        None => panic!("no active in {v}"),
    }
}

/// A signed-in user's first tokens from the confidential app: (access token, refresh token).
fn user_tokens(p: &Provider) -> (String, String, String) {
    let user = user(p, "ada@example.com");
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let request = request(CLIENT, "openid offline_access email", None);
    let code = p
        .store
        .write(|tx| {
            family.issue_code(
                tx,
                &request,
                &user.id,
                &crate::store::Authn::email_code(p.now()),
                None,
            )
        })
        .unwrap();
    let body = exchange(
        p,
        CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .unwrap();
    let s = |k: &str| body[k].as_str().unwrap().to_string();
    (s("access_token"), s("refresh_token"), user.id)
}

#[test]
fn a_machine_app_gets_a_token_for_itself_and_nothing_else() {
    let (_d, p) = provider();
    let body = exchange(&p, MACHINE_CLIENT, &[("grant_type", "client_credentials")]).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], p.tokens.access_token_ttl);
    // §4.4.3: no refresh token; no user, so no ID token; no scope asked, none granted.
    for absent in ["refresh_token", "id_token", "scope"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    let at = body["access_token"].as_str().unwrap();
    let v = inspect(&p, MACHINE_CLIENT, at).unwrap();
    assert_eq!(
        v,
        json!({
            "active": true,
            "sub": MACHINE_CLIENT,
            "client_id": MACHINE_CLIENT,
            "token_type": "Bearer",
            "iat": T0,
            "exp": T0 + p.tokens.access_token_ttl,
            "iss": "https://id.example",
        })
    );
}

#[test]
fn a_machine_token_lives_exactly_its_lifetime() {
    let (_d, p) = provider();
    let at = machine_token(&p);
    p.clock.advance(p.tokens.access_token_ttl - 1);
    assert!(active(&p, MACHINE_CLIENT, &at));
    p.clock.advance(1);
    assert!(!active(&p, MACHINE_CLIENT, &at));
}

#[test]
fn userinfo_refuses_a_machine_token_as_an_invalid_token() {
    let (_d, p) = provider();
    let at = machine_token(&p);
    let e = userinfo::userinfo(&p, &at).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidToken);
    assert!(e.description.contains("machine app"), "{}", e.description);
}

#[test]
fn only_machine_apps_use_client_credentials() {
    let (_d, p) = provider();
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        exchange(&p, CLIENT, &cc).unwrap_err(),
        ErrorCode::UnauthorizedClient
    );
    assert_eq!(
        exchange(&p, PUBLIC_CLIENT, &cc).unwrap_err(),
        ErrorCode::UnauthorizedClient
    );
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &code).unwrap_err(),
        ErrorCode::UnauthorizedClient
    );
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &refresh).unwrap_err(),
        ErrorCode::UnauthorizedClient
    );
}

#[test]
fn a_machine_app_asking_for_any_scope_is_refused() {
    let (_d, p) = provider();
    for scope in ["openid", "profile", "bogus", "  openid  "] {
        let e = exchange(
            &p,
            MACHINE_CLIENT,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        );
        assert_eq!(e.unwrap_err(), ErrorCode::InvalidScope, "{scope:?}");
    }
    // An empty scope parameter asks for nothing.
    let ok = exchange(
        &p,
        MACHINE_CLIENT,
        &[("grant_type", "client_credentials"), ("scope", "")],
    );
    assert!(ok.is_ok());
    let twice = exchange(
        &p,
        MACHINE_CLIENT,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ],
    );
    assert_eq!(twice.unwrap_err(), ErrorCode::InvalidRequest);
}

#[test]
fn an_unknown_or_repeated_resource_indicator_is_invalid_target() {
    let (_d, p) = provider();
    let once = [
        ("grant_type", "client_credentials"),
        ("resource", "https://api.example/"),
    ];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &once).unwrap_err(),
        ErrorCode::InvalidTarget
    );
    let twice = [
        ("grant_type", "client_credentials"),
        ("resource", "https://a.example/"),
        ("resource", "https://b.example/"),
    ];
    assert_eq!(
        exchange(&p, MACHINE_CLIENT, &twice).unwrap_err(),
        ErrorCode::InvalidTarget
    );
}

#[test]
fn an_app_sees_its_own_user_tokens_access_and_refresh() {
    let (_d, p) = provider();
    let (at, rt, sub) = user_tokens(&p);
    let v = inspect(&p, CLIENT, &at).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], sub.as_str());
    assert_eq!(v["client_id"], CLIENT);
    assert_eq!(v["scope"], "openid offline_access email");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["exp"], T0 + p.tokens.access_token_ttl);
    let v = inspect(&p, CLIENT, &rt).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], sub.as_str());
    assert_eq!(v["exp"], T0 + p.tokens.refresh_token_ttl);
    assert!(v.get("token_type").is_none(), "{v}");
    // §2.1: a wrong hint only changes the order of the look-ups.
    let hinted = introspect::introspect(
        &p,
        &app(&p, CLIENT),
        &form(&[("token", &at), ("token_type_hint", "refresh_token")]),
    )
    .unwrap();
    assert_eq!(hinted["token_type"], "Bearer");
}

#[test]
fn another_apps_tokens_and_unknown_ones_are_inactive_alike() {
    let (_d, p) = provider();
    let (at, rt, _) = user_tokens(&p);
    assert!(!active(&p, MACHINE_CLIENT, &at));
    assert!(!active(&p, MACHINE_CLIENT, &rt));
    assert!(!active(&p, CLIENT, &machine_token(&p)));
    assert!(!active(&p, CLIENT, "not-a-token"));
}

#[test]
fn revoked_spent_and_expired_tokens_are_inactive() {
    let (_d, p) = provider();
    let (at, rt, _) = user_tokens(&p);
    // Rotation spends the refresh token; the new ones are live.
    let body = exchange(
        &p,
        CLIENT,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .unwrap();
    assert!(!active(&p, CLIENT, &rt));
    let rt2 = body["refresh_token"].as_str().unwrap().to_string();
    assert!(active(&p, CLIENT, &rt2));
    assert!(active(&p, CLIENT, &at));
    // RFC 7009: revoking the refresh token revokes its grant, and every token of it.
    revoke::revoke(&p, &app(&p, CLIENT), &form(&[("token", &rt2)])).unwrap();
    assert!(!active(&p, CLIENT, &rt2));
    assert!(!active(&p, CLIENT, &at));
    // A revoked machine token is gone.
    let mt = machine_token(&p);
    revoke::revoke(&p, &app(&p, MACHINE_CLIENT), &form(&[("token", &mt)])).unwrap();
    assert!(!active(&p, MACHINE_CLIENT, &mt));
    // A refresh token at its expiry.
    let (_, rt3, _) = user_tokens_again(&p);
    p.clock.advance(p.tokens.refresh_token_ttl - 1);
    assert!(active(&p, CLIENT, &rt3));
    p.clock.advance(1);
    assert!(!active(&p, CLIENT, &rt3));
}

/// [`user_tokens`] for a second user (the first's email is taken).
fn user_tokens_again(p: &Provider) -> (String, String, String) {
    let user = user(p, "grace@example.com");
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    let request = request(CLIENT, "openid offline_access", None);
    let code = p
        .store
        .write(|tx| {
            family.issue_code(
                tx,
                &request,
                &user.id,
                &crate::store::Authn::email_code(p.now()),
                None,
            )
        })
        .unwrap();
    let body = exchange(
        p,
        CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .unwrap();
    let s = |k: &str| body[k].as_str().unwrap().to_string();
    (s("access_token"), s("refresh_token"), user.id)
}

#[test]
fn a_disabled_users_tokens_are_inactive() {
    let (_d, p) = provider();
    let (at, rt, sub) = user_tokens(&p);
    p.store
        .write(|tx| {
            let mut u = tx.user(&sub)?.unwrap();
            u.disabled = true;
            tx.put_user(&u)
        })
        .unwrap();
    assert!(!active(&p, CLIENT, &at));
    assert!(!active(&p, CLIENT, &rt));
}

#[test]
fn introspection_needs_a_confidential_caller_and_a_token() {
    let (_d, p) = provider();
    let at = machine_token(&p);
    assert_eq!(
        inspect(&p, PUBLIC_CLIENT, &at).unwrap_err(),
        ErrorCode::InvalidClient
    );
    let none = introspect::introspect(&p, &app(&p, CLIENT), &form(&[]));
    assert_eq!(none.unwrap_err().code, ErrorCode::InvalidRequest);
}
