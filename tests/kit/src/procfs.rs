//! What Linux's `/proc` (proc(5)) says about a server from outside: its resident memory, its open
//! descriptors, its parent and children, its CPU time and when it started; and the open-file
//! limit of this process, which bounds how many connections a test can hold.
//!
//! - `/proc/PID/stat`: one line of fields; [`parse_stat`] reads the PID, the parent, the CPU
//!   time (fields 14-17: `utime`, `stime`, `cutime`, `cstime`, in clock ticks; the `c` fields
//!   hold the time of children that have exited and been reaped) and the start time (field 22).
//! - `/proc/PID/status`: `VmRSS`, the resident memory ([`parse_vm_rss`], [`rss_bytes`]).
//! - `/proc/PID/fd`: one entry per open descriptor ([`open_fds`]).
//! - `/proc/PID/task/TID/children`: the children each thread forked ([`children_of`]), or, on
//!   kernels built without it, every process whose parent it is.
//!
//! The conformance suite reads a stage's memory and descriptors with these, and the benchmark
//! harness sums memory and CPU time over a server's whole process tree ([`tree_of`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io;

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

/// The fields of `/proc/PID/stat` the suite and the harness use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub parent: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    pub cpu_ticks: u64,
    /// When the process started, in clock ticks since boot. With the PID, it names a process
    /// for good: a PID may be reused, but not at the same start time.
    pub start_ticks: u64,
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
        start_ticks: field(22, "starttime")?,
    })
}

/// The stat of `pid` now; `None` once the process is gone (or was never there).
pub fn stat(pid: u32) -> Option<Stat> {
    let line = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&line).ok()
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

/// The resident memory of `pid` in bytes, from `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path)
        .map_err(|error| io::Error::new(error.kind(), format!("{path}: {error}")))?;
    parse_vm_rss(&status).ok_or_else(|| io::Error::other(format!("no VmRSS line in {path}")))
}

/// How many descriptors `pid` has open, from `/proc/PID/fd`.
pub fn open_fds(pid: u32) -> io::Result<usize> {
    let path = format!("/proc/{pid}/fd");
    let entries = fs::read_dir(&path)
        .map_err(|error| io::Error::new(error.kind(), format!("{path}: {error}")))?;
    Ok(entries.count())
}

/// The PIDs of `pid`'s children: those forked by any of its threads, from
/// `/proc/PID/task/TID/children`; on kernels built without `CONFIG_PROC_CHILDREN`, the
/// processes whose parent it is, found by reading every `/proc/PID/stat`.
pub fn children_of(pid: u32) -> BTreeSet<u32> {
    let from_tasks = fs::read_dir(format!("/proc/{pid}/task")).and_then(|tasks| {
        let mut children = BTreeSet::new();
        for task in tasks {
            let text = fs::read_to_string(task?.path().join("children"))?;
            children.extend(
                text.split_whitespace()
                    .filter_map(|child| child.parse::<u32>().ok()),
            );
        }
        Ok(children)
    });
    match from_tasks {
        Ok(children) => children,
        Err(_) => all_processes()
            .into_iter()
            .filter(|stat| stat.parent == pid)
            .map(|stat| stat.pid)
            .collect(),
    }
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

/// Raises this process's soft limit on open files towards `wanted`, up to the hard limit (every
/// connection a test or the harness holds is a descriptor), and returns the soft limit now in
/// force. If raising fails, the old limit stays and is returned.
pub fn raise_open_file_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed, which lives across
    // both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let wanted = libc::rlim_t::try_from(wanted).unwrap_or(libc::rlim_t::MAX);
        if limit.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    // `rlim_t` is u64 on 64-bit Linux, but only as wide as `unsigned long` elsewhere.
    #[allow(clippy::useless_conversion)]
    u64::from(limit.rlim_cur)
}

/// How many more descriptors this process may open, after raising its soft open-file limit to
/// the hard one (as the stages do for themselves), keeping `keep` for everything else the tests
/// run beside.
pub fn descriptors_to_spare(keep: usize) -> usize {
    let limit = raise_open_file_limit(u64::MAX);
    let open_now = fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count());
    usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(open_now)
        .saturating_sub(keep)
}

#[cfg(test)]
mod tests;
