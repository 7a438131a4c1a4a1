//! The machine between requests: what a stop does to a connection (answer what was received,
//! a grace for an idle one, a head on its way finished and answered last), and when it only
//! waits for its client (the lobby's question, stages 02 and 03).

use super::*;

#[test]
fn shutdown_finishes_what_was_received_then_closes() {
    let mut h = harness();
    h.conn.handle_input(
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
        h.now,
    );
    let now = h.now;
    h.conn.handle_shutdown(now);
    h.pump();
    assert_eq!(h.seen.len(), 2);
    assert_eq!(
        h.output().matches("connection: close").count(),
        1,
        "only the last response says close"
    );
    assert!(h.write_closed);
}

#[test]
fn shutdown_gives_an_idle_connection_the_grace_for_a_request_on_its_way() {
    let mut h = harness();
    h.feed(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    let now = h.now;
    h.conn.handle_shutdown(now);
    assert!(
        !h.conn.is_closed(),
        "an idle connection is not closed at once"
    );
    assert_eq!(h.conn.poll_timeout(), Some(now + STOP_GRACE));
    // The client's next request, sent before it could know: answered, as the last.
    h.advance_clock(STOP_GRACE / 2);
    h.feed(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    let targets: Vec<_> = h.seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        ["/1", "/2"],
        "nothing after the last request is taken"
    );
    assert_eq!(h.output().matches("connection: close").count(), 1);
    assert!(h.write_closed);

    // No request comes: closed quietly when the grace is over, not at the idle timeout.
    let mut quiet = harness();
    let now = quiet.now;
    quiet.conn.handle_shutdown(now);
    quiet.advance_clock(STOP_GRACE);
    assert!(quiet.conn.is_closed());
    assert_eq!(
        quiet.output(),
        "",
        "nothing is written to a connection closed idle"
    );
}

#[test]
fn shutdown_lets_a_request_being_received_arrive_and_answers_it_last() {
    let mut h = harness();
    h.feed(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
    let now = h.now;
    h.conn.handle_shutdown(now);
    // Past the grace: a request on its way is bounded by its own timeouts, not the grace.
    h.advance_clock(STOP_GRACE * 2);
    h.feed(b"cde");
    assert_eq!(h.seen.len(), 1);
    assert_eq!(h.seen[0].body.as_ref(), b"abcde");
    assert!(h.output().contains("connection: close"));
    assert!(h.write_closed);
}

/// The lobby's question (stages 02 and 03): a connection waits for its client while it has no
/// head or part of one, and again after each answer; not while a request is to be answered;
/// and again while it lingers after a last response.
#[test]
fn waits_for_client_between_requests_and_while_lingering() {
    let mut h = harness();
    assert!(
        h.conn.waits_for_client(),
        "a new connection waits for a head"
    );
    h.conn.handle_input(b"GET /a HTTP/1.1\r\nHo", h.now);
    assert!(h.conn.waits_for_client(), "half a head: still waiting");
    h.conn.handle_input(b"st: x\r\n\r\n", h.now);
    assert!(
        !h.conn.waits_for_client(),
        "a whole head is a request to answer: work for a worker"
    );
    h.pump();
    assert_eq!(h.statuses(), [200]);
    assert!(
        h.conn.waits_for_client(),
        "answered and written: waiting again"
    );
    h.feed(b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(h.write_closed, "the last response half-closes");
    assert!(
        h.conn.waits_for_client(),
        "lingering after the last response only reads what the client still sends"
    );
}
