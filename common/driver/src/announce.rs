//! The first line every stage prints: `listening on http://ADDR`.
//!
//! It is the one thing on stdout (logs go to stderr), and it is how people, the conformance
//! suite and the benchmark harness all learn which port a server started with `--addr
//! 127.0.0.1:0` got. So it is written once, here, in one format, only after the socket is
//! listening, and flushed at once: a line still in the buffer is a port nobody can find, and in
//! stage 03 a process forked later would inherit a copy of it and print it a second time.
//!
//! After it, on stderr (stdout stays the machine-read lines: the listening line, then stage 07's
//! h2c line or a TLS stage's redirect line, which tests read as the second line), comes the
//! banner for people: every URL the site can be reached at, one `reachable at URL` line each.
//! `localhost` and the loopback address always; for an unspecified address (`0.0.0.0`, or `[::]`,
//! which takes both families) each address of the machine's interfaces too, from
//! `getifaddrs(3)`. IPv6 link-local addresses (`fe80::/10`) are left out: a URL for them needs
//! the interface's zone (`[fe80::1%eth0]`), which browsers do not take.

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tracing::warn;

/// The scheme clients use to reach the server: `http`, or `https` from stage 06 on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

// ANCHOR: announce
/// Prints `listening on SCHEME://ADDR` as a line of its own on stdout and flushes it.
///
/// A stdout that cannot be written (closed by whoever started us) is logged, not fatal: the
/// server still serves whoever knows the port. Then the banner on stderr ([`banner`]).
pub fn announce(scheme: Scheme, addr: SocketAddr) {
    if let Err(error) = write_line(&mut io::stdout().lock(), scheme, addr) {
        warn!(%error, %addr, "cannot print the listening address on stdout");
    }
    banner(scheme, addr);
}
// ANCHOR_END: announce

