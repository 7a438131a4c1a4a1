//! Tests of the frame layer: the http2-frame-test-case corpus (every case of every directory),
//! a table with a row for each error rule of sections 4 and 6, the rules that make a receiver
//! ignore things. Incomplete input, zero copies and the helpers for sending are in
//! `tests/sending.rs`; the properties (any bytes, every frame type, any split of the input) in
//! `tests/properties.rs`.

use std::fs;
use std::path::PathBuf;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use super::*;

/// The properties: any bytes, every frame type, any split of the input.
mod properties;
/// Incomplete input, zero copies, and the helpers for sending.
mod sending;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A frame on the wire with the right length for `payload`. `stream` is all 32 bits, so that a
/// test can set the reserved bit.
fn wire(kind: Kind, flags: u8, stream: u32, payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    let length = u32::try_from(payload.len()).expect("test payloads are small");
    out.put_slice(&length.to_be_bytes()[1..]);
    out.put_u8(kind.0);
    out.put_u8(flags);
    out.put_u32(stream);
    out.put_slice(payload);
    out
}

/// One SETTINGS parameter's six octets.
fn setting(id: u16, value: u32) -> Vec<u8> {
    let mut out = id.to_be_bytes().to_vec();
    out.extend_from_slice(&value.to_be_bytes());
    out
}

