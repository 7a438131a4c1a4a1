//! Request bodies (RFC 9112 section 6): by `Content-Length`, chunked (section 7.1, with chunk
//! extensions and trailers), empty, and behind `Expect: 100-continue` (RFC 9110 section 10.1.1).
//! `POST /echo` sends the received body back, so the framing the server decoded is visible.

use std::thread;

use stagekit::{Server, Stage};

use crate::support::*;

pub fn echo_with_content_length(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &request("POST", "/echo", &[], b"hello world"));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.body, b"hello world");
}

pub fn echo_chunked_with_extensions_and_trailers(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let sent = request(
        "POST",
        "/echo",
        &["Transfer-Encoding: chunked", "Trailer: X-Checksum"],
        b"5;name=value\r\nhello\r\n6;quoted=\"a b\";flag\r\n world\r\n0;last\r\nX-Checksum: 42\r\n\r\n",
    );
    let mut conn = connect(&server);
    conn.send(&sent).or_fail("sending");
    let response = expect_status(&mut conn, &sent, 200);
    assert_eq!(response.text(), "hello world", "{response}");
    // The trailers belong to the body: the next request must start right after them.
    conn.send(get("/plaintext"))
        .or_fail("sending after the chunked request");
    expect_status(&mut conn, &get("/plaintext"), 200);
}

pub fn echo_zero_length_body(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let sent = request("POST", "/echo", &["Content-Length: 0"], b"");
    conn.send(&sent).or_fail("sending");
    let response = expect_status(&mut conn, &sent, 200);
    assert!(response.body.is_empty(), "{response}");
    let sent = request(
        "POST",
        "/echo",
        &["Transfer-Encoding: chunked"],
        b"0\r\n\r\n",
    );
    conn.send(&sent).or_fail("sending");
    let response = expect_status(&mut conn, &sent, 200);
    assert!(response.body.is_empty(), "{response}");
}

/// RFC 9112 section 6.3, rule 7: a request with neither `Content-Length` nor
/// `Transfer-Encoding` has a body of length zero.
pub fn post_without_framing_has_an_empty_body(stage: &Stage) {
    let sent = b"POST /echo HTTP/1.1\r\nHost: test\r\n\r\n";
    let response = expect_accepted(stage, sent, 200);
    assert!(response.body.is_empty(), "{response}");
}

/// The server answers `100 Continue` before the client sends the body, then the final response.
pub fn expect_100_continue_gets_100_then_the_response(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let head =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n";
    conn.send(head).or_fail("sending the head");
    let interim = expect_status(&mut conn, head, 100);
    assert_eq!(interim.minor_version, 1, "{interim}");
    assert!(interim.body.is_empty());
    conn.send(b"hello world").or_fail("sending the body");
    let response = expect_status(&mut conn, head, 200);
    assert_eq!(response.text(), "hello world");
}

/// A body far larger than any read buffer, written from another thread so that a server that
/// answers while still reading cannot deadlock the test.
pub fn large_body_is_echoed_exactly(stage: &Stage) {
    const SIZE: usize = 3 * 1024 * 1024 + 17;
    let server = Server::start(stage, &[]);
    let body = pattern(SIZE);
    let sent = request("POST", "/echo", &[], &body);
    let mut conn = connect(&server);
    let mut writer = conn.writer();
    let sender = thread::spawn(move || std::io::Write::write_all(&mut writer, &sent));
    let response = conn.read_response().or_fail("reading the echo");
    sender
        .join()
        .expect("the writer thread only writes")
        .or_fail("sending the body");
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.body.len(), SIZE);
    assert!(
        response.body == body,
        "the echoed body differs from the one sent"
    );
}

/// RFC 9110 section 5.5: a field value excludes the whitespace around it.
pub fn content_length_with_surrounding_whitespace_is_accepted(stage: &Stage) {
    let sent = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: \t 5 \t\r\n\r\nhello";
    let response = expect_accepted(stage, sent, 200);
    assert_eq!(response.text(), "hello");
}

/// RFC 9112 section 7: transfer coding names are case-insensitive.
pub fn transfer_coding_names_are_case_insensitive(stage: &Stage) {
    let sent = b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let response = expect_accepted(stage, sent, 200);
    assert_eq!(response.text(), "hello");
}

/// RFC 9110 section 8.6 lets a recipient accept repeated identical `Content-Length` values;
/// this project does, as a single value.
pub fn identical_duplicate_content_length_is_accepted(stage: &Stage) {
    let sent =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
    let response = expect_accepted(stage, sent, 200);
    assert_eq!(response.text(), "hello");
}
