//! Pushed authorization requests in-process: a temporary redb and a fixed clock.

use super::*;
use crate::provider::testing::*;

fn app(p: &Provider, client_id: &str) -> App {
    p.store.read(|tx| tx.app(client_id)).unwrap().unwrap()
}

fn form(s: &str) -> Params {
    Params::parse(s.as_bytes())
}

const CB: &str = "https%3A%2F%2Fapp.example%2Fcb";

fn pushed(p: &Provider) -> String {
    let body = push(
        p,
        &app(p, CLIENT),
        &form(&format!(
            "redirect_uri={CB}&response_type=code&scope=openid&state=s1&client_secret={SECRET}"
        )),
    )
    .unwrap();
    assert_eq!(body["expires_in"], PUSHED_REQUEST_TTL);
    let uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
    uri
}

fn at_auth(
    p: &Provider,
    client_id: &str,
    uri: &str,
) -> Result<authorize::ValidRequest, AuthorizeError> {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", client_id), ("request_uri", uri)])
        .finish();
    authorize::validate(p, &form(&q))
}

#[test]
fn a_pushed_request_is_used_once_by_its_own_client() {
    let (_d, p) = provider();
    let uri = pushed(&p);
    let other = at_auth(&p, PUBLIC_CLIENT, &uri).unwrap_err();
    assert_eq!(
        other,
        AuthorizeError::Untrusted(Untrusted::PushedRequest(Refusal::OtherClient))
    );
    let v = at_auth(&p, CLIENT, &uri).unwrap();
    assert_eq!(v.request.state.as_deref(), Some("s1"));
    assert_eq!(v.request.redirect_uri, REDIRECT);
    assert_eq!(
        at_auth(&p, CLIENT, &uri).unwrap_err(),
        AuthorizeError::Untrusted(Untrusted::PushedRequest(Refusal::Unknown)),
        "single use"
    );
    // The secret is never kept with the request.
    let kept = p
        .store
        .read(|tx| tx.scan(&crate::store::PUSHED_REQUESTS))
        .unwrap();
    assert!(kept.iter().all(|(_, r)| !r.form.contains("secret")));
}

#[test]
fn a_pushed_request_expires_after_a_minute() {
    let (_d, p) = provider();
    let uri = pushed(&p);
    p.clock.advance(PUSHED_REQUEST_TTL);
    assert_eq!(
        at_auth(&p, CLIENT, &uri).unwrap_err(),
        AuthorizeError::Untrusted(Untrusted::PushedRequest(Refusal::Expired))
    );
    assert!(matches!(
        at_auth(&p, CLIENT, "urn:other:x").unwrap_err(),
        AuthorizeError::Untrusted(Untrusted::PushedRequest(Refusal::Unknown))
    ));
}

#[test]
fn pushing_validates_as_auth_would_and_answers_json() {
    let (_d, p) = provider();
    let a = app(&p, CLIENT);
    let code = |q: &str| push(&p, &a, &form(q)).unwrap_err().code;
    assert_eq!(
        code(&format!(
            "redirect_uri={CB}&response_type=token&scope=openid"
        )),
        ErrorCode::UnsupportedResponseType
    );
    assert_eq!(
        code(&format!(
            "redirect_uri={CB}&response_type=code&scope=profile"
        )),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        code("redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid"),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        code(&format!(
            "redirect_uri={CB}&response_type=code&scope=openid&request_uri=urn%3Ax"
        )),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn an_app_that_requires_pushed_requests_gets_nothing_else() {
    let (_d, p) = provider();
    let mut a = app(&p, CLIENT);
    a.require_pushed_authorization_requests = true;
    p.store
        .write(|tx| tx.put(&crate::store::APPS, CLIENT, &a))
        .unwrap();
    let plain = form(&format!(
        "client_id={CLIENT}&redirect_uri={CB}&response_type=code&scope=openid"
    ));
    match authorize::validate(&p, &plain).unwrap_err() {
        AuthorizeError::Redirect { error, .. } => {
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert!(error.description.contains("/par"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    let uri = pushed(&p);
    assert!(at_auth(&p, CLIENT, &uri).is_ok());
}
