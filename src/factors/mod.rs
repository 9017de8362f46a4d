//! Second factors and how a sign-in was proved: what proves a user beyond their email
//! address, asked for at sign-in when an app's or group's `second_factor` policy says so.
//!
//! - [`passkeys`]: WebAuthn credentials (sign in with one alone, or use it as the second step).
//! - [`totp`]: an authenticator app (TOTP, RFC 6238): set up, confirmed with a first code,
//!   verified at sign-in, removed.
//! - [`recovery`]: ten single-use recovery codes, for when the phone is lost.
//!
//! Every wrong code, of either kind, counts against one budget per account (see `guesses`),
//! and every change and every use is in the audit log (actor and command `account.*`).
//!
//! The records live in the store's `factors` table (`store::TOTP`, `store::RECOVERY_CODES`,
//! `store::FACTOR_GUESSES`, `store::PASSKEYS`...); deleting a user deletes them.
//!
//! `amr` (RFC 8176 §2) lists what the user used:
//!
//! | used | amr |
//! |---|---|
//! | an email code | `otp` |
//! | an authenticator app's code | `otp` |
//! | a recovery code | `otp` (a one-time code, too) |
//! | a passkey bound to its device | `hwk`, and `user` when it verified the person (PIN, biometrics) |
//! | a synced passkey (backed up to a cloud account) | `swk`, and `user` when verified |
//! | two factors: an email code and a second one, or a passkey that verified the person | `mfa` |
//!
//! A passkey that verified its user is two factors at once (something the user has, and
//! something they know or are), so it satisfies `second_factor = "required"` on its own, as it
//! does at the services that offer passkeys. One that did not (`user` absent) is one factor.
//!
//! `acr` is [`ACR_MFA`] when two factors were used and [`ACR_ONE`] otherwise; an app asking
//! `acr_values=urn:sesame:mfa` gets the second factor asked for, as if it required it.
//!
//! Uses: store, crypto, qr, audit, provider, users. Never the edge.

mod guesses;
pub mod passkeys;
pub mod recovery;
pub mod totp;

use crate::audit::{Actor, AuditEntry, Changes};
use crate::store::{Authn, Reads, SignInFor, StoreError, User};

/// Whether a sign-in for `purpose` by `user`, proved as `authn` says so far, needs a second
/// factor: the user is in a group with `second_factor = "required"`, or the app requires it,
/// or the app asked `acr_values=urn:sesame:mfa`; never when the sign-in already used two
/// factors (a passkey that verified its user).
pub fn needed(
    tx: &impl Reads,
    purpose: &SignInFor,
    user: &User,
    authn: &Authn,
) -> Result<bool, StoreError> {
    if authn.is_multi_factor() {
        return Ok(false);
    }
    let app = match purpose {
        SignInFor::App(request) => {
            if request.mfa {
                return Ok(true);
            }
            tx.app(&request.client_id)?
        }
        _ => None,
    };
    crate::users::second_factor_required(tx, app.as_ref(), user)
}

/// `acr` of a sign-in with one factor (an email code, a passkey without user verification).
pub const ACR_ONE: &str = "urn:sesame:1fa";
/// `acr` of a sign-in with two factors; as `acr_values`, asks for a second factor.
pub const ACR_MFA: &str = "urn:sesame:mfa";
/// The `acr` values sesame knows (discovery's `acr_values_supported`).
pub const ACR_VALUES: [&str; 2] = [ACR_ONE, ACR_MFA];

/// The ID token's `acr` for a sign-in proved as `authn` says.
pub fn acr(authn: &Authn) -> &'static str {
    if authn.is_multi_factor() {
        ACR_MFA
    } else {
        ACR_ONE
    }
}

/// One way the user proved who they are, in the order used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    EmailCode,
    Totp,
    RecoveryCode,
    /// `synced`: the credential is backed up (the BS flag); `verified`: the authenticator
    /// verified the person (the UV flag).
    Passkey {
        synced: bool,
        verified: bool,
    },
}

