//! Tests of incomplete input, of payloads as views rather than copies, and of the helpers the
//! connection uses to send DATA and field blocks without copying them.

use bytes::{Bytes, BytesMut};

use super::{encoded, setting, wire};
use crate::h2::frame::*;

#[test]
fn every_prefix_of_a_frame_is_incomplete_not_an_error() {
    let frames = [
        wire(Kind::DATA, flags::PADDED, 1, &[1, b'a', 0]),
        wire(Kind::SETTINGS, 0, 0, &setting(0x4, 1 << 20)),
        wire(Kind::GOAWAY, 0, 0, &[0; 8]),
    ];
    for frame in frames {
        for cut in 0..frame.len() {
            let mut input = BytesMut::from(&frame[..cut]);
            assert_eq!(split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE), Ok(None));
            assert_eq!(&input[..], &frame[..cut], "nothing consumed");
        }
    }
}

#[test]
fn data_and_fragments_are_views_of_the_input_not_copies() {
    let mut input = wire(Kind::DATA, flags::PADDED, 1, &[1, b'a', b'b', 0]);
    input.extend_from_slice(&wire(Kind::CONTINUATION, 0, 1, b"fragment"));
    let base = input.as_ptr() as usize;
    let Ok(Some(Frame::Data(data))) = split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE) else {
        panic!("expected DATA");
    };
    assert_eq!(data.data.as_ptr() as usize, base + HEADER_LEN + 1);
    let Ok(Some(Frame::Continuation(continuation))) =
        split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE)
    else {
        panic!("expected CONTINUATION");
    };
    assert_eq!(
        continuation.fragment.as_ptr() as usize,
        base + 2 * HEADER_LEN + 4
    );
}

#[test]
fn data_header_for_frames_a_body_sent_separately() {
    let body = Bytes::from_static(b"from a file");
    let header = Data::header_for(3, 11, true);
    let mut separately = BytesMut::from(&header.to_bytes()[..]);
    separately.extend_from_slice(&body);
    let mut whole = Data::new(3, body);
    whole.end_stream = true;
    assert_eq!(separately, encoded(&Frame::Data(whole)));
}

#[test]
fn a_field_block_is_cut_into_headers_and_continuations() {
    let block = Bytes::from((0..40_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let pieces: Vec<(Header, Bytes)> =
        Headers::frames_for_block(7, block.clone(), true, DEFAULT_MAX_FRAME_SIZE).collect();
    let shape: Vec<(Kind, u8, u32)> = pieces
        .iter()
        .map(|(h, _)| (h.kind, h.flags, h.length))
        .collect();
    assert_eq!(
        shape,
        [
            (Kind::HEADERS, flags::END_STREAM, 16_384),
            (Kind::CONTINUATION, 0, 16_384),
            (Kind::CONTINUATION, flags::END_HEADERS, 7_232),
        ]
    );
    // Views of the block, in order.
    let mut offset = 0;
    for (_, piece) in &pieces {
        assert_eq!(piece.as_ptr() as usize, block.as_ptr() as usize + offset);
        offset += piece.len();
    }
    // Framed and read back, the fragments make the block again.
    let mut out = BytesMut::new();
    Headers::encode_block(7, block.clone(), true, DEFAULT_MAX_FRAME_SIZE, &mut out);
    let mut reassembled = Vec::new();
    while let Ok(Some(frame)) = split_frame(&mut out, DEFAULT_MAX_FRAME_SIZE) {
        match frame {
            Frame::Headers(headers) => reassembled.extend_from_slice(&headers.fragment),
            Frame::Continuation(more) => reassembled.extend_from_slice(&more.fragment),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(reassembled, block);
    // An empty block is one HEADERS frame; a max_frame_size below the RFC's floor is raised.
    let empty: Vec<_> = Headers::frames_for_block(1, Bytes::new(), false, 0).collect();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].0.flags, flags::END_HEADERS);
    let small: Vec<_> = Headers::frames_for_block(1, block.slice(..16_385), false, 0).collect();
    assert_eq!(small.len(), 2);
}

#[test]
#[should_panic(expected = "does not fit a frame")]
fn a_payload_too_long_for_the_length_field_is_refused_loudly() {
    let header = Data::header_for(1, LARGEST_FRAME_SIZE + 1, false);
    let _ = header.to_bytes();
}