/// Reads the one frame `input` holds, as a client (so that PUSH_PROMISE is accepted), and
/// checks that nothing is left over.
fn read_one(mut input: BytesMut) -> Frame {
    match split_frame_as(Role::Client, &mut input, DEFAULT_MAX_FRAME_SIZE) {
        Ok(Some(frame)) => {
            assert!(
                input.is_empty(),
                "{} octets left after {frame:?}",
                input.len()
            );
            frame
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

fn encoded(frame: &Frame) -> BytesMut {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    out
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The http2-frame-test-case corpus

fn frame_cases_dir() -> PathBuf {
    crate::h2::testdata::dir("http2-frame-test-case")
}

/// The corpus's directories: one per frame type, and `error`.
const CASE_DIRS: [&str; 11] = [
    "continuation",
    "data",
    "error",
    "goaway",
    "headers",
    "ping",
    "priority",
    "push_promise",
    "rst_stream",
    "settings",
    "window_update",
];

#[test]
fn every_http2_frame_test_case_decodes_and_encodes() {
    let root = frame_cases_dir();
    assert!(
        root.is_dir(),
        "the test data directory {} is missing (the http2-frame-test-case corpus, from \
         /work/shared/testdata)",
        root.display()
    );
    for dir in CASE_DIRS {
        let path = root.join(dir);
        assert!(
            path.is_dir(),
            "the test data directory {} is missing",
            path.display()
        );
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("readable corpus")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    let mut checked = 0;
    for dir in dirs {
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("readable case directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no cases in {}", dir.display());
        for file in files {
            let text = fs::read_to_string(&file).expect("readable case");
            let case: Value = serde_json::from_str(&text).expect("a JSON case");
            check_case(&file.display().to_string(), &case);
            checked += 1;
        }
    }
    assert!(checked >= 34, "only {checked} cases found");
}

/// One case: an expected error code, or a frame to compare field by field and then re-encode.
fn check_case(name: &str, case: &Value) {
    let wire = hex(case["wire"].as_str().expect("a wire string"));
    let mut input = BytesMut::from(&wire[..]);
    // As a client: the corpus includes PUSH_PROMISE, which only a client may receive.
    let result = split_frame_as(Role::Client, &mut input, DEFAULT_MAX_FRAME_SIZE);
    if let Some(codes) = case["error"].as_array() {
        let codes: Vec<u64> = codes.iter().filter_map(Value::as_u64).collect();
        match result {
            Err(error) => assert!(
                codes.contains(&u64::from(error.reason().0)),
                "{name}: {error} is not one of {codes:?}"
            ),
            other => panic!("{name}: expected one of the errors {codes:?}, got {other:?}"),
        }
        return;
    }
    let frame = match result {
        Ok(Some(frame)) => frame,
        other => panic!("{name}: expected a frame, got {other:?}"),
    };
    assert!(input.is_empty(), "{name}: octets left over");
    let expected = &case["frame"];
    let header = frame.header();
    let number = |key: &str| expected[key].as_u64().expect(key);
    assert_eq!(u64::from(header.length), number("length"), "{name}: length");
    assert_eq!(u64::from(header.kind.0), number("type"), "{name}: type");
    assert_eq!(u64::from(header.flags), number("flags"), "{name}: flags");
    assert_eq!(
        u64::from(header.stream),
        number("stream_identifier"),
        "{name}: stream"
    );
    let padding = check_payload(name, &frame, &expected["frame_payload"]);
    // Every case is canonical but for its padding: the corpus pads with text ("Howdy!"), and
    // "Padding octets MUST be set to zero when sending" (section 6.1), so the encoding must be
    // the wire with its padding zeroed.
    let mut canonical = wire.clone();
    let content_end = canonical.len() - padding;
    canonical[content_end..].fill(0);
    assert_eq!(&encoded(&frame)[..], &canonical[..], "{name}: encoding");
}

/// Compares the payload fields; returns the padding length.
fn check_payload(name: &str, frame: &Frame, payload: &Value) -> usize {
    let text = |key: &str| payload[key].as_str().expect(key).as_bytes().to_vec();
    let number = |key: &str| payload[key].as_u64().expect(key);
    match frame {
        Frame::Data(data) => {
            assert_eq!(data.data[..], text("data")[..], "{name}: data");
            check_padding(name, data.padding, payload)
        }
        Frame::Headers(headers) => {
            assert_eq!(
                headers.fragment[..],
                text("header_block_fragment")[..],
                "{name}"
            );
            match &headers.priority {
                Some(dependency) => check_dependency(name, dependency, payload),
                None => {
                    for key in ["stream_dependency", "weight", "exclusive"] {
                        assert!(payload[key].is_null(), "{name}: {key} expected");
                    }
                }
            }
            check_padding(name, headers.padding, payload)
        }
        Frame::Priority(priority) => {
            check_dependency(name, &priority.dependency, payload);
            check_padding(name, None, payload)
        }
        Frame::RstStream(reset) => {
            assert_eq!(u64::from(reset.reason.0), number("error_code"), "{name}");
            0
        }
        Frame::Settings(settings) => {
            let expected: Vec<(u64, u64)> = payload["settings"]
                .as_array()
                .expect("settings")
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_u64().expect("id"),
                        pair[1].as_u64().expect("value"),
                    )
                })
                .collect();
            let got: Vec<(u64, u64)> = settings
                .parameters
                .iter()
                .map(|&(id, value)| (u64::from(id.0), u64::from(value)))
                .collect();
            assert_eq!(got, expected, "{name}: settings");
            0
        }
        Frame::PushPromise(push) => {
            assert_eq!(
                u64::from(push.promised),
                number("promised_stream_id"),
                "{name}"
            );
            assert_eq!(
                push.fragment[..],
                text("header_block_fragment")[..],
                "{name}"
            );
            check_padding(name, push.padding, payload)
        }
        Frame::Ping(ping) => {
            assert_eq!(ping.opaque[..], text("opaque_data")[..], "{name}");
            0
        }
        Frame::GoAway(goaway) => {
            assert_eq!(
                u64::from(goaway.last_stream),
                number("last_stream_id"),
                "{name}"
            );
            assert_eq!(u64::from(goaway.reason.0), number("error_code"), "{name}");
            assert_eq!(
                goaway.debug_data[..],
                text("additional_debug_data")[..],
                "{name}"
            );
            0
        }
        Frame::WindowUpdate(update) => {
            assert_eq!(
                u64::from(update.increment),
                number("window_size_increment"),
                "{name}"
            );
            0
        }
        Frame::Continuation(continuation) => {
            assert_eq!(
                continuation.fragment[..],
                text("header_block_fragment")[..],
                "{name}"
            );
            0
        }
        Frame::Unknown { .. } => panic!("{name}: the corpus has no unknown frame types"),
    }
}

fn check_dependency(name: &str, dependency: &StreamDependency, payload: &Value) {
    assert_eq!(
        Some(u64::from(dependency.depends_on)),
        payload["stream_dependency"].as_u64(),
        "{name}: stream_dependency"
    );
    // The corpus gives the weight itself (1..=256), not the octet on the wire.
    assert_eq!(
        Some(u64::from(dependency.weight())),
        payload["weight"].as_u64(),
        "{name}: weight"
    );
    assert_eq!(
        Some(dependency.exclusive),
        payload["exclusive"].as_bool(),
        "{name}: exclusive"
    );
}

fn check_padding(name: &str, padding: Option<u8>, payload: &Value) -> usize {
    let expected = payload.get("padding_length").and_then(Value::as_u64);
    assert_eq!(padding.map(u64::from), expected, "{name}: padding_length");
    if let Some(octets) = payload.get("padding").and_then(Value::as_str) {
        assert_eq!(Some(octets.len() as u64), expected, "{name}: padding");
    }
    padding.map_or(0, usize::from)
}

// ---------------------------------------------------------------------------------------------
// The error rules, one row each

#[derive(Clone, Copy, Debug)]
enum Expect {
    Connection(Reason),
    Stream(u32, Reason),
}

#[test]
fn every_error_rule_gives_its_class_and_code() {
    use Expect::{Connection as C, Stream as S};
    use Reason as R;
    let promised = |id: u32| id.to_be_bytes().to_vec();
    #[rustfmt::skip]
    let rows: Vec<(&str, BytesMut, Expect)> = vec![
        // DATA (section 6.1)
        ("DATA on stream 0", wire(Kind::DATA, 0, 0, b"x"), C(R::PROTOCOL_ERROR)),
        ("DATA PADDED without a Pad Length", wire(Kind::DATA, flags::PADDED, 1, b""), C(R::FRAME_SIZE_ERROR)),
        ("DATA padding = payload length", wire(Kind::DATA, flags::PADDED, 1, &[3, 0, 0]), C(R::PROTOCOL_ERROR)),
        ("DATA padding > payload length", wire(Kind::DATA, flags::PADDED, 1, &[200, 0]), C(R::PROTOCOL_ERROR)),
        // HEADERS (section 6.2)
        ("HEADERS on stream 0", wire(Kind::HEADERS, flags::END_HEADERS, 0, b"x"), C(R::PROTOCOL_ERROR)),
        ("HEADERS PADDED without a Pad Length", wire(Kind::HEADERS, flags::PADDED, 1, b""), C(R::FRAME_SIZE_ERROR)),
        ("HEADERS padding = payload length", wire(Kind::HEADERS, flags::PADDED, 1, &[2, 0]), C(R::PROTOCOL_ERROR)),
        ("HEADERS PRIORITY without room for it", wire(Kind::HEADERS, flags::PRIORITY, 1, &[0, 0, 0, 3]), C(R::FRAME_SIZE_ERROR)),
        ("HEADERS padding past the priority fields", wire(Kind::HEADERS, flags::PADDED | flags::PRIORITY, 1, &[3, 0, 0, 0, 3, 15]), C(R::PROTOCOL_ERROR)),
        // PRIORITY (section 6.3)
        ("PRIORITY on stream 0", wire(Kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 15]), C(R::PROTOCOL_ERROR)),
        ("PRIORITY of 4 octets", wire(Kind::PRIORITY, 0, 3, &[0, 0, 0, 1]), S(3, R::FRAME_SIZE_ERROR)),
        ("PRIORITY of 6 octets", wire(Kind::PRIORITY, 0, 3, &[0, 0, 0, 1, 15, 0]), S(3, R::FRAME_SIZE_ERROR)),
        ("PRIORITY on itself", wire(Kind::PRIORITY, 0, 3, &[0, 0, 0, 3, 15]), S(3, R::PROTOCOL_ERROR)),
        ("PRIORITY exclusively on itself", wire(Kind::PRIORITY, 0, 3, &[0x80, 0, 0, 3, 15]), S(3, R::PROTOCOL_ERROR)),
        // RST_STREAM (section 6.4)
        ("RST_STREAM on stream 0", wire(Kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]), C(R::PROTOCOL_ERROR)),
        ("RST_STREAM of 3 octets", wire(Kind::RST_STREAM, 0, 1, &[0, 0, 8]), C(R::FRAME_SIZE_ERROR)),
        ("RST_STREAM of 5 octets", wire(Kind::RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]), C(R::FRAME_SIZE_ERROR)),
        // SETTINGS (sections 6.5, 6.5.2)
        ("SETTINGS on a stream", wire(Kind::SETTINGS, 0, 1, &[]), C(R::PROTOCOL_ERROR)),
        ("SETTINGS of 5 octets", wire(Kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0]), C(R::FRAME_SIZE_ERROR)),
        ("SETTINGS of 7 octets", wire(Kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0, 0, 0]), C(R::FRAME_SIZE_ERROR)),
        ("SETTINGS ACK with a payload", wire(Kind::SETTINGS, flags::ACK, 0, &setting(0x1, 0)), C(R::FRAME_SIZE_ERROR)),
        ("SETTINGS_ENABLE_PUSH of 2", wire(Kind::SETTINGS, 0, 0, &setting(0x2, 2)), C(R::PROTOCOL_ERROR)),
        ("SETTINGS_INITIAL_WINDOW_SIZE of 2^31", wire(Kind::SETTINGS, 0, 0, &setting(0x4, 0x8000_0000)), C(R::FLOW_CONTROL_ERROR)),
        ("SETTINGS_MAX_FRAME_SIZE of 2^14-1", wire(Kind::SETTINGS, 0, 0, &setting(0x5, 0x3fff)), C(R::PROTOCOL_ERROR)),
        ("SETTINGS_MAX_FRAME_SIZE of 2^24", wire(Kind::SETTINGS, 0, 0, &setting(0x5, 0x100_0000)), C(R::PROTOCOL_ERROR)),
        ("SETTINGS_ENABLE_CONNECT_PROTOCOL of 2", wire(Kind::SETTINGS, 0, 0, &setting(0x8, 2)), C(R::PROTOCOL_ERROR)),
        ("SETTINGS bad after good", wire(Kind::SETTINGS, 0, 0, &[setting(0x1, 0), setting(0x2, 7)].concat()), C(R::PROTOCOL_ERROR)),
        // PUSH_PROMISE, read as a client (section 6.6)
        ("PUSH_PROMISE on stream 0", wire(Kind::PUSH_PROMISE, flags::END_HEADERS, 0, &promised(2)), C(R::PROTOCOL_ERROR)),
        ("PUSH_PROMISE without room for the promised id", wire(Kind::PUSH_PROMISE, 0, 1, &[0, 0, 2]), C(R::FRAME_SIZE_ERROR)),
        ("PUSH_PROMISE promising stream 0", wire(Kind::PUSH_PROMISE, 0, 1, &promised(0)), C(R::PROTOCOL_ERROR)),
        ("PUSH_PROMISE promising 0 with the R bit", wire(Kind::PUSH_PROMISE, 0, 1, &promised(0x8000_0000)), C(R::PROTOCOL_ERROR)),
        ("PUSH_PROMISE promising an odd stream", wire(Kind::PUSH_PROMISE, 0, 1, &promised(3)), C(R::PROTOCOL_ERROR)),
        ("PUSH_PROMISE padding past the promised id", wire(Kind::PUSH_PROMISE, flags::PADDED, 1, &[4, 0, 0, 0, 2]), C(R::PROTOCOL_ERROR)),
        // PING (section 6.7)
        ("PING on a stream", wire(Kind::PING, 0, 1, &[0; 8]), C(R::PROTOCOL_ERROR)),
        ("PING of 7 octets", wire(Kind::PING, 0, 0, &[0; 7]), C(R::FRAME_SIZE_ERROR)),
        ("PING of 9 octets", wire(Kind::PING, 0, 0, &[0; 9]), C(R::FRAME_SIZE_ERROR)),
        // GOAWAY (section 6.8)
        ("GOAWAY on a stream", wire(Kind::GOAWAY, 0, 1, &[0; 8]), C(R::PROTOCOL_ERROR)),
        ("GOAWAY of 7 octets", wire(Kind::GOAWAY, 0, 0, &[0; 7]), C(R::FRAME_SIZE_ERROR)),
        ("GOAWAY of 0 octets", wire(Kind::GOAWAY, 0, 0, &[]), C(R::FRAME_SIZE_ERROR)),
        // WINDOW_UPDATE (section 6.9)
        ("WINDOW_UPDATE of 3 octets", wire(Kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1]), C(R::FRAME_SIZE_ERROR)),
        ("WINDOW_UPDATE of 5 octets on a stream", wire(Kind::WINDOW_UPDATE, 0, 1, &[0, 0, 0, 1, 0]), C(R::FRAME_SIZE_ERROR)),
        ("WINDOW_UPDATE of 0 on a stream", wire(Kind::WINDOW_UPDATE, 0, 1, &[0; 4]), S(1, R::PROTOCOL_ERROR)),
        ("WINDOW_UPDATE of 0 on the connection", wire(Kind::WINDOW_UPDATE, 0, 0, &[0; 4]), C(R::PROTOCOL_ERROR)),
        ("WINDOW_UPDATE of 0 with the R bit", wire(Kind::WINDOW_UPDATE, 0, 5, &[0x80, 0, 0, 0]), S(5, R::PROTOCOL_ERROR)),
        // CONTINUATION (section 6.10)
        ("CONTINUATION on stream 0", wire(Kind::CONTINUATION, flags::END_HEADERS, 0, b"x"), C(R::PROTOCOL_ERROR)),
    ];
    for (rule, mut input, expected) in rows {
        let error = match split_frame_as(Role::Client, &mut input, DEFAULT_MAX_FRAME_SIZE) {
            Err(error) => error,
            other => panic!("{rule}: expected {expected:?}, got {other:?}"),
        };
        match (expected, error) {
            (Expect::Connection(reason), Error::Connection { reason: got, .. }) => {
                assert_eq!(got, reason, "{rule}: {error}");
            }
            (
                Expect::Stream(stream, reason),
                Error::Stream {
                    stream: on,
                    reason: got,
                    ..
                },
            ) => {
                assert_eq!((on, got), (stream, reason), "{rule}: {error}");
                // The rejected frame is consumed, so that reading can go on after the reset.
                assert!(input.is_empty(), "{rule}: the frame was not consumed");
            }
            (expected, error) => panic!("{rule}: expected {expected:?}, got {error}"),
        }
    }
}

