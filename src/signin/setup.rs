//! First run: with no administrator yet, `sesame serve` prints a one-time setup link to its log.
//! Whoever opens it signs in with an email code (the sign-up policy does not apply to that one
//! sign-in) and becomes the first member of the built-in `admins` group.
//!
//! ```text
//!  start, no admin ──▶ [link minted: token in memory, hashed; expires in 1 h]
//!                          │ opened once (constant-time compare, not expired)
//!                          ▼
//!                      [used] ──▶ a sign-in (SignInFor::FirstAdmin), bound to that browser
//!                                    │ right code
//!                                    ▼
//!                      still no admin? ──yes──▶ the user joins `admins` (audited: setup.first_admin)
//!                                      └─no───▶ an ordinary sign-in
//! ```
//!
//! The link lives only in the running process: a restart with still no admin prints a new one
//! (and the old one is dead). `sesame user add EMAIL --admin` remains the command-line way.
//!
//! Uses: crypto, store, users (the `admins` group), audit. Never the edge.

use crate::audit::{self, Actor, AuditEntry, Changes};
use crate::crypto;
use crate::store::{Store, StoreError, User, Writes, USERS};
use crate::users::ADMINS;
use std::sync::Mutex;

/// How long a setup link works.
pub const SETUP_TTL: u64 = 60 * 60;

/// The one setup link of this process, if minted and not used.
#[derive(Debug, Default)]
pub struct SetupLink {
    /// The token's hash and when it expires; `None` once used (or never minted).
    pending: Mutex<Option<(String, u64)>>,
}

/// Why a setup link did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupError {
    /// No link is pending: never minted (an admin existed at start), or already used.
    NoneOrUsed,
    /// The token is not this process's link.
    Wrong,
    /// The hour is over.
    Expired,
}

impl SetupLink {
    /// Mints the link's token (returned once, to be printed) valid until `now + SETUP_TTL`.
    pub fn mint(&self, now: u64) -> String {
        let token = crypto::random_token();
        *self.lock() = Some((crypto::hash_token(&token), now + SETUP_TTL));
        token
    }

    /// Uses the link: `Ok` once for the right, unexpired token; it never works again.
    pub fn take(&self, token: &str, now: u64) -> Result<(), SetupError> {
        let mut pending = self.lock();
        let Some((hash, expires_at)) = pending.as_ref() else {
            return Err(SetupError::NoneOrUsed);
        };
        if !crypto::constant_time_eq(crypto::hash_token(token).as_bytes(), hash.as_bytes()) {
            return Err(SetupError::Wrong);
        }
        if now >= *expires_at {
            *pending = None;
            return Err(SetupError::Expired);
        }
        *pending = None;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, u64)>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether an enabled member of `admins` exists.
pub fn has_admin(store: &Store) -> Result<bool, StoreError> {
    let is_admin = |u: &User| u.in_group(ADMINS) && !u.disabled;
    store.read(|tx| Ok(!tx.page(&USERS, None, 1, &is_admin)?.is_empty()))
}

/// At the end of a setup sign-in, in its transaction: `user` joins `admins` if there is still
/// no administrator (audited); otherwise nothing changes. Returns whether it joined.
pub(crate) fn promote_if_first(
    tx: &impl Writes,
    now: u64,
    user: &mut User,
) -> Result<bool, StoreError> {
    if tx
        .all_users()?
        .iter()
        .any(|u| u.in_group(ADMINS) && !u.disabled)
    {
        tracing::warn!(sub = %user.id, "setup link used, but an administrator exists already: an ordinary sign-in");
        return Ok(false);
    }
    user.groups.push(ADMINS.to_string());
    user.groups.sort();
    user.groups.dedup();
    user.updated_at = now;
    let actor = Actor::User {
        user_id: user.id.clone(),
    };
    let changes = Changes::of(serde_json::json!({ "email": user.email, "groups": [ADMINS] }));
    let entry = AuditEntry::admin_change(actor, "setup.first_admin", changes).user(&user.id);
    audit::record(tx, now, entry)?;
    tracing::info!(sub = %user.id, "the setup link's sign-in made the first administrator");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Reads;

    #[test]
    fn the_link_works_once_and_only_within_the_hour() {
        let link = SetupLink::default();
        assert_eq!(link.take("x", 0), Err(SetupError::NoneOrUsed));
        let token = link.mint(100);
        assert_eq!(link.take("wrong", 101), Err(SetupError::Wrong));
        assert_eq!(link.take(&token, 101), Ok(()));
        assert_eq!(link.take(&token, 102), Err(SetupError::NoneOrUsed));
        let token = link.mint(100);
        assert_eq!(link.take(&token, 100 + SETUP_TTL), Err(SetupError::Expired));
        assert_eq!(link.take(&token, 100), Err(SetupError::NoneOrUsed));
    }

    /// A setup sign-in of `address` with a known code, to its end.
    fn setup_sign_in(p: &crate::provider::Provider, address: &str) -> User {
        use crate::signin::{record_code, reserve_code, start, verify_code, Email};
        let id = start(
            p,
            crate::store::SignInFor::FirstAdmin,
            "b".repeat(43).as_str(),
        )
        .unwrap();
        let e = Email::parse(address).unwrap();
        let r = reserve_code(p, &id, &e, None).unwrap();
        assert!(
            !r.refused,
            "the setup link admits whatever the sign-up policy"
        );
        record_code(p, &id, &e, "123456", r).unwrap();
        verify_code(p, &id, "123456", None).unwrap();
        let uid = p
            .store
            .read(|tx| tx.user_id_by_email(address))
            .unwrap()
            .unwrap();
        p.store.read(|tx| tx.user(&uid)).unwrap().unwrap()
    }

    #[test]
    fn the_setup_sign_in_makes_the_first_admin_and_only_the_first() {
        // The fixture's policy admits nobody new.
        let (_d, p) = crate::provider::testing::provider();
        assert!(!has_admin(&p.store).unwrap());
        let first = setup_sign_in(&p, "first@example.com");
        assert_eq!(first.groups, [ADMINS]);
        assert!(has_admin(&p.store).unwrap());
        let second = setup_sign_in(&p, "second@example.com");
        assert!(
            second.groups.is_empty(),
            "an admin existed: an ordinary sign-in"
        );
    }
}
