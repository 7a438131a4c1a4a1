//! Errors (RFC 9113 section 5.4): every connection error ends in GOAWAY with its reason, then
//! the writing side closes; every stream error ends in RST_STREAM, and the connection goes on
//! serving other streams.

use super::*;
use crate::h2::frame::{flags, Kind};

/// Flushes, and checks the connection ended with GOAWAY `reason` and closed its writing side.
fn assert_goaway(p: &mut Peer, reason: Reason) {
    p.flush();
    let Some((_, sent)) = p.seen.goaway else {
        panic!("no GOAWAY; resets {:?}", p.seen.resets);
    };
    assert_eq!(sent, reason, "{:?}", p.machine.connection_error());
    assert_eq!(
        p.machine.connection_error().map(|e| e.reason()),
        Some(reason)
    );
    assert!(p.write_closed, "the writing side closes after GOAWAY");
    assert!(!p.machine.wants_read() || !p.machine.is_closed());
}

/// Flushes, checks stream `stream` was reset with `reason`, and that stream 101 is served.
fn assert_reset_and_still_serving(p: &mut Peer, stream: u32, reason: Reason) {
    p.answer_with(crate::pump::echo);
    p.flush();
    assert_eq!(p.seen.reset_of(stream), Some(reason), "{:?}", p.seen.goaway);
    assert_eq!(p.seen.goaway, None);
    p.get(101, "/after");
    p.pump();
    assert_eq!(p.seen.status(101), Some(200));
}

#[test]
fn a_bad_preface_is_a_protocol_error() {
    let mut p = Peer::raw(Limits::default(), start());
    p.send_bytes(b"PRI * HTTP/2.0\r\n\r\nXX");
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
    assert_eq!(p.seen.goaway, Some((0, Reason::PROTOCOL_ERROR)));
}

#[test]
fn the_preface_must_be_followed_by_settings() {
    let mut p = Peer::raw(Limits::default(), start());
    p.send_bytes(PREFACE);
    p.send(Frame::Ping(frame::Ping::new([0; 8])));
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
}

#[test]
fn a_frame_over_our_max_frame_size_is_a_frame_size_error() {
    let mut p = peer();
    p.send_raw(Kind::DATA, 0, 1, &vec![0; 16_385]);
    assert_goaway(&mut p, Reason::FRAME_SIZE_ERROR);
}

#[test]
fn push_promise_from_a_client_is_a_protocol_error() {
    let mut p = peer();
    p.send_raw(Kind::PUSH_PROMISE, flags::END_HEADERS, 1, &[0, 0, 0, 2]);
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
}

#[test]
fn continuation_without_a_block_is_a_protocol_error() {
    let mut p = peer();
    p.send_raw(Kind::CONTINUATION, flags::END_HEADERS, 1, &[]);
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
}

#[test]
fn a_frame_inside_a_field_block_is_a_protocol_error() {
    let mut p = peer();
    let block = p.block(&[(":method", "GET")]);
    p.send_raw(Kind::HEADERS, 0, 1, &block);
    p.send(Frame::Ping(frame::Ping::new([0; 8])));
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
}

#[test]
fn continuation_on_another_stream_is_a_protocol_error() {
    let mut p = peer();
    let block = p.block(&[(":method", "GET")]);
    p.send_raw(Kind::HEADERS, 0, 1, &block);
    p.send_raw(Kind::CONTINUATION, flags::END_HEADERS, 3, &[]);
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
}

#[test]
fn an_undecodable_block_is_a_compression_error() {
    let mut p = peer();
    // Index 0 is not an index (RFC 7541 section 6.1).
    p.send_raw(
        Kind::HEADERS,
        flags::END_HEADERS | flags::END_STREAM,
        1,
        &[0x80],
    );
    assert_goaway(&mut p, Reason::COMPRESSION_ERROR);
}

#[test]
fn stream_ids_must_be_odd_and_increasing() {
    let mut p = peer();
    p.get(2, "/even");
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);

    let mut p = peer();
    p.get(5, "/");
    p.pump();
    p.get(3, "/lower");
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
    assert_eq!(p.seen.goaway, Some((5, Reason::PROTOCOL_ERROR)));
}

