//! The defences of `guard.rs`, each tripped at its limit and not below it.

use super::*;
use crate::h2::frame::{flags, Kind};
use crate::h2::machine::guard::*;

fn calmed(p: &mut Peer) -> bool {
    p.flush();
    p.seen.goaway.map(|(_, reason)| reason) == Some(Reason::ENHANCE_YOUR_CALM)
}

/// Opens stream `id` with a GET and resets it at once: the rapid-reset pattern.
fn open_and_reset(p: &mut Peer, id: u32) {
    p.get(id, "/");
    p.send(Frame::RstStream(frame::RstStream::new(id, Reason::CANCEL)));
}

#[test]
fn rapid_reset_trips_past_its_limit() {
    let mut p = peer();
    let mut id = 1;
    for _ in 0..MAX_EARLY_RESETS {
        open_and_reset(&mut p, id);
        id += 2;
    }
    assert!(!calmed(&mut p), "at the limit, still served");
    open_and_reset(&mut p, id);
    assert!(calmed(&mut p));
    assert!(p.write_closed);
}

#[test]
fn rapid_reset_counts_start_again_after_a_window_of_streams() {
    let mut p = peer();
    let mut id = 1;
    for _ in 0..MAX_EARLY_RESETS {
        open_and_reset(&mut p, id);
        id += 2;
    }
    for _ in MAX_EARLY_RESETS..RESET_WINDOW_STREAMS {
        p.get(id, "/");
        p.pump();
        id += 2;
    }
    for _ in 0..MAX_EARLY_RESETS {
        open_and_reset(&mut p, id);
        id += 2;
    }
    assert!(!calmed(&mut p));
}

#[test]
fn resets_of_answered_streams_are_not_counted() {
    let mut p = peer();
    let mut id = 1;
    for _ in 0..=MAX_EARLY_RESETS {
        p.get(id, "/");
        p.pump();
        // Late: the response is complete, the stream already forgotten.
        p.send(Frame::RstStream(frame::RstStream::new(id, Reason::CANCEL)));
        id += 2;
    }
    assert!(!calmed(&mut p));
}

#[test]
fn made_you_reset_trips_past_its_limit() {
    let mut p = peer();
    let mut id = 1;
    for _ in 0..MAX_PROVOKED_RESETS {
        p.request(id, "POST", "/", false);
        // A WINDOW_UPDATE of 0 makes the server reset the stream (CVE-2025-8671).
        p.send_raw(Kind::WINDOW_UPDATE, 0, id, &[0, 0, 0, 0]);
        id += 2;
    }
    assert!(!calmed(&mut p));
    assert_eq!(p.seen.resets.len(), MAX_PROVOKED_RESETS as usize);
    p.request(id, "POST", "/", false);
    p.headers(id, &[("x", "not trailers")], false);
    assert!(calmed(&mut p));
}

#[test]
fn continuation_flood_trips_past_its_limit() {
    let block = |p: &mut Peer| {
        p.block(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            (":authority", "a"),
        ])
    };
    let mut p = peer();
    let fields = block(&mut p);
    p.send_raw(Kind::HEADERS, flags::END_STREAM, 1, &fields);
    for _ in 0..MAX_CONTINUATIONS - 1 {
        p.send_raw(Kind::CONTINUATION, 0, 1, &[]);
    }
    p.send_raw(Kind::CONTINUATION, flags::END_HEADERS, 1, &[]);
    p.pump();
    assert_eq!(p.seen.status(1), Some(200), "at the limit, still served");

    let mut p = peer();
    let fields = block(&mut p);
    p.send_raw(Kind::HEADERS, flags::END_STREAM, 1, &fields);
    for _ in 0..MAX_CONTINUATIONS {
        p.send_raw(Kind::CONTINUATION, 0, 1, &[]);
    }
    p.send_raw(Kind::CONTINUATION, flags::END_HEADERS, 1, &[]);
    assert!(calmed(&mut p));
}

#[test]
fn a_field_block_larger_than_we_buffer_trips() {
    let mut p = peer();
    let most = Limits::DEFAULT_MAX_HEAD_BYTES * MAX_BLOCK_FACTOR;
    // Literal octets that are never decoded: the cap is on the buffered block.
    p.send_raw(Kind::HEADERS, 0, 1, &vec![0; 16_384]);
    p.send_raw(Kind::CONTINUATION, 0, 1, &vec![0; most - 16_384]);
    p.flush();
    assert_eq!(p.seen.goaway, None, "exactly at the cap");
    p.send_raw(Kind::CONTINUATION, 0, 1, &[0]);
    assert!(calmed(&mut p));
}

#[test]
fn an_hpack_bomb_is_refused_with_431_and_the_connection_goes_on() {
    let mut p = peer();
    let value = "b".repeat(4000);
    // By hand, so that the client's encoder keeps its own table: GET, https, "/" from the
    // static table, :authority without indexing, then one x-bomb literal with incremental
    // indexing (RFC 7541 section 6.2.1) and seven references to it (index 62, the newest
    // dynamic entry), one octet each.
    let mut block = vec![0x82, 0x87, 0x84, 0x01, 0x01, b'a', 0x40, 6];
    block.extend_from_slice(b"x-bomb");
    // 4000 as an integer with a 7-bit prefix (RFC 7541 section 5.1): 127, then 3873.
    block.extend_from_slice(&[0x7f, 0xa1, 0x1e]);
    block.extend_from_slice(value.as_bytes());
    block.extend_from_slice(&[0xbe; 7]);
    let block = Bytes::from(block);
    let mut headers = frame::Headers::new(1, block);
    headers.end_stream = true;
    p.send(Frame::Headers(headers));
    p.pump();
    assert_eq!(p.seen.status(1), Some(431));
    p.get(3, "/after");
    p.pump();
    assert_eq!(p.seen.status(3), Some(200));
}

