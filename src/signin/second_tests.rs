//! The second step, in-process on a temporary redb and the fixed clock: the policy that asks
//! for it, each factor that answers it, the limits, step-up of a one-factor session, passkeys
//! alone (signed by a software authenticator), the one-time offer, and what the ID token says.

use super::*;
use crate::crypto::totp as code;
use crate::factors::passkeys::testing::{SoftKey, UP};
use crate::factors::{passkeys, recovery, totp, ACR_MFA, ACR_ONE};
use crate::oidc::authorize::{self, Outcome};
use crate::oidc::{token, Params};
use crate::provider::testing::*;
use crate::store::{Reads, SecondFactor, APPS};
use serde_json::Value;

const CODE: &str = "123456";
const BROWSER: &str = "browser-cookie-value-of-at-least-32-chars";
const ORIGIN: &str = "https://id.example";

fn require_for_app(p: &Provider) {
    p.store
        .write(|tx| {
            let mut app: crate::store::App = tx.get(&APPS, CLIENT)?.expect("bookstore");
            app.second_factor = SecondFactor::Required;
            tx.put(&APPS, CLIENT, &app)
        })
        .unwrap();
}

fn started(p: &Provider) -> String {
    start(
        p,
        SignInFor::App(request(CLIENT, "openid email", None)),
        BROWSER,
    )
    .unwrap()
}

/// An email code sent to `to` in sign-in `id`, and typed right.
fn email_code(p: &Provider, id: &str, to: &str) -> SignedIn {
    let e = Email::parse(to).unwrap();
    let r = reserve_code(p, id, &e, None).unwrap();
    record_code(p, id, &e, CODE, r).unwrap();
    verify_code(p, id, CODE, []).unwrap()
}

/// A confirmed authenticator app for `user_id`; its secret.
fn with_totp(p: &Provider, user_id: &str) -> Vec<u8> {
    let e = totp::begin(p, user_id).unwrap();
    let secret = code::base32_decode(&e.secret_base32).unwrap();
    let now_code = code::code_at(&secret, code::step_of(p.now()), code::DIGITS);
    totp::confirm(p, user_id, &now_code).unwrap();
    // The confirming code is spent: the next step's code is the one a sign-in types.
    p.clock.advance(code::STEP);
    secret
}

fn current_code(p: &Provider, secret: &[u8]) -> String {
    code::code_at(secret, code::step_of(p.now()), code::DIGITS)
}

/// The ID token's claims for the code in a finished sign-in's redirect.
fn id_token_claims(p: &Provider, done: &SignedIn) -> Value {
    let Next::Redirect(url) = &done.next else {
        panic!("{:?}", done.next)
    };
    let url = url::Url::parse(url).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    let app = p.store.read(|tx| tx.app(CLIENT)).unwrap().unwrap();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .finish();
    let tokens = token::exchange(p, &app, &Params::parse(body.as_bytes())).unwrap();
    p.keys()
        .verify_jwt(tokens["id_token"].as_str().unwrap())
        .unwrap()
}

#[test]
fn an_app_that_requires_a_second_factor_gets_its_code_only_after_one() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    let secret = with_totp(&p, &ada.id);
    let id = started(&p);
    let first = email_code(&p, &id, "ada@example.com");
    assert_eq!(first.next, Next::SecondFactor);
    assert!(first.session_cookie.is_empty(), "nobody is signed in yet");
    let i = p.store.read(|tx| tx.interaction(&id)).unwrap().unwrap();
    let offer = second::offer(&p, &i).unwrap().unwrap();
    assert!(offer.totp && !offer.must_enrol(), "{offer:?}");

    let done = second::verify(
        &p,
        &id,
        second::CodeKind::Totp,
        &current_code(&p, &secret),
        [],
    )
    .unwrap();
    assert!(!done.session_cookie.is_empty());
    let claims = id_token_claims(&p, &done);
    assert_eq!(claims["amr"], serde_json::json!(["otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);
    let session = crate::session::current(&p, Some(&done.session_cookie))
        .unwrap()
        .unwrap();
    assert!(session.authn().is_multi_factor());
}

#[test]
fn an_app_without_the_policy_signs_in_with_the_email_code_alone() {
    let (_d, p) = provider();
    user(&p, "ada@example.com");
    let id = started(&p);
    let done = email_code(&p, &id, "ada@example.com");
    let claims = id_token_claims(&p, &done);
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));
    assert_eq!(claims["acr"], ACR_ONE);
}

