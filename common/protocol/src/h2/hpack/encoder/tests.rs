//! Tests of the parent module: RFC 7541 Appendix C.3 and C.4 reproduced byte for byte, C.5 and
//! C.6 round trips, the size updates of section 4.2, the indexing choices, and round trips of
//! random field lists across many blocks and table size changes.

use super::*;
use crate::h2::hpack::decoder::tests::{hex, Example, C3, C4, C5, C6};
use crate::h2::hpack::Decoder;
use proptest::prelude::*;

fn block(encoder: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    encoder.encode(
        fields
            .iter()
            .map(|&(name, value)| (name.as_bytes(), value.as_bytes())),
        &mut out,
    );
    out
}

fn decoded(decoder: &mut Decoder, wire: &[u8]) -> Vec<Field> {
    let mut fields = Vec::new();
    decoder.decode(wire, usize::MAX, &mut fields).unwrap();
    fields
}

fn same_fields(fields: &[Field], expected: &[(&str, &str)]) -> bool {
    fields.len() == expected.len()
        && fields
            .iter()
            .zip(expected)
            .all(|(field, &(name, value))| field.name == name && field.value == value)
}

fn same_tables(encoder: &Encoder, decoder: &Decoder) -> bool {
    encoder.table().entries().eq(decoder.table().entries())
        && encoder.table().size() == decoder.table().size()
        && encoder.table().max_size() == decoder.table().max_size()
}

fn reproduces(examples: &[Example], huffman: Huffman, name: &str) {
    let mut encoder = Encoder::new();
    encoder.set_huffman(huffman);
    for (number, example) in examples.iter().enumerate() {
        assert_eq!(
            block(&mut encoder, example.fields),
            hex(example.wire),
            "{name}.{}",
            number + 1
        );
        assert_eq!(encoder.table().size(), example.size);
    }
}

#[test]
fn appendix_c_3_is_reproduced_byte_for_byte() {
    reproduces(&C3, Huffman::Never, "C.3");
}

#[test]
fn appendix_c_4_is_reproduced_byte_for_byte() {
    reproduces(&C4, Huffman::WhenShorter, "C.4");
}

#[test]
fn appendix_c_5_and_c_6_round_trip() {
    // Our encoder sends set-cookie "never indexed" where the RFC's example indexes it, so the
    // third block differs from the appendix; what comes out of a decoder is the same.
    for (examples, huffman) in [(&C5, Huffman::Never), (&C6, Huffman::WhenShorter)] {
        let mut encoder = Encoder::new();
        encoder.set_huffman(huffman);
        encoder.set_peer_max_table_size(256);
        let mut decoder = Decoder::new(4096);
        decoder.set_max_table_size(256);
        for example in examples {
            let wire = block(&mut encoder, example.fields);
            assert!(same_fields(&decoded(&mut decoder, &wire), example.fields));
            assert!(same_tables(&encoder, &decoder));
        }
        assert_eq!(encoder.table().max_size(), 256);
    }
}

#[test]
fn a_lowered_table_size_is_announced_at_the_next_block() {
    let mut encoder = Encoder::new();
    encoder.set_peer_max_table_size(1000);
    // 001 11111, then 1000 - 31 = 969 in two groups.
    assert_eq!(
        block(&mut encoder, &[(":method", "GET")]),
        [0x3f, 0xc9, 0x07, 0x82]
    );
    assert_eq!(encoder.table().max_size(), 1000);
    // Once only.
    assert_eq!(block(&mut encoder, &[(":method", "GET")]), [0x82]);
}

#[test]
fn down_and_up_again_sends_the_minimum_then_the_final_size() {
    let mut encoder = Encoder::new();
    block(&mut encoder, &[("x-kept", "until the table is emptied")]);
    assert_eq!(encoder.table().len(), 1);
    encoder.set_peer_max_table_size(0);
    encoder.set_peer_max_table_size(4096);
    let wire = block(&mut encoder, &[(":method", "GET")]);
    assert_eq!(wire, [0x20, 0x3f, 0xe1, 0x1f, 0x82]);
    assert!(encoder.table().is_empty());

    // Down twice: only the smaller, which is also the final size, is sent.
    encoder.set_peer_max_table_size(2000);
    encoder.set_peer_max_table_size(1000);
    assert_eq!(block(&mut encoder, &[]), [0x3f, 0xc9, 0x07]);
}

#[test]
fn a_peer_allowing_more_than_our_cap_changes_nothing() {
    let mut encoder = Encoder::new();
    encoder.set_peer_max_table_size(1 << 20);
    assert_eq!(block(&mut encoder, &[(":method", "GET")]), [0x82]);
    assert_eq!(encoder.table().max_size(), 4096);

    // A cap below the initial 4096 is announced in the first block.
    let mut encoder = Encoder::with_max_table_size(1000);
    assert_eq!(block(&mut encoder, &[]), [0x3f, 0xc9, 0x07]);
    // And our decoder, which starts at 4096, accepts it.
    let mut decoder = Decoder::new(4096);
    assert!(decoded(&mut decoder, &[0x3f, 0xc9, 0x07]).is_empty());
    assert_eq!(decoder.table().max_size(), 1000);
}

