//! Memory that comes back after a burst of load.
//!
//! Under 64 connections of token requests, RSS rose to 68 MiB and stayed there after the load
//! ended. Two things of glibc's malloc hold it (Linux with glibc only; other targets are left
//! as they are):
//!
//! - **arenas**: glibc gives threads their own malloc arenas, up to 8 per core. Store writes run
//!   on tokio's blocking threads (up to 64 of them, see `cli::serve`), so a burst spreads small
//!   allocations over 16 arenas on 2 cores, each keeping its own free memory. sesame's
//!   allocations are small and short-lived, and the contention of sharing two arenas does not
//!   show in the token bench: [`tune_allocator`] sets `M_ARENA_MAX` to 2.
//! - **free pages kept**: freed memory in the middle of a heap stays resident until
//!   `malloc_trim` gives it back with `madvise`. glibc trims only the top of the main heap by
//!   itself. [`trim_when_idle`] calls `malloc_trim(0)` when requests stop: a few times in the
//!   first seconds of quiet (blocking threads retire during them, after
//!   [`BLOCKING_THREAD_KEEP_ALIVE`], and their caches go back to the arenas), then not again
//!   until requests come and stop again. A busy or idle server never trims.
//!
//! ```text
//!   requests ──▶ quiet for one tick (2 s) ──▶ trim, each tick, TRIMS_PER_QUIET times ──▶ wait
//!      ▲                                                                                  │
//!      └────────────────────────────── a request ◀─────────────────────────────────────────┘
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Requests seen (any route); compared between ticks to tell a quiet server.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
/// How often quiet is checked.
const TICK: Duration = Duration::from_secs(2);
/// Trims per quiet spell: one each tick from 2 s to 10 s after the last request.
const TRIMS_PER_QUIET: u32 = 5;
/// How long an idle blocking thread lives (the runtime's `thread_keep_alive`): shorter than
/// the trims of a quiet spell, so a burst's threads have exited (and given their caches back)
/// by the last trim.
pub const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(3);

/// Limits malloc arenas; call first thing, before threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Counts a request (one relaxed increment).
pub fn note_request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// Gives free heap memory back to the system when requests stop (see the module note).
pub async fn trim_when_idle() {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = REQUESTS.load(Ordering::Relaxed);
    let mut trims_left = 0;
    loop {
        tick.tick().await;
        let now = REQUESTS.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            trims_left = TRIMS_PER_QUIET;
        } else if trims_left > 0 {
            trims_left -= 1;
            trim();
        }
    }
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
