//! Signing in with a passkey: alone (the email page's "Sign in with a passkey" button and the
//! browser's autofill), or as the second step after an email code. And, at a second step whose
//! user has no second factor yet, setting one up: a passkey, or an authenticator app.
//!
//! The sign-in keeps the challenge its page was given ([`options`]); an answer takes it (one
//! use, whatever the outcome), so a replayed answer finds none. A passkey alone signs in as the
//! user it names (its user handle, checked against the stored credential), and counts as two
//! factors when the authenticator verified the person (`factors`).
//!
//! Setting a factor up during a sign-in is allowed only while the user has none: otherwise
//! whoever read the email code could add their own passkey and skip the second factor.
//!
//! Uses: factors, session, store. Never the edge.

use super::second::{self, ask, complete};
use super::{finish, SignInError, SignedIn};
use crate::audit::Actor;
use crate::factors::passkeys::{self, AssertionResponse, PasskeyError, RegistrationResponse};
use crate::factors::{self, recovery, totp, Method};
use crate::provider::Provider;
use crate::store::{Authn, Interaction, Reads, StoreError, Writes};
use serde_json::Value;

/// Why a passkey that did not verify its user cannot sign in alone where two factors are
/// needed, for a user with no other second factor (the page's sentence).
const UNVERIFIED_ALONE: &str = "this passkey did not check that it is you (no fingerprint, face or PIN), and this sign-in needs two steps: enter your email address for a code, then use your passkey";

fn refused(e: PasskeyError) -> SignInError {
    match e {
        PasskeyError::Store(e) => SignInError::Store(e),
        other => SignInError::PasskeyRefused(other.to_string()),
    }
}

fn live(tx: &impl Reads, id: &str, now: u64) -> Result<Option<Interaction>, StoreError> {
    Ok(tx.interaction(id)?.filter(|i| now < i.expires_at))
}

/// The options for this sign-in's `navigator.credentials.get`, with a fresh challenge kept in
/// it: any discoverable passkey at the email step, the user's own at the second step.
pub fn options(p: &Provider, id: &str) -> Result<Value, SignInError> {
    let rp =
        passkeys::relying_party(&p.issuer).ok_or_else(|| refused(PasskeyError::Unavailable))?;
    let now = p.now();
    let c = passkeys::challenge(now);
    p.store
        .write(|tx| {
            let Some(mut i) = live(tx, id, now)? else {
                return Ok(Err(SignInError::Expired));
            };
            let allow = match &i.second {
                Some(step) => tx.passkeys_of(&step.user_id)?,
                None => Vec::new(),
            };
            i.challenge = Some(c.clone());
            tx.put_interaction(id, &i)?;
            Ok(Ok(passkeys::request_options(&rp, &c, &allow)))
        })
        .map_err(SignInError::Store)
        .and_then(|r| r)
}

/// Checks a passkey answer (`posted`: the JSON the page's script sent) and, if right, signs
/// in: alone, or as the second step. A passkey without user verification alone still needs a
/// second factor when the policy asks for one.
pub fn verify<'a>(
    p: &Provider,
    id: &str,
    posted: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let rp =
        passkeys::relying_party(&p.issuer).ok_or_else(|| refused(PasskeyError::Unavailable))?;
    let response: AssertionResponse = passkeys::parse(posted).map_err(refused)?;
    let now = p.now();
    let result = p
        .store
        .write(|tx| {
            let Some(mut i) = live(tx, id, now)? else {
                return Ok(Err(SignInError::Expired));
            };
            // One use, whatever happens next.
            let Some(c) = i.challenge.take() else {
                return Ok(Err(refused(PasskeyError::NoChallenge)));
            };
            tx.put_interaction(id, &i)?;
            let expected = i.second.as_ref().map(|s| s.user_id.clone());
            let v = match passkeys::verify(tx, &rp, &c, now, &response, expected.as_deref())? {
                Ok(v) => v,
                Err(e) => return Ok(Err(refused(e))),
            };
            let method = Method::Passkey {
                synced: v.synced,
                verified: v.user_verified,
            };
            if i.second.is_some() {
                return complete(tx, p, now, id, i, method, old_sessions);
            }
            let Some(user) = tx.user(&v.user_id)? else {
                return Ok(Err(refused(PasskeyError::Unknown)));
            };
            if user.disabled {
                return Ok(Err(SignInError::Disabled));
            }
            let authn = Authn::new(now, &factors::amr(&[method]));
            let address = user.email.clone();
            if factors::needed(tx, &i.purpose, &user, &authn)? {
                // The second step takes another factor than this passkey: an authenticator
                // app's code or a recovery code. Without either, the email code comes first.
                if !totp::enrolled(tx, &user.id)? && recovery::remaining(tx, &user.id)? == 0 {
                    return Ok(Err(SignInError::PasskeyRefused(UNVERIFIED_ALONE.into())));
                }
                return ask(tx, id, i, &user, (&address, false), authn.amr).map(Ok);
            }
            finish(
                tx,
                p,
                &authn,
                (id, i.purpose),
                &address,
                user,
                false,
                old_sessions,
            )
            .map(Ok)
        })
        .map_err(SignInError::Store)
        .and_then(|r| r);
    crate::metrics::sign_in(super::outcome(&result));
    result
}

