//! The token endpoint's grants and the token families, in-process: a temporary redb, a fixed
//! clock moved across each lifetime's boundary, real signatures. What the black-box tests in
//! `tests/` prove through the binary, these pin down one rule at a time, in milliseconds.

use super::error::ErrorCode;
use super::grant::Family;
use super::params::Params;
use super::{authorize, revoke, token, userinfo};
use crate::provider::testing::*;
use crate::provider::Provider;
use crate::store::{App, AuthRequest, Reads, User};
use serde_json::Value;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Issues an authorization code for `user` now, as a finished sign-in would.
fn code(p: &Provider, request: &AuthRequest, user: &User) -> String {
    let family = Family {
        tokens: &p.tokens,
        now: p.now(),
    };
    p.store
        .write(|tx| {
            family.issue_code(
                tx,
                request,
                &user.id,
                &crate::store::Authn::email_code(p.now()),
                None,
            )
        })
        .unwrap()
}

pub(super) fn app(p: &Provider, client_id: &str) -> App {
    p.store.read(|tx| tx.app(client_id)).unwrap().unwrap()
}

pub(super) fn form(pairs: &[(&str, &str)]) -> Params {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Params::parse(body.as_bytes())
}

pub(super) fn exchange(
    p: &Provider,
    client_id: &str,
    pairs: &[(&str, &str)],
) -> Result<Value, ErrorCode> {
    token::exchange(p, &app(p, client_id), &form(pairs)).map_err(|e| e.code)
}

fn redeem(p: &Provider, code: &str) -> Result<Value, ErrorCode> {
    exchange(
        p,
        CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
    )
}

pub(super) fn refresh(p: &Provider, rt: &str) -> Result<Value, ErrorCode> {
    exchange(
        p,
        CLIENT,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
}

pub(super) fn userinfo_of(p: &Provider, at: &str) -> Result<Value, ErrorCode> {
    userinfo::userinfo(p, at).map_err(|e| e.code)
}

pub(super) fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

/// A signed-in user's first tokens: (access token, refresh token).
pub(super) fn first_tokens(p: &Provider) -> (String, String) {
    let user = user(p, "ada@example.com");
    let code = code(
        p,
        &request(CLIENT, "openid offline_access email", None),
        &user,
    );
    let body = redeem(p, &code).unwrap();
    (s(&body, "access_token"), s(&body, "refresh_token"))
}

#[test]
fn a_code_gives_tokens_once_and_a_second_use_revokes_them() {
    let (_d, p) = provider();
    let user = user(&p, "ada@example.com");
    let code = code(
        &p,
        &request(CLIENT, "openid offline_access email", None),
        &user,
    );
    let body = redeem(&p, &code).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid offline_access email");
    let claims = p.keys().verify_jwt(&s(&body, "id_token")).unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["iss"], "https://id.example");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["iat"], T0);
    assert_eq!(claims["exp"], T0 + p.tokens.id_token_ttl);
    assert_eq!(claims["email"], "ada@example.com");
    let at = s(&body, "access_token");
    assert!(userinfo_of(&p, &at).is_ok());

    // RFC 6749 §4.1.2: the second use fails and revokes what the first issued.
    assert_eq!(redeem(&p, &code).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(userinfo_of(&p, &at).unwrap_err(), ErrorCode::InvalidToken);
    assert_eq!(
        refresh(&p, &s(&body, "refresh_token")).unwrap_err(),
        ErrorCode::InvalidGrant
    );
}

#[test]
fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let (_d, p) = provider();
    let user = user(&p, "ada@example.com");
    let c = code(&p, &request(CLIENT, "openid", None), &user);
    let wrong_uri = exchange(
        &p,
        CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://app.example/other"),
        ],
    );
    assert_eq!(wrong_uri.unwrap_err(), ErrorCode::InvalidGrant);
    let no_uri = exchange(
        &p,
        CLIENT,
        &[("grant_type", "authorization_code"), ("code", &c)],
    );
    assert_eq!(no_uri.unwrap_err(), ErrorCode::InvalidRequest);
    let other_client = exchange(
        &p,
        PUBLIC_CLIENT,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
        ],
    );
    assert_eq!(other_client.unwrap_err(), ErrorCode::InvalidGrant);
    // None of the failures used the code up.
    assert!(redeem(&p, &c).is_ok());
}