#[test]
fn five_wrong_codes_end_the_sign_in_and_a_code_is_never_taken_twice() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    let secret = with_totp(&p, &ada.id);
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    for left in (1..MAX_CODE_TRIES).rev() {
        let e = second::verify(&p, &id, second::CodeKind::Totp, "000000", []).unwrap_err();
        assert!(
            matches!(e, SignInError::WrongCode { tries_left } if tries_left == left),
            "{e:?}"
        );
    }
    let e = second::verify(&p, &id, second::CodeKind::Totp, "000000", []).unwrap_err();
    assert!(matches!(e, SignInError::SecondVoid), "{e:?}");
    // The sign-in has ended: even the right code finds nothing.
    let e = second::verify(
        &p,
        &id,
        second::CodeKind::Totp,
        &current_code(&p, &secret),
        [],
    )
    .unwrap_err();
    assert!(matches!(e, SignInError::Expired), "{e:?}");

    // A fresh sign-in: the right code once, then the same code again is refused.
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    let now_code = current_code(&p, &secret);
    second::verify(&p, &id, second::CodeKind::Totp, &now_code, []).unwrap();
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    let e = second::verify(&p, &id, second::CodeKind::Totp, &now_code, []).unwrap_err();
    assert!(matches!(e, SignInError::WrongCode { .. }), "{e:?}");
}

#[test]
fn a_recovery_code_answers_the_second_step_once() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    with_totp(&p, &ada.id);
    let codes = recovery::generate(&p, &ada.id).unwrap();
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    let done = second::verify(&p, &id, second::CodeKind::Recovery, &codes[0], []).unwrap();
    assert_eq!(
        id_token_claims(&p, &done)["amr"],
        serde_json::json!(["otp", "mfa"])
    );
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    let e = second::verify(&p, &id, second::CodeKind::Recovery, &codes[0], []).unwrap_err();
    assert!(matches!(e, SignInError::WrongCode { .. }), "{e:?}");
}

#[test]
fn a_user_without_a_factor_sets_one_up_at_the_second_step_and_only_then() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    let i = p.store.read(|tx| tx.interaction(&id)).unwrap().unwrap();
    assert!(second::offer(&p, &i).unwrap().unwrap().must_enrol());
    let e = passkey::enrol_totp(&p, &id).unwrap();
    let secret = code::base32_decode(&e.secret_base32).unwrap();
    let (done, codes) = passkey::confirm_totp(&p, &id, &current_code(&p, &secret), []).unwrap();
    assert_eq!(
        codes.map(|c| c.len()),
        Some(10),
        "recovery codes, shown once"
    );
    assert_eq!(
        id_token_claims(&p, &done)["amr"],
        serde_json::json!(["otp", "mfa"])
    );

    // Now that one is set up, a sign-in may not set up another (whoever read the email code
    // could otherwise add their own and skip the second factor).
    p.clock.advance(code::STEP);
    let id = started(&p);
    email_code(&p, &id, "ada@example.com");
    assert!(matches!(
        passkey::enrol_totp(&p, &id),
        Err(SignInError::NoSecondStep)
    ));
    let product = "sesame";
    assert!(matches!(
        passkey::enrol_options(&p, &id, product),
        Err(SignInError::NoSecondStep)
    ));
    assert!(p.store.read(|tx| totp::enrolled(tx, &ada.id)).unwrap());
}

#[test]
fn a_group_policy_asks_its_members_everywhere_even_the_console() {
    let (_d, p) = provider();
    let mut ada = user(&p, "ada@example.com");
    let now = p.now();
    let new = crate::users::NewGroup {
        name: "staff".into(),
        second_factor: SecondFactor::Required,
        ..Default::default()
    };
    crate::users::add_group(&p.store, now, new).unwrap();
    ada.groups = vec!["staff".into()];
    p.store.write(|tx| tx.put_user(&ada)).unwrap();
    let id = start(&p, SignInFor::Console, BROWSER).unwrap();
    assert_eq!(
        email_code(&p, &id, "ada@example.com").next,
        Next::SecondFactor
    );
    // A user outside the group: the email code is enough.
    user(&p, "bob@example.com");
    let id = start(&p, SignInFor::Console, BROWSER).unwrap();
    assert_eq!(
        email_code(&p, &id, "bob@example.com").next,
        Next::Console(String::new())
    );
}