#[test]
fn a_frame_longer_than_max_frame_size_is_refused_from_its_header() {
    // A header announcing 2^14+1 octets, none of which has arrived: no need to wait for them.
    let mut input = BytesMut::from(&[0x00, 0x40, 0x01, 0x0, 0x0, 0, 0, 0, 1][..]);
    let error = split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert_eq!(error.reason(), Reason::FRAME_SIZE_ERROR);
    assert!(matches!(error, Error::Connection { .. }));
    // With a larger SETTINGS_MAX_FRAME_SIZE announced, the same header is just incomplete.
    assert_eq!(split_frame(&mut input, 0x8000), Ok(None));
    // Exactly the limit is fine.
    let frame = read_one(wire(Kind::DATA, 0, 1, &[7; 0x4000]));
    assert!(matches!(frame, Frame::Data(data) if data.data.len() == 0x4000));
}

#[test]
fn a_server_refuses_push_promise_and_a_client_reads_it() {
    let push = wire(
        Kind::PUSH_PROMISE,
        flags::END_HEADERS,
        1,
        &[0, 0, 0, 2, 0x82],
    );
    let error = split_frame(&mut push.clone(), DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert_eq!(
        (error.reason(), matches!(error, Error::Connection { .. })),
        (Reason::PROTOCOL_ERROR, true)
    );
    let expected = PushPromise {
        stream: 1,
        promised: 2,
        fragment: Bytes::from_static(&[0x82]),
        end_headers: true,
        padding: None,
    };
    assert_eq!(read_one(push), Frame::PushPromise(expected));
}

#[test]
fn headers_on_their_own_stream_load_but_fail_check_priority() {
    // The block must still reach HPACK, so load succeeds and the check comes after.
    let input = wire(
        Kind::HEADERS,
        flags::PRIORITY | flags::END_HEADERS,
        5,
        &[0, 0, 0, 5, 15, 0x82],
    );
    let Frame::Headers(headers) = read_one(input) else {
        panic!("expected HEADERS");
    };
    assert_eq!(&headers.fragment[..], &[0x82]);
    assert_eq!(
        headers.check_priority(),
        Err(Error::stream(
            5,
            Reason::PROTOCOL_ERROR,
            "a stream cannot depend on itself"
        ))
    );
    let other = Headers {
        priority: Some(StreamDependency {
            depends_on: 3,
            exclusive: true,
            weight_minus_one: 255,
        }),
        ..headers
    };
    assert_eq!(other.check_priority(), Ok(()));
    assert_eq!(Headers::new(5, Bytes::new()).check_priority(), Ok(()));
}

#[test]
fn a_stream_error_consumes_its_frame_and_reading_goes_on() {
    let mut input = wire(Kind::PRIORITY, 0, 3, &[0, 0, 0, 1]);
    input.extend_from_slice(&wire(Kind::PING, 0, 0, b"12345678"));
    let error = split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert!(matches!(error, Error::Stream { stream: 3, .. }));
    assert_eq!(
        split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE),
        Ok(Some(Frame::Ping(Ping::new(*b"12345678"))))
    );
    assert!(input.is_empty());
}

