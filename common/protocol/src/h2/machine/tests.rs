//! Tests of the HTTP/2 machine, driven in memory by a small client made of the crate's own
//! frame and HPACK modules (`tests/client.rs`), with a clock that moves only when told.

mod client;
mod defences;
mod errors;
mod flow;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::connection::{Connection, Event};
use crate::h2::frame::{Frame, SettingId};
use crate::message::{Body, Response, StatusCode, Version};
use client::Peer;

/// The start of every test's virtual clock.
fn start() -> Instant {
    Instant::now()
}

/// A file body: the machine never reads the file, so any descriptor will do.
pub(super) fn file_response(offset: u64, len: u64) -> Response {
    let file = std::fs::File::open("/dev/null").expect("/dev/null opens");
    let mut response = Response::new(StatusCode::OK);
    response.body = Body::File(crate::message::FileRegion {
        file: std::sync::Arc::new(std::os::fd::OwnedFd::from(file)),
        offset,
        len,
    });
    response
}

fn peer() -> Peer {
    Peer::new(start())
}

#[test]
fn the_server_preface_is_settings_then_a_connection_window_update() {
    let mut p = Peer::raw(Limits::default(), start());
    p.flush();
    assert_eq!(
        p.seen.kinds,
        [frame::Kind::SETTINGS, frame::Kind::WINDOW_UPDATE]
    );
    let settings = &p.seen.settings[0].parameters;
    assert!(settings.contains(&(SettingId::MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS)));
    assert!(settings.contains(&(SettingId::INITIAL_WINDOW_SIZE, STREAM_WINDOW)));
    assert!(settings.contains(&(
        SettingId::MAX_HEADER_LIST_SIZE,
        Limits::DEFAULT_MAX_HEAD_BYTES as u32
    )));
    assert!(
        !settings.iter().any(|(id, _)| *id == SettingId::ENABLE_PUSH),
        "a server does not announce ENABLE_PUSH"
    );
    assert_eq!(
        p.seen.window_updates,
        [(0, CONNECTION_WINDOW - crate::h2::flow::DEFAULT_WINDOW_SIZE)]
    );
}

#[test]
fn the_client_settings_are_acknowledged() {
    let p = peer();
    assert_eq!(p.seen.settings_acks, 1);
    assert!(p.machine.connection_error().is_none());
    assert!(p.machine.is_idle());
}

#[test]
fn a_get_is_answered() {
    let mut p = peer();
    p.get(1, "/hello");
    p.pump();
    let request = &p.requests[&1];
    assert_eq!(request.target, "/hello");
    assert_eq!(request.version, Version::Http2);
    assert_eq!(request.headers.get_str("host"), Some("example.test"));
    assert_eq!(p.seen.status(1), Some(200));
    assert_eq!(p.seen.field(1, "content-length"), Some("11"));
    assert_eq!(
        p.seen.field(1, "date"),
        Some("Thu, 01 Jan 1970 00:00:00 GMT")
    );
    assert_eq!(p.seen.body_of(1), b"GET /hello ");
    assert_eq!(p.seen.ended, [1]);
    assert!(
        p.machine.is_idle(),
        "the stream is forgotten once both sides ended"
    );
    assert!(!p.machine.wants_write());
}

#[test]
fn a_get_is_answered_through_connection_new_http2() {
    let mut conn = Connection::new_http2(Limits::default(), start());
    assert_eq!(conn.version(), Some(Version::Http2));
    let mut p = Peer::raw(Limits::default(), start());
    // The bytes a client would send, built by the test client, fed to the Connection.
    let mut bytes = PREFACE.to_vec();
    let mut settings = bytes::BytesMut::new();
    frame::Settings::default().encode(&mut settings);
    bytes.extend_from_slice(&settings);
    let block = p.block(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", "/c"),
    ]);
    let mut headers = frame::Headers::new(1, block);
    headers.end_stream = true;
    let mut encoded = bytes::BytesMut::new();
    headers.encode(&mut encoded);
    bytes.extend_from_slice(&encoded);
    let room = conn.read_buf();
    room[..bytes.len()].copy_from_slice(&bytes);
    conn.handle_read(bytes.len(), p.now);
    let Some(Event::Request { id, request }) = conn.poll_event() else {
        panic!("expected a request");
    };
    assert_eq!(id, StreamId(1));
    assert_eq!(request.target, "/c");
    conn.send_response(
        id,
        Response::text(StatusCode::OK, "hi"),
        SystemTime::UNIX_EPOCH,
    );
    assert!(conn.wants_write());
    while let Some(transmit) = conn.poll_transmit() {
        let n = match transmit {
            Transmit::Bytes(bytes) => bytes.len(),
            other => panic!("{other:?}"),
        };
        conn.advance(n, p.now);
    }
    assert!(!conn.wants_write());
    assert!(!conn.is_closed());
}

