//! Tests of the parent module: the examples of RFC 7541 Appendix C.2 to C.6 byte for byte
//! (fields, then the dynamic table and its size after each block), one test per decoding
//! error, the list-size limit, and arbitrary input.

use super::*;
use crate::h2::error::{Error, Reason};
use proptest::prelude::*;

pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn decode(decoder: &mut Decoder, wire: &[u8]) -> Result<Vec<(String, String)>, DecodeError> {
    let mut fields = Vec::new();
    decoder.decode(wire, usize::MAX, &mut fields)?;
    Ok(fields.iter().map(text).collect())
}

fn text(field: &Field) -> (String, String) {
    (
        String::from_utf8(field.name.to_vec()).unwrap(),
        String::from_utf8(field.value.to_vec()).unwrap(),
    )
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn dynamic_table(decoder: &Decoder) -> Vec<(String, String)> {
    decoder
        .table()
        .entries()
        .map(|(name, value)| {
            (
                String::from_utf8(name.to_vec()).unwrap(),
                String::from_utf8(value.to_vec()).unwrap(),
            )
        })
        .collect()
}

/// One block of an Appendix C example: the wire, the fields it carries, the dynamic table
/// after it (newest first) and the table's size.
pub(crate) struct Example {
    pub wire: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
    pub table: &'static [(&'static str, &'static str)],
    pub size: usize,
}

const REQUEST_1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQUEST_2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQUEST_3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const TABLE_1: &[(&str, &str)] = &[(":authority", "www.example.com")];
const TABLE_2: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];
const TABLE_3: &[(&str, &str)] = &[
    ("custom-key", "custom-value"),
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];

/// C.3: three requests without Huffman coding.
pub(crate) const C3: [Example; 3] = [
    Example {
        wire: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        fields: REQUEST_1,
        table: TABLE_1,
        size: 57,
    },
    Example {
        wire: "8286 84be 5808 6e6f 2d63 6163 6865",
        fields: REQUEST_2,
        table: TABLE_2,
        size: 110,
    },
    Example {
        wire: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        fields: REQUEST_3,
        table: TABLE_3,
        size: 164,
    },
];

/// C.4: the same requests with Huffman coding.
pub(crate) const C4: [Example; 3] = [
    Example {
        wire: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        fields: REQUEST_1,
        table: TABLE_1,
        size: 57,
    },
    Example {
        wire: "8286 84be 5886 a8eb 1064 9cbf",
        fields: REQUEST_2,
        table: TABLE_2,
        size: 110,
    },
    Example {
        wire: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        fields: REQUEST_3,
        table: TABLE_3,
        size: 164,
    },
];

