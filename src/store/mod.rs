//! Everything durable, in one redb file (`<data_dir>/sesame.redb`).
//!
//! Each table maps a string key to a JSON-encoded record. JSON keeps records readable in a
//! debugger and lets a record gain optional fields without a migration; the records are small,
//! so the encoding cost is noise next to the fsync that every write transaction pays.
//!
//! Secrets never appear as keys or values in the clear: tokens, codes and client secrets are
//! keyed by their SHA-256 hash (the caller hashes them).
//!
//! A write transaction is durable when [`Store::write`] returns `Ok`: the handler that sends a
//! 2xx after it has committed data that survives a crash.
//!
//! Group commit: a durable redb commit is an fsync (milliseconds on most disks), and redb runs
//! one write transaction at a time. So each transaction commits with `Durability::None` (fast,
//! visible to later transactions, not yet on disk), and one thread per store runs empty
//! `Durability::Immediate` commits that persist every commit before them (`commit.rs`):
//! everyone who committed meanwhile shares that one fsync. [`Store::write`] blocks until its
//! commit is durable; [`Store::write_pending`] returns at once with a [`Pending`] that an
//! async handler awaits with [`Store::durable`] before it answers, holding no thread meanwhile.
//!
//! Owns the file, the tables, the records' shapes (`model.rs`) and the typed operations the core
//! performs (`ops.rs`). Uses only [`crate::alg`] (records name the signing algorithm) and
//! [`crate::metrics`] (commit times and batch sizes); everything else in sesame uses it.

mod backup;
mod commit;
mod model;
mod ops;

pub use backup::{restore, BackupError, BackupReport};
pub use commit::Pending;
pub use model::*;
pub use ops::{AuditRange, Reads, Writes};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use serde::{de::DeserializeOwned, Serialize};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// `[store]` in `sesame.toml`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// redb's page cache, in MiB. redb's own default is 1 GiB, which a flood of writes fills
    /// and never gives back; sesame's working set (apps, users, live tokens) is a few MiB, and
    /// a miss costs a read from the OS page cache, not the disk. 4 MiB: the process's memory
    /// under load and after it (benches/README.md, "Issue 10: performance").
    pub cache_mib: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { cache_mib: 4 }
    }
}

/// A typed table: string keys, JSON values of type `V`.
///
/// Several logical tables may share one redb table under distinct key prefixes. A redb commit
/// rewrites the B-tree path of every table it touched, so records that one request writes
/// together (a token exchange: code, grant, access and refresh token) live in one redb table,
/// and that request rewrites one B-tree instead of four.
pub struct Table<V> {
    /// The logical name (in errors).
    name: &'static str,
    /// The redb table holding the records.
    physical: &'static str,
    /// Prepended to every key in the redb table.
    prefix: &'static str,
    _v: PhantomData<fn() -> V>,
}

