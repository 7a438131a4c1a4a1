//! Stage 03's exercises (book/src/stage03.md, "Exercises").
//!
//! The workers are the master's children, read from its `/proc` entry; the tests signal them
//! by PID a moment after reading it, while the master (which reaps them) still holds the PID.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use stagekit::procfs::children_of;
use stagekit::server::signal_process;
use stagekit::{Conn, Server, Signal};

use crate::support::{
    alive, ask, connect, eventually, listening_inode, signal, socket_holders, start,
};

const STAGE: &str = "stage03-prefork";

/// Long enough for a forked worker to report that it is ready, so that killing it counts as
/// a crash of a running worker (not a failed start, which the master treats otherwise).
const SETTLE: Duration = Duration::from_millis(300);

/// Waits up to `within` for a worker of `server` that is not in `seen`, and returns it.
fn new_worker(server: &Server, seen: &BTreeSet<u32>, within: Duration) -> Option<u32> {
    let mut found = None;
    eventually(within, || {
        found = children_of(server.pid())
            .into_iter()
            .find(|pid| !seen.contains(pid));
        found.is_some()
    });
    found
}

/// Exercise 2: on SIGUSR2 the master starts a new master from the binary, which takes over the
/// listening socket; the old master then stops its workers and exits with status 0, and the
/// same address goes on answering.
#[test]
#[ignore = "exercise: stage03 2, upgrade the binary"]
fn binary_upgrade() {
    let exercise = "stage 03 exercise 2 (upgrade the binary)";
    let mut server = start(STAGE, &["--workers", "2"], exercise);
    let old_master = server.pid();
    let old_workers = children_of(old_master);
    let socket = listening_inode(server.addr()).expect("the master's listening socket");
    signal(old_master, "USR2");
    let exited = eventually(Duration::from_secs(15), || !alive(old_master));
    // The new master holds the same listening socket (inherited, not bound again), and so do
    // its workers: it is the holder whose parent is not a holder. It is not this test's child,
    // so the kit does not stop it: it is stopped by its PID when the test ends, pass or fail.
    let holders: BTreeSet<u32> = socket_holders(socket)
        .into_iter()
        .filter(|pid| *pid != old_master && !old_workers.contains(pid) && alive(*pid))
        .collect();
    let new_masters: Vec<u32> = holders
        .iter()
        .copied()
        .filter(|pid| {
            stagekit::procfs::stat(*pid).is_some_and(|stat| !holders.contains(&stat.parent))
        })
        .collect();
    let _stop = StopOnDrop(new_masters.clone());
    assert!(
        exited,
        "{exercise}: the old master {old_master} was still running 15 s after SIGUSR2"
    );
    let status = server
        .wait_exit(Duration::from_secs(1))
        .expect("reaping the old master");
    assert!(
        status.success(),
        "{exercise}: the old master ended with {status} after SIGUSR2; it should hand over and \
         exit with status 0 (a master with no handler for SIGUSR2 is killed by it)"
    );
    assert_eq!(
        new_masters.len(),
        1,
        "{exercise}: after SIGUSR2, expected one new master holding the listening socket, with \
         workers of their own, found {new_masters:?} (holders: {holders:?})"
    );
    let mut conn = Conn::connect(server.addr()).unwrap_or_else(|error| {
        panic!(
            "{exercise}: nobody accepts on {} after the upgrade: {error}",
            server.addr()
        )
    });
    let response = ask(&mut conn, "/plaintext", exercise);
    assert_eq!(response.status, 200, "{response}");
}

/// Stops the given masters by PID when dropped: SIGTERM, then SIGKILL if one is still alive
/// after a grace period; then SIGKILL to any of its workers still alive, for a new master
/// whose workers could not hear the stop (for example because they inherited a signal mask
/// with SIGTERM blocked).
struct StopOnDrop(Vec<u32>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let workers = children_of(pid);
            let _ = signal_process(pid, Signal::Term);
            if !eventually(Duration::from_secs(10), || !alive(pid)) {
                let _ = signal_process(pid, Signal::Kill);
            }
            for worker in workers {
                if !eventually(Duration::from_secs(2), || !alive(worker)) {
                    let _ = signal_process(worker, Signal::Kill);
                }
            }
        }
    }
}