/// The user of sign-in `id` if it is at its second step and may set up `what` there: a
/// factor when the policy needs one and the user has none, or the passkey offered to a user
/// without one.
fn enrolling_user(p: &Provider, id: &str, what: Setup) -> Result<String, SignInError> {
    let now = p.now();
    let i = p
        .store
        .read(|tx| live(tx, id, now))?
        .ok_or(SignInError::Expired)?;
    let allowed = |o: &second::Offer| match what {
        Setup::Passkey => o.may_add_passkey(),
        Setup::Totp => o.must_enrol(),
    };
    match second::offer(p, &i)? {
        Some(offer) if allowed(&offer) => Ok(i.second.map(|s| s.user_id).unwrap_or_default()),
        _ => Err(SignInError::NoSecondStep),
    }
}

/// Whether sign-in `id` is at the optional offer of a passkey (not a second step it needs).
fn optional_step(p: &Provider, id: &str) -> Result<bool, SignInError> {
    let now = p.now();
    let i = p.store.read(|tx| live(tx, id, now))?;
    Ok(i.and_then(|i| i.second).is_some_and(|s| s.optional))
}

/// What is being set up during a sign-in.
#[derive(Clone, Copy)]
enum Setup {
    Passkey,
    Totp,
}

/// Starts setting up a passkey as the second factor of sign-in `id`; the options for
/// `navigator.credentials.create`.
pub fn enrol_options(p: &Provider, id: &str, product: &str) -> Result<Value, SignInError> {
    let user_id = enrolling_user(p, id, Setup::Passkey)?;
    let user = p
        .store
        .read(|tx| tx.user(&user_id))?
        .ok_or(SignInError::Expired)?;
    passkeys::begin_registration(p, &user, product).map_err(refused)
}

/// Finishes setting up a passkey at the second step, which it then passes.
pub fn enrol<'a>(
    p: &Provider,
    id: &str,
    posted: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let user_id = enrolling_user(p, id, Setup::Passkey)?;
    let response: RegistrationResponse = passkeys::parse(posted).map_err(refused)?;
    let actor = Actor::User {
        user_id: user_id.clone(),
    };
    let pk = passkeys::finish_registration(p, &user_id, &response, "", actor).map_err(refused)?;
    // Offered, not asked for: the passkey is for next time, and this sign-in was proved by
    // its first factor alone (making a passkey proves nothing the email code did not).
    if optional_step(p, id)? {
        return second::skip(p, id, old_sessions);
    }
    let method = Method::Passkey {
        synced: pk.backed_up,
        verified: false,
    };
    pass(p, id, method, old_sessions)
}

/// Starts setting up an authenticator app at the second step.
pub fn enrol_totp(p: &Provider, id: &str) -> Result<totp::Enrolment, SignInError> {
    let user_id = enrolling_user(p, id, Setup::Totp)?;
    // The key being set up stays the same across reloads of the page (a wrong code, a
    // refresh): the app may have scanned it already.
    let failed = |e: factors::FactorError| match e {
        factors::FactorError::Store(e) => SignInError::Store(e),
        other => SignInError::PasskeyRefused(other.to_string()),
    };
    match totp::pending_enrolment(p, &user_id).map_err(failed)? {
        Some(e) => Ok(e),
        None => totp::begin(p, &user_id).map_err(failed),
    }
}

/// Confirms the authenticator app set up at the second step with its first code, which then
/// passes the step. Also returns the recovery codes made for the user (shown once).
pub fn confirm_totp<'a>(
    p: &Provider,
    id: &str,
    typed: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<(SignedIn, Option<Vec<String>>), SignInError> {
    let user_id = enrolling_user(p, id, Setup::Totp)?;
    let codes = match totp::confirm(p, &user_id, typed) {
        Ok(codes) => codes,
        Err(factors::FactorError::Store(e)) => return Err(SignInError::Store(e)),
        Err(_) => return Err(SignInError::WrongCode { tries_left: 1 }),
    };
    Ok((pass(p, id, Method::Totp, old_sessions)?, codes))
}

/// Ends sign-in `id`, whose second step `method` has passed (just set up).
fn pass<'a>(
    p: &Provider,
    id: &str,
    method: Method,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let now = p.now();
    p.store
        .write(|tx| {
            let Some(i) = live(tx, id, now)? else {
                return Ok(Err(SignInError::Expired));
            };
            if i.second.is_none() {
                return Ok(Err(SignInError::NoSecondStep));
            }
            complete(tx, p, now, id, i, method, old_sessions)
        })
        .map_err(SignInError::Store)
        .and_then(|r| r)
}
