//! Tests of the parent module.

use super::*;

fn parse(input: &str) -> Result<Option<(ParsedHead, usize)>, RequestError> {
    parse_head(input.as_bytes(), &Limits::default())
}

fn error_of(input: &str) -> RequestError {
    match parse(input) {
        Err(error) => error,
        Ok(other) => panic!("{input:?} was accepted: {other:?}"),
    }
}

fn framing_of(input: &str) -> Framing {
    parse(input).unwrap().unwrap().0.framing
}

#[test]
fn parses_a_simple_request() {
    let (head, len) = parse("GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nNEXT")
        .unwrap()
        .unwrap();
    assert_eq!(len, 43);
    assert_eq!(head.framing, Framing::Empty);
    assert!(head.keep_alive);
    assert!(!head.expect_continue);
    let input = Bytes::from_static(b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nNEXT");
    let request = head.into_request(input.slice(..len));
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.target, "/a?b");
    assert_eq!(request.headers.get_str("accept"), Some("*/*"));
    assert_eq!(request.headers.get_str("host"), Some("x"));
    assert_eq!(request.headers.len(), 2);
}

#[test]
fn partial_heads_need_more() {
    assert!(parse("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
    assert!(parse("GET / HT").unwrap().is_none());
    assert!(parse("").unwrap().is_none());
}

#[test]
fn content_length_rules() {
    assert_eq!(
        framing_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"),
        Framing::Length(5)
    );
    assert_eq!(
        framing_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        Framing::Empty
    );
    assert_eq!(
        framing_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
        Framing::Length(5)
    );
    assert_eq!(
        framing_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"),
        Framing::Length(5)
    );
    for bad in [
        "+5",
        "-5",
        "0x5",
        "5 5",
        "",
        "5;",
        "1e3",
        "99999999999999999999999",
    ] {
        assert_eq!(
            error_of(&format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {bad}\r\n\r\n"
            )),
            RequestError::InvalidContentLength,
            "{bad:?}"
        );
    }
    assert_eq!(
        error_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        RequestError::ConflictingContentLength
    );
    assert_eq!(
        error_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n"),
        RequestError::ConflictingContentLength
    );
    assert_eq!(
        error_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n"),
        RequestError::BodyTooLarge
    );
}

#[test]
fn transfer_encoding_rules() {
    let te =
        |value: &str| format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}\r\n\r\n");
    assert_eq!(framing_of(&te("chunked")), Framing::Chunked);
    assert_eq!(framing_of(&te("Chunked")), Framing::Chunked);
    assert_eq!(framing_of(&te(" , chunked")), Framing::Chunked);
    assert_eq!(error_of(&te("gzip")), RequestError::ChunkedNotLast);
    assert_eq!(error_of(&te("chunked, gzip")), RequestError::ChunkedNotLast);
    assert_eq!(
        error_of(&te("chunked, chunked")),
        RequestError::ChunkedTwice
    );
    assert_eq!(
        error_of(&te("foo, chunked")),
        RequestError::UnsupportedTransferCoding
    );
    assert_eq!(error_of(&te("xchunked")), RequestError::ChunkedNotLast);
    assert_eq!(error_of(&te("chunked;q=1")), RequestError::ChunkedNotLast);
    assert_eq!(
        error_of(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        ),
        RequestError::ContentLengthWithTransferEncoding
    );
    assert_eq!(
        error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        RequestError::TransferEncodingInHttp10
    );
    // Split across two fields, the list is read as one.
    assert_eq!(
            error_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::ChunkedTwice
        );
}

#[test]
fn field_syntax_is_strict() {
    for bad in [
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert!(
            matches!(error_of(bad), RequestError::MalformedHead(_)),
            "{bad:?}"
        );
    }
}

#[test]
fn host_rules() {
    assert_eq!(
        error_of("GET / HTTP/1.1\r\n\r\n"),
        RequestError::MissingHost
    );
    assert_eq!(
        error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        RequestError::DuplicateHost
    );
    assert_eq!(
        error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        RequestError::InvalidHost
    );
    assert_eq!(
        error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        RequestError::InvalidHost
    );
    assert!(parse("GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    assert!(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
    assert!(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
        .unwrap()
        .is_some());
}

#[test]
fn versions_and_targets() {
    assert_eq!(
        error_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        RequestError::UnsupportedVersion
    );
    let (head, _) = parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n").unwrap().unwrap();
    assert_eq!(head.version, Version::Http11, "RFC 9110 section 2.5");
    assert!(matches!(
        error_of("GET / HTTP/1.10\r\nHost: x\r\n\r\n"),
        RequestError::MalformedHead(_)
    ));
    assert_eq!(
        error_of("GET / HTTP/3.0\r\nHost: x\r\n\r\n"),
        RequestError::UnsupportedVersion
    );
    assert!(matches!(
        error_of("GET / HTTQ/1.1\r\nHost: x\r\n\r\n"),
        RequestError::MalformedHead(_)
    ));
    assert_eq!(
        error_of("GET x HTTP/1.1\r\nHost: x\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert_eq!(
        error_of("GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert!(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap()
        .is_some());
    assert!(parse("GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap()
        .is_some());
    assert!(parse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap()
        .is_some());
}

#[test]
fn size_limits_apply_before_the_head_is_complete() {
    let limits = Limits::default();
    let long_line = format!("GET /{} HTTP/1.1", "a".repeat(limits.max_request_line));
    assert_eq!(
        parse_head(long_line.as_bytes(), &limits).unwrap_err(),
        RequestError::RequestLineTooLong
    );
    let many = format!(
        "GET / HTTP/1.1\r\n{}",
        "X-Filler: 0123456789012345678901234567890123456789\r\n".repeat(400)
    );
    assert_eq!(
        parse_head(many.as_bytes(), &limits).unwrap_err(),
        RequestError::HeadTooLarge
    );
    let fields = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "A: b\r\n".repeat(100)
    );
    assert_eq!(
        parse_head(fields.as_bytes(), &limits).unwrap_err(),
        RequestError::TooManyHeaders
    );
}

#[test]
fn keep_alive_and_expect() {
    let head = |text: &str| parse(text).unwrap().unwrap().0;
    assert!(!head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(!head("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    assert!(
        head("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
            .expect_continue
    );
    assert!(
        !head("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
            .expect_continue
    );
    assert_eq!(
        error_of("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"),
        RequestError::UnsupportedExpectation
    );
}
