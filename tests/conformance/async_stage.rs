//! Stage 05's own cases: what a task per connection on a few worker threads promises beyond the
//! shared suite, checked as a client sees it.
//!
//! - A blocking handler never holds a worker: with `--threads 1`, a fast request is answered at
//!   once while four `/slow?ms=1000` run, and the four overlap.
//! - Small files are not held back by the `MSG_MORE` that joins their head and body.
//! - A client that asks for big files and never reads does not make the server buffer them:
//!   its memory (VmRSS in /proc) stays bounded, and the response still arrives when read.
//! - Many slowloris clients at once are each cut off at `--header-timeout` with a 408, while an
//!   ordinary client is served.
//! - Thousands of idle keep-alive connections are held at a few KiB each, and a new request is
//!   still answered at once. 2000 by default (scaled down to what this process's open-file limit
//!   allows); the C10K chapter does 10,000 by hand.
//! - Over `--max-connections`, a new connection gets `503` and a close; a freed slot is reused.
//! - SIGTERM: idle connections close at once, a `/slow` in flight finishes (with
//!   `Connection: close`), new connections are refused, and the exit status is 0.
//!
//! Memory figures are read from `/proc/PID/status`, so these cases need Linux, as the stage does.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use stagecraft::{Capabilities, Conn, Server, Signal, Stage};

use crate::support::*;

const STAGE: Stage = Stage::new("stage05-async", Capabilities::FULL);

/// How long a slow request sleeps.
const SLOW: Duration = Duration::from_millis(1000);

/// Idle connections held in [`stage05::thousands_of_idle_connections_are_held`].
const IDLE_CONNECTIONS: usize = 2000;

/// The RSS per idle connection the case accepts. The goal (issue: 16 KiB) is checked by hand
/// with 10,000 connections; this bound is looser, for debug builds and a noisy machine, and
/// still fails at once if a connection held a read buffer or a thread.
const MAX_BYTES_PER_IDLE_CONNECTION: u64 = 32 * 1024;

/// The cases, in a module named after the stage so that `cargo test --test conformance stage05`
/// runs them together with the shared cases of the stage.
mod stage05 {
    use super::*;

    #[test]
    fn a_fast_request_is_answered_while_four_slow_ones_run_on_one_thread() {
        let server = Server::start(&STAGE, &["--threads", "1"]);
        let addr = server.addr();
        let started = Instant::now();
        let slow: Vec<_> = (0..4)
            .map(|_| {
                thread::spawn(move || {
                    let sent = get(&format!("/slow?ms={}", SLOW.as_millis()));
                    let mut conn = Conn::connect(addr).or_fail("connecting for /slow");
                    conn.send(&sent).or_fail("sending /slow");
                    let response = expect_status(&mut conn, &sent, 200);
                    (response, started.elapsed())
                })
            })
            .collect();
        // Time for the four handlers to start sleeping.
        thread::sleep(Duration::from_millis(200));
        let asked = Instant::now();
        let response = exchange(&server, &get("/plaintext"));
        let fast_waited = asked.elapsed();
        assert_eq!(response.status, 200, "{response}");
        for handle in slow {
            let (response, took) = handle.join().expect("a /slow client panicked (see above)");
            assert!(response.text().contains("slept"), "{response}");
            assert!(
                took < SLOW + Duration::from_millis(700),
                "four 1 s requests should overlap on the blocking pool, one took {took:?}"
            );
        }
        assert!(
            fast_waited < Duration::from_millis(300),
            "with its one worker thread free (the slow handlers run on the blocking pool), a \
             fast request should be answered at once, took {fast_waited:?}"
        );
    }

