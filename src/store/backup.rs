//! Backup and restore of the data file.
//!
//! A backup is a new redb file holding every table of one read transaction: a consistent
//! snapshot (redb's MVCC: the server keeps writing while it is copied, and none of those writes
//! is half in it). It is written next to its destination under a temporary name, made durable,
//! and renamed into place, so a crash never leaves a half backup under the name asked for. The
//! file is mode 0600 from its creation: it holds keys and token hashes.
//!
//! Restoring is the CLI's job with the server stopped ([`restore`]): the backup is first
//! copied into the data directory and opened as a store, which checks it is a redb file whose
//! records decode; only then does it replace `sesame.redb`, by a rename (atomic). The file it
//! replaces is kept as `sesame.redb.before-restore`.

use super::{Store, StoreError, KEYS};
use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};
use std::path::{Path, PathBuf};

type Def<'a> = TableDefinition<'a, &'static str, &'static [u8]>;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub tables: usize,
    pub records: u64,
    pub bytes: u64,
}

/// Why a backup or restore did not happen.
#[derive(Debug)]
pub enum BackupError {
    /// The destination or a temporary file could not be written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The database refused (reading the snapshot, writing the copy).
    Store(StoreError),
    /// The file to restore is not a usable sesame backup.
    Invalid { path: PathBuf, reason: String },
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            BackupError::Store(e) => write!(f, "{e}"),
            BackupError::Invalid { path, reason } => write!(
                f,
                "{} is not a usable sesame backup: {reason}; nothing was changed",
                path.display()
            ),
        }
    }
}

impl std::error::Error for BackupError {}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        BackupError::Store(e)
    }
}

fn store_err(e: impl Into<redb::Error>) -> BackupError {
    BackupError::Store(StoreError::Db(e.into().to_string()))
}

impl Store {
    /// Writes a consistent snapshot of every table to `dest` (replacing it if it exists).
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport, BackupError> {
        self.check_healthy()?;
        let tmp = temporary_name(dest);
        let _ = std::fs::remove_file(&tmp);
        let result = self.copy_into(&tmp);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        let (tables, records) = result?;
        let io = |error| BackupError::Io {
            path: dest.to_path_buf(),
            error,
        };
        std::fs::rename(&tmp, dest).map_err(io)?;
        sync_parent(dest);
        let bytes = std::fs::metadata(dest).map_err(io)?.len();
        Ok(BackupReport {
            path: dest.to_path_buf(),
            tables,
            records,
            bytes,
        })
    }

    /// Copies one read transaction's tables into a new database at `path`.
    fn copy_into(&self, path: &Path) -> Result<(usize, u64), BackupError> {
        create_private(path)?;
        let target = Database::create(path).map_err(store_err)?;
        let snapshot = self.database().begin_read().map_err(store_err)?;
        let mut out = target.begin_write().map_err(store_err)?;
        out.set_durability(redb::Durability::Immediate)
            .map_err(|e| BackupError::Store(e.into()))?;
        let names: Vec<String> = snapshot
            .list_tables()
            .map_err(store_err)?
            .map(|t| t.name().to_string())
            .collect();
        let mut records = 0;
        for name in &names {
            let def: Def<'_> = TableDefinition::new(name);
            let from = snapshot.open_table(def).map_err(store_err)?;
            let mut to = out.open_table(def).map_err(store_err)?;
            for item in redb::ReadableTable::iter(&from).map_err(store_err)? {
                let (k, v) = item.map_err(store_err)?;
                to.insert(k.value(), v.value()).map_err(store_err)?;
                records += 1;
            }
        }
        out.commit().map_err(store_err)?;
        Ok((names.len(), records))
    }
}

/// Replaces the data file `db` with the backup at `backup`, after checking it opens as a
/// store whose signing keys decode. The caller has made sure no server uses `db` (it holds
/// the file's lock, or the file does not exist). Returns where the replaced file was kept.
pub fn restore(backup: &Path, db: &Path) -> Result<Option<PathBuf>, BackupError> {
    let invalid = |reason: String| BackupError::Invalid {
        path: backup.to_path_buf(),
        reason,
    };
    let staged = temporary_name(db);
    let _ = std::fs::remove_file(&staged);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| BackupError::Io { path, error }
    };
    create_private(&staged)?;
    std::fs::copy(backup, &staged).map_err(io(backup))?;
    let checked = check(&staged);
    if let Err(reason) = checked {
        let _ = std::fs::remove_file(&staged);
        return Err(invalid(reason));
    }
    let kept = if db.exists() {
        let kept = db.with_extension("redb.before-restore");
        let _ = std::fs::remove_file(&kept);
        std::fs::hard_link(db, &kept).map_err(io(&kept))?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&staged, db).map_err(io(db))?;
    sync_parent(db);
    Ok(kept)
}

/// Opens a staged copy as a store: redb checks the file, and the keys must decode.
fn check(path: &Path) -> Result<(), String> {
    let store = Store::open(path).map_err(|e| e.to_string())?;
    let keys = store.read(|tx| tx.scan(&KEYS)).map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err("it holds no signing keys".into());
    }
    Ok(())
}

/// `<dest>.tmp`: beside the destination, so the final rename stays on one file system.
fn temporary_name(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Creates an empty file only the owner may read.
fn create_private(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|error| BackupError::Io {
            path: path.to_path_buf(),
            error,
        })
}

/// Makes a rename in `path`'s directory durable (best effort: not every platform can).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{APPS, CONNECTORS};

    #[test]
    fn a_backup_holds_every_table_and_restores_over_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.redb")).unwrap();
        crate::crypto::keys::KeySet::load_or_generate_ecdsa(&store).unwrap();
        store
            .write(|tx| {
                tx.put(
                    &CONNECTORS,
                    "ses",
                    &serde_json::json!({"region": "eu-west-1"}),
                )
            })
            .unwrap();
        let backup = dir.path().join("backup.redb");
        let report = store.backup_to(&backup).unwrap();
        assert!(report.records >= 3, "{report:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Written after the backup: not in it.
        store
            .write(|tx| tx.put(&CONNECTORS, "later", &serde_json::json!({})))
            .unwrap();
        drop(store);

        let db = dir.path().join("b.redb");
        Store::open(&db).unwrap();
        let kept = restore(&backup, &db).unwrap();
        assert!(kept.unwrap().exists());
        let restored = Store::open(&db).unwrap();
        let connectors = restored.read(|tx| tx.scan(&CONNECTORS)).unwrap();
        assert_eq!(connectors.len(), 1, "{connectors:?}");
        assert_eq!(restored.read(|tx| tx.scan(&KEYS)).unwrap().len(), 2);
        assert!(restored.read(|tx| tx.scan(&APPS)).unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_a_backup_is_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sesame.redb");
        let store = Store::open(&db).unwrap();
        crate::crypto::keys::KeySet::load_or_generate_ecdsa(&store).unwrap();
        drop(store);
        let before = std::fs::read(&db).unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database").unwrap();
        let e = restore(&junk, &db).unwrap_err();
        assert!(e.to_string().contains("not a usable sesame backup"), "{e}");
        let empty = dir.path().join("empty.redb");
        Store::open(&empty).unwrap();
        let e = restore(&empty, &db).unwrap_err();
        assert!(e.to_string().contains("no signing keys"), "{e}");
        assert_eq!(std::fs::read(&db).unwrap(), before);
        assert!(!dir.path().join("sesame.redb.tmp").exists());
    }
}
