//! Signing keys, compact JWS (one signature), and the JWKS that publishes them.
//!
//! sesame signs ID tokens with ES384 by default (Logto's default), ES256 when an app asks for
//! it, and RS256 (which OIDC Core requires every provider to offer). There is one *active* key
//! per algorithm; it signs everything new. A key's life:
//!
//! ```text
//!   (none) ──load_or_generate──▶ active ──rotate──▶ retired
//!                                  │                   │
//!                                  └── signs, in JWKS  └── in JWKS, verifies; never signs again
//!                                                          │
//!                                                  prune (once every token it signed expired)
//!                                                          ▼
//!                                                       (gone)
//! ```
//!
//! A retired key stays (and is published) until every token it signed has expired: ID tokens,
//! and the JWT access tokens of registered APIs, so until `retired_at` plus the longer of
//! `id_token_ttl` and the APIs' `access_token_ttl` (the callers pass that window in;
//! `apis::key_lifetime` computes it). After that
//! `sesame keys prune`, or scheduled rotation (`[keys] rotate_after_days`, which prunes too),
//! removes it (`lifecycle.rs`). An `id_token_hint` signed by a pruned key no longer verifies
//! and is treated as any hint that is not ours.
//!
//! Keys are stored in the `KEYS` table as PKCS#8 DER and loaded by ring. ring generates ECDSA
//! keys but not RSA keys, so the RS256 key comes from the rsa crate (once, on first start, or on
//! rotation) and is handed to ring as PKCS#8. A `kid` is a [`random_id`](super::random_id).
//!
//! The algorithms are [`Alg`]; [`Alg::ALL`] and [`Alg::NAMES`] are the one list of them that
//! configuration, the CLI and discovery use.
//!
//! A [`KeySet`] is an immutable snapshot. Rotation writes to the store; the server then loads a
//! fresh `KeySet` and swaps it in whole (`State.keys` is a `RwLock<Arc<KeySet>>`), so a request
//! never sees half a rotation.

mod lifecycle;
mod signing;

pub use lifecycle::{list, prune, prune_with, rotate_due, KeyInfo, Scheduled};
pub use signing::{at_hash, Alg, SigningKey};

use super::{b64url, b64url_decode, CryptoError};
use crate::store::{KeyRecord, Store, StoreError, WriteTx, KEYS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// `[keys]`: signing key rotation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Make a new active key for an algorithm once its key is this many days old (checked at
    /// start and every hour). Unset: only `sesame keys rotate` rotates.
    pub rotate_after_days: Option<u64>,
}

/// All of sesame's signing keys: one active key per algorithm, plus the retired ones.
#[derive(Debug)]
pub struct KeySet {
    // One field per algorithm. The ECDSA keys always exist (generating them takes
    // microseconds); the RSA key may still be generating on a first start (see
    // `load_or_generate_ecdsa`), and then RS256 is unavailable for those moments.
    es256: SigningKey,
    es384: SigningKey,
    rs256: Option<SigningKey>,
    /// Keys that no longer sign but still verify (and stay in JWKS).
    retired: Vec<SigningKey>,
}

impl KeySet {
    /// Loads the keys from the store, first generating and storing (in one write transaction)
    /// an active key for every algorithm that has none.
    pub fn load_or_generate(store: &Store) -> Result<KeySet, CryptoError> {
        Self::ensure(store, &Alg::ALL)
    }

    /// Like [`KeySet::load_or_generate`], but generates only the ECDSA keys (microseconds):
    /// a first start is ready at once, and the caller generates the RSA key in the background
    /// (an RSA prime search takes a fraction of a second here, seconds on a small ARM board).
    /// Returns whether the RSA key is still missing.
    pub fn load_or_generate_ecdsa(store: &Store) -> Result<(KeySet, bool), CryptoError> {
        let keys = Self::ensure(store, &[Alg::Es256, Alg::Es384])?;
        let rsa_missing = keys.rs256.is_none();
        Ok((keys, rsa_missing))
    }

