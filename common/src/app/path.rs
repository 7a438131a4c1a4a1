//! The request path as the application sees it: segments, percent-decoding and the rules that
//! make a path safe to route and to map onto the file system.
//!
//! A path is a list of segments separated by `/` (RFC 3986 section 3.3). Each segment may carry
//! percent-encoded octets (section 2.1): `%` and two hex digits. The order of work matters:
//! *split first, decode each segment second*. Decoding first would turn `%2F` into a separator
//! and let a client smuggle `..%2f..%2fetc` past a check that only looks at raw slashes.
//!
//! The rules, applied to every request before routing:
//!
//! - every `%` is followed by two hex digits, and the decoded segment is UTF-8 (else 400);
//! - no segment decodes to a NUL byte or contains a backslash (else 400): neither has any use in
//!   a path, and both have tricked file APIs into reading the wrong file;
//! - no segment is `.` or `..`, raw or encoded as `%2e` (else 400). RFC 3986 section 5.2.4 has
//!   clients remove dot-segments before sending, so a server that receives one is talking to a
//!   broken client or an attacker; refusing is simpler and safer than normalizing.
//!
//! Static files add two rules of their own (see `static_files`): no encoded slash inside a
//! segment, and no dotfiles.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

/// Why a request path was refused. Every variant is answered with 400 Bad Request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path does not begin with `/` (and is not the `*` of `OPTIONS *`).
    NotAbsolute,
    /// A raw control character or space, which a URI cannot contain (RFC 3986 section 2).
    ControlCharacter,
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// A NUL byte, raw or encoded as `%00`.
    Nul,
    /// A backslash, raw or encoded as `%5C`.
    Backslash,
    /// A `.` or `..` segment, raw or encoded.
    DotSegment,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path must begin with /",
            PathError::ControlCharacter => "the path contains a space or a control character",
            PathError::BadPercentEncoding => "a % in the path is not followed by two hex digits",
            PathError::NotUtf8 => "the percent-decoded path is not UTF-8",
            PathError::Nul => "the path contains a NUL byte",
            PathError::Backslash => "the path contains a backslash",
            PathError::DotSegment => "the path contains a . or .. segment",
        })
    }
}

impl std::error::Error for PathError {}

/// The raw (still encoded) segments of an absolute path: `/a/b/` gives `a`, `b`, ``.
///
/// The caller has checked that the path begins with `/`.
pub fn raw_segments(path: &str) -> std::str::Split<'_, char> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Decodes one segment, strictly: unlike `percent_decode_str` alone, a stray `%` is an error
/// rather than a literal percent sign, because a client that sends one is confused about
/// encoding and guessing its meaning is how two parsers come to disagree.
///
/// Borrows when there is nothing to decode, which is the common case.
pub fn decode_segment(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex_pair = bytes
                .get(i + 1..i + 3)
                .ok_or(PathError::BadPercentEncoding)?;
            if !hex_pair.iter().all(u8::is_ascii_hexdigit) {
                return Err(PathError::BadPercentEncoding);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| PathError::NotUtf8)
}

/// Checks one decoded segment against the rules every path obeys.
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment.contains('\0') {
        return Err(PathError::Nul);
    }
    if segment.contains('\\') {
        return Err(PathError::Backslash);
    }
    if segment == "." || segment == ".." {
        return Err(PathError::DotSegment);
    }
    Ok(())
}

// ANCHOR: check_path
/// Checks a whole path before anything routes it or looks it up on disk.
pub fn check_path(path: &str) -> Result<(), PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    // HTTP/1 parsers refuse these already; HTTP/2 carries the path as a field value, and the
    // path ends up in a `Location` field, so the application checks for itself.
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(PathError::ControlCharacter);
    }
    for raw in raw_segments(path) {
        check_segment(&decode_segment(raw)?)?;
    }
    Ok(())
}
// ANCHOR_END: check_path

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_segments_decode() {
        assert_eq!(decode_segment("hello").unwrap(), "hello");
        assert!(matches!(decode_segment("hello").unwrap(), Cow::Borrowed(_)));
        assert_eq!(decode_segment("a%20b").unwrap(), "a b");
        assert_eq!(decode_segment("caf%C3%A9").unwrap(), "café");
        assert_eq!(decode_segment("a%2Fb").unwrap(), "a/b");
    }

    #[test]
    fn bad_encoding_is_refused() {
        assert_eq!(decode_segment("%"), Err(PathError::BadPercentEncoding));
        assert_eq!(decode_segment("a%4"), Err(PathError::BadPercentEncoding));
        assert_eq!(decode_segment("%zz"), Err(PathError::BadPercentEncoding));
        assert_eq!(decode_segment("%FF"), Err(PathError::NotUtf8));
    }

    #[test]
    fn every_traversal_form_is_refused() {
        for path in [
            "/..",
            "/../Cargo.toml",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/a/%2E%2E/%2e%2e/x",
            "/.%2e/x",
            "/./x",
            "/%2e/x",
        ] {
            assert_eq!(check_path(path), Err(PathError::DotSegment), "{path}");
        }
        assert_eq!(check_path("/a%00b"), Err(PathError::Nul));
        assert_eq!(check_path("/a\\..\\b"), Err(PathError::Backslash));
        assert_eq!(check_path("/a%5c..%5cb"), Err(PathError::Backslash));
        assert_eq!(check_path("*"), Err(PathError::NotAbsolute));
        assert_eq!(check_path("/a b"), Err(PathError::ControlCharacter));
        assert_eq!(check_path("/a\r\nx: y"), Err(PathError::ControlCharacter));
    }

    #[test]
    fn ordinary_paths_pass() {
        for path in [
            "/",
            "/index.html",
            "/chapters/",
            "/a..b/c.d",
            "/hello/a%2Fb",
            "/.well",
        ] {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
    }
}