impl<V> Table<V> {
    const fn new(name: &'static str) -> Self {
        Table {
            name,
            physical: name,
            prefix: "",
            _v: PhantomData,
        }
    }
    /// A logical table stored in the redb table `physical` under `prefix`.
    const fn within(name: &'static str, physical: &'static str, prefix: &'static str) -> Self {
        Table {
            name,
            physical,
            prefix,
            _v: PhantomData,
        }
    }
    fn def(&self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        TableDefinition::new(self.physical)
    }
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// Registered applications (OIDC clients), by client ID.
pub const APPS: Table<App> = Table::new("apps");
/// Users, by user ID (the stable `sub`).
pub const USERS: Table<User> = Table::new("users");
/// User ID by normalised (lower-case) email address.
pub const USERS_BY_EMAIL: Table<String> = Table::new("users_by_email");
/// User ID by lower-cased `preferred_username`.
pub const USERS_BY_USERNAME: Table<String> = Table::new("users_by_username");
/// Groups, by name.
pub const GROUPS: Table<Group> = Table::new("groups");
/// sesame sessions (single sign-on), by hash of the session cookie value.
pub const SESSIONS: Table<Session> = Table::new("sessions");
/// Back-channel logouts waiting to be delivered, by random ID (see `oidc::backchannel`).
pub const LOGOUT_NOTICES: Table<LogoutNotice> = Table::new("logout_notices");
/// Pending authorization requests waiting for the user to sign in, by interaction ID.
pub const INTERACTIONS: Table<Interaction> = Table::new("interactions");
/// The same records, read only for their age (evicting at the cap).
pub(crate) const INTERACTION_AGES: Table<PendingAge> = Table::new("interactions");
/// How many sign-in codes went to an address in the current hour, by normalised email.
pub const CODE_SENDS: Table<AddressSends> = Table::new("code_sends");
/// Authorization codes, by hash.
pub const AUTH_CODES: Table<AuthCode> = Table::within("auth_codes", "tokens", "c/");
/// Access tokens, by hash.
pub const ACCESS_TOKENS: Table<AccessToken> = Table::within("access_tokens", "tokens", "a/");
/// Refresh tokens, by hash.
pub const REFRESH_TOKENS: Table<RefreshToken> = Table::within("refresh_tokens", "tokens", "r/");
/// Grants: what one authorization code started (its tokens form one family), by grant ID.
pub const GRANTS: Table<Grant> = Table::within("grants", "tokens", "g/");
/// Registered APIs (resource servers), by resource indicator.
pub const APIS: Table<ApiResource> = Table::new("apis");
/// Device authorizations (RFC 8628), by hash of the device code.
pub const DEVICE_AUTHS: Table<DeviceAuth> = Table::within("device_auths", "tokens", "d/");
/// User codes of device authorizations, by normalised user code.
pub const USER_CODES: Table<UserCode> = Table::within("user_codes", "tokens", "u/");
/// Pushed authorization requests (RFC 9126), by hash of their `request_uri`.
pub const PUSHED_REQUESTS: Table<PushedRequest> = Table::within("pushed_requests", "tokens", "p/");
/// Passkeys (WebAuthn credentials), by user ID and credential ID (`factors::passkeys`). The
/// second factors share one redb table.
pub const PASSKEYS: Table<Passkey> = Table::within("passkeys", "factors", "p/");
/// Passkey registrations in progress: the challenge given to a user's browser, by user ID.
pub const PASSKEY_REGISTRATIONS: Table<Challenge> =
    Table::within("passkey_registrations", "factors", "c/");
/// When each user was offered to add a passkey after an email code (once), by user ID.
pub const PASSKEY_OFFERS: Table<u64> = Table::within("passkey_offers", "factors", "o/");
/// Signing keys, by `kid`.
pub const KEYS: Table<KeyRecord> = Table::new("keys");
/// Mail connector settings stored at run time (`sesame connector set`), by connector name.
pub const CONNECTORS: Table<serde_json::Value> = Table::new("connectors");
/// Settings the console stores at run time over the file's (the sign-in experience), by name.
pub const SETTINGS: Table<serde_json::Value> = Table::new("settings");
/// Management API keys, by key ID (never the key: see [`ApiKey`]).
pub const API_KEYS: Table<ApiKey> = Table::within("api_keys", "api_keys", "k/");
/// Key ID by the SHA-256 of the key, to find the key a request presents. Written with the key
/// record, in the same redb table.
pub const API_KEYS_BY_HASH: Table<String> = Table::within("api_keys_by_hash", "api_keys", "h/");

/// A user's authenticator app (TOTP), by user ID. The `factors` redb table holds everything
/// that proves a user beyond their email, under one prefix per kind.
pub const TOTP: Table<TotpFactor> = Table::within("totp", "factors", "t/");
/// A user's unused recovery codes, by user ID.
pub const RECOVERY_CODES: Table<RecoveryCodes> = Table::within("recovery_codes", "factors", "r/");
/// Wrong second-factor codes in the current hour, by user ID.
pub const FACTOR_GUESSES: Table<FactorGuesses> = Table::within("factor_guesses", "factors", "g/");

/// The audit log, alone in its redb table: entries keyed by [`AuditKey`] (time, then sequence
/// number; oldest first), and the [`AuditCounter`] at [`AUDIT_COUNTER`], a key that sorts after
/// every entry. Alone, so that the table's length (which redb keeps in the table's root: no
/// scan) counts the entries, and retention never reads the whole log. Its operations are in
/// `ops.rs` ([`Writes::append_audit`], [`Reads::audit_page`]).
const AUDIT: &str = "audit";
/// Where the [`AuditCounter`] is kept: `n` sorts after the digits every entry's key starts with.
const AUDIT_COUNTER: &str = "next";

fn audit_def() -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(AUDIT)
}

