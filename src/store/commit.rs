//! Group commit: making non-durable commits durable, many at a time, on one thread.
//!
//! Each write transaction commits with `Durability::None` and takes the next sequence number
//! ([`Committer::committed`]). One thread per store, the flusher, waits until some commit is
//! not yet durable, runs an empty `Durability::Immediate` commit (an fsync, which persists
//! every commit before it: redb serialises write transactions), and publishes the highest
//! sequence number it covered. Commits made while it ran share the next one.
//!
//! Waiting for durability therefore holds no thread but the flusher: a request handler awaits
//! [`Committer::durable`] (a `tokio::sync::watch`), and code outside the runtime (the CLI,
//! admin commands, tests, handlers that still run inside `block_in_place`) blocks on
//! [`Committer::wait`] (a condition variable) for the same publication.
//!
//! States of the flusher: idle (every commit durable; sleeps on `wake`) → flushing (fsync,
//! no lock held) → idle again, or stopped: when the store closes (after a last flush of
//! whatever is pending) or when a durable commit fails. A failed durable commit poisons the
//! store: commits made since may be lost, so it refuses further work (fail-stop), and every
//! waiter gets an error instead of an acknowledgement.

use super::StoreError;
use redb::{Database, Durability};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Instant;
use tokio::sync::watch;

/// A write transaction that committed but may not be durable yet. Answer nothing that
/// acknowledges it until [`Store::durable`](super::Store::durable) (or
/// [`Store::wait_durable`](super::Store::wait_durable)) has returned `Ok` for it.
#[must_use = "a commit is not durable until it is waited for"]
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    /// The commit's sequence number; 0 means nothing was written.
    seq: u64,
    /// When its write transaction began (for the write-time metric).
    started: Option<Instant>,
}

impl Pending {
    /// Nothing to wait for (no write happened).
    pub fn none() -> Pending {
        Pending {
            seq: 0,
            started: None,
        }
    }

    /// The later of two commits: waiting for it covers both.
    pub fn max(self, other: Pending) -> Pending {
        if other.seq > self.seq {
            other
        } else {
            self
        }
    }

    fn observed(self) {
        if let Some(started) = self.started {
            crate::metrics::store_write(started.elapsed());
        }
    }
}

/// What the flusher has published.
#[derive(Debug, Clone, Copy, Default)]
struct Flushed {
    /// Every commit up to this sequence number is on disk.
    durable: u64,
    /// A durable commit failed (see the module docs).
    poisoned: bool,
}

#[derive(Default)]
struct SyncState {
    /// Sequence number of the last non-durable commit.
    committed: u64,
    flushed: Flushed,
    /// The store is closing: the flusher flushes what is pending and stops.
    closing: bool,
}

/// The bookkeeping shared by the store and its flusher thread.
pub(super) struct Committer {
    state: Mutex<SyncState>,
    /// Wakes the flusher: a commit was made, or the store closes.
    wake: Condvar,
    /// Wakes blocking waiters after each durable commit.
    synced: Condvar,
    /// Wakes asynchronous waiters after each durable commit.
    flushed: watch::Sender<Flushed>,
}

fn poisoned_error() -> StoreError {
    StoreError::Db(
        "an earlier write could not be made durable; restart sesame (recent writes may be lost)"
            .into(),
    )
}

