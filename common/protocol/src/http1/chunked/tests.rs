//! Tests of the parent module.

use super::*;
use proptest::prelude::*;

fn decoder() -> ChunkedDecoder {
    ChunkedDecoder::new(1 << 20, 16 * 1024, 16 * 1024, 100)
}

fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize), RequestError> {
    let mut body = Vec::new();
    match decoder().decode(input, &mut body)? {
        Progress::Done(used) => Ok((body, used)),
        Progress::NeedMore => Err(RequestError::MalformedChunk("incomplete (test)")),
    }
}

#[test]
fn decodes_chunks_extensions_and_trailers() {
    let input = b"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nExpires: never\r\n\r\nGET";
    let mut body = Vec::new();
    let mut decoder = decoder();
    assert_eq!(
        decoder.decode(input, &mut body),
        Ok(Progress::Done(input.len() - 3))
    );
    assert_eq!(body, b"hello world");
    assert_eq!(decoder.take_trailers().get_str("expires"), Some("never"));
}

#[test]
fn uppercase_hex_and_leading_zeros_are_sizes() {
    assert_eq!(
        decode_all(b"000A\r\n0123456789\r\n0\r\n\r\n").unwrap().0,
        b"0123456789"
    );
}

#[test]
fn rejects_what_smuggling_attacks_rely_on() {
    let cases: &[&[u8]] = &[
        b"5\nhello\r\n0\r\n\r\n",                   // bare LF after size
        b"5\r\nhello\n0\r\n\r\n",                   // bare LF after data
        b"5\r\nhelloX\r\n0\r\n\r\n",                // data longer than the size
        b"\r\nhello\r\n0\r\n\r\n",                  // no hex digits
        b"x\r\nhello\r\n0\r\n\r\n",                 // not hex
        b"-5\r\nhello\r\n0\r\n\r\n",                // sign
        b"0x5\r\nhello\r\n0\r\n\r\n",               // 0x prefix
        b"5 \r\nhello\r\n0\r\n\r\n",                // whitespace not followed by ';'
        b"00000000000000005\r\nhello\r\n0\r\n\r\n", // 17 digits
        b"5;a\nb\r\nhello\r\n0\r\n\r\n",            // LF inside an extension
        b"5;a\x00\r\nhello\r\n0\r\n\r\n",           // NUL inside an extension
        b"0\r\nX: y\n\r\n",                         // bare LF in the trailers
    ];
    for case in cases {
        let result = decode_all(case);
        assert!(
            matches!(result, Err(RequestError::MalformedChunk(_))),
            "{:?} gave {result:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn sixteen_digits_are_allowed_but_checked_against_the_body_limit() {
    assert_eq!(
        decode_all(b"0000000000000005\r\nhello\r\n0\r\n\r\n")
            .unwrap()
            .0,
        b"hello"
    );
    assert_eq!(
        decode_all(b"ffffffffffffffff\r\n"),
        Err(RequestError::BodyTooLarge)
    );
}

#[test]
fn limits_extensions_trailers_and_body() {
    let mut small = ChunkedDecoder::new(4, 8, 16, 100);
    let mut body = Vec::new();
    assert_eq!(
        small.decode(b"5\r\nhello", &mut body),
        Err(RequestError::BodyTooLarge)
    );
    let mut small = ChunkedDecoder::new(100, 8, 16, 100);
    assert_eq!(
        small.decode(b"1;123456789\r\n", &mut body),
        Err(RequestError::ChunkExtensionsTooLong)
    );
    let mut small = ChunkedDecoder::new(100, 8, 16, 100);
    assert_eq!(
        small.decode(b"0\r\nX: 0123456789abcdef\r\n\r\n", &mut body),
        Err(RequestError::TrailersTooLarge)
    );
}

proptest! {
    /// Whatever chunks a sender picks, decoding their encoding gives back the content, and
    /// it does so however the bytes are split between reads.
    #[test]
    fn encode_then_decode_round_trips(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
        split in any::<prop::sample::Index>(),
    ) {
        let mut wire = Vec::new();
        for chunk in &chunks {
            encode_chunk(chunk, &mut wire);
        }
        wire.extend_from_slice(LAST_CHUNK);
        let at = split.index(wire.len() + 1);
        let mut decoder = decoder();
        let mut body = Vec::new();
        let first = decoder.decode(&wire[..at], &mut body).unwrap();
        if at < wire.len() {
            prop_assert_eq!(first, Progress::NeedMore);
            prop_assert_eq!(decoder.decode(&wire[at..], &mut body).unwrap(), Progress::Done(wire.len() - at));
        } else {
            prop_assert_eq!(first, Progress::Done(wire.len()));
        }
        prop_assert_eq!(body, chunks.concat());
    }

    /// No input makes the decoder panic.
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut body = Vec::new();
        let _ = decoder().decode(&input, &mut body);
    }
}