/// What went wrong talking to the database.
#[derive(Debug)]
pub enum StoreError {
    /// Another process holds the database file (a second `sesame serve`, or the CLI while the
    /// server runs without its control socket).
    Locked,
    /// redb reported an error (I/O, corruption, a failed commit).
    Db(String),
    /// A stored record did not decode: the file was written by an incompatible version.
    Corrupt {
        table: &'static str,
        key: String,
        reason: String,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Locked => write!(f, "the data file is in use by another sesame process"),
            StoreError::Db(e) => write!(f, "database error: {e}"),
            StoreError::Corrupt { table, key, reason } => {
                write!(f, "stored record {table}/{key} does not decode: {reason}")
            }
        }
    }
}

impl std::error::Error for StoreError {}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_err!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<redb::SetDurabilityError> for StoreError {
    fn from(e: redb::SetDurabilityError) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
            other => StoreError::Db(other.to_string()),
        }
    }
}

/// The database.
pub struct Store {
    /// Every transaction holds it shared; only [`Store::compact`] takes it whole (it must run
    /// with no transaction live), and only by `try_write`, so no request ever waits behind a
    /// queued compaction (nor can a nested read deadlock against one). Shared with the
    /// commit thread.
    db: Arc<RwLock<Database>>,
    /// The file, for its size.
    path: std::path::PathBuf,
    /// Group-commit bookkeeping (see the module docs), shared with the commit thread.
    committer: Arc<commit::Committer>,
    /// The commit thread, joined on drop (after it made every commit durable).
    flusher: Option<std::thread::JoinHandle<()>>,
    /// Rung after each commit that queued back-channel logout notices
    /// ([`Writes::remove_session`]): the deliverer (`oidc::backchannel`) waits on it, so every
    /// path that ends a session is delivered without each having to say so.
    logout_queued: tokio::sync::Notify,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.committer.close();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

impl Store {
    /// Opens (or creates) the database file, creating every table so readers never miss one.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, &StoreConfig::default())
    }

