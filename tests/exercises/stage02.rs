//! Stage 02's exercises (book/src/stage02.md, "Exercises").

use std::thread;
use std::time::Duration;

use stagekit::Conn;

use crate::support::{ask, connect, get, start, thread_stack_sizes, threads_named};

const STAGE: &str = "stage02-threadpool";

/// Exercise 1: with `--when-full refuse`, a connection that finds the queue full is answered
/// 503 with `Retry-After: 1` and closed, instead of waiting.
#[test]
#[ignore = "exercise: stage02 1, refuse instead of waiting"]
fn refuse_when_full() {
    let exercise = "stage 02 exercise 1 (refuse instead of waiting)";
    let server = start(
        STAGE,
        &[
            "--threads",
            "1",
            "--queue",
            "1",
            "--when-full",
            "refuse",
            "--idle-timeout",
            "30s",
        ],
        exercise,
    );
    // The only worker serves this one, which stays open and idle.
    let mut busy = connect(&server);
    ask(&mut busy, "/plaintext", "the client that holds the worker");
    // This one fills the queue of one.
    let _queued = connect(&server);
    thread::sleep(Duration::from_millis(300));
    let mut refused = connect(&server);
    refused
        .send(get("/plaintext"))
        .expect("sending the third request");
    let response = refused.read_response().unwrap_or_else(|error| {
        panic!(
            "{exercise}: a client that found the queue full got no answer ({error}); it should \
             get 503 at once"
        )
    });
    assert_eq!(response.status, 503, "{exercise}: {response}");
    assert_eq!(
        response.header("retry-after"),
        Some("1"),
        "{exercise}: the 503 has no `Retry-After: 1`: {response}"
    );
    if let Err(error) = refused.expect_closed() {
        panic!("{exercise}: the server did not close the refused connection: {error}");
    }
}

/// Exercise 2: `--stack-size BYTES` sets the stack of every worker (and of every
/// per-connection thread), which shows in `/proc/PID/maps` as stacks of that size.
#[test]
#[ignore = "exercise: stage02 2, smaller stacks"]
fn small_stacks() {
    let exercise = "stage 02 exercise 2 (smaller stacks)";
    const STACK: u64 = 64 * 1024;
    // Room for page rounding and the thread-local storage glibc keeps at a stack's top, but
    // not for the few KiB of the signal stacks Rust gives every thread, which look alike.
    let small = |pid| {
        thread_stack_sizes(pid)
            .into_iter()
            .filter(|size| (STACK - 8 * 1024..=STACK + 16 * 1024).contains(size))
            .count()
    };

    let server = start(
        STAGE,
        &["--threads", "4", "--stack-size", &STACK.to_string()],
        exercise,
    );
    let found = small(server.pid());
    assert!(
        found >= 4,
        "{exercise}: with --threads 4 --stack-size {STACK}, /proc/{}/maps shows {found} thread \
         stacks of about {STACK} bytes, not 4 (stack sizes: {:?})",
        server.pid(),
        thread_stack_sizes(server.pid())
    );
    drop(server);

    let server = start(
        STAGE,
        &[
            "--pool",
            "per-connection",
            "--stack-size",
            &STACK.to_string(),
            "--idle-timeout",
            "30s",
        ],
        exercise,
    );
    let mut held: Vec<Conn> = Vec::new();
    for _ in 0..3 {
        let mut conn = connect(&server);
        ask(&mut conn, "/plaintext", "a per-connection client");
        held.push(conn);
    }
    let found = small(server.pid());
    assert!(
        found >= 3,
        "{exercise}: with --pool per-connection and three connections open, /proc/{}/maps shows \
         {found} thread stacks of about {STACK} bytes, not 3 (stack sizes: {:?})",
        server.pid(),
        thread_stack_sizes(server.pid())
    );
}

/// Exercise 4: an idle keep-alive connection no longer holds a worker, so with one worker a
/// second client is answered while the first one stays connected, and the first is still
/// served when it speaks again.
#[test]
#[ignore = "exercise: stage02 4, give a worker back"]
fn give_worker_back() {
    let exercise = "stage 02 exercise 4 (give a worker back)";
    let server = start(
        STAGE,
        &["--threads", "1", "--idle-timeout", "30s"],
        exercise,
    );
    let mut idle = connect(&server);
    ask(&mut idle, "/plaintext", "the first client");
    thread::sleep(Duration::from_millis(200));
    let mut next = connect(&server);
    next.send(get("/plaintext"))
        .expect("sending the second request");
    match next.read_response() {
        Ok(response) => assert_eq!(response.status, 200, "{response}"),
        Err(error) => panic!(
            "{exercise}: with --threads 1, a second client was not answered while the first \
             connection sat idle ({error}); the idle connection still holds the only worker"
        ),
    }
    let again = ask(
        &mut idle,
        "/plaintext",
        "the first client, speaking again after it was given back",
    );
    assert_eq!(again.status, 200, "{again}");
}

/// Exercise 5: `--max-threads N` lets the pool grow from `--threads` to N workers when the
/// queue is full, and no further.
#[test]
#[ignore = "exercise: stage02 5, a pool that grows"]
fn pool_grows() {
    let exercise = "stage 02 exercise 5 (a pool that grows)";
    let server = start(
        STAGE,
        &[
            "--threads",
            "1",
            "--max-threads",
            "3",
            "--queue",
            "1",
            "--idle-timeout",
            "30s",
        ],
        exercise,
    );
    // Four clients that each send a request and then stay connected and idle: the first three
    // need three workers (each holds one), the fourth waits in the queue.
    let mut clients: Vec<Conn> = (0..4)
        .map(|_| {
            let mut conn = connect(&server);
            conn.send(get("/plaintext")).expect("sending a request");
            thread::sleep(Duration::from_millis(100));
            conn
        })
        .collect();
    for (index, conn) in clients.iter_mut().take(3).enumerate() {
        if let Err(error) = conn.read_response() {
            panic!(
                "{exercise}: client {} of three, each holding a worker, was not answered \
                 ({error}); the pool did not grow from --threads 1 toward --max-threads 3",
                index + 1
            );
        }
    }
    let workers = || threads_named(server.pid(), "worker").len();
    // Two more clients in the queue; the pool must stay at its maximum.
    for _ in 0..2 {
        let mut conn = connect(&server);
        conn.send(get("/plaintext")).expect("sending a request");
        clients.push(conn);
    }
    thread::sleep(Duration::from_millis(300));
    let count = workers();
    assert_eq!(
        count, 3,
        "{exercise}: with --threads 1 --max-threads 3 and six connections, the server has \
         {count} worker threads (named worker-N), not 3"
    );
}
