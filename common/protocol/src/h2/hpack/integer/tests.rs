//! Tests of the parent module: the examples of RFC 7541 Appendix C.1, the limits, and a
//! round trip of every value through every prefix size.

use super::*;
use proptest::prelude::*;

fn decode_all(bytes: &[u8], prefix_bits: u8) -> Result<(usize, usize), DecodeError> {
    let mut input = bytes;
    let value = decode(&mut input, prefix_bits)?;
    Ok((value, bytes.len() - input.len()))
}

fn encoded(value: usize, prefix_bits: u8, high_bits: u8) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, prefix_bits, high_bits, &mut out);
    out
}

#[test]
fn appendix_c_1_examples() {
    // C.1.1: 10 with a 5-bit prefix.
    assert_eq!(encoded(10, 5, 0), [0x0a]);
    assert_eq!(decode_all(&[0x0a], 5), Ok((10, 1)));
    // C.1.2: 1337 with a 5-bit prefix.
    assert_eq!(encoded(1337, 5, 0), [0x1f, 0x9a, 0x0a]);
    assert_eq!(decode_all(&[0x1f, 0x9a, 0x0a], 5), Ok((1337, 3)));
    // C.1.3: 42 starting at an octet boundary (an 8-bit prefix).
    assert_eq!(encoded(42, 8, 0), [0x2a]);
    assert_eq!(decode_all(&[0x2a], 8), Ok((42, 1)));
}

#[test]
fn the_high_bits_are_the_callers() {
    assert_eq!(encoded(2, 7, 0x80), [0x82]);
    assert_eq!(decode_all(&[0x82], 7), Ok((2, 1)));
    assert_eq!(encoded(1337, 5, 0xe0), [0xff, 0x9a, 0x0a]);
    assert_eq!(decode_all(&[0xff, 0x9a, 0x0a], 5), Ok((1337, 3)));
}

#[test]
fn the_prefix_maximum_itself_needs_a_continuation_octet() {
    // "If the integer value is small enough, i.e., strictly less than 2^N-1, it is encoded
    // within the N-bit prefix": 31 with N = 5 is not.
    assert_eq!(encoded(31, 5, 0), [0x1f, 0x00]);
    assert_eq!(decode_all(&[0x1f, 0x00], 5), Ok((31, 2)));
    assert_eq!(encoded(255, 8, 0), [0xff, 0x00]);
}

#[test]
fn the_decoder_reads_no_further_than_the_integer() {
    assert_eq!(
        decode_all(&[0x1f, 0x9a, 0x0a, 0xff, 0xff], 5),
        Ok((1337, 3))
    );
}

#[test]
fn a_cut_integer_is_truncated() {
    assert_eq!(decode_all(&[], 5), Err(DecodeError::Truncated));
    assert_eq!(decode_all(&[0x1f], 5), Err(DecodeError::Truncated));
    assert_eq!(decode_all(&[0x1f, 0x9a], 5), Err(DecodeError::Truncated));
}

#[test]
fn u32_max_is_the_largest_value() {
    let max = usize::try_from(MAX_VALUE).unwrap();
    for prefix_bits in 1..=8 {
        let bytes = encoded(max, prefix_bits, 0);
        assert_eq!(decode_all(&bytes, prefix_bits), Ok((max, bytes.len())));
    }
    // 2^32 with an 8-bit prefix: 255 + 0xffff_ff01 in five groups.
    let mut too_big = vec![0xff];
    let mut rest: u64 = (1 << 32) - 255;
    while rest >= 0x80 {
        too_big.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    too_big.push(rest as u8);
    assert_eq!(too_big.len(), 6);
    assert_eq!(decode_all(&too_big, 8), Err(DecodeError::IntegerOverflow));
    // The largest five continuation octets can carry.
    assert_eq!(
        decode_all(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f], 5),
        Err(DecodeError::IntegerOverflow)
    );
}

#[test]
fn more_continuation_octets_than_32_bits_need_are_refused() {
    // Five zero-valued groups are wasteful but within the limit...
    assert_eq!(
        decode_all(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
        Ok((31, 6))
    );
    // ...a sixth is not, whatever its value.
    assert_eq!(
        decode_all(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
        Err(DecodeError::IntegerTooLong)
    );
    let endless = [0x80u8; 64];
    let mut long = vec![0x7f];
    long.extend_from_slice(&endless);
    assert_eq!(decode_all(&long, 7), Err(DecodeError::IntegerTooLong));
}

proptest! {
    #[test]
    fn every_value_round_trips(value in 0..=u64::from(MAX_VALUE), prefix_bits in 1u8..=8, high in any::<u8>()) {
        let value = usize::try_from(value).unwrap();
        // The pattern bits above the prefix, as a representation would set them.
        let high_bits = if prefix_bits == 8 { 0 } else { high & !((1u8 << prefix_bits) - 1) };
        let bytes = encoded(value, prefix_bits, high_bits);
        prop_assert_eq!(bytes.len(), encoded_len(value, prefix_bits));
        prop_assert!(bytes.len() <= 1 + MAX_CONTINUATION_OCTETS);
        prop_assert_eq!(bytes[0] & high_bits, high_bits);
        prop_assert_eq!(decode_all(&bytes, prefix_bits), Ok((value, bytes.len())));
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..16), prefix_bits in 1u8..=8) {
        let mut input = bytes.as_slice();
        if let Ok(value) = decode(&mut input, prefix_bits) {
            prop_assert!(value <= usize::try_from(MAX_VALUE).unwrap());
            prop_assert!(bytes.len() - input.len() <= 1 + MAX_CONTINUATION_OCTETS);
        }
    }
}
