//! Size limits (design.md, "Defaults for limits"): 414 for a request line over 8 KiB, 431 for a
//! head over 16 KiB or more than 100 fields, 413 for a body over `--max-body`, decided from the
//! declared length before the body is read. Each refusal closes the connection and never
//! answers the request appended to it (see `expect_rejected`).

use stagekit::{Server, Stage};

use crate::support::*;

const MAX_BODY: &str = "1000";

pub fn request_line_over_8_kib_is_414(stage: &Stage) {
    let target = format!("/{}", "a".repeat(9 * 1024));
    expect_rejected(stage, &[], &get(&target), 414);
}

/// Seventeen fields of 1000 bytes: under the field-count limit, over the size limit.
pub fn head_over_16_kib_is_431(stage: &Stage) {
    let value = "v".repeat(1000);
    let fields: Vec<String> = (0..17).map(|i| format!("X-Big-{i}: {value}")).collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    expect_rejected(stage, &[], &request("GET", "/plaintext", &fields, b""), 431);
}

/// Host plus 100 more: 101 fields.
pub fn more_than_100_fields_is_431(stage: &Stage) {
    let fields: Vec<String> = (0..100).map(|i| format!("X-Field-{i}: {i}")).collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    expect_rejected(stage, &[], &request("GET", "/plaintext", &fields, b""), 431);
}

/// Host plus 99 more: exactly the limit, which is allowed.
pub fn exactly_100_fields_are_accepted(stage: &Stage) {
    let fields: Vec<String> = (0..99).map(|i| format!("X-Field-{i}: {i}")).collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    expect_accepted(stage, &request("GET", "/plaintext", &fields, b""), 200);
}

pub fn body_at_max_body_is_accepted(stage: &Stage) {
    let server = Server::start(stage, &["--max-body", MAX_BODY]);
    let body = pattern(1000);
    let response = exchange(&server, &request("POST", "/echo", &[], &body));
    assert_eq!(response.status, 200, "{response}");
    assert!(response.body == body);
}

/// Only the head is sent (the appended request stands where the body would start): the 413 must
/// come from the declared length alone, before any body is read (RFC 9110 section 15.5.14).
pub fn content_length_over_max_body_is_413_before_the_body(stage: &Stage) {
    expect_rejected(
        stage,
        &["--max-body", MAX_BODY],
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n",
        413,
    );
}

/// RFC 9110 section 10.1.1: a server may answer the final status instead of 100 Continue, and
/// for a body it will refuse it should, so the client does not send it.
pub fn expect_100_continue_over_max_body_is_413_without_100(stage: &Stage) {
    expect_rejected(
        stage,
        &["--max-body", MAX_BODY],
        b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
        413,
    );
}

/// A chunked body has no declared length, so the limit applies as chunks arrive; a chunk whose
/// size alone passes the limit is refused at its size line.
pub fn chunked_body_over_max_body_is_413(stage: &Stage) {
    let mut bad =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n".to_vec();
    bad.extend(std::iter::repeat_n(b'a', 100));
    expect_rejected(stage, &["--max-body", MAX_BODY], &bad, 413);
}

/// design.md: at most 1000 requests per connection, the last one answered with
/// `Connection: close`. The 1001st, already sent, is never answered.
pub fn connection_closes_after_1000_requests(stage: &Stage) {
    const MAX_REQUESTS: usize = 1000;
    let server = Server::start(stage, &[]);
    let one = get("/plaintext");
    let sent: Vec<u8> = std::iter::repeat_n(one.as_slice(), MAX_REQUESTS + 1)
        .flatten()
        .copied()
        .collect();
    let mut conn = connect(&server);
    conn.send(&sent).or_fail("sending 1001 pipelined requests");
    for index in 1..=MAX_REQUESTS {
        let response = expect_status(&mut conn, &one, 200);
        assert_eq!(
            response.has_token("connection", "close"),
            index == MAX_REQUESTS,
            "response #{index}: only the last allowed one says close: {response}"
        );
    }
    conn.expect_closed()
        .or_fail("after request 1000 the connection closes, and request 1001 is not answered");
}