    /// [`Store::open`] with the cache `config` sets.
    pub fn open_with(path: &Path, config: &StoreConfig) -> Result<Store, StoreError> {
        let db = redb::Builder::new()
            .set_cache_size(config.cache_mib as usize * 1024 * 1024)
            .create(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Hashes, keys and sessions live here: owner only, whatever the umask.
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        let db = Arc::new(RwLock::new(db));
        let committer = Arc::new(commit::Committer::new());
        let flusher = commit::spawn(&committer, &db)?;
        let store = Store {
            db,
            path: path.to_path_buf(),
            committer,
            flusher: Some(flusher),
            logout_queued: tokio::sync::Notify::new(),
        };
        store.write(|tx| {
            for name in [
                APPS.physical,
                USERS.physical,
                USERS_BY_EMAIL.physical,
                USERS_BY_USERNAME.physical,
                GROUPS.physical,
                SESSIONS.physical,
                LOGOUT_NOTICES.physical,
                INTERACTIONS.physical,
                CODE_SENDS.physical,
                AUTH_CODES.physical,
                KEYS.physical,
                CONNECTORS.physical,
                SETTINGS.physical,
                AUDIT,
                API_KEYS.physical,
                APIS.physical,
                TOTP.physical,
            ] {
                let def: TableDefinition<&str, &[u8]> = TableDefinition::new(name);
                tx.tx.open_table(def)?;
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(store)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&ReadTx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.check_healthy()?;
        let tx = ReadTx {
            tx: self.database().begin_read()?,
        };
        f(&tx)
    }

    /// Refuses to serve after a failed durable commit (see `commit.rs`).
    fn check_healthy(&self) -> Result<(), StoreError> {
        self.committer.check_healthy()
    }

    /// Runs `f` in a write transaction and commits durably if it returns `Ok`. If `f` returns
    /// `Err`, nothing it wrote is kept. If the commit itself fails, the outcome is unknown and
    /// the store refuses further work until restarted. Write transactions are serialised.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let (out, pending) = self.write_pending(f)?;
        self.wait_durable(pending)?;
        Ok(out)
    }

    /// [`Store::write`] without the wait for durability: the commit is visible to later
    /// transactions at once, and durable when [`Store::durable`] (or [`Store::wait_durable`])
    /// returns `Ok` for the [`Pending`]. Nothing may acknowledge the write before that.
    pub fn write_pending<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTx) -> Result<T, E>,
    ) -> Result<(T, Pending), E> {
        self.check_healthy()?;
        let started = std::time::Instant::now();
        let db = self.database();
        let mut tx = db.begin_write().map_err(StoreError::from)?;
        tx.set_durability(Durability::None)
            .map_err(StoreError::from)?;
        let tx = WriteTx {
            tx,
            logout_queued: std::cell::Cell::new(false),
        };
        let out = f(&tx)?;
        let queued = tx.logout_queued.get();
        tx.tx.commit().map_err(StoreError::from)?;
        drop(db);
        if queued {
            self.logout_queued.notify_one();
        }
        Ok((out, self.committer.committed(started)))
    }

    /// Resolves after a commit that queued back-channel logout notices (at once if one came
    /// since the last wait): the deliverer's only wake-up.
    pub async fn logout_notices_queued(&self) {
        self.logout_queued.notified().await
    }

    /// Blocks until `pending` is durable (for callers outside the async runtime).
    pub fn wait_durable(&self, pending: Pending) -> Result<(), StoreError> {
        self.committer.wait(pending)
    }

    /// Resolves when `pending` is durable, without holding a thread meanwhile.
    pub async fn durable(&self, pending: Pending) -> Result<(), StoreError> {
        self.committer.durable(pending).await
    }

    /// The database, shared with the other transactions (see [`Store::db`]).
    fn database(&self) -> std::sync::RwLockReadGuard<'_, Database> {
        // The lock guards no data of ours: a panic while it was held leaves nothing half-done.
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives free space back to the file system when at least a quarter of the file (and at
    /// least 1 MiB) is free pages, e.g. after a sweep removed a flood of pending sign-ins.
    /// Runs only when no transaction is live (it needs the file to itself); if one is, it
    /// returns `Ok(None)` at once and the next sweep tries again. While it runs (tens of
    /// milliseconds per 100 MB here; see benches/README.md) requests wait for the store.
    /// Returns the file's size before and after.
    pub fn compact(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let before = self.file_len();
        let fragmented = {
            let db = self.database();
            let tx = db.begin_write()?;
            let stats = tx.stats().map_err(|e| StoreError::Db(e.to_string()))?;
            let fragmented = stats.fragmented_bytes();
            tx.abort()?;
            fragmented
        };
        if fragmented < 1024 * 1024 || fragmented * 4 < before {
            return Ok(None);
        }
        let Ok(mut db) = self.db.try_write() else {
            return Ok(None);
        };
        while db.compact().map_err(|e| StoreError::Db(e.to_string()))? {}
        drop(db);
        Ok(Some((before, self.file_len())))
    }

    /// The database file's size in bytes (0 if it cannot be read).
    pub fn file_len(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

/// A read snapshot.
pub struct ReadTx {
    tx: redb::ReadTransaction,
}

/// A write transaction, committed by [`Store::write`].
pub struct WriteTx {
    tx: redb::WriteTransaction,
    /// This transaction queued a back-channel logout notice (rings
    /// [`Store::logout_notices_queued`] once committed).
    logout_queued: std::cell::Cell<bool>,
}

fn decode<V: DeserializeOwned>(
    table: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<V, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode<V: Serialize>(v: &V) -> Vec<u8> {
    // Serialising our own plain structs (strings, numbers, vectors) cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// Reads one record from an open table (read or write transaction alike).
fn get_in<V: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    t: &Table<V>,
    key: &str,
) -> Result<Option<V>, StoreError> {
    match table.get(t.key(key).as_str())? {
        Some(v) => Ok(Some(decode(t.name, key, v.value())?)),
        None => Ok(None),
    }
}

/// Reads every record of an open table, in key order.
fn scan_in<V: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    t: &Table<V>,
) -> Result<Vec<(String, V)>, StoreError> {
    let mut out = Vec::new();
    for item in table.range(t.prefix..)? {
        let (k, v) = item?;
        let Some(key) = k.value().strip_prefix(t.prefix) else {
            break; // past this logical table's keys
        };
        out.push((key.to_string(), decode(t.name, key, v.value())?));
    }
    Ok(out)
}

/// Reads every record of an open table whose key starts with `under`, in key order.
fn under_in<V: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    t: &Table<V>,
    under: &str,
) -> Result<Vec<(String, V)>, StoreError> {
    let start = t.key(under);
    let mut out = Vec::new();
    for item in table.range(start.as_str()..)? {
        let (k, v) = item?;
        let Some(key) = k.value().strip_prefix(t.prefix) else {
            break; // past this logical table's keys
        };
        if !key.starts_with(under) {
            break;
        }
        out.push((key.to_string(), decode(t.name, key, v.value())?));
    }
    Ok(out)
}

/// Reads up to `limit` records of an open table whose keys come after `after` (or from the
/// start), in key order, keeping those `keep` accepts.
fn page_in<V: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    t: &Table<V>,
    after: Option<&str>,
    limit: usize,
    keep: &dyn Fn(&V) -> bool,
) -> Result<Vec<(String, V)>, StoreError> {
    let start = match after {
        Some(a) => format!("{}{a}\u{0}", t.prefix),
        None => t.prefix.to_string(),
    };
    let mut out = Vec::new();
    for item in table.range(start.as_str()..)? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = item?;
        let Some(key) = k.value().strip_prefix(t.prefix) else {
            break; // past this logical table's keys
        };
        let value: V = decode(t.name, key, v.value())?;
        if keep(&value) {
            out.push((key.to_string(), value));
        }
    }
    Ok(out)
}

impl ReadTx {
    /// Up to `limit` records after the key `after`, in key order, that `keep` accepts.
    pub fn page<V: DeserializeOwned>(
        &self,
        t: &Table<V>,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&V) -> bool,
    ) -> Result<Vec<(String, V)>, StoreError> {
        page_in(&self.tx.open_table(t.def())?, t, after, limit, keep)
    }

