//! The device flow in-process: a temporary redb and a fixed clock moved across the interval and
//! the lifetime. `tests/js_clients.rs` drives the same through the binary with oauth4webapi.

use super::*;
use crate::oidc::token;
use crate::provider::testing::*;
use crate::store::Writes;

fn app(p: &Provider, client_id: &str) -> App {
    p.store.read(|tx| tx.app(client_id)).unwrap().unwrap()
}

fn allow(p: &Provider, client_id: &str) -> App {
    let mut a = app(p, client_id);
    a.device_flow = true;
    p.store
        .write(|tx| tx.put(&crate::store::APPS, client_id, &a))
        .unwrap();
    a
}

fn form(pairs: &[(&str, &str)]) -> Params {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Params::parse(body.as_bytes())
}

/// Starts a device authorization: (device_code, normalised user code).
fn begin(p: &Provider, a: &App, scope: &str) -> (String, String) {
    let body = start(p, a, &form(&[("scope", scope)])).unwrap();
    let user_code = normalize_user_code(body["user_code"].as_str().unwrap()).unwrap();
    (body["device_code"].as_str().unwrap().to_string(), user_code)
}

fn poll_once(p: &Provider, a: &App, device_code: &str) -> Result<Value, ErrorCode> {
    let params = form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
    ]);
    token::exchange(p, a, &params).map_err(|e| e.code)
}

#[test]
fn user_codes_are_read_loosely_and_shown_with_a_dash() {
    assert_eq!(
        normalize_user_code("bcdf-ghjk").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(
        normalize_user_code(" BCDF GHJK ").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(normalize_user_code("BCDFGHJ"), None, "too short");
    assert_eq!(
        normalize_user_code("BCDF-GHJA"),
        None,
        "a vowel is never in a code"
    );
    assert_eq!(normalize_user_code("BCDF-GHJ0"), None);
    assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    let code = crypto::random_chars(USER_CODE_ALPHABET, USER_CODE_LEN);
    assert_eq!(normalize_user_code(&code), Some(code));
}

#[test]
fn only_apps_with_device_flow_may_start_or_poll() {
    let (_d, p) = provider();
    let e = start(&p, &app(&p, PUBLIC_CLIENT), &form(&[("scope", "openid")])).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    let e = poll_once(&p, &app(&p, CLIENT), "whatever").unwrap_err();
    assert_eq!(e, ErrorCode::UnauthorizedClient);
    let a = allow(&p, PUBLIC_CLIENT);
    let e = start(&p, &a, &form(&[("scope", "profile")])).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidScope, "openid is required");
    let body = start(&p, &a, &form(&[("scope", "openid")])).unwrap();
    assert_eq!(body["verification_uri"], "https://id.example/device");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    let complete = body["verification_uri_complete"].as_str().unwrap();
    assert!(
        complete.ends_with(&format!(
            "?user_code={}",
            body["user_code"].as_str().unwrap()
        )),
        "{complete}"
    );
}

#[test]
fn pending_then_slow_down_then_tokens_once() {
    let (_d, p) = provider();
    let a = allow(&p, PUBLIC_CLIENT);
    let ada = user(&p, "ada@example.com");
    let (device_code, user_code) = begin(&p, &a, "openid offline_access email");
    assert_eq!(
        poll_once(&p, &a, &device_code),
        Err(ErrorCode::AuthorizationPending)
    );
    // Polling again at once is too fast: slow_down, and the interval grows to 10 s.
    p.clock.advance(2);
    assert_eq!(poll_once(&p, &a, &device_code), Err(ErrorCode::SlowDown));
    // 5 s is now too soon as well: slow_down again, 15 s.
    p.clock.advance(5);
    assert_eq!(poll_once(&p, &a, &device_code), Err(ErrorCode::SlowDown));
    p.clock.advance(15);
    assert_eq!(
        poll_once(&p, &a, &device_code),
        Err(ErrorCode::AuthorizationPending)
    );

    let shown = lookup(&p, &user_code).unwrap().unwrap();
    assert_eq!(shown.app_name, PUBLIC_CLIENT);
    assert_eq!(shown.scope, vec!["openid", "offline_access", "email"]);
    assert_eq!(
        decide(&p, &user_code, &ada, T0, true).unwrap(),
        Decided::Approved
    );
    assert_eq!(
        lookup(&p, &user_code).unwrap(),
        None,
        "a decided code is not shown again"
    );
    assert_eq!(
        decide(&p, &user_code, &ada, T0, true).unwrap(),
        Decided::Gone
    );

    p.clock.advance(15);
    let body = poll_once(&p, &a, &device_code).unwrap();
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert!(body["id_token"].is_string());
    p.clock.advance(15);
    assert_eq!(
        poll_once(&p, &a, &device_code),
        Err(ErrorCode::InvalidGrant),
        "single use"
    );
    // The refresh token works like one from the code grant.
    let refreshed = token::exchange(
        &p,
        &a,
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ]),
    );
    assert!(refreshed.is_ok());
}

#[test]
fn denied_expired_other_client_and_bounded_polls() {
    let (_d, p) = provider();
    let a = allow(&p, PUBLIC_CLIENT);
    let other = allow(&p, CLIENT);
    let ada = user(&p, "ada@example.com");

    let (denied, code) = begin(&p, &a, "openid");
    assert_eq!(poll_once(&p, &other, &denied), Err(ErrorCode::InvalidGrant));
    assert_eq!(decide(&p, &code, &ada, T0, false).unwrap(), Decided::Denied);
    assert_eq!(poll_once(&p, &a, &denied), Err(ErrorCode::AccessDenied));

    let (late, code) = begin(&p, &a, "openid");
    p.clock.advance(DEVICE_CODE_TTL);
    assert_eq!(lookup(&p, &code).unwrap(), None);
    assert_eq!(decide(&p, &code, &ada, T0, true).unwrap(), Decided::Gone);
    assert_eq!(poll_once(&p, &a, &late), Err(ErrorCode::ExpiredToken));

    let (eager, _) = begin(&p, &a, "openid");
    let mut last = Ok(Value::Null);
    for _ in 0..=MAX_POLLS {
        last = poll_once(&p, &a, &eager);
    }
    assert_eq!(last, Err(ErrorCode::ExpiredToken), "polls are bounded");
    assert_eq!(
        poll_once(&p, &a, "not-a-code"),
        Err(ErrorCode::InvalidGrant)
    );
}

#[test]
fn a_user_outside_the_apps_groups_cannot_approve() {
    let (_d, p) = provider();
    let mut a = allow(&p, PUBLIC_CLIENT);
    let ada = user(&p, "ada@example.com");
    p.store
        .write(|tx| {
            tx.put_group(&crate::store::Group {
                name: "family".into(),
                description: String::new(),
                claims: Default::default(),
                api_scopes: Default::default(),
                second_factor: Default::default(),
                declared: false,
                created_at: T0,
                updated_at: T0,
            })
        })
        .unwrap();
    a.allowed_groups = vec!["family".into()];
    p.store
        .write(|tx| tx.put(&crate::store::APPS, PUBLIC_CLIENT, &a))
        .unwrap();
    let (device_code, code) = begin(&p, &a, "openid");
    assert_eq!(
        decide(&p, &code, &ada, T0, true).unwrap(),
        Decided::NotAllowed
    );
    assert_eq!(
        poll_once(&p, &a, &device_code),
        Err(ErrorCode::AccessDenied)
    );
}
