//! What a server costs, read from Linux's `/proc` (proc(5)): the CPU time and the resident memory
//! of *all* its processes, so that nginx's workers and stage 03's forked children are counted
//! with their master, not left out.
//!
//! - CPU: fields 14-17 of `/proc/PID/stat` (`utime`, `stime`, `cutime`, `cstime`), in clock
//!   ticks. The `c` fields hold the time of children that have exited and been reaped, so a
//!   worker that dies during a run moves its time to its parent instead of losing it.
//! - Memory: `VmRSS` in `/proc/PID/status`, summed over the tree. The kernel keeps no peak for a
//!   tree, so [`Sampler`] samples the sum every [`SAMPLE_EVERY`] and keeps the largest.
//!
//! The tree is found by reading every `/proc/PID/stat` and following parent PIDs down from the
//! root, which sees children whatever their threads are doing.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How often [`Sampler`] reads the tree's resident memory.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Why a `/proc` file could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcError {
    /// `/proc/PID/stat` without the `(comm)` field's closing parenthesis.
    NoCommand,
    /// A field is missing or not a number.
    BadField { name: &'static str },
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcError::NoCommand => f.write_str("/proc/PID/stat has no `(comm)` field"),
            ProcError::BadField { name } => {
                write!(
                    f,
                    "/proc/PID/stat: field `{name}` is missing or not a number"
                )
            }
        }
    }
}

impl std::error::Error for ProcError {}

/// The fields of `/proc/PID/stat` the harness uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub parent: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    pub cpu_ticks: u64,
}

/// Parses one `/proc/PID/stat` line.
///
/// The second field is the command name in parentheses, and the name itself may hold spaces and
/// parentheses (`(my (odd) server)`), so the fields after it are found from the *last* `)`.
pub fn parse_stat(line: &str) -> Result<Stat, ProcError> {
    let open = line.find('(').ok_or(ProcError::NoCommand)?;
    let close = line.rfind(')').ok_or(ProcError::NoCommand)?;
    let pid = line[..open]
        .trim()
        .parse()
        .map_err(|_| ProcError::BadField { name: "pid" })?;
    // After `) `: state is field 3, so field N is at index N - 3.
    let rest: Vec<&str> = line
        .get(close + 1..)
        .ok_or(ProcError::NoCommand)?
        .split_ascii_whitespace()
        .collect();
    let field = |number: usize, name: &'static str| -> Result<u64, ProcError> {
        rest.get(number - 3)
            .and_then(|value| value.parse().ok())
            .ok_or(ProcError::BadField { name })
    };
    let parent = field(4, "ppid")?;
    let cpu_ticks =
        field(14, "utime")? + field(15, "stime")? + field(16, "cutime")? + field(17, "cstime")?;
    Ok(Stat {
        pid,
        parent: u32::try_from(parent).map_err(|_| ProcError::BadField { name: "ppid" })?,
        cpu_ticks,
    })
}

/// The `VmRSS` line of `/proc/PID/status`, in bytes (the kernel writes it in kB, meaning KiB).
/// `None` for a kernel thread or a zombie, which have no such line.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix("VmRSS:")?.trim();
        let kib: u64 = value.strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// `root` and every process descending from it, given the stat of every process.
pub fn tree_of(root: u32, all: &[Stat]) -> Vec<Stat> {
    let mut children: HashMap<u32, Vec<&Stat>> = HashMap::new();
    let mut root_stat = None;
    for stat in all {
        children.entry(stat.parent).or_default().push(stat);
        if stat.pid == root {
            root_stat = Some(*stat);
        }
    }
    let Some(root_stat) = root_stat else {
        return Vec::new();
    };
    let mut tree = vec![root_stat];
    let mut next = 0;
    while next < tree.len() {
        let pid = tree[next].pid;
        if let Some(kids) = children.get(&pid) {
            // PID 0 is the parent of init and kthreadd; it never is a server's child.
            tree.extend(kids.iter().filter(|kid| kid.pid != pid).map(|kid| **kid));
        }
        next += 1;
    }
    tree
}

/// Every process's stat, skipping processes that exit while `/proc` is read.
pub fn all_processes() -> Vec<Stat> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_str().is_some_and(is_pid))
        .filter_map(|entry| fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|line| parse_stat(&line).ok())
        .collect()
}

fn is_pid(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_digit())
}

/// CPU time and resident memory of a process tree at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User + system CPU time of every process in the tree (and its reaped children), seconds.
    pub cpu_seconds: f64,
    /// Sum of `VmRSS` over the tree, bytes.
    pub rss_bytes: u64,
    /// How many processes the tree had.
    pub processes: usize,
}

/// The usage of `root` and all its descendants now.
pub fn tree_usage(root: u32) -> Usage {
    let tree = tree_of(root, &all_processes());
    let ticks: u64 = tree.iter().map(|stat| stat.cpu_ticks).sum();
    let rss_bytes = tree
        .iter()
        .filter_map(|stat| fs::read_to_string(format!("/proc/{}/status", stat.pid)).ok())
        .filter_map(|status| parse_vm_rss(&status))
        .sum();
    Usage {
        cpu_seconds: ticks as f64 / clock_ticks_per_second() as f64,
        rss_bytes,
        processes: tree.len(),
    }
}

/// The kernel's clock tick rate for `/proc` times (`sysconf(_SC_CLK_TCK)`, almost always 100).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// A background thread that samples a tree's resident memory and keeps the peak.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<Mutex<u64>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `root`'s tree now.
    pub fn start(root: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(Mutex::new(0));
        let thread = {
            let stop = Arc::clone(&stop);
            let peak = Arc::clone(&peak);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let rss = tree_usage(root).rss_bytes;
                    let mut peak = peak.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    *peak = (*peak).max(rss);
                    drop(peak);
                    thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Sampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns the largest sum seen, in bytes.
    pub fn finish(mut self) -> u64 {
        self.stop_thread();
        *self
            .peak
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The sampling loop cannot panic short of a bug in this module; the peak so far
            // stays valid either way.
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
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
                cpu_ticks: 150 + 75 + 20 + 5
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
    fn own_process_has_cpu_time_and_memory() {
        // Burn a little CPU so that at least one tick is charged to this process.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let usage = tree_usage(std::process::id());
        assert!(usage.processes >= 1);
        assert!(usage.rss_bytes > 0);
        assert!(usage.cpu_seconds > 0.0, "{usage:?}");
    }
}