#[test]
fn sensitive_fields_are_never_indexed() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new(4096);
    let fields = [
        ("authorization", "Basic c2VjcmV0"),
        ("proxy-authorization", "Basic c2VjcmV0"),
        ("set-cookie", "id=a3fWa; Max-Age=2592000"),
        ("cookie", "short=1"),
    ];
    let wire = block(&mut encoder, &fields);
    // authorization is static index 23: 0001 1111, then 23 - 15 = 8.
    assert_eq!(wire[..2], [0x1f, 0x08]);
    let fields_out = decoded(&mut decoder, &wire);
    assert!(same_fields(&fields_out, &fields));
    assert!(fields_out.iter().all(|field| field.never_indexed));
    assert!(encoder.table().is_empty());
    assert!(decoder.table().is_empty());

    // A long cookie is indexed: too random to guess whole.
    let long = ("cookie", "session=5f2b8c1e9a7d4e3f8b6a0c2d1e4f7a9b");
    let wire = block(&mut encoder, &[long]);
    assert!(!decoded(&mut decoder, &wire)[0].never_indexed);
    assert_eq!(encoder.table().len(), 1);
}

#[test]
fn a_field_that_arrived_never_indexed_leaves_never_indexed() {
    let mut encoder = Encoder::new();
    let field = Field {
        name: Bytes::from_static(b"x-secret"),
        value: Bytes::from_static(b"42"),
        never_indexed: true,
    };
    let mut wire = Vec::new();
    encoder.encode_fields([&field], &mut wire);
    assert_eq!(wire[0], 0x10, "never indexed, new name");
    assert_eq!(decoded(&mut Decoder::new(4096), &wire), [field]);
    assert!(encoder.table().is_empty());
}

#[test]
fn one_off_values_and_huge_fields_are_not_indexed() {
    let mut encoder = Encoder::new();
    // content-length is static index 28: 0000 1111, then 28 - 15 = 13.
    let wire = block(&mut encoder, &[("content-length", "1234")]);
    assert_eq!(wire[..2], [0x0f, 0x0d]);
    let huge = "x".repeat(3100);
    let huge = huge.as_str();
    let wire = block(&mut encoder, &[("x-huge", huge), (":path", "/a/b")]);
    assert_eq!(wire[0], 0x00, "without indexing, new name");
    assert!(encoder.table().is_empty());
    let fields = decoded(&mut Decoder::new(4096), &wire);
    assert!(same_fields(&fields, &[("x-huge", huge), (":path", "/a/b")]));
}

#[test]
fn huffman_is_used_only_when_shorter_by_default() {
    let mut encoder = Encoder::new();
    // "www.example.com" is 12 octets coded: H set.
    let wire = block(&mut encoder, &[(":authority", "www.example.com")]);
    assert_eq!(wire[1], 0x8c);
    // Octets with long codes come out longer coded: sent raw.
    let binary = "\u{7f}\u{7f}\u{7f}";
    let wire = block(&mut encoder, &[("x-binary", binary)]);
    let value_length = wire[wire.len() - 4];
    assert_eq!(value_length, 0x03, "raw, 3 octets");
    encoder.set_huffman(Huffman::Always);
    let wire = block(&mut encoder, &[("x-binary", binary)]);
    assert_eq!(wire[0], 0xbe, "the same field, now an index");
    let wire = block(&mut encoder, &[("x-other", "\u{7f}")]);
    assert_eq!(wire[1] & 0x80, 0x80, "the name is Huffman-coded too");
}

/// What happens between two blocks in the round trip below.
#[derive(Clone, Debug)]
enum Step {
    Block(Vec<(Vec<u8>, Vec<u8>)>),
    /// The decoder's side announces a new SETTINGS_HEADER_TABLE_SIZE; it is acknowledged
    /// before the next block.
    Resize(usize),
}

fn field_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let names = vec![
        ":method",
        ":path",
        ":status",
        "cache-control",
        "cookie",
        "authorization",
        "content-length",
        "x-custom",
        "x-trace",
        "accept",
    ];
    let values = vec!["GET", "/", "200", "no-cache", "", "abc"];
    let name = prop_oneof![
        3 => prop::sample::select(names).prop_map(|name| name.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..12),
    ];
    let value = prop_oneof![
        3 => prop::sample::select(values).prop_map(|value| value.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => proptest::collection::vec(any::<u8>(), 0..400),
    ];
    (name, value)
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => proptest::collection::vec(field_strategy(), 0..12).prop_map(Step::Block),
        1 => prop_oneof![Just(0usize), 0usize..600, 0usize..5000].prop_map(Step::Resize),
    ]
}

proptest! {
    #[test]
    fn field_lists_round_trip_across_blocks_and_resizes(
        steps in proptest::collection::vec(step_strategy(), 1..30),
        own_max in prop_oneof![Just(4096usize), 0usize..5000],
        huffman in prop::sample::select(vec![Huffman::WhenShorter, Huffman::Never, Huffman::Always]),
    ) {
        let mut encoder = Encoder::with_max_table_size(own_max);
        encoder.set_huffman(huffman);
        let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
        for step in steps {
            match step {
                Step::Resize(size) => {
                    encoder.set_peer_max_table_size(size);
                    decoder.set_max_table_size(size);
                }
                Step::Block(fields) => {
                    let mut wire = Vec::new();
                    encoder.encode(fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())), &mut wire);
                    let mut out = Vec::new();
                    prop_assert_eq!(decoder.decode(&wire, usize::MAX, &mut out), Ok(()));
                    let out: Vec<(Vec<u8>, Vec<u8>)> =
                        out.into_iter().map(|field| (field.name.to_vec(), field.value.to_vec())).collect();
                    prop_assert_eq!(out, fields);
                    prop_assert!(same_tables(&encoder, &decoder));
                    prop_assert!(encoder.table().max_size() <= decoder.max_table_size());
                }
            }
        }
    }
}
