//! Who waits for whom. A concurrent stage answers a second client while a first one holds its
//! connection; a stage declared `concurrent: false` (stage 01) must show exactly the limitation
//! the book describes: the second client waits until the first connection is closed, here by
//! the server's idle timeout, so about `--idle-timeout`, neither forever nor not at all.
//!
//! Slowloris, the same way: beside 64 clients trickling their heads a byte a second, a concurrent
//! stage answers an ordinary client within 1.5 times the header timeout, with 8 workers in
//! stages 02 and 03 (whose lobby keeps the slow ones out of the workers); stage 01 makes it wait
//! until its one slow client is cut.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Conn, Server, Stage};

use crate::support::*;

pub fn second_client_while_first_is_idle(stage: &Stage) {
    let server = Server::start(stage, &["--idle-timeout", "1s"]);
    let (waited, mut first) = second_client_behind_an_idle_one(&server);
    if stage.capabilities.concurrent {
        assert!(
            waited < Duration::from_millis(500),
            "a concurrent stage answered the second client only after {waited:?}"
        );
        first
            .expect_silence(Duration::from_millis(100))
            .or_fail("the first client's connection stays open meanwhile");
    } else {
        assert!(
            (Duration::from_millis(700)..=Duration::from_secs(3)).contains(&waited),
            "stage {} is declared not concurrent: the second client should wait for the \
             first connection's 1 s idle timeout, but waited {waited:?}",
            stage.package
        );
        first.set_timeout(Duration::from_millis(500));
        first
            .expect_closed()
            .or_fail("the first client's connection was closed by the idle timeout");
    }
}

/// Two `/slow?ms=500` on two connections at once (each with `Connection: close`, so a one-at-a-time
/// server moves on as soon as it has answered): overlapped in a concurrent stage (about 0.5 s in
/// all), one after the other otherwise (about 1 s).
pub fn slow_requests_on_two_connections(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let took = Clients::start(&server, 2, &slow(Duration::from_millis(500))).join_ok();
    if stage.capabilities.concurrent {
        assert!(
            took < Duration::from_millis(950),
            "two 500 ms requests on two connections took {took:?}: they did not overlap"
        );
    } else {
        assert!(
            (Duration::from_millis(1000)..Duration::from_secs(4)).contains(&took),
            "stage {} is declared not concurrent: two 500 ms requests should take about 1 s \
             one after the other, took {took:?}",
            stage.package
        );
    }
}

/// Slowloris clients beside the ordinary one in a concurrent stage: eight times the workers that
/// stages 02 and 03 are given here.
const SLOWLORIS_CLIENTS: usize = 64;

/// The header timeout of the slowloris case.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

// ANCHOR: slowloris
pub fn slowloris_clients_do_not_starve_an_ordinary_one(stage: &Stage) {
    let workers: &[&str] = match stage.package {
        "stage02-threadpool" => &["--threads", "8"],
        "stage03-prefork" => &["--workers", "8"],
        _ => &[],
    };
    let server = Server::start(stage, &[workers, &["--header-timeout", "2s"]].concat());
    let count = if stage.capabilities.concurrent {
        SLOWLORIS_CLIENTS
    } else {
        1
    };
    let mut conns: Vec<Conn> = (0..count).map(|_| connect(&server)).collect();
    let started = Instant::now();
    // A byte a second for at most 8 s; the header timeout runs from the first byte.
    let trickle = trickle_heads(
        conns.iter().map(Conn::writer).collect(),
        Duration::from_secs(1),
        8,
    );
    thread::sleep(Duration::from_millis(300));
    if stage.capabilities.concurrent {
        // Three ordinary clients: early, midway, and as the slow ones are being cut.
        for at in [
            Duration::from_millis(300),
            Duration::from_millis(1200),
            HEADER_TIMEOUT,
        ] {
            thread::sleep(at.saturating_sub(started.elapsed()));
            expect_answered_within(
                &server,
                &get("/plaintext"),
                HEADER_TIMEOUT * 3 / 2,
                &format!("beside {count} slowloris clients ({workers:?})"),
            );
        }
    } else {
        // One connection at a time: the ordinary client waits for the slow one's header
        // timeout, and then for its lingering close (up to `protocol::LINGER_TIMEOUT`,
        // 2 s, while the slow client goes on sending).
        let asked = Instant::now();
        let response = exchange(&server, &get("/plaintext"));
        let waited = asked.elapsed();
        assert_eq!(response.status, 200, "{response}");
        let most = HEADER_TIMEOUT + protocol::LINGER_TIMEOUT + Duration::from_secs(1);
        assert!(
            (HEADER_TIMEOUT - Duration::from_millis(800)..most).contains(&waited),
            "stage {} serves one connection at a time: an ordinary client behind a slowloris \
             one should wait for its {HEADER_TIMEOUT:?} header timeout and lingering close, \
             waited {waited:?}",
            stage.package
        );
        let slow = &mut conns[0];
        slow.set_timeout(Duration::from_secs(1));
        expect_status(slow, b"(trickled head)", 408);
        let _ = trickle.join();
        return;
    }
    for conn in &mut conns {
        conn.set_timeout(Duration::from_secs(5));
        let response = expect_status(conn, b"(trickled head)", 408);
        let after = started.elapsed();
        assert!(
            (HEADER_TIMEOUT * 3 / 4..HEADER_TIMEOUT * 2).contains(&after),
            "a head trickled a byte a second should be cut about {HEADER_TIMEOUT:?} after its \
             first byte, was after {after:?}: {response}"
        );
    }
    // The trickle stops by itself within 8 s, sooner once every connection is closed.
    let _ = trickle.join();
}
// ANCHOR_END: slowloris
