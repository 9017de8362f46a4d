//! Management API keys: what a program presents (`Authorization: Bearer sesame_...`) to use
//! the management API, made and revoked by the operator (`sesame api-key ...`, or the API
//! itself).
//!
//! A key's life:
//!
//! ```text
//!  create ──▶ live ──expires_at passes──▶ expired ─┐
//!               │                                  ├─▶ refused, still listed
//!               └──────────revoke─────────▶ revoked ┘
//! ```
//!
//! The key in the clear is [`PREFIX`] followed by a [`crypto::random_token`] (256 bits): the
//! prefix makes a leaked key recognisable to a secret scanner and to a person, and lets a
//! request with some other kind of token be refused without a lookup. It exists once, in what
//! [`create`] returns; the store keeps its hash ([`crypto::hash_token`]), so a copy of the
//! database holds no working key. Expired and revoked keys stay listed (and their hash
//! indexed), so a request with one is refused with the reason in the log rather than as an
//! unknown key.
//!
//! `last_used_at` is written at most once per [`LAST_USED_EVERY`] per key: it answers "is this
//! key still in use?", and a write (an fsync) on every authenticated read would turn every
//! `GET` into a write.
//!
//! Uses: store (typed operations), crypto (random tokens and IDs, hashing). Never the edge: the
//! admin command set creates, lists and revokes; the management API authenticates.

use crate::crypto;
use crate::store::{ApiKey, Reads, Store, StoreError, Writes, API_KEYS};
use serde::{Deserialize, Serialize};

/// What every key starts with.
pub const PREFIX: &str = "sesame_";

/// The longest expiry accepted, in days (ten years: longer is "never", and says so).
pub const MAX_EXPIRY_DAYS: u64 = 3650;

/// The longest key name accepted, in characters.
pub const MAX_NAME: usize = 100;

/// How stale `last_used_at` may get before a request updates it, in seconds.
pub const LAST_USED_EVERY: u64 = 3600;

const DAY: u64 = 24 * 3600;

/// What `sesame api-key create` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewApiKey {
    /// Which program will hold the key.
    pub name: String,
    /// The key is refused this many days after it is made; absent: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u64>,
}

/// Why an API key operation was refused.
#[derive(Debug)]
pub enum ApiKeyError {
    /// The name is empty (or only spaces).
    EmptyName,
    /// The name is longer than [`MAX_NAME`] characters.
    NameTooLong,
    /// The expiry is 0 days or more than [`MAX_EXPIRY_DAYS`].
    BadExpiry(u64),
    /// No key has this ID.
    UnknownKey(String),
    /// Storage failed.
    Store(StoreError),
}

impl std::fmt::Display for ApiKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKeyError::EmptyName => f.write_str(
                "an API key needs a name saying which program holds it (--name)",
            ),
            ApiKeyError::NameTooLong => {
                write!(f, "the API key name is longer than {MAX_NAME} characters")
            }
            ApiKeyError::BadExpiry(days) => write!(
                f,
                "an API key expires after 1 to {MAX_EXPIRY_DAYS} days, not {days} (leave the expiry out for a key that does not expire)"
            ),
            ApiKeyError::UnknownKey(id) => write!(
                f,
                "no API key with ID {id:?} (`sesame api-key list` shows them)"
            ),
            ApiKeyError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApiKeyError {}

impl From<StoreError> for ApiKeyError {
    fn from(e: StoreError) -> Self {
        ApiKeyError::Store(e)
    }
}

/// Why a presented key does not authenticate. The caller is told only that it does not (one
/// answer for all, as RFC 6750 has it); the reason is for the log.
#[derive(Debug)]
pub enum Refused {
    /// It does not look like a sesame API key at all.
    Malformed,
    /// No key hashes to it.
    Unknown,
    /// The key's expiry has passed.
    Expired { id: String },
    /// The key was revoked.
    Revoked { id: String },
    /// Storage failed while looking it up.
    Store(StoreError),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Malformed => write!(f, "not a sesame API key (they start with {PREFIX})"),
            Refused::Unknown => f.write_str("no such API key"),
            Refused::Expired { id } => write!(f, "API key {id} has expired"),
            Refused::Revoked { id } => write!(f, "API key {id} was revoked"),
            Refused::Store(e) => write!(f, "{e}"),
        }
    }
}

/// Where a key stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Active,
    Expired,
    Revoked,
}

/// A key as it is shown: never its hash; the key itself only in what [`create`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    /// Shown once, when the key is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub state: KeyState,
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub last_used_at: Option<u64>,
    pub revoked_at: Option<u64>,
}

impl ApiKeyInfo {
    /// How `key` is shown at `now`, with the key in the clear when it was just made.
    pub fn of(key: &ApiKey, now: u64, clear: Option<String>) -> ApiKeyInfo {
        ApiKeyInfo {
            id: key.id.clone(),
            name: key.name.clone(),
            key: clear,
            state: state(key, now),
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// Where `key` stands at `now`. Revoked wins over expired: it was a decision.
pub fn state(key: &ApiKey, now: u64) -> KeyState {
    if key.revoked_at.is_some() {
        KeyState::Revoked
    } else if key.expires_at.is_some_and(|t| now >= t) {
        KeyState::Expired
    } else {
        KeyState::Active
    }
}

/// Makes a key. Returns its record and the key in the clear (shown once).
pub fn create(store: &Store, now: u64, new: NewApiKey) -> Result<(ApiKey, String), ApiKeyError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(ApiKeyError::EmptyName);
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiKeyError::NameTooLong);
    }
    let expires_at = match new.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => Some(now + days * DAY),
        Some(days) => return Err(ApiKeyError::BadExpiry(days)),
    };
    let clear = format!("{PREFIX}{}", crypto::random_token());
    let key = ApiKey {
        id: crypto::random_id(),
        name: name.to_string(),
        key_hash: crypto::hash_token(&clear),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    store.write(|tx| tx.put_api_key(&key))?;
    Ok((key, clear))
}

