//! The audit log: who did what, and when, kept in the store beside what it records.
//!
//! What is recorded ([`AuditEvent`], one variant per kind):
//! - sign-ins: success, and failure with its reason ([`SignInFailure`]);
//! - sign-in codes sent, with the mail outcome ([`MailOutcome`]; never the code);
//! - a spent refresh token or a used authorization code presented again (the grant is revoked);
//! - every administrative change: the command and what it changed ([`Changes`], secrets
//!   masked by construction).
//!
//! Each [`AuditEntry`] also says who acted ([`Actor`]) and, where they apply, which user, which
//! app and which email address (a sign-in attempt has an address before it has a user).
//!
//! An entry's life:
//!
//! ```text
//!  record(tx, at, entry) ──commit──▶ kept ──older than retention_days──▶ dropped by prune
//!        │                            │    └─beyond max_entries, oldest first─▶ dropped
//!        └─tx rolled back: gone too   └──▶ list(query): newest first, a page at a time
//! ```
//!
//! [`record`] writes inside the caller's write transaction: the entry commits with the change
//! it records, or not at all, and costs no fsync of its own (one more insert in a transaction
//! that commits anyway; `benches/README.md` under "audit" has the measured cost). An outcome
//! that has no transaction of its own (a mail failure) uses [`record_now`]. Every entry is also
//! one line in the log, target `audit`, with the fields kind, actor, user, client, email,
//! outcome and seq: at info, or at warn for refusals, failures and reuse detections. The line is
//! written when the entry is recorded; if the caller's transaction then fails, the log has a
//! line that the table does not (the log tells what was attempted).
//!
//! Bounded, so that a busy or attacked server cannot grow the file without end: [`prune`],
//! run in the provider's periodic sweep, drops what is older than `retention_days` (default 90)
//! and then the oldest beyond `max_entries` (default 100 000) ([`AuditConfig`], `[audit]` in
//! `sesame.toml`). It reads only what it drops: the store keeps entries in time order and
//! counts them without a scan.
//!
//! Reading is [`list`]: filters that combine with AND, newest first, a page at a time; a page
//! carries `next`, the cursor for the page after it.
//!
//! Uses: store (typed operations; the store owns the table and its keys), secret (masking),
//! clock (dates). Never the edge: the CLI and the control socket reach it through `admin`.

mod query;

pub use query::{
    list, parse_since, AuditPage, AuditQuery, BadSince, KindFilter, UnknownKind, DEFAULT_PAGE,
    MAX_PAGE,
};

use crate::clock::DAY;
use crate::store::{AuditKey, Store, StoreError, Writes};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// The operator at the command line, on the data file or through the control socket.
    Cli,
    /// A program holding a management API key.
    ApiKey { id: String, name: String },
    /// A signed-in administrator, through the management API or console.
    Admin { user_id: String },
    /// A user acting for themselves (signing in, using their own tokens).
    User { user_id: String },
    /// Nobody known: a sign-in attempt before it succeeds, a token presented by a client.
    Anonymous,
}

impl Actor {
    /// The user behind the actor, if it is one.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::Admin { user_id } | Actor::User { user_id } => Some(user_id),
            Actor::Cli | Actor::ApiKey { .. } | Actor::Anonymous => None,
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Cli => f.write_str("cli"),
            Actor::ApiKey { id, name } => write!(f, "api_key:{name}({id})"),
            Actor::Admin { user_id } => write!(f, "admin:{user_id}"),
            Actor::User { user_id } => write!(f, "user:{user_id}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    /// The code entered is not the one sent.
    WrongCode,
    /// The code is void after too many wrong entries.
    TooManyTries,
    /// The code's lifetime ended before it was entered.
    CodeExpired,
    /// The sign-up policy or the app's access rules do not let this person in.
    NotAllowed,
    /// The account is disabled.
    Disabled,
    /// The sign-in had mailed codes to as many distinct addresses as it may
    /// (`[limits] mail_addresses_per_sign_in`).
    TooManyAddresses,
    /// The mailbox had its hourly codes (`[tokens] sign_in_codes_per_hour`; `+tags` and case
    /// folded).
    MailboxBudget,
    /// The client's address had its hourly codes (`[limits] mail_per_client_per_hour`).
    ClientMailBudget,
    /// The server had sent its codes for this minute (`[limits] mail_per_minute`).
    GlobalMailBudget,
    /// A second-factor code (authenticator app or recovery code) is wrong or used already.
    WrongSecondFactor,
    /// The account had its hourly wrong second-factor codes (5 per `[tokens]
    /// sign_in_codes_per_hour`, as email codes allow).
    SecondFactorBudget,
}

impl SignInFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFailure::WrongCode => "wrong_code",
            SignInFailure::TooManyTries => "too_many_tries",
            SignInFailure::CodeExpired => "code_expired",
            SignInFailure::NotAllowed => "not_allowed",
            SignInFailure::Disabled => "disabled",
            SignInFailure::TooManyAddresses => "too_many_addresses",
            SignInFailure::MailboxBudget => "mailbox_budget",
            SignInFailure::ClientMailBudget => "client_mail_budget",
            SignInFailure::GlobalMailBudget => "global_mail_budget",
            SignInFailure::WrongSecondFactor => "wrong_second_factor",
            SignInFailure::SecondFactorBudget => "second_factor_budget",
        }
    }
}