// ---------------------------------------------------------------------------------------------
// What a receiver must ignore, and what a sender must leave unset

#[test]
fn unknown_frame_types_are_read_past_and_their_payload_discarded() {
    let mut input = wire(Kind(0xfa), 0xff, 7, b"an extension's payload");
    input.extend_from_slice(&wire(Kind::PING, flags::ACK, 0, b"abcdefgh"));
    let first = split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(
        first,
        Ok(Some(Frame::Unknown {
            kind: Kind(0xfa),
            flags: 0xff,
            stream: 7
        }))
    );
    assert_eq!(
        split_frame(&mut input, DEFAULT_MAX_FRAME_SIZE),
        Ok(Some(Frame::Ping(Ping::pong(*b"abcdefgh"))))
    );
    assert_eq!(Kind(0xfa).to_string(), "unknown frame type 0xfa");
    assert_eq!(Kind::WINDOW_UPDATE.to_string(), "WINDOW_UPDATE");
}

#[test]
fn unknown_flags_are_ignored_on_receipt_and_never_sent() {
    // Every flag but PADDED and PRIORITY set (those change the layout).
    let all = !(flags::PADDED | flags::PRIORITY);
    let cases = [
        (wire(Kind::DATA, all, 1, b"body"), flags::END_STREAM),
        (
            wire(Kind::HEADERS, all, 1, b"\x82"),
            flags::END_STREAM | flags::END_HEADERS,
        ),
        (wire(Kind::PRIORITY, 0xff, 1, &[0, 0, 0, 3, 15]), 0),
        (wire(Kind::RST_STREAM, 0xff, 1, &[0, 0, 0, 8]), 0),
        (wire(Kind::SETTINGS, 0xfe, 0, &setting(0x3, 100)), 0),
        (
            wire(Kind::PUSH_PROMISE, all, 1, &[0, 0, 0, 2]),
            flags::END_HEADERS,
        ),
        (wire(Kind::PING, 0xfe, 0, &[1; 8]), 0),
        (wire(Kind::GOAWAY, 0xff, 0, &[0; 8]), 0),
        (wire(Kind::WINDOW_UPDATE, 0xff, 0, &[0, 0, 0, 1]), 0),
        (
            wire(Kind::CONTINUATION, 0xff, 1, b"\x82"),
            flags::END_HEADERS,
        ),
    ];
    for (input, sent_flags) in cases {
        let frame = read_one(input.clone());
        let out = encoded(&frame);
        assert_eq!(out[4], sent_flags, "{frame:?}");
        let mut expected = input;
        expected[4] = sent_flags;
        assert_eq!(out, expected, "only the flags differ");
    }
}

