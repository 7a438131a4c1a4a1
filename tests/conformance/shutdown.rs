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

/// Clients of the load through a stop, and how long the load lasts.
const LOAD_CLIENTS: usize = 16;
const LOAD_FOR: Duration = Duration::from_secs(5);
const SIGTERM_AFTER: Duration = Duration::from_millis(1500);

/// What happened to the requests one client sent through a stop.
#[derive(Default)]
struct Outcome {
    answered: u32,
    /// Requests sent that got a reset or an end of connection instead of their response.
    lost: Vec<String>,
}

/// One keep-alive client in a loop: `/slow?ms=50`, reconnecting after `Connection: close`, until
/// a connect fails (the server has gone: nothing was sent) or the load's time is up.
fn keep_alive_client(addr: std::net::SocketAddr, until: std::time::Instant) -> Outcome {
    use std::io::{Read, Write};
    let mut outcome = Outcome::default();
    let request = b"GET /slow?ms=50 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    while std::time::Instant::now() < until {
        let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        else {
            return outcome;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        loop {
            if stream.write_all(request).is_err() {
                // The server closed before this request left: nothing of it was sent.
                break;
            }
            let mut response = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(end + 4);
                }
                match stream.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => response.extend_from_slice(&buf[..n]),
                    Err(error) => {
                        outcome.lost.push(error.to_string());
                        return outcome;
                    }
                }
            };
            let Some(head_end) = head_end else {
                outcome
                    .lost
                    .push("the connection ended before the response".into());
                return outcome;
            };
            let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            while response.len() < head_end + length {
                match stream.read(&mut buf) {
                    Ok(n) if n > 0 => response.extend_from_slice(&buf[..n]),
                    _ => {
                        outcome.lost.push("the response was cut short".into());
                        return outcome;
                    }
                }
            }
            outcome.answered += 1;
            if head.contains("connection: close") || std::time::Instant::now() >= until {
                break;
            }
        }
    }
    outcome
}

/// SIGTERM under a keep-alive load loses no request: every request a client sent is answered
/// in full, or its connection was refused before it sent a byte (design.md, issue "Hardening").
/// Stage 01 keeps fifteen of the sixteen clients in its accept queue, each with a request sent,
/// so this is its accept-queue drain (`server::drain`) at work, with the stop grace of
/// `conn::STOP_GRACE` for the connection it is serving.
pub fn sigterm_under_keep_alive_load_loses_no_request(stage: &Stage) {
    let mut server = Server::start(stage, &[]);
    let addr = server.addr();
    let until = std::time::Instant::now() + LOAD_FOR;
    let clients: Vec<_> = (0..LOAD_CLIENTS)
        .map(|_| thread::spawn(move || keep_alive_client(addr, until)))
        .collect();
    thread::sleep(SIGTERM_AFTER);
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    let outcomes: Vec<Outcome> = clients
        .into_iter()
        .map(|client| client.join().expect("a client thread panicked"))
        .collect();
    expect_exit_status_zero(&mut server, Signal::Term, EXIT_WITHIN);
    let answered: u32 = outcomes.iter().map(|outcome| outcome.answered).sum();
    let lost: Vec<&String> = outcomes.iter().flat_map(|outcome| &outcome.lost).collect();
    assert!(
        lost.is_empty(),
        "{} of the requests sent through the stop were lost ({answered} answered): {lost:?}",
        lost.len()
    );
    // More than the one connection served before the stop: the queue was drained.
    assert!(
        answered > LOAD_CLIENTS as u32,
        "only {answered} requests answered"
    );
}

/// The stages whose stop drains the accept queue.
mod drains_the_accept_queue {
    use super::*;

    #[test]
    fn stage01_sigterm_under_keep_alive_load_loses_no_request() {
        sigterm_under_keep_alive_load_loses_no_request(&crate::stage01_blocking::STAGE);
    }
}
