//! The one place that reads the time. Everything durable stores Unix seconds.
//!
//! The core reads the time through a [`Clock`] it is given, so tests can fix it and move it
//! forward (expiry at each lifetime's boundary) without sleeping. Parts that only stamp records
//! (creation times of apps and keys, the mail transport's last outcome) call [`now`].
//!
//! Uses nothing else in sesame.
//!
//! It also turns Unix seconds into a UTC date and back ([`utc`], [`parse_utc`]), for what
//! people read and type (`sesame audit --since 2026-11-01`); nothing durable stores a date.

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

/// Seconds in a day.
pub const DAY: u64 = 24 * 3600;

/// A duration as people type it, in seconds: a whole number followed by `s`, `m`, `h`, `d` or
/// `w` (`90s`, `30m`, `24h`, `7d`, `2w`). `None` for anything else, including no unit.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    let unit = match t.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => DAY,
        'w' => 7 * DAY,
        _ => return None,
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// Unix seconds as a UTC date and time, `2026-11-01 09:05:03Z`.
pub fn utc(secs: u64) -> String {
    let (days, rest) = (secs / DAY, secs % DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02}Z")
}

/// A UTC date (`2026-11-01`, midnight) or date and time (`2026-11-01T09:05`,
/// `2026-11-01 09:05:03Z`; seconds and the `Z` optional) as Unix seconds. `None` for anything
/// else, or a date before 1970.
pub fn parse_utc(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<u64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&y) || d == 0 || d > days_in_month {
        return None;
    }
    let secs_of_day = match time {
        None => 0,
        Some(time) => {
            let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
            let (h, min) = (hms.next()??, hms.next()??);
            let s = hms.next().unwrap_or(Some(0))?;
            if hms.next().is_some() || h > 23 || min > 59 || s > 59 {
                return None;
            }
            h * 3600 + min * 60 + s
        }
    };
    Some(days_from_civil(y, m, d) * DAY + secs_of_day)
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar, from 1970 on (Howard
/// Hinnant's `days_from_civil`, with unsigned years since eras start in 0000-03-01).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // 719468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_round_trip() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(utc(1_793_437_503), "2026-10-31 09:05:03Z");
        assert_eq!(parse_utc("2026-10-31T09:05:03Z"), Some(1_793_437_503));
        assert_eq!(parse_utc("2026-10-31 09:05:03"), Some(1_793_437_503));
        assert_eq!(parse_utc("2026-10-31t09:05"), Some(1_793_437_500));
        assert_eq!(parse_utc("2000-02-29"), Some(951_782_400));
        // Every day from 1970 to past 2100 (a century that is not a leap year) round-trips.
        for day in 0..50_000 {
            let secs = day * DAY + 3661;
            assert_eq!(parse_utc(&utc(secs)), Some(secs), "{}", utc(secs));
        }
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-29",
            "1900-03-01",
            "2026-01-01T24:00",
            "2026-01-01T12",
            "2026-01-01T12:00:00:00",
            "24h",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration(" 5m "), Some(300));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1d"), Some(DAY));
        assert_eq!(parse_duration("2w"), Some(14 * DAY));
        for bad in [
            "",
            "s",
            "30",
            "-5m",
            "+5m",
            "5 m",
            "1.5h",
            "3y",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let c = Clock::fixed(1000);
        assert_eq!(c.now(), 1000);
        c.advance(59);
        assert_eq!(c.now(), 1059);
        assert!(Clock::system().now() > 1_700_000_000);
    }
}