const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSE_1: &[(&str, &str)] = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESPONSE_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESPONSE_3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    ("set-cookie", COOKIE),
];
const RESPONSE_TABLE_1: &[(&str, &str)] = &[
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
    (":status", "302"),
];
const RESPONSE_TABLE_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
];
const RESPONSE_TABLE_3: &[(&str, &str)] = &[
    ("set-cookie", COOKIE),
    ("content-encoding", "gzip"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
];

/// C.5: three responses without Huffman coding, in a 256-octet table (evictions happen).
pub(crate) const C5: [Example; 3] = [
    Example {
        wire: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
               2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
               6c65 2e63 6f6d",
        fields: RESPONSE_1,
        table: RESPONSE_TABLE_1,
        size: 222,
    },
    Example {
        wire: "4803 3330 37c1 c0bf",
        fields: RESPONSE_2,
        table: RESPONSE_TABLE_2,
        size: 222,
    },
    Example {
        wire: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
               54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
               5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
               3d31",
        fields: RESPONSE_3,
        table: RESPONSE_TABLE_3,
        size: 215,
    },
];

/// C.6: the same responses with Huffman coding.
pub(crate) const C6: [Example; 3] = [
    Example {
        wire: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
               2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        fields: RESPONSE_1,
        table: RESPONSE_TABLE_1,
        size: 222,
    },
    Example {
        wire: "4883 640e ffc1 c0bf",
        fields: RESPONSE_2,
        table: RESPONSE_TABLE_2,
        size: 222,
    },
    Example {
        wire: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
               77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
               9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        fields: RESPONSE_3,
        table: RESPONSE_TABLE_3,
        size: 215,
    },
];

fn decode_examples(examples: &[Example], table_size: usize, name: &str) {
    let mut decoder = Decoder::new(table_size);
    for (number, example) in examples.iter().enumerate() {
        let block = number + 1;
        assert_eq!(
            decode(&mut decoder, &hex(example.wire)),
            Ok(pairs(example.fields)),
            "{name}.{block}: fields"
        );
        assert_eq!(
            dynamic_table(&decoder),
            pairs(example.table),
            "{name}.{block}: table"
        );
        assert_eq!(decoder.table().size(), example.size, "{name}.{block}: size");
    }
}

#[test]
fn appendix_c_2_one_representation_each() {
    // C.2.1: literal with indexing, a new name.
    let mut decoder = Decoder::new(4096);
    let wire = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    assert_eq!(
        decode(&mut decoder, &wire),
        Ok(pairs(&[("custom-key", "custom-header")]))
    );
    assert_eq!(
        dynamic_table(&decoder),
        pairs(&[("custom-key", "custom-header")])
    );
    assert_eq!(decoder.table().size(), 55);

    // C.2.2: literal without indexing, an indexed name.
    let mut decoder = Decoder::new(4096);
    let wire = hex("040c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(
        decode(&mut decoder, &wire),
        Ok(pairs(&[(":path", "/sample/path")]))
    );
    assert!(decoder.table().is_empty());

    // C.2.3: literal never indexed, a new name; the flag comes out with the field.
    let mut decoder = Decoder::new(4096);
    let wire = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut fields = Vec::new();
    decoder.decode(&wire, usize::MAX, &mut fields).unwrap();
    assert_eq!(
        fields,
        [Field {
            name: Bytes::from_static(b"password"),
            value: Bytes::from_static(b"secret"),
            never_indexed: true,
        }]
    );
    assert!(decoder.table().is_empty());

    // C.2.4: indexed field.
    let mut decoder = Decoder::new(4096);
    assert_eq!(
        decode(&mut decoder, &[0x82]),
        Ok(pairs(&[(":method", "GET")]))
    );
    assert!(decoder.table().is_empty());
}

#[test]
fn appendix_c_3_requests_without_huffman() {
    decode_examples(&C3, 4096, "C.3");
}

#[test]
fn appendix_c_4_requests_with_huffman() {
    decode_examples(&C4, 4096, "C.4");
}

#[test]
fn appendix_c_5_responses_without_huffman() {
    decode_examples(&C5, 256, "C.5");
}

#[test]
fn appendix_c_6_responses_with_huffman() {
    decode_examples(&C6, 256, "C.6");
}

fn decode_error(decoder: &mut Decoder, wire: &[u8]) -> DecodeError {
    let mut fields = Vec::new();
    decoder.decode(wire, usize::MAX, &mut fields).unwrap_err()
}

fn size_update(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    integer::encode(size, 5, 0x20, &mut out);
    out
}

#[test]
fn index_zero_is_an_error() {
    assert_eq!(
        decode_error(&mut Decoder::new(4096), &[0x80]),
        DecodeError::IndexZero
    );
}

#[test]
fn an_index_past_the_tables_is_an_error() {
    let error = DecodeError::IndexOutOfRange {
        index: 62,
        table_len: 61,
    };
    assert_eq!(decode_error(&mut Decoder::new(4096), &[0xbe]), error);
    // A literal's name index too: 01 111111 then 0 is index 63.
    let error = DecodeError::IndexOutOfRange {
        index: 63,
        table_len: 61,
    };
    assert_eq!(
        decode_error(&mut Decoder::new(4096), &[0x7f, 0x00, 0x00]),
        error
    );
}

#[test]
fn huffman_errors_in_a_string_are_decoding_errors() {
    // A new name, Huffman-coded, one octet: 'a' then 000.
    assert_eq!(
        decode_error(&mut Decoder::new(4096), &[0x40, 0x81, 0x18, 0x00]),
        DecodeError::HuffmanPaddingNotEos
    );
    assert_eq!(
        decode_error(&mut Decoder::new(4096), &[0x40, 0x81, 0xff, 0x00]),
        DecodeError::HuffmanPaddingTooLong
    );
    assert_eq!(
        decode_error(
            &mut Decoder::new(4096),
            &[0x40, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]
        ),
        DecodeError::HuffmanEos
    );
}

#[test]
fn integer_limits_are_decoding_errors() {
    assert_eq!(
        decode_error(
            &mut Decoder::new(4096),
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        ),
        DecodeError::IntegerOverflow
    );
    assert_eq!(
        decode_error(
            &mut Decoder::new(4096),
            &[0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        ),
        DecodeError::IntegerTooLong
    );
    // A string length of 2^32 - 1 is refused before anything is allocated.
    assert_eq!(
        decode_error(
            &mut Decoder::new(4096),
            &[0x40, 0x7f, 0x80, 0xff, 0xff, 0xff, 0x0f]
        ),
        DecodeError::Truncated
    );
}

#[test]
fn a_block_cut_inside_a_representation_is_truncated() {
    for wire in [
        &[0x40][..],
        &[0x40, 0x05, b'a'],
        &[0x44],
        &[0x44, 0x01],
        &[0xff],
        &[0x3f],
    ] {
        assert_eq!(
            decode_error(&mut Decoder::new(4096), wire),
            DecodeError::Truncated,
            "{wire:02x?}"
        );
    }
}

#[test]
fn a_size_update_above_our_limit_is_an_error() {
    let mut decoder = Decoder::new(4096);
    assert_eq!(
        decode_error(&mut decoder, &size_update(4097)),
        DecodeError::SizeUpdateTooLarge {
            size: 4097,
            limit: 4096
        }
    );
    // Up to the limit is fine, and so is any size under it, at any block's start.
    let mut decoder = Decoder::new(4096);
    assert_eq!(decode(&mut decoder, &size_update(4096)), Ok(Vec::new()));
    assert_eq!(decode(&mut decoder, &size_update(100)), Ok(Vec::new()));
    assert_eq!(decoder.table().max_size(), 100);
}

#[test]
fn a_size_update_after_a_field_is_an_error() {
    let mut wire = vec![0x82];
    wire.extend(size_update(100));
    assert_eq!(
        decode_error(&mut Decoder::new(4096), &wire),
        DecodeError::SizeUpdateNotAtStart
    );
}

#[test]
fn a_lowered_limit_requires_a_size_update_in_the_next_block() {
    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(1000);
    assert_eq!(
        decode_error(&mut decoder, &[0x82]),
        DecodeError::SizeUpdateMissing { limit: 1000 }
    );

    // An empty block does not escape the rule.
    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(1000);
    assert_eq!(
        decode_error(&mut decoder, &[]),
        DecodeError::SizeUpdateMissing { limit: 1000 }
    );

    // An update above the new limit is refused as too large.
    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(1000);
    let mut wire = size_update(2000);
    wire.push(0x82);
    assert_eq!(
        decode_error(&mut decoder, &wire),
        DecodeError::SizeUpdateTooLarge {
            size: 2000,
            limit: 1000
        }
    );

    // An update to the limit or below satisfies it, once.
    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(1000);
    let mut wire = size_update(500);
    wire.push(0x82);
    assert_eq!(
        decode(&mut decoder, &wire),
        Ok(pairs(&[(":method", "GET")]))
    );
    assert_eq!(decoder.table().max_size(), 500);
    assert_eq!(
        decode(&mut decoder, &[0x82]),
        Ok(pairs(&[(":method", "GET")]))
    );
}

#[test]
fn down_then_up_requires_the_minimum_then_allows_the_final_size() {
    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(0);
    decoder.set_max_table_size(4096);
    // Only the final size is not enough: the table must have been emptied.
    let mut wire = size_update(4096);
    wire.push(0x82);
    assert_eq!(
        decode_error(&mut decoder, &wire),
        DecodeError::SizeUpdateMissing { limit: 0 }
    );

    let mut decoder = Decoder::new(4096);
    decoder.set_max_table_size(2000);
    decoder.set_max_table_size(0);
    decoder.set_max_table_size(4096);
    let mut wire = size_update(0);
    wire.extend(size_update(4096));
    wire.push(0x82);
    assert_eq!(
        decode(&mut decoder, &wire),
        Ok(pairs(&[(":method", "GET")]))
    );
    assert_eq!(decoder.table().max_size(), 4096);
}

#[test]
fn a_lower_limit_still_above_the_tables_size_needs_no_update() {
    let mut decoder = Decoder::new(4096);
    assert_eq!(decode(&mut decoder, &size_update(1000)), Ok(Vec::new()));
    decoder.set_max_table_size(2000);
    assert_eq!(
        decode(&mut decoder, &[0x82]),
        Ok(pairs(&[(":method", "GET")]))
    );
}

#[test]
fn the_field_list_limit_counts_name_value_and_32() {
    // C.3.1's fields: 42 + 43 + 38 + 57 = 180.
    let wire = hex(C3[0].wire);
    let mut fields = Vec::new();
    assert_eq!(Decoder::new(4096).decode(&wire, 180, &mut fields), Ok(()));
    assert_eq!(fields.len(), 4);

    let mut decoder = Decoder::new(4096);
    let mut fields = vec![Field::new("kept", "as it was")];
    assert_eq!(
        decoder.decode(&wire, 179, &mut fields),
        Err(DecodeError::ListTooLarge { limit: 179 })
    );
    assert_eq!(fields, [Field::new("kept", "as it was")]);
    // The block was decoded to the end: the table is in step, and the next block (which
    // refers to the entry the refused block added) decodes.
    assert_eq!(dynamic_table(&decoder), pairs(TABLE_1));
    let mut fields = Vec::new();
    assert_eq!(decoder.decode(&hex(C3[1].wire), 4096, &mut fields), Ok(()));
    assert_eq!(
        fields.iter().map(text).collect::<Vec<_>>(),
        pairs(REQUEST_2)
    );
}

#[test]
fn an_hpack_bomb_is_refused_without_copies() {
    // One 4000-octet entry, then 100,000 one-octet references to it: 400 MB of fields from a
    // 100 kB block. The limit stops it; nothing is kept, and nothing was copied.
    let mut decoder = Decoder::new(4096);
    let mut wire = vec![0x40, 0x01, b'x'];
    integer::encode(4000, 7, 0x00, &mut wire);
    wire.extend(std::iter::repeat_n(b'v', 4000));
    let mut fields = Vec::new();
    assert_eq!(decoder.decode(&wire, 16 * 1024, &mut fields), Ok(()));
    let stored = decoder.table().entries().next().unwrap().1.as_ptr();
    assert_eq!(
        fields[0].value.as_ptr(),
        stored,
        "an inserted field shares the table's bytes"
    );

    let bomb = vec![0xbe; 100_000];
    let mut fields = Vec::new();
    assert_eq!(
        decoder.decode(&bomb, 16 * 1024, &mut fields),
        Err(DecodeError::ListTooLarge { limit: 16 * 1024 })
    );
    assert!(fields.is_empty());
    assert!(fields.capacity() * std::mem::size_of::<Field>() < 16 * 1024);

    let mut fields = Vec::new();
    assert_eq!(
        decoder.decode(&[0xbe, 0xbe], 16 * 1024, &mut fields),
        Ok(())
    );
    assert!(fields.iter().all(|field| field.value.as_ptr() == stored));
}

#[test]
fn after_a_decoding_error_the_decoder_refuses_to_go_on() {
    let mut decoder = Decoder::new(4096);
    assert_eq!(decode_error(&mut decoder, &[0x80]), DecodeError::IndexZero);
    assert_eq!(
        decode_error(&mut decoder, &[0x82]),
        DecodeError::EarlierFailure
    );
}

#[test]
fn every_error_but_the_list_limit_is_a_compression_error() {
    let errors = [
        DecodeError::Truncated,
        DecodeError::IntegerOverflow,
        DecodeError::IntegerTooLong,
        DecodeError::IndexZero,
        DecodeError::IndexOutOfRange {
            index: 70,
            table_len: 65,
        },
        DecodeError::HuffmanEos,
        DecodeError::HuffmanPaddingTooLong,
        DecodeError::HuffmanPaddingNotEos,
        DecodeError::SizeUpdateTooLarge {
            size: 5000,
            limit: 4096,
        },
        DecodeError::SizeUpdateNotAtStart,
        DecodeError::SizeUpdateMissing { limit: 0 },
        DecodeError::EarlierFailure,
    ];
    for error in errors {
        assert_eq!(
            error.connection_error(),
            Some(Error::connection(Reason::COMPRESSION_ERROR, error.why())),
            "{error}"
        );
        assert!(error.to_string().starts_with("HPACK: "), "{error}");
    }
    let too_large = DecodeError::ListTooLarge { limit: 16384 };
    assert_eq!(too_large.connection_error(), None);
    assert!(too_large.to_string().contains("16384"));
    let out_of_range = DecodeError::IndexOutOfRange {
        index: 70,
        table_len: 65,
    };
    assert_eq!(
        out_of_range.to_string(),
        "HPACK: index 70 is past the end of the tables (65 entries)"
    );
}

proptest! {
    #[test]
    fn any_bytes_never_panic_and_keep_the_limits(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz_decode(&data);
    }

    /// After any input the decoder is either usable (it decoded, or only the list was too
    /// large) or says clearly that it is not.
    #[test]
    fn after_any_input_the_decoder_is_usable_or_says_it_failed(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        limit in 0usize..600,
    ) {
        let mut decoder = Decoder::new(4096);
        let mut fields = Vec::new();
        let usable = match decoder.decode(&data, limit, &mut fields) {
            Ok(()) | Err(DecodeError::ListTooLarge { .. }) => true,
            Err(_) => false,
        };
        let mut fields = Vec::new();
        let next = decoder.decode(&[0x82], 4096, &mut fields);
        if usable {
            prop_assert_eq!(next, Ok(()));
            prop_assert_eq!(fields, vec![Field::new(":method", "GET")]);
        } else {
            prop_assert_eq!(next, Err(DecodeError::EarlierFailure));
        }
    }
}