#[test]
fn a_post_body_is_delivered_whole_at_end_stream() {
    let mut p = peer();
    p.request(1, "POST", "/echo", false);
    p.data(1, b"hello ", false);
    p.pump();
    assert!(p.requests.is_empty(), "no request before END_STREAM");
    p.data(1, b"world", true);
    p.pump();
    assert_eq!(&p.requests[&1].body[..], b"hello world");
    assert_eq!(p.seen.body_of(1), b"POST /echo hello world");
    assert_eq!(p.seen.ended, [1]);
}

#[test]
fn trailers_end_the_request_and_reach_the_application() {
    let mut p = peer();
    p.request(1, "POST", "/t", false);
    p.data(1, b"abc", false);
    p.headers(1, &[("x-checksum", "42")], true);
    p.pump();
    let request = &p.requests[&1];
    assert_eq!(&request.body[..], b"abc");
    assert_eq!(request.trailers.get_str("x-checksum"), Some("42"));
    assert_eq!(p.seen.body_of(1), b"POST /t abc");
}

#[test]
fn content_length_must_match_the_data() {
    let mut p = peer();
    let fields = [
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", "/"),
        ("content-length", "5"),
    ];
    p.headers(1, &fields, false);
    p.data(1, b"abc", true);
    p.pump();
    assert!(p.requests.is_empty());
    assert_eq!(p.seen.reset_of(1), Some(Reason::PROTOCOL_ERROR));
}

#[test]
fn two_streams_are_answered_in_any_order() {
    let mut p = peer();
    p.get(1, "/first");
    p.get(3, "/second");
    let events = p.take_events();
    assert_eq!(events.len(), 2, "both requests are out at once");
    let mut ids = Vec::new();
    for event in events {
        let Event::Request { id, .. } = event else {
            panic!("expected requests");
        };
        ids.push(id);
    }
    for id in ids.into_iter().rev() {
        let body = format!("answer {}", id.0);
        p.machine.send_response(
            id,
            Response::text(StatusCode::OK, body),
            SystemTime::UNIX_EPOCH,
        );
    }
    p.flush();
    assert_eq!(p.seen.ended, [3, 1]);
    assert_eq!(p.seen.body_of(1), b"answer 1\n");
    assert_eq!(p.seen.body_of(3), b"answer 3\n");
}

#[test]
fn head_204_and_304_carry_no_data() {
    let mut p = peer();
    p.request(1, "HEAD", "/h", true);
    p.get(3, "/no-content");
    p.get(5, "/not-modified");
    p.answer_with(|request| match request.target.as_str() {
        "/h" => Response::text(StatusCode::OK, "a body HEAD must not carry"),
        "/no-content" => Response::new(StatusCode(204)),
        _ => Response::with_body(StatusCode(304), "text/plain", "nor 304"),
    });
    p.flush();
    assert!(p.seen.data_frames.is_empty(), "{:?}", p.seen.data_frames);
    assert_eq!(p.seen.ended, [1, 3, 5]);
    assert_eq!(p.seen.field(1, "content-length"), Some("27"));
    assert_eq!(p.seen.field(3, "content-length"), None);
    assert_eq!(p.seen.status(5), Some(304));
}

#[test]
fn a_response_for_a_reset_stream_is_dropped() {
    let mut p = peer();
    p.get(1, "/slow");
    let events = p.take_events();
    assert_eq!(events.len(), 1);
    p.send(Frame::RstStream(frame::RstStream::new(1, Reason::CANCEL)));
    p.machine.send_response(
        StreamId(1),
        Response::text(StatusCode::OK, "too late"),
        SystemTime::UNIX_EPOCH,
    );
    p.flush();
    assert!(p.seen.fields.is_empty());
    assert!(p.machine.is_idle());
    p.get(3, "/next");
    p.pump();
    assert_eq!(p.seen.status(3), Some(200));
}

