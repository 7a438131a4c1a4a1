//! The Host allow-list: refuse requests for a host name this server does not serve, against DNS
//! rebinding.
//!
//! DNS rebinding: a page at `http://evil.example` has its name re-pointed (a short TTL, then a
//! new answer) at `127.0.0.1`. To the browser it is still the origin `evil.example`, so the
//! page's own script may read the answers, which now come from a server on the victim's
//! machine. The one thing that gives it away is the `Host` field: `evil.example`. A server that
//! answers only the names it knows closes the hole (the advice of RFC 9110 section 17.1 on
//! authoritative answers, and what Django's `ALLOWED_HOSTS` and Vite's `server.allowedHosts`
//! do).
//!
//! Where the host comes from: an HTTP/1.1 request's `Host` field, or the authority of an
//! absolute-form target, which wins over `Host` (RFC 9112 section 3.2.2); HTTP/2's
//! `:authority` is turned into `host` by the protocol crate (`h2::semantics`), so the same field
//! covers both. The port is ignored (the listener chose it), names are compared without regard
//! to case (RFC 3986 section 3.2.2) and without one trailing dot (`example.com.` is the same
//! fully qualified name).
//!
//! IP literals are names like any other: `127.0.0.1` or `[::1]` (or `::1`) is allowed only
//! when it is on the list, and IPv6 literals are compared as addresses, so `[0:0::1]` is
//! `[::1]`. A rebinding page can never send an IP-literal `Host` (its origin is a name), so
//! listing `127.0.0.1` is safe, and is what lets `curl http://127.0.0.1:8080/` in.
//!
//! The status is **421 Misdirected Request** (RFC 9110 section 15.5.20): "the request was
//! directed at a server that is unable or unwilling to produce an authoritative response for
//! the target URI". That is exactly the case: the request is well-formed (400 would say the
//! client got the syntax wrong, and it did not), it is just for someone else. 421 is also what
//! an HTTP/2 client that coalesced connections is told, and it may retry on a new connection.
//! A request with no host at all (HTTP/1.0 may omit `Host`) cannot be checked, so while the
//! list is on it is refused the same way.

use std::fmt;
use std::net::Ipv6Addr;

use crate::middleware::{Middleware, Next};
use protocol::{Request, Response, StatusCode};

/// One allowed host, normalised: a lower-case name without a trailing dot, or an IPv6 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHost {
    /// A registered name or an IPv4 literal, in lower case.
    Name(String),
    /// An IPv6 literal.
    Ipv6(Ipv6Addr),
}

/// Why an `--allowed-host` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// Nothing, or only a dot.
    Empty,
    /// A character a host name cannot hold (RFC 3986 section 3.2.2's reg-name).
    BadCharacter { host: String, character: char },
    /// Something in brackets that is not an IPv6 address.
    BadIpLiteral(String),
    /// A port or a path: the list holds names only.
    NotJustAName(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Empty => f.write_str("an allowed host cannot be empty"),
            HostError::BadCharacter { host, character } => {
                write!(
                    f,
                    "{host:?} is not a host name: {character:?} cannot be in one"
                )
            }
            HostError::BadIpLiteral(host) => write!(f, "{host:?} is not an IPv6 address"),
            HostError::NotJustAName(host) => write!(
                f,
                "{host:?} is not just a host name (no port, scheme or path: the port is ignored)"
            ),
        }
    }
}

impl std::error::Error for HostError {}

impl std::str::FromStr for AllowedHost {
    type Err = HostError;

    /// `example.com`, `Example.COM.`, `127.0.0.1`, `[::1]` or `::1`.
    fn from_str(text: &str) -> Result<AllowedHost, HostError> {
        let text = text.trim();
        if let Ok(address) = text.parse::<Ipv6Addr>() {
            return Ok(AllowedHost::Ipv6(address));
        }
        if let Some(inner) = text.strip_prefix('[') {
            return inner
                .strip_suffix(']')
                .and_then(|inner| inner.parse().ok())
                .map(AllowedHost::Ipv6)
                .ok_or_else(|| HostError::BadIpLiteral(text.to_owned()));
        }
        if text.contains([':', '/', '@']) {
            return Err(HostError::NotJustAName(text.to_owned()));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        if name.is_empty() {
            return Err(HostError::Empty);
        }
        if let Some(character) = name
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(HostError::BadCharacter {
                host: text.to_owned(),
                character,
            });
        }
        Ok(AllowedHost::Name(name.to_ascii_lowercase()))
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedHost::Name(name) => f.write_str(name),
            AllowedHost::Ipv6(address) => write!(f, "[{address}]"),
        }
    }
}

// ANCHOR: request_host
/// The host a request is for, without its port: the authority of an absolute-form target, else
/// the `Host` field (which HTTP/2's `:authority` became). `None` when there is none, or it is
/// not UTF-8.
pub fn request_host(request: &Request) -> Option<&str> {
    let target = request.target.as_str();
    let authority = match target.split_once("://") {
        // Absolute-form (RFC 9112 section 3.2.2): the target's authority wins over Host.
        Some((scheme, rest)) if !target.starts_with('/') && !scheme.contains('/') => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            &rest[..end]
        }
        _ => request.headers.get_str("host")?,
    };
    // userinfo@ is not allowed in HTTP (RFC 9110 section 4.2.4); drop it rather than match it.
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    Some(strip_port(authority))
}
// ANCHOR_END: request_host

/// `host[:port]` without the port; an IPv6 literal keeps its brackets.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        };
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host)
}

// ANCHOR: allowed_hosts
/// Answers 421 to a request whose host is not on the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHosts {
    hosts: Vec<AllowedHost>,
}

impl AllowedHosts {
    /// A list of the hosts to answer for. An empty list allows none: leave the middleware out to
    /// allow every host.
    pub fn new(hosts: Vec<AllowedHost>) -> AllowedHosts {
        AllowedHosts { hosts }
    }

    /// Whether `host` (as [`request_host`] gives it: no port) is on the list.
    pub fn allows(&self, host: &str) -> bool {
        let wanted = if let Some(inner) = host.strip_prefix('[') {
            match inner.strip_suffix(']').and_then(|inner| inner.parse().ok()) {
                Some(address) => AllowedHost::Ipv6(address),
                None => return false,
            }
        } else {
            let name = host.strip_suffix('.').unwrap_or(host);
            AllowedHost::Name(name.to_ascii_lowercase())
        };
        self.hosts.contains(&wanted)
    }
}

impl Middleware for AllowedHosts {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        match request_host(request) {
            Some(host) if self.allows(host) => next.run(request),
            Some(host) => Response::text(
                StatusCode::MISDIRECTED_REQUEST,
                format!("this server does not answer for the host {host:?}"),
            ),
            None => Response::text(
                StatusCode::MISDIRECTED_REQUEST,
                "this server answers only requests that name their host",
            ),
        }
    }
}
// ANCHOR_END: allowed_hosts

#[cfg(test)]
mod tests;
