//! Byte range requests (RFC 9110 section 14).
//!
//! A client that already holds part of a file, or wants to seek in a video, asks for a piece:
//!
//! ```text
//! Range: bytes=0-499      the first 500 bytes        (int-range)
//! Range: bytes=500-       everything from byte 500   (int-range without last-pos)
//! Range: bytes=-500       the last 500 bytes         (suffix-range)
//! ```
//!
//! This server answers a single range with 206 Partial Content and a `Content-Range` field
//! (section 14.4). Several ranges would need a `multipart/byteranges` body; section 14.2 lets a
//! server ignore the `Range` field instead, and then the answer is the whole file with 200. The
//! same goes for a field that does not parse, or a unit other than `bytes`: ignoring it is
//! always allowed, and it is what a client must be ready for anyway.

/// What a `Range` field asks of a representation `len` bytes long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// Ignore the field and send the whole representation with 200.
    Full,
    /// Send `len` bytes from `start` with 206 (`len` is at least 1).
    Partial { start: u64, len: u64 },
    /// The range lies wholly past the end: 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

impl RangeRequest {
    /// The `Content-Range` value of a 206 for this range of a `total`-byte representation.
    pub fn content_range(start: u64, len: u64, total: u64) -> String {
        // `len` is at least 1 for a Partial range, so `start + len - 1` is the last byte.
        format!(
            "bytes {}-{}/{}",
            start,
            start + len.saturating_sub(1),
            total
        )
    }
}

// ANCHOR: parse_range
/// Reads a `Range` field value against a representation of `len` bytes.
///
/// ```text
/// ranges-specifier = range-unit "=" range-set
/// range-set        = 1#range-spec
/// range-spec       = int-range / suffix-range / other-range
/// int-range        = first-pos "-" [ last-pos ]
/// suffix-range     = "-" suffix-length
/// ```
pub fn parse_range(value: &str, len: u64) -> RangeRequest {
    let Some((unit, range_set)) = value.split_once('=') else {
        return RangeRequest::Full;
    };
    // Range units are case-insensitive (section 14.1).
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Full;
    }
    // `1#range-spec` lets a list carry empty elements (section 5.6.1): skip them.
    let mut specs = range_set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        // No range at all, or more than one: ignore the field.
        return RangeRequest::Full;
    };
    // The empty representation has no byte to point at: serve it whole.
    if len == 0 {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    match (parse_position(first), parse_position(last)) {
        // `-n`: the last n bytes, or all of them if the file is shorter (section 14.1.2).
        (None, Some(suffix_len)) if first.is_empty() => {
            if suffix_len == 0 {
                RangeRequest::Unsatisfiable
            } else {
                let take = suffix_len.min(len);
                RangeRequest::Partial {
                    start: len - take,
                    len: take,
                }
            }
        }
        // `a-` and `a-b`: a last-pos past the end means "to the end".
        (Some(start), last_pos) if last.is_empty() || last_pos.is_some() => {
            let last_pos = last_pos.unwrap_or(u64::MAX);
            if last_pos < start {
                // Syntactically invalid (section 14.1.1): ignore the field.
                RangeRequest::Full
            } else if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                let end = last_pos.min(len - 1);
                RangeRequest::Partial {
                    start,
                    len: end - start + 1,
                }
            }
        }
        _ => RangeRequest::Full,
    }
}
// ANCHOR_END: parse_range

/// A `1*DIGIT` position. Too large for u64 saturates: such a position is past the end of any
/// file, which is what the client meant.
fn parse_position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}

#[cfg(test)]
mod tests;
