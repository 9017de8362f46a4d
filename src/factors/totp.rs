//! An authenticator app as a second factor (TOTP, RFC 6238; the codes are `crypto::totp`'s).
//!
//! ```text
//!  begin ──▶ [pending: secret shown once, as QR code and text] ──confirm(right code)──▶
//!    ▲          │ begin again: a new secret replaces the pending one                  │
//!    │          └ confirm(wrong code): nothing changes, try again                     ▼
//!    │                                                       [confirmed: counts as a factor]
//!    │  begin while confirmed: the new secret is pending beside the one in use, which  │
//!    └──────────────────── works until the new one is confirmed ◀────────────────────────┤
//!                                          remove / admin reset ──▶ [none] ◀──────────────┘
//! ```
//!
//! - A code is accepted for its 30-second step and one step either side; a code of a step at
//!   or before the last one accepted is refused ([`FactorError::Reused`], RFC 6238 §5.2), so
//!   a code seen over a shoulder or in a proxy's log cannot be used again in its window.
//! - [`verify`] counts a wrong (or reused) code against the account's hourly budget
//!   (`guesses`): the caller must commit its transaction even when `verify` says no.
//! - Confirming does not count wrong codes: the person confirming was just shown the secret.
//! - The secret is shown once, at [`begin`], and never again: it is kept in the clear in the
//!   data file (checking a code needs it; see `store::TotpFactor`), so backups of that file
//!   must be protected as the file is.
//! - The first confirmed authenticator app comes with recovery codes ([`confirm`] returns them
//!   to be shown once) unless the user has unused ones.

use super::{entry, guesses, me, recovery, FactorError};
use crate::audit::{self, Actor};
use crate::crypto::{self, totp as code};
use crate::provider::Provider;
use crate::store::{PendingTotp, Reads, StoreError, TotpFactor, Writes};
use serde_json::json;

/// What setting up an authenticator app shows, once.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, for typing into an app that cannot scan.
    pub secret_base32: String,
    /// The `otpauth://` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an inline `<svg>` element.
    pub qr_svg: String,
}

/// Makes a new secret for `user_id` and keeps it pending (replacing an older pending one); a
/// confirmed authenticator app stays in use until the new one is confirmed. Audited
/// (`account.totp_enrol`).
pub fn begin(p: &Provider, user_id: &str) -> Result<Enrolment, FactorError> {
    let secret = code::new_secret();
    let now = p.now();
    let user = p.store.write(|tx| {
        let user = tx.user(user_id)?.ok_or(FactorError::NoSuchUser)?;
        let pending = PendingTotp {
            secret: crypto::b64url(&secret),
            created: now,
        };
        let record = match tx.totp(user_id)? {
            Some(mut t) if t.confirmed => {
                t.pending = Some(pending);
                t
            }
            _ => TotpFactor {
                secret: pending.secret,
                confirmed: false,
                created: now,
                last_used_step: 0,
                pending: None,
            },
        };
        tx.put_totp(user_id, &record)?;
        let replacing = record.confirmed;
        let changes = json!({ "totp": "pending", "replacing": replacing });
        audit::record(
            tx,
            now,
            entry(me(user_id), user_id, "account.totp_enrol", changes),
        )?;
        Ok::<_, FactorError>(user)
    })?;
    Ok(enrolment(p, &secret, &user.email))
}

/// The authenticator app being set up for `user_id` (from [`begin`] until it is confirmed), as
/// [`begin`] showed it: for the setup page that follows the form (Post/Redirect/Get), which
/// must be shown only to a fresh sign-in of this user. `None`: nothing is being set up.
pub fn pending_enrolment(p: &Provider, user_id: &str) -> Result<Option<Enrolment>, FactorError> {
    let (t, user) = p
        .store
        .read(|tx| Ok((tx.totp(user_id)?, tx.user(user_id)?)))?;
    let (Some(t), Some(user)) = (t, user) else {
        return Ok(None);
    };
    let secret = match (t.pending, t.confirmed) {
        (Some(pending), _) => pending.secret,
        (None, false) => t.secret,
        (None, true) => return Ok(None),
    };
    Ok(Some(enrolment(p, &decode(user_id, &secret)?, &user.email)))
}

/// What the setup page shows of `secret`: the app's entry is named by the product and the
/// user's address.
fn enrolment(p: &Provider, secret: &[u8], email: &str) -> Enrolment {
    let uri = code::otpauth_uri(secret, &p.product_name(), email);
    Enrolment {
        secret_base32: code::base32(secret),
        qr_svg: crate::qr::svg(&uri),
        otpauth_uri: uri,
    }
}

