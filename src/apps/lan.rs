//! Where an `http://` redirect URI points: this machine, the local network, or somewhere else.
//!
//! A redirect URI carries the authorization code. Over http anyone on the path can read it, so
//! sesame takes http only where the path is short and the operator's own: this machine always
//! (a developer's app, RFC 8252 §7.3), and the LAN for an app that opts in with
//! `allow_insecure_redirect` (Jellyfin and the like, which many homelabs run without TLS).
//!
//! "The LAN" is what the address or name itself says, never what DNS says today: the private
//! IPv4 ranges (RFC 1918), IPv4 and IPv6 link-local, IPv6 unique local addresses (RFC 4193),
//! and names under the suffixes reserved or conventional for home networks (`.home.arpa`,
//! RFC 8375; `.local`, mDNS, RFC 6762; `.lan`, what most home routers hand out). A bare name
//! (`http://jellyfin/`) is refused: a search domain could put it anywhere.
//!
//! This machine is `localhost` and every name under it (`auth.home.localhost`): RFC 6761 §6.3
//! reserves the whole `.localhost` domain for loopback, resolvers must answer it with the
//! loopback address and never ask DNS, and browsers (Chromium, Firefox) do so themselves.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The name suffixes taken as the LAN, each with its leading dot.
pub const LAN_SUFFIXES: [&str; 3] = [".lan", ".home.arpa", ".local"];

/// Where an http URL's host is, as far as its address or name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPlace {
    /// `localhost` or a name under it (RFC 6761 §6.3), `127.0.0.0/8` or `::1`.
    Loopback,
    /// A private or link-local address, or a name under a LAN suffix.
    Lan,
    /// A name without a dot (`jellyfin`): its meaning depends on the resolver's search list.
    BareName,
    /// Anything else: a public address or name (or an address no one should redirect to).
    Elsewhere,
}

/// Where `host` is (a URL's host, as the `url` crate parsed it: names lower-cased).
pub fn place(host: url::Host<&str>) -> HostPlace {
    match host {
        url::Host::Domain(name) => name_place(name),
        url::Host::Ipv4(ip) => ipv4_place(ip),
        url::Host::Ipv6(ip) => ipv6_place(ip),
    }
}

fn name_place(name: &str) -> HostPlace {
    // A fully qualified name may end in a dot (`jellyfin.lan.`); it means the same host.
    let name = name.strip_suffix('.').unwrap_or(name);
    if is_localhost_name(name) {
        return HostPlace::Loopback;
    }
    let under_lan_suffix = LAN_SUFFIXES.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('.'))
    });
    if under_lan_suffix {
        HostPlace::Lan
    } else if !name.contains('.') {
        HostPlace::BareName
    } else {
        HostPlace::Elsewhere
    }
}

/// `localhost` or a name under it (`app.home.localhost`), without a trailing dot: loopback by
/// RFC 6761 §6.3. An empty label (`.localhost`, `a..localhost`) is not a name.
fn is_localhost_name(name: &str) -> bool {
    const SUFFIX: &str = ".localhost";
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let at = name.len().wrapping_sub(SUFFIX.len());
    name.len() > SUFFIX.len()
        && name.is_char_boundary(at)
        && name[at..].eq_ignore_ascii_case(SUFFIX)
        && !name[..at].split('.').any(str::is_empty)
}

/// 10/8, 172.16/12, 192.168/16 (RFC 1918) and 169.254/16 (link-local).
fn ipv4_place(ip: Ipv4Addr) -> HostPlace {
    if ip.is_loopback() {
        HostPlace::Loopback
    } else if ip.is_private() || ip.is_link_local() {
        HostPlace::Lan
    } else {
        HostPlace::Elsewhere
    }
}