/// Exercise 3: after workers that each lived less than a second, replacements are started
/// after a delay that doubles (100 ms, 200 ms, ...), not at once.
#[test]
#[ignore = "exercise: stage03 3, back off"]
fn back_off() {
    let exercise = "stage 03 exercise 3 (back off)";
    const CRASHES: u32 = 5;
    let server = start(STAGE, &["--workers", "1"], exercise);
    let mut seen = BTreeSet::new();
    let mut worker = *children_of(server.pid())
        .iter()
        .next()
        .expect("the master has a worker");
    for crash in 1..=CRASHES {
        seen.insert(worker);
        thread::sleep(SETTLE);
        signal_process(worker, Signal::Kill).expect("killing a worker");
        let killed = Instant::now();
        if crash == CRASHES {
            // Five short lives: 100 + 200 + 400 + 800 ms of delay so far, and 1.6 s now.
            let early = new_worker(&server, &seen, Duration::from_secs(1));
            if let Some(pid) = early {
                panic!(
                    "{exercise}: after {CRASHES} workers that each lived under a second, the \
                     master started worker {pid} {:?} after the last one died; it should wait \
                     more than a second by now",
                    killed.elapsed()
                );
            }
        }
        worker = new_worker(&server, &seen, Duration::from_secs(10)).unwrap_or_else(|| {
            panic!("{exercise}: no replacement within 10 s of crash {crash}; the delay is capped")
        });
    }
}

/// Exercise 4: a worker that stops answering (here: stopped with SIGSTOP) is killed by the
/// master within a few seconds and replaced, and the server answers again.
#[test]
#[ignore = "exercise: stage03 4, a health check"]
fn health_check() {
    let exercise = "stage 03 exercise 4 (a health check)";
    let server = start(STAGE, &["--workers", "1"], exercise);
    let stuck = *children_of(server.pid())
        .iter()
        .next()
        .expect("the master has a worker");
    thread::sleep(SETTLE);
    signal(stuck, "STOP");
    // A stopped worker cannot act on the master's SIGTERM when the test ends: continue it.
    let _resume = ContinueOnDrop(stuck);
    let replaced = eventually(Duration::from_secs(10), || {
        !children_of(server.pid()).contains(&stuck) && !children_of(server.pid()).is_empty()
    });
    assert!(
        replaced,
        "{exercise}: worker {stuck}, stopped with SIGSTOP, is still the master's only worker \
         10 s later; the master should kill a worker silent for five seconds and fork another"
    );
    let mut conn = connect(&server);
    let response = ask(&mut conn, "/plaintext", exercise);
    assert_eq!(response.status, 200, "{response}");
}

/// Sends SIGCONT to a process when dropped.
struct ContinueOnDrop(u32);

impl Drop for ContinueOnDrop {
    fn drop(&mut self) {
        if alive(self.0) {
            signal(self.0, "CONT");
        }
    }
}

/// Exercise 5: a worker killed in the middle of a request leaves no trace in the counts of
/// `/server-status`: neither its open connection nor its request in flight.
#[test]
#[ignore = "exercise: stage03 5, what a killed worker leaves behind"]
fn a_killed_workers_counts() {
    let exercise = "stage 03 exercise 5 (what a killed worker leaves behind)";
    let server = start(
        STAGE,
        &["--workers", "2", "--idle-timeout", "30s"],
        exercise,
    );
    let mut doomed = connect(&server);
    let info = ask(&mut doomed, "/api/info", exercise).text();
    let info: serde_json::Value = serde_json::from_str(&info).expect("/api/info is JSON");
    let worker = info["pid"]
        .as_u64()
        .and_then(|pid| u32::try_from(pid).ok())
        .expect("/api/info names the worker");
    let mut seen: BTreeSet<u32> = children_of(server.pid()).into_iter().collect();
    // A request in flight on an open connection, then the worker dies without unwinding.
    doomed
        .send(crate::support::get("/slow?ms=5000"))
        .expect("sending /slow");
    thread::sleep(SETTLE);
    signal_process(worker, Signal::Kill).expect("killing the worker");
    seen.insert(worker);
    new_worker(&server, &seen, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{exercise}: no replacement for the killed worker"));
    drop(doomed);
    let mut conn = connect(&server);
    let status = ask(&mut conn, "/server-status?json", exercise).text();
    let status: serde_json::Value = serde_json::from_str(&status).expect("the status is JSON");
    let counted = |field: &str| status[field].as_u64().expect("a count");
    assert_eq!(
        (counted("connections_open"), counted("requests_in_flight")),
        (1, 1),
        "{exercise}: one connection is open and one request (this one) is in flight, but the \
         killed worker's connection and request are still counted: {status}"
    );
}