/// `/auth` for the bookstore with `extra` parameters, answered with `cookie`'s session.
fn authorize_with(p: &Provider, cookie: &str, extra: &str) -> Outcome {
    let q = format!(
        "client_id={CLIENT}&redirect_uri={}&response_type=code&scope=openid{extra}",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    authorize::authorize(p, &Params::parse(q.as_bytes()), Some(cookie)).unwrap()
}

#[test]
fn a_one_factor_session_is_stepped_up_and_prompt_none_hears_interaction_required() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let secret = with_totp(&p, &ada.id);
    let id = started(&p);
    let done = email_code(&p, &id, "ada@example.com");
    let cookie = done.session_cookie.clone();
    assert!(matches!(
        authorize_with(&p, &cookie, ""),
        Outcome::Redirect(_)
    ));

    // The app now requires two factors; so does `acr_values` on any request.
    require_for_app(&p);
    let Outcome::StepUp(request) = authorize_with(&p, &cookie, "") else {
        panic!("step-up expected")
    };
    match authorize_with(&p, &cookie, "&prompt=none") {
        Outcome::Redirect(url) => assert!(url.contains("error=interaction_required"), "{url}"),
        other => panic!("{other:?}"),
    }
    // The step-up sign-in starts at its second step; its end replaces the session.
    let session = crate::session::current(&p, Some(&cookie)).unwrap().unwrap();
    let step = second::step_up(&session, &ada);
    let id = start_at(&p, SignInFor::App(request), BROWSER, step).unwrap();
    let done = second::verify(
        &p,
        &id,
        second::CodeKind::Totp,
        &current_code(&p, &secret),
        [cookie.as_str()],
    )
    .unwrap();
    assert_eq!(
        id_token_claims(&p, &done)["acr"],
        ACR_MFA,
        "the stepped-up sign-in"
    );
    let cookie = done.session_cookie;
    assert!(matches!(
        authorize_with(&p, &cookie, ""),
        Outcome::Redirect(_)
    ));
}

#[test]
fn acr_values_asking_for_two_factors_is_honoured() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    with_totp(&p, &ada.id);
    let id = started(&p);
    let cookie = email_code(&p, &id, "ada@example.com").session_cookie;
    let extra = format!("&acr_values={ACR_MFA}");
    assert!(matches!(
        authorize_with(&p, &cookie, &extra),
        Outcome::StepUp(_)
    ));
    assert!(matches!(
        authorize_with(&p, &cookie, "&acr_values=urn:other"),
        Outcome::Redirect(_)
    ));
}

/// Registers a software passkey for `user` (as the account page would).
fn registered(p: &Provider, user: &crate::store::User) -> SoftKey {
    let mut key = SoftKey::new(ORIGIN);
    let options = passkeys::begin_registration(p, user, "sesame").unwrap();
    let answer = key.register(&options);
    let response = passkeys::parse(&answer).unwrap();
    let actor = crate::audit::Actor::User {
        user_id: user.id.clone(),
    };
    passkeys::finish_registration(p, &user.id, &response, "Phone", actor).unwrap();
    key
}

#[test]
fn a_passkey_that_verifies_its_user_signs_in_alone_with_two_factors() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    let mut key = registered(&p, &ada);
    let id = started(&p);
    let options = passkey::options(&p, &id).unwrap();
    assert_eq!(options["rpId"], "id.example");
    let done = passkey::verify(&p, &id, &key.assert(&options), []).unwrap();
    let claims = id_token_claims(&p, &done);
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);
    let stored = p.store.read(|tx| tx.passkeys_of(&ada.id)).unwrap();
    assert_eq!(stored[0].sign_count, 1);
    assert_eq!(stored[0].last_used_at, Some(p.now()));
}

#[test]
fn a_passkey_without_user_verification_is_one_factor_and_the_policy_asks_for_another() {
    let (_d, p) = provider();
    require_for_app(&p);
    let ada = user(&p, "ada@example.com");
    let mut key = registered(&p, &ada);
    with_totp(&p, &ada.id);
    key.flags = UP;
    let id = started(&p);
    let options = passkey::options(&p, &id).unwrap();
    let done = passkey::verify(&p, &id, &key.assert(&options), []).unwrap();
    assert_eq!(done.next, Next::SecondFactor);
}

