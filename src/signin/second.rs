//! The second step of a sign-in: after the email code, a passkey, an authenticator app's code
//! or a recovery code, when the policy asks for one.
//!
//! ```text
//!  right email code ──needed?──no──▶ finish (amr: otp)
//!        │ yes
//!        ▼
//!  [second: user proved by otp, tries=0] ──wrong code: tries+1 (5: the sign-in ends)
//!        │ ├─ authenticator app's code ─┐
//!        │ ├─ recovery code ────────────┼──▶ finish (amr: otp, …, mfa), a new session
//!        │ ├─ passkey ──────────────────┘
//!        │ └─ none enrolled: set one up here (authenticator app or passkey), which is then
//!        │    the second factor
//!  a passkey alone that did not verify its user (one factor) where two are needed: [second]
//!  with amr hwk|swk, where that passkey is not offered again (the same passkey twice is one
//!  factor); a user without an authenticator app or recovery codes is refused at once (the
//!  email code first, then the passkey)
//!  a live session whose sign-in was one factor, for an app (or a member of a group) that
//!  needs two: a step-up sign-in starts at [second] ([`start_step_up`]), and its end replaces
//!  the session with one that says both.
//! ```
//!
//! [`needed`]: the user is in a group with `second_factor = "required"`, or the app requires
//! it, or the app asked `acr_values=urn:sesame:mfa`; never when the sign-in already used two
//! factors (a passkey that verified its user).
//!
//! Wrong codes count in the sign-in (5, as email codes) and, per user, in `factors`' hourly
//! budget shared by authenticator and recovery codes.
//!
//! Uses: factors, users, session, store. Never the edge.

use super::{finish, SignInError, SignedIn, MAX_CODE_TRIES};
use crate::factors::{self, Method};
use crate::provider::Provider;
use crate::store::{Authn, Interaction, Reads, SecondStep, Session, StoreError, User, Writes};

/// Moves sign-in `id` to its second step (in the caller's transaction): the first factor
/// proved `user` as `amr` says. Nobody is signed in yet.
pub(super) fn ask(
    tx: &impl Writes,
    id: &str,
    mut i: Interaction,
    user: &User,
    (address, new_user): (&str, bool),
    amr: Vec<String>,
) -> Result<SignedIn, StoreError> {
    tx.put_user(user)?;
    i.code = None;
    i.flash = None;
    i.challenge = None;
    i.second = Some(SecondStep {
        user_id: user.id.clone(),
        address: address.to_string(),
        new_user,
        amr,
        tries: 0,
        optional: false,
    });
    tx.put_interaction(id, &i)?;
    Ok(SignedIn {
        session_cookie: String::new(),
        next: super::Next::SecondFactor,
    })
}

/// [`ask`], but optional: the user is offered to add a passkey ("Not now": [`skip`]).
pub(super) fn offer_passkey(
    tx: &impl Writes,
    id: &str,
    i: Interaction,
    user: &User,
    first: (&str, bool),
    amr: Vec<String>,
) -> Result<SignedIn, StoreError> {
    let done = ask(tx, id, i, user, first, amr)?;
    if let Some(mut i) = tx.interaction(id)? {
        if let Some(step) = i.second.as_mut() {
            step.optional = true;
        }
        tx.put_interaction(id, &i)?;
    }
    Ok(done)
}

/// "Not now" at an optional step: the sign-in ends with the first factor alone.
pub fn skip<'a>(
    p: &Provider,
    id: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let now = p.now();
    p.store
        .write(|tx| {
            let Some(i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
                return Ok(Err(SignInError::Expired));
            };
            let Some(step) = i.second.clone().filter(|s| s.optional) else {
                return Ok(Err(SignInError::NoSecondStep));
            };
            let Some(user) = tx.user(&step.user_id)?.filter(|u| !u.disabled) else {
                tx.remove_interaction(id)?;
                return Ok(Err(SignInError::Disabled));
            };
            let authn = Authn::new(now, &step.amr);
            let done = super::finish(
                tx,
                p,
                &authn,
                (id, i.purpose),
                &step.address,
                user,
                step.new_user,
                old_sessions,
            )?;
            Ok(Ok(done))
        })
        .map_err(SignInError::Store)
        .and_then(|r| r)
}

/// The second step of a step-up: the user of a live `session` whose sign-in used one factor
/// is asked for another (give it to [`super::start_at`]). `None` when that factor was a
/// passkey: it cannot be the second too, so the step-up starts at the email code.
pub fn step_up(session: &Session, user: &User) -> Option<SecondStep> {
    if used_passkey(&session.authn().amr) {
        return None;
    }
    Some(SecondStep {
        user_id: user.id.clone(),
        address: user.email.clone(),
        new_user: false,
        amr: session.authn().amr,
        tries: 0,
        optional: false,
    })
}

/// What the second step can offer this sign-in's user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offer {
    /// The user's email address (the page says who is signing in).
    pub email: String,
    pub totp: bool,
    pub passkeys: usize,
    pub recovery_codes: usize,
    /// Not asked for: the user is offered to add a passkey, and may skip it.
    pub optional: bool,
    /// The first factor was a passkey (one that did not verify its user): it cannot be the
    /// second too, so the page does not offer it again.
    pub passkey_used: bool,
}

