//! Stage 05's exercises (book/src/stage05.md, "Exercises").

use std::thread;
use std::time::Duration;

use crate::support::{
    ask, calls, connect, every_listener_serves, get, listening_sockets, site_file, start, Trace,
};

const STAGE: &str = "stage05-async";

/// Exercise 1: one runtime per core, each with its own `SO_REUSEPORT` listener like stage
/// 04's loops: `--threads 2` shows two sockets listening on the port, and both serve.
#[test]
#[ignore = "exercise: stage05 1, a runtime per core"]
fn runtime_per_core() {
    let exercise = "stage 05 exercise 1 (a runtime per core)";
    let server = start(STAGE, &["--threads", "2"], exercise);
    let sockets = listening_sockets(server.addr());
    assert_eq!(
        sockets,
        2,
        "{exercise}: with --threads 2, /proc/net/tcp shows {sockets} socket(s) listening on port \
         {}; a runtime per core, each with its own SO_REUSEPORT listener, shows 2",
        server.addr().port()
    );
    every_listener_serves(&server, exercise);
}

/// Exercise 2: with `--blocking-threads 1`, a blocking handler that finds the one permit taken
/// is answered 503 with `Retry-After` at once; once the permit is back, it runs again.
#[test]
#[ignore = "exercise: stage05 2, bound the blocking pool"]
fn bounded_blocking_pool() {
    let exercise = "stage 05 exercise 2 (bound the blocking pool)";
    let server = start(STAGE, &["--blocking-threads", "1"], exercise);
    let mut long = connect(&server);
    long.send(get("/slow?ms=2000")).expect("sending /slow");
    thread::sleep(Duration::from_millis(300));
    let mut short = connect(&server);
    short.set_timeout(Duration::from_millis(1000));
    short.send(get("/slow?ms=10")).expect("sending /slow");
    let response = short.read_response().unwrap_or_else(|error| {
        panic!(
            "{exercise}: a /slow request that found the blocking pool's one permit taken was not \
             answered within a second ({error}); it should get 503 at once"
        )
    });
    assert_eq!(response.status, 503, "{exercise}: {response}");
    assert!(
        response.header("retry-after").is_some(),
        "{exercise}: the 503 has no Retry-After: {response}"
    );
    let first = long
        .read_response()
        .expect("the /slow request that holds the permit is answered");
    assert_eq!(first.status, 200, "{first}");
    let mut after = connect(&server);
    let later = ask(&mut after, "/slow?ms=10", "a /slow once the permit is back");
    assert_eq!(
        later.status, 200,
        "{exercise}: the permit was not given back: {later}"
    );
}

/// Exercise 3: before sending a file, the server asks whether its next bytes are in the page
/// cache (`mincore` or `preadv2` with `RWF_NOWAIT`), and the file still arrives whole.
#[test]
#[ignore = "exercise: stage05 3, read ahead"]
fn read_ahead() {
    let exercise = "stage 05 exercise 3 (read ahead)";
    let server = start(STAGE, &["--threads", "1"], exercise);
    let expected = site_file("big.bin");
    let trace = Trace::attach(server.pid(), "mincore,preadv2");
    let mut conn = connect(&server);
    conn.set_timeout(Duration::from_secs(10));
    let response = ask(&mut conn, "/big.bin", exercise);
    assert!(
        response.body == expected,
        "{exercise}: /big.bin arrived with {} bytes, not the file's {}",
        response.body.len(),
        expected.len()
    );
    let trace = trace.finish();
    let asked = calls(&trace, "mincore").len()
        + calls(&trace, "preadv2")
            .into_iter()
            .filter(|line| line.contains("RWF_NOWAIT"))
            .count();
    assert!(
        asked >= 1,
        "{exercise}: sending /big.bin made no mincore and no preadv2 with RWF_NOWAIT; the \
         server never asked whether the file is in the page cache"
    );
}

/// Exercise 6: `--max-connections-per-ip N` answers a client's connection N + 1 with 503 and
/// `Retry-After`, and admits it again as soon as one of its connections has closed.
#[test]
#[ignore = "exercise: stage05 6, connections per address"]
fn connections_per_address() {
    let exercise = "stage 05 exercise 6 (connections per address)";
    let server = start(STAGE, &["--max-connections-per-ip", "2"], exercise);
    let mut first = connect(&server);
    ask(&mut first, "/plaintext", "the first connection");
    let mut second = connect(&server);
    ask(&mut second, "/plaintext", "the second connection");
    let mut third = connect(&server);
    third.send(get("/plaintext")).expect("sending a request");
    let response = third.read_response().unwrap_or_else(|error| {
        panic!("{exercise}: the third connection from 127.0.0.1 got no answer: {error}")
    });
    assert_eq!(
        response.status, 503,
        "{exercise}: the third connection from one address, past --max-connections-per-ip 2, \
         was answered {}, not 503",
        response.status
    );
    assert!(
        response.header("retry-after").is_some(),
        "{exercise}: the 503 has no Retry-After: {response}"
    );
    drop(first);
    // The server learns of the close when it next reads that connection: give it a moment,
    // then a new connection takes the freed place.
    thread::sleep(Duration::from_millis(300));
    let mut fourth = connect(&server);
    let response = ask(&mut fourth, "/plaintext", "a connection after one closed");
    assert_eq!(
        response.status, 200,
        "{exercise}: a connection closed, but the next one from the same address was refused: \
         the count was not given back\n{response}"
    );
}
