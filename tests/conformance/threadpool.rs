//! Stage 02's own cases: what its thread pool promises beyond the shared suite, and the limits
//! its chapter describes, checked as a client sees them.
//!
//! - `--threads` is the number of connections served at once: with 8 workers a fast request is
//!   answered while four `/slow?ms=1000` run; with 2 it waits for a slow one to finish.
//! - An idle keep-alive connection waits in the lobby, not in a worker (with rayon's pool, which
//!   has no lobby, it still occupies a worker until the idle timeout gives it back).
//! - Each `--pool` mode (handmade, rayon, per-connection) serves, overlaps slow requests, says
//!   which it is in `/api/info`, and stops with exit status 0 on SIGTERM.
//! - Bad `--threads` and `--pool` values are refused with one line.
//!
//! The pool's own guarantees (a panicking job does not lose its worker; a full queue makes
//! `execute` wait) are unit tests next to the pool, in `stages/02-threadpool/src/pool.rs`: the
//! application has no route that panics, and the queue is not observable from a socket.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Server, Signal};

use crate::stage02_threadpool::STAGE;
use crate::support::*;

/// How long a slow request sleeps in the `--threads` cases.
const SLOW: Duration = Duration::from_millis(1000);

/// Time for the server to accept the slow requests' connections and start their handlers before
/// the fast request is sent.
const SETTLE: Duration = Duration::from_millis(200);

/// The cases, in a module named after the stage so that `cargo test --test conformance stage02`
/// runs them together with the shared cases of the stage.
mod stage02 {
    use super::*;

    #[test]
    fn eight_threads_answer_a_fast_request_while_four_slow_ones_run() {
        let server = Server::start(&STAGE, &["--threads", "8"]);
        let (fast_waited, slow_took) = fast_request_during_four_slow_ones(&server);
        assert!(
            fast_waited < Duration::from_millis(500),
            "with 8 workers and 4 busy, a fast request should be answered at once, took {fast_waited:?}"
        );
        assert!(
            slow_took < SLOW * 2,
            "four 1 s requests on 8 workers should run side by side, took {slow_took:?} in all"
        );
    }

    #[test]
    fn two_threads_make_a_fast_request_wait_for_a_slow_one() {
        let server = Server::start(&STAGE, &["--threads", "2"]);
        let (fast_waited, _) = fast_request_during_four_slow_ones(&server);
        // Both workers are asleep in /slow until 1 s after the slow requests were sent, and the fast
        // request was sent SETTLE later, so it cannot be answered before SLOW - SETTLE. (First in,
        // first out, it actually waits behind the two queued slow ones too: about 1.8 s.)
        assert!(
            (SLOW - SETTLE - Duration::from_millis(100)..Duration::from_secs(6))
                .contains(&fast_waited),
            "with 2 workers both in /slow, a fast request should wait for one to finish, \
             waited {fast_waited:?}"
        );
    }

    /// The lobby (`driver::lobby`): an idle kept-alive connection waits there, not in a worker.
    #[test]
    fn an_idle_keep_alive_connection_leaves_the_only_worker_free() {
        let server = Server::start(&STAGE, &["--threads", "1", "--idle-timeout", "3s"]);
        let (waited, mut first) = second_client_behind_an_idle_one(&server);
        assert!(
            waited < Duration::from_millis(500),
            "with one worker and an idle keep-alive connection in the lobby, a second client \
             should be answered at once, waited {waited:?}"
        );
        // The idle connection was kept, not closed: it is served again.
        first
            .send(get("/healthz"))
            .or_fail("sending on the idle connection");
        expect_status(&mut first, &get("/healthz"), 200);
    }

    /// rayon's pool has no lobby: there an idle connection still holds its worker until the
    /// idle timeout gives it back, as the whole stage did before the lobby.
    #[test]
    fn an_idle_keep_alive_connection_occupies_rayons_only_worker() {
        let server = Server::start(
            &STAGE,
            &["--pool", "rayon", "--threads", "1", "--idle-timeout", "1s"],
        );
        let (waited, _first) = second_client_behind_an_idle_one(&server);
        assert!(
            (Duration::from_millis(700)..=Duration::from_secs(3)).contains(&waited),
            "with rayon's one worker held by an idle keep-alive connection, a second client \
             should wait for the 1 s idle timeout, waited {waited:?}"
        );
    }

