//! Properties of the frame layer, checked on generated input: any bytes never panic (and
//! whatever they decode to re-encodes to itself), every frame type round-trips through
//! `encode` and `split_frame`, and frames split across any number of reads parse the same.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use super::{encoded, read_one, wire};
use crate::h2::error::{Error, Reason};
use crate::h2::frame::*;

fn stream_id() -> impl Strategy<Value = u32> {
    1..=MAX_STREAM_ID
}

fn any_stream() -> impl Strategy<Value = u32> {
    0..=MAX_STREAM_ID
}

fn octets() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

fn dependency() -> impl Strategy<Value = StreamDependency> {
    (any_stream(), any::<bool>(), any::<u8>()).prop_map(|(depends_on, exclusive, weight)| {
        StreamDependency {
            depends_on,
            exclusive,
            weight_minus_one: weight,
        }
    })
}

fn parameter() -> impl Strategy<Value = (SettingId, u32)> {
    prop_oneof![
        any::<u32>().prop_map(|v| (SettingId::HEADER_TABLE_SIZE, v)),
        (0u32..=1).prop_map(|v| (SettingId::ENABLE_PUSH, v)),
        any::<u32>().prop_map(|v| (SettingId::MAX_CONCURRENT_STREAMS, v)),
        (0..=MAX_STREAM_ID).prop_map(|v| (SettingId::INITIAL_WINDOW_SIZE, v)),
        (DEFAULT_MAX_FRAME_SIZE..=LARGEST_FRAME_SIZE).prop_map(|v| (SettingId::MAX_FRAME_SIZE, v)),
        any::<u32>().prop_map(|v| (SettingId::MAX_HEADER_LIST_SIZE, v)),
        (0u32..=1).prop_map(|v| (SettingId::ENABLE_CONNECT_PROTOCOL, v)),
        (prop_oneof![Just(0u16), Just(7), 9..=u16::MAX], any::<u32>())
            .prop_map(|(id, v)| (SettingId(id), v)),
    ]
}

/// Frames that carry a stream's content or a field block.
fn stream_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (stream_id(), octets(), any::<bool>(), any::<Option<u8>>()).prop_map(
            |(stream, data, end_stream, padding)| Frame::Data(Data {
                stream,
                data,
                end_stream,
                padding
            })
        ),
        (
            stream_id(),
            octets(),
            (any::<bool>(), any::<bool>()),
            option::of(dependency()),
            any::<Option<u8>>()
        )
            .prop_map(
                |(stream, fragment, (end_stream, end_headers), priority, padding)| {
                    Frame::Headers(Headers {
                        stream,
                        fragment,
                        end_stream,
                        end_headers,
                        priority,
                        padding,
                    })
                }
            ),
        (
            stream_id(),
            (1..=MAX_STREAM_ID / 2),
            octets(),
            any::<bool>(),
            any::<Option<u8>>()
        )
            .prop_map(|(stream, half, fragment, end_headers, padding)| {
                Frame::PushPromise(PushPromise {
                    stream,
                    promised: half * 2,
                    fragment,
                    end_headers,
                    padding,
                })
            }),
        (stream_id(), octets(), any::<bool>()).prop_map(|(stream, fragment, end_headers)| {
            Frame::Continuation(Continuation::new(stream, fragment, end_headers))
        }),
    ]
}

