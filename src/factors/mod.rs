//! Second factors: what proves a user beyond their email address, asked for at sign-in when
//! an app's or group's `second_factor` policy says so.
//!
//! - [`totp`]: an authenticator app (TOTP, RFC 6238): set up, confirmed with a first code,
//!   verified at sign-in, removed.
//! - [`recovery`]: ten single-use recovery codes, for when the phone is lost.
//!
//! Every wrong code, of either kind, counts against one budget per account (see `guesses`),
//! and every change and every use is in the audit log (actor and command `account.*`).
//!
//! The records live in the store's `factors` table (`store::TOTP`, `store::RECOVERY_CODES`,
//! `store::FACTOR_GUESSES`); deleting a user deletes them. Uses: store, crypto, qr, audit,
//! provider. Never the edge.

mod guesses;
pub mod recovery;
pub mod totp;

use crate::audit::{Actor, AuditEntry, Changes};
use crate::store::StoreError;

/// Why a second-factor operation did not happen.
#[derive(Debug)]
pub enum FactorError {
    /// The code is not a code of this factor (wrong, mistyped, or outside its time window).
    WrongCode,
    /// The code is right but was used already (an authenticator code of a step already used).
    Reused,
    /// The account had its hourly wrong codes; try again in this many seconds.
    TooManyGuesses { retry_after_secs: u64 },
    /// The user has no confirmed authenticator app (or no unused recovery codes).
    NotEnrolled,
    /// There is no authenticator app being set up to confirm.
    NothingToConfirm,
    /// There is no such user.
    NoSuchUser,
    /// Reading or writing the store failed.
    Store(StoreError),
}

impl std::fmt::Display for FactorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactorError::WrongCode => f.write_str("that code is not right; check it and try again"),
            FactorError::Reused => {
                f.write_str("that code was used already; wait for the next one and enter it")
            }
            FactorError::TooManyGuesses { retry_after_secs } => write!(
                f,
                "too many wrong codes; try again in {} minute(s)",
                retry_after_secs.div_ceil(60).max(1)
            ),
            FactorError::NotEnrolled => {
                f.write_str("no authenticator app or recovery code is set up")
            }
            FactorError::NothingToConfirm => {
                f.write_str("no authenticator app is being set up; start again")
            }
            FactorError::NoSuchUser => f.write_str("no such user"),
            FactorError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FactorError {}

impl From<StoreError> for FactorError {
    fn from(e: StoreError) -> Self {
        FactorError::Store(e)
    }
}

/// What second factors a user has, as the CLI, the API and the console show it (never a
/// secret or a code).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// `confirmed`, `pending` (being set up, never confirmed) or `none`.
    pub totp: &'static str,
    /// Unused recovery codes.
    pub recovery_codes: usize,
}

/// `user_id`'s second factors.
pub fn summary(r: &impl crate::store::Reads, user_id: &str) -> Result<Summary, StoreError> {
    let totp = match r.totp(user_id)? {
        Some(t) if t.confirmed => "confirmed",
        Some(_) => "pending",
        None => "none",
    };
    Ok(Summary {
        totp,
        recovery_codes: recovery::remaining(r, user_id)?,
    })
}

/// An audit entry about `user_id`'s factors, by `actor`.
fn entry(actor: Actor, user_id: &str, command: &str, changes: serde_json::Value) -> AuditEntry {
    AuditEntry::admin_change(actor, command, Changes::of(changes)).user(user_id)
}

/// The user acting on their own account.
fn me(user_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.to_string(),
    }
}

#[cfg(test)]
mod tests;
