//! Security headers: fields that tell a browser to be stricter with what this server sends.
//!
//! - `X-Content-Type-Options: nosniff` (Fetch standard, section 3.5 "X-Content-Type-Options"):
//!   the browser takes `Content-Type` at its word and does not "sniff" a text file into HTML or
//!   script. Without it, a user's upload served as `text/plain` can still run as script in an
//!   old browser, and a `<script src>` pointing at a JSON or text file is not refused.
//! - `Referrer-Policy` (W3C Referrer Policy, section 4): how much of a page's URL a link or a
//!   `fetch` from it sends on in `Referer`. The default, `strict-origin-when-cross-origin`, is
//!   the browsers' own default: the full URL within this origin, only the origin to others, and
//!   nothing from HTTPS to HTTP. Saying it keeps older browsers (whose default was
//!   `no-referrer-when-downgrade`, the full URL to anyone) from leaking paths and queries.
//! - `Content-Security-Policy` (W3C CSP level 3) only when one is configured: the pages this
//!   crate generates carry their own ([`crate::templates::CONTENT_SECURITY_POLICY`]), but what a
//!   user's static files need (inline script, a CDN's styles) only the user knows, so a policy
//!   for everything is theirs to give.
//!
//! A field a handler (or the generated pages) already set is never overwritten: the handler
//! knows its response better than a site-wide default. `Strict-Transport-Security` is not here:
//! it means something only over TLS, so the TLS stages add it (`--hsts`, stages 06 and 07).

use crate::middleware::{Middleware, Next};
use protocol::{Request, Response};

/// The Referrer-Policy values the W3C Referrer Policy (section 3) defines; a browser ignores
/// any other, so the command line refuses any other.
pub const REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// The default `Referrer-Policy`: what current browsers do without one, said out loud.
pub const DEFAULT_REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

// ANCHOR: security_headers
/// Adds the security headers to every response that does not already carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityHeaders {
    /// The fields, in the order they are added.
    fields: Vec<(&'static str, String)>,
}

impl SecurityHeaders {
    /// `nosniff`, `referrer_policy`, and a `Content-Security-Policy` for every response when
    /// `content_security_policy` is given.
    pub fn new(referrer_policy: &str, content_security_policy: Option<&str>) -> SecurityHeaders {
        let mut fields = vec![
            ("x-content-type-options", "nosniff".to_owned()),
            ("referrer-policy", referrer_policy.to_owned()),
        ];
        if let Some(policy) = content_security_policy {
            fields.push(("content-security-policy", policy.to_owned()));
        }
        SecurityHeaders { fields }
    }
}

impl Default for SecurityHeaders {
    /// `nosniff` and the default referrer policy; no site-wide CSP.
    fn default() -> SecurityHeaders {
        SecurityHeaders::new(DEFAULT_REFERRER_POLICY, None)
    }
}

impl Middleware for SecurityHeaders {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        let mut response = next.run(request);
        for (name, value) in &self.fields {
            if !response.headers.contains(name) {
                response.headers.append(name, value);
            }
        }
        response
    }
}
// ANCHOR_END: security_headers

/// Checks a `--referrer-policy` value: one of [`REFERRER_POLICIES`], in any case (the field's
/// tokens are ASCII case-insensitive); returns it in lower case.
pub fn parse_referrer_policy(text: &str) -> Result<String, String> {
    let lower = text.trim().to_ascii_lowercase();
    if REFERRER_POLICIES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "{text:?} is not a referrer policy; use one of {}",
            REFERRER_POLICIES.join(", ")
        ))
    }
}

/// Checks a `--content-security-policy` value: a non-empty field value (visible ASCII, spaces
/// and tabs, no line breaks, RFC 9110 section 5.5), so that it cannot break the response head.
pub fn parse_content_security_policy(text: &str) -> Result<String, String> {
    let policy = text.trim();
    if policy.is_empty() {
        return Err("a content security policy cannot be empty".to_owned());
    }
    if let Some(bad) = policy
        .chars()
        .find(|&c| !(c == ' ' || c == '\t' || c.is_ascii_graphic()))
    {
        return Err(format!(
            "a content security policy is ASCII on one line; {bad:?} cannot be in it"
        ));
    }
    Ok(policy.to_owned())
}

#[cfg(test)]
mod tests;