    #[test]
    fn a_client_that_never_reads_big_responses_does_not_grow_memory() {
        let server = Server::start(&STAGE, &[]);
        // Warm up: the file is opened, read from disk into the page cache, and sent once.
        let mut warm = connect(&server);
        warm.send(get("/big.bin")).or_fail("sending the warm-up");
        let body = expect_status(&mut warm, &get("/big.bin"), 200).body;
        assert_eq!(body.len(), 1 << 20);
        let rss_before = rss_bytes(&server);
        let files_before = open_files(&server);

        // Four clients each ask for big.bin 1000 times (1000 MiB) in one write, and read nothing.
        let asked: Vec<u8> = get("/big.bin").repeat(1000);
        let mut stalled: Vec<Conn> = (0..4)
            .map(|_| {
                let mut conn = connect(&server);
                conn.send(&asked)
                    .or_fail("sending 1000 requests for big.bin");
                conn
            })
            .collect();
        thread::sleep(Duration::from_millis(1500));
        let rss_after = rss_bytes(&server);
        let files_after = open_files(&server);
        let grown = rss_after.saturating_sub(rss_before);
        eprintln!(
            "4 clients x 1000 unread MiB: RSS {rss_before} -> {rss_after} B (+{grown} B), \
             open files {files_before} -> {files_after}"
        );
        assert!(
            grown < 8 << 20,
            "the server's memory grew by {grown} bytes for responses nobody reads: it buffers \
             instead of waiting for the socket"
        );
        assert!(
            files_after <= files_before + 4 * 4,
            "{files_after} descriptors open (from {files_before}): the server answers requests \
             whose responses cannot leave, holding a file open for each"
        );

        // Meanwhile another client is served at once...
        let asked_at = Instant::now();
        let response = exchange(&server, &get("/plaintext"));
        assert_eq!(response.status, 200, "{response}");
        assert!(asked_at.elapsed() < Duration::from_millis(500));
        // ...and the stalled responses were only waiting: read two, they are whole.
        for _ in 0..2 {
            let response = expect_status(&mut stalled[0], &get("/big.bin"), 200);
            assert_eq!(response.body.len(), 1 << 20);
        }
    }

    /// The head of a small-file response is sent with `MSG_MORE` so that it shares a segment
    /// with the file; if the flag were ever left on the last write, the kernel would hold the
    /// response back for its 200 ms cork timeout. Forty exchanges must take milliseconds, not seconds.
    #[test]
    fn small_files_on_a_kept_alive_connection_are_not_held_back() {
        let server = Server::start(&STAGE, &[]);
        let mut conn = connect(&server);
        let started = Instant::now();
        for path in ["/style.css", "/index.html", "/stagecraft.png", "/plaintext"].repeat(10) {
            conn.send(get(path)).or_fail("sending");
            expect_status(&mut conn, &get(path), 200);
        }
        let took = started.elapsed();
        eprintln!("40 small responses on one connection: {took:?}");
        assert!(
            took < Duration::from_millis(500),
            "40 small responses on one connection took {took:?}: something holds them back"
        );
    }