/// Every key, oldest first.
pub fn list(store: &Store) -> Result<Vec<ApiKey>, ApiKeyError> {
    let mut keys: Vec<ApiKey> = store
        .read(|tx| tx.scan(&API_KEYS))?
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(keys)
}

/// Revokes a key: every request with it is refused from now on. Revoking a revoked key
/// changes nothing (it keeps the first revocation's time).
pub fn revoke(store: &Store, now: u64, id: &str) -> Result<ApiKey, ApiKeyError> {
    let id = id.trim();
    store.write(|tx| {
        let mut key = tx
            .api_key(id)?
            .ok_or_else(|| ApiKeyError::UnknownKey(id.to_string()))?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(now);
            tx.put_api_key(&key)?;
        }
        Ok(key)
    })
}

/// The live key that `presented` is, or why it is refused. Notes the use (at most once per
/// [`LAST_USED_EVERY`]).
pub fn authenticate(store: &Store, now: u64, presented: &str) -> Result<ApiKey, Refused> {
    if !presented.starts_with(PREFIX) || presented.len() > PREFIX.len() + 64 {
        return Err(Refused::Malformed);
    }
    let hash = crypto::hash_token(presented);
    let key = store
        .read(|tx| tx.api_key_by_hash(&hash))
        .map_err(Refused::Store)?
        .ok_or(Refused::Unknown)?;
    match state(&key, now) {
        KeyState::Active => {}
        KeyState::Expired => return Err(Refused::Expired { id: key.id }),
        KeyState::Revoked => return Err(Refused::Revoked { id: key.id }),
    }
    if key.last_used_at.is_none_or(|t| now >= t + LAST_USED_EVERY) {
        // Read again inside the write: a revocation that committed meanwhile must not be
        // overwritten by this note.
        let noted = store.write(|tx| {
            if let Some(mut current) = tx.api_key(&key.id)? {
                current.last_used_at = Some(now);
                tx.put_api_key(&current)?;
            }
            Ok::<_, StoreError>(())
        });
        if let Err(e) = noted {
            // The request goes on: when it was last used is a note, not a permission.
            tracing::warn!("could not note the use of API key {}: {e}", key.id);
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sesame.redb")).unwrap();
        (dir, store)
    }

    fn new(name: &str, days: Option<u64>) -> NewApiKey {
        NewApiKey {
            name: name.into(),
            expires_in_days: days,
        }
    }

    #[test]
    fn a_key_is_shown_once_stored_hashed_and_authenticates_until_it_expires() {
        let (_d, store) = store();
        let (key, clear) = create(&store, 1000, new(" deploy bot ", Some(1))).unwrap();
        assert!(clear.starts_with(PREFIX) && clear.len() == PREFIX.len() + 43);
        assert_eq!(key.name, "deploy bot");
        assert_eq!(key.key_hash, crypto::hash_token(&clear));
        let listed = serde_json::to_string(&list(&store).unwrap()).unwrap();
        assert!(!listed.contains(&clear[PREFIX.len()..]), "{listed}");

        let used = authenticate(&store, 1001, &clear).unwrap();
        assert_eq!(used.id, key.id);
        assert_eq!(
            store
                .read(|tx| tx.api_key(&key.id))
                .unwrap()
                .unwrap()
                .last_used_at,
            Some(1001)
        );
        // Within the hour the note is not written again.
        authenticate(&store, 1002, &clear).unwrap();
        assert_eq!(
            store
                .read(|tx| tx.api_key(&key.id))
                .unwrap()
                .unwrap()
                .last_used_at,
            Some(1001)
        );

        let expired = authenticate(&store, 1000 + DAY, &clear).unwrap_err();
        assert!(matches!(expired, Refused::Expired { .. }), "{expired}");
        assert_eq!(
            ApiKeyInfo::of(&key, 1000 + DAY, None).state,
            KeyState::Expired
        );
    }

    #[test]
    fn a_revoked_unknown_or_foreign_key_is_refused() {
        let (_d, store) = store();
        let (key, clear) = create(&store, 1000, new("ci", None)).unwrap();
        let revoked = revoke(&store, 1100, &key.id).unwrap();
        assert_eq!(revoked.revoked_at, Some(1100));
        assert_eq!(
            revoke(&store, 1200, &key.id).unwrap().revoked_at,
            Some(1100)
        );
        assert!(matches!(
            authenticate(&store, 1300, &clear),
            Err(Refused::Revoked { .. })
        ));
        assert!(matches!(
            authenticate(&store, 1300, &format!("{PREFIX}nope")),
            Err(Refused::Unknown)
        ));
        assert!(matches!(
            authenticate(&store, 1300, "eyJhbGciOi.x.y"),
            Err(Refused::Malformed)
        ));
        assert!(matches!(
            revoke(&store, 1300, "nope"),
            Err(ApiKeyError::UnknownKey(_))
        ));
    }

    #[test]
    fn names_and_expiries_are_checked() {
        let (_d, store) = store();
        assert!(matches!(
            create(&store, 0, new("  ", None)),
            Err(ApiKeyError::EmptyName)
        ));
        assert!(matches!(
            create(&store, 0, new(&"x".repeat(MAX_NAME + 1), None)),
            Err(ApiKeyError::NameTooLong)
        ));
        for days in [0, MAX_EXPIRY_DAYS + 1] {
            assert!(matches!(
                create(&store, 0, new("x", Some(days))),
                Err(ApiKeyError::BadExpiry(d)) if d == days
            ));
        }
        assert!(list(&store).unwrap().is_empty());
    }
}
