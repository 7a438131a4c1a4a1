//! CORS: which other origins' pages may read this server's answers, as the Fetch standard
//! (section 3.2, "CORS protocol") defines it.
//!
//! A browser lets a page's script read a cross-origin response only when the response says so:
//! `Access-Control-Allow-Origin` naming the page's origin (or `*`). Before a request a plain
//! HTML form could not have sent (another method than GET, HEAD or POST, or a header beyond the
//! safelisted few) it first asks, with a *preflight*: `OPTIONS` carrying `Origin`,
//! `Access-Control-Request-Method` and, if any, `Access-Control-Request-Headers`. Only a 2xx
//! answer with the right fields lets the real request go (Fetch section 4.8, "CORS-preflight
//! fetch").
//!
//! What this middleware does, for origins on its list (`--cors-origin`, repeatable; `*` is any):
//!
//! - a *preflight* is answered here, before the router (whose own `OPTIONS` answer is a plain
//!   204 with `Allow` and no CORS fields), with 204 and `Access-Control-Allow-Methods` (what the
//!   route table allows for the path: the router's `Allow`, asked with an `OPTIONS` of this
//!   middleware's own making, or [`FALLBACK_METHODS`] when that is refused), the requested
//!   headers echoed in `Access-Control-Allow-Headers`, and `Access-Control-Max-Age`. The
//!   browser, not the server, then checks the method and headers against those lists;
//! - any other request is answered as usual, with `Access-Control-Allow-Origin` added.
//!
//! With `*` and no credentials, the answer is the literal `*`, the same for everyone. Otherwise
//! the request's own origin is echoed, and `Vary: Origin` tells caches the answer depends on it
//! (sent on the refusals too, since they differ by origin as well). `--cors-credentials` adds
//! `Access-Control-Allow-Credentials: true`, and then Fetch forbids `*` (section 3.2.5: a
//! credentialed response with `*` fails the CORS check), so the origin is echoed even under
//! `*`. That is "any site may read this user's answers with their cookies", which is rarely
//! what anyone wants: name the origins instead.
//!
//! An origin not on the list, a malformed `Origin`, or the opaque origin `null` (sandboxed
//! frames, `file:` pages, some redirects: anyone can make one, so it is never echoed) gets no
//! CORS fields at all, and its preflight falls through to the router's plain `OPTIONS` answer.
//! The browser then refuses to let its page read anything. CORS is not access control: a
//! refused origin's simple requests are still *sent* and handled; only the reading is stopped.

use std::fmt;

use crate::middleware::{Middleware, Next};
use protocol::{Headers, Method, Request, Response, StatusCode};

/// The methods a preflight is told when the route table will not say (the path is behind
/// authentication, say): those of the demo site's routes.
pub const FALLBACK_METHODS: &str = "GET, HEAD, POST";

/// How long a browser may cache a preflight's answer, in seconds, unless set otherwise.
/// Browsers cap it (Chromium at two hours, Firefox at a day); ten minutes is a common choice.
pub const DEFAULT_MAX_AGE: u32 = 600;

/// One entry of the list of allowed origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedOrigin {
    /// `*`: any origin.
    Any,
    /// One origin, serialised as a browser sends it: `scheme://host[:port]`, in lower case,
    /// without the scheme's default port.
    Origin(String),
}

/// Why a `--cors-origin` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginError {
    /// `null`, which any sandboxed page can send, so it cannot mean one site.
    Null(String),
    /// Not `scheme://host[:port]`.
    Malformed(String),
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::Null(text) => write!(
                f,
                "{text:?}: the opaque origin null is sent by any sandboxed page, so it cannot \
                 be allowed"
            ),
            OriginError::Malformed(text) => write!(
                f,
                "{text:?} is not an origin: write scheme://host[:port], such as \
                 https://app.example or http://localhost:3000 (or * for any)"
            ),
        }
    }
}

impl std::error::Error for OriginError {}

