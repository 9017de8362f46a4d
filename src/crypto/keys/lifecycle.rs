//! A key's life after it signs: how long a retired key stays in JWKS, listing keys with that
//! date, pruning the ones past it, and rotation on a schedule.
//!
//! "In JWKS until" is `retired_at + token_lifetime`, where `token_lifetime` is the longest
//! lifetime of a token the key could have signed (the ID token's: access tokens are opaque).
//! The caller passes it: a running server uses its own `[tokens]`, the CLI on the file its
//! configuration's. A key retired before sesame recorded `retired_at` counts as retired when
//! its successor (the next key of its algorithm) was made, which is when rotation retired it.

use super::{Alg, KeySet};
use crate::crypto::CryptoError;
use crate::store::{KeyRecord, Store, StoreError, WriteTx, KEYS};
use serde::{Deserialize, Serialize};

/// One key, as `sesame keys list` shows it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub created_at: u64,
    pub active: bool,
    /// Null for the active key.
    pub retired_at: Option<u64>,
    /// When the key may leave JWKS: null while it is active (it stays while it signs).
    pub in_jwks_until: Option<u64>,
}

/// Every stored key, active ones first, then retired ones newest first.
pub fn list(store: &Store, token_lifetime: u64) -> Result<Vec<KeyInfo>, StoreError> {
    let records: Vec<KeyRecord> = store
        .read(|tx| tx.scan(&KEYS))?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let mut out: Vec<KeyInfo> = records
        .iter()
        .map(|r| info(r, &records, token_lifetime))
        .collect();
    out.sort_by(|a, b| (b.active, b.created_at, &b.kid).cmp(&(a.active, a.created_at, &a.kid)));
    Ok(out)
}

/// Removes the retired keys whose every token has expired at `now`; returns them.
pub fn prune(store: &Store, now: u64, token_lifetime: u64) -> Result<Vec<KeyInfo>, StoreError> {
    prune_with(store, now, token_lifetime, |_, _| Ok(()))
}

/// [`prune`], also running `with(tx, pruned)` in its write transaction when it removed a key
/// (the control command records its audit entry so: both commit, or neither).
pub fn prune_with(
    store: &Store,
    now: u64,
    token_lifetime: u64,
    with: impl FnOnce(&WriteTx, &[KeyInfo]) -> Result<(), StoreError>,
) -> Result<Vec<KeyInfo>, StoreError> {
    store.write(|tx| {
        let records: Vec<KeyRecord> = tx.scan(&KEYS)?.into_iter().map(|(_, r)| r).collect();
        let mut gone = Vec::new();
        for r in &records {
            let i = info(r, &records, token_lifetime);
            if i.in_jwks_until.is_some_and(|until| until <= now) {
                tx.remove(&KEYS, &r.kid)?;
                gone.push(i);
            }
        }
        if !gone.is_empty() {
            with(tx, &gone)?;
        }
        Ok(gone)
    })
}

/// What one scheduled check did.
#[derive(Debug, Default)]
pub struct Scheduled {
    /// The new keys: algorithm and key ID.
    pub rotated: Vec<(Alg, String)>,
    /// The retired keys removed.
    pub pruned: Vec<KeyInfo>,
}

/// Scheduled rotation: makes a new key for every algorithm whose active key is at least
/// `rotate_after` seconds old at `now`, then prunes what has expired.
pub fn rotate_due(
    store: &Store,
    now: u64,
    rotate_after: u64,
    token_lifetime: u64,
) -> Result<Scheduled, CryptoError> {
    let due: Vec<Alg> = store
        .read(|tx| tx.scan(&KEYS))?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.active && now.saturating_sub(r.created_at) >= rotate_after)
        .map(|r| r.alg)
        .collect();
    let mut rotated = Vec::new();
    for alg in due {
        let kid = KeySet::rotate_at(store, alg, now, |_, _| Ok(()))?;
        rotated.push((alg, kid));
    }
    let pruned = prune(store, now, token_lifetime)?;
    Ok(Scheduled { rotated, pruned })
}