#[test]
fn a_request_reset_before_it_is_taken_is_never_handed_out() {
    let mut p = peer();
    p.get(1, "/x");
    p.send(Frame::RstStream(frame::RstStream::new(1, Reason::CANCEL)));
    assert!(p.take_events().is_empty());
}

#[test]
fn ping_is_answered_with_the_same_payload() {
    let mut p = peer();
    p.send(Frame::Ping(frame::Ping::new(*b"12345678")));
    p.flush();
    assert_eq!(p.seen.pongs, [*b"12345678"]);
}

/// httpwg's "sends goaway frame with unknown error code": the client's GOAWAY (with a code
/// nobody knows) says it opens no more streams, not that the connection is over; a PING after
/// it is still answered, and no GOAWAY comes back.
#[test]
fn the_connection_stays_usable_after_the_client_says_goaway() {
    let mut p = peer();
    p.send(Frame::GoAway(frame::GoAway::new(0, Reason(0xff))));
    p.send(Frame::Ping(frame::Ping::new(*b"still?!!")));
    p.flush();
    assert_eq!(p.seen.pongs, [*b"still?!!"]);
    assert_eq!(p.seen.goaway, None);
    assert!(!p.machine.is_closed());
}

#[test]
fn unknown_frames_and_priority_are_ignored() {
    let mut p = peer();
    p.send_raw(frame::Kind(0xfa), 0xff, 0, b"whatever");
    p.send_raw(frame::Kind::PRIORITY, 0, 5, &[0, 0, 0, 3, 16]);
    p.get(1, "/");
    p.pump();
    assert_eq!(p.seen.status(1), Some(200));
    assert!(p.machine.connection_error().is_none());
}

#[test]
fn a_large_response_header_block_is_cut_into_continuations() {
    let mut p = peer();
    p.get(1, "/big-head");
    let value = "v".repeat(40_000);
    p.answer_with(|_| Response::text(StatusCode::OK, "x").header("x-big", &value));
    p.flush();
    assert!(p.seen.kinds.contains(&frame::Kind::CONTINUATION));
    assert_eq!(p.seen.field(1, "x-big").map(str::len), Some(40_000));
    assert_eq!(p.seen.body_of(1), b"x\n");
}

#[test]
fn a_streamed_body_is_sent_as_data() {
    let mut p = peer();
    p.get(1, "/stream");
    p.answer_with(|_| {
        let chunks = vec![
            Ok(Bytes::from_static(b"one ")),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"two")),
        ];
        let mut response = Response::new(StatusCode::OK);
        response.body = Body::Stream(Box::new(chunks.into_iter()));
        response
    });
    p.flush();
    assert_eq!(p.seen.body_of(1), b"one two");
    assert_eq!(p.seen.ended, [1]);
    assert_eq!(p.seen.field(1, "content-length"), None);
}

#[test]
fn graceful_shutdown_finishes_streams_in_flight_then_closes() {
    let mut p = peer();
    p.get(1, "/in-flight");
    let events = p.take_events();
    p.machine.handle_shutdown();
    p.flush();
    assert_eq!(p.seen.goaway, Some((1, Reason::NO_ERROR)));
    assert!(!p.write_closed, "stream 1 is still owed its response");
    // A stream opened after the GOAWAY is refused.
    p.get(3, "/late");
    p.flush();
    assert_eq!(p.seen.reset_of(3), Some(Reason::REFUSED_STREAM));
    let Some(Event::Request { id, .. }) = events.into_iter().next() else {
        panic!("expected the request");
    };
    p.machine.send_response(
        id,
        Response::text(StatusCode::OK, "done"),
        SystemTime::UNIX_EPOCH,
    );
    p.flush();
    assert_eq!(p.seen.body_of(1), b"done\n");
    assert!(p.write_closed);
    p.machine.handle_eof();
    assert!(p.machine.is_closed());
}

#[test]
fn an_idle_connection_says_goaway_and_closes() {
    let mut p = peer();
    p.get(1, "/");
    p.pump();
    p.advance_clock(Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING - Duration::from_millis(1));
    p.flush();
    assert_eq!(p.seen.goaway, None);
    p.advance_clock(Duration::from_millis(1));
    p.flush();
    assert_eq!(p.seen.goaway, Some((1, Reason::NO_ERROR)));
    assert!(p.write_closed);
}

