//! Ambiguous framing and malformed heads. Every case sends the bad request and, in the same
//! write, a valid one ([`FOLLOW_UP`]), and checks three things (see `expect_rejected`):
//!
//! 1. the status below;
//! 2. `Connection: close` on it, and the connection then closed by the server;
//! 3. the appended request never answered. A server that reads the body length differently
//!    from a proxy in front of it would answer it: that is request smuggling (RFC 9112 section
//!    11.2), and refusing the whole connection is the only safe answer.
//!
//! The RFC sentence that each status rests on is quoted next to the case.

use stagekit::Stage;

use crate::support::*;

fn rejects(stage: &Stage, bad: &[u8], status: u16) {
    expect_rejected(stage, &[], bad, status);
}

// --- Content-Length and Transfer-Encoding together -------------------------------------------

/// RFC 9112 section 6.3, rule 3: "If a message is received with both a Transfer-Encoding and a
/// Content-Length header field, the Transfer-Encoding overrides the Content-Length. Such a
/// message might indicate an attempt to perform request smuggling ... and ought to be handled
/// as an error." This project refuses it outright.
pub fn content_length_with_chunked_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

pub fn chunked_with_content_length_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
    );
}

// --- Content-Length values -------------------------------------------------------------------

/// RFC 9112 section 6.3, rule 5: "If a message is received without Transfer-Encoding and with an
/// invalid Content-Length header field, then the message framing is invalid and the recipient
/// MUST treat it as an unrecoverable error ... the server MUST respond with a 400".
pub fn two_different_content_lengths_are_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    );
}

pub fn content_length_list_with_different_values_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5, 6\r\n\r\nhello!",
        400,
    );
}

/// RFC 9110 section 8.6: `Content-Length = 1*DIGIT`; a sign, hex, inner spaces or nothing at all
/// is not a length.
pub fn content_length_plus_sign_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: +5\r\n\r\nhello",
        400,
    );
}

pub fn content_length_minus_sign_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: -5\r\n\r\nhello",
        400,
    );
}

pub fn content_length_hex_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0x5\r\n\r\nhello",
        400,
    );
}

pub fn content_length_with_inner_space_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5 5\r\n\r\nhello",
        400,
    );
}

pub fn content_length_empty_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: \r\n\r\nhello",
        400,
    );
}

/// A length no integer type holds: invalid (400) or over any body limit (413) are both honest
/// answers; accepting it as some wrapped-around number is not.
pub fn content_length_overflowing_u64_is_refused(stage: &Stage) {
    let bad = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 99999999999999999999999\r\n\r\nhello";
    let server = stagekit::Server::start(stage, &[]);
    let response = exchange(&server, bad);
    assert!(
        matches!(response.status, 400 | 413),
        "expected 400 or 413, got {response}"
    );
    // The full check (close, no desync) with the status the server chose.
    expect_rejected(stage, &[], bad, response.status);
}

// --- Transfer-Encoding -----------------------------------------------------------------------

/// RFC 9112 section 6.3, rule 4: "If a Transfer-Encoding header field is present in a request
/// and the chunked transfer coding is not the final encoding, the message body length cannot be
/// determined reliably; the server MUST respond with the 400 (Bad Request) status code and then
/// close the connection."
pub fn transfer_encoding_gzip_only_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

pub fn transfer_encoding_chunked_then_gzip_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

/// RFC 9112 section 6.1: "A sender MUST NOT apply the chunked transfer coding more than once to
/// a message body."
pub fn transfer_encoding_chunked_twice_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

/// Two fields are one list (RFC 9110 section 5.3), so this is `chunked, chunked` again.
pub fn transfer_encoding_chunked_in_two_fields_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

/// RFC 9112 section 6.1: "A server that receives a request message with a transfer coding it does
/// not understand SHOULD respond with 501 (Not Implemented)."
pub fn unknown_coding_before_chunked_is_501(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: foo, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        501,
    );
}

/// RFC 9112 section 6.1: "A server or client that receives an HTTP/1.0 message containing a
/// Transfer-Encoding header field MUST treat the message as if the framing is faulty, even if a
/// Content-Length is present, and close the connection after processing the message."
pub fn transfer_encoding_in_http10_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

// --- Field syntax ----------------------------------------------------------------------------

/// RFC 9112 section 5.1: "A server MUST reject, with a response status code of 400 (Bad Request),
/// any received request message that contains whitespace between a header field name and colon."
pub fn whitespace_before_colon_is_400(stage: &Stage) {
    rejects(
        stage,
        b"GET /plaintext HTTP/1.1\r\nHost : test\r\n\r\n",
        400,
    );
}

/// RFC 9112 section 5.2: a server receiving obs-fold "MUST either reject the message by sending a
/// 400 (Bad Request) ... or replace each received obs-fold with one or more SP octets"; this
/// project rejects.
pub fn obs_fold_is_400(stage: &Stage) {
    rejects(
        stage,
        b"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Folded: one\r\n two\r\n\r\n",
        400,
    );
}

