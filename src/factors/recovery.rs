//! Recovery codes: ten single-use codes a user keeps on paper, for when the authenticator app
//! (or passkey) is lost. Each stands in for a second factor once.
//!
//! ```text
//!  generate ──▶ [10 unused: shown once] ──consume(right code)──▶ that one gone (9, 8, ... 0)
//!     ▲                                  ──consume(wrong code)──▶ counted (`guesses`)
//!     └── generate again: every old code stops working
//! ```
//!
//! - A code is 12 characters from an alphabet without 0/O, 1/I/L and U (Crockford's base32 less
//!   U, and less 0 and 1 as well): 30 symbols, so 12 × log2(30) ≈ 58.9 bits each. Shown as
//!   `XXXX-XXXX-XXXX`; case, spaces and dashes do not matter when typed.
//! - Stored as `crypto::hash_code(salt, code)` with one random salt per set: 59 bits is too
//!   many to enumerate online, but a plain hash of a copied file could be attacked once for
//!   every user at the same time; the salt makes each set its own work. Compared in constant
//!   time, against every stored hash (no early exit).
//! - Wrong codes count against the same hourly budget as the authenticator app's.

use super::{entry, guesses, me, FactorError};
use crate::audit;
use crate::crypto;
use crate::provider::Provider;
use crate::store::{Reads, RecoveryCodes, StoreError, Writes};
use serde_json::json;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters in a code (without its dashes).
pub const LENGTH: usize = 12;
/// The symbols a code is made of: no 0/O, 1/I/L, or U.
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters between dashes when a code is shown.
const GROUP: usize = 4;

/// Makes `user_id` a new set of codes, replacing every old one; returns them to be shown once.
/// Audited (`account.recovery_codes`).
pub fn generate(p: &Provider, user_id: &str) -> Result<Vec<String>, FactorError> {
    let now = p.now();
    p.store.write(|tx| {
        tx.user(user_id)?.ok_or(FactorError::NoSuchUser)?;
        let codes = generate_in(tx, user_id, now)?;
        let changes = json!({ "recovery_codes": codes.len() });
        audit::record(
            tx,
            now,
            entry(me(user_id), user_id, "account.recovery_codes", changes),
        )?;
        Ok(codes)
    })
}

/// [`generate`] in the caller's transaction, unaudited (the caller records its own entry).
pub(super) fn generate_in(
    tx: &impl Writes,
    user_id: &str,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let salt = crypto::random_id();
    let plain: Vec<String> = (0..COUNT)
        .map(|_| crypto::random_chars(ALPHABET, LENGTH))
        .collect();
    let hashes = plain.iter().map(|c| crypto::hash_code(&salt, c)).collect();
    let record = RecoveryCodes {
        salt,
        hashes,
        created: now,
    };
    tx.put_recovery_codes(user_id, &record)?;
    Ok(plain.iter().map(|c| grouped(c)).collect())
}

/// Uses up one of `user_id`'s codes, in the caller's write transaction (the sign-in step's):
/// a right code works this once and is audited (`account.recovery_code_use`); a wrong one
/// counts against the hourly budget. **The caller must commit whatever this returns.**
pub fn consume(
    p: &Provider,
    tx: &impl Writes,
    user_id: &str,
    typed: &str,
    now: u64,
) -> Result<(), FactorError> {
    guesses::check(p, tx, user_id, now)?;
    let Some(mut set) = tx.recovery_codes(user_id)?.filter(|s| !s.hashes.is_empty()) else {
        return Err(FactorError::NotEnrolled);
    };
    let hash = crypto::hash_code(&set.salt, &normalise(typed));
    let mut found = None;
    for (i, stored) in set.hashes.iter().enumerate() {
        if crypto::constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
            found = Some(i);
        }
    }
    let Some(i) = found else {
        return guesses::wrong(tx, user_id, now, FactorError::WrongCode);
    };
    set.hashes.remove(i);
    tx.put_recovery_codes(user_id, &set)?;
    let changes = json!({ "remaining": set.hashes.len() });
    let used = entry(me(user_id), user_id, "account.recovery_code_use", changes);
    audit::record(tx, now, used)?;
    Ok(())
}

/// How many unused codes `user_id` has.
pub fn remaining(r: &impl Reads, user_id: &str) -> Result<usize, StoreError> {
    Ok(r.recovery_codes(user_id)?.map_or(0, |s| s.hashes.len()))
}

/// `ABCDEFGHJKMN` as `ABCD-EFGH-JKMN`.
fn grouped(code: &str) -> String {
    let chunks: Vec<&str> = code
        .as_bytes()
        .chunks(GROUP)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    chunks.join("-")
}

/// A typed code as it was made: upper case, without spaces or dashes.
fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