#[test]
fn a_ping_flood_from_a_client_that_does_not_read_trips() {
    let mut p = peer();
    // The client reads nothing from here on: every pong stays owed.
    for _ in 0..MAX_OWED_CONTROL_FRAMES {
        p.send(Frame::Ping(frame::Ping::new([1; 8])));
    }
    assert!(p.machine.connection_error().is_none(), "at the limit");
    p.send(Frame::Ping(frame::Ping::new([1; 8])));
    assert!(calmed(&mut p));
}

#[test]
fn pings_read_as_they_come_are_never_a_flood() {
    let mut p = peer();
    for _ in 0..MAX_OWED_CONTROL_FRAMES + 10 {
        p.send(Frame::Ping(frame::Ping::new([2; 8])));
        p.flush();
    }
    assert_eq!(p.seen.goaway, None);
}

#[test]
fn a_settings_flood_trips_like_a_ping_flood() {
    let mut p = peer();
    for _ in 0..=MAX_OWED_CONTROL_FRAMES {
        p.send(Frame::Settings(frame::Settings::default()));
    }
    assert!(calmed(&mut p));
}

#[test]
fn empty_data_frames_trip_past_their_limit() {
    let mut p = peer();
    p.request(1, "POST", "/", false);
    for _ in 0..MAX_EMPTY_FRAMES {
        p.data(1, b"", false);
    }
    assert!(!calmed(&mut p));
    p.data(1, b"", false);
    assert!(calmed(&mut p));
}

#[test]
fn one_octet_data_frames_trip_the_small_data_limit() {
    let mut p = peer();
    p.request(1, "POST", "/echo", false);
    // Every frame one octet: the average limit binds just past the slack.
    let trips_after = DATA_FRAMES_SLACK * MIN_AVERAGE_DATA_BYTES / (MIN_AVERAGE_DATA_BYTES - 1);
    for _ in 0..trips_after {
        p.data(1, b"x", false);
    }
    assert!(!calmed(&mut p), "at the limit, still served");
    for _ in 0..2 {
        p.data(1, b"x", false);
    }
    assert!(calmed(&mut p));
}

#[test]
fn data_frames_of_the_average_size_are_never_cut() {
    let mut p = peer();
    let chunk = vec![b'm'; MIN_AVERAGE_DATA_BYTES as usize];
    // Eight times the slack, each frame exactly the least average: a stream of small messages.
    for i in 0..8 * DATA_FRAMES_SLACK {
        if i % 64 == 0 {
            p.request(1 + 2 * (i / 64) as u32, "POST", "/echo", false);
        }
        p.data(1 + 2 * (i / 64) as u32, &chunk, i % 64 == 63);
        if i % 64 == 63 {
            p.pump();
        }
    }
    assert!(!calmed(&mut p));
}

#[test]
fn a_client_that_never_opens_its_window_is_cut_at_the_idle_timeout() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::INITIAL_WINDOW_SIZE, 0)],
    );
    p.get(1, "/big");
    p.answer_with(|_| Response::text(StatusCode::OK, "waiting for a window"));
    p.flush();
    assert!(p.seen.body_of(1).is_empty());
    assert!(!p.machine.wants_write());
    let idle = Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING;
    // PINGs keep the client looking alive; they do not open the window.
    p.now += idle - Duration::from_millis(1);
    p.send(Frame::Ping(frame::Ping::new([3; 8])));
    p.flush();
    p.machine.handle_timeout(p.now);
    assert!(!p.machine.is_closed());
    p.advance_clock(Duration::from_millis(1));
    assert!(p.machine.is_closed());
}

#[test]
fn memory_for_refused_streams_is_bounded_by_count() {
    let mut p = peer();
    let mut id = 1;
    for _ in 0..3 * CLOSED_REMEMBERED {
        p.request(id, "POST", "/", false);
        p.send_raw(Kind::WINDOW_UPDATE, 0, id, &[0, 0, 0, 0]);
        // A straggler on a stream we reset is dropped quietly.
        p.data(id, b"late", false);
        id += 2;
        p.flush();
        if p.seen.goaway.is_some() {
            break;
        }
    }
    assert!(p.machine.closed.len() <= CLOSED_REMEMBERED);
}

#[test]
fn the_body_held_is_counted_until_the_request_is_handed_out() {
    let mut p = peer();
    p.request(1, "POST", "/echo", false);
    p.data(1, b"four", false);
    p.data(1, b"more", false);
    assert_eq!(p.machine.held_request_bodies(), 8);
    p.data(1, b"", true);
    assert_eq!(
        p.machine.held_request_bodies(),
        0,
        "complete: the body left with the request"
    );
    p.pump();
    assert_eq!(p.seen.status(1), Some(200));
}
