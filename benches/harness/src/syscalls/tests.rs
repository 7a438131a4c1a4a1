use super::*;

/// A real summary: `strace -c -f -p PID -o FILE` attached to `python3 -m http.server` while it
/// started up, then interrupted (strace 6.1).
const PYTHON_SERVER: &str = include_str!("python-http-server.strace");

#[test]
fn a_real_summary_is_read_most_frequent_first() {
    let calls = parse_summary(PYTHON_SERVER).expect("a complete summary");
    assert_eq!(calls.len(), 21);
    assert_eq!(
        calls[0],
        Call {
            name: "newfstatat".into(),
            calls: 44,
            errors: 12
        }
    );
    assert_eq!(
        calls[1],
        Call {
            name: "read".into(),
            calls: 14,
            errors: 0
        }
    );
    let connect = calls
        .iter()
        .find(|call| call.name == "connect")
        .expect("listed");
    assert_eq!((connect.calls, connect.errors), (2, 2));
    assert_eq!(calls.iter().map(|call| call.calls).sum::<u64>(), 121);
}

#[test]
fn what_is_not_a_complete_summary_is_an_error() {
    assert!(matches!(
        parse_summary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"),
        Err(SummaryError::NoHeader(_))
    ));
    // Cut off before the total line.
    let cut: String = PYTHON_SERVER.lines().take(6).collect::<Vec<_>>().join("\n");
    assert_eq!(parse_summary(&cut), Err(SummaryError::NoTotal));
    // A total that does not add up means a line was misread.
    let wrong = PYTHON_SERVER.replace("121        24 total", "122        24 total");
    assert!(matches!(
        parse_summary(&wrong),
        Err(SummaryError::BadLine(_))
    ));
    let garbled = PYTHON_SERVER.replace("         2           write", " two write");
    assert!(matches!(
        parse_summary(&garbled),
        Err(SummaryError::BadLine(_))
    ));
    // Nothing was called at all: an empty table is still a table.
    let empty = "% time     seconds  usecs/call     calls    errors syscall\n\
                 ------ ----------- ----------- --------- --------- ----------------\n\
                 ------ ----------- ----------- --------- --------- ----------------\n\
                 100.00    0.000000           0         0           total\n";
    assert_eq!(parse_summary(empty), Ok(Vec::new()));
}

/// The system calls of 1000 requests, in several of the tables' columns and one in none (also
/// the report's tests' fixture).
pub(crate) fn counts() -> Counts {
    let call = |name: &str, calls| Call {
        name: name.into(),
        calls,
        errors: 0,
    };
    Counts {
        requests: 1000,
        calls: vec![
            call("epoll_wait", 1000),
            call("recvfrom", 2000),
            call("writev", 1000),
            call("read", 500),
            call("madvise", 500),
        ],
    }
}

#[test]
fn counts_per_request_by_column() {
    let counts = counts();
    assert_eq!(counts.total(), 5000);
    assert_eq!(counts.total_per_request(), Some(5.0));
    // read and recvfrom share a column.
    assert_eq!(counts.per_request(COLUMNS[0].1), Some(2.5));
    assert_eq!(counts.per_request(&["sendfile"]), Some(0.0));
    assert_eq!(counts.other_per_request(), Some(0.5));
    let none = Counts::default();
    assert_eq!(none.total_per_request(), None);
    assert_eq!(Counts::from_json(&counts.to_json()), Some(counts));
}

#[test]
fn strace_attaches_counts_and_detaches_by_pid() {
    let Some(strace) = stagekit::peers::find_on_path("strace") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "strace is not installed, and CI=true needs it"
        );
        eprintln!("skipped: strace is not installed");
        return;
    };
    // A shell that starts a `sleep` every 10 ms: forks, waits and execs while traced.
    let mut shell = std::process::Command::new("sh")
        .args(["-c", "while :; do sleep 0.01; done"])
        .spawn()
        .expect("sh starts");
    let dir = stagekit::scratch::TempDir::new("strace");
    let traced =
        Tracer::attach(&strace, &[shell.id()], None, dir.path(), "shell").and_then(|tracer| {
            thread::sleep(Duration::from_millis(300));
            tracer.finish()
        });
    let _ = shell.kill();
    let _ = shell.wait();
    let calls = traced.expect("traced and detached");
    let names: Vec<&str> = calls.iter().map(|call| call.name.as_str()).collect();
    assert!(names.contains(&"execve"), "{names:?}");
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("wait4") || *name == "waitid"),
        "{names:?}"
    );
}