/// What became of a mail: `{"outcome": "sent"}` or `{"outcome": "failed", "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MailOutcome {
    /// The transport accepted it.
    Sent,
    /// The transport refused it or could not be reached; the reason as the mailer gives it
    /// (never the code).
    Failed { reason: String },
}

/// How a back-channel logout delivery ended (OIDC Back-Channel Logout 1.0 §2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "delivery", rename_all = "snake_case")]
pub enum LogoutDelivery {
    /// The app answered 200 or 204.
    Delivered { attempts: u32 },
    /// The app answered another status that retrying would not change (4xx, a redirect).
    Refused { status: u16, attempts: u32 },
    /// Every attempt timed out, failed to connect or got a 5xx; the last failure's reason.
    GaveUp { reason: String, attempts: u32 },
}

/// What happened. Stored and listed with its kind in `kind` (`{"kind": "sign_in_failed",
/// "reason": "wrong_code"}`); [`AuditKind`] names the kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// Someone proved an address with the emailed code and is signed in.
    SignInSucceeded {
        /// The sign-in created the account (a sign-up).
        #[serde(default)]
        new_user: bool,
    },
    /// A sign-in was refused.
    SignInFailed { reason: SignInFailure },
    /// A sign-in code was handed to the mail transport.
    CodeSend { mail: MailOutcome },
    /// A spent refresh token was presented again: its grant is revoked (RFC 9700 §4.14.2).
    RefreshTokenReused { grant_id: String },
    /// A used authorization code was presented again: its grant is revoked (RFC 6749 §4.1.2).
    AuthorizationCodeReused { grant_id: String },
    /// An administrative command changed something, or a user changed their own account on
    /// the account page (actor `user`, commands `account.*`).
    AdminChange {
        /// The command's name as it was given (`app.create`); kept as text so that entries
        /// outlive a command's renaming.
        command: String,
        changes: Changes,
    },
    /// A logout token was sent to an app's `backchannel_logout_uri` (client and user on the
    /// entry), with how it ended.
    BackchannelLogout {
        sid: String,
        #[serde(flatten)]
        outcome: LogoutDelivery,
    },
    /// A user approved or denied a device's sign-in on the device page (RFC 8628).
    DeviceDecision { approved: bool },
}

impl AuditEvent {
    /// Its kind.
    pub fn kind(&self) -> AuditKind {
        match self {
            AuditEvent::SignInSucceeded { .. } => AuditKind::SignInSucceeded,
            AuditEvent::SignInFailed { .. } => AuditKind::SignInFailed,
            AuditEvent::CodeSend { .. } => AuditKind::CodeSend,
            AuditEvent::RefreshTokenReused { .. } => AuditKind::RefreshTokenReused,
            AuditEvent::AuthorizationCodeReused { .. } => AuditKind::AuthorizationCodeReused,
            AuditEvent::AdminChange { .. } => AuditKind::AdminChange,
            AuditEvent::BackchannelLogout { .. } => AuditKind::BackchannelLogout,
            AuditEvent::DeviceDecision { .. } => AuditKind::DeviceDecision,
        }
    }

    /// Its outcome in a word, for the log line and the CLI's table.
    pub fn outcome(&self) -> &str {
        match self {
            AuditEvent::SignInSucceeded { new_user: true } => "signed_up",
            AuditEvent::SignInSucceeded { new_user: false } => "signed_in",
            AuditEvent::SignInFailed { reason } => reason.as_str(),
            AuditEvent::CodeSend {
                mail: MailOutcome::Sent,
            } => "sent",
            AuditEvent::CodeSend {
                mail: MailOutcome::Failed { .. },
            } => "failed",
            AuditEvent::RefreshTokenReused { .. } | AuditEvent::AuthorizationCodeReused { .. } => {
                "grant_revoked"
            }
            AuditEvent::AdminChange { command, .. } => command,
            AuditEvent::BackchannelLogout { outcome, .. } => match outcome {
                LogoutDelivery::Delivered { .. } => "delivered",
                LogoutDelivery::Refused { .. } => "refused",
                LogoutDelivery::GaveUp { .. } => "gave_up",
            },
            AuditEvent::DeviceDecision { approved: true } => "device_approved",
            AuditEvent::DeviceDecision { approved: false } => "device_denied",
        }
    }

