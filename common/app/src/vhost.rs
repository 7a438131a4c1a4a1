//! Virtual hosts: one server, several sites, told apart by the host the client asked for
//! (RFC 9110 section 7.2; RFC 9112 section 3.2).
//!
//! `--vhost NAME=DIR` (repeatable) serves `DIR` to requests for host `NAME`; any other host,
//! and a request without one (HTTP/1.0), gets the default root (`--root`). The host is taken
//! from the absolute-form target when there is one (`GET http://a.example/ HTTP/1.1`, which
//! RFC 9112 section 3.2.2 says wins over `Host`), else from `Host`. HTTP/2 has no `Host`
//! but `:authority`; the protocol crate turns it into a `host` field (and refuses a request
//! whose two disagree), so this module reads one field for both versions.
//!
//! Names compare without case and without a trailing dot (`Example.COM.` is `example.com`,
//! as DNS has it); the port is ignored, so `a.example:8080` is `a.example`. Only the document
//! root changes with the host: routes (`/api/info`, ...) are the same for every host.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use protocol::Request;

// ANCHOR: virtual_host
/// One `--vhost NAME=DIR`: requests for `name` are served from `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualHost {
    /// The host name, lowercase, without port or trailing dot (an IPv6 address in brackets).
    pub name: String,
    /// Its document root.
    pub root: PathBuf,
}
// ANCHOR_END: virtual_host

/// Why a `NAME=DIR` argument was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtualHostError {
    /// No `=` between the name and the directory.
    MissingEquals,
    /// The name is empty, or holds a character a host name cannot (a port is refused here
    /// rather than silently dropped, so that `a:8080=dir` does not look like it means
    /// something).
    BadName(String),
    /// Nothing after the `=`.
    EmptyDirectory,
}

impl fmt::Display for VirtualHostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtualHostError::MissingEquals => {
                f.write_str("expected NAME=DIR, e.g. blog.example=/srv/blog")
            }
            VirtualHostError::BadName(name) => write!(
                f,
                "{name:?} is not a host name (letters, digits, '-' and '.', or an IPv6 address in brackets; no port)"
            ),
            VirtualHostError::EmptyDirectory => f.write_str("no directory after NAME="),
        }
    }
}

impl std::error::Error for VirtualHostError {}

impl FromStr for VirtualHost {
    type Err = VirtualHostError;

    fn from_str(text: &str) -> Result<VirtualHost, VirtualHostError> {
        let (name, dir) = text
            .split_once('=')
            .ok_or(VirtualHostError::MissingEquals)?;
        if dir.is_empty() {
            return Err(VirtualHostError::EmptyDirectory);
        }
        let normal = normalize(name.trim());
        let bracketed = normal.starts_with('[') && normal.ends_with(']') && normal.len() > 2;
        let valid = if bracketed {
            normal[1..normal.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        } else {
            !normal.is_empty()
                && normal
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        };
        if !valid {
            return Err(VirtualHostError::BadName(name.to_owned()));
        }
        Ok(VirtualHost {
            name: normal,
            root: PathBuf::from(dir),
        })
    }
}

// ANCHOR: request_host
/// The host a request is for, normalized as [`VirtualHost::name`] is: from an absolute-form
/// target if there is one, else from `Host`; `None` without either.
pub fn request_host(request: &Request) -> Option<String> {
    let target = request.target.as_str();
    let authority = match target.find("://") {
        Some(scheme_end) if !target.starts_with('/') => {
            let rest = &target[scheme_end + 3..];
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            Some(&rest[..end])
        }
        _ => request.headers.get_str("host"),
    }?;
    // Userinfo has no place in an http(s) authority (RFC 9110 section 4.2.4); drop it rather
    // than let `user@host` pick a site.
    let authority = authority.rsplit('@').next().unwrap_or(authority).trim();
    let host = if authority.starts_with('[') {
        // `[::1]:8080`: the port follows the closing bracket.
        authority
            .find(']')
            .map_or(authority, |close| &authority[..=close])
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let host = normalize(host);
    (!host.is_empty()).then_some(host)
}
// ANCHOR_END: request_host

/// Lowercase, without a trailing dot.
fn normalize(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// Which of `hosts` a request is for: the index of the first whose name matches, or `None`
/// for the default root.
pub fn select(hosts: &[VirtualHost], request: &Request) -> Option<usize> {
    if hosts.is_empty() {
        // No virtual hosts: nothing to look at, not even the Host field.
        return None;
    }
    let host = request_host(request)?;
    hosts.iter().position(|vhost| vhost.name == host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Method;

    fn with_host(target: &str, host: Option<&str>) -> Request {
        let mut request = Request::new(Method::Get, target);
        if let Some(host) = host {
            request.headers.append("host", host);
        }
        request
    }

    fn hosts() -> Vec<VirtualHost> {
        [
            "blog.example=/srv/blog",
            "[::1]=/srv/v6",
            "shop.example.=/srv/shop",
        ]
        .iter()
        .map(|arg| arg.parse().expect("valid"))
        .collect()
    }

    #[test]
    fn selection_by_host() {
        let hosts = hosts();
        let cases: &[(&str, Option<&str>, Option<usize>)] = &[
            ("/", Some("blog.example"), Some(0)),
            ("/", Some("BLOG.Example"), Some(0)),
            ("/", Some("blog.example:8080"), Some(0)),
            ("/", Some("blog.example."), Some(0)),
            ("/", Some("[::1]:8443"), Some(1)),
            ("/", Some("[::1]"), Some(1)),
            ("/", Some("shop.example"), Some(2)),
            ("/", Some("other.example"), None),
            ("/", Some("blog.example.evil"), None),
            ("/", Some(""), None),
            ("/", None, None),
            // The absolute-form target wins over Host (RFC 9112 section 3.2.2).
            ("http://blog.example/x", Some("other.example"), Some(0)),
            ("http://other.example:80/x", Some("blog.example"), None),
            ("http://user@blog.example/", None, Some(0)),
        ];
        for (target, host, expected) in cases {
            assert_eq!(
                select(&hosts, &with_host(target, *host)),
                *expected,
                "{target} with Host {host:?}"
            );
        }
        assert_eq!(select(&[], &with_host("/", Some("blog.example"))), None);
    }

    #[test]
    fn arguments_parse_or_say_why_not() {
        assert_eq!(
            "Blog.Example=/srv/blog".parse::<VirtualHost>(),
            Ok(VirtualHost {
                name: "blog.example".into(),
                root: "/srv/blog".into()
            })
        );
        assert_eq!(
            "blog.example".parse::<VirtualHost>(),
            Err(VirtualHostError::MissingEquals)
        );
        assert_eq!(
            "blog.example=".parse::<VirtualHost>(),
            Err(VirtualHostError::EmptyDirectory)
        );
        assert_eq!(
            "blog.example:8080=/srv".parse::<VirtualHost>(),
            Err(VirtualHostError::BadName("blog.example:8080".into()))
        );
        assert!("=/srv".parse::<VirtualHost>().is_err());
        assert!("a b=/srv".parse::<VirtualHost>().is_err());
        assert!("[zz]=/srv".parse::<VirtualHost>().is_err());
        assert!(VirtualHostError::MissingEquals
            .to_string()
            .contains("NAME=DIR"));
    }
}
