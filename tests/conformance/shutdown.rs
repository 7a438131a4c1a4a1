//! Graceful stop (design.md): on SIGTERM or SIGINT a server stops accepting, finishes the
//! requests in flight, closes idle connections and exits with status 0.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Connector, Server, Signal, Stage};

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

/// `--drain-delay`: after SIGTERM the server goes on serving, `/healthz` answers 503
/// `draining` (a balancer's cue), other routes answer as before, on new connections too; when
/// the delay is over it stops and exits 0.
pub fn healthz_says_draining_during_the_drain_delay(stage: &Stage) {
    const DELAY: Duration = Duration::from_millis(1500);
    let mut server = Server::start(stage, &["--drain-delay", "1500ms"]);
    let healthz = exchange(&server, &get("/healthz"));
    assert_eq!((healthz.status, healthz.text()), (200, "ok".to_owned()));
    let signalled = Instant::now();
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    // Until the flag is up: the signal is handled on another thread (or by the master).
    let draining = loop {
        let response = exchange(&server, &get("/healthz"));
        if response.status != 200 || signalled.elapsed() > DELAY / 2 {
            break response;
        }
        thread::sleep(Duration::from_millis(20));
    };
    // Trimmed: the error-page middleware ends a plain-text error with a newline.
    assert_eq!(
        (draining.status, draining.text().trim()),
        (503, "draining"),
        "/healthz during the drain delay"
    );
    // Everything else is served as before, on a new connection.
    let plaintext = exchange(&server, &get("/plaintext"));
    assert_eq!(plaintext.status, 200, "/plaintext during the drain delay");
    assert!(
        signalled.elapsed() < DELAY,
        "the checks above took longer than the delay; the case proves nothing"
    );
    expect_exit_status_zero(&mut server, Signal::Term, DELAY + EXIT_WITHIN);
    assert!(
        signalled.elapsed() >= DELAY,
        "the server stopped {:?} after SIGTERM, before its --drain-delay",
        signalled.elapsed()
    );
}

/// Clients of the load through a stop, and how long the load lasts.
const LOAD_CLIENTS: usize = 16;
const LOAD_FOR: Duration = Duration::from_secs(5);
const SIGTERM_AFTER: Duration = Duration::from_millis(1500);

/// What happened to the requests of a keep-alive load.
#[derive(Debug, Default)]
pub struct Outcome {
    pub answered: u32,
    /// Requests sent that got a reset or an end of connection instead of their response.
    pub lost: Vec<String>,
}

impl Outcome {
    /// Fails, naming what was lost, unless every request sent was answered.
    pub fn expect_none_lost(&self, through: &str) {
        assert!(
            self.lost.is_empty(),
            "{} of the requests sent through {through} were lost ({} answered): {:?}",
            self.lost.len(),
            self.answered,
            self.lost
        );
    }
}

/// `clients` keep-alive clients in a loop for `length` (see [`keep_alive_client`]), with
/// `meanwhile` run on this thread after `after`; returns once every client has finished.
pub fn keep_alive_load(
    connector: &Connector,
    clients: usize,
    length: Duration,
    after: Duration,
    meanwhile: impl FnOnce(),
) -> Outcome {
    let until = Instant::now() + length;
    let clients: Vec<_> = (0..clients)
        .map(|_| {
            let connector = connector.clone();
            thread::spawn(move || keep_alive_client(connector, until))
        })
        .collect();
    thread::sleep(after);
    meanwhile();
    let mut total = Outcome::default();
    for client in clients {
        let outcome = client.join().expect("a client thread panicked");
        total.answered += outcome.answered;
        total.lost.extend(outcome.lost);
    }
    total
}

/// One keep-alive client in a loop: `/slow?ms=50`, reconnecting after `Connection: close`, until
/// a connect fails (the server has gone: nothing was sent) or the load's time is up.
fn keep_alive_client(connector: Connector, until: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let request = get("/slow?ms=50");
    while Instant::now() < until {
        let Ok(mut conn) = connector.connect() else {
            return outcome;
        };
        conn.set_timeout(EXIT_WITHIN);
        loop {
            if conn.send(&request).is_err() {
                // The server closed before this request left: nothing of it was sent.
                break;
            }
            match conn.read_response() {
                Ok(response) => {
                    outcome.answered += 1;
                    if response.has_token("connection", "close") || Instant::now() >= until {
                        break;
                    }
                }
                Err(error) => {
                    outcome.lost.push(error.to_string());
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// SIGTERM under a keep-alive load loses no request: every request a client sent is answered
/// in full, or its connection was refused before it sent a byte (design.md, issue "Hardening").
/// Stages 01 to 03 keep most of the sixteen clients in their accept queue, each with a request
/// sent, so this is their drain at work (`driver::listener::drain_accept_queue`), with the stop
/// grace of `protocol::http1::STOP_GRACE` for the connections being served; the evented and
/// async stages hold every client at once and answer each one's next request with
/// `Connection: close`.
pub fn sigterm_under_keep_alive_load_loses_no_request(stage: &Stage) {
    sigterm_under_keep_alive_load_loses_no_request_with(stage, &[]);
}

/// [`sigterm_under_keep_alive_load_loses_no_request`] with extra flags (stage 03's
/// `--reuseport`).
pub fn sigterm_under_keep_alive_load_loses_no_request_with(stage: &Stage, args: &[&str]) {
    let mut server = Server::start(stage, args);
    let connector = server.connector();
    let outcome = keep_alive_load(&connector, LOAD_CLIENTS, LOAD_FOR, SIGTERM_AFTER, || {
        server.signal(Signal::Term).or_fail("sending SIGTERM");
    });
    expect_exit_status_zero(&mut server, Signal::Term, EXIT_WITHIN);
    outcome.expect_none_lost("the stop");
    // More than the one connection served before the stop: the queue was drained.
    assert!(
        outcome.answered > LOAD_CLIENTS as u32,
        "only {} requests answered",
        outcome.answered
    );
}
