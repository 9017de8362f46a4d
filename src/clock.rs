//! The one place that reads the time. Everything durable stores Unix seconds.
//!
//! The core reads the time through a [`Clock`] it is given, so tests can fix it and move it
//! forward (expiry at each lifetime's boundary) without sleeping. Parts that only stamp records
//! (creation times of apps and keys, the mail transport's last outcome) call [`now`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 is a broken machine; treat it as the epoch rather than panic.
        .unwrap_or(0)
}

/// Where the core gets the time: the system clock, or a fixed time that tests set.
#[derive(Debug, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: a fixed time, moved only by [`Clock::advance`].
    fixed: Option<AtomicU64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock that stands at `now` until moved (for tests).
    pub fn fixed(now: u64) -> Clock {
        Clock {
            fixed: Some(AtomicU64::new(now)),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        match &self.fixed {
            Some(t) => t.load(Ordering::SeqCst),
            None => now(),
        }
    }

    /// Moves a fixed clock forward by `secs` (a system clock cannot be moved: no effect).
    pub fn advance(&self, secs: u64) {
        if let Some(t) = &self.fixed {
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let c = Clock::fixed(1000);
        assert_eq!(c.now(), 1000);
        c.advance(59);
        assert_eq!(c.now(), 1059);
        assert!(Clock::system().now() > 1_700_000_000);
    }
}