#[test]
fn a_passkey_answer_is_single_use_and_a_counter_going_back_is_refused() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let mut key = registered(&p, &ada);
    let id = started(&p);
    let options = passkey::options(&p, &id).unwrap();
    let answer = key.assert(&options);
    passkey::verify(&p, &id, &answer, []).unwrap();

    // Replayed into a new sign-in: its challenge is not this one.
    let id = started(&p);
    passkey::options(&p, &id).unwrap();
    let e = passkey::verify(&p, &id, &answer, []).unwrap_err();
    assert!(matches!(e, SignInError::PasskeyRefused(_)), "{e:?}");
    // Answered twice in one sign-in: the challenge went with the first answer.
    let e = passkey::verify(&p, &id, &answer, []).unwrap_err();
    assert!(matches!(e, SignInError::PasskeyRefused(_)), "{e:?}");

    // A clone: the counter does not advance.
    let id = started(&p);
    let options = passkey::options(&p, &id).unwrap();
    key.counter = 0;
    let e = passkey::verify(&p, &id, &key.assert(&options), []).unwrap_err();
    let SignInError::PasskeyRefused(why) = e else {
        panic!("{e:?}")
    };
    assert!(why.contains("copied"), "{why}");
    let query = crate::audit::AuditQuery {
        limit: Some(10),
        ..Default::default()
    };
    let audit = p.store.read(|tx| crate::audit::list(tx, &query)).unwrap();
    let cloned = serde_json::to_string(&audit.entries).unwrap();
    assert!(cloned.contains("passkey.cloned"), "{cloned}");

    // An expired challenge.
    let id = started(&p);
    let options = passkey::options(&p, &id).unwrap();
    p.clock.advance(passkeys::CHALLENGE_TTL);
    key.counter = 10;
    let e = passkey::verify(&p, &id, &key.assert(&options), []).unwrap_err();
    assert!(matches!(e, SignInError::PasskeyRefused(_)), "{e:?}");
}

#[test]
fn the_passkey_offer_comes_once_and_not_now_signs_in_with_the_email_code() {
    let (_d, p) = provider();
    user(&p, "ada@example.com");
    let id = started(&p);
    note_platform_authenticator(&p, &id).unwrap();
    let first = email_code(&p, &id, "ada@example.com");
    assert_eq!(first.next, Next::SecondFactor);
    let i = p.store.read(|tx| tx.interaction(&id)).unwrap().unwrap();
    let offer = second::offer(&p, &i).unwrap().unwrap();
    assert!(offer.optional && offer.may_add_passkey() && !offer.must_enrol());
    // "Not now": no second factor could be typed here, and the email code signs in.
    let e = second::verify(&p, &id, second::CodeKind::Totp, "000000", []).unwrap_err();
    assert!(matches!(e, SignInError::WrongCode { .. }), "{e:?}");
    let done = second::skip(&p, &id, []).unwrap();
    assert_eq!(
        id_token_claims(&p, &done)["amr"],
        serde_json::json!(["otp"])
    );
    // Once: the next sign-in from such a browser goes straight on.
    let id = started(&p);
    note_platform_authenticator(&p, &id).unwrap();
    assert!(matches!(
        email_code(&p, &id, "ada@example.com").next,
        Next::Redirect(_)
    ));
}

#[test]
fn a_passkey_added_at_the_offer_signs_in_and_is_stored() {
    let (_d, p) = provider();
    let ada = user(&p, "ada@example.com");
    let id = started(&p);
    note_platform_authenticator(&p, &id).unwrap();
    email_code(&p, &id, "ada@example.com");
    let mut key = SoftKey::new(ORIGIN);
    let options = passkey::enrol_options(&p, &id, "sesame").unwrap();
    let done = passkey::enrol(&p, &id, &key.register(&options), []).unwrap();
    assert!(matches!(done.next, Next::Redirect(_)));
    assert_eq!(passkeys::list(&p, &ada.id).unwrap().len(), 1);
    // Skipping is no longer possible for that sign-in (it has ended).
    assert!(second::skip(&p, &id, []).is_err());
}
