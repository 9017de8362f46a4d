//! Limits under abuse: how much one client (an IP address, an IPv6 /64) may ask of sesame, and
//! how much mail sesame sends, so that one client cannot use up what everyone shares (sign-in
//! mail, the mail provider's quota, storage, connections).
//!
//! What is limited, and where it is counted:
//!
//! ```text
//!  kind                     counted per          by               refused with
//!  authorize                client, per minute   this module      429 page, Retry-After
//!  token                    client, per minute   this module      429 OAuth JSON, Retry-After
//!  sign_in (3 form posts)   client, per minute   this module      429 page, Retry-After
//!  forward_auth_miss        client, per minute   this module      429, Retry-After
//!  pending_sign_ins         client, per 30 min   this module      429 page (at /auth)
//!  pending_sign_ins_total   the server           signin (store)   oldest unmailed evicted
//!  mail_addresses           sign-in              signin (store)   message on the email form
//!  mail_per_client          client, per hour     this module      message on the form
//!  mail_per_mailbox         mailbox, per hour    signin (store)   message on the form
//!  mail_global              the server, per min  this module      message on the form
//!  connections              client, open now     server           connection closed at once
//! ```
//!
//! The per-client rates are GCRA buckets ([`table`]) in memory: a restart forgets them, which
//! costs an attacker nothing they could not get by waiting a minute, and saves a disk write on
//! every request. The mail and pending sign-in budgets that must survive a restart, or be
//! exact under races, live in the store (see `crate::signin`).
//!
//! Each rate lets its whole count through at once (a burst), then the count per period. A new
//! endpoint opts in with one [`Kind`] and one call to [`Limits::check`] (the router's table
//! `limited` does it for whole routes).
//!
//! Every refusal counts in [`Limits::hits`], for metrics.
//!
//! Uses only [`crate::clock`]'s seconds (the caller passes `now` from the provider's clock, so
//! tests move time). The provider holds one [`Limits`]; the edge asks it who the client is.

pub mod client;
pub mod table;

pub use client::{Cidr, CidrError, ClientKey, TrustedProxies};
pub use table::{Rate, Table};

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// `[limits]` in `sesame.toml`. Every count is per client (an IPv4 address or an IPv6 /64)
/// unless its name says otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR ranges).
    pub trusted_proxies: Vec<String>,
    /// Authorization requests (`/auth`) per minute.
    pub authorize_per_minute: u32,
    /// Token requests (`/token`) per minute.
    pub token_per_minute: u32,
    /// Sign-in form posts (email, code, resend) per minute.
    pub sign_in_per_minute: u32,
    /// Forward-auth checks without a session (that send to sign in) per minute.
    pub forward_auth_misses_per_minute: u32,
    /// User codes tried on the device page (`/device`) per minute.
    pub device_codes_per_minute: u32,
    /// Sign-ins started per 30 minutes (an interaction's lifetime): bounds pending ones.
    pub pending_sign_ins_per_client: u32,
    /// Sign-ins pending at once, from everyone; beyond it the oldest unmailed ones go.
    pub pending_sign_ins: u32,
    /// Distinct addresses one sign-in may mail a code to.
    pub mail_addresses_per_sign_in: u32,
    /// Codes mailed per hour at one client's request.
    pub mail_per_client_per_hour: u32,
    /// Codes mailed per minute, for everyone: keep it under the mail provider's quota.
    pub mail_per_minute: u32,
    /// Clients tracked per limit (memory); beyond, new clients share one budget.
    pub tracked_clients: u32,
    /// Connections one client may hold open at once (trusted proxies: only the global cap).
    pub connections_per_client: u32,
    /// Seconds a connection may take to send a request's headers (and stay idle between
    /// requests).
    pub header_timeout: u64,
    /// The same when more than three quarters of the connections are in use.
    pub busy_header_timeout: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            trusted_proxies: Vec::new(),
            authorize_per_minute: 60,
            token_per_minute: 600,
            sign_in_per_minute: 30,
            forward_auth_misses_per_minute: 300,
            device_codes_per_minute: 10,
            pending_sign_ins_per_client: 100,
            pending_sign_ins: 10_000,
            mail_addresses_per_sign_in: 3,
            mail_per_client_per_hour: 30,
            mail_per_minute: 60,
            tracked_clients: 20_000,
            connections_per_client: 128,
            header_timeout: 10,
            busy_header_timeout: 2,
        }
    }
}