#[test]
fn cleartext_detects_a_whole_preface() {
    let mut conn = Connection::new_cleartext(Limits::default(), start());
    assert_eq!(conn.version(), None);
    conn.handle_input(PREFACE, start());
    assert_eq!(conn.version(), Some(Version::Http2));
    assert!(conn.wants_write(), "our SETTINGS are queued");
}

#[test]
fn cleartext_detects_a_preface_read_byte_by_byte() {
    let now = start();
    let mut conn = Connection::new_cleartext(Limits::default(), now);
    for (i, &byte) in PREFACE.iter().enumerate() {
        assert_eq!(conn.version(), None, "undecided after {i} octets");
        let room = conn.read_buf();
        room[0] = byte;
        conn.handle_read(1, now);
    }
    assert_eq!(conn.version(), Some(Version::Http2));
    let mut settings = bytes::BytesMut::new();
    frame::Settings::default().encode(&mut settings);
    conn.handle_input(&settings, now);
    assert!(!conn.is_closed());
}

#[test]
fn cleartext_serves_http1_requests() {
    let now = start();
    let mut conn = Connection::new_cleartext(Limits::default(), now);
    let request = b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut fed = 0;
    while fed < request.len() {
        let room = conn.read_buf();
        let n = room.len().min(request.len() - fed);
        room[..n].copy_from_slice(&request[fed..fed + n]);
        conn.handle_read(n, now);
        fed += n;
    }
    assert_eq!(conn.version(), Some(Version::Http11));
    let Some(Event::Request { request, .. }) = conn.poll_event() else {
        panic!("expected the HTTP/1.1 request");
    };
    assert_eq!(request.target, "/one");
}

#[test]
fn cleartext_turns_to_http1_at_the_first_octet_that_differs() {
    let now = start();
    let mut conn = Connection::new_cleartext(Limits::default(), now);
    conn.handle_input(b"PRI * HTTP/2", now);
    assert_eq!(conn.version(), None);
    conn.handle_input(b".1\r\n\r\n", now);
    assert_eq!(conn.version(), Some(Version::Http11));
    // HTTP/1.1 refuses what it got (PRI with HTTP/2.1 is no request it serves).
    assert!(matches!(conn.poll_event(), Some(Event::Rejected { .. })));
}

#[test]
fn cleartext_waits_under_the_header_timeout() {
    let now = start();
    let mut conn = Connection::new_cleartext(Limits::default(), now);
    conn.handle_input(b"PRI", now);
    assert_eq!(
        conn.poll_timeout(),
        Some(now + Limits::DEFAULT_HEADER_TIMEOUT)
    );
    conn.handle_timeout(now + Limits::DEFAULT_HEADER_TIMEOUT);
    assert!(conn.is_closed());
}

#[test]
fn cleartext_h2_serves_a_file_body_through_the_connection() {
    let now = start();
    let mut conn = Connection::new_cleartext(Limits::default(), now);
    let mut client = Peer::raw(Limits::default(), now);
    let mut bytes = PREFACE.to_vec();
    let mut frames = bytes::BytesMut::new();
    frame::Settings::default().encode(&mut frames);
    let block = client.block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "a"),
        (":path", "/f"),
    ]);
    let mut headers = frame::Headers::new(1, block);
    headers.end_stream = true;
    headers.encode(&mut frames);
    bytes.extend_from_slice(&frames);
    // Through read_buf, as a socket would: the detection reads at most the preface first.
    let mut fed = 0;
    while fed < bytes.len() {
        let room = conn.read_buf();
        let n = room.len().min(bytes.len() - fed);
        room[..n].copy_from_slice(&bytes[fed..fed + n]);
        conn.handle_read(n, now);
        fed += n;
    }
    assert_eq!(conn.version(), Some(Version::Http2));
    let Some(Event::Request { id, request }) = conn.poll_event() else {
        panic!("expected the request");
    };
    assert_eq!(request.target, "/f");
    conn.send_response(id, file_response(0, 20_000), SystemTime::UNIX_EPOCH);
    let mut regions = Vec::new();
    while let Some(transmit) = conn.poll_transmit() {
        let n = match transmit {
            Transmit::Bytes(bytes) => bytes.len(),
            Transmit::File { offset, len, .. } => {
                regions.push((offset, len));
                len as usize
            }
            Transmit::CloseWrite => panic!("the connection stays open"),
        };
        conn.advance(n, now);
    }
    assert_eq!(regions, [(0, 16_384), (16_384, 3_616)]);
    assert!(!conn.wants_write());
}

