//! For the stages that run blocking handlers off the threads that serve connections
//! ([`Capabilities::offloads_blocking`](stagekit::Capabilities::offloads_blocking): stage 04's
//! pool beside its event loops, stage 05's `spawn_blocking`), each with a single thread serving
//! connections (`--threads 1`):
//!
//! - a fast request is answered at once while four `/slow?ms=1000` run, and the four overlap;
//! - SIGTERM closes an idle connection at once while a `/slow` is still running, refuses new
//!   connections, lets the `/slow` finish (with `Connection: close`), and the process exits 0.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Server, Signal, Stage};

use crate::support::*;

/// How long a slow request sleeps.
const SLOW: Duration = Duration::from_millis(1000);

pub fn a_fast_request_is_answered_while_four_slow_ones_run_on_one_thread(stage: &Stage) {
    let server = Server::start(stage, &["--threads", "1"]);
    let slow_clients = Clients::start(&server, 4, &slow(SLOW));
    // Time for the only connection thread to read the slow requests and hand them off.
    thread::sleep(Duration::from_millis(200));
    // The only connection thread must not wait for /slow: it runs elsewhere.
    expect_answered_within(
        &server,
        &get("/plaintext"),
        Duration::from_millis(300),
        "while four /slow run with one connection thread",
    );
    for (response, took) in slow_clients.join() {
        assert_eq!(response.status, 200, "a slow request: {response}");
        assert!(response.text().contains("slept"), "{response}");
        assert!(
            took < SLOW + Duration::from_millis(700),
            "four 1 s requests should run side by side off the connection thread, one took \
             {took:?}"
        );
    }
}

pub fn sigterm_closes_idle_connections_at_once_and_lets_slow_ones_finish(stage: &Stage) {
    let mut server = Server::start(stage, &["--threads", "1"]);
    let mut idle = connect(&server);
    idle.send(get("/plaintext")).or_fail("sending");
    expect_status(&mut idle, &get("/plaintext"), 200);
    let mut busy = connect(&server);
    let sent = get(&format!("/slow?ms={}", SLOW.as_millis()));
    busy.send(&sent).or_fail("sending /slow");
    thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    idle.set_timeout(Duration::from_millis(500));
    idle.expect_closed()
        .or_fail("an idle connection is closed at once on SIGTERM");
    let idle_closed = signalled.elapsed();
    assert!(
        idle_closed < Duration::from_millis(500),
        "the idle connection should close at once, not after {idle_closed:?}"
    );
    // No new connections once stopping: the listener is closed, so a newcomer is refused by the
    // kernel, or closed unanswered.
    thread::sleep(Duration::from_millis(100));
    if let Ok(mut late) = server.connect() {
        // Refused or not, the answer must be a close without a response.
        let _ = late.send(get("/plaintext"));
        late.set_timeout(Duration::from_secs(2));
        late.expect_closed()
            .or_fail("a connection made after SIGTERM is not served");
    }

    let response = expect_status(&mut busy, &sent, 200);
    assert!(
        response.has_token("connection", "close"),
        "the last response of a stopping server says `Connection: close`: {response}"
    );
    assert!(
        signalled.elapsed() >= SLOW - Duration::from_millis(300),
        "the slow request was cut short"
    );
    busy.expect_closed()
        .or_fail("after its last response the connection closes");
    expect_exit_status_zero(&mut server, Signal::Term, Duration::from_secs(5));
}
