//! Stage 02's exercises (book/src/stage02.md, "Exercises").

use std::thread;
use std::time::Duration;

use stagekit::Conn;

use crate::support::{ask, connect, get, start, thread_stack_sizes, threads_named, PROMPTLY};

const STAGE: &str = "stage02-threadpool";

/// Exercise 1: with `--when-full refuse`, a connection whose request finds the pool's queue
/// full is answered 503 with `Retry-After: 1` and closed, instead of making the lobby wait.
#[test]
#[ignore = "exercise: stage02 1, refuse instead of waiting"]
fn refuse_when_full() {
    let exercise = "stage 02 exercise 1 (refuse instead of waiting)";
    let server = start(
        STAGE,
        &["--threads", "1", "--queue", "1", "--when-full", "refuse"],
        exercise,
    );
    // Slow requests, not idle connections: an idle connection waits in the lobby and holds
    // nothing. The only worker sleeps in this one...
    let mut busy = connect(&server);
    busy.send(get("/slow?ms=5000"))
        .expect("sending the request that holds the worker");
    thread::sleep(Duration::from_millis(300));
    // ...and this one fills the queue of one.
    let mut queued = connect(&server);
    queued
        .send(get("/slow?ms=5000"))
        .expect("sending the request that fills the queue");
    thread::sleep(Duration::from_millis(300));
    let mut refused = connect(&server);
    refused
        .send(get("/plaintext"))
        .expect("sending the third request");
    let response = refused.read_response().unwrap_or_else(|error| {
        panic!(
            "{exercise}: a request that found the queue full got no answer within {PROMPTLY:?} \
             ({error}); it should get 503 at once"
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

/// Exercise 4: `--pool rayon` uses the lobby too, so an idle keep-alive connection no longer
/// holds rayon's only thread: a second client is answered while the first one stays connected,
/// and the first is still served when it speaks again.
#[test]
#[ignore = "exercise: stage02 4, give rayon's pool the lobby"]
fn give_worker_back() {
    let exercise = "stage 02 exercise 4 (give rayon's pool the lobby)";
    let server = start(
        STAGE,
        &["--pool", "rayon", "--threads", "1", "--idle-timeout", "30s"],
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
            "{exercise}: with --pool rayon --threads 1, a second client was not answered within \
             {PROMPTLY:?} while the first connection sat idle ({error}); the idle connection \
             still holds rayon's only thread, so --pool rayon does not use the lobby yet"
        ),
    }
    let again = ask(
        &mut idle,
        "/plaintext",
        "the first client, speaking again after it waited in the lobby",
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
        &["--threads", "1", "--max-threads", "3", "--queue", "1"],
        exercise,
    );
    let workers = || threads_named(server.pid(), "worker").len();
    let slow = |what: &str| {
        let mut conn = connect(&server);
        conn.send(get("/slow?ms=2000"))
            .unwrap_or_else(|error| panic!("sending {what}: {error}"));
        thread::sleep(Duration::from_millis(100));
        conn
    };
    // Four slow requests (idle connections would wait in the lobby and hold nothing): the
    // first takes the only worker, the second fills the queue, the third and the fourth find it
    // full, and the pool grows by one worker each time; the fourth then waits in the queue.
    let mut clients: Vec<Conn> = (0..4).map(|_| slow("a slow request")).collect();
    thread::sleep(Duration::from_millis(200));
    let count = workers();
    assert_eq!(
        count, 3,
        "{exercise}: with --threads 1 --max-threads 3 --queue 1 and four slow requests, the \
         server has {count} worker threads (named worker-N), not 3: the pool did not grow"
    );
    // Two more, while the pool is at its maximum: it must not grow past it.
    clients.extend((0..2).map(|_| slow("one more slow request")));
    thread::sleep(Duration::from_millis(200));
    let count = workers();
    assert_eq!(
        count, 3,
        "{exercise}: with --threads 1 --max-threads 3 and six slow requests, the server has \
         {count} worker threads (named worker-N), not 3"
    );
    for (index, conn) in clients.iter_mut().take(3).enumerate() {
        match conn.read_response() {
            Ok(response) => assert_eq!(response.status, 200, "{exercise}: {response}"),
            Err(error) => panic!(
                "{exercise}: slow request {} of the three that have a worker each was not \
                 answered ({error})",
                index + 1
            ),
        }
    }
}
