//! Prefix-coded integers (RFC 7541 section 5.1): indexes, string lengths and table sizes.
//!
//! An integer starts in the low `N` bits of an octet whose high bits belong to the
//! representation around it (a pattern such as `01` for a literal with incremental indexing):
//!
//! ```text
//!   value < 2^N - 1:              value >= 2^N - 1:
//!     0   1   2   3   4   5   6   7     0   1   2   3   4   5   6   7
//!   +---+---+---+-------------------+ +---+---+---+-------------------+
//!   | ? | ? | ? |       Value       | | ? | ? | ? | 1   1   1   1   1 |
//!   +---+---+---+-------------------+ +---+---+---+-------------------+
//!                                     | 1 |    Value-(2^N-1) LSB      |
//!                                     +---+---------------------------+
//!                                                    ...
//!                                     +---+---------------------------+
//!                                     | 0 |    Value-(2^N-1) MSB      |
//!                                     +---+---------------------------+
//! ```
//!
//! The encoding has no upper bound, so the decoder sets one. Section 5.1: "Integer encodings
//! that exceed implementation limits -- in value or octet length -- MUST be treated as decoding
//! errors." The limits here are a value of at most `u32::MAX` (every size HTTP/2 can announce
//! is a 32-bit SETTINGS value, and no index or string length in a sane header block comes near
//! it) and at most [`MAX_CONTINUATION_OCTETS`] octets after the prefix, the most a 32-bit value
//! needs, so a peer cannot make the decoder loop over a long run of `0x80` octets.

use super::error::DecodeError;

/// The largest value [`decode`] accepts.
pub const MAX_VALUE: u32 = u32::MAX;

/// The most continuation octets [`decode`] reads: five carry 35 bits, enough for any value up
/// to [`MAX_VALUE`] whatever the prefix size.
pub const MAX_CONTINUATION_OCTETS: usize = 5;

// ANCHOR: integer_decode
/// Reads an integer whose prefix is the low `prefix_bits` bits (1 to 8) of the first octet of
/// `input`, and advances `input` past it. The high bits of that octet are ignored: they are
/// the caller's to read.
pub fn decode(input: &mut &[u8], prefix_bits: u8) -> Result<usize, DecodeError> {
    debug_assert!((1..=8).contains(&prefix_bits), "a prefix is 1 to 8 bits");
    let max_prefix = prefix_max(prefix_bits);
    let (&first, mut rest) = input.split_first().ok_or(DecodeError::Truncated)?;
    let prefix = first & max_prefix;
    if prefix < max_prefix {
        *input = rest;
        return Ok(usize::from(prefix));
    }
    // "Otherwise, all the bits of the prefix are set to 1, and the value, decreased by 2^N-1,
    // is encoded using a list of one or more octets." Least significant group first.
    let mut value = u64::from(max_prefix);
    let mut shift = 0u32;
    let mut octets = 0usize;
    loop {
        let (&octet, after) = rest.split_first().ok_or(DecodeError::Truncated)?;
        rest = after;
        octets += 1;
        if octets > MAX_CONTINUATION_OCTETS {
            return Err(DecodeError::IntegerTooLong);
        }
        // Cannot overflow a u64: at most 5 groups of 7 bits (35 bits) plus 255.
        value += u64::from(octet & 0x7f) << shift;
        shift += 7;
        if octet & 0x80 == 0 {
            break;
        }
    }
    if value > u64::from(MAX_VALUE) {
        return Err(DecodeError::IntegerOverflow);
    }
    *input = rest;
    usize::try_from(value).map_err(|_| DecodeError::IntegerOverflow)
}
// ANCHOR_END: integer_decode

/// Appends `value` with a `prefix_bits`-bit prefix (1 to 8); `high_bits` are the bits of the
/// first octet above the prefix (the representation's pattern), and must not overlap it.
pub fn encode(value: usize, prefix_bits: u8, high_bits: u8, out: &mut Vec<u8>) {
    debug_assert!((1..=8).contains(&prefix_bits), "a prefix is 1 to 8 bits");
    let max_prefix = prefix_max(prefix_bits);
    debug_assert_eq!(high_bits & max_prefix, 0, "the pattern overlaps the prefix");
    if value < usize::from(max_prefix) {
        // Fits the prefix: `value < max_prefix <= 0xff`, so the cast keeps every bit.
        out.push(high_bits | value as u8);
        return;
    }
    out.push(high_bits | max_prefix);
    let mut rest = value - usize::from(max_prefix);
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    // `rest < 0x80` here, so the cast keeps every bit.
    out.push(rest as u8);
}

/// The number of octets [`encode`] appends for `value` with a `prefix_bits`-bit prefix.
pub fn encoded_len(value: usize, prefix_bits: u8) -> usize {
    let max_prefix = usize::from(prefix_max(prefix_bits));
    if value < max_prefix {
        return 1;
    }
    let mut rest = value - max_prefix;
    let mut len = 2;
    while rest >= 0x80 {
        rest >>= 7;
        len += 1;
    }
    len
}

/// `2^N - 1`: the prefix value that says "continued in the next octets".
fn prefix_max(prefix_bits: u8) -> u8 {
    // Shifting a u16 so that N = 8 gives 0xff rather than overflowing.
    ((1u16 << prefix_bits.clamp(1, 8)) - 1) as u8
}

#[cfg(test)]
mod tests;