/// RFC 9110 section 5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
/// the message or replace each of those characters with SP"; this project rejects.
pub fn nul_in_field_value_is_400(stage: &Stage) {
    rejects(
        stage,
        b"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Nul: a\0b\r\n\r\n",
        400,
    );
}

pub fn bare_cr_in_field_value_is_400(stage: &Stage) {
    rejects(
        stage,
        b"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Cr: a\rb\r\n\r\n",
        400,
    );
}

// --- Host ------------------------------------------------------------------------------------

/// RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid
/// field value."
pub fn http11_without_host_is_400(stage: &Stage) {
    rejects(stage, b"GET /plaintext HTTP/1.1\r\n\r\n", 400);
}

pub fn two_host_fields_are_400(stage: &Stage) {
    rejects(
        stage,
        b"GET /plaintext HTTP/1.1\r\nHost: test\r\nHost: other\r\n\r\n",
        400,
    );
}

/// HTTP/1.0 has no Host requirement. It closes after the response, so the follow-up check of
/// `expect_accepted` does not apply; the response and the close are checked here instead.
pub fn http10_without_host_is_fine(stage: &Stage) {
    let server = stagekit::Server::start(stage, &[]);
    let sent = b"GET /plaintext HTTP/1.0\r\n\r\n";
    let mut conn = connect(&server);
    conn.send(sent).or_fail("sending");
    let response = expect_status(&mut conn, sent, 200);
    assert_eq!(response.text(), "Hello, World!");
    conn.expect_closed()
        .or_fail("HTTP/1.0 closes after the response");
}

// --- Chunked body syntax (RFC 9112 section 7.1) ----------------------------------------------

/// `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`: a bare LF is not CRLF. Accepting it
/// while a proxy does not is a known smuggling vector.
pub fn chunk_size_line_ending_in_bare_lf_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        400,
    );
}

pub fn chunk_data_without_crlf_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        400,
    );
}

/// `chunk-size = 1*HEXDIG`: a chunk line that starts with its extension has no size.
pub fn chunk_size_without_hex_digits_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n;ext=1\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

/// 17 hex digits overflow 64 bits; a decoder that wraps around would read a small size.
pub fn chunk_size_of_17_hex_digits_is_400(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
        400,
    );
}

/// Chunk extensions are read and thrown away, so without a cap they are free memory for a
/// client; this project caps them at 16 KiB like hyper.
pub fn chunk_extensions_over_16_kib_are_400(stage: &Stage) {
    let mut bad =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5;x=".to_vec();
    bad.extend(std::iter::repeat_n(b'a', 17 * 1024));
    bad.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    rejects(stage, &bad, 400);
}

/// Trailers are header fields after the body, so their cap answers like the head's: 431.
pub fn trailers_over_16_kib_are_431(stage: &Stage) {
    let mut bad =
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
            .to_vec();
    for index in 0..20 {
        bad.extend_from_slice(format!("X-Trailer-{index}: ").as_bytes());
        bad.extend(std::iter::repeat_n(b'a', 1000));
        bad.extend_from_slice(b"\r\n");
    }
    bad.extend_from_slice(b"\r\n");
    rejects(stage, &bad, 431);
}

// --- Request line ----------------------------------------------------------------------------

/// RFC 9110 section 15.6.6: 505 for a major version the server does not support.
pub fn http2_version_is_505(stage: &Stage) {
    rejects(stage, b"GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505);
}

/// RFC 9110 section 2.5: "A recipient that receives a message with a major version number that
/// it implements and a minor version number higher than what it implements SHOULD process the
/// message as if it were in the highest minor version within that major version to which the
/// recipient is conformant." So `HTTP/1.2` is served as HTTP/1.1.
pub fn http12_is_served_as_http11(stage: &Stage) {
    let response = expect_accepted(stage, b"GET /plaintext HTTP/1.2\r\nHost: test\r\n\r\n", 200);
    assert_eq!(response.text(), "Hello, World!");
}

pub fn garbage_request_line_is_400(stage: &Stage) {
    rejects(stage, b"this is not http\r\n\r\n", 400);
}

/// RFC 9110 section 9.1: "An origin server that receives a request method that is unrecognized
/// or not implemented SHOULD respond with the 501 (Not Implemented) status code." The framing of
/// such a request is as clear as any other's, so the connection stays usable: the request after
/// it must get its own answer.
pub fn unknown_method_is_501(stage: &Stage) {
    expect_accepted(stage, b"FOO / HTTP/1.1\r\nHost: test\r\n\r\n", 501);
}

/// RFC 9110 section 10.1.1: "A server that receives an Expect field value containing a member
/// other than 100-continue MAY respond with a 417 (Expectation Failed) status code"; this
/// project does, and closes, because the client may be waiting to send a body.
pub fn unknown_expectation_is_417(stage: &Stage) {
    rejects(
        stage,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: telepathy\r\nContent-Length: 5\r\n\r\nhello",
        417,
    );
}