#[test]
fn connection_new_stays_http1() {
    let conn = Connection::new(Limits::default(), start());
    assert_eq!(conn.version(), Some(Version::Http11));
}

/// Feeds `bytes` after a valid preface in pieces, answering everything, then EOF and every
/// timeout: nothing may panic, and the machine must end closed.
fn run_arbitrary(bytes: &[u8], piece: usize) {
    let mut p = peer();
    for chunk in bytes.chunks(piece.max(1)) {
        p.send_bytes(chunk);
        p.answer_with(crate::pump::echo);
        flush_quietly(&mut p);
    }
    assert!(
        p.machine.is_closed() || !p.write_closed || p.machine.wants_read(),
        "usable or closing"
    );
    p.machine.handle_eof();
    p.answer_with(crate::pump::echo);
    flush_quietly(&mut p);
    p.now += Duration::from_secs(3600);
    p.machine.handle_timeout(p.now);
    flush_quietly(&mut p);
    p.machine.handle_eof();
    p.now += Duration::from_secs(3600);
    p.machine.handle_timeout(p.now);
    assert!(
        p.machine.is_closed(),
        "the connection ends after EOF and every timeout"
    );
}

/// Writes everything out without parsing it (arbitrary input makes arbitrary answers).
fn flush_quietly(p: &mut Peer) {
    for _ in 0..10_000 {
        let n = match p.machine.poll_transmit() {
            None => break,
            Some(Transmit::Bytes(bytes)) => bytes.len(),
            Some(Transmit::File { len, .. }) => len as usize,
            Some(Transmit::CloseWrite) => {
                p.machine.handle_write_closed(p.now);
                break;
            }
        };
        p.machine.advance(n, p.now);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_after_the_preface_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        piece in 1usize..64,
    ) {
        run_arbitrary(&bytes, piece);
    }

    #[test]
    fn any_bytes_into_a_cleartext_connection_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        prefix in 0usize..25,
    ) {
        let now = start();
        let mut conn = Connection::new_cleartext(Limits::default(), now);
        let mut input = PREFACE[..prefix].to_vec();
        input.extend_from_slice(&bytes);
        for chunk in input.chunks(7) {
            if !conn.wants_read() {
                break;
            }
            conn.handle_input(chunk, now);
            while let Some(event) = conn.poll_event() {
                let (id, response) = match event {
                    Event::Request { id, request } => (id, crate::pump::echo(&request)),
                    Event::Rejected { id, error } => (id, error.response()),
                };
                conn.send_response(id, response, SystemTime::UNIX_EPOCH);
            }
            while let Some(transmit) = conn.poll_transmit() {
                let n = match transmit {
                    Transmit::Bytes(bytes) => bytes.len(),
                    Transmit::File { len, .. } => len as usize,
                    Transmit::CloseWrite => {
                        conn.handle_write_closed(now);
                        break;
                    }
                };
                conn.advance(n, now);
            }
        }
        conn.handle_eof();
        let later = now + Duration::from_secs(3600);
        conn.handle_timeout(later);
        while let Some(transmit) = conn.poll_transmit() {
            let n = match transmit {
                Transmit::Bytes(bytes) => bytes.len(),
                Transmit::File { len, .. } => len as usize,
                Transmit::CloseWrite => {
                    conn.handle_write_closed(later);
                    break;
                }
            };
            conn.advance(n, later);
        }
        conn.handle_eof();
        conn.handle_timeout(later + Duration::from_secs(3600));
        prop_assert!(conn.is_closed());
    }

    #[test]
    fn frame_shaped_bytes_never_panic(
        frames in proptest::collection::vec(
            (0u8..12, any::<u8>(), 0u32..8, proptest::collection::vec(any::<u8>(), 0..24)),
            0..24,
        ),
    ) {
        let mut bytes = Vec::new();
        for (kind, flags, stream, payload) in frames {
            let header = frame::Header {
                length: payload.len() as u32,
                kind: frame::Kind(kind),
                flags,
                stream,
            };
            bytes.extend_from_slice(&header.to_bytes());
            bytes.extend_from_slice(&payload);
        }
        run_arbitrary(&bytes, bytes.len().max(1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The fuzz targets' own drivers (common/fuzz: `h2_connection`, `h2_frames`), run here on
    /// arbitrary bytes so that a change that breaks them fails `cargo test` too.
    #[test]
    fn the_fuzz_drivers_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        crate::pump::fuzz_http2_connection(&bytes, start());
        crate::h2::frame::fuzz_frames(&bytes);
    }
}

mod sinks {
    //! The body-sink hook on HTTP/2: DATA goes to the sink and its credit comes back at once.

    use super::*;
    use crate::sink::tests::hook;

    fn peer_with(sinks: crate::sink::BodySinks) -> Peer {
        let limits = Limits {
            max_body: 100,
            ..Limits::default()
        };
        let mut p = Peer::with_settings(limits, start(), &[]);
        p.machine.set_body_sinks(Some(sinks));
        p
    }

    #[test]
    fn data_past_max_body_streams_to_the_sink_and_credit_is_given_back() {
        let (sinks, log) = hook(100_000, None);
        let mut p = peer_with(sinks);
        p.request(1, "POST", "/up", false);
        let chunk = [7u8; 16_384];
        // More than the stream window the server announced (max_body + 1 = 101 octets) and
        // the connection's: only credit given back as the sink takes DATA lets it through.
        for _ in 0..4 {
            p.data(1, &chunk, false);
            p.flush();
        }
        p.data(1, b"end", true);
        p.pump();
        assert!(p.refusals.is_empty(), "{:?}", p.refusals);
        let request = &p.requests[&1];
        assert_eq!(
            request.streamed.as_ref().map(|s| s.received()),
            Some(4 * 16_384 + 3)
        );
        assert!(request.body.is_empty());
        assert_eq!(p.seen.status(1), Some(200));
        let log = log.lock().unwrap();
        assert!(log.finished);
        assert_eq!(log.bytes().len(), 4 * 16_384 + 3);
        assert!(
            p.seen.window_updates.iter().any(|&(stream, _)| stream == 1),
            "the stream's window was opened again: {:?}",
            p.seen.window_updates
        );
    }

    #[test]
    fn data_past_the_sink_limit_is_413_and_a_reset_stream_aborts_the_sink() {
        let (sinks, log) = hook(50, None);
        let mut p = peer_with(sinks);
        p.request(1, "POST", "/up", false);
        p.data(1, &[1; 60], false);
        p.pump();
        assert_eq!(p.refusals, [(1, RequestError::BodyTooLarge)]);
        assert!(log.lock().unwrap().dropped_unfinished);

        let (sinks, log) = hook(1000, None);
        let mut p = peer_with(sinks);
        p.request(3, "POST", "/up", false);
        p.data(3, &[1; 60], false);
        p.send(Frame::RstStream(frame::RstStream::new(3, Reason::CANCEL)));
        p.pump();
        let log = log.lock().unwrap();
        assert_eq!(log.bytes().len(), 60);
        assert!(log.dropped_unfinished && !log.finished);
        assert!(p.requests.is_empty());
    }

    #[test]
    fn a_declared_length_past_the_sink_limit_is_413_and_a_sink_error_its_status() {
        let (sinks, _) = hook(50, None);
        let mut p = peer_with(sinks);
        p.headers(
            1,
            &[
                (":method", "POST"),
                (":scheme", "https"),
                (":path", "/up"),
                (":authority", "x"),
                ("content-length", "51"),
            ],
            false,
        );
        p.pump();
        assert_eq!(p.refusals, [(1, RequestError::BodyTooLarge)]);

        let (sinks, _) = hook(1000, Some(b'!'));
        let mut p = peer_with(sinks);
        p.request(1, "POST", "/up", false);
        p.data(1, b"no!", true);
        p.pump();
        assert_eq!(p.seen.status(1), Some(400));
        assert!(matches!(&p.refusals[..], [(1, RequestError::Sink(_))]));
    }
}