#[test]
fn reserved_bits_are_ignored_on_receipt_and_unset_when_sent() {
    let r = 0x8000_0000u32;
    let cases: [(BytesMut, Frame); 5] = [
        (
            wire(Kind::DATA, 0, r | 1, b"x"),
            Frame::Data(Data::new(1, Bytes::from_static(b"x"))),
        ),
        (
            wire(Kind::WINDOW_UPDATE, 0, r | 3, &(r | 16).to_be_bytes()),
            Frame::WindowUpdate(WindowUpdate::new(3, 16)),
        ),
        (
            wire(
                Kind::GOAWAY,
                0,
                r,
                &[&(r | 9).to_be_bytes()[..], &[0u8; 4][..]].concat(),
            ),
            Frame::GoAway(GoAway::new(9, Reason::NO_ERROR)),
        ),
        (
            wire(
                Kind::PUSH_PROMISE,
                flags::END_HEADERS,
                r | 1,
                &(r | 2).to_be_bytes(),
            ),
            Frame::PushPromise(PushPromise {
                stream: 1,
                promised: 2,
                fragment: Bytes::new(),
                end_headers: true,
                padding: None,
            }),
        ),
        (
            wire(Kind::PRIORITY, 0, r | 5, &[0x80, 0, 0, 3, 0]),
            Frame::Priority(Priority {
                stream: 5,
                dependency: StreamDependency {
                    depends_on: 3,
                    exclusive: true,
                    weight_minus_one: 0,
                },
            }),
        ),
    ];
    for (input, expected) in cases {
        let frame = read_one(input);
        assert_eq!(frame, expected);
        let out = encoded(&frame);
        assert_eq!(out[5] & 0x80, 0, "R bit sent in {frame:?}");
        assert_eq!(read_one(out), expected);
    }
    // Encoding clears the bit even when a caller leaves it in a field.
    let out = encoded(&Frame::WindowUpdate(WindowUpdate::new(r | 1, r | 1)));
    assert_eq!(&out[5..], &[0, 0, 0, 1, 0, 0, 0, 1]);
}

