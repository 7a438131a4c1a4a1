//! Tests of the whole connection machine: bytes in, responses out, clocks passed by hand.

use std::io;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::connection::{Event, Transmit};
use crate::message::{Body, Response, StatusCode};
use crate::pump::Pump;

/// The shared pump (crate::pump), started now: the clock moves only when a test says so.
fn harness() -> Pump {
    Pump::new(Instant::now())
}

fn harness_with(limits: Limits) -> Pump {
    Pump::with_limits(limits, Instant::now())
}

#[test]
fn answers_a_request_with_date_and_length() {
    let mut h = harness();
    h.feed(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        h.output(),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
         content-length: 7\r\n\r\nGET /a "
    );
    assert!(!h.conn.is_closed());
    assert!(h.conn.is_idle());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = harness();
    h.feed(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    let targets: Vec<_> = h.seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/1", "/2", "/3"]);
    let out = h.output();
    let (one, two, three) = (
        out.find("GET /1").unwrap(),
        out.find("POST /2 hi").unwrap(),
        out.find("GET /3").unwrap(),
    );
    assert!(one < two && two < three);
}

#[test]
fn more_pipelined_requests_than_the_limit_are_all_answered() {
    let mut h = harness();
    let batch = "GET /p HTTP/1.1\r\nHost: x\r\n\r\n".repeat(Limits::DEFAULT_MAX_PIPELINED * 3);
    h.feed(batch.as_bytes());
    assert_eq!(h.seen.len(), Limits::DEFAULT_MAX_PIPELINED * 3);
}

#[test]
fn keep_alive_follows_version_and_connection() {
    let mut h = harness();
    h.feed(b"GET / HTTP/1.0\r\n\r\n");
    assert!(h.output().contains("connection: close\r\n"));
    assert!(h.write_closed);

    let mut h = harness();
    h.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /again HTTP/1.0\r\n\r\n");
    assert_eq!(h.seen.len(), 2);
    assert!(h.output().contains("connection: keep-alive\r\n"));

    let mut h = harness();
    h.feed(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        h.seen.len(),
        1,
        "nothing after Connection: close is read as a request"
    );
    assert!(h.output().contains("connection: close\r\n"));
}

#[test]
fn the_last_request_allowed_closes_the_connection() {
    let limits = Limits {
        max_requests_per_connection: 2,
        ..Limits::default()
    };
    let mut h = harness_with(limits);
    h.feed(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(h.seen.len(), 2);
    assert_eq!(h.output().matches("connection: close").count(), 1);
}

#[test]
fn head_gets_the_length_but_no_body_and_204_gets_neither() {
    let mut h = harness();
    h.feed(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        h.output().ends_with("content-length: 8\r\n\r\n"),
        "{}",
        h.output()
    );

    let mut h = harness();
    h.conn
        .handle_input(b"DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    h.pump_with(|_| Response::with_body(StatusCode::NO_CONTENT, "text/plain", "ignored"));
    assert!(!h.output().contains("content-length"));
    assert!(!h.output().contains("ignored"));
}

#[test]
fn handler_framing_fields_are_replaced() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    h.pump_with(|_| {
        Response::with_body(StatusCode::OK, "text/plain", "four")
            .header("Content-Length", "999")
            .header("Transfer-Encoding", "chunked")
            .header("Connection", "close")
    });
    assert_eq!(h.output().matches("content-length: 4\r\n").count(), 1);
    assert!(!h.output().to_ascii_lowercase().contains("999"));
    assert!(!h.output().contains("chunked"));
    assert!(!h.conn.is_closed());
}

#[test]
fn streams_are_chunked_for_http11_and_close_delimited_for_http10() {
    fn streaming(_: &Request) -> Response {
        let pieces = vec![
            Ok(Bytes::from_static(b"ab")),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"cde")),
        ];
        let mut response = Response::new(StatusCode::OK);
        response.body = Body::Stream(Box::new(pieces.into_iter()));
        response
    }
    let mut h = harness();
    h.conn
        .handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    h.pump_with(streaming);
    assert!(
        h.output()
            .ends_with("transfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        "{}",
        h.output()
    );
    assert!(!h.conn.is_closed());

    let mut h = harness();
    h.conn
        .handle_input(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", h.now);
    h.pump_with(streaming);
    assert!(
        h.output().ends_with("connection: close\r\n\r\nabcde"),
        "{}",
        h.output()
    );
    assert!(h.write_closed);
}

#[test]
fn a_failing_stream_closes_without_the_last_chunk() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    h.pump_with(|_| {
        let pieces = vec![
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("disk gone")),
        ];
        let mut response = Response::new(StatusCode::OK);
        response.body = Body::Stream(Box::new(pieces.into_iter()));
        response
    });
    assert!(h.output().ends_with("2\r\nab\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn expect_continue_is_sent_only_when_the_body_is_awaited() {
    let mut h = harness();
    h.feed(b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(h.output(), "HTTP/1.1 100 Continue\r\n\r\n");
    h.feed(b"abc");
    assert_eq!(h.statuses(), [100, 200]);

    // The body came with the head: no interim response.
    let mut h = harness();
    h.feed(b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(h.statuses(), [200]);

    // Too large: 413 and no 100.
    let limits = Limits {
        max_body: 2,
        ..Limits::default()
    };
    let mut h = harness_with(limits);
    h.feed(b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(h.statuses(), [413]);
}

#[test]
fn continue_waits_for_earlier_pipelined_responses() {
    let mut h = harness();
    h.conn.handle_input(
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\nPOST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        h.now,
    );
    // Before the application answers /first, nothing may be written.
    let Some(Event::Request { id, request: first }) = h.conn.poll_event() else {
        panic!("expected /first")
    };
    assert_eq!(first.target, "/first");
    assert!(h.conn.poll_transmit().is_none());
    h.conn
        .send_response(id, Response::new(StatusCode::OK), SystemTime::UNIX_EPOCH);
    h.pump();
    assert_eq!(h.statuses(), [200, 100]);
}

#[test]
fn every_refusal_closes_and_nothing_after_it_is_answered() {
    let next = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases: &[(&str, u16)] = &[
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\0\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000003\r\nabc\r\n0\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
    ];
    for (bad, status) in cases {
        let mut h = harness();
        h.feed(format!("{bad}{next}").as_bytes());
        assert_eq!(h.statuses(), [*status], "{bad:?}");
        assert!(h.output().contains("connection: close\r\n"), "{bad:?}");
        assert!(!h.output().contains("/smuggled"), "{bad:?}");
        assert!(h.seen.is_empty(), "{bad:?}");
        assert!(h.write_closed, "{bad:?}");
        // Lingering: what the client still sends is read and thrown away, then the socket closes.
        assert!(h.conn.wants_read());
        h.feed(next.as_bytes());
        assert_eq!(h.statuses(), [*status], "{bad:?}");
        h.advance_clock(LINGER_TIMEOUT);
        assert!(h.conn.is_closed(), "{bad:?}");
    }
}

#[test]
fn a_refusal_after_good_pipelined_requests_comes_after_their_answers() {
    let mut h = harness();
    h.feed(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(h.statuses(), [200, 400]);
    assert_eq!(h.seen.len(), 1);
}

#[test]
fn size_limits_are_enforced_before_the_whole_thing_arrives() {
    let mut h = harness();
    h.feed(format!("GET /{}", "a".repeat(9000)).as_bytes());
    assert_eq!(h.statuses(), [414]);

    let mut h = harness();
    h.feed(b"GET / HTTP/1.1\r\nHost: x\r\n");
    for _ in 0..400 {
        h.feed(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    assert_eq!(h.statuses(), [431]);

    let limits = Limits {
        max_body: 10,
        ..Limits::default()
    };
    let mut h = harness_with(limits);
    h.feed(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n",
    );
    assert_eq!(h.statuses(), [413]);
}

#[test]
fn chunked_bodies_and_trailers_reach_the_application() {
    let mut h = harness();
    h.feed(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nChecksum: abc\r\n\r\n");
    assert_eq!(&h.seen[0].body[..], b"Wikipedia");
    assert_eq!(h.seen[0].trailers.get_str("checksum"), Some("abc"));
    assert!(
        h.seen[0].headers.get("checksum").is_none(),
        "trailers stay apart from headers"
    );
}

#[test]
fn slowloris_gets_408_and_idle_connections_close_quietly() {
    let limits = Limits {
        header_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let mut h = harness_with(limits.clone());
    h.feed(b"GET / HTTP/1.1\r\nHo");
    h.advance_clock(Duration::from_secs(1));
    assert!(h.wire.is_empty());
    h.feed(b"st: x\r\n");
    h.advance_clock(Duration::from_secs(1));
    assert_eq!(
        h.statuses(),
        [408],
        "the header timeout counts from the first byte"
    );

    let mut h = harness_with(limits.clone());
    h.advance_clock(Duration::from_secs(4));
    assert!(!h.conn.is_closed());
    h.advance_clock(Duration::from_secs(1));
    assert!(h.conn.is_closed());
    assert!(h.wire.is_empty());

    // Idle time restarts after each response.
    let mut h = harness_with(limits.clone());
    h.advance_clock(Duration::from_secs(4));
    h.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    h.advance_clock(Duration::from_secs(4));
    assert!(!h.conn.is_closed());
    h.advance_clock(Duration::from_secs(1));
    assert!(h.conn.is_closed());

    // A body that stops arriving.
    let mut h = harness_with(limits);
    h.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    h.advance_clock(Duration::from_secs(2));
    assert_eq!(h.statuses(), [408]);
}

/// Gives `wire` to the connection and answers its first request with a megabyte that nobody
/// has read yet.
fn answer_first_with_a_megabyte(h: &mut Pump, wire: &[u8]) {
    h.conn.handle_input(wire, h.now);
    let Some(Event::Request { id, .. }) = h.conn.poll_event() else {
        panic!("expected a request")
    };
    let big = Response::with_body(
        StatusCode::OK,
        "application/octet-stream",
        vec![0u8; 1 << 20],
    );
    h.conn.send_response(id, big, SystemTime::UNIX_EPOCH);
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_idle_timeout() {
    let mut h = harness();
    answer_first_with_a_megabyte(&mut h, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        !h.conn.wants_read(),
        "no more requests are read while a megabyte waits unsent"
    );
    h.now += Limits::default().idle_timeout;
    h.conn.handle_timeout(h.now);
    assert!(h.conn.is_closed());
}

#[test]
fn no_request_is_handed_out_while_a_large_response_waits_unwritten() {
    let mut h = harness();
    answer_first_with_a_megabyte(
        &mut h,
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert!(
        h.conn.poll_event().is_none(),
        "/2 waits while a megabyte is queued"
    );
    h.pump();
    assert_eq!(h.statuses(), [200, 200], "once written, /2 is answered");
}

#[test]
fn queued_output_counts_file_regions_and_shrinks_as_they_are_written() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    let Some(Event::Request { id, .. }) = h.conn.poll_event() else {
        panic!("expected a request")
    };
    assert_eq!(h.conn.queued_output(), 0);
    let file = tempfile_with(&[7u8; 100_000]);
    let region = crate::message::FileRegion {
        file: std::sync::Arc::new(std::os::fd::OwnedFd::from(file)),
        offset: 0,
        len: 100_000,
    };
    let mut response = Response::new(StatusCode::OK);
    response.body = Body::File(region);
    h.conn.send_response(id, response, SystemTime::UNIX_EPOCH);
    let queued = h.conn.queued_output();
    assert!(
        queued > 100_000 && queued < 100_500,
        "the head plus the whole region, got {queued}"
    );
    assert!(
        h.conn.wants_read(),
        "a file region is not in memory: reading goes on (the driver decides from queued_output)"
    );
    // Write the head, then part of the file.
    let Some(Transmit::Bytes(head)) = h.conn.poll_transmit() else {
        panic!("the head comes first")
    };
    let head_len = head.len();
    h.conn.advance(head_len, h.now);
    h.conn.advance(60_000, h.now);
    assert_eq!(h.conn.queued_output(), 40_000);
}

#[test]
fn an_ended_stream_counts_nothing_behind_the_last_chunk() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    let Some(Event::Request { id, .. }) = h.conn.poll_event() else {
        panic!("expected a request")
    };
    let mut response = Response::new(StatusCode::OK);
    response.body = Body::Stream(Box::new(std::iter::once(Ok(Bytes::from_static(b"piece")))));
    h.conn.send_response(id, response, SystemTime::UNIX_EPOCH);
    // Write everything up to the last chunk: the head, then the one piece.
    for _ in 0..2 {
        let Some(Transmit::Bytes(bytes)) = h.conn.poll_transmit() else {
            panic!("bytes come first")
        };
        let len = bytes.len();
        h.conn.advance(len, h.now);
    }
    // Only the stream is left: before it is asked, it weighs; after, only `0\r\n\r\n` is left,
    // and a driver deciding MSG_MORE must see exactly that.
    assert_eq!(h.conn.queued_output_before_transmit(), 5);
    let Some(Transmit::Bytes(last)) = h.conn.poll_transmit() else {
        panic!("the last chunk")
    };
    assert_eq!(last, b"0\r\n\r\n");
}

/// An anonymous file holding `bytes` (created in the temp dir and unlinked at once).
fn tempfile_with(bytes: &[u8]) -> std::fs::File {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!(
        "common-http1-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("the temp dir is writable");
    let _ = std::fs::remove_file(&path);
    file.write_all(bytes).expect("the temp dir is writable");
    file
}

#[test]
fn eof_after_complete_requests_still_answers_them() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTT", h.now);
    h.conn.handle_eof();
    h.pump();
    assert_eq!(h.seen.len(), 1);
    assert!(h.conn.is_closed(), "after EOF there is no need to linger");
    assert!(!h.write_closed);
}

#[test]
fn leading_empty_lines_are_skipped() {
    let mut h = harness();
    h.feed(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(h.statuses(), [200]);
}

/// Requests as a client would write them, for the round-trip and splitting properties.
fn serialize_request(
    method: &str,
    target: &str,
    fields: &[(String, String)],
    body: &[u8],
    chunked: bool,
) -> Vec<u8> {
    let mut wire = format!("{method} {target} HTTP/1.1\r\nHost: example.com\r\n").into_bytes();
    for (name, value) in fields {
        wire.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if chunked {
        wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for piece in body.chunks(7) {
            chunked::encode_chunk(piece, &mut wire);
        }
        wire.extend_from_slice(chunked::LAST_CHUNK);
    } else {
        wire.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        wire.extend_from_slice(body);
    }
    wire
}

fn field_name() -> impl Strategy<Value = String> {
    "x-[a-z0-9-]{1,12}"
}

fn field_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,30}[!-~])?"
}

fn parse_all(wire: &[u8], split: usize) -> (Vec<Request>, Vec<u16>) {
    // Through the room the connection lends, as a socket read would arrive.
    let mut h = harness();
    h.feed_reads(&wire[..split], &mut crate::pump::echo);
    h.feed_reads(&wire[split..], &mut crate::pump::echo);
    let statuses = h.statuses();
    (h.seen, statuses)
}

fn same_request(a: &Request, b: &Request) -> bool {
    a.method == b.method
        && a.target == b.target
        && a.body == b.body
        && a.headers.iter().eq(b.headers.iter())
        && a.trailers.iter().eq(b.trailers.iter())
}

proptest! {
    /// Serializing a request and parsing it gives back what was serialized.
    #[test]
    fn serialize_then_parse_round_trips(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "PURGE"]),
        target in "/[a-zA-Z0-9._~/%-]{0,40}(\\?[a-z0-9=&]{0,20})?",
        fields in prop::collection::vec((field_name(), field_value()), 0..10),
        body in prop::collection::vec(any::<u8>(), 0..200),
        chunked in any::<bool>(),
    ) {
        let wire = serialize_request(method, &target, &fields, &body, chunked);
        let (seen, statuses) = parse_all(&wire, wire.len());
        prop_assert_eq!(statuses, vec![200]);
        prop_assert_eq!(seen.len(), 1);
        let request = &seen[0];
        prop_assert_eq!(request.method.as_str(), method);
        prop_assert_eq!(&request.target, &target);
        prop_assert_eq!(&request.body, &body);
        for (name, value) in &fields {
            prop_assert!(request.headers.get_all(name).any(|v| v == value.as_bytes()));
        }
    }

    /// A stream of requests split at any byte parses exactly as when it arrives whole.
    #[test]
    fn a_split_at_any_byte_parses_the_same(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 1..4),
        chunked in any::<bool>(),
        split in any::<prop::sample::Index>(),
    ) {
        let mut wire = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            wire.extend(serialize_request("POST", &format!("/r{i}"), &[], body, chunked));
        }
        let (whole, whole_statuses) = parse_all(&wire, wire.len());
        let (split_seen, split_statuses) = parse_all(&wire, split.index(wire.len() + 1));
        prop_assert_eq!(whole.len(), bodies.len());
        prop_assert_eq!(whole_statuses, split_statuses);
        prop_assert!(whole.iter().zip(&split_seen).all(|(a, b)| same_request(a, b)));
        prop_assert_eq!(whole.len(), split_seen.len());
    }

    /// No input, however it is cut up, makes the machine panic or answer out of turn.
    #[test]
    fn arbitrary_bytes_never_panic(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
    ) {
        let mut h = harness();
        for piece in &pieces {
            h.feed(piece);
        }
        h.conn.handle_eof();
        h.pump();
        h.advance_clock(Duration::from_secs(60));
        prop_assert!(h.conn.is_closed());
    }

    /// Inputs that look almost like requests reach deeper states than random bytes do.
    #[test]
    fn mutated_requests_never_panic(
        noise in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        chunked in any::<bool>(),
    ) {
        let mut wire = serialize_request("POST", "/x", &[("x-a".into(), "b".into())], b"hello world", chunked);
        for (at, byte) in noise {
            let i = at.index(wire.len());
            wire[i] = byte;
        }
        let mut h = harness();
        h.feed(&wire);
        h.conn.handle_eof();
        h.pump();
        // Whatever was made of the bytes, everything received was answered and the connection
        // is finished: nothing is left waiting.
        prop_assert!(h.conn.is_closed(), "{:?}", h.output());
    }
}

proptest! {
    /// The fuzz targets' own checks hold on random input too, so they run in every `cargo test`.
    #[test]
    fn fuzz_entry_points_hold_their_checks(data in prop::collection::vec(any::<u8>(), 0..400)) {
        crate::pump::fuzz_connection(&data, Instant::now());
        chunked::fuzz_decode(&data);
    }
}

// ANCHOR: zero_copy_tests
#[test]
fn a_request_read_through_read_buf_is_a_view_of_the_bytes_read() {
    let mut h = harness();
    let wire = b"POST /echo?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    let room = h.conn.read_buf();
    let room_start = room.as_ptr() as usize;
    room[..wire.len()].copy_from_slice(wire);
    h.conn.handle_read(wire.len(), h.now);
    let Some(Event::Request { request, .. }) = h.conn.poll_event() else {
        panic!("expected a request")
    };
    let within_room = |bytes: &[u8]| {
        let at = bytes.as_ptr() as usize;
        at >= room_start && at + bytes.len() <= room_start + wire.len()
    };
    assert_eq!(request.target, "/echo?x=1");
    assert!(
        within_room(request.target.as_bytes()),
        "the target is not a copy"
    );
    assert!(
        within_room(request.headers.get("host").unwrap()),
        "nor the fields"
    );
    assert_eq!(&request.body[..], b"hello");
    assert!(within_room(&request.body), "nor a Content-Length body");
}

#[test]
fn a_body_of_known_length_gets_room_for_all_of_it_and_arrives_in_place() {
    let mut h = harness();
    let body = vec![b'z'; 200_000];
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    h.conn.handle_input(head.as_bytes(), h.now);
    let room = h.conn.read_buf();
    assert!(
        room.len() >= body.len(),
        "room for the whole body: {}",
        room.len()
    );
    let room_start = room.as_ptr() as usize;
    room[..body.len()].copy_from_slice(&body);
    h.conn.handle_read(body.len(), h.now);
    let Some(Event::Request { request, .. }) = h.conn.poll_event() else {
        panic!("expected the request once its body is complete")
    };
    assert_eq!(request.body.len(), body.len());
    assert_eq!(
        request.body.as_ptr() as usize,
        room_start,
        "read once, never copied"
    );
}

#[test]
fn a_split_body_completes_across_reads_and_pipelined_bytes_after_it_are_kept() {
    let mut h = harness();
    let wire = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    for piece in wire.chunks(7) {
        h.feed_reads(piece, &mut crate::pump::echo);
    }
    assert_eq!(h.statuses(), [200, 200]);
    assert_eq!(&h.seen[0].body[..], b"0123456789");
    assert_eq!(h.seen[1].target, "/b");
}
// ANCHOR_END: zero_copy_tests

#[test]
fn every_request_carries_its_own_id_in_arrival_order() {
    let mut h = harness();
    h.conn.handle_input(
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
        h.now,
    );
    let Some(Event::Request { id: first, .. }) = h.conn.poll_event() else {
        panic!("expected /1")
    };
    assert!(h.conn.poll_event().is_none(), "one request out at a time");
    h.conn
        .send_response(first, Response::new(StatusCode::OK), SystemTime::UNIX_EPOCH);
    let Some(Event::Request { id: second, .. }) = h.conn.poll_event() else {
        panic!("expected /2")
    };
    assert_ne!(first, second);
    assert_eq!(second.0, first.0 + 1);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "in flight")]
fn a_response_for_an_id_not_in_flight_is_a_driver_bug() {
    let mut h = harness();
    h.conn
        .handle_input(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", h.now);
    let Some(Event::Request { id, .. }) = h.conn.poll_event() else {
        panic!("expected /1")
    };
    let wrong = crate::StreamId(id.0 + 7);
    h.conn
        .send_response(wrong, Response::new(StatusCode::OK), SystemTime::UNIX_EPOCH);
}

#[test]
fn requests_held_back_by_unwritten_output_are_reported_and_released_by_writes() {
    let mut h = harness();
    h.conn.handle_input(
        b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
        h.now,
    );
    let Some(Event::Request { id, .. }) = h.conn.poll_event() else {
        panic!("expected /big")
    };
    assert!(!h.conn.holds_back_requests(), "nothing is queued yet");
    let big = Response::with_body(StatusCode::OK, "text/plain", vec![b'x'; 100_000]);
    h.conn.send_response(id, big, SystemTime::UNIX_EPOCH);
    assert!(
        h.conn.holds_back_requests(),
        "/next waits behind 100 kB of output"
    );
    assert!(h.conn.poll_event().is_none());
    h.pump();
    assert!(!h.conn.holds_back_requests());
    assert_eq!(h.statuses(), [200, 200], "once written, /next is answered");
}

#[test]
fn a_large_written_buffer_is_given_back_and_a_small_one_kept_for_the_next_response() {
    let mut writer = response::ResponseWriter::new();
    let small = Response::with_body(StatusCode::OK, "text/plain", "Hello, World!");
    writer.write_response(small, Version::Http11, false, true, SystemTime::UNIX_EPOCH);
    let Ok(Some(Transmit::Bytes(bytes))) = writer.front() else {
        panic!("a small response is one buffer")
    };
    let len = bytes.len();
    writer.advance(len);
    let kept = writer.spare_capacity();
    assert!(kept > 0 && kept <= response::SPARE_KEPT, "kept {kept}");

    let file_sized = Response::with_body(StatusCode::OK, "text/css", vec![b'x'; 10_000]);
    writer.write_response(
        file_sized,
        Version::Http11,
        false,
        true,
        SystemTime::UNIX_EPOCH,
    );
    let Ok(Some(Transmit::Bytes(bytes))) = writer.front() else {
        panic!("a 10 kB body is copied behind its head")
    };
    let len = bytes.len();
    writer.advance(len);
    assert_eq!(
        writer.spare_capacity(),
        0,
        "10 kB are not kept by an idle connection"
    );
}

#[test]
fn requests_carry_the_peer_the_driver_named_on_every_kind_of_connection() {
    let peer: core::net::SocketAddr = "[::1]:4242".parse().expect("an address");
    let start = Instant::now();
    for conn in [
        crate::connection::Connection::new(Limits::default(), start),
        crate::connection::Connection::new_cleartext(Limits::default(), start),
    ] {
        let mut h = harness();
        h.conn = conn.with_peer(Some(peer));
        let mut peers = Vec::new();
        h.feed_reads(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
            &mut |request: &Request| {
                peers.push(request.peer);
                crate::pump::echo(request)
            },
        );
        assert_eq!(peers, [Some(peer), Some(peer)]);
    }
    // A connection the driver said nothing about has no peer.
    let mut h = harness();
    let mut peers = Vec::new();
    h.feed_reads(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &mut |request: &Request| {
            peers.push(request.peer);
            crate::pump::echo(request)
        },
    );
    assert_eq!(peers, [None]);
}

mod stopping_and_waiting;