#[test]
fn a_code_expires_at_its_lifetime() {
    let (_d, p) = provider();
    let user = user(&p, "ada@example.com");
    let ttl = p.tokens.authorization_code_ttl;
    let early = code(&p, &request(CLIENT, "openid", None), &user);
    let late = code(&p, &request(CLIENT, "openid", None), &user);
    p.clock.advance(ttl - 1);
    assert!(redeem(&p, &early).is_ok(), "one second before the end");
    p.clock.advance(1);
    assert_eq!(redeem(&p, &late).unwrap_err(), ErrorCode::InvalidGrant);
}

#[test]
fn pkce_s256_is_checked_at_the_token_endpoint() {
    let (_d, p) = provider();
    let user = user(&p, "ada@example.com");
    let req = request(PUBLIC_CLIENT, "openid", Some(CHALLENGE));
    let ask = |c: &str, verifier: Option<&str>| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", c),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            pairs.push(("code_verifier", v));
        }
        exchange(&p, PUBLIC_CLIENT, &pairs)
    };
    let c = code(&p, &req, &user);
    assert_eq!(ask(&c, None).unwrap_err(), ErrorCode::InvalidGrant);
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";
    assert_eq!(ask(&c, Some(wrong)).unwrap_err(), ErrorCode::InvalidGrant);
    assert!(ask(&c, Some(VERIFIER)).is_ok());
    // A verifier for a code issued without a challenge: a downgrade (RFC 9700 §2.1.1).
    let plain = code(&p, &request(PUBLIC_CLIENT, "openid", None), &user);
    assert_eq!(
        ask(&plain, Some(VERIFIER)).unwrap_err(),
        ErrorCode::InvalidGrant
    );
}

#[test]
fn refresh_rotates_and_a_spent_token_revokes_the_family() {
    let (_d, p) = provider();
    let (at1, rt1) = first_tokens(&p);
    let second = refresh(&p, &rt1).unwrap();
    let (at2, rt2) = (s(&second, "access_token"), s(&second, "refresh_token"));
    assert_ne!(rt1, rt2, "rotation gives a new refresh token");
    assert!(userinfo_of(&p, &at2).is_ok());
    let third = refresh(&p, &rt2).unwrap();
    let rt3 = s(&third, "refresh_token");

    // rt1 was spent: presenting it again (a thief, or the client after a thief) ends the family.
    assert_eq!(refresh(&p, &rt1).unwrap_err(), ErrorCode::InvalidGrant);
    let audit = p
        .store
        .read(|tx| crate::audit::list(tx, &Default::default()))
        .unwrap();
    assert_eq!(audit.entries[0].entry.event.outcome(), "grant_revoked");
    assert_eq!(audit.entries[0].entry.client_id.as_deref(), Some(CLIENT));
    assert_eq!(refresh(&p, &rt3).unwrap_err(), ErrorCode::InvalidGrant);
    for at in [&at1, &at2, &s(&third, "access_token")] {
        assert_eq!(userinfo_of(&p, at).unwrap_err(), ErrorCode::InvalidToken);
    }
}

#[test]
fn refresh_may_narrow_the_scope_but_never_widen_it() {
    let (_d, p) = provider();
    let (_, rt) = first_tokens(&p);
    let widened = exchange(
        &p,
        CLIENT,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid profile"),
        ],
    );
    assert_eq!(widened.unwrap_err(), ErrorCode::InvalidScope);
    let narrowed = exchange(
        &p,
        CLIENT,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "email"),
        ],
    )
    .unwrap();
    assert_eq!(narrowed["scope"], "email");
    assert!(narrowed.get("id_token").is_none(), "no openid, no ID token");
    // The new refresh token keeps the original scope.
    let again = refresh(&p, &s(&narrowed, "refresh_token")).unwrap();
    assert_eq!(again["scope"], "openid offline_access email");
}

#[test]
fn access_and_refresh_tokens_expire_at_their_lifetimes() {
    let (_d, p) = provider();
    let (at, rt) = first_tokens(&p);
    p.clock.advance(p.tokens.access_token_ttl - 1);
    assert!(userinfo_of(&p, &at).is_ok(), "one second before the end");
    p.clock.advance(1);
    assert_eq!(userinfo_of(&p, &at).unwrap_err(), ErrorCode::InvalidToken);

    let (_, rt_late) = first_tokens(&p);
    p.clock
        .advance(p.tokens.refresh_token_ttl - p.tokens.access_token_ttl - 1);
    // rt was issued access_token_ttl earlier than rt_late: it has one second left.
    assert!(refresh(&p, &rt).is_ok(), "one second before the end");
    p.clock.advance(p.tokens.access_token_ttl + 1);
    assert_eq!(refresh(&p, &rt_late).unwrap_err(), ErrorCode::InvalidGrant);
}

