//! The budget of wrong second-factor codes, per account: TOTP and recovery codes together.
//!
//! ```text
//!  [window: wrong = 0] ──wrong code──▶ wrong + 1 ──wrong = budget──▶ [refused until the window
//!        ▲                                                            ends; refusal audited]
//!        └──────────── an hour after the window started (CODE_SEND_WINDOW) ◀───────┘
//! ```
//!
//! Why this bound: a second-factor code is guessed like an emailed sign-in code (6 digits, or
//! far more for a recovery code), so it gets the same bound: an email code allows
//! `signin::MAX_CODE_TRIES` (5) wrong tries and an address gets `[tokens]
//! sign_in_codes_per_hour` (10) codes an hour, so at most 50 wrong guesses an hour; an account
//! gets as many wrong second-factor codes. With ±1 step three TOTP codes are live, so a guesser
//! wins with odds of about 50 × 3 / 10⁶ an hour. While the budget is spent even a right code
//! is refused (otherwise the refusal would only stop the counting, not the guessing); the
//! price is that someone who can read the owner's mail (and so pass the first step) can lock
//! the owner's second factor for up to an hour, as a flood of email codes can delay a sign-in.
//! The sign-in step also voids a sign-in after 5 wrong codes.
//!
//! The count is written in the caller's write transaction, so the caller must commit it even
//! when the code was wrong (see `totp::verify`). It is one small record per account that ever
//! had a wrong code, never swept (a stale window reads as a fresh one: see `current`); it goes
//! with its user. Sweeping it would cost the binary 3.4 KB for nothing (measured).

use super::FactorError;
use crate::audit::{self, Actor, AuditEntry, AuditEvent, SignInFailure};
use crate::provider::{Provider, CODE_SEND_WINDOW};
use crate::signin::MAX_CODE_TRIES;
use crate::store::{FactorGuesses, StoreError, Writes};

/// Wrong codes an account may have in an hour.
pub(super) fn budget(p: &Provider) -> u32 {
    MAX_CODE_TRIES.saturating_mul(p.tokens.sign_in_codes_per_hour)
}

/// Refuses (and audits the refusal) when `user_id` has had its wrong codes this hour.
pub(super) fn check(
    p: &Provider,
    tx: &impl Writes,
    user_id: &str,
    now: u64,
) -> Result<(), FactorError> {
    let g = current(tx, user_id, now)?;
    if g.wrong < budget(p) {
        return Ok(());
    }
    let reason = SignInFailure::SecondFactorBudget;
    let refused = AuditEntry::new(Actor::Anonymous, AuditEvent::SignInFailed { reason });
    audit::record(tx, now, refused.user(user_id))?;
    Err(FactorError::TooManyGuesses {
        retry_after_secs: (g.window_start + CODE_SEND_WINDOW).saturating_sub(now),
    })
}

/// Counts a wrong code of `user_id`'s and audits it; returns `why` for the caller to pass on.
pub(super) fn wrong(
    tx: &impl Writes,
    user_id: &str,
    now: u64,
    why: FactorError,
) -> Result<(), FactorError> {
    let mut g = current(tx, user_id, now)?;
    g.wrong = g.wrong.saturating_add(1);
    tx.put_factor_guesses(user_id, &g)?;
    let reason = SignInFailure::WrongSecondFactor;
    let failed = AuditEntry::new(Actor::Anonymous, AuditEvent::SignInFailed { reason });
    audit::record(tx, now, failed.user(user_id))?;
    Err(why)
}

/// The count of the window `now` falls in (a fresh one if the last has ended).
fn current(tx: &impl Writes, user_id: &str, now: u64) -> Result<FactorGuesses, StoreError> {
    Ok(match tx.factor_guesses(user_id)? {
        Some(g) if now < g.window_start.saturating_add(CODE_SEND_WINDOW) => g,
        _ => FactorGuesses {
            window_start: now,
            wrong: 0,
        },
    })
}
