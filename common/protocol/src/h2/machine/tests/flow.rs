//! Bodies against windows and frame sizes: DATA split by the client's SETTINGS_MAX_FRAME_SIZE
//! and flow-control windows, resumed by WINDOW_UPDATE, file regions, fair interleaving, and
//! the client's SETTINGS applied.

use super::*;

/// A response of `len` octets, `fill` each.
fn sized(len: usize, fill: u8) -> Response {
    Response::with_body(StatusCode::OK, "application/octet-stream", vec![fill; len])
}

#[test]
fn a_large_body_is_cut_by_frame_size_and_waits_for_window_update() {
    let mut p = peer();
    p.get(1, "/big");
    p.answer_with(|_| sized(100_000, b'b'));
    p.flush();
    // The client's windows start at 65,535 (stream and connection alike).
    assert_eq!(p.seen.data_frames[&1], [16_384, 16_384, 16_384, 16_383]);
    assert!(
        !p.machine.wants_write(),
        "blocked on the windows, nothing to write"
    );
    assert_eq!(p.machine.queued_output(), 100_000 - 65_535);
    p.window_update(1, 50_000);
    p.flush();
    assert_eq!(
        p.seen.data_frames[&1].len(),
        4,
        "the connection window is still spent"
    );
    p.window_update(0, 50_000);
    p.flush();
    assert_eq!(p.seen.body_of(1).len(), 100_000);
    assert_eq!(p.seen.ended, [1]);
    assert!(p.seen.data_frames[&1].iter().all(|&len| len <= 16_384));
    assert!(p.machine.is_idle());
}

#[test]
fn a_file_body_leaves_as_frame_headers_and_file_regions() {
    let mut p = peer();
    p.get(1, "/file");
    p.answer_with(|_| file_response(1000, 40_000));
    p.flush();
    assert_eq!(
        p.file_regions,
        [(1000, 16_384), (17_384, 16_384), (33_768, 7_232)]
    );
    assert_eq!(p.seen.body_of(1).len(), 40_000);
    assert_eq!(p.seen.ended, [1]);
}

#[test]
fn streams_take_turns_a_frame_at_a_time() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::INITIAL_WINDOW_SIZE, 1 << 20)],
    );
    p.window_update(0, 1 << 20);
    p.get(1, "/a");
    p.get(3, "/b");
    p.answer_with(|_| sized(40_000, b'x'));
    p.flush();
    assert_eq!(p.seen.data_order, [1, 3, 1, 3, 1, 3]);
    assert_eq!(p.seen.body_of(1).len(), 40_000);
    assert_eq!(p.seen.body_of(3).len(), 40_000);
}

#[test]
fn a_smaller_initial_window_and_its_increase_apply_to_open_streams() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::INITIAL_WINDOW_SIZE, 10)],
    );
    p.get(1, "/w");
    p.answer_with(|_| sized(100, b'w'));
    p.flush();
    assert_eq!(p.seen.data_frames[&1], [10]);
    assert!(!p.machine.wants_write());
    p.send(Frame::Settings(frame::Settings {
        ack: false,
        parameters: vec![(SettingId::INITIAL_WINDOW_SIZE, 100)],
    }));
    p.flush();
    assert_eq!(p.seen.data_frames[&1], [10, 90]);
    assert_eq!(p.seen.settings_acks, 2);
}

#[test]
fn a_larger_max_frame_size_carries_a_large_head_in_one_frame() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::MAX_FRAME_SIZE, 1 << 16)],
    );
    p.get(1, "/head");
    let value = "v".repeat(40_000);
    p.answer_with(|_| Response::new(StatusCode(204)).header("x-big", &value));
    p.flush();
    assert!(!p.seen.kinds.contains(&frame::Kind::CONTINUATION));
    assert_eq!(p.seen.field(1, "x-big").map(str::len), Some(40_000));
}

#[test]
fn a_header_table_size_of_zero_is_obeyed_by_the_encoder() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::HEADER_TABLE_SIZE, 0)],
    );
    // The server acknowledged: the client's decoder now requires the size update.
    p.decoder_table_size(0);
    p.get(1, "/a");
    p.get(3, "/b");
    p.pump();
    assert_eq!(p.seen.status(1), Some(200));
    assert_eq!(p.seen.status(3), Some(200));
    assert_eq!(p.decoder_table_len(), 0);
}

