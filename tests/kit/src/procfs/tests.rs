use super::*;

/// A real line from `/proc/self/stat` on Linux 6.x, with a command name that holds spaces and
/// parentheses, which is why fields are counted from the last `)`.
const STAT: &str = "4242 (nginx: (worker) x) S 4241 4241 4241 0 -1 4194624 2375 0 0 0 \
                    150 75 20 5 20 0 1 0 1793 11063296 1380 18446744073709551615 1 1 0 0 0 \
                    0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0";

#[test]
fn stat_fields_are_counted_after_the_command_name() {
    let stat = parse_stat(STAT).expect("a well-formed stat line");
    assert_eq!(
        stat,
        Stat {
            pid: 4242,
            parent: 4241,
            cpu_ticks: 150 + 75 + 20 + 5,
            start_ticks: 1793,
        }
    );
}

#[test]
fn stat_without_command_or_fields_is_an_error() {
    assert_eq!(parse_stat("4242 nginx S 1"), Err(ProcError::NoCommand));
    assert_eq!(
        parse_stat("4242 (nginx) S 1 2 3"),
        Err(ProcError::BadField { name: "utime" })
    );
    assert_eq!(
        parse_stat("x (nginx) S 1"),
        Err(ProcError::BadField { name: "pid" })
    );
}

#[test]
fn vm_rss_is_read_in_bytes() {
    let status = "Name:\tnginx\nVmPeak:\t  20000 kB\nVmRSS:\t    5520 kB\nThreads:\t1\n";
    assert_eq!(parse_vm_rss(status), Some(5520 * 1024));
    assert_eq!(parse_vm_rss("Name:\tkworker/0:1\nThreads:\t1\n"), None);
}

#[test]
fn tree_follows_parents_down_from_the_root_only() {
    let stat = |pid, parent| Stat {
        pid,
        parent,
        cpu_ticks: u64::from(pid),
        start_ticks: 0,
    };
    let all = [
        stat(1, 0),
        stat(10, 1),
        stat(11, 10),
        stat(12, 10),
        stat(13, 12),
        stat(20, 1),
    ];
    let mut pids: Vec<u32> = tree_of(10, &all).iter().map(|s| s.pid).collect();
    pids.sort_unstable();
    assert_eq!(pids, [10, 11, 12, 13]);
    assert!(tree_of(99, &all).is_empty());
}

#[test]
fn own_process_is_read_from_proc() {
    let pid = std::process::id();
    let own = stat(pid).expect("this process has a /proc/PID/stat");
    assert_eq!(own.pid, pid);
    assert!(own.start_ticks > 0);
    assert!(rss_bytes(pid).expect("VmRSS of a live process") > 0);
    // stdin, stdout and stderr at least, plus the directory being listed.
    assert!(open_fds(pid).expect("listing /proc/self/fd") >= 3);
    assert!(rss_bytes(u32::MAX).is_err());
}

#[test]
fn a_spawned_child_is_among_the_children() {
    let mut child = std::process::Command::new("sleep")
        .arg("10")
        .spawn()
        .expect("sleep is on PATH");
    let children = children_of(std::process::id());
    // Ending the child by its own PID, then reaping it, whatever the assertion says.
    let _ = child.kill();
    let _ = child.wait();
    assert!(children.contains(&child.id()), "{children:?}");
}

#[test]
fn the_open_file_limit_is_raised_to_what_is_asked_at_most() {
    let now = raise_open_file_limit(0);
    assert!(now > 0);
    assert!(raise_open_file_limit(u64::MAX) >= now);
    assert!(descriptors_to_spare(0) > descriptors_to_spare(100));
}
