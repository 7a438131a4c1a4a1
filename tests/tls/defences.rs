//! Handshake defences: a connection that does not speak TLS, or speaks it too slowly, is ended
//! (with an alert, a plain `400`, or a close), and nobody else notices. Every server here runs
//! with `--threads 1`, so a connection that held up the task it runs on would hold up the
//! second client too; each test has a normal client served while the bad one is still open.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::Conn;

use crate::client::{self, TlsClient};
use crate::support::*;

/// The handshake timeout of the tests that wait for it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a connection the server should end at once may take: far below the default
/// handshake timeout (10 s) that the tests of prompt ends run with, so the timeout cannot be
/// what ended it.
const PROMPTLY: Duration = Duration::from_secs(3);

/// Bytes that are no TLS record: the first byte (0x00) is no content type, and not a letter.
const GARBAGE: &[u8] = b"\x00\x01\x02\x03 this is not TLS \xff\xfe\xfd\x00\x00\x00\x00\x00";

/// A full, normal client: handshake, `GET /`, the index page. Panics with what went wrong.
fn served_meanwhile(addr: SocketAddr, while_what: &str) {
    let started = Instant::now();
    let mut client = TlsClient::connect(addr, "localhost")
        .or_fail(&format!("a normal client's handshake while {while_what}"));
    let response = client
        .get("/")
        .or_fail(&format!("a normal client's request while {while_what}"));
    assert_eq!(
        response.status, 200,
        "while {while_what}: {}",
        response.head
    );
    assert_eq!(
        client.alpn().as_deref(),
        Some("http/1.1"),
        "while {while_what}"
    );
    assert!(
        response.body == site_file("index.html"),
        "while {while_what}"
    );
    assert!(
        started.elapsed() < PROMPTLY,
        "while {while_what}, a normal client took {:?}",
        started.elapsed()
    );
}

/// What the server sent before it ended the connection, and when it ended it (measured from
/// `since`); `None` for the time if it was still open after `within`. A reset counts as an end:
/// a server that closes with unread bytes in its buffer resets.
fn read_until_closed(
    stream: &mut TcpStream,
    since: Instant,
    within: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, None);
        }
        stream
            .set_read_timeout(Some(left))
            .or_fail("setting a read timeout");
        match stream.read(&mut chunk) {
            Ok(0) => return (received, Some(since.elapsed())),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                return (received, Some(since.elapsed()))
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(error) => panic!("reading from the server: {error}"),
        }
    }
}

/// Nothing, or one fatal TLS alert record (RFC 8446 section 6: content type 21, level 2).
fn assert_alert_or_nothing(received: &[u8], what: &str) {
    if received.is_empty() {
        return;
    }
    let is_fatal_alert = received.len() == 7
        && received[0] == 0x15
        && received[1] == 0x03
        && received[3..5] == [0x00, 0x02]
        && received[5] == 0x02;
    assert!(
        is_fatal_alert,
        "{what}: expected one fatal alert record or nothing, got {received:02x?}"
    );
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, client::TIMEOUT).or_fail("connecting");
    stream.set_nodelay(true).or_fail("TCP_NODELAY");
    stream
}

/// Garbage instead of a ClientHello: a fatal alert (or a bare close) at once, not a wait for
/// the handshake timeout.
#[test]
fn garbage_gets_an_alert_or_a_close_at_once_and_others_are_served() {
    let server = TlsServer::start(&["--threads", "1"]);
    let mut bad = connect(server.addr());
    let since = Instant::now();
    bad.write_all(GARBAGE).or_fail("sending garbage");
    served_meanwhile(server.addr(), "a client sent garbage");
    let (received, closed) = read_until_closed(&mut bad, since, PROMPTLY);
    assert!(
        closed.is_some(),
        "garbage: the connection was still open after {PROMPTLY:?} (received {received:02x?})"
    );
    assert_alert_or_nothing(&received, "garbage");
    served_meanwhile(server.addr(), "after garbage");
}

/// A plain HTTP request on the TLS port gets a plain `HTTP/1.1 400` saying to use https (as
/// nginx answers), and the connection closes.
#[test]
fn plain_http_on_the_tls_port_gets_a_plain_400() {
    let server = TlsServer::start(&["--threads", "1"]);
    let mut plain = Conn::connect(server.addr()).or_fail("connecting");
    plain
        .send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .or_fail("sending a plain request");
    served_meanwhile(server.addr(), "a client sent plain HTTP");
    let response = plain.read_response().or_fail("reading the plain answer");
    assert_eq!(response.status, 400, "{response}");
    assert_eq!(response.minor_version, 1, "{response}");
    assert!(
        response.text().to_ascii_lowercase().contains("https"),
        "the 400 should say to use https: {response}"
    );
    plain.set_timeout(PROMPTLY);
    plain
        .expect_closed()
        .or_fail("the connection after the plain 400");
}

/// A client that connects and never speaks is closed at `--handshake-timeout` (1 s here), with
/// nothing sent; meanwhile another client is served, twice.
#[test]
fn a_client_that_never_speaks_is_closed_at_the_handshake_timeout() {
    let server = TlsServer::start(&["--threads", "1", "--handshake-timeout", "1s"]);
    let mut silent = connect(server.addr());
    let since = Instant::now();
    served_meanwhile(server.addr(), "a client stayed silent");
    thread::sleep(HANDSHAKE_TIMEOUT / 2);
    served_meanwhile(server.addr(), "a client stayed silent");
    let (received, closed) = read_until_closed(&mut silent, since, Duration::from_secs(10));
    let closed = closed.unwrap_or_else(|| panic!("a silent client was still connected after 10 s"));
    assert!(
        closed >= HANDSHAKE_TIMEOUT - Duration::from_millis(100) && closed < PROMPTLY,
        "a silent client was closed after {closed:?}, the handshake timeout is {HANDSHAKE_TIMEOUT:?}"
    );
    assert!(
        received.is_empty(),
        "the server sent a silent client {received:02x?}"
    );
}