/// Prints `reachable at URL` on stderr for every URL of [`urls`], with the machine's interface
/// addresses when `addr` is unspecified.
pub fn banner(scheme: Scheme, addr: SocketAddr) {
    let interfaces = if addr.ip().is_unspecified() {
        interface_addresses()
    } else {
        Vec::new()
    };
    let mut text = String::new();
    for url in urls(scheme, addr, &interfaces) {
        text.push_str("reachable at ");
        text.push_str(&url);
        text.push('\n');
    }
    // A stderr nobody reads is no reason to stop: the banner is for people.
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

// ANCHOR: urls
/// The URLs a server listening on `addr` answers at: `localhost` and the loopback address of
/// each family it takes, and for an unspecified address each of `interfaces` of a family it
/// takes (`0.0.0.0` only IPv4; `[::]` both, being dual-stack), without duplicates.
pub fn urls(scheme: Scheme, addr: SocketAddr, interfaces: &[IpAddr]) -> Vec<String> {
    let port = addr.port();
    let url = |host: &str| format!("{scheme}://{host}:{port}/");
    let ip_url = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => url(&v4.to_string()),
        IpAddr::V6(v6) => url(&format!("[{v6}]")),
    };
    let mut found = Vec::new();
    let ip = addr.ip();
    let (v4, v6) = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => (true, false),
        IpAddr::V6(v6) if v6.is_unspecified() => (true, true),
        _ => (false, false),
    };
    if ip.is_loopback() || ip.is_unspecified() {
        found.push(url("localhost"));
    }
    if !ip.is_unspecified() {
        found.push(ip_url(ip));
        return found;
    }
    if v4 {
        found.push(ip_url(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
    if v6 {
        found.push(ip_url(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }
    for &interface in interfaces {
        let takes = match interface {
            IpAddr::V4(_) => v4,
            // fe80::/10: link-local, reachable only with a zone a URL cannot carry.
            IpAddr::V6(address) => v6 && (address.segments()[0] & 0xffc0) != 0xfe80,
        };
        let candidate = ip_url(interface);
        if takes && !interface.is_loopback() && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found
}
// ANCHOR_END: urls

/// The IP addresses of this machine's interfaces that are up. A failure to list them leaves
/// only the loopback URLs in the banner, and says so in the log.
fn interface_addresses() -> Vec<IpAddr> {
    use nix::net::if_::InterfaceFlags;
    match nix::ifaddrs::getifaddrs() {
        Ok(interfaces) => interfaces
            .filter(|interface| interface.flags.contains(InterfaceFlags::IFF_UP))
            .filter_map(|interface| {
                let address = interface.address?;
                if let Some(v4) = address.as_sockaddr_in() {
                    Some(IpAddr::V4(v4.ip()))
                } else {
                    address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                }
            })
            .collect(),
        Err(error) => {
            warn!(%error, "cannot list the network interfaces for the banner");
            Vec::new()
        }
    }
}

/// Prints `redirecting http://ADDR` on stdout, the second line of a TLS stage started with
/// `--redirect-http`: where its plain-HTTP redirect listener is (port 0 picks one here too).
pub fn announce_redirect(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    if let Err(error) = writeln!(out, "redirecting http://{addr}").and_then(|()| out.flush()) {
        warn!(%error, %addr, "cannot print the redirect address on stdout");
    }
}

/// Writes the announcement to `out` and flushes it.
fn write_line(out: &mut impl Write, scheme: Scheme, addr: SocketAddr) -> io::Result<()> {
    writeln!(out, "listening on {scheme}://{addr}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scheme: Scheme, addr: &str) -> String {
        let mut out = Vec::new();
        let addr = addr.parse().expect("a socket address");
        write_line(&mut out, scheme, addr).expect("writing into a Vec");
        String::from_utf8(out).expect("ASCII")
    }

    fn listed(addr: &str, interfaces: &[&str]) -> Vec<String> {
        let interfaces: Vec<IpAddr> = interfaces
            .iter()
            .map(|ip| ip.parse().expect("an IP address"))
            .collect();
        urls(
            Scheme::Http,
            addr.parse().expect("a socket address"),
            &interfaces,
        )
    }

    #[test]
    fn a_loopback_address_is_reached_by_name_and_number() {
        assert_eq!(
            listed("127.0.0.1:8080", &["192.168.1.5"]),
            ["http://localhost:8080/", "http://127.0.0.1:8080/"]
        );
        assert_eq!(
            listed("[::1]:80", &[]),
            ["http://localhost:80/", "http://[::1]:80/"]
        );
        assert_eq!(listed("192.168.1.5:80", &[]), ["http://192.168.1.5:80/"]);
    }

    #[test]
    fn an_unspecified_address_lists_the_interfaces_of_its_families() {
        let interfaces = [
            "127.0.0.1",
            "192.168.1.5",
            "::1",
            "2001:db8::7",
            "fe80::1",
            "10.0.0.2",
        ];
        assert_eq!(
            listed("0.0.0.0:8080", &interfaces),
            [
                "http://localhost:8080/",
                "http://127.0.0.1:8080/",
                "http://192.168.1.5:8080/",
                "http://10.0.0.2:8080/",
            ]
        );
        assert_eq!(
            listed("[::]:8080", &interfaces),
            [
                "http://localhost:8080/",
                "http://127.0.0.1:8080/",
                "http://[::1]:8080/",
                "http://192.168.1.5:8080/",
                "http://[2001:db8::7]:8080/",
                "http://10.0.0.2:8080/",
            ]
        );
    }

    #[test]
    fn this_machine_has_at_least_its_loopback_interface() {
        let found = interface_addresses();
        assert!(
            found.iter().any(IpAddr::is_loopback),
            "getifaddrs found no loopback address: {found:?}"
        );
    }

    #[test]
    fn the_line_is_what_tests_and_the_harness_parse() {
        assert_eq!(
            line(Scheme::Http, "127.0.0.1:41234"),
            "listening on http://127.0.0.1:41234\n"
        );
        assert_eq!(
            line(Scheme::Https, "[::1]:443"),
            "listening on https://[::1]:443\n"
        );
    }
}