/// Frames that manage streams and the connection, and unknown ones.
fn control_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (stream_id(), dependency())
            .prop_filter("a stream cannot depend on itself", |(stream, d)| d
                .depends_on
                != *stream)
            .prop_map(|(stream, dependency)| Frame::Priority(Priority { stream, dependency })),
        (stream_id(), any::<u32>())
            .prop_map(|(stream, code)| Frame::RstStream(RstStream::new(stream, Reason(code)))),
        prop_oneof![
            Just(Settings::acknowledgement()),
            vec(parameter(), 0..8).prop_map(|parameters| Settings {
                ack: false,
                parameters
            }),
        ]
        .prop_map(Frame::Settings),
        (any::<bool>(), any::<[u8; 8]>())
            .prop_map(|(ack, opaque)| Frame::Ping(Ping { ack, opaque })),
        (any_stream(), any::<u32>(), octets()).prop_map(|(last_stream, code, debug_data)| {
            Frame::GoAway(GoAway {
                last_stream,
                reason: Reason(code),
                debug_data,
            })
        }),
        (any_stream(), 1..=MAX_STREAM_ID).prop_map(|(stream, increment)| Frame::WindowUpdate(
            WindowUpdate::new(stream, increment)
        )),
        (0x0au8..=0xff, any::<u8>(), any_stream()).prop_map(|(kind, flags, stream)| {
            Frame::Unknown {
                kind: Kind(kind),
                flags,
                stream,
            }
        }),
    ]
}

fn any_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![stream_frame(), control_frame()]
}

/// Frame-shaped input: right lengths, any type, flags, stream and payload, so that the loads
/// see far more than the FRAME_SIZE_ERROR that random lengths mostly give.
fn frame_shaped_input() -> impl Strategy<Value = Vec<u8>> {
    vec(
        (0u8..=11, any::<u8>(), any::<u32>(), vec(any::<u8>(), 0..24)),
        0..8,
    )
    .prop_map(|frames| {
        let mut out = Vec::new();
        for (kind, flags, stream, payload) in frames {
            out.extend_from_slice(&wire(Kind(kind), flags, stream, &payload));
        }
        out
    })
}

/// Reads everything until more input is needed or the connection fails, checking progress.
fn read_all(role: Role, bytes: &[u8], max_frame_size: u32) -> Vec<Result<Frame, Error>> {
    let mut input = BytesMut::from(bytes);
    let mut seen = Vec::new();
    loop {
        let before = input.len();
        match split_frame_as(role, &mut input, max_frame_size) {
            Ok(None) => break,
            Ok(Some(frame)) => seen.push(Ok(frame)),
            Err(error @ Error::Stream { .. }) => seen.push(Err(error)),
            Err(error @ Error::Connection { .. }) => {
                seen.push(Err(error));
                break;
            }
        }
        assert!(input.len() < before, "no progress");
    }
    seen
}

proptest! {
    #[test]
    fn any_bytes_never_panic(
        bytes in prop_oneof![vec(any::<u8>(), 0..256), frame_shaped_input()],
        max_frame_size in prop_oneof![Just(DEFAULT_MAX_FRAME_SIZE), 0u32..32],
    ) {
        for role in [Role::Server, Role::Client] {
            // Whatever was read is a frame this crate can write and read back the same.
            for frame in read_all(role, &bytes, max_frame_size).into_iter().flatten() {
                prop_assert_eq!(read_one(encoded(&frame)), frame);
            }
        }
    }

    #[test]
    fn every_frame_type_round_trips(frame in any_frame()) {
        let out = encoded(&frame);
        prop_assert_eq!(out.len(), HEADER_LEN + frame.header().length as usize);
        prop_assert_eq!(read_one(out), frame);
    }

    #[test]
    fn frames_split_across_any_reads_parse_the_same(
        frames in vec(any_frame(), 1..6),
        cuts in vec(any::<Index>(), 0..10),
    ) {
        let mut whole = BytesMut::new();
        for frame in &frames {
            frame.encode(&mut whole);
        }
        let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(whole.len() + 1)).collect();
        ends.push(whole.len());
        ends.sort_unstable();
        let mut input = BytesMut::new();
        let mut read = Vec::new();
        let mut start = 0;
        for end in ends {
            input.extend_from_slice(&whole[start..end]);
            start = end;
            while let Some(frame) = split_frame_as(Role::Client, &mut input, DEFAULT_MAX_FRAME_SIZE)
                .map_err(|error| TestCaseError::fail(error.to_string()))?
            {
                read.push(frame);
            }
        }
        prop_assert!(input.is_empty());
        prop_assert_eq!(read, frames);
    }
}