    fn ensure(store: &Store, wanted: &[Alg]) -> Result<KeySet, CryptoError> {
        let stored = store.read(|tx| tx.scan(&KEYS))?;
        let missing: Vec<Alg> = wanted
            .iter()
            .copied()
            .filter(|&alg| !has_active(&stored, alg))
            .collect();
        if missing.is_empty() {
            return KeySet::from_records(stored);
        }
        // Generated before the write transaction opens: an RSA key takes a noticeable fraction
        // of a second, and a write transaction holds up every other writer.
        let names: Vec<&str> = missing.iter().map(|a| a.as_str()).collect();
        tracing::info!(
            "generating signing keys ({}); once, on first start (an RSA key can take seconds on a small board)",
            names.join(", ")
        );
        let fresh = missing
            .into_iter()
            .map(|alg| new_record(alg, crate::clock::now()))
            .collect::<Result<Vec<_>, _>>()?;
        let records = store.write(|tx| {
            let current = tx.scan(&KEYS)?;
            for rec in &fresh {
                // Another thread may have stored one since our read; keep that one, so there is
                // exactly one active key per algorithm.
                if !current.iter().any(|(_, r)| r.active && r.alg == rec.alg) {
                    tx.put(&KEYS, &rec.kid, rec)?;
                }
            }
            tx.scan(&KEYS)
        })?;
        KeySet::from_records(records)
    }

    /// Makes a new active key for `alg` and retires the old one (kept, still verifying);
    /// returns the new `kid`. Load a new [`KeySet`] afterwards to sign with it.
    pub fn rotate(store: &Store, alg: Alg) -> Result<String, CryptoError> {
        Self::rotate_with(store, alg, |_, _| Ok(()))
    }

    /// [`KeySet::rotate`], also running `with(tx, kid)` in the write transaction that stores
    /// the new key (the control command records its audit entry so: both commit, or neither).
    /// The key is generated before that transaction opens, as in [`KeySet::load_or_generate`].
    pub fn rotate_with(
        store: &Store,
        alg: Alg,
        with: impl FnOnce(&WriteTx, &str) -> Result<(), StoreError>,
    ) -> Result<String, CryptoError> {
        Self::rotate_at(store, alg, crate::clock::now(), with)
    }

    /// [`KeySet::rotate_with`] at time `now` (the new key's creation, the old one's
    /// retirement).
    pub fn rotate_at(
        store: &Store,
        alg: Alg,
        now: u64,
        with: impl FnOnce(&WriteTx, &str) -> Result<(), StoreError>,
    ) -> Result<String, CryptoError> {
        let fresh = new_record(alg, now)?;
        store.write(|tx| {
            for (kid, mut rec) in tx.scan(&KEYS)? {
                if rec.active && rec.alg == alg {
                    rec.active = false;
                    rec.retired_at = Some(now);
                    tx.put(&KEYS, &kid, &rec)?;
                }
            }
            tx.put(&KEYS, &fresh.kid, &fresh)?;
            with(tx, &fresh.kid)
        })?;
        Ok(fresh.kid)
    }

    /// The active key for `alg`: the one that signs new tokens. Only RS256 can be missing,
    /// for the moments its key is generated on a first start ([`CryptoError::NoActiveKey`]).
    pub fn signer(&self, alg: Alg) -> Result<&SigningKey, CryptoError> {
        match alg {
            Alg::Es256 => Ok(&self.es256),
            Alg::Es384 => Ok(&self.es384),
            Alg::Rs256 => self.rs256.as_ref().ok_or(CryptoError::NoActiveKey(alg)),
        }
    }