/// The `amr` values for the methods used, without repeats, `mfa` last when earned.
pub fn amr(methods: &[Method]) -> Vec<String> {
    let mut out: Vec<&str> = Vec::new();
    let mut factors = 0;
    for m in methods {
        let (values, count): (&[&str], usize) = match m {
            Method::EmailCode | Method::Totp | Method::RecoveryCode => (&["otp"], 1),
            Method::Passkey {
                synced: false,
                verified: true,
            } => (&["hwk", "user"], 2),
            Method::Passkey {
                synced: true,
                verified: true,
            } => (&["swk", "user"], 2),
            Method::Passkey {
                synced: false,
                verified: false,
            } => (&["hwk"], 1),
            Method::Passkey {
                synced: true,
                verified: false,
            } => (&["swk"], 1),
        };
        factors += count;
        for v in values {
            if !out.contains(v) {
                out.push(v);
            }
        }
    }
    if factors >= 2 {
        out.push("mfa");
    }
    out.into_iter().map(str::to_string).collect()
}

/// The `amr` of a sign-in whose first factor gave `first` and whose second step passed
/// `second`: both, and `mfa`.
pub fn after(first: &[String], second: Method) -> Vec<String> {
    let mut out = first.to_vec();
    for v in amr(&[second]) {
        if v != "mfa" && !out.contains(&v) {
            out.push(v);
        }
    }
    if !out.iter().any(|v| v == "mfa") {
        out.push("mfa".into());
    }
    out
}

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
    /// Registered passkeys, newest first.
    pub passkeys: Vec<PasskeyInfo>,
}

/// A passkey as administrators see it: never its public key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasskeyInfo {
    /// The credential ID, base64url: what `user.remove-passkey` takes.
    pub credential_id: String,
    pub name: String,
    /// Its algorithm's JOSE name (`ES256`, `EdDSA`, `RS256`).
    pub alg: String,
    /// Backed up to a cloud account (the BS flag): usable from the user's other devices.
    pub synced: bool,
    /// Seconds since the epoch.
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

impl PasskeyInfo {
    pub fn of(pk: &crate::store::Passkey) -> PasskeyInfo {
        PasskeyInfo {
            credential_id: pk.credential_id.clone(),
            name: pk.name.clone(),
            alg: pk.alg.clone(),
            synced: pk.backed_up,
            created_at: pk.created_at,
            last_used_at: pk.last_used_at,
        }
    }
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
        passkeys: passkeys::newest_first(r.passkeys_of(user_id)?)
            .iter()
            .map(PasskeyInfo::of)
            .collect(),
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

#[cfg(test)]
mod amr_tests {
    use super::*;

    #[test]
    fn amr_says_what_was_used_and_mfa_only_for_two_factors() {
        assert_eq!(amr(&[Method::EmailCode]), ["otp"]);
        assert_eq!(amr(&[Method::EmailCode, Method::Totp]), ["otp", "mfa"]);
        assert_eq!(
            amr(&[Method::EmailCode, Method::RecoveryCode]),
            ["otp", "mfa"]
        );
        let synced = Method::Passkey {
            synced: true,
            verified: true,
        };
        assert_eq!(amr(&[synced]), ["swk", "user", "mfa"]);
        let bare = Method::Passkey {
            synced: false,
            verified: false,
        };
        assert_eq!(amr(&[bare]), ["hwk"]);
        assert_eq!(amr(&[Method::EmailCode, bare]), ["otp", "hwk", "mfa"]);
        assert_eq!(acr(&Authn::new(1, &amr(&[bare]))), ACR_ONE);
        assert_eq!(acr(&Authn::new(1, &amr(&[synced]))), ACR_MFA);
        assert_eq!(Authn::new(1, &[]).amr, ["otp"]);
        let otp = vec!["otp".to_string()];
        assert_eq!(after(&otp, Method::Totp), ["otp", "mfa"]);
        assert_eq!(after(&otp, synced), ["otp", "swk", "user", "mfa"]);
    }
}