    /// What else there is to say, in one line (empty if nothing): the failure's reason, the
    /// revoked grant, the changes.
    pub fn detail(&self) -> String {
        match self {
            AuditEvent::SignInSucceeded { .. }
            | AuditEvent::SignInFailed { .. }
            | AuditEvent::DeviceDecision { .. } => String::new(),
            AuditEvent::CodeSend { mail } => match mail {
                MailOutcome::Sent => String::new(),
                MailOutcome::Failed { reason } => reason.clone(),
            },
            AuditEvent::RefreshTokenReused { grant_id }
            | AuditEvent::AuthorizationCodeReused { grant_id } => format!("grant {grant_id}"),
            AuditEvent::AdminChange { changes, .. } => changes.as_json().to_string(),
            AuditEvent::BackchannelLogout { sid, outcome } => match outcome {
                LogoutDelivery::Delivered { attempts } => {
                    format!("sid {sid}, {attempts} attempt(s)")
                }
                LogoutDelivery::Refused { status, attempts } => {
                    format!("sid {sid}: HTTP {status} after {attempts} attempt(s)")
                }
                LogoutDelivery::GaveUp { reason, attempts } => {
                    format!("sid {sid}: {reason} after {attempts} attempt(s)")
                }
            },
        }
    }

    /// Refusals, failures and reuse detections: logged at warn, the rest at info.
    pub fn is_alarm(&self) -> bool {
        match self {
            AuditEvent::SignInFailed { .. }
            | AuditEvent::RefreshTokenReused { .. }
            | AuditEvent::AuthorizationCodeReused { .. }
            | AuditEvent::CodeSend {
                mail: MailOutcome::Failed { .. },
            } => true,
            AuditEvent::BackchannelLogout { outcome, .. } => {
                !matches!(outcome, LogoutDelivery::Delivered { .. })
            }
            AuditEvent::SignInSucceeded { .. }
            | AuditEvent::CodeSend {
                mail: MailOutcome::Sent,
            }
            | AuditEvent::AdminChange { .. }
            | AuditEvent::DeviceDecision { .. } => false,
        }
    }
}

/// The kinds of [`AuditEvent`], by the name they carry in `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    SignInSucceeded,
    SignInFailed,
    CodeSend,
    RefreshTokenReused,
    AuthorizationCodeReused,
    AdminChange,
    BackchannelLogout,
    DeviceDecision,
}

impl AuditKind {
    pub const ALL: [AuditKind; 8] = [
        AuditKind::SignInSucceeded,
        AuditKind::SignInFailed,
        AuditKind::CodeSend,
        AuditKind::RefreshTokenReused,
        AuditKind::AuthorizationCodeReused,
        AuditKind::AdminChange,
        AuditKind::BackchannelLogout,
        AuditKind::DeviceDecision,
    ];

    /// The name in `kind` (a test checks it is serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::SignInSucceeded => "sign_in_succeeded",
            AuditKind::SignInFailed => "sign_in_failed",
            AuditKind::CodeSend => "code_send",
            AuditKind::RefreshTokenReused => "refresh_token_reused",
            AuditKind::AuthorizationCodeReused => "authorization_code_reused",
            AuditKind::AdminChange => "admin_change",
            AuditKind::BackchannelLogout => "backchannel_logout",
            AuditKind::DeviceDecision => "device_decision",
        }
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an administrative change changed, as JSON, with every secret masked
/// ([`crate::secret::mask`]). Every way to make one masks, reading one back included, so an
/// entry cannot carry a client secret, a connector secret or an API key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Changes(Value);

impl Changes {
    /// A whole thing (created, deleted) or any description of a change.
    pub fn of(value: impl Serialize) -> Changes {
        Changes(crate::secret::mask(to_json(value)))
    }

    /// Field by field, what differs between two versions of a thing: `{"name": {"from": "A",
    /// "to": "B"}}`, a field absent on one side being `null` there. A changed secret shows as
    /// masked. Two things that are not JSON objects give `{"from": ..., "to": ...}`.
    pub fn between(before: impl Serialize, after: impl Serialize) -> Changes {
        let change = |from: Value, to: Value| {
            Value::Object(Map::from_iter([("from".into(), from), ("to".into(), to)]))
        };
        let diff = match (to_json(before), to_json(after)) {
            (Value::Object(mut before), Value::Object(after)) => {
                let mut diff = Map::new();
                for (name, to) in after {
                    let from = before.remove(&name).unwrap_or(Value::Null);
                    if from != to {
                        diff.insert(name, change(from, to));
                    }
                }
                for (name, from) in before {
                    if !from.is_null() {
                        diff.insert(name, change(from, Value::Null));
                    }
                }
                Value::Object(diff)
            }
            (from, to) => change(from, to),
        };
        Changes(crate::secret::mask(diff))
    }

