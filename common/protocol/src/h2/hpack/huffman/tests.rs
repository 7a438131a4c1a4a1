//! Tests of the parent module: the code table itself, the strings of RFC 7541 Appendix C.4 and
//! C.6, every padding rule of section 5.2, and round trips of arbitrary bytes.

use super::*;
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn coded(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(bytes, &mut out);
    out
}

fn decoded(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    decode(bytes, &mut out)?;
    Ok(out)
}

#[test]
fn the_code_is_canonical_so_the_lengths_alone_give_the_codes() {
    // Appendix B's code is canonical: sorted by (length, symbol), each code is the previous
    // plus one, shifted left when the length grows. A mistyped code or length breaks this.
    let mut symbols: Vec<usize> = (0..CODE.len()).collect();
    symbols.sort_by_key(|&symbol| (CODE[symbol].1, symbol));
    let mut expected: u32 = 0;
    let mut previous_length = CODE[symbols[0]].1;
    for (position, &symbol) in symbols.iter().enumerate() {
        let (code, length) = CODE[symbol];
        if position > 0 {
            expected = (expected + 1) << (length - previous_length);
        }
        assert_eq!(code, expected, "the code of symbol {symbol}");
        previous_length = length;
    }
}

#[test]
fn the_code_is_complete() {
    // Kraft's sum is exactly 1 for a complete prefix code: sum of 2^(30 - length) == 2^30.
    let sum: u64 = CODE.iter().map(|&(_, length)| 1u64 << (30 - length)).sum();
    assert_eq!(sum, 1 << 30);
    assert_eq!(CODE[EOS], (0x3fff_ffff, 30));
    assert!(CODE.iter().all(|&(_, length)| (5..=30).contains(&length)));
}

#[test]
fn appendix_c_strings() {
    let cases: &[(&str, &str)] = &[
        ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
        ("no-cache", "a8eb 1064 9cbf"),
        ("custom-key", "25a8 49e9 5ba9 7d7f"),
        ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
        ("302", "6402"),
        ("private", "aec3 771a 4b"),
        (
            "Mon, 21 Oct 2013 20:13:21 GMT",
            "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
        ),
        (
            "https://www.example.com",
            "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
        ),
        ("307", "640e ff"),
        ("gzip", "9bd9 ab"),
        (
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ),
    ];
    for &(text, wire) in cases {
        let wire = hex(wire);
        assert_eq!(coded(text.as_bytes()), wire, "encoding {text:?}");
        assert_eq!(
            encoded_len(text.as_bytes()),
            wire.len(),
            "length of {text:?}"
        );
        assert_eq!(
            decoded(&wire).as_deref(),
            Ok(text.as_bytes()),
            "decoding {text:?}"
        );
    }
}

#[test]
fn every_symbol_alone_round_trips() {
    for byte in 0..=255u8 {
        assert_eq!(decoded(&coded(&[byte])), Ok(vec![byte]), "symbol {byte}");
    }
}

#[test]
fn the_empty_string_is_no_octets() {
    assert_eq!(coded(b""), b"");
    assert_eq!(decoded(b""), Ok(Vec::new()));
}

#[test]
fn padding_of_up_to_seven_ones_is_accepted() {
    // '0' is 00000, then three 1 bits of padding...
    assert_eq!(decoded(&[0b0000_0111]), Ok(b"0".to_vec()));
    // ...and 'a' (00011) + 'a' (00011) + 6 ones fill two octets.
    assert_eq!(decoded(&[0b0001_1000, 0b1111_1111]), Ok(b"aa".to_vec()));
    // '&' is 8 bits: no padding at all.
    assert_eq!(decoded(&[0xf8]), Ok(b"&".to_vec()));
}

#[test]
fn padding_longer_than_seven_bits_is_an_error() {
    // "A padding strictly longer than 7 bits MUST be treated as a decoding error."
    assert_eq!(decoded(&[0xff]), Err(DecodeError::HuffmanPaddingTooLong));
    // 'a' (5 bits) then 11 ones.
    assert_eq!(
        decoded(&[0b0001_1111, 0xff]),
        Err(DecodeError::HuffmanPaddingTooLong)
    );
    // 24 ones.
    assert_eq!(
        decoded(&[0xff, 0xff, 0xff]),
        Err(DecodeError::HuffmanPaddingTooLong)
    );
}

#[test]
fn padding_that_is_not_all_ones_is_an_error() {
    // "A padding not corresponding to the most significant bits of the code for the EOS
    // symbol MUST be treated as a decoding error." 'a' then 000.
    assert_eq!(
        decoded(&[0b0001_1000]),
        Err(DecodeError::HuffmanPaddingNotEos)
    );
    // 'a' then 101.
    assert_eq!(
        decoded(&[0b0001_1101]),
        Err(DecodeError::HuffmanPaddingNotEos)
    );
    // 29 ones and a 0 are symbol 22 (30 bits); the two 0 bits left are not EOS's.
    assert_eq!(
        decoded(&[0xff, 0xff, 0xff, 0xf8]),
        Err(DecodeError::HuffmanPaddingNotEos)
    );
}

#[test]
fn eos_inside_a_string_is_an_error() {
    // "A Huffman-encoded string literal containing the EOS symbol MUST be treated as a
    // decoding error." Thirty ones are EOS, whatever comes after.
    assert_eq!(
        decoded(&[0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::HuffmanEos)
    );
    assert_eq!(
        decoded(&[0xff, 0xff, 0xff, 0xfc]),
        Err(DecodeError::HuffmanEos)
    );
    // 'a' then EOS then padding: 00011 + 30 ones + 5 ones.
    assert_eq!(
        decoded(&[0b0001_1111, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::HuffmanEos)
    );
}

proptest! {
    #[test]
    fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let wire = coded(&bytes);
        prop_assert_eq!(wire.len(), encoded_len(&bytes));
        prop_assert_eq!(decoded(&wire), Ok(bytes));
    }

    #[test]
    fn any_input_decodes_or_fails_without_panicking(wire in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut out = Vec::new();
        let _ = decode(&wire, &mut out);
        // At most one symbol per five bits.
        prop_assert!(out.len() <= wire.len() * 8 / 5);
    }
}