impl std::str::FromStr for AllowedOrigin {
    type Err = OriginError;

    /// `*`, or an origin, normalised: `HTTPS://App.Example:443/` is `https://app.example`.
    fn from_str(text: &str) -> Result<AllowedOrigin, OriginError> {
        let trimmed = text.trim();
        if trimmed == "*" {
            return Ok(AllowedOrigin::Any);
        }
        if trimmed.eq_ignore_ascii_case("null") {
            return Err(OriginError::Null(text.to_owned()));
        }
        let malformed = || OriginError::Malformed(text.to_owned());
        let without_slash = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let lower = without_slash.to_ascii_lowercase();
        let (scheme, host, port) = split_origin(&lower).ok_or_else(malformed)?;
        let default_port = match scheme {
            "http" => Some("80"),
            "https" => Some("443"),
            _ => None,
        };
        let origin = match port {
            Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        };
        Ok(AllowedOrigin::Origin(origin))
    }
}

/// Splits a serialised origin, `scheme "://" host [ ":" port ]`, checking each part's
/// characters (RFC 3986 sections 3.1, 3.2.2, 3.2.3; WHATWG URL's origin serialisation). `None`
/// for anything else: a path, a query, userinfo, an empty host or port.
fn split_origin(text: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    });
    (scheme_ok && host_ok && port_ok).then_some((scheme, host, port))
}

/// Whether `value` is a list of field names, as `Access-Control-Request-Headers` carries them
/// (`x-token, content-type`): tokens (RFC 9110 section 5.6.2) separated by commas.
fn is_token_list(value: &str) -> bool {
    value.split(',').all(|name| {
        let name = name.trim_matches([' ', '\t']);
        !name.is_empty() && name.bytes().all(is_tchar)
    })
}

/// `tchar` of RFC 9110 section 5.6.2.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Adds `name` to `Vary` unless it is there already (or `Vary: *` is).
fn add_vary(headers: &mut Headers, name: &str) {
    let present = headers.get_all("vary").any(|value| {
        String::from_utf8_lossy(value)
            .split(',')
            .map(str::trim)
            .any(|token| token == "*" || token.eq_ignore_ascii_case(name))
    });
    if !present {
        headers.append("vary", name);
    }
}

// ANCHOR: cors
/// The CORS middleware: preflights answered, and `Access-Control-Allow-Origin` on the answers
/// to allowed origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    /// Whether `*` is on the list.
    any: bool,
    /// The named origins, normalised.
    origins: Vec<String>,
    credentials: bool,
    max_age: u32,
}

/// What the middleware decided about a request's `Origin`.
enum Verdict<'a> {
    /// No `Origin`: not a CORS request, nothing to add.
    NotCors,
    /// Allowed: send this as `Access-Control-Allow-Origin`.
    Allow(&'a str),
    /// Refused (not listed, malformed, or `null`).
    Refuse,
}