    pub fn as_json(&self) -> &Value {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Changes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Changes, D::Error> {
        Ok(Changes::of(Value::deserialize(d)?))
    }
}

/// One thing that happened, as a caller records it: who, what, and about whom. [`record`]
/// gives it its time and sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub actor: Actor,
    /// The user it concerns (the `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The app it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The address a sign-in attempt or a code was for, as typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(flatten)]
    pub event: AuditEvent,
}

impl AuditEntry {
    /// An entry about no user, app or address in particular; add them with [`AuditEntry::user`],
    /// [`AuditEntry::client`] and [`AuditEntry::email`].
    pub fn new(actor: Actor, event: AuditEvent) -> AuditEntry {
        AuditEntry {
            actor,
            user_id: None,
            client_id: None,
            email: None,
            event,
        }
    }

    /// An administrative change: `command` (its name, `app.create`) changed `changes`.
    pub fn admin_change(actor: Actor, command: &str, changes: Changes) -> AuditEntry {
        let command = command.to_string();
        AuditEntry::new(actor, AuditEvent::AdminChange { command, changes })
    }

    pub fn user(mut self, user_id: impl Into<String>) -> AuditEntry {
        self.user_id = Some(user_id.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> AuditEntry {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> AuditEntry {
        self.email = Some(email.into());
        self
    }
}

/// A recorded entry, as [`list`] returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was recorded, Unix seconds.
    pub at: u64,
    /// Unique and increasing: the order of entries recorded in the same second.
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    /// Where it sits in the log: the cursor for the entries before it.
    pub fn key(&self) -> AuditKey {
        AuditKey {
            at: self.at,
            seq: self.seq,
        }
    }
}

/// How long the audit log keeps entries (`[audit]` in `sesame.toml`). Whichever bound is
/// reached first drops the oldest entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries older than this many days are dropped.
    pub retention_days: u64,
    /// At most this many entries are kept.
    pub max_entries: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention_days: 90,
            max_entries: 100_000,
        }
    }
}

/// Records `entry` at time `at` (Unix seconds) inside the caller's write transaction, and
/// writes its log line. Nothing is kept unless the transaction commits.
pub fn record(tx: &impl Writes, at: u64, entry: AuditEntry) -> Result<(), StoreError> {
    let key = tx.append_audit(at, &entry)?;
    log_line(key, &entry);
    Ok(())
}

/// Records `entry` in a write transaction of its own, for an outcome that has none (a mail
/// that failed after the sign-in step committed). Durable when it returns `Ok`.
pub fn record_now(store: &Store, at: u64, entry: AuditEntry) -> Result<(), StoreError> {
    store.write(|tx| record(tx, at, entry))
}

/// What [`prune`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries older than the retention period.
    pub by_age: u64,
    /// The oldest entries beyond the maximum count.
    pub by_count: u64,
}

/// Drops the entries older than `config.retention_days` before `now`, then the oldest beyond
/// `config.max_entries`. Reads only the entries it drops.
pub fn prune(tx: &impl Writes, now: u64, config: &AuditConfig) -> Result<Pruned, StoreError> {
    let cutoff = now.saturating_sub(config.retention_days.saturating_mul(DAY));
    let by_age = tx.remove_audit_before(cutoff)?;
    let kept = tx.audit_len()?;
    let by_count = match kept.checked_sub(config.max_entries) {
        Some(excess) if excess > 0 => tx.remove_oldest_audit(excess)?,
        _ => 0,
    };
    Ok(Pruned { by_age, by_count })
}

/// The entry's line in the log (target `audit`).
fn log_line(key: AuditKey, entry: &AuditEntry) {
    let AuditEntry {
        actor,
        user_id,
        client_id,
        email,
        event,
    } = entry;
    let kind = event.kind().as_str();
    let user = user_id.as_deref().unwrap_or("-");
    let client = client_id.as_deref().unwrap_or("-");
    let email = email.as_deref().unwrap_or("-");
    let outcome = event.outcome();
    // For people: the outcome and what else there is to say; the fields are for machines.
    let message = match event.detail() {
        detail if detail.is_empty() => outcome.to_string(),
        detail => format!("{outcome} {detail}"),
    };
    if event.is_alarm() {
        tracing::warn!(target: "audit", kind, %actor, user, client, email, outcome, seq = key.seq, "{message}");
    } else {
        tracing::info!(target: "audit", kind, %actor, user, client, email, outcome, seq = key.seq, "{message}");
    }
}

fn to_json(value: impl Serialize) -> Value {
    // What is recorded is our own plain data (strings, numbers, lists, string-keyed maps),
    // which always serialises.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests;
