//! Stage 01's exercises (book/src/stage01.md, "Exercises").

use std::thread;
use std::time::Duration;

use stagekit::WireError;

use crate::support::{ask, calls, connect, get, site_file, start, Trace};

const STAGE: &str = "stage01-blocking";

/// Exercise 2: after answering a request, the server closes the connection if another client
/// is waiting in the accept queue, and so serves that client next.
#[test]
#[ignore = "exercise: stage01 2, serve the next client sooner"]
fn serve_next_client() {
    let exercise = "stage 01 exercise 2 (serve the next client sooner)";
    // A long idle timeout, so that the waiting client cannot be served merely because the
    // first connection went idle for too long.
    let server = start(STAGE, &["--idle-timeout", "30s"], exercise);
    let mut first = connect(&server);
    ask(&mut first, "/plaintext", "the first client");
    // With nobody waiting, keep-alive goes on as before: closing every connection would also
    // serve the next client sooner, but that is not the exercise.
    ask(
        &mut first,
        "/plaintext",
        "the first client again, with nobody waiting (keep-alive must still work)",
    );
    let mut second = connect(&server);
    second
        .send(get("/plaintext"))
        .expect("sending the second client's request");
    // The second connection now waits in the accept queue, its request in its receive buffer.
    thread::sleep(Duration::from_millis(300));
    // The server may close the first connection right after its answer, or (better still) as
    // soon as it sees the second client, while the first is idle: then this request finds the
    // connection closed, which is the behaviour asked for, not a failure.
    let closed_while_idle = match first.send(get("/plaintext")) {
        Err(_) => true,
        Ok(()) => match first.read_response() {
            Ok(answer) => {
                assert_eq!(answer.status, 200, "{answer}");
                false
            }
            Err(WireError::Closed { received } | WireError::Reset { received })
                if received.is_empty() =>
            {
                true
            }
            Err(error) => panic!("the first client's second request: {error}"),
        },
    };
    if !closed_while_idle {
        if let Err(error) = first.expect_closed() {
            panic!(
                "{exercise}: after answering the first client while another client waited, \
                 the server kept the first connection open ({error}); it should close it and \
                 accept the next one"
            );
        }
    }
    match second.read_response() {
        Ok(response) => assert_eq!(response.status, 200, "{response}"),
        Err(error) => panic!(
            "{exercise}: the server closed the first connection, but the waiting client was \
             not answered: {error}"
        ),
    }
}

/// Exercise 4: a large file leaves in a few calls, not today's `sendto` for the head and a
/// `pread64` and a `sendto` for every 64 KiB of the file (33 for the 1 MiB `/big.bin`).
#[test]
#[ignore = "exercise: stage01 4, fewer system calls per file"]
fn fewer_calls_per_file() {
    let exercise = "stage 01 exercise 4 (fewer system calls per file)";
    const REQUESTS: usize = 3;
    // A sendfile of the whole file, or a few when the socket takes less at a time, and the
    // head: far fewer than a copy through a 64 KiB buffer needs.
    const AT_MOST: usize = 8;
    // The calls that move a response's bytes: from the file and to the socket.
    const MOVERS: [&str; 10] = [
        "read", "pread64", "preadv", "preadv2", "write", "writev", "sendto", "sendmsg", "sendfile",
        "splice",
    ];
    let server = start(STAGE, &[], exercise);
    let expected = site_file("big.bin");
    let mut conn = connect(&server);
    // Accepted before the trace starts, so only the requests' own calls are counted.
    ask(&mut conn, "/plaintext", "a first request");
    let trace = Trace::attach(server.pid(), &MOVERS.join(","));
    for _ in 0..REQUESTS {
        let response = ask(&mut conn, "/big.bin", exercise);
        assert_eq!(response.status, 200, "{response}");
        assert!(
            response.body == expected,
            "{exercise}: the body of /big.bin is not the file ({} bytes, the file has {})",
            response.body.len(),
            expected.len()
        );
    }
    let trace = trace.finish();
    let counts: Vec<(&str, usize)> = MOVERS
        .iter()
        .map(|name| (*name, calls(&trace, name).len()))
        .filter(|(_, count)| *count > 0)
        .collect();
    let total: usize = counts.iter().map(|(_, count)| count).sum();
    assert!(
        total > 0,
        "the trace holds none of the calls that move bytes; did strace attach?\n{trace}"
    );
    assert!(
        total <= AT_MOST * REQUESTS,
        "{exercise}: {REQUESTS} responses for /big.bin took {total} calls that move bytes \
         ({counts:?}), about {} per response; the exercise is done at {AT_MOST} or fewer",
        total / REQUESTS
    );
}