impl Cors {
    /// Allows `origins` (without credentials, and with preflights cached for
    /// [`DEFAULT_MAX_AGE`] seconds).
    pub fn new(origins: Vec<AllowedOrigin>) -> Cors {
        let any = origins.contains(&AllowedOrigin::Any);
        let origins = origins
            .into_iter()
            .filter_map(|origin| match origin {
                AllowedOrigin::Origin(origin) => Some(origin),
                AllowedOrigin::Any => None,
            })
            .collect();
        Cors {
            any,
            origins,
            credentials: false,
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// Lets credentialed requests (cookies, `Authorization`) read the answers too.
    pub fn allow_credentials(mut self, credentials: bool) -> Cors {
        self.credentials = credentials;
        self
    }

    /// How long a browser may cache a preflight's answer.
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.max_age = seconds;
        self
    }

    /// Whether the answer is the same for every origin (`*` without credentials), so that it
    /// needs no `Vary: Origin`.
    fn same_for_everyone(&self) -> bool {
        self.any && !self.credentials
    }

    fn verdict<'a>(&self, request: &'a Request) -> Verdict<'a> {
        let Some(origin) = request.headers.get("origin") else {
            return Verdict::NotCors;
        };
        if self.same_for_everyone() {
            return Verdict::Allow("*");
        }
        let Ok(origin) = std::str::from_utf8(origin) else {
            return Verdict::Refuse;
        };
        // A browser sends the origin serialised and in lower case, so it is compared as it
        // comes; anything that is not one (a path, `null`, a typo) is refused.
        let well_formed =
            split_origin(origin).is_some() && origin.bytes().all(|b| !b.is_ascii_uppercase());
        if !well_formed {
            return Verdict::Refuse;
        }
        if self.any || self.origins.iter().any(|allowed| allowed == origin) {
            Verdict::Allow(origin)
        } else {
            Verdict::Refuse
        }
    }

    /// The fields every answer to an allowed origin gets.
    fn allow(&self, headers: &mut Headers, origin: &str) {
        if !headers.contains("access-control-allow-origin") {
            headers.append("access-control-allow-origin", origin);
        }
        if self.credentials && !headers.contains("access-control-allow-credentials") {
            headers.append("access-control-allow-credentials", "true");
        }
    }

    /// The answer to an allowed origin's preflight; `next` is asked which methods the path has.
    fn preflight(&self, request: &Request, origin: &str, next: Next<'_>) -> Response {
        let mut response = Response::new(StatusCode::NO_CONTENT);
        self.allow(&mut response.headers, origin);
        let methods = allowed_methods(request, next);
        response
            .headers
            .append("access-control-allow-methods", methods);
        if let Some(asked) = request.headers.get_str("access-control-request-headers") {
            if is_token_list(asked) {
                response
                    .headers
                    .append("access-control-allow-headers", asked.trim());
            }
        }
        response
            .headers
            .append("access-control-max-age", self.max_age.to_string());
        if !self.same_for_everyone() {
            add_vary(&mut response.headers, "Origin");
        }
        add_vary(&mut response.headers, "Access-Control-Request-Method");
        add_vary(&mut response.headers, "Access-Control-Request-Headers");
        response
    }
}

/// Whether `request` is a CORS preflight (Fetch section 4.8): `OPTIONS` with `Origin` and a
/// well-formed `Access-Control-Request-Method`.
fn is_preflight(request: &Request) -> bool {
    request.method == Method::Options
        && request.headers.contains("origin")
        && request
            .headers
            .get("access-control-request-method")
            .is_some_and(|method| !method.is_empty() && method.iter().copied().all(is_tchar))
}

/// The methods the application allows for the preflight's path: the `Allow` of the answer to a
/// plain `OPTIONS` for the same target (the router's, or the static files'), or
/// [`FALLBACK_METHODS`] when that answer is not a 204 with `Allow` (behind authentication, say).
fn allowed_methods(request: &Request, next: Next<'_>) -> String {
    let mut probe = Request::new(Method::Options, request.target.clone());
    probe.version = request.version;
    probe.peer = request.peer;
    if let Some(host) = request.headers.get("host") {
        probe.headers.append("host", host);
    }
    let answer = next.run(&probe);
    match answer.headers.get_str("allow") {
        Some(allow) if answer.status == StatusCode::NO_CONTENT && !allow.is_empty() => {
            allow.to_owned()
        }
        _ => FALLBACK_METHODS.to_owned(),
    }
}

impl Middleware for Cors {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        let verdict = self.verdict(request);
        if let Verdict::Allow(origin) = verdict {
            if is_preflight(request) {
                return self.preflight(request, origin, next);
            }
        }
        let mut response = next.run(request);
        if let Verdict::Allow(origin) = verdict {
            self.allow(&mut response.headers, origin);
        }
        if !self.same_for_everyone() {
            add_vary(&mut response.headers, "Origin");
        }
        response
    }
}
// ANCHOR_END: cors

#[cfg(test)]
mod tests;