/// What was limited (one name per limit, as [`Limits::hits`] and the audit log say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/auth` requests from one client.
    Authorize,
    /// `/token` requests from one client.
    Token,
    /// Sign-in form posts from one client.
    SignIn,
    /// Forward-auth checks without a session from one client.
    ForwardAuthMiss,
    /// Sign-ins started by one client.
    PendingSignIns,
    /// Sign-ins pending in total (the oldest unmailed evicted).
    PendingSignInsTotal,
    /// Distinct addresses in one sign-in.
    MailAddresses,
    /// Codes mailed at one client's request.
    MailPerClient,
    /// Codes mailed to one mailbox.
    MailPerMailbox,
    /// Codes mailed by the server.
    MailGlobal,
    /// Connections from one client.
    Connections,
    /// User codes tried on the device page by one client.
    DeviceCode,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Authorize,
        Kind::Token,
        Kind::SignIn,
        Kind::ForwardAuthMiss,
        Kind::PendingSignIns,
        Kind::PendingSignInsTotal,
        Kind::MailAddresses,
        Kind::MailPerClient,
        Kind::MailPerMailbox,
        Kind::MailGlobal,
        Kind::Connections,
        Kind::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Authorize => "authorize",
            Kind::Token => "token",
            Kind::SignIn => "sign_in",
            Kind::ForwardAuthMiss => "forward_auth_miss",
            Kind::PendingSignIns => "pending_sign_ins",
            Kind::PendingSignInsTotal => "pending_sign_ins_total",
            Kind::MailAddresses => "mail_addresses",
            Kind::MailPerClient => "mail_per_client",
            Kind::MailPerMailbox => "mail_per_mailbox",
            Kind::MailGlobal => "mail_global",
            Kind::Connections => "connections",
            Kind::DeviceCode => "device_code",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A request refused by a limit: which, and in how many seconds to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub kind: Kind,
    pub retry_after: u64,
}

/// The limits in force and their counts.
#[derive(Debug)]
pub struct Limits {
    pub config: LimitsConfig,
    trusted: TrustedProxies,
    /// One table per kind counted here ([`Kind::index`] order; `None`: counted elsewhere).
    tables: Vec<Option<Table>>,
    /// Refusals per kind since start.
    hits: [AtomicU64; 12],
}

impl Limits {
    /// The limits `config` sets; a `trusted_proxies` entry that is not an address or a range
    /// is an error (configuration checks this first).
    pub fn new(config: LimitsConfig) -> Result<Limits, CidrError> {
        let trusted = TrustedProxies::parse(&config.trusted_proxies)?;
        Ok(Limits::with_trusted(config, trusted))
    }

    fn with_trusted(config: LimitsConfig, trusted: TrustedProxies) -> Limits {
        let cap = config.tracked_clients as usize;
        let tables = Kind::ALL
            .iter()
            .map(|k| rate(&config, *k).map(|r| Table::new(r, cap)))
            .collect();
        Limits {
            config,
            trusted,
            tables,
            hits: Default::default(),
        }
    }

    /// Counts one event of `kind` for `client` at `now`: `Ok`, or the refusal (counted in
    /// [`Limits::hits`]). Kinds counted elsewhere always pass here.
    pub fn check(&self, kind: Kind, client: IpAddr, now: u64) -> Result<(), Refused> {
        let key = match kind {
            Kind::MailGlobal => ClientKey::Everyone,
            _ => ClientKey::of(client),
        };
        let Some(table) = &self.tables[kind.index()] else {
            return Ok(());
        };
        table.take(key, now).map_err(|retry_after| {
            self.hit(kind);
            Refused { kind, retry_after }
        })
    }

