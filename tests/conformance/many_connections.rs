//! For the stages that hold thousands of connections at once, without a thread or a process for
//! each ([`Capabilities::many_connections`](stagekit::Capabilities::many_connections): stages 04
//! and 05), all with one thread serving connections (`--threads 1`):
//!
//! - two thousand idle kept-alive connections are held at a few KiB of server memory each
//!   (VmRSS in `/proc/PID/status`, printed), a newcomer is answered at once, and every held
//!   connection is still served afterwards. The C10K chapter does 10,000 by hand;
//! - fifty slowloris clients trickling their heads a byte at a time are all cut at
//!   `--header-timeout` with a 408 and a close, and an ordinary client is served meanwhile.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{procfs, Conn, Server, Stage, Writer};

use crate::support::*;

/// Idle connections held, if this process may open that many files.
const IDLE_CONNECTIONS: usize = 2000;

/// The server memory an idle connection may cost. The goal (16 KiB) holds with room to spare in
/// debug builds (about 1.6 KiB in stage 04 and 3 KiB in stage 05 when this was written), so a
/// connection that held a read buffer or a thread fails it at once.
const MAX_BYTES_PER_IDLE_CONNECTION: u64 = 16 * 1024;

/// Slowloris clients at once.
const SLOWLORIS_CLIENTS: usize = 50;

pub fn thousands_of_idle_connections_are_held(stage: &Stage) {
    // Descriptors kept for everything else the tests run beside this one.
    let count = IDLE_CONNECTIONS.min(procfs::descriptors_to_spare(256));
    assert!(
        count >= 100,
        "this process may open too few files ({count} to spare) for the case to mean anything"
    );
    if count < IDLE_CONNECTIONS {
        eprintln!(
            "note: this process may open only {count} more descriptors, so the case holds \
             {count} connections instead of {IDLE_CONNECTIONS}"
        );
    }
    let server = Server::start(stage, &["--threads", "1"]);
    let case_started = Instant::now();
    // Warm up the threads, the allocator and the code paths with a few connections first.
    for _ in 0..20 {
        assert_eq!(exchange(&server, &get("/plaintext")).status, 200);
    }
    let before = procfs::rss_bytes(server.pid()).or_fail("reading the server's memory");
    let opening = Instant::now();
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let mut conn = connect(&server);
        conn.send(get("/plaintext"))
            .or_fail("sending on a new connection");
        expect_status(&mut conn, &get("/plaintext"), 200);
        held.push(conn);
    }
    let opened_in = opening.elapsed();
    // Let the connections settle into their idle wait before reading the figure.
    thread::sleep(Duration::from_millis(300));
    let after = procfs::rss_bytes(server.pid()).or_fail("reading the server's memory");
    let per_connection = after.saturating_sub(before) / count as u64;
    eprintln!(
        "{count} idle kept-alive connections (opened in {opened_in:?}): RSS {before} -> {after} B, \
         {per_connection} B per connection"
    );
    assert!(
        per_connection <= MAX_BYTES_PER_IDLE_CONNECTION,
        "{per_connection} bytes of RSS per idle connection (at most \
         {MAX_BYTES_PER_IDLE_CONNECTION} expected): an idle connection should cost a few KiB"
    );

    // A newcomer is answered at once while they are all held...
    expect_answered_within(
        &server,
        &get("/hello/newcomer"),
        Duration::from_millis(300),
        &format!("with {count} idle connections held"),
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

pub fn slowloris_clients_are_all_cut_at_the_header_timeout(stage: &Stage) {
    let server = Server::start(stage, &["--threads", "1", "--header-timeout", "1s"]);
    let mut conns: Vec<Conn> = (0..SLOWLORIS_CLIENTS).map(|_| connect(&server)).collect();
    let writers: Vec<Writer> = conns.iter().map(Conn::writer).collect();
    let started = Instant::now();
    // A byte to every client every 100 ms, for at most 5 s: the header timeout runs from the
    // first byte, so trickling must not extend it.
    let trickle = trickle_heads(writers, Duration::from_millis(100), 50);
    // Meanwhile an ordinary client is served at once.
    thread::sleep(Duration::from_millis(300));
    expect_answered_within(
        &server,
        &get("/plaintext"),
        Duration::from_millis(300),
        &format!("beside {SLOWLORIS_CLIENTS} slowloris clients"),
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
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{SLOWLORIS_CLIENTS} trickled heads with a 1 s header timeout were all cut after {took:?}"
    );
    // The trickle thread only writes, and stops by itself within 5 s (sooner once every
    // connection is closed).
    let _ = trickle.join();
}