    /// The same situation without a pool: the idle connection holds only its own thread.
    #[test]
    fn per_connection_threads_do_not_wait_behind_an_idle_connection() {
        let server = Server::start(
            &STAGE,
            &[
                "--pool",
                "per-connection",
                "--threads",
                "1",
                "--idle-timeout",
                "1s",
            ],
        );
        let (waited, _first) = second_client_behind_an_idle_one(&server);
        assert!(
            waited < Duration::from_millis(500),
            "a thread per connection ignores --threads, so the second client should be answered \
             at once, waited {waited:?}"
        );
    }

    #[test]
    fn handmade_pool_serves_and_stops() {
        every_mode_check("handmade", "hand-built");
    }

    #[test]
    fn rayon_pool_serves_and_stops() {
        every_mode_check("rayon", "rayon");
    }

    #[test]
    fn per_connection_threads_serve_and_stop() {
        every_mode_check("per-connection", "one thread per connection");
    }

    #[test]
    fn zero_threads_is_refused() {
        expect_refused(
            &STAGE,
            &["--addr", "127.0.0.1:0", "--threads", "0"],
            &["--threads"],
        );
    }

    #[test]
    fn unknown_pool_is_refused() {
        expect_refused(
            &STAGE,
            &["--addr", "127.0.0.1:0", "--pool", "nonsense"],
            &["nonsense"],
        );
    }
}

/// Sends four `/slow?ms=1000` on four connections, then (after [`SETTLE`]) one `/plaintext` on a
/// fifth. Returns how long the fast request waited for its answer, and how long the four slow
/// ones took in all.
fn fast_request_during_four_slow_ones(server: &Server) -> (Duration, Duration) {
    let slow_clients = Clients::start(server, 4, &slow(SLOW));
    thread::sleep(SETTLE);
    let sent = Instant::now();
    let fast = exchange(server, &get("/plaintext"));
    let fast_waited = sent.elapsed();
    assert_eq!(fast.status, 200, "the fast request: {fast}");
    (fast_waited, slow_clients.join_ok())
}

/// Starts `--pool mode --threads 2` and checks that it answers, overlaps two slow requests, names
/// its model in `/api/info` (with `model_mentions`), and exits 0 on SIGTERM while holding an idle
/// keep-alive connection.
fn every_mode_check(mode: &str, model_mentions: &str) {
    let mut server = Server::start(&STAGE, &["--pool", mode, "--threads", "2"]);

    let response = exchange(&server, &get("/plaintext"));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.text(), "Hello, World!");

    let info = exchange(&server, &get("/api/info"));
    let json: serde_json::Value =
        serde_json::from_slice(&info.body).or_fail("parsing /api/info as JSON");
    let model = json["model"].as_str().unwrap_or_default();
    assert!(
        model.contains(model_mentions),
        "--pool {mode}: /api/info should name the model ({model_mentions:?}), says {json}"
    );

    // Two 500 ms requests on two connections overlap: about 0.5 s in all, not 1 s.
    let took = Clients::start(&server, 2, &slow(Duration::from_millis(500))).join_ok();
    assert!(
        took < Duration::from_millis(950),
        "--pool {mode} --threads 2: two 500 ms requests took {took:?}; they did not overlap"
    );

    // Graceful stop with an idle keep-alive connection open (idle timeout: 5 s by default).
    let mut idle = connect(&server);
    idle.send(get("/healthz")).or_fail("sending");
    expect_status(&mut idle, &get("/healthz"), 200);
    server.signal(Signal::Term).or_fail("sending SIGTERM");
    idle.set_timeout(Duration::from_secs(3));
    idle.expect_closed()
        .or_fail("the idle connection is closed when the server stops, before its idle timeout");
    expect_exit_status_zero(&mut server, Signal::Term, Duration::from_secs(5));
}