/// fc00::/7 (unique local, RFC 4193) and fe80::/10 (link-local). An IPv4-mapped address
/// (`::ffff:192.168.1.10`) is not taken as the LAN: write the IPv4 address itself.
fn ipv6_place(ip: Ipv6Addr) -> HostPlace {
    if ip.is_loopback() {
        HostPlace::Loopback
    } else if ip.is_unique_local() || ip.is_unicast_link_local() {
        HostPlace::Lan
    } else {
        HostPlace::Elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_of(uri: &str) -> HostPlace {
        let url = url::Url::parse(uri).unwrap();
        place(url.host().unwrap())
    }

    #[test]
    fn each_private_range_is_the_lan_and_its_neighbours_are_not() {
        let cases = [
            // 10/8
            ("http://10.0.0.1/", HostPlace::Lan),
            ("http://10.255.255.255/", HostPlace::Lan),
            ("http://9.255.255.255/", HostPlace::Elsewhere),
            ("http://11.0.0.1/", HostPlace::Elsewhere),
            // 172.16/12
            ("http://172.16.0.1/", HostPlace::Lan),
            ("http://172.31.255.254/", HostPlace::Lan),
            ("http://172.15.255.255/", HostPlace::Elsewhere),
            ("http://172.32.0.1/", HostPlace::Elsewhere),
            // 192.168/16
            ("http://192.168.1.10:8096/", HostPlace::Lan),
            ("http://192.167.255.255/", HostPlace::Elsewhere),
            ("http://192.169.0.1/", HostPlace::Elsewhere),
            // 169.254/16
            ("http://169.254.10.1/", HostPlace::Lan),
            ("http://169.253.0.1/", HostPlace::Elsewhere),
            ("http://169.255.0.1/", HostPlace::Elsewhere),
            // fc00::/7
            ("http://[fc00::1]/", HostPlace::Lan),
            ("http://[fd12:3456:789a::10]:8096/", HostPlace::Lan),
            ("http://[fbff:ffff::1]/", HostPlace::Elsewhere),
            ("http://[fe00::1]/", HostPlace::Elsewhere),
            // fe80::/10
            ("http://[fe80::1]/", HostPlace::Lan),
            ("http://[febf:ffff::1]/", HostPlace::Lan),
            ("http://[fec0::1]/", HostPlace::Elsewhere),
            // Public, mapped, unspecified.
            ("http://8.8.8.8/", HostPlace::Elsewhere),
            ("http://100.64.0.1/", HostPlace::Elsewhere),
            ("http://0.0.0.0/", HostPlace::Elsewhere),
            ("http://[2001:db8::1]/", HostPlace::Elsewhere),
            ("http://[::ffff:192.168.1.10]/", HostPlace::Elsewhere),
            // Loopback.
            ("http://127.0.0.1/", HostPlace::Loopback),
            ("http://127.8.9.10/", HostPlace::Loopback),
            ("http://[::1]/", HostPlace::Loopback),
            ("http://localhost:3000/", HostPlace::Loopback),
            // RFC 6761 §6.3: every name under localhost.
            ("http://app.localhost/", HostPlace::Loopback),
            ("http://auth.home.localhost:8080/", HostPlace::Loopback),
            ("http://App.Home.LOCALHOST./", HostPlace::Loopback),
            ("http://localhost./", HostPlace::Loopback),
            // Lookalikes that are not under it.
            ("http://localhost.example.com/", HostPlace::Elsewhere),
            ("http://evillocalhost/", HostPlace::BareName),
            ("http://app.notlocalhost/", HostPlace::Elsewhere),
            ("http://a..localhost/", HostPlace::Elsewhere),
        ];
        for (uri, want) in cases {
            assert_eq!(place_of(uri), want, "{uri}");
        }
    }

    #[test]
    fn names_are_the_lan_only_under_a_lan_suffix() {
        let cases = [
            ("http://jellyfin.lan/", HostPlace::Lan),
            ("http://Jellyfin.LAN:8096/", HostPlace::Lan),
            ("http://jellyfin.lan./", HostPlace::Lan),
            ("http://media.server.lan/", HostPlace::Lan),
            ("http://nas.home.arpa/", HostPlace::Lan),
            ("http://printer.local/", HostPlace::Lan),
            // The suffix alone, or as part of a longer label or a public name.
            ("http://home.arpa/", HostPlace::Elsewhere),
            ("http://.lan/", HostPlace::Elsewhere),
            ("http://jellyfin..lan/", HostPlace::Elsewhere),
            ("http://myplan.example.com/", HostPlace::Elsewhere),
            ("http://evil-lan.com/", HostPlace::Elsewhere),
            ("http://jellyfin.lan.example.com/", HostPlace::Elsewhere),
            ("http://jellyfin.example.com/", HostPlace::Elsewhere),
            ("http://xn--lan-0na.com/", HostPlace::Elsewhere),
            // Bare names.
            ("http://jellyfin/", HostPlace::BareName),
            ("http://lan/", HostPlace::BareName),
            ("http://local./", HostPlace::BareName),
        ];
        for (uri, want) in cases {
            assert_eq!(place_of(uri), want, "{uri}");
        }
    }
}
