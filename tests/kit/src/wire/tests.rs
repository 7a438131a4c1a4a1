use super::*;
use std::net::TcpListener;

/// A one-shot server that writes `reply` to the first client and then closes, or not.
fn serve_once(reply: &'static [u8], then_close: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(reply);
            if !then_close {
                thread::sleep(Duration::from_secs(2));
            }
        }
    });
    addr
}

fn connect(addr: SocketAddr) -> Conn {
    let mut conn = Conn::connect(addr).expect("connect to the local test listener");
    conn.set_timeout(Duration::from_millis(500));
    conn
}

#[test]
fn reads_pipelined_responses_of_every_framing() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
          HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\n\
          HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
          HTTP/1.0 200 OK\r\n\r\nuntil close",
        true,
    );
    let mut conn = connect(addr);
    let first = conn.read_response().expect("first");
    assert_eq!((first.status, first.body.as_slice()), (200, &b"hello"[..]));
    let second = conn.read_response().expect("second");
    assert_eq!(second.body, b"abcde");
    assert_eq!(second.trailers, vec![("X-Sum".to_owned(), "1".to_owned())]);
    let third = conn.read_response().expect("third");
    assert_eq!((third.status, third.body.len()), (304, 0));
    let fourth = conn.read_response().expect("fourth");
    assert_eq!(
        (fourth.minor_version, fourth.text().as_str()),
        (0, "until close")
    );
    assert!(conn.expect_closed().is_ok());
}

#[test]
fn head_responses_have_no_body() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true);
    let response = connect(addr).read_response_to_head().expect("head");
    assert_eq!(response.content_length(), Some(50));
    assert!(response.body.is_empty());
}

#[test]
fn refuses_ambiguous_framing() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
    );
    assert!(matches!(
        connect(addr).read_response(),
        Err(WireError::Malformed { .. })
    ));
}

#[test]
fn times_out_with_what_it_received() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false);
    match connect(addr).read_response() {
        Err(WireError::Timeout { received, .. }) => assert!(received.ends_with(b"abc")),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn expect_closed_reports_extra_bytes() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra", true);
    let mut conn = connect(addr);
    conn.read_response().expect("response");
    match conn.expect_closed() {
        Err(WireError::Unexpected { received }) => assert_eq!(received, b"extra"),
        other => panic!("expected unexpected bytes, got {other:?}"),
    }
}

#[test]
fn expect_closed_times_out_on_an_open_connection() {
    let addr = serve_once(b"", false);
    assert!(matches!(
        connect(addr).expect_closed(),
        Err(WireError::StillOpen { .. })
    ));
}

#[test]
fn chunked_decoder_refuses_bad_sizes_and_waits_for_more() {
    assert!(decode_chunked(b"zz\r\n").is_err());
    assert!(decode_chunked(b"3\r\nabcX\r\n").is_err());
    assert!(matches!(decode_chunked(b"3\r\nab"), Ok(None)));
    assert!(matches!(decode_chunked(b"0\r\n"), Ok(None)));
}