#[test]
fn a_request_body_larger_than_the_windows_is_credited_back() {
    let mut p = peer();
    p.request(1, "POST", "/up", false);
    let piece = vec![b'u'; 16_384];
    // 2.5 MiB: past half the connection window and five times half the stream window, which
    // is when credit is given back.
    let frames = 160;
    for _ in 0..frames {
        p.data(1, &piece, false);
    }
    p.data(1, b"end", true);
    p.pump();
    assert!(p.machine.connection_error().is_none());
    assert_eq!(p.requests[&1].body.len(), frames * 16_384 + 3);
    let credited = |stream: u32| -> u64 {
        p.seen
            .window_updates
            .iter()
            .filter(|(id, _)| *id == stream)
            .map(|(_, increment)| u64::from(*increment))
            .sum()
    };
    assert_eq!(
        credited(1),
        5 * 524_288,
        "the stream's half-window, five times"
    );
    assert!(credited(0) > u64::from(CONNECTION_WINDOW - 65_535) + 2_000_000);
}

#[test]
fn data_beyond_the_stream_window_resets_the_stream() {
    let limits = Limits {
        max_body: 10_000,
        ..Limits::default()
    };
    let mut p = Peer::with_settings(limits, start(), &[]);
    p.request(1, "POST", "/up", false);
    p.data(1, &[0; 16_000], false);
    p.flush();
    assert_eq!(p.seen.reset_of(1), Some(Reason::FLOW_CONTROL_ERROR));
    p.get(3, "/still");
    p.pump();
    assert_eq!(p.seen.status(3), Some(200));
}

#[test]
fn a_streamed_body_waits_for_window_like_any_other() {
    let mut p = Peer::with_settings(
        Limits::default(),
        start(),
        &[(SettingId::INITIAL_WINDOW_SIZE, 5)],
    );
    p.get(1, "/s");
    p.answer_with(|_| {
        let chunks = vec![Ok(Bytes::from_static(b"0123456789"))];
        let mut response = Response::new(StatusCode::OK);
        response.body = Body::Stream(Box::new(chunks.into_iter()));
        response
    });
    p.flush();
    assert_eq!(p.seen.body_of(1), b"01234");
    assert!(!p.machine.wants_write());
    p.window_update(1, 5);
    p.flush();
    assert_eq!(p.seen.body_of(1), b"0123456789");
    assert_eq!(p.seen.ended, [1]);
}

/// Connection-level credit the server has given back so far, in WINDOW_UPDATEs on stream 0
/// (the preface's own raise of the window included).
fn connection_credit(p: &Peer) -> u64 {
    p.seen
        .window_updates
        .iter()
        .filter(|(stream, _)| *stream == 0)
        .map(|&(_, increment)| u64::from(increment))
        .sum()
}

/// Sends up to `len` octets of body on `stream` in frames of the default maximum size, as
/// far as the connection window the server has opened allows (each stream's own window is
/// larger than `len`); returns how many it sent.
fn upload(p: &mut Peer, stream: u32, len: usize, sent: &mut u64) -> usize {
    let chunk = vec![b'u'; 16_384];
    let mut done = 0;
    while done < len {
        let window = 65_535 + connection_credit(p) - *sent;
        let n = (len - done).min(chunk.len()).min(window as usize);
        if n == 0 {
            break;
        }
        p.data(stream, &chunk[..n], false);
        p.flush();
        *sent += n as u64;
        done += n;
    }
    done
}

/// Request bodies held across streams are bounded (BODY_BUDGET_FACTOR): past the budget the
/// server gives no more connection credit, so a client with many streams cannot make it hold
/// many bodies: it runs out of window at about the budget plus one connection window. Once
/// the bodies leave for the application, credit flows again.
#[test]
fn bodies_held_across_streams_stay_within_the_budget() {
    let limits = Limits {
        max_body: 2 << 20,
        ..Limits::default()
    };
    let mut p = Peer::with_settings(limits, start(), &[]);
    let budget = 4u64 << 20; // 2 x max_body, and at least one connection window
    let mut sent = 0;
    let mut streams = Vec::new();
    // Uploads of 1 MiB less one frame each (within a stream's window), none ended, on up to
    // 40 streams: 40 MiB if nothing held the client back.
    for stream in (1..80).step_by(2) {
        p.request(stream, "POST", "/echo", false);
        streams.push(stream);
        if upload(&mut p, stream, (1 << 20) - 16_384, &mut sent) < (1 << 20) - 16_384 {
            break;
        }
    }
    assert!(sent > budget, "the budget was reached ({sent} octets)");
    assert!(
        sent <= budget + u64::from(CONNECTION_WINDOW),
        "{sent} octets held, past the budget and one window"
    );
    assert_eq!(
        65_535 + connection_credit(&p),
        sent,
        "the client is out of window"
    );
    assert!(
        p.machine.connection_error().is_none(),
        "back-pressure, not an error"
    );
    // Every upload ends and goes to the application: the credit comes back.
    for &stream in &streams {
        p.data(stream, b"", true);
    }
    p.answer_with(crate::pump::echo);
    p.flush();
    assert!(
        65_535 + connection_credit(&p) > sent,
        "credit flows again once the bodies have left"
    );
    assert_eq!(p.requests.len(), streams.len());
}
