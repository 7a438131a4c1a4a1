//! Stage 04's own cases: what one thread serving many connections promises beyond the shared
//! suite, checked from outside (sockets, signals, and the server's `/proc/PID` files).
//!
//! - The loop never blocks: four `/slow?ms=1000` go to the pool, and a fast request on a fifth
//!   connection is answered at once, with a single loop (`--threads 1`).
//! - Back-pressure: a client that pipelines `GET /big.bin` without ever reading does not make
//!   the server buffer (memory, or open files) without bound, and others are still served.
//! - Timers: fifty slowloris clients at once are all cut at `--header-timeout`.
//! - Scale: two thousand idle kept-alive connections are held (RSS per connection is printed
//!   and bounded), and a new request is still answered promptly.
//! - `--max-connections`: one connection too many gets a 503 and a close, and a place is free
//!   again once a connection closes.
//! - SIGTERM: idle connections close at once, the `/slow` in flight on the pool finishes, and
//!   the process exits 0.
//! - `--threads 4`: four loops share the port (SO_REUSEPORT) and all of them serve.

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use stagecraft::{Capabilities, Conn, Server, Signal, Stage};

use crate::support::*;

const STAGE: Stage = Stage::new("stage04-evented", Capabilities::FULL);

/// The cases, in a module named after the stage so that `cargo test --test conformance stage04`
/// runs them together with the shared cases of the stage.
mod stage04 {
    use super::*;

    #[test]
    fn one_loop_answers_a_fast_request_while_four_slow_ones_run() {
        let server = Server::start(&STAGE, &["--threads", "1"]);
        let addr = server.addr();
        let slow = request("GET", "/slow?ms=1000", &["Connection: close"], b"");
        let started = Instant::now();
        let slow_clients: Vec<_> = (0..4)
            .map(|_| {
                let slow = slow.clone();
                thread::spawn(move || one_exchange(addr, &slow))
            })
            .collect();
        // Time for the loop to read the slow requests and hand them to the pool.
        thread::sleep(Duration::from_millis(200));
        let sent = Instant::now();
        assert_eq!(
            one_exchange(addr, &get("/plaintext")),
            200,
            "the fast request"
        );
        let fast_waited = sent.elapsed();
        for client in slow_clients {
            let status = client
                .join()
                .expect("a client thread panicked; its message is above");
            assert_eq!(status, 200, "a slow request");
        }
        let all_took = started.elapsed();
        assert!(
            fast_waited < Duration::from_millis(300),
            "the only loop must not wait for /slow (it runs on the pool), but the fast request \
             took {fast_waited:?}"
        );
        assert!(
            all_took < Duration::from_millis(1900),
            "four 1 s requests on the pool should run side by side, took {all_took:?} in all"
        );
    }