impl Committer {
    pub(super) fn new() -> Committer {
        Committer {
            state: Mutex::new(SyncState::default()),
            wake: Condvar::new(),
            synced: Condvar::new(),
            flushed: watch::Sender::new(Flushed::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        // Plain integers and flags updated together under the lock; a panic elsewhere cannot
        // leave them half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses work after a failed durable commit.
    pub(super) fn check_healthy(&self) -> Result<(), StoreError> {
        if self.lock().flushed.poisoned {
            return Err(poisoned_error());
        }
        Ok(())
    }

    /// Records a non-durable commit that has returned, and wakes the flusher for it.
    pub(super) fn committed(&self, started: Instant) -> Pending {
        let seq = {
            let mut s = self.lock();
            s.committed += 1;
            s.committed
        };
        self.wake.notify_one();
        Pending {
            seq,
            started: Some(started),
        }
    }

    /// Blocks until `pending` is durable.
    pub(super) fn wait(&self, pending: Pending) -> Result<(), StoreError> {
        let mut s = self.lock();
        loop {
            if s.flushed.durable >= pending.seq {
                drop(s);
                pending.observed();
                return Ok(());
            }
            if s.flushed.poisoned {
                return Err(poisoned_error());
            }
            s = self.synced.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Resolves when `pending` is durable, holding no thread meanwhile.
    pub(super) async fn durable(&self, pending: Pending) -> Result<(), StoreError> {
        let mut rx = self.flushed.subscribe();
        let flushed = *rx
            .wait_for(|f| f.durable >= pending.seq || f.poisoned)
            .await
            // The sender lives as long as this `Committer`, which `&self` borrows.
            .map_err(|_| poisoned_error())?;
        if flushed.durable >= pending.seq {
            pending.observed();
            Ok(())
        } else {
            Err(poisoned_error())
        }
    }

    /// Asks the flusher to flush what is pending and stop.
    pub(super) fn close(&self) {
        self.lock().closing = true;
        self.wake.notify_one();
    }

    /// The flusher thread's loop (see the module docs).
    pub(super) fn run(&self, db: &RwLock<Database>) {
        let mut s = self.lock();
        loop {
            while s.committed <= s.flushed.durable && !s.closing {
                s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            if s.committed <= s.flushed.durable {
                return; // closing, nothing pending
            }
            // Every commit numbered up to `target` returned before this point, so the durable
            // commit below comes after all of them.
            let target = s.committed;
            let batch = target - s.flushed.durable;
            drop(s);
            let started = Instant::now();
            let result = flush(db);
            crate::metrics::store_flush(started.elapsed(), batch);
            s = self.lock();
            match result {
                Ok(()) => s.flushed.durable = target,
                Err(e) => {
                    tracing::error!("durable commit failed, the store stops serving: {e}");
                    s.flushed.poisoned = true;
                }
            }
            self.flushed.send_replace(s.flushed);
            self.synced.notify_all();
            if s.flushed.poisoned {
                return;
            }
        }
    }

    #[cfg(test)]
    pub(super) fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.committed, s.flushed.durable)
    }
}

/// An empty durable commit: persists every non-durable commit before it.
fn flush(db: &RwLock<Database>) -> Result<(), StoreError> {
    // The lock guards no data of ours (see `Store::database`).
    let db = db.read().unwrap_or_else(|p| p.into_inner());
    let mut tx = db.begin_write()?;
    tx.set_durability(Durability::Immediate)?;
    tx.commit()?;
    Ok(())
}

/// Starts the flusher thread of a store.
pub(super) fn spawn(
    committer: &Arc<Committer>,
    db: &Arc<RwLock<Database>>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let (committer, db) = (committer.clone(), db.clone());
    std::thread::Builder::new()
        .name("sesame-commit".into())
        .spawn(move || committer.run(&db))
        .map_err(|e| StoreError::Db(format!("cannot start the commit thread: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::{Store, USERS_BY_EMAIL};
    use super::Pending;

    fn put(store: &Store, key: &str) -> Pending {
        let ((), pending) = store
            .write_pending(|tx| tx.put(&USERS_BY_EMAIL, key, &"u".to_string()))
            .unwrap();
        pending
    }

    #[tokio::test]
    async fn an_awaited_commit_is_durable_and_later_commits_cover_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let first = put(&store, "a");
        let second = put(&store, "b");
        store.durable(second).await.unwrap();
        let (committed, durable) = store.committer.counts();
        assert!(
            durable == committed && committed == 3,
            "{committed} {durable}"
        );
        // Already covered: resolves without another flush.
        store.durable(first).await.unwrap();
        store.durable(Pending::none()).await.unwrap();
        store.wait_durable(first.max(second)).unwrap();
    }
}
