//! The one place that reads the time. Everything durable stores Unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 is a broken machine; treat it as the epoch rather than panic.
        .unwrap_or(0)
}
