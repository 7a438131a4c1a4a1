//! Timeouts: a client that starts a request and stalls (slowloris) gets 408 after
//! `--header-timeout` (RFC 9110 section 15.5.9), and a connection that carries nothing is closed
//! after `--idle-timeout` without a response (RFC 9112 section 9.5). Every server here runs
//! with 1 s timeouts, so the suite stays fast; the bounds allow for a loaded machine.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Server, Stage};

use crate::support::*;

const ONE_SECOND: &str = "1s";

/// A timeout of one second must not fire before this...
const NOT_BEFORE: Duration = Duration::from_millis(700);
/// ...and must have fired by this.
const AT_THE_LATEST: Duration = Duration::from_secs(3);

/// Reads the 408 that must follow a stalled request, then the close; returns when it came.
fn expect_408_then_close(conn: &mut stagekit::Conn, sent: &[u8], since: Instant) -> Duration {
    conn.set_timeout(AT_THE_LATEST + Duration::from_secs(2));
    let response = expect_status(conn, sent, 408);
    let after = since.elapsed();
    assert!(response.has_token("connection", "close"), "{response}");
    conn.expect_closed()
        .or_fail("the connection must close after the 408");
    after
}

fn assert_within_bounds(what: &str, after: Duration) {
    assert!(
        (NOT_BEFORE..=AT_THE_LATEST).contains(&after),
        "{what} after {after:?}; expected about 1 s (between {NOT_BEFORE:?} and {AT_THE_LATEST:?})"
    );
}

pub fn partial_head_then_silence_is_408(stage: &Stage) {
    let server = Server::start(stage, &["--header-timeout", ONE_SECOND]);
    let mut conn = connect(&server);
    let sent = b"GET /plaintext HTTP/1.1\r\nHost: te";
    let started = Instant::now();
    conn.send(sent).or_fail("sending the partial head");
    let after = expect_408_then_close(&mut conn, sent, started);
    assert_within_bounds("408 for a stalled head", after);
}

/// The real slowloris: a byte every 100 ms keeps the connection busy forever unless the header
/// timeout runs from the first byte of the head, not from the last one received.
pub fn head_trickled_byte_by_byte_is_cut_at_the_header_timeout(stage: &Stage) {
    let server = Server::start(stage, &["--header-timeout", ONE_SECOND]);
    let mut conn = connect(&server);
    let mut writer = conn.writer();
    let started = Instant::now();
    let trickle = thread::spawn(move || {
        for byte in b"GET /plaintext HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 60].iter())
        {
            // A write error means the server closed the connection: the trickle is over.
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let after = expect_408_then_close(&mut conn, b"(trickled head)", started);
    assert_within_bounds("408 for a trickled head", after);
    // The trickle ends at its first failed write, or after its 6 s of bytes at the latest.
    let _ = trickle.join();
}

/// The header timeout also bounds the wait between two pieces of a body.
pub fn stalled_body_is_408(stage: &Stage) {
    let server = Server::start(stage, &["--header-timeout", ONE_SECOND]);
    let mut conn = connect(&server);
    let sent = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhello";
    let started = Instant::now();
    conn.send(sent).or_fail("sending half the body");
    let after = expect_408_then_close(&mut conn, sent, started);
    assert_within_bounds("408 for a stalled body", after);
}

/// A connection that never sends a byte has no request to answer: it is closed silently.
pub fn connection_without_bytes_is_closed_after_idle_timeout(stage: &Stage) {
    let server = Server::start(stage, &["--idle-timeout", ONE_SECOND]);
    let mut conn = connect(&server);
    conn.set_timeout(AT_THE_LATEST);
    let after = conn
        .expect_closed()
        .or_fail("a connection without bytes is closed after the idle timeout, with no response");
    assert_within_bounds("the silent connection was closed", after);
}

pub fn kept_alive_connection_is_closed_after_idle_timeout(stage: &Stage) {
    let server = Server::start(stage, &["--idle-timeout", ONE_SECOND]);
    let mut conn = connect(&server);
    conn.send(get("/plaintext")).or_fail("sending");
    expect_status(&mut conn, &get("/plaintext"), 200);
    conn.set_timeout(AT_THE_LATEST);
    let after = conn
        .expect_closed()
        .or_fail("an idle kept-alive connection is closed after the idle timeout");
    assert_within_bounds("the idle connection was closed", after);
}