    #[test]
    fn unread_pipelined_big_responses_do_not_grow_the_server() {
        let server = Server::start(&STAGE, &["--threads", "1"]);
        let pid = server.pid();
        // Warm up: serve big.bin once, so the measurement starts from a server that has done it.
        let warm = exchange(&server, &get("/big.bin"));
        assert_eq!(warm.body.len(), 1 << 20);
        let rss_before = rss_kib(pid);
        let fds_before = open_fds(pid);

        // The client writes request after request and never reads: every buffer on the way
        // (its send buffer, the server's receive buffer, the server's output) fills up.
        let flooder = connect(&server);
        flooder
            .stream()
            .set_write_timeout(Some(Duration::from_millis(300)))
            .or_fail("setting a write timeout");
        let one = get("/big.bin");
        let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 100).collect();
        let mut sent_requests = 0usize;
        let flood_until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < flood_until {
            match flooder.stream().write(&batch) {
                Ok(written) => sent_requests += written / one.len(),
                // The buffers are full: the server stopped reading, which is the point.
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    break
                }
                Err(error) => panic!("writing requests: {error}"),
            }
        }
        thread::sleep(Duration::from_millis(300));
        let rss_after = rss_kib(pid);
        let fds_after = open_fds(pid);
        eprintln!(
            "flood of {sent_requests} unread big.bin requests: RSS {rss_before} KiB -> \
             {rss_after} KiB, open descriptors {fds_before} -> {fds_after}"
        );
        assert!(
            sent_requests > 1000,
            "the client should have got at least a thousand requests into the buffers, \
             got {sent_requests}"
        );
        assert!(
            rss_after < rss_before + 8 * 1024,
            "{sent_requests} pipelined requests for 1 MiB that are never read grew the server's \
             RSS from {rss_before} KiB to {rss_after} KiB: output is not bounded"
        );
        assert!(
            fds_after < fds_before + 64,
            "{sent_requests} unread requests for a file left {fds_after} descriptors open \
             (was {fds_before}): queued responses must not each hold a file open"
        );

        // The stuck client holds only its own connection: others are served at once.
        let started = Instant::now();
        assert_eq!(exchange(&server, &get("/plaintext")).status, 200);
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(flooder);
    }

    #[test]
    fn fifty_slowloris_clients_are_all_cut_at_the_header_timeout() {
        let server = Server::start(&STAGE, &["--threads", "1", "--header-timeout", "1s"]);
        let started = Instant::now();
        let mut clients: Vec<Conn> = (0..50)
            .map(|_| {
                let mut conn = connect(&server);
                conn.send(b"GET /plaintext HTTP/1.1\r\nHost: te")
                    .or_fail("sending a partial head");
                conn
            })
            .collect();
        // One more byte on each after a while: the header timeout runs from the first byte,
        // so trickling must not extend it.
        thread::sleep(Duration::from_millis(500));
        for conn in &mut clients {
            conn.send(b"s").or_fail("trickling a byte");
        }
        // Meanwhile an honest client is served at once.
        let honest = Instant::now();
        assert_eq!(exchange(&server, &get("/plaintext")).status, 200);
        assert!(honest.elapsed() < Duration::from_millis(300));
        for conn in &mut clients {
            conn.set_timeout(Duration::from_secs(4));
            let response = expect_status(conn, b"(partial head)", 408);
            assert!(response.has_token("connection", "close"), "{response}");
            conn.expect_closed()
                .or_fail("the connection closes after the 408");
        }
        let took = started.elapsed();
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
            "fifty stalled heads with a 1 s header timeout were cut after {took:?}"
        );
    }

    #[test]
    fn two_thousand_idle_connections_are_held() {
        let wanted = 2000;
        let count = wanted.min(descriptors_available().saturating_sub(100));
        if count < wanted {
            eprintln!(
                "note: this process may open only {count} descriptors more, so the case holds \
                 {count} connections instead of {wanted}"
            );
        }
        let server = Server::start(&STAGE, &["--threads", "1"]);
        let pid = server.pid();
        let addr = server.addr();
        // Warm up the allocator and the code paths with a few connections first.
        for _ in 0..20 {
            assert_eq!(exchange(&server, &get("/plaintext")).status, 200);
        }
        let rss_before = rss_kib(pid);
        let started = Instant::now();
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let mut conn = Conn::connect(addr).or_fail("connecting");
            conn.send(get("/plaintext")).or_fail("sending");
            expect_status(&mut conn, &get("/plaintext"), 200);
            held.push(conn);
        }
        let opened_in = started.elapsed();
        thread::sleep(Duration::from_millis(200));
        let rss_after = rss_kib(pid);
        let per_connection = (rss_after.saturating_sub(rss_before) * 1024) / count as u64;
        eprintln!(
            "{count} idle kept-alive connections (opened in {opened_in:?}): RSS {rss_before} KiB \
             -> {rss_after} KiB, {per_connection} bytes per connection"
        );

        // A new client is answered promptly, and the first and last held ones still work.
        let started = Instant::now();
        assert_eq!(exchange(&server, &get("/plaintext")).status, 200);
        let fresh = started.elapsed();
        assert!(
            fresh < Duration::from_millis(300),
            "with {count} idle connections held, a new request took {fresh:?}"
        );
        let last = held.len().saturating_sub(1);
        for index in [0, last] {
            let conn = &mut held[index];
            conn.send(get("/healthz"))
                .or_fail("reusing a held connection");
            expect_status(conn, &get("/healthz"), 200);
        }
        assert!(
            per_connection <= 16 * 1024,
            "an idle connection should cost a few KiB of server memory, not {per_connection} bytes"
        );
    }

    #[test]
    fn over_max_connections_is_refused_with_503_until_one_closes() {
        let server = Server::start(&STAGE, &["--max-connections", "2"]);
        let mut first = connect(&server);
        let mut second = connect(&server);
        for conn in [&mut first, &mut second] {
            conn.send(get("/plaintext")).or_fail("sending");
            expect_status(conn, &get("/plaintext"), 200);
        }
        let mut third = connect(&server);
        // The server answers before reading anything; the request may or may not get there.
        let _ = third.send(get("/plaintext"));
        let refused = expect_status(&mut third, b"(third connection)", 503);
        assert!(refused.has_token("connection", "close"), "{refused}");
        assert!(refused.header("retry-after").is_some(), "{refused}");
        assert!(refused.text().contains("max-connections"), "{refused}");
        assert_valid_date(&refused);
        third
            .expect_closed()
            .or_fail("the refused connection is closed");

        // The two admitted ones are unaffected; once one closes, a new client gets in.
        second.send(get("/healthz")).or_fail("sending");
        expect_status(&mut second, &get("/healthz"), 200);
        drop(first);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut conn = connect(&server);
            conn.send(get("/plaintext")).or_fail("sending");
            let status = conn.read_response().or_fail("reading").status;
            if status == 200 {
                break;
            }
            assert_eq!(status, 503);
            assert!(
                Instant::now() < deadline,
                "a closed connection should free its place within moments"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn sigterm_closes_idle_connections_at_once_and_lets_the_pool_finish() {
        let mut server = Server::start(&STAGE, &["--threads", "1"]);
        let mut idle = connect(&server);
        idle.send(get("/plaintext")).or_fail("sending");
        expect_status(&mut idle, &get("/plaintext"), 200);
        let mut busy = connect(&server);
        let slow = get("/slow?ms=1000");
        busy.send(&slow).or_fail("sending /slow");
        thread::sleep(Duration::from_millis(200));

        let signalled = Instant::now();
        server.signal(Signal::Term).or_fail("sending SIGTERM");
        idle.set_timeout(Duration::from_secs(2));
        idle.expect_closed()
            .or_fail("an idle connection is closed when the server stops");
        let idle_closed = signalled.elapsed();
        assert!(
            idle_closed < Duration::from_millis(500),
            "the idle connection should close at once, not after {idle_closed:?}"
        );
        // No new connections once stopping: the listener is closed.
        thread::sleep(Duration::from_millis(100));
        assert!(
            Conn::connect(server.addr())
                .and_then(|mut conn| {
                    conn.send(get("/plaintext"))?;
                    conn.read_response().map_err(std::io::Error::other)
                })
                .is_err(),
            "a stopping server must not take new requests"
        );

        let response = expect_status(&mut busy, &slow, 200);
        assert!(response.has_token("connection", "close"), "{response}");
        assert!(
            signalled.elapsed() >= Duration::from_millis(700),
            "the slow request was cut short"
        );
        busy.expect_closed()
            .or_fail("the connection closes after the last response");
        expect_exit_status_zero(&mut server, Duration::from_secs(5));
    }

    #[test]
    fn four_loops_share_the_port_and_all_serve() {
        let server = Server::start(&STAGE, &["--threads", "4"]);
        let addr = server.addr();
        let clients: Vec<_> = (0..8)
            .map(|_| {
                thread::spawn(move || {
                    (0..25)
                        .map(|_| one_exchange(addr, &get("/plaintext")))
                        .filter(|&status| status == 200)
                        .count()
                })
            })
            .collect();
        let served: usize = clients
            .into_iter()
            .map(|client| client.join().expect("a client thread panicked"))
            .sum();
        assert_eq!(served, 200, "every request on every connection is answered");
    }
}

/// One request on a new connection; the response's status.
fn one_exchange(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut conn = Conn::connect(addr).or_fail("connecting");
    conn.set_timeout(Duration::from_secs(10));
    conn.send(bytes).or_fail("sending");
    conn.read_response().or_fail("reading the response").status
}

/// The server's resident memory in KiB (`VmRSS` in `/proc/PID/status`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .or_fail("reading the server's /proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS line in /proc/{pid}/status"))
}

/// How many descriptors the server has open.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .or_fail("listing the server's descriptors")
        .count()
}

/// Raises this process's soft limit on open files to the hard limit, and returns how many more
/// descriptors it may open (roughly: the limit minus those open now).
fn descriptors_available() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed, which lives across
    // both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            }
        }
    }
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count());
    usize::try_from(limit.rlim_cur)
        .unwrap_or(usize::MAX)
        .saturating_sub(open)
}