#[test]
fn frames_on_an_idle_stream_are_protocol_errors() {
    for send in [
        |p: &mut Peer| p.data(1, b"x", false),
        |p: &mut Peer| p.send(Frame::RstStream(frame::RstStream::new(1, Reason::CANCEL))),
        |p: &mut Peer| p.window_update(1, 1),
    ] {
        let mut p = peer();
        send(&mut p);
        assert_goaway(&mut p, Reason::PROTOCOL_ERROR);
    }
}

#[test]
fn connection_window_errors() {
    let mut p = peer();
    p.send_raw(Kind::WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]);
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);

    let mut p = peer();
    p.window_update(0, 0x7fff_ffff);
    assert_goaway(&mut p, Reason::FLOW_CONTROL_ERROR);
}

#[test]
fn bad_settings_are_connection_errors() {
    let mut p = peer();
    p.send(Frame::Settings(frame::Settings {
        ack: false,
        parameters: vec![(SettingId::INITIAL_WINDOW_SIZE, 0x8000_0000)],
    }));
    assert_goaway(&mut p, Reason::FLOW_CONTROL_ERROR);

    let mut p = peer();
    p.send(Frame::Settings(frame::Settings {
        ack: false,
        parameters: vec![(SettingId::ENABLE_PUSH, 2)],
    }));
    assert_goaway(&mut p, Reason::PROTOCOL_ERROR);

    let mut p = peer();
    p.send_raw(Kind::SETTINGS, flags::ACK, 0, &[0; 6]);
    assert_goaway(&mut p, Reason::FRAME_SIZE_ERROR);
}

#[test]
fn data_on_a_finished_stream_is_stream_closed() {
    let mut p = peer();
    p.get(1, "/");
    p.pump();
    p.data(1, b"late", true);
    assert_goaway(&mut p, Reason::STREAM_CLOSED);
}

#[test]
fn settings_not_acknowledged_in_time_is_a_settings_timeout() {
    let limits = Limits {
        idle_timeout: Limits::DEFAULT_IDLE_TIMEOUT_EVENTED,
        ..Limits::default()
    };
    let mut p = Peer::raw(limits, start());
    p.send_bytes(PREFACE);
    p.send(Frame::Settings(frame::Settings::default()));
    p.get(1, "/");
    p.pump();
    assert_eq!(p.machine.poll_timeout(), Some(p.now + SETTINGS_TIMEOUT));
    p.advance_clock(SETTINGS_TIMEOUT - Duration::from_millis(1));
    assert!(p.machine.connection_error().is_none());
    p.advance_clock(Duration::from_millis(1));
    assert_goaway(&mut p, Reason::SETTINGS_TIMEOUT);
}

#[test]
fn a_field_block_left_unfinished_times_out() {
    let mut p = peer();
    let block = p.block(&[(":method", "GET")]);
    p.send_raw(Kind::HEADERS, 0, 1, &block);
    p.advance_clock(Limits::DEFAULT_HEADER_TIMEOUT);
    assert_goaway(&mut p, Reason::ENHANCE_YOUR_CALM);
}

#[test]
fn a_zero_window_update_on_a_stream_resets_it() {
    let mut p = peer();
    p.request(1, "POST", "/", false);
    p.send_raw(Kind::WINDOW_UPDATE, 0, 1, &[0, 0, 0, 0]);
    assert_reset_and_still_serving(&mut p, 1, Reason::PROTOCOL_ERROR);
}

#[test]
fn a_stream_window_overflow_resets_it() {
    let mut p = peer();
    p.request(1, "POST", "/", false);
    p.window_update(1, 0x7fff_ffff);
    assert_reset_and_still_serving(&mut p, 1, Reason::FLOW_CONTROL_ERROR);
}

#[test]
fn a_stream_depending_on_itself_is_reset() {
    let mut p = peer();
    p.request(1, "POST", "/", false);
    p.send_raw(Kind::PRIORITY, 0, 1, &[0, 0, 0, 1, 16]);
    assert_reset_and_still_serving(&mut p, 1, Reason::PROTOCOL_ERROR);

    let mut p = peer();
    let block = p.block(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        (":authority", "a"),
    ]);
    let mut payload = vec![0, 0, 0, 3, 16];
    payload.extend_from_slice(&block);
    let all = flags::END_HEADERS | flags::END_STREAM | flags::PRIORITY;
    p.send_raw(Kind::HEADERS, all, 3, &payload);
    assert_reset_and_still_serving(&mut p, 3, Reason::PROTOCOL_ERROR);
    assert!(!p.requests.contains_key(&3));
}