impl Offer {
    /// Nothing enrolled: the page sets a second factor up instead of asking for one.
    pub fn must_enrol(&self) -> bool {
        !self.optional && !self.totp && self.passkeys == 0
    }

    /// A passkey may be set up during this sign-in: the policy needs a factor the user lacks,
    /// or the user is offered one (and has none).
    pub fn may_add_passkey(&self) -> bool {
        self.must_enrol() || (self.optional && self.passkeys == 0)
    }
}

/// What the second step of sign-in `i` offers. `None`: it is not at that step.
pub fn offer(p: &Provider, i: &Interaction) -> Result<Option<Offer>, StoreError> {
    let Some(step) = &i.second else {
        return Ok(None);
    };
    p.store.read(|tx| {
        let Some(user) = tx.user(&step.user_id)? else {
            return Ok(None);
        };
        Ok(Some(Offer {
            email: user.email,
            totp: factors::totp::enrolled(tx, &step.user_id)?,
            passkeys: factors::passkeys::count(tx, &step.user_id)?,
            recovery_codes: factors::recovery::remaining(tx, &step.user_id)?,
            optional: step.optional,
            passkey_used: used_passkey(&step.amr),
        }))
    })
}

/// Whether `amr` (of a sign-in's first factor) says a passkey was used.
pub fn used_passkey(amr: &[String]) -> bool {
    amr.iter().any(|v| v == "hwk" || v == "swk")
}

/// Which code the person typed at the second step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// The current code of their authenticator app.
    Totp,
    /// One of their recovery codes.
    Recovery,
}

/// Checks a code typed at the second step; the right one ends the sign-in (as
/// [`super::verify_code`] ends one without a second step). A wrong one is counted, and the
/// count committed, before the error returns.
pub fn verify<'a>(
    p: &Provider,
    id: &str,
    kind: CodeKind,
    typed: &str,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<SignedIn, SignInError> {
    let now = p.now();
    let result = p
        .store
        .write(|tx| {
            let Some(mut i) = tx.interaction(id)?.filter(|i| now < i.expires_at) else {
                return Ok(Err(SignInError::Expired));
            };
            let Some(step) = i.second.as_mut() else {
                return Ok(Err(SignInError::NoSecondStep));
            };
            if step.tries >= MAX_CODE_TRIES {
                return Ok(Err(SignInError::SecondVoid));
            }
            let checked = match kind {
                CodeKind::Totp => factors::totp::verify(p, tx, &step.user_id, typed, now),
                CodeKind::Recovery => factors::recovery::consume(p, tx, &step.user_id, typed, now),
            };
            match checked {
                Ok(()) => {}
                Err(factors::FactorError::Store(e)) => return Err(e),
                Err(factors::FactorError::TooManyGuesses { retry_after_secs }) => {
                    return Ok(Err(SignInError::TooManyCodes {
                        wait: retry_after_secs,
                    }))
                }
                Err(_) => {
                    step.tries += 1;
                    let left = MAX_CODE_TRIES - step.tries;
                    if left == 0 {
                        tx.remove_interaction(id)?;
                        return Ok(Err(SignInError::SecondVoid));
                    }
                    tx.put_interaction(id, &i)?;
                    return Ok(Err(SignInError::WrongCode { tries_left: left }));
                }
            }
            let method = match kind {
                CodeKind::Totp => Method::Totp,
                CodeKind::Recovery => Method::RecoveryCode,
            };
            complete(tx, p, now, id, i, method, old_sessions)
        })
        .map_err(SignInError::Store)
        .and_then(|r| r);
    crate::metrics::sign_in(super::outcome(&result));
    result
}

/// Ends a sign-in at its second step, which `method` has just passed (in the caller's
/// transaction): the user is signed in with both factors.
pub(super) fn complete<'a>(
    tx: &impl Writes,
    p: &Provider,
    now: u64,
    id: &str,
    i: Interaction,
    method: Method,
    old_sessions: impl IntoIterator<Item = &'a str>,
) -> Result<Result<SignedIn, SignInError>, StoreError> {
    let Some(step) = i.second else {
        return Ok(Err(SignInError::NoSecondStep));
    };
    // The same passkey twice is one factor, not two.
    if matches!(method, Method::Passkey { .. }) && used_passkey(&step.amr) {
        return Ok(Err(SignInError::PasskeyRefused(
            "a passkey was the first step already: use your authenticator app or a recovery code"
                .into(),
        )));
    }
    let user = match tx.user(&step.user_id)? {
        Some(u) if !u.disabled => u,
        // Disabled or deleted since the first factor.
        _ => {
            tx.remove_interaction(id)?;
            return Ok(Err(SignInError::Disabled));
        }
    };
    let authn = Authn::new(now, &factors::after(&step.amr, method));
    let done = finish(
        tx,
        p,
        &authn,
        (id, i.purpose),
        &step.address,
        user,
        step.new_user,
        old_sessions,
    )?;
    Ok(Ok(done))
}

#[cfg(test)]
mod passkey_twice_tests {
    use super::used_passkey;

    #[test]
    fn a_first_step_by_passkey_is_seen_in_its_amr() {
        let amr = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(used_passkey(&amr(&["hwk"])));
        assert!(used_passkey(&amr(&["swk"])));
        assert!(!used_passkey(&amr(&["otp"])));
        assert!(!used_passkey(&[]));
    }
}