/// A real ClientHello sent eight bytes at a time, 200 ms apart: slower than the 1 s handshake
/// timeout allows for the whole of it (over a kilobyte, with the post-quantum key share). The
/// server cuts it off at the timeout, before the hello is complete; meanwhile another client is
/// served.
#[test]
fn a_slow_handshake_is_cut_off_at_the_handshake_timeout() {
    let server = TlsServer::start(&["--threads", "1", "--handshake-timeout", "1s"]);
    let hello = client::client_hello("localhost").or_fail("making a ClientHello");
    let addr = server.addr();
    let trickler = thread::spawn(move || trickle(addr, &hello));
    thread::sleep(Duration::from_millis(300));
    served_meanwhile(addr, "a client sent its ClientHello slowly");
    let (closed, sent, total) = match trickler.join() {
        Ok(outcome) => outcome,
        Err(_) => panic!("the slow client's thread panicked"),
    };
    let closed = closed.unwrap_or_else(|| {
        panic!("the slow client sent all {total} bytes of its hello and was not cut off")
    });
    assert!(
        closed >= HANDSHAKE_TIMEOUT - Duration::from_millis(100) && closed < PROMPTLY,
        "the slow client was cut off after {closed:?}, the timeout is {HANDSHAKE_TIMEOUT:?}"
    );
    assert!(sent < total, "the whole hello went out ({sent} bytes)");
}

/// Sends `hello` eight bytes every 200 ms until the server ends the connection. Returns when
/// it ended it (from the connect), how many bytes were sent, and the hello's length.
fn trickle(addr: SocketAddr, hello: &[u8]) -> (Option<Duration>, usize, usize) {
    const PIECE: usize = 8;
    const PAUSE: Duration = Duration::from_millis(200);
    let mut stream = connect(addr);
    let since = Instant::now();
    stream.set_read_timeout(Some(PAUSE)).or_fail("read timeout");
    let mut sent = 0;
    let mut chunk = [0u8; 512];
    for piece in hello.chunks(PIECE) {
        if stream.write_all(piece).is_err() {
            // The server closed (a write after its reset fails): ended.
            return (Some(since.elapsed()), sent, hello.len());
        }
        sent += piece.len();
        // The pause, spent waiting for the server to say or do anything.
        match stream.read(&mut chunk) {
            Ok(0) => return (Some(since.elapsed()), sent, hello.len()),
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                return (Some(since.elapsed()), sent, hello.len())
            }
            Ok(_) | Err(_) => {}
        }
        if since.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    (None, sent, hello.len())
}

/// Half a real ClientHello, then the end of the stream: the server ends the connection at once
/// (an alert, or a close), not at the handshake timeout; meanwhile another client is served.
#[test]
fn a_truncated_client_hello_then_eof_is_closed_at_once() {
    let server = TlsServer::start(&["--threads", "1"]);
    let hello = client::client_hello("localhost").or_fail("making a ClientHello");
    let mut cut = connect(server.addr());
    let since = Instant::now();
    cut.write_all(&hello[..hello.len() / 2])
        .or_fail("sending half a hello");
    cut.shutdown(Shutdown::Write)
        .or_fail("closing the sending side");
    served_meanwhile(server.addr(), "a client sent half a ClientHello");
    let (received, closed) = read_until_closed(&mut cut, since, PROMPTLY);
    assert!(
        closed.is_some(),
        "half a ClientHello and EOF: still open after {PROMPTLY:?} (received {received:02x?})"
    );
    assert_alert_or_nothing(&received, "half a ClientHello and EOF");
}

/// Connections still in their handshake count against `--max-connections` (2 here): with two
/// silent clients holding both places, a third is refused with stage 05's `503`, encrypted after a handshake of its own;
/// once the handshake timeout has closed the silent two, a normal client is served again.
#[test]
fn handshaking_connections_count_against_max_connections() {
    let server = TlsServer::start(&[
        "--threads",
        "1",
        "--handshake-timeout",
        "1s",
        "--max-connections",
        "2",
    ]);
    let since = Instant::now();
    let mut silent = [connect(server.addr()), connect(server.addr())];
    // Both accepted (each takes its place at accept): the server has answered a refusal by
    // the time the third connection is read, so wait for the first two to be seen first.
    thread::sleep(Duration::from_millis(200));
    // The refusal comes over TLS, after a handshake of its own: a TLS client reads it.
    let mut third =
        TlsClient::connect(server.addr(), "localhost").or_fail("the third client's handshake");
    let response = third.get("/").or_fail("the third client's refusal");
    assert_eq!(response.status, 503, "{}", response.head);
    assert!(
        response.head.to_ascii_lowercase().contains("retry-after:"),
        "{}",
        response.head
    );
    for stream in &mut silent {
        let (received, closed) = read_until_closed(stream, since, Duration::from_secs(10));
        assert!(
            closed.is_some() && received.is_empty(),
            "a silent client was not closed at the handshake timeout ({closed:?}, {received:02x?})"
        );
    }
    served_meanwhile(server.addr(), "the silent clients' places were freed");
}
