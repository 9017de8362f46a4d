//! Reading the audit log: [`AuditQuery`] (filters that combine with AND, and the page wanted),
//! [`list`] (newest first), and [`parse_since`] for the `--since` a person types.

use super::{AuditEntry, AuditEvent, AuditKind, AuditRecord};
use crate::clock;
use crate::store::{AuditKey, AuditRange, Reads, StoreError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Entries on a page when the query does not say.
pub const DEFAULT_PAGE: usize = 50;
/// The most entries on one page; a larger `limit` gets this many (and `next`).
pub const MAX_PAGE: usize = 1000;

/// Which entries to list: every filter given must match. The arguments of the control
/// command `audit.list`, and what an HTTP API would take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// A user ID (entries about that user, or by them), or an email address (also the sign-in
    /// attempts and codes for that address, matched ignoring case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A client ID: entries about that app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<KindFilter>,
    /// Entries recorded at or after this time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Entries recorded before this time, Unix seconds (the end of a time range; `since` is
    /// its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Entries before this one: the `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<AuditKey>,
    /// The most entries on the page: [`DEFAULT_PAGE`] if absent, at most [`MAX_PAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Entries of one kind, or the administrative changes made by one command. Written as the
/// kind's name (`sign_in_failed`) or the command's (`app.create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    Kind(AuditKind),
    /// An administrative command's name: it has a dot, as every command's has.
    Command(String),
}

impl KindFilter {
    fn matches(&self, event: &AuditEvent) -> bool {
        match (self, event) {
            (KindFilter::Kind(kind), event) => event.kind() == *kind,
            (KindFilter::Command(name), AuditEvent::AdminChange { command, .. }) => command == name,
            (KindFilter::Command(_), _) => false,
        }
    }
}

impl std::fmt::Display for KindFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KindFilter::Kind(kind) => f.write_str(kind.as_str()),
            KindFilter::Command(name) => f.write_str(name),
        }
    }
}

/// Text that names no kind of audit entry (and is not a command name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl std::fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        write!(
            f,
            "unknown audit entry kind {:?}: use {}, or an admin command such as app.create",
            self.0,
            kinds.join(", ")
        )
    }
}

impl std::error::Error for UnknownKind {}

impl std::str::FromStr for KindFilter {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<KindFilter, UnknownKind> {
        let s = s.trim();
        if let Some(kind) = AuditKind::ALL.into_iter().find(|k| k.as_str() == s) {
            return Ok(KindFilter::Kind(kind));
        }
        let command_like = s.contains('.')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-' || b == b'_');
        if command_like {
            Ok(KindFilter::Command(s.to_string()))
        } else {
            Err(UnknownKind(s.to_string()))
        }
    }
}

impl Serialize for KindFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KindFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KindFilter, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    /// More entries match: ask again with this as `before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<AuditKey>,
}

/// The entries that match `query`, newest first, one page of them. Reads back only as far as
/// the page needs (and `since` allows); with filters that few entries match, that can be the
/// whole log (at most `max_entries`).
pub fn list(tx: &impl Reads, query: &AuditQuery) -> Result<AuditPage, StoreError> {
    let user = match query.user.as_deref().map(str::trim) {
        Some(u) if u.contains('@') => {
            let address = u.to_lowercase();
            let user_id = tx.user_id_by_email(&address)?;
            Some(UserFilter::Email { address, user_id })
        }
        Some(u) if !u.is_empty() => Some(UserFilter::Id(u.to_string())),
        _ => None,
    };
    // The end of the range is a cursor too: no entry at `until` or later (its seq is >= 0).
    let until = query.until.map(|at| AuditKey { at, seq: 0 });
    let before = match (query.before, until) {
        (Some(b), Some(u)) => Some(b.min(u)),
        (b, u) => b.or(u),
    };
    let range = AuditRange {
        since: query.since.unwrap_or(0),
        before,
        limit: query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
    };
    let mut keep = |_: &AuditKey, e: &AuditEntry| {
        query
            .app
            .as_ref()
            .is_none_or(|app| e.client_id.as_ref() == Some(app))
            && query.kind.as_ref().is_none_or(|k| k.matches(&e.event))
            && user.as_ref().is_none_or(|u| u.matches(e))
    };
    let (found, more) = tx.audit_page(range, &mut keep)?;
    let entries: Vec<AuditRecord> = found
        .into_iter()
        .map(|(key, entry)| AuditRecord {
            at: key.at,
            seq: key.seq,
            entry,
        })
        .collect();
    let next = if more {
        entries.last().map(AuditRecord::key)
    } else {
        None
    };
    Ok(AuditPage { entries, next })
}

/// `--user`, resolved once before the scan.
enum UserFilter {
    Id(String),
    /// The address, lower-cased as sign-in keys it, and the user who has it, if any.
    Email {
        address: String,
        user_id: Option<String>,
    },
}

impl UserFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        let about = |id: &str| e.user_id.as_deref() == Some(id) || e.actor.user_id() == Some(id);
        match self {
            UserFilter::Id(id) => about(id),
            UserFilter::Email { address, user_id } => {
                e.email
                    .as_deref()
                    .is_some_and(|m| m.trim().to_lowercase() == *address)
                    || user_id.as_deref().is_some_and(about)
            }
        }
    }
}

/// A `--since` as a person types it, as Unix seconds: a duration back from `now` (`90s`,
/// `30m`, `24h`, `7d`, `2w`), a UTC date (`2026-11-01`) or date and time
/// (`2026-11-01T09:00`), or Unix seconds (`1793437503`).
pub fn parse_since(text: &str, now: u64) -> Result<u64, BadSince> {
    let t = text.trim();
    let bad = || BadSince(text.to_string());
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| bad());
    }
    if let Some(at) = clock::parse_utc(t) {
        return Ok(at);
    }
    let back = clock::parse_duration(t).ok_or_else(bad)?;
    Ok(now.saturating_sub(back))
}

/// A `--since` that is neither a duration, a date nor Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSince(pub String);

impl std::fmt::Display for BadSince {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not a time: give a duration back from now (90s, 30m, 24h, 7d, 2w), a UTC \
             date (2026-11-01) or date and time (2026-11-01T09:00), or Unix seconds",
            self.0
        )
    }
}

impl std::error::Error for BadSince {}
