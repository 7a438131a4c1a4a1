//! Stage 04's exercises (book/src/stage04.md, "Exercises").

use std::collections::BTreeSet;
use std::fs;
use std::thread;
use std::time::Duration;

use stagekit::Conn;

use crate::support::{
    allowed_cpus, ask, calls, connect, eventually, every_listener_serves, get, listening_sockets,
    site_file, start, threads_named, TempDir, Trace, PROMPTLY,
};

const STAGE: &str = "stage04-evented";

/// Exercise 2: every loop accepts from one listening socket (cloned), not from a socket of its
/// own, and all of them still serve.
#[test]
#[ignore = "exercise: stage04 2, one listener for all loops"]
fn one_listener() {
    let exercise = "stage 04 exercise 2 (one listener for all loops)";
    let server = start(STAGE, &["--threads", "2"], exercise);
    let sockets = listening_sockets(server.addr());
    assert_eq!(
        sockets,
        1,
        "{exercise}: with --threads 2, /proc/net/tcp shows {sockets} sockets listening on port \
         {}; one socket cloned into both loops is one",
        server.addr().port()
    );
    every_listener_serves(&server, exercise);
}

/// Exercise 4: every connection is registered once for reading and writing, and never again:
/// no `EPOLL_CTL_MOD` while a large file goes out to a slow reader, and the file arrives whole.
#[test]
#[ignore = "exercise: stage04 4, always-on write interest"]
fn write_interest_once() {
    let exercise = "stage 04 exercise 4 (always-on write interest)";
    const FILES: usize = 8;
    let server = start(STAGE, &["--threads", "1"], exercise);
    let expected = site_file("big.bin");
    let trace = Trace::attach(server.pid(), "epoll_ctl");
    let mut conn = connect(&server);
    conn.set_timeout(Duration::from_secs(10));
    // Eight files asked for in one write and not read yet: more than the socket buffers hold,
    // so the server's writes come up short and it must wait until it may write again, which
    // is what write interest is for.
    conn.send(get("/big.bin").repeat(FILES))
        .expect("sending the requests");
    thread::sleep(Duration::from_millis(300));
    for _ in 0..FILES {
        let response = conn
            .read_response()
            .unwrap_or_else(|error| panic!("{exercise}: /big.bin did not arrive whole: {error}"));
        assert_eq!(response.status, 200, "{response}");
        assert!(
            response.body == expected,
            "{exercise}: /big.bin arrived with {} bytes, not the file's {}",
            response.body.len(),
            expected.len()
        );
    }
    let plain = ask(&mut conn, "/plaintext", exercise);
    assert_eq!(plain.status, 200, "{plain}");
    let trace = trace.finish();
    let added = calls(&trace, "epoll_ctl")
        .into_iter()
        .filter(|line| line.contains("EPOLL_CTL_ADD"))
        .count();
    let modified: Vec<&str> = calls(&trace, "epoll_ctl")
        .into_iter()
        .filter(|line| line.contains("EPOLL_CTL_MOD"))
        .collect();
    assert!(
        added >= 1,
        "the connection's registration (EPOLL_CTL_ADD) is not in the trace:\n{trace}"
    );
    assert!(
        modified.is_empty(),
        "{exercise}: the loop changed a registration {} times (EPOLL_CTL_MOD) while serving {FILES} \
         large files; registered once for READABLE | WRITABLE, it never has to:\n{}",
        modified.len(),
        modified.join("\n")
    );
}