#[test]
fn expired_records_are_swept_with_their_grant() {
    let (_d, p) = provider();
    let (at, _rt) = first_tokens(&p);
    assert_eq!(p.sweep().unwrap(), 0, "nothing has expired yet");
    p.clock.advance(p.tokens.refresh_token_ttl);
    // The used code, the access and refresh tokens, and their grant.
    assert_eq!(p.sweep().unwrap(), 4);
    assert_eq!(userinfo_of(&p, &at).unwrap_err(), ErrorCode::InvalidToken);
}

#[test]
fn revoking_a_refresh_token_ends_its_family_and_others_tokens_are_left_alone() {
    let (_d, p) = provider();
    let (at, rt) = first_tokens(&p);
    let other_client = app(&p, PUBLIC_CLIENT);
    revoke::revoke(&p, &other_client, &form(&[("token", &rt)])).unwrap();
    assert!(
        refresh(&p, &rt).is_ok(),
        "another client's revocation does nothing"
    );
    let (at2, rt2) = first_tokens(&p);
    revoke::revoke(&p, &app(&p, CLIENT), &form(&[("token", &rt2)])).unwrap();
    assert_eq!(refresh(&p, &rt2).unwrap_err(), ErrorCode::InvalidGrant);
    assert_eq!(userinfo_of(&p, &at2).unwrap_err(), ErrorCode::InvalidToken);
    assert!(
        userinfo_of(&p, &at).is_ok(),
        "the first family is untouched"
    );
}

#[test]
fn unknown_and_missing_grant_types_are_refused() {
    let (_d, p) = provider();
    assert_eq!(
        exchange(&p, CLIENT, &[("grant_type", "password")]).unwrap_err(),
        ErrorCode::UnsupportedGrantType
    );
    assert_eq!(
        exchange(&p, CLIENT, &[]).unwrap_err(),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        exchange(
            &p,
            CLIENT,
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token")
            ]
        )
        .unwrap_err(),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn a_session_answers_authorization_requests_until_it_expires() {
    let (_d, p) = provider();
    let user = user(&p, "ada@example.com");
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &user.id, p.now(), p.tokens.session_ttl))
        .unwrap();
    let params = Params::parse(
        format!(
            "client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&state=s1"
        )
        .as_bytes(),
    );
    p.clock.advance(p.tokens.session_ttl - 1);
    match authorize::authorize(&p, &params, Some(&cookie)).unwrap() {
        authorize::Outcome::Redirect(url) => {
            assert!(url.starts_with("https://app.example/cb?code="), "{url}");
            assert!(
                url.contains("&state=s1&iss=https%3A%2F%2Fid.example"),
                "{url}"
            );
        }
        other => panic!("{other:?}"),
    }
    p.clock.advance(1);
    assert!(matches!(
        authorize::authorize(&p, &params, Some(&cookie)).unwrap(),
        authorize::Outcome::SignIn(_)
    ));
}

#[test]
fn id_token_hint_must_be_ours_and_name_the_signed_in_user() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let bob = user(&p, "bob@example.com");
    let id_token_of = |u: &User| {
        let c = code(&p, &request(CLIENT, "openid", None), u);
        s(&redeem(&p, &c).unwrap(), "id_token")
    };
    let (ada_hint, bob_hint) = (id_token_of(&ada), id_token_of(&bob));
    let cookie = p
        .store
        .write(|tx| crate::session::create(tx, &ada.id, p.now(), p.tokens.session_ttl))
        .unwrap();
    let ask = |hint: &str| {
        let q = format!(
            "client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&prompt=none&id_token_hint={hint}"
        );
        match authorize::authorize(&p, &Params::parse(q.as_bytes()), Some(&cookie)) {
            Ok(authorize::Outcome::Redirect(url)) => url,
            Err(authorize::AuthorizeError::Redirect { error, .. }) => {
                format!("error={}", error.code.as_str())
            }
            other => panic!("{other:?}"),
        }
    };
    let own = ask(&ada_hint);
    assert!(
        own.contains("code="),
        "the signed-in user's own hint: {own}"
    );
    assert!(
        ask(&bob_hint).contains("error=login_required"),
        "a hint for another user: that user is not signed in"
    );
    // Bob's token with its sub changed to Ada's: the signature no longer matches.
    let mut parts: Vec<String> = bob_hint.split('.').map(str::to_string).collect();
    let mut claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
            .unwrap(),
    )
    .unwrap();
    claims["sub"] = Value::String(ada.id.clone());
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    let forged = parts.join(".");
    let answer = ask(&forged);
    assert!(answer.contains("error=invalid_request"), "{answer}");
    assert!(!answer.contains("code="));
}
