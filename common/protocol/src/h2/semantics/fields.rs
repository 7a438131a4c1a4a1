//! The field rules of RFC 9113 section 8.2, shared by requests, trailers and responses: which
//! names and values HTTP/2 allows, and the few values (`content-length`, `:method`,
//! `:scheme`, an authority) this server parses.
//!
//! "Failure to validate fields can be exploited for request smuggling attacks. In particular,
//! unvalidated fields might enable attacks when messages are forwarded using HTTP/1.1, where
//! characters such as carriage return (CR), line feed (LF), and COLON are used as
//! delimiters." (section 8.2.1) Each check returns the rule it found broken, in words.

use super::CONNECTION_SPECIFIC;
use crate::grammar;

// ANCHOR: field_rules
/// A regular field name as text, if section 8.2.1 allows it (and the token grammar of RFC
/// 9110 section 5.1, which this server holds every name to).
pub(super) fn check_name(name: &[u8]) -> Result<&str, &'static str> {
    if name.is_empty() {
        return Err("an empty field name");
    }
    for &byte in name {
        // "A field name MUST NOT contain characters in the ranges 0x00-0x20, 0x41-0x5a, or
        // 0x7f-0xff"; "field names MUST NOT include a colon" (section 8.2.1)
        if byte.is_ascii_uppercase() {
            return Err("an uppercase letter in a field name");
        }
        if matches!(byte, 0x00 | b'\r' | b'\n') {
            return Err("NUL, CR or LF in a field name");
        }
        if byte == b':' {
            return Err("a colon inside a field name");
        }
        if !grammar::is_tchar(byte) {
            return Err("a field name with a character outside the token set");
        }
    }
    // Token characters are ASCII, so this cannot fail.
    std::str::from_utf8(name).map_err(|_| "a field name that is not ASCII")
}

/// Whether section 8.2.1 allows `value` in any field, pseudo-header fields included.
pub(super) fn check_value(value: &[u8]) -> Result<(), &'static str> {
    // "A field value MUST NOT contain the zero value (ASCII NUL, 0x00), line feed (ASCII LF,
    // 0x0a), or carriage return (ASCII CR, 0x0d) at any position."
    if value.iter().any(|&b| matches!(b, 0x00 | b'\r' | b'\n')) {
        return Err("NUL, CR or LF in a field value");
    }
    // "A field value MUST NOT start or end with an ASCII whitespace character (ASCII SP or
    // HTAB, 0x20 or 0x09)."
    let is_whitespace = |b: &u8| matches!(b, b' ' | b'\t');
    if value.first().is_some_and(is_whitespace) || value.last().is_some_and(is_whitespace) {
        return Err("whitespace at the start or end of a field value");
    }
    Ok(())
}

/// "Any message containing connection-specific header fields MUST be treated as malformed
/// (Section 8.1.1). The only exception to this is the TE header field, which MAY be present
/// in an HTTP/2 request; when it is, it MUST NOT contain any value other than trailers."
/// (section 8.2.2) `name` is already lowercase.
pub(super) fn check_not_connection_specific(name: &str, value: &[u8]) -> Result<(), &'static str> {
    if CONNECTION_SPECIFIC.contains(&name) {
        return Err("a connection-specific field (section 8.2.2)");
    }
    if name == "te" {
        let only_trailers = value
            .split(|&b| b == b',')
            .map(trim_whitespace)
            .filter(|element| !element.is_empty())
            .all(|element| element.eq_ignore_ascii_case(b"trailers"));
        if !only_trailers {
            return Err("te with a value other than trailers");
        }
    }
    Ok(())
}
// ANCHOR_END: field_rules

/// A `content-length` value: 1*DIGIT, or a list of equal ones (RFC 9110 section 8.6 lets a
/// recipient accept `42, 42`).
pub(super) fn content_length_value(value: &[u8]) -> Result<u64, &'static str> {
    let mut agreed: Option<u64> = None;
    for element in value.split(|&b| b == b',') {
        let digits = trim_whitespace(element);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err("a content-length that is not a number");
        }
        let mut length: u64 = 0;
        for &digit in digits {
            length = length
                .checked_mul(10)
                .and_then(|l| l.checked_add(u64::from(digit - b'0')))
                .ok_or("a content-length too large to represent")?;
        }
        if agreed.is_some_and(|earlier| earlier != length) {
            return Err("content-length values that differ");
        }
        agreed = Some(length);
    }
    agreed.ok_or("a content-length that is not a number")
}

/// A method token as text: RFC 9110 section 9.1, `method = token`.
pub(super) fn token_str(bytes: &[u8]) -> Option<&str> {
    if !grammar::is_token(bytes) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 section 3.1).
pub(super) fn is_valid_scheme(scheme: &[u8]) -> bool {
    match scheme.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphabetic()
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        None => false,
    }
}

/// `host [ ":" port ]` as characters: reg-name, an IP literal in brackets, a port (RFC 3986
/// section 3.2). No `@`, so no userinfo. The same class HTTP/1.1's `Host` check uses.
pub(super) fn is_valid_authority(authority: &[u8]) -> bool {
    grammar::is_authority(authority)
}

/// Optional whitespace (SP and HTAB) trimmed from both ends.
pub(super) fn trim_whitespace(bytes: &[u8]) -> &[u8] {
    let is_whitespace = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes
        .iter()
        .position(|b| !is_whitespace(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_whitespace(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}