    #[test]
    fn slowloris_clients_are_all_cut_at_the_header_timeout() {
        const CLIENTS: usize = 20;
        let server = Server::start(&STAGE, &["--header-timeout", "1s"]);
        let mut conns: Vec<Conn> = (0..CLIENTS).map(|_| connect(&server)).collect();
        let writers: Vec<TcpStream> = conns
            .iter()
            .map(|conn| conn.stream().try_clone().or_fail("cloning a socket"))
            .collect();
        let started = Instant::now();
        // One thread trickles a byte to every client every 100 ms, for at most 5 s.
        let trickle = thread::spawn(move || {
            let mut writers: Vec<Option<TcpStream>> = writers.into_iter().map(Some).collect();
            let head = b"GET /plaintext HTTP/1.1\r\nX-Slow: ";
            for step in 0..50 {
                let byte = head.get(step).copied().unwrap_or(b'a');
                for slot in &mut writers {
                    // A failed write means the server has closed that connection.
                    if slot
                        .as_mut()
                        .is_some_and(|writer| writer.write_all(&[byte]).is_err())
                    {
                        *slot = None;
                    }
                }
                thread::sleep(Duration::from_millis(100));
            }
        });
        thread::sleep(Duration::from_millis(300));
        let asked = Instant::now();
        let response = exchange(&server, &get("/plaintext"));
        assert_eq!(response.status, 200, "{response}");
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "an ordinary client waited {:?} behind the slowloris clients",
            asked.elapsed()
        );
        for conn in &mut conns {
            conn.set_timeout(Duration::from_secs(4));
            let response = expect_status(conn, b"(trickled head)", 408);
            let after = started.elapsed();
            assert!(response.has_token("connection", "close"), "{response}");
            assert!(
                (Duration::from_millis(700)..Duration::from_secs(3)).contains(&after),
                "a trickled head should be cut about 1 s after its first byte, was after {after:?}"
            );
        }
        for conn in &mut conns {
            conn.expect_closed()
                .or_fail("the connection closes after its 408");
        }
        let _ = trickle.join();
    }

    #[test]
    fn thousands_of_idle_connections_are_held() {
        let count = IDLE_CONNECTIONS.min(descriptors_to_spare());
        assert!(
            count >= 100,
            "this process may open too few files ({count} to spare) for the case to mean anything"
        );
        let server = Server::start(&STAGE, &[]);
        let case_started = Instant::now();
        // Warm up the runtime's threads and allocator with a few connections, then measure.
        for _ in 0..10 {
            exchange(&server, &get("/plaintext"));
        }
        let before = rss_bytes(&server);
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let mut conn = connect(&server);
            conn.send(get("/plaintext"))
                .or_fail("sending on a new connection");
            expect_status(&mut conn, &get("/plaintext"), 200);
            held.push(conn);
        }
        // Let the tasks settle into their idle wait before reading the figure.
        thread::sleep(Duration::from_millis(300));
        let after = rss_bytes(&server);
        let per_connection = after.saturating_sub(before) / count as u64;
        eprintln!(
            "{count} idle keep-alive connections: RSS {before} -> {after} B, \
             {per_connection} B per connection"
        );
        assert!(
            per_connection <= MAX_BYTES_PER_IDLE_CONNECTION,
            "{per_connection} bytes of RSS per idle connection (at most \
             {MAX_BYTES_PER_IDLE_CONNECTION} expected)"
        );

        // A newcomer is answered at once while they are all held...
        let asked = Instant::now();
        let response = exchange(&server, &get("/hello/newcomer"));
        assert_eq!(response.status, 200, "{response}");
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "with {count} idle connections held, a new request took {:?}",
            asked.elapsed()
        );
        // ...and every held connection is still open and served.
        for conn in &mut held {
            conn.send(get("/healthz"))
                .or_fail("sending on a held connection");
            expect_status(conn, &get("/healthz"), 200);
        }
        assert!(
            case_started.elapsed() < Duration::from_secs(30),
            "holding {count} connections took {:?}",
            case_started.elapsed()
        );
    }

    #[test]
    fn over_max_connections_a_client_gets_503_and_a_freed_slot_is_reused() {
        let server = Server::start(&STAGE, &["--max-connections", "2"]);
        let mut first = connect(&server);
        let mut second = connect(&server);
        for conn in [&mut first, &mut second] {
            conn.send(get("/plaintext")).or_fail("sending");
            expect_status(conn, &get("/plaintext"), 200);
        }
        let mut third = connect(&server);
        third
            .send(get("/plaintext"))
            .or_fail("sending over the limit");
        let refused = expect_status(&mut third, &get("/plaintext"), 503);
        assert!(refused.has_token("connection", "close"), "{refused}");
        assert!(refused.header("retry-after").is_some(), "{refused}");
        third
            .expect_closed()
            .or_fail("a refused connection is closed after the 503");

        // Closing a connection gives its slot back (as soon as its task sees the close).
        drop(first);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let response = exchange(&server, &get("/plaintext"));
            if response.status == 200 {
                break;
            }
            assert_eq!(response.status, 503, "{response}");
            assert!(
                Instant::now() < deadline,
                "the slot of a closed connection was not given back within 3 s"
            );
            thread::sleep(Duration::from_millis(50));
        }
        // The second connection was never disturbed.
        second.send(get("/healthz")).or_fail("sending");
        expect_status(&mut second, &get("/healthz"), 200);
    }

    #[test]
    fn sigterm_finishes_a_slow_request_closes_idle_ones_and_exits_0() {
        let mut server = Server::start(&STAGE, &["--threads", "1"]);
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
        // The listener is closed too: a newcomer is refused by the kernel, or closed unanswered.
        if let Ok(mut late) = Conn::connect(server.addr()) {
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
        expect_exit_status_zero(&mut server, Duration::from_secs(5));
    }
}

/// The resident set size of the server process, from `/proc/PID/status`.
fn rss_bytes(server: &Server) -> u64 {
    let path = format!("/proc/{}/status", server.pid());
    let status = fs::read_to_string(&path).or_fail(&format!("reading {path}"));
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS line in {path}"));
    kib * 1024
}

/// How many file descriptors the server process has open, from `/proc/PID/fd`.
fn open_files(server: &Server) -> usize {
    let path = format!("/proc/{}/fd", server.pid());
    fs::read_dir(&path)
        .or_fail(&format!("listing {path}"))
        .count()
}

/// How many more sockets this test process can open, after raising its soft open-file limit to
/// the hard one (as the server does for itself), keeping some for everything else the tests run.
fn descriptors_to_spare() -> usize {
    const KEPT_FOR_OTHERS: u64 = 256;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct on this stack.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    let open_now = fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64);
    limit
        .rlim_cur
        .saturating_sub(open_now + KEPT_FOR_OTHERS)
        .try_into()
        .unwrap_or(usize::MAX)
}