    /// The record at `key`, if any.
    pub fn get<V: DeserializeOwned>(
        &self,
        t: &Table<V>,
        key: &str,
    ) -> Result<Option<V>, StoreError> {
        get_in(&self.tx.open_table(t.def())?, t, key)
    }

    /// Every record in the table, in key order.
    pub fn scan<V: DeserializeOwned>(&self, t: &Table<V>) -> Result<Vec<(String, V)>, StoreError> {
        scan_in(&self.tx.open_table(t.def())?, t)
    }
}

impl WriteTx {
    /// The record at `key`, if any (sees this transaction's own writes).
    pub fn get<V: DeserializeOwned>(
        &self,
        t: &Table<V>,
        key: &str,
    ) -> Result<Option<V>, StoreError> {
        get_in(&self.tx.open_table(t.def())?, t, key)
    }

    /// Inserts or replaces the record at `key`.
    pub fn put<V: Serialize>(&self, t: &Table<V>, key: &str, value: &V) -> Result<(), StoreError> {
        let mut table = self.tx.open_table(t.def())?;
        table.insert(t.key(key).as_str(), encode(value).as_slice())?;
        Ok(())
    }

    /// Removes the record at `key`; returns whether there was one.
    pub fn remove<V>(&self, t: &Table<V>, key: &str) -> Result<bool, StoreError> {
        let mut table = self.tx.open_table(t.def())?;
        let existed = table.remove(t.key(key).as_str())?.is_some();
        Ok(existed)
    }