    /// Counts a refusal made elsewhere (the store's budgets, the connection cap).
    pub fn hit(&self, kind: Kind) {
        self.hits[kind.index()].fetch_add(1, Ordering::Relaxed);
        crate::metrics::rate_limited(kind.as_str());
    }

    /// Refusals per kind since start, every kind listed (for metrics).
    pub fn hits(&self) -> Vec<(&'static str, u64)> {
        Kind::ALL
            .iter()
            .map(|k| (k.as_str(), self.hits[k.index()].load(Ordering::Relaxed)))
            .collect()
    }

    /// Who a request is from: `peer` (the socket's), or what a trusted proxy says.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        self.trusted.client_ip(peer, forwarded_for)
    }

    /// Whether `peer` is a trusted proxy (exempt from the per-client connection cap: it carries
    /// everyone's).
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted.contains(peer)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::with_trusted(LimitsConfig::default(), TrustedProxies::default())
    }
}

/// The rate of a kind counted in memory here.
fn rate(c: &LimitsConfig, kind: Kind) -> Option<Rate> {
    let (count, per_secs) = match kind {
        Kind::Authorize => (c.authorize_per_minute, 60),
        Kind::Token => (c.token_per_minute, 60),
        Kind::SignIn => (c.sign_in_per_minute, 60),
        Kind::ForwardAuthMiss => (c.forward_auth_misses_per_minute, 60),
        Kind::DeviceCode => (c.device_codes_per_minute, 60),
        Kind::PendingSignIns => (c.pending_sign_ins_per_client, PENDING_WINDOW),
        Kind::MailPerClient => (c.mail_per_client_per_hour, 3600),
        Kind::MailGlobal => (c.mail_per_minute, 60),
        Kind::PendingSignInsTotal
        | Kind::MailAddresses
        | Kind::MailPerMailbox
        | Kind::Connections => return None,
    };
    Some(Rate { count, per_secs })
}

/// The window of the per-client pending sign-in budget: an interaction's lifetime
/// (`signin::INTERACTION_TTL`; a test in `signin` keeps the two equal).
pub const PENDING_WINDOW: u64 = 30 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_kind_counts_per_client_and_refusals_are_counted() {
        let l = Limits::new(LimitsConfig {
            token_per_minute: 2,
            mail_per_minute: 1,
            ..Default::default()
        })
        .unwrap();
        let t0 = 1_800_000_000;
        l.check(Kind::Token, ip("192.0.2.1"), t0).unwrap();
        l.check(Kind::Token, ip("192.0.2.1"), t0).unwrap();
        let r = l.check(Kind::Token, ip("192.0.2.1"), t0).unwrap_err();
        assert_eq!((r.kind, r.retry_after), (Kind::Token, 30));
        l.check(Kind::Token, ip("192.0.2.2"), t0).unwrap();
        // The global mail budget is everyone's.
        l.check(Kind::MailGlobal, ip("192.0.2.1"), t0).unwrap();
        assert!(l.check(Kind::MailGlobal, ip("192.0.2.2"), t0).is_err());
        // Counted elsewhere: never refused here.
        l.check(Kind::MailPerMailbox, ip("192.0.2.1"), t0).unwrap();
        l.hit(Kind::Connections);
        let hits: std::collections::HashMap<_, _> = l.hits().into_iter().collect();
        assert_eq!(hits.len(), Kind::ALL.len());
        assert_eq!(hits["token"], 1);
        assert_eq!(hits["mail_global"], 1);
        assert_eq!(hits["connections"], 1);
        assert_eq!(hits["authorize"], 0);
        // Time moves: the budget comes back.
        l.check(Kind::Token, ip("192.0.2.1"), t0 + 30).unwrap();
    }

    #[test]
    fn a_bad_trusted_proxy_is_an_error() {
        let e = Limits::new(LimitsConfig {
            trusted_proxies: vec!["10.0.0.0/40".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/40"));
    }
}
