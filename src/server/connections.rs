//! The per-client connection cap: how many connections each client (an IPv4 address or an
//! IPv6 /64, by the socket's peer) holds open now. The accept loop (`server::accept_loop`)
//! closes a connection at once when its client holds `[limits] connections_per_client`
//! already, so one client cannot take all of the 1,024 sesame serves and leave nothing for
//! `/healthz` and everyone else. Trusted proxies carry everyone's connections and are held only
//! to the global cap.

use std::sync::Arc;

/// Connections open now per client (IPv4 address or IPv6 /64), for the per-client cap. An
/// entry lives while its client has a connection open, so it holds at most
/// `MAX_CONNECTIONS` entries.
#[derive(Default)]
pub(super) struct PerClient(
    std::sync::Mutex<std::collections::HashMap<crate::limits::ClientKey, usize>>,
);

/// One open connection of a client; closing it (dropping this) gives its place back.
pub(super) struct Held {
    table: Arc<PerClient>,
    key: crate::limits::ClientKey,
}

impl PerClient {
    /// Counts a new connection from `peer`, or `None` if it already holds `cap`.
    pub(super) fn open(
        &self,
        this: &Arc<PerClient>,
        peer: std::net::IpAddr,
        cap: usize,
    ) -> Option<Held> {
        let key = crate::limits::ClientKey::of(peer);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Held {
            table: this.clone(),
            key,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_cap_and_closing_gives_a_place_back() {
        let table = Arc::new(PerClient::default());
        let a: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: std::net::IpAddr = "2001:db8::2".parse().unwrap();
        let b: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let first = table.open(&table, a, 2).unwrap();
        let _second = table.open(&table, same_64, 2).unwrap();
        assert!(table.open(&table, a, 2).is_none(), "the /64 holds two");
        assert!(
            table.open(&table, b, 2).is_some(),
            "another client is not affected"
        );
        drop(first);
        assert!(table.open(&table, a, 2).is_some());
    }
}
