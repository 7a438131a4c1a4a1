//! Stage 03 only: what a supervising master promises beyond the shared cases.
//!
//! - a worker killed with SIGKILL is replaced, and the server answers meanwhile;
//! - SIGHUP replaces every worker, one at a time, without a failed request, also under a
//!   keep-alive load;
//! - SIGTERM lets the request in flight finish, the master exits 0, and no worker is left;
//! - `--workers` is the number of requests served at once (`/slow` with 8 workers vs 2);
//! - `--reuseport` serves, and spreads connections over the workers;
//! - a bad `--workers` is refused with one line.
//!
//! Workers are found as the master's children in `/proc` (the kit's [`procfs::children_of`]) and
//! signalled by PID, never by name. Every load here is bounded in count and time.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use stagekit::server::signal_process;
use stagekit::{procfs, Server, Signal};

use crate::stage03_prefork::STAGE;
use crate::support::*;

/// How long the master may take to bring the workers back to their number.
const SETTLE_WITHIN: Duration = Duration::from_secs(10);

/// When `pid` started (clock ticks since boot), which tells a worker from a later process that
/// got its PID.
fn start_time(pid: u32) -> Option<u64> {
    procfs::stat(pid).map(|stat| stat.start_ticks)
}

/// Waits until `check` holds for the master's children, and returns them.
fn wait_for_workers(
    server: &Server,
    what: &str,
    check: impl Fn(&BTreeSet<u32>) -> bool,
) -> BTreeSet<u32> {
    let deadline = Instant::now() + SETTLE_WITHIN;
    loop {
        let workers = procfs::children_of(server.pid());
        if check(&workers) {
            return workers;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {SETTLE_WITHIN:?}; the master's children are {workers:?}\n\
             server stderr:\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to one worker by PID.
fn signal_worker(pid: u32, signal: Signal) {
    // The PID was read from the master's children a moment ago, and only the master reaps its
    // workers, so it still names that worker.
    signal_process(pid, signal).or_fail(&format!("sending {signal} to worker {pid}"));
}

/// GET /api/info on a new connection (closed after the answer): the PID of the worker that
/// answered, or why there was no answer.
fn answering_pid(server: &Server) -> Result<u32, String> {
    let sent = request("GET", "/api/info", &["Connection: close"], b"");
    let mut conn = server.connect().map_err(|e| format!("connect: {e}"))?;
    conn.send(&sent).map_err(|e| format!("send: {e}"))?;
    let response = conn.read_response().map_err(|e| format!("read: {e}"))?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    let info: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|e| format!("JSON: {e}"))?;
    info["pid"]
        .as_u64()
        .and_then(|pid| u32::try_from(pid).ok())
        .ok_or_else(|| format!("no pid in {info}"))
}

/// Four `/slow?ms=1000` at once, then a fast request: how long the fast one waits.
fn fast_request_wait_during_four_slow_ones(workers: &str) -> Duration {
    let server = Server::start(&STAGE, &["--workers", workers]);
    let slow_clients = Clients::start(&server, 4, &slow(Duration::from_secs(1)));
    // The fast request connects only once the four slow ones are connected and sent, so it is
    // behind them in the kernel's accept queue, which is first in, first out.
    slow_clients.wait_sent();
    let started = Instant::now();
    let mut fast = connect(&server);
    fast.set_timeout(CLIENT_TIMEOUT);
    let sent = request("GET", "/plaintext", &["Connection: close"], b"");
    fast.send(&sent).or_fail("sending the fast request");
    expect_status(&mut fast, &sent, 200);
    let waited = started.elapsed();
    slow_clients.join_ok();
    waited
}

/// The cases, in a module named after the stage so that `cargo test --test conformance stage03`
/// runs them together with stage 03's shared cases.
mod stage03_prefork {
    use super::*;

    #[test]
    fn killed_worker_is_replaced() {
        let server = Server::start(&STAGE, &["--workers", "3"]);
        let before = wait_for_workers(&server, "3 workers at start", |w| w.len() == 3);
        // Cannot fail: wait_for_workers returned only once there were three.
        let victim = *before.first().expect("three workers");
        signal_worker(victim, Signal::Kill);
        for round in 0..20 {
            let pid = answering_pid(&server).unwrap_or_else(|error| {
                panic!("request {round} after the SIGKILL failed: {error}")
            });
            assert_ne!(pid, victim, "a killed worker cannot answer");
        }
        let after = wait_for_workers(&server, "the killed worker replaced", |w| {
            w.len() == 3 && !w.contains(&victim)
        });
        assert_eq!(
            before.intersection(&after).count(),
            2,
            "{before:?} -> {after:?}"
        );
    }

    #[test]
    fn sighup_replaces_every_worker_without_a_failed_request() {
        let server = Server::start(&STAGE, &["--workers", "2"]);
        let old = wait_for_workers(&server, "2 workers at start", |w| w.len() == 2);
        let addr_server = &server;
        let (failures, answered_by) = thread::scope(|scope| {
            let client = scope.spawn(move || {
                // 200 requests over about 3 s, each on its own connection.
                let mut failures = Vec::new();
                let mut answered_by = BTreeSet::new();
                for round in 0..200 {
                    match answering_pid(addr_server) {
                        Ok(pid) => {
                            answered_by.insert(pid);
                        }
                        Err(error) => failures.push(format!("request {round}: {error}")),
                    }
                    thread::sleep(Duration::from_millis(15));
                }
                (failures, answered_by)
            });
            thread::sleep(Duration::from_millis(300));
            // By PID rather than `Server::signal`, which needs the server that the client thread
            // borrows; the master is this test's own unreaped child.
            signal_process(server.pid(), Signal::Hup).or_fail("sending SIGHUP to the master");
            // A panic in the client thread is its own assertion failing: pass it on.
            client.join().expect("the client thread panicked")
        });
        assert!(
            failures.is_empty(),
            "requests failed during the rolling restart: {failures:#?}\nserver stderr:\n{}",
            server.stderr()
        );
        let new = wait_for_workers(&server, "every worker replaced", |w| {
            w.len() == 2 && w.is_disjoint(&old)
        });
        assert!(
            answered_by.iter().any(|pid| new.contains(pid)),
            "the new workers {new:?} answered none of the requests (answered by {answered_by:?})"
        );
    }

    /// The kept-alive connection race of a rolling restart, closed: a retired worker answers
    /// its client's next request with `Connection: close` (after `protocol::http1::STOP_GRACE`
    /// at most), and the client's new connection waits in the shared queue for the new worker.
    #[test]
    fn sighup_under_keep_alive_load_loses_no_request() {
        let server = Server::start(&STAGE, &["--workers", "4"]);
        let old = wait_for_workers(&server, "4 workers at start", |w| w.len() == 4);
        let outcome = crate::shutdown::keep_alive_load(
            &server.connector(),
            4,
            Duration::from_secs(4),
            Duration::from_millis(1000),
            || signal_process(server.pid(), Signal::Hup).or_fail("sending SIGHUP to the master"),
        );
        outcome.expect_none_lost("the rolling restart");
        wait_for_workers(&server, "every worker replaced", |w| {
            w.len() == 4 && w.is_disjoint(&old)
        });
    }

    /// With a queue per worker, each stopping worker shuts and drains its own.
    #[test]
    fn reuseport_sigterm_under_keep_alive_load_loses_no_request() {
        crate::shutdown::sigterm_under_keep_alive_load_loses_no_request_with(
            &STAGE,
            &["--reuseport"],
        );
    }

    #[test]
    fn sigterm_finishes_the_request_in_flight_and_leaves_no_worker() {
        let mut server = Server::start(&STAGE, &["--workers", "2"]);
        let workers = wait_for_workers(&server, "2 workers at start", |w| w.len() == 2);
        let started: Vec<(u32, u64)> = workers
            .iter()
            .filter_map(|pid| Some((*pid, start_time(*pid)?)))
            .collect();
        assert_eq!(started.len(), 2, "start times of {workers:?}");
        let mut conn = connect(&server);
        let sent = get("/slow?ms=500");
        conn.send(&sent).or_fail("sending /slow");
        // Long enough for a worker to have read the request and entered the handler.
        thread::sleep(Duration::from_millis(150));
        server.signal(Signal::Term).or_fail("sending SIGTERM");
        expect_status(&mut conn, &sent, 200);
        expect_exit_status_zero(&mut server, Signal::Term, Duration::from_secs(5));
        // The master reaps every worker before it exits. A PID may be reused by now, so a worker
        // counts as gone when its PID is free or names a process started at another time.
        for (pid, started) in started {
            assert_ne!(
                start_time(pid),
                Some(started),
                "worker {pid} outlived its master\nserver stderr:\n{}",
                server.stderr()
            );
        }
    }

    #[test]
    fn eight_workers_answer_a_fast_request_during_four_slow_ones() {
        let waited = fast_request_wait_during_four_slow_ones("8");
        assert!(
            waited < Duration::from_millis(500),
            "with 8 workers and 4 busy, a fast request waited {waited:?}"
        );
    }

    #[test]
    fn two_workers_make_a_fast_request_wait_for_the_slow_ones() {
        let waited = fast_request_wait_during_four_slow_ones("2");
        // Both workers sleep in /slow and the fast request queues behind two more of them.
        assert!(
            waited >= Duration::from_millis(700),
            "with 2 workers both busy, a fast request was answered after only {waited:?}"
        );
    }

    #[test]
    fn reuseport_serves_and_spreads_connections() {
        let server = Server::start(&STAGE, &["--workers", "2", "--reuseport"]);
        let workers = wait_for_workers(&server, "2 workers at start", |w| w.len() == 2);
        let mut answered_by = BTreeSet::new();
        for round in 0..40 {
            let pid = answering_pid(&server)
                .unwrap_or_else(|error| panic!("request {round} with --reuseport failed: {error}"));
            assert!(
                workers.contains(&pid),
                "answered by {pid}, not a worker {workers:?}"
            );
            answered_by.insert(pid);
        }
        // 40 connections from 40 source ports hashed over 2 sockets: all on one has odds of 2^-39.
        assert_eq!(answered_by, workers, "connections hashed over the workers");
    }

    #[test]
    fn zero_workers_is_refused_with_one_line() {
        for workers in ["0", "many", "100000"] {
            expect_refused(
                &STAGE,
                &["--addr", "127.0.0.1:0", "--workers", workers],
                &["--workers"],
            );
        }
    }
}
