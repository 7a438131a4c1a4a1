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

/// Decodes one segment leniently: a `%` without two hex digits stays as it is, and bytes that
/// are not UTF-8 become U+FFFD. Exact for a segment that [`decode_segment`] accepts; for others
/// it is only good for a quick comparison whose result a [`check_path`] confirms.
pub fn decode_lossy(raw: &str) -> Cow<'_, str> {
    // Most segments have no escape, and `raw` is a `str`: UTF-8 without checking it again.
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    percent_decode_str(raw).decode_utf8_lossy()
}

/// Checks one decoded segment against the rules every path obeys.
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment.contains('\0') {
        return Err(PathError::Nul);
    }
    if segment.contains('\\') {
        return Err(PathError::Backslash);
    }
    if is_dot_segment(segment) {
        return Err(PathError::DotSegment);
    }
    Ok(())
}

/// Whether a decoded segment is `.` or `..`.
fn is_dot_segment(segment: &str) -> bool {
    segment == "." || segment == ".."
}

// ANCHOR: check_path
/// Checks a whole path before anything routes it or looks it up on disk.
///
/// This is the one place a request's path is validated and the only way to make a
/// [`CheckedPath`], which the router and the static files take: code that skips the check does
/// not compile.
pub fn check_path(path: &str) -> Result<CheckedPath<'_>, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    // One pass over the raw bytes settles every rule for a path without `%`, which is most of
    // them. Control characters: HTTP/1 parsers refuse them already, but HTTP/2 carries the
    // path as a field value, and the path ends up in a `Location` field, so the application
    // checks for itself. NUL is a control character, so only the backslash and dot-segments
    // are left.
    let mut encoded = false;
    let mut segment_start = 1;
    for (index, &byte) in path.as_bytes().iter().enumerate().skip(1) {
        match byte {
            0..=b' ' | 0x7f => return Err(PathError::ControlCharacter),
            b'\\' => return Err(PathError::Backslash),
            b'%' => encoded = true,
            b'/' => {
                if is_dot_segment(&path[segment_start..index]) {
                    return Err(PathError::DotSegment);
                }
                segment_start = index + 1;
            }
            _ => {}
        }
    }
    if is_dot_segment(&path[segment_start..]) {
        return Err(PathError::DotSegment);
    }
    // With a `%`, each segment is decoded (strictly) and checked again in its decoded form.
    if encoded {
        for raw in raw_segments(path) {
            check_segment(&decode_segment(raw)?)?;
        }
    }
    Ok(CheckedPath { raw: path, encoded })
}
// ANCHOR_END: check_path

/// The fuzz target's body (`common/fuzz`, target `path`): any bytes, as UTF-8 where they are,
/// through [`check_path`]; whatever passes must keep its promises (no decoded segment that is
/// `.` or `..`, none with a NUL or a backslash), or this panics, which is what a fuzzer finds.
pub fn fuzz_check_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(checked) = check_path(text) else {
        return;
    };
    for segment in checked.segments() {
        assert!(
            segment != "." && segment != "..",
            "{text:?} passed with a dot-segment"
        );
        assert!(
            !segment.contains(['\0', '\\']),
            "{text:?} passed with a NUL or a backslash"
        );
    }
}

/// A request path that [`check_path`] accepted: absolute, correctly encoded, UTF-8 once
/// decoded, and free of NUL, backslash and dot-segments.
///
/// It remembers whether the path holds a `%`. Most paths do not, and then every segment is
/// served as a slice of the request's own target: no decoding and no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedPath<'a> {
    raw: &'a str,
    encoded: bool,
}

impl<'a> CheckedPath<'a> {
    /// The path as the client sent it, still percent-encoded.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Whether the path holds percent-encoded octets (and so its segments need decoding).
    pub fn is_encoded(&self) -> bool {
        self.encoded
    }

    /// The decoded segments: `/a/b%20c/` gives `a`, `b c`, ``. An encoded slash stays inside
    /// its segment (`/a%2Fb` gives the one segment `a/b`).
    pub fn segments(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        let encoded = self.encoded;
        raw_segments(self.raw).map(move |raw| {
            if encoded {
                // `check_path` has already decoded this segment strictly, so every `%` starts a
                // valid escape and the result is UTF-8: the lossy decoder loses nothing here,
                // and unlike the strict one it cannot fail.
                decode_lossy(raw)
            } else {
                Cow::Borrowed(raw)
            }
        })
    }

    /// A path that has not been through [`check_path`], so that tests can show that the code
    /// behind the check refuses bad segments on its own too.
    #[cfg(test)]
    pub(crate) fn unchecked(raw: &'a str) -> CheckedPath<'a> {
        CheckedPath {
            raw,
            encoded: raw.contains('%'),
        }
    }
}

#[cfg(test)]
mod tests;