/// Exercise 5: with `--pin`, every loop thread may run on one CPU only, each on its own.
#[test]
#[ignore = "exercise: stage04 5, pin the loops"]
fn pinned_loops() {
    let exercise = "stage 04 exercise 5 (pin the loops)";
    let cpus = allowed_cpus(std::process::id(), std::process::id());
    let loops = cpus.len().clamp(1, 2);
    let server = start(STAGE, &["--threads", &loops.to_string(), "--pin"], exercise);
    // The loops' threads may start a moment after the listening line.
    let mut threads = Vec::new();
    eventually(PROMPTLY, || {
        threads = threads_named(server.pid(), "loop-");
        threads.len() == loops
    });
    assert_eq!(
        threads.len(),
        loops,
        "the server should have {loops} threads named loop-N"
    );
    // Each loop pins itself as its thread starts: give them the same moment.
    let read_masks = || -> Vec<BTreeSet<u32>> {
        threads
            .iter()
            .map(|&tid| allowed_cpus(server.pid(), tid))
            .collect()
    };
    let pinned = |masks: &[BTreeSet<u32>]| {
        let distinct: BTreeSet<&BTreeSet<u32>> = masks.iter().collect();
        masks.iter().all(|mask| mask.len() == 1) && distinct.len() == loops
    };
    eventually(PROMPTLY, || pinned(&read_masks()));
    let masks = read_masks();
    assert!(
        pinned(&masks),
        "{exercise}: the loop threads may run on {masks:?}; pinned, each may run on exactly one \
         CPU, a different one for each loop (this process may use {cpus:?})"
    );
    let mut conn = connect(&server);
    let response = ask(&mut conn, "/plaintext", exercise);
    assert_eq!(response.status, 200, "{response}");
}

/// Exercise 6: the application keeps files open between requests (one open for many
/// requests, and the descriptor still open after the response), and a file replaced on disk
/// is served new within about a second.
#[test]
#[ignore = "exercise: stage04 6, an open-file cache"]
fn open_file_cache() {
    let exercise = "stage 04 exercise 6 (an open-file cache)";
    const REQUESTS: usize = 20;
    let root = TempDir::new("open-file-cache");
    root.replace("style.css", b"body { color: black; }\n");
    let root_arg = root.path().to_string_lossy().into_owned();
    let server = start(STAGE, &["--threads", "1", "--root", &root_arg], exercise);
    let mut conn = connect(&server);
    ask(&mut conn, "/plaintext", "a first request");
    let trace = Trace::attach(server.pid(), "open,openat,openat2");
    for _ in 0..REQUESTS {
        let response = ask(&mut conn, "/style.css", exercise);
        assert_eq!(response.body, b"body { color: black; }\n", "{response}");
    }
    let trace = trace.finish();
    let opens: Vec<&str> = ["open", "openat", "openat2"]
        .iter()
        .flat_map(|name| calls(&trace, name))
        .filter(|line| line.contains("style.css"))
        .collect();
    assert!(
        opens.len() <= 2,
        "{exercise}: {REQUESTS} requests for /style.css opened it {} times; a cache opens it \
         once and keeps it:\n{}",
        opens.len(),
        opens.join("\n")
    );
    let held = open_descriptors_on(server.pid(), &root.join("style.css"));
    assert!(
        held >= 1,
        "{exercise}: after the responses, no descriptor of the server is open on style.css; a \
         cache holds the open file between requests"
    );

    // A deployment replaces the file; after the cache's second, the new one is served.
    let new = b"body { color: darkred; background: ivory; }\n";
    root.replace("style.css", new);
    thread::sleep(Duration::from_millis(1500));
    let response = ask(&mut conn, "/style.css", exercise);
    assert!(
        response.body == new,
        "{exercise}: 1.5 s after style.css was replaced, the server still sends the old file \
         ({:?}); the cache must check the path's change time at least once a second",
        String::from_utf8_lossy(&response.body)
    );
    let mut fresh = Conn::connect(server.addr()).expect("connecting again");
    let again = ask(&mut fresh, "/style.css", exercise);
    assert!(again.body == new, "a new connection gets the old file");
}

/// How many of `pid`'s open descriptors name `path`.
fn open_descriptors_on(pid: u32, path: &std::path::Path) -> usize {
    // The kernel names a descriptor's file by its real path, without symbolic links.
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| fs::read_link(entry.path()).ok())
        .filter(|target| *target == path)
        .count()
}
