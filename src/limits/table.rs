//! One rate, counted per client: GCRA (the generic cell rate algorithm, a token bucket kept as
//! one number per client). A client's number is its "theoretical arrival time": when its
//! budget would be whole again. A request is let through while that time is at most one
//! period ahead of now, and pushes it one emission interval (period / count) further. So a
//! client may spend `count` at once (the burst) and then `count` per period, and a client
//! that stays away for a period is as if it had never come: its entry can go.
//!
//! Memory is bounded: at most `cap` clients are tracked. When the table is full, entries
//! whose budget is whole again are dropped (at most once a second, it is a scan); if that
//! frees nothing, a new client shares one overflow budget with every other untracked client
//! until space frees up. A flood from many addresses thus slows the other new clients down,
//! but never costs memory, and never hands anyone a fresh budget by evicting a busy one.

use super::client::ClientKey;
use std::collections::HashMap;
use std::sync::Mutex;

/// `count` events per `per_secs` seconds, all of which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per_secs: u64,
}

/// A rate counted per client, in bounded memory.
#[derive(Debug)]
pub struct Table {
    /// Milliseconds between events at the sustained rate.
    interval: u64,
    /// How far ahead of now a client's time may be and still be let through.
    tolerance: u64,
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each client's theoretical arrival time, in milliseconds.
    due: HashMap<ClientKey, u64>,
    /// When the table was last pruned (seconds), so a full table is scanned once a second.
    pruned_at: u64,
}

impl Table {
    pub fn new(rate: Rate, cap: usize) -> Table {
        let period = rate.per_secs.max(1) * 1000;
        let interval = (period / u64::from(rate.count.max(1))).max(1);
        Table {
            interval,
            tolerance: period.saturating_sub(interval),
            cap: cap.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Counts one event of `key` at `now` (seconds): `Ok`, or how many seconds until one
    /// would be let through.
    pub fn take(&self, key: ClientKey, now: u64) -> Result<(), u64> {
        let now_ms = now.saturating_mul(1000);
        // The map holds plain numbers; a panic elsewhere cannot leave it half-updated.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = inner.slot(key, now, self.cap);
        let due = inner.due.get(&key).copied().unwrap_or(now_ms).max(now_ms);
        if due - now_ms > self.tolerance {
            return Err((due - self.tolerance - now_ms).div_ceil(1000).max(1));
        }
        inner.due.insert(key, due + self.interval);
        Ok(())
    }

    /// Clients tracked now (for tests and the bench).
    pub fn tracked(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .due
            .len()
    }
}

impl Inner {
    /// The key to count `key` under: itself if tracked or if there is room, else the overflow.
    fn slot(&mut self, key: ClientKey, now: u64, cap: usize) -> ClientKey {
        if self.due.contains_key(&key) || self.due.len() < cap {
            return key;
        }
        if self.pruned_at != now {
            self.pruned_at = now;
            let now_ms = now.saturating_mul(1000);
            self.due
                .retain(|k, due| *due > now_ms || *k == ClientKey::Overflow);
        }
        // The overflow slot may take the table one past `cap`.
        if self.due.len() < cap {
            key
        } else {
            ClientKey::Overflow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ClientKey = ClientKey::V4(1);
    const B: ClientKey = ClientKey::V4(2);

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let t = Table::new(
            Rate {
                count: 3,
                per_secs: 60,
            },
            10,
        );
        for _ in 0..3 {
            t.take(A, 100).unwrap();
        }
        assert_eq!(t.take(A, 100), Err(20), "one comes back every 20 s");
        assert_eq!(t.take(B, 100), Ok(()), "others have their own budget");
        assert_eq!(t.take(A, 119), Err(1));
        t.take(A, 120).unwrap();
        assert!(t.take(A, 120).is_err());
        // A whole period away: the whole burst again.
        for _ in 0..3 {
            t.take(A, 200).unwrap();
        }
    }

    #[test]
    fn memory_is_bounded_and_the_untracked_share_one_budget() {
        let t = Table::new(
            Rate {
                count: 2,
                per_secs: 60,
            },
            3,
        );
        for k in 0..3 {
            t.take(ClientKey::V4(k), 0).unwrap();
        }
        // Full of clients still within their period: the next share the overflow budget.
        t.take(ClientKey::V4(10), 0).unwrap();
        t.take(ClientKey::V4(11), 0).unwrap();
        assert!(t.take(ClientKey::V4(12), 0).is_err());
        assert!(t.tracked() <= 4);
        // Once their budgets are whole again they are dropped and new clients tracked.
        t.take(ClientKey::V4(12), 61).unwrap();
        t.take(ClientKey::V4(12), 61).unwrap();
        assert!(t.take(ClientKey::V4(12), 61).is_err());
        assert!(t.tracked() <= 4);
    }
}
