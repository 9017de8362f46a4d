//! Second factors and how a sign-in was proved: passkeys (`passkeys`), authenticator apps
//! (`totp`) and recovery codes (`recovery`), the policy that asks for them, and the `amr` and
//! `acr` values ID tokens carry.
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
//! Uses: store, crypto, provider, audit. Never the edge.

pub mod passkeys;

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

#[cfg(test)]
mod tests {
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