    /// The JWK Set to publish: `{"keys": [...]}`, active keys first, then retired ones so
    /// tokens they signed still verify.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.keys().map(SigningKey::public_jwk).collect();
        json!({ "keys": keys })
    }

    /// Verifies a compact JWS signed by one of our keys (active or retired) and returns its
    /// claims. The header's `kid` picks the key and its `alg` must be that key's algorithm, so
    /// `none` and algorithm confusion are refused. Does not look at `exp` or any other claim:
    /// the caller decides what a valid token is for its purpose.
    pub fn verify_jwt(&self, token: &str) -> Result<Value, CryptoError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::MalformedJwt("not three dot-separated parts"));
        };
        let header = decode_json_object(header_b64).ok_or(CryptoError::MalformedJwt(
            "header is not a base64url JSON object",
        ))?;
        if header.contains_key("crit") {
            // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid,
            // and we understand none.
            return Err(CryptoError::MalformedJwt(
                "critical header extensions are not supported",
            ));
        }
        let (Some(kid), Some(alg)) = (
            header.get("kid").and_then(Value::as_str),
            header.get("alg").and_then(Value::as_str),
        ) else {
            return Err(CryptoError::MalformedJwt(
                "header lacks a string kid or alg",
            ));
        };
        let key = self
            .keys()
            .find(|k| k.kid() == kid)
            .ok_or_else(|| CryptoError::UnknownKid(kid.to_string()))?;
        if alg != key.alg().as_str() {
            return Err(CryptoError::AlgMismatch {
                header: alg.to_string(),
                key: key.alg(),
            });
        }
        let sig = b64url_decode(sig_b64)
            .ok_or(CryptoError::MalformedJwt("signature is not base64url"))?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        key.verify(signing_input.as_bytes(), &sig)?;
        let claims = decode_json_object(payload_b64).ok_or(CryptoError::MalformedJwt(
            "payload is not a base64url JSON object",
        ))?;
        Ok(Value::Object(claims))
    }

    /// Every key, active ones first.
    fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        [&self.es256, &self.es384]
            .into_iter()
            .chain(&self.rs256)
            .chain(&self.retired)
    }

    /// Builds the set from stored records. Should a store ever hold two active keys for one
    /// algorithm, the newest signs and the others count as retired.
    fn from_records(records: Vec<(String, KeyRecord)>) -> Result<KeySet, CryptoError> {
        let mut keys: Vec<(bool, u64, SigningKey)> = Vec::with_capacity(records.len());
        for (kid, rec) in records {
            let corrupt = |reason: String| CryptoError::CorruptKey {
                kid: kid.clone(),
                reason,
            };
            let der = b64url_decode(&rec.pkcs8)
                .ok_or_else(|| corrupt("pkcs8 is not base64url".to_string()))?;
            let key = SigningKey::from_pkcs8(kid.clone(), rec.alg, &der)
                .map_err(|e| corrupt(e.to_string()))?;
            keys.push((rec.active, rec.created_at, key));
        }
        let mut take_active = |alg: Alg| -> Result<SigningKey, CryptoError> {
            let newest = keys
                .iter()
                .enumerate()
                .filter(|(_, (active, _, k))| *active && k.alg() == alg)
                .max_by(|(_, (_, a, ka)), (_, (_, b, kb))| (a, ka.kid()).cmp(&(b, kb.kid())))
                .map(|(i, _)| i)
                .ok_or(CryptoError::NoActiveKey(alg))?;
            Ok(keys.swap_remove(newest).2)
        };
        let es256 = take_active(Alg::Es256)?;
        let es384 = take_active(Alg::Es384)?;
        let rs256 = take_active(Alg::Rs256).ok();
        // What is left is retired; newest first, so a JWKS reader meets recent keys early.
        keys.sort_by(|(_, a, ka), (_, b, kb)| (b, kb.kid()).cmp(&(a, ka.kid())));
        Ok(KeySet {
            es256,
            es384,
            rs256,
            retired: keys.into_iter().map(|(_, _, k)| k).collect(),
        })
    }
}
/// A fresh active key for `alg`, ready to store.
fn new_record(alg: Alg, now: u64) -> Result<KeyRecord, CryptoError> {
    let (key, pkcs8) = SigningKey::generate(alg)?;
    Ok(KeyRecord {
        kid: key.kid().to_string(),
        alg,
        pkcs8: b64url(&pkcs8),
        created_at: now,
        active: true,
        retired_at: None,
    })
}

fn has_active(records: &[(String, KeyRecord)], alg: Alg) -> bool {
    records.iter().any(|(_, r)| r.active && r.alg == alg)
}

fn decode_json_object(b64: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(b64)?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