fn info(r: &KeyRecord, all: &[KeyRecord], token_lifetime: u64) -> KeyInfo {
    let retired_at = if r.active {
        None
    } else {
        r.retired_at.or_else(|| successor_created(r, all))
    };
    KeyInfo {
        kid: r.kid.clone(),
        alg: r.alg,
        created_at: r.created_at,
        active: r.active,
        retired_at,
        in_jwks_until: retired_at.map(|t| t.saturating_add(token_lifetime)),
    }
}

/// When the next key of `r`'s algorithm was made (what retired `r`), if there is one.
fn successor_created(r: &KeyRecord, all: &[KeyRecord]) -> Option<u64> {
    all.iter()
        .filter(|o| o.alg == r.alg && o.kid != r.kid && o.created_at >= r.created_at)
        .map(|o| o.created_at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const HOUR: u64 = 3_600;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    /// Backdates every key to `at` (what a store made at that time would hold).
    fn made_at(store: &Store, at: u64) {
        store
            .write(|tx| {
                for (kid, mut r) in tx.scan(&KEYS)? {
                    r.created_at = at;
                    tx.put(&KEYS, &kid, &r)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn scheduled_rotation_keeps_the_old_key_until_its_tokens_expire() {
        let (_d, store) = store();
        KeySet::load_or_generate_ecdsa(&store).unwrap();
        let t0 = 1_800_000_000;
        made_at(&store, t0);
        let old = KeySet::load_or_generate_ecdsa(&store).unwrap().0;
        let old_es384 = old.signer(Alg::Es384).unwrap().kid().to_string();

        // Not yet due: nothing changes.
        let done = rotate_due(&store, t0 + 29 * DAY, 30 * DAY, HOUR).unwrap();
        assert!(done.rotated.is_empty() && done.pruned.is_empty());

        // Due: both ECDSA keys rotate; the old ones are retired now, in JWKS for an hour more.
        let t1 = t0 + 30 * DAY;
        let done = rotate_due(&store, t1, 30 * DAY, HOUR).unwrap();
        assert_eq!(done.rotated.len(), 2, "{done:?}");
        assert!(done.pruned.is_empty());
        let keys = list(&store, HOUR).unwrap();
        let old = keys.iter().find(|k| k.kid == old_es384).unwrap();
        assert_eq!(
            (old.active, old.retired_at, old.in_jwks_until),
            (false, Some(t1), Some(t1 + HOUR))
        );
        assert!(keys[0].active && keys[0].in_jwks_until.is_none());
        let set = KeySet::load_or_generate_ecdsa(&store).unwrap().0;
        assert!(set.jwks().to_string().contains(&old_es384));

        // A token signed just before the rotation is still valid a second before the hour.
        let done = rotate_due(&store, t1 + HOUR - 1, 30 * DAY, HOUR).unwrap();
        assert!(done.pruned.is_empty() && done.rotated.is_empty());
        // Then the old keys go, and the new ones stay.
        let pruned = prune(&store, t1 + HOUR, HOUR).unwrap();
        assert_eq!(pruned.len(), 2);
        let keys = list(&store, HOUR).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().all(|k| k.active));
        let set = KeySet::load_or_generate_ecdsa(&store).unwrap().0;
        assert!(!set.jwks().to_string().contains(&old_es384));
    }

    #[test]
    fn a_key_retired_before_retired_at_was_recorded_counts_from_its_successor() {
        let (_d, store) = store();
        KeySet::load_or_generate_ecdsa(&store).unwrap();
        let t0 = 1_800_000_000;
        made_at(&store, t0);
        KeySet::rotate_at(&store, Alg::Es256, t0 + DAY, |_, _| Ok(())).unwrap();
        // As an older sesame stored it: no retired_at.
        store
            .write(|tx| {
                for (kid, mut r) in tx.scan(&KEYS)? {
                    r.retired_at = None;
                    tx.put(&KEYS, &kid, &r)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let keys = list(&store, HOUR).unwrap();
        let retired: Vec<_> = keys.iter().filter(|k| !k.active).collect();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].retired_at, Some(t0 + DAY));
        assert_eq!(retired[0].in_jwks_until, Some(t0 + DAY + HOUR));
    }
}
