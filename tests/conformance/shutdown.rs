//! Graceful stop (design.md): on SIGTERM or SIGINT a server stops accepting, finishes the
//! requests in flight, closes idle connections and exits with status 0.

use std::thread;
use std::time::Duration;

use stagekit::{Server, Signal, Stage};

use crate::support::*;

/// How long a stopping server may take once nothing is in flight.
const EXIT_WITHIN: Duration = Duration::from_secs(5);

pub fn sigterm_lets_the_request_in_flight_finish_and_exits_0(stage: &Stage) {
    let mut server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let sent = get("/slow?ms=500");
    conn.send(&sent).or_fail("sending /slow");
    // Long enough for the server to have read the request and entered the handler.
    thread::sleep(Duration::from_millis(150));
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    expect_status(&mut conn, &sent, 200);
    conn.expect_closed()
        .or_fail("after the last response of a stopping server, the connection closes");
    expect_exit_status_zero(&mut server, Signal::Term, EXIT_WITHIN);
}

pub fn sigint_exits_0(stage: &Stage) {
    let mut server = Server::start(stage, &[]);
    // One request first, so the server is past start-up and in its serving loop.
    exchange(&server, &get("/healthz"));
    server.signal(Signal::Int).or_fail("sending SIGINT");
    expect_exit_status_zero(&mut server, Signal::Int, EXIT_WITHIN);
}

/// An idle kept-alive connection must not hold the stop up for its idle timeout (30 s here).
pub fn sigterm_closes_idle_keep_alive_connections(stage: &Stage) {
    let mut server = Server::start(stage, &["--idle-timeout", "30s"]);
    let mut conn = connect(&server);
    conn.send(get("/plaintext")).or_fail("sending");
    expect_status(&mut conn, &get("/plaintext"), 200);
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    conn.set_timeout(EXIT_WITHIN);
    conn.expect_closed()
        .or_fail("the idle connection is closed when the server stops");
    expect_exit_status_zero(&mut server, Signal::Term, EXIT_WITHIN);
}