    /// Every record in the table, in key order.
    pub fn scan<V: DeserializeOwned>(&self, t: &Table<V>) -> Result<Vec<(String, V)>, StoreError> {
        scan_in(&self.tx.open_table(t.def())?, t)
    }

    /// How many records the table holds: constant time for a table that has its own redb
    /// table (redb keeps the count), which is what it is used for.
    pub fn len<V>(&self, t: &Table<V>) -> Result<u64, StoreError> {
        debug_assert!(t.prefix.is_empty(), "len counts the whole redb table");
        Ok(self.tx.open_table(t.def())?.len()?)
    }

    /// Removes every record for which `expired` says yes; returns how many went.
    pub fn sweep<V: DeserializeOwned>(
        &self,
        t: &Table<V>,
        expired: impl Fn(&V) -> bool,
    ) -> Result<usize, StoreError> {
        let doomed: Vec<String> = self
            .scan(t)?
            .into_iter()
            .filter(|(_, v)| expired(v))
            .map(|(k, _)| k)
            .collect();
        for k in &doomed {
            self.remove(t, k)?;
        }
        Ok(doomed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_shrinks_once_a_flood_is_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        assert_eq!(store.compact().unwrap(), None, "nothing to give back");
        let big = serde_json::json!("x".repeat(2048));
        store
            .write(|tx| {
                for n in 0..4000 {
                    tx.put(&CONNECTORS, &format!("k{n}"), &big)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let full = store.file_len();
        store.write(|tx| tx.sweep(&CONNECTORS, |_| true)).unwrap();
        let (before, after) = store.compact().unwrap().expect("compacted");
        assert!(
            before >= full && after * 4 < full,
            "{full} -> {before} -> {after}"
        );
        // Still a working store.
        store
            .write(|tx| tx.put(&CONNECTORS, "after", &serde_json::json!("v")))
            .unwrap();
        assert_eq!(
            store.read(|tx| tx.get(&CONNECTORS, "after")).unwrap(),
            Some(serde_json::json!("v"))
        );
    }

    #[test]
    fn records_survive_reopen_and_failed_writes_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let store = Store::open(&path).unwrap();
            store
                .write(|tx| tx.put(&USERS_BY_EMAIL, "a@example.com", &"u42".to_string()))
                .unwrap();
            let r: Result<(), StoreError> = store.write(|tx| {
                tx.put(&USERS_BY_EMAIL, "b@example.com", &"u1".to_string())?;
                Err(StoreError::Db("abort".into()))
            });
            assert!(r.is_err());
        }
        let store = Store::open(&path).unwrap();
        let a = store
            .read(|tx| tx.get(&USERS_BY_EMAIL, "a@example.com"))
            .unwrap();
        let b = store
            .read(|tx| tx.get(&USERS_BY_EMAIL, "b@example.com"))
            .unwrap();
        assert_eq!(a.as_deref(), Some("u42"));
        assert_eq!(b, None);
    }

    #[test]
    fn concurrent_writes_are_all_durable_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let store = std::sync::Arc::new(Store::open(&path).unwrap());
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        for i in 0..25u64 {
                            store
                                .write(|tx| {
                                    tx.put(&USERS_BY_EMAIL, &format!("{t}-{i}"), &i.to_string())
                                })
                                .unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let (committed, durable) = store.committer.counts();
            // 200 writes plus the one in `open` that creates the tables.
            assert_eq!(committed, 201);
            assert_eq!(
                durable, committed,
                "every acknowledged write is covered by a durable commit"
            );
        }
        let store = Store::open(&path).unwrap();
        let all = store.read(|tx| tx.scan(&USERS_BY_EMAIL)).unwrap();
        assert_eq!(all.len(), 200);
    }

    #[test]
    fn tables_sharing_a_redb_table_keep_their_records_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let grant = Grant {
            client_id: "c".into(),
            user_id: "u".into(),
            scope: vec![],
            auth_time: 0,
            revoked: false,
            expires_at: 1,
            resource: None,
            sid: None,
            amr: Vec::new(),
        };
        store
            .write(|tx| {
                tx.put(&GRANTS, "k", &grant)?;
                tx.put(&GRANTS, "k2", &grant)?;
                tx.sweep(&ACCESS_TOKENS, |_| true)
            })
            .unwrap();
        let (grants, access, same_key) = store
            .read(|tx| {
                Ok((
                    tx.scan(&GRANTS)?,
                    tx.scan(&ACCESS_TOKENS)?,
                    tx.get(&ACCESS_TOKENS, "k")?,
                ))
            })
            .unwrap();
        assert_eq!(
            grants.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["k", "k2"]
        );
        assert!(access.is_empty() && same_key.is_none());
    }