#[test]
fn unknown_error_codes_and_debug_data_are_kept() {
    let frame = read_one(wire(Kind::RST_STREAM, 0, 1, &[0, 0, 0x12, 0x34]));
    assert_eq!(frame, Frame::RstStream(RstStream::new(1, Reason(0x1234))));
    let mut payload = vec![0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef];
    payload.extend_from_slice(b"why");
    let Frame::GoAway(goaway) = read_one(wire(Kind::GOAWAY, 0, 0, &payload)) else {
        panic!("expected GOAWAY");
    };
    assert_eq!(goaway.reason, Reason(0xdead_beef));
    assert_eq!(&goaway.debug_data[..], b"why");
    assert_eq!(goaway.last_stream, 7);
}

#[test]
fn unknown_settings_are_kept_in_order_for_the_meaning_layer_to_skip() {
    let payload = [setting(0x1, 0), setting(0xabcd, 9), setting(0x1, 8192)].concat();
    let Frame::Settings(settings) = read_one(wire(Kind::SETTINGS, 0, 0, &payload)) else {
        panic!("expected SETTINGS");
    };
    assert_eq!(
        settings.parameters,
        [
            (SettingId::HEADER_TABLE_SIZE, 0),
            (SettingId(0xabcd), 9),
            (SettingId::HEADER_TABLE_SIZE, 8192)
        ]
    );
    assert_eq!(SettingId(0xabcd).to_string(), "unknown setting 0xabcd");
    assert_eq!(
        SettingId::MAX_FRAME_SIZE.to_string(),
        "SETTINGS_MAX_FRAME_SIZE"
    );
    // The limits themselves are accepted.
    for (id, value) in [
        (0x2, 0),
        (0x2, 1),
        (0x4, 0x7fff_ffff),
        (0x5, 0x4000),
        (0x5, 0xff_ffff),
    ] {
        assert_eq!(SettingId(id).check(value), Ok(()), "{id} = {value}");
    }
}

#[test]
fn padding_up_to_the_payload_less_one_is_accepted() {
    let frame = read_one(wire(
        Kind::DATA,
        flags::PADDED | flags::END_STREAM,
        1,
        &[2, 9, 9],
    ));
    let expected = Data {
        stream: 1,
        data: Bytes::new(),
        end_stream: true,
        padding: Some(2),
    };
    assert_eq!(frame, Frame::Data(expected.clone()));
    assert_eq!(
        expected.flow_controlled_len(),
        3,
        "padding counts toward flow control"
    );
    assert_eq!(
        &encoded(&frame)[9..],
        &[2, 0, 0],
        "padding is sent as zeros"
    );
}