#[test]
fn frames_after_the_client_ended_the_stream_reset_it() {
    let mut p = peer();
    p.get(1, "/");
    let _with_app = p.take_events();
    p.data(1, b"more", false);
    assert_reset_and_still_serving(&mut p, 1, Reason::STREAM_CLOSED);

    let mut p = peer();
    p.get(1, "/");
    let _with_app = p.take_events();
    p.headers(1, &[("x", "y")], true);
    assert_reset_and_still_serving(&mut p, 1, Reason::STREAM_CLOSED);
}

#[test]
fn malformed_requests_are_reset_without_an_event() {
    let mut p = peer();
    p.headers(1, &[(":method", "GET"), (":scheme", "https")], true);
    assert_reset_and_still_serving(&mut p, 1, Reason::PROTOCOL_ERROR);
    assert!(p.refusals.is_empty());

    let mut p = peer();
    p.request(1, "POST", "/", false);
    p.headers(1, &[("x-not-trailers", "1")], false);
    assert_reset_and_still_serving(&mut p, 1, Reason::PROTOCOL_ERROR);
}

#[test]
fn a_head_too_large_is_answered_431() {
    let limits = Limits {
        max_head_bytes: 1024,
        ..Limits::default()
    };
    let mut p = Peer::with_settings(limits, start(), &[]);
    let big = "c".repeat(2000);
    p.headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            (":authority", "a"),
            ("cookie", &big),
        ],
        true,
    );
    p.pump();
    assert_eq!(p.seen.status(1), Some(431));
    assert_eq!(p.refusals.len(), 1);
    assert_eq!(
        p.seen.reset_of(1),
        None,
        "the client had finished: no reset"
    );
    assert_eq!(p.seen.goaway, None);
}

#[test]
fn a_body_too_large_is_answered_413_then_reset_no_error() {
    let limits = Limits {
        max_body: 10,
        ..Limits::default()
    };
    let mut p = Peer::with_settings(limits, start(), &[]);
    p.request(1, "POST", "/", false);
    // The window is the limit plus one: enough to see the body go past it.
    p.data(1, b"01234567890", false);
    p.pump();
    assert_eq!(p.seen.status(1), Some(413));
    assert_eq!(p.seen.reset_of(1), Some(Reason::NO_ERROR));
    // What the client still sends on it is dropped quietly.
    p.data(1, b"more", true);
    p.get(3, "/");
    p.pump();
    assert_eq!(p.seen.status(3), Some(200));
    assert_eq!(p.seen.goaway, None);
}

#[test]
fn streams_over_the_concurrency_limit_are_refused() {
    let mut p = peer();
    for i in 0..MAX_CONCURRENT_STREAMS {
        p.request(1 + 2 * i, "POST", "/", false);
    }
    let over = 1 + 2 * MAX_CONCURRENT_STREAMS;
    p.request(over, "POST", "/", false);
    p.flush();
    assert_eq!(p.seen.resets, [(over, Reason::REFUSED_STREAM)]);
    // One finishes; there is room again.
    p.data(1, b"", true);
    p.pump();
    p.get(over + 2, "/");
    p.pump();
    assert_eq!(p.seen.status(over + 2), Some(200));
}

#[test]
fn a_body_that_stalls_is_answered_408() {
    let mut p = peer();
    p.request(1, "POST", "/", false);
    p.data(1, b"part", false);
    p.advance_clock(Limits::DEFAULT_HEADER_TIMEOUT);
    p.pump();
    assert_eq!(p.seen.status(1), Some(408));
    assert_eq!(p.seen.reset_of(1), Some(Reason::NO_ERROR));
    assert_eq!(p.seen.goaway, None);
}

/// httpwg's "sends priority frame with invalid length" raced here: once stream 1 was answered
/// and forgotten, a PRIORITY of the wrong length on it went unanswered. A closed stream may
/// not be reset (section 5.1), so the stream error is a connection error.
#[test]
fn a_stream_error_on_an_answered_stream_is_a_connection_error() {
    let mut p = peer();
    p.get(1, "/");
    p.pump();
    assert_eq!(p.seen.status(1), Some(200));
    p.send_raw(Kind::PRIORITY, 0, 1, &[0x80, 0, 0, 1]);
    assert_goaway(&mut p, Reason::FRAME_SIZE_ERROR);
}