    #[test]
    fn the_audit_log_keeps_time_order_and_never_reuses_a_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let keys = store
            .write(|tx| {
                // The clock went back a second between the second and third entry.
                [(100, "a"), (101, "b"), (100, "c"), (103, "d")]
                    .map(|(at, v)| tx.append_audit(at, &v.to_string()))
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        assert_eq!(
            keys.iter().map(|k| (k.at, k.seq)).collect::<Vec<_>>(),
            [(100, 1), (101, 2), (100, 3), (103, 4)]
        );
        let all = AuditRange {
            since: 0,
            before: None,
            limit: 10,
        };
        let page = |range: AuditRange| {
            let (entries, more) = store
                .read(|tx| tx.audit_page::<String>(range, &mut |_, _| true))
                .unwrap();
            let values: Vec<String> = entries.into_iter().map(|(_, v)| v).collect();
            (values, more)
        };
        assert_eq!(
            page(all).0,
            ["d", "b", "c", "a"],
            "newest first: by time, then seq"
        );
        let (first, more) = page(AuditRange { limit: 2, ..all });
        assert_eq!((first, more), (vec!["d".into(), "b".into()], true));
        let rest = AuditRange {
            before: Some(keys[1]),
            ..all
        };
        assert_eq!(page(rest), (vec!["c".into(), "a".into()], false));
        assert_eq!(page(AuditRange { since: 101, ..all }).0, ["d", "b"]);
        assert_eq!(store.read(|tx| tx.audit_len()).unwrap(), 4);

        let removed = store
            .write(|tx| {
                Ok::<_, StoreError>((tx.remove_audit_before(101)?, tx.remove_oldest_audit(1)?))
            })
            .unwrap();
        assert_eq!(removed, (2, 1));
        assert_eq!(page(all).0, ["d"]);
        let emptied = store.write(|tx| tx.remove_oldest_audit(10)).unwrap();
        assert_eq!(emptied, 1);
        assert_eq!(store.read(|tx| tx.audit_len()).unwrap(), 0);
        let next = store.write(|tx| tx.append_audit(50, &"e")).unwrap();
        assert_eq!(
            next.seq, 5,
            "sequence numbers go on after the log was emptied"
        );
    }

    #[test]
    fn a_data_file_from_before_the_audit_log_opens_and_keeps_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            // What an older sesame wrote: its tables, no audit table.
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            {
                let def: TableDefinition<&str, &[u8]> =
                    TableDefinition::new(USERS_BY_EMAIL.physical);
                let mut t = tx.open_table(def).unwrap();
                t.insert("a@example.com", br#""u1""#.as_slice()).unwrap();
            }
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let id = store
            .read(|tx| tx.user_id_by_email("a@example.com"))
            .unwrap();
        assert_eq!(id.as_deref(), Some("u1"));
        assert_eq!(store.read(|tx| tx.audit_len()).unwrap(), 0);
    }

    #[test]
    fn audit_cursors_read_back_and_refuse_other_text() {
        let key = AuditKey {
            at: 1_793_437_503,
            seq: 42,
        };
        assert_eq!(key.to_string(), "1793437503-42");
        assert_eq!("1793437503-42".parse(), Ok(key));
        assert_eq!(AuditKey::from_stored(&key.stored()), Some(key));
        for bad in ["", "42", "-1-2", "1-+2", "a-b", "1-2-3", "1 -2"] {
            assert!(bad.parse::<AuditKey>().is_err(), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_data_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let _store = Store::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn second_open_reports_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let _first = Store::open(&path).unwrap();
        assert!(matches!(Store::open(&path), Err(StoreError::Locked)));
    }
}