/// Confirms the pending secret with a code of it: from now on it is the authenticator app
/// that counts (replacing a confirmed one). Returns fresh recovery codes, to be shown once, if
/// the user had no unused ones. Audited (`account.totp_confirm`).
pub fn confirm(
    p: &Provider,
    user_id: &str,
    typed: &str,
) -> Result<Option<Vec<String>>, FactorError> {
    let now = p.now();
    p.store.write(|tx| {
        let t = tx.totp(user_id)?.ok_or(FactorError::NothingToConfirm)?;
        let (secret, created) = match &t.pending {
            Some(pending) => (pending.secret.clone(), pending.created),
            None if !t.confirmed => (t.secret.clone(), t.created),
            None => return Err(FactorError::NothingToConfirm),
        };
        let bytes = decode(user_id, &secret)?;
        let step =
            code::matching_step(&bytes, &normalise(typed), now).ok_or(FactorError::WrongCode)?;
        let confirmed = TotpFactor {
            secret,
            confirmed: true,
            created,
            last_used_step: step,
            pending: None,
        };
        tx.put_totp(user_id, &confirmed)?;
        let fresh = if recovery::remaining(tx, user_id)? == 0 {
            Some(recovery::generate_in(tx, user_id, now)?)
        } else {
            None
        };
        let changes =
            json!({ "totp": "confirmed", "recovery_codes": fresh.as_ref().map(Vec::len) });
        audit::record(
            tx,
            now,
            entry(me(user_id), user_id, "account.totp_confirm", changes),
        )?;
        Ok(fresh)
    })
}

/// Whether `user_id` has a confirmed authenticator app.
pub fn enrolled(r: &impl Reads, user_id: &str) -> Result<bool, StoreError> {
    Ok(r.totp(user_id)?.is_some_and(|t| t.confirmed))
}

/// Whether `user_id` has an authenticator app being set up (not yet confirmed).
pub fn pending(r: &impl Reads, user_id: &str) -> Result<bool, StoreError> {
    Ok(r.totp(user_id)?
        .is_some_and(|t| !t.confirmed || t.pending.is_some()))
}

/// Checks a code of `user_id`'s authenticator app at `now`, in the caller's write transaction
/// (the sign-in step's). A right code is remembered (its step is never accepted again) and
/// audited (`account.totp_use`); a wrong or reused one counts against the account's hourly
/// budget and is audited (`sign_in_failed`, `wrong_second_factor`). **The caller must commit
/// the transaction whatever this returns**, or the count is lost.
pub fn verify(
    p: &Provider,
    tx: &impl Writes,
    user_id: &str,
    typed: &str,
    now: u64,
) -> Result<(), FactorError> {
    guesses::check(p, tx, user_id, now)?;
    let Some(mut t) = tx.totp(user_id)?.filter(|t| t.confirmed) else {
        return Err(FactorError::NotEnrolled);
    };
    let secret = decode(user_id, &t.secret)?;
    match code::matching_step(&secret, &normalise(typed), now) {
        None => guesses::wrong(tx, user_id, now, FactorError::WrongCode),
        Some(step) if step <= t.last_used_step => {
            guesses::wrong(tx, user_id, now, FactorError::Reused)
        }
        Some(step) => {
            t.last_used_step = step;
            tx.put_totp(user_id, &t)?;
            let used = entry(me(user_id), user_id, "account.totp_use", json!({}));
            audit::record(tx, now, used)?;
            Ok(())
        }
    }
}

/// Removes `user_id`'s authenticator app (confirmed and pending); recovery codes stay. Returns
/// whether there was one. Audited (`account.totp_remove`, by `actor`).
pub fn remove(p: &Provider, user_id: &str, actor: Actor) -> Result<bool, FactorError> {
    let now = p.now();
    p.store.write(|tx| {
        let removed = tx.remove_totp(user_id)?;
        if removed {
            let changes = json!({ "totp": "removed" });
            audit::record(
                tx,
                now,
                entry(actor, user_id, "account.totp_remove", changes),
            )?;
        }
        Ok(removed)
    })
}

/// What an administrator's reset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reset {
    /// There was an authenticator app (confirmed or being set up).
    pub totp: bool,
    /// How many unused recovery codes there were.
    pub recovery_codes: usize,
    /// How many passkeys there were.
    pub passkeys: usize,
}

/// For a user who lost their phone (or every device): removes their authenticator app, their
/// recovery codes, their passkeys and their wrong-code count, in the caller's transaction
/// (which audits it as its command).
pub fn reset_in(tx: &impl Writes, user_id: &str) -> Result<Reset, StoreError> {
    let recovery_codes = recovery::remaining(tx, user_id)?;
    let totp = tx.totp(user_id)?.is_some();
    let passkeys = super::passkeys::count(tx, user_id)?;
    tx.remove_factors_of(user_id)?;
    Ok(Reset {
        totp,
        recovery_codes,
        passkeys,
    })
}

/// A typed code without the spaces apps show in it (`123 456`).
fn normalise(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A stored secret's bytes.
fn decode(user_id: &str, secret: &str) -> Result<Vec<u8>, StoreError> {
    crypto::b64url_decode(secret).ok_or_else(|| StoreError::Corrupt {
        table: "totp",
        key: user_id.to_string(),
        reason: "the secret is not base64url".into(),
    })
}
