//! System calls per request: how many times each server asks the kernel for something to answer
//! one request, and for what. The chapters compare their models by these counts (a blocking
//! `read` per request, an `epoll_wait` shared by many, an `accept4` per connection).
//!
//! The server is started and warmed up as in any other scenario; then `strace -c -f` attaches
//! to every process of its tree (`-f` takes in every thread and every process forked while it
//! is attached), wrk drives a bounded load, and strace is interrupted by its PID, detaches, and
//! writes its summary ([`parse_summary`]). Only the measured window is counted: the server's
//! start and its shutdown happen while strace is not attached. The counts are divided by the
//! requests wrk reports.
//!
//! What to keep in mind reading them:
//!
//! - strace stops the server at every system call, so the server runs many times slower while it
//!   is traced. The counts per request stay right; the throughput under strace is not shown.
//! - A server that waits with a timeout (`epoll_wait` with one, a pool's condition variable)
//!   makes calls while no request is in flight; between attaching and wrk's start, and between
//!   wrk's end and detaching, those few are counted too.
//! - Requests still in flight when wrk stops are served but not counted by wrk: with a handful
//!   of connections over thousands of requests, well under 1 %.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::Launch;
use stagekit::server::Signal;

/// Connections of the keep-alive load: a handful, so that a server's loop waits between
/// requests as it does under light load, and models that batch under heavy load do not.
pub const CONNECTIONS: u32 = 4;

/// How long strace may take to attach to every process, and to detach and write its summary.
pub const STRACE_TIMEOUT: Duration = Duration::from_secs(10);

/// The columns of the table: a name for the reader, and the system calls it counts together.
/// Everything else is in "other" (and by name in the JSON).
pub const COLUMNS: [(&str, &[&str]); 11] = [
    (
        "read, recvfrom",
        &["read", "recvfrom", "recvmsg", "readv", "pread64"],
    ),
    (
        "write, sendto, writev",
        &["write", "sendto", "writev", "sendmsg", "pwrite64"],
    ),
    ("sendfile", &["sendfile", "sendfile64"]),
    ("openat", &["openat", "openat2", "open"]),
    (
        "statx, fstat",
        &["statx", "fstat", "newfstatat", "stat", "lstat"],
    ),
    ("close", &["close"]),
    (
        "epoll_wait",
        &["epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll"],
    ),
    ("epoll_ctl", &["epoll_ctl"]),
    ("accept4", &["accept4", "accept"]),
    ("futex", &["futex"]),
    // TCP_CORK, TCP_NODELAY and the like, set per response by some servers.
    ("setsockopt", &["setsockopt"]),
];

/// One line of strace's `-c` summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    pub calls: u64,
    /// Calls that returned an error (`EAGAIN` from a non-blocking read counts here).
    pub errors: u64,
}

/// One server's system calls over a measured window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Requests wrk reports answered in the window.
    pub requests: u64,
    /// Every system call, most frequent first.
    pub calls: Vec<Call>,
}

impl Counts {
    /// All system calls together.
    pub fn total(&self) -> u64 {
        self.calls.iter().map(|call| call.calls).sum()
    }

    /// Calls of any of `names`, per request.
    pub fn per_request(&self, names: &[&str]) -> Option<f64> {
        let calls: u64 = self
            .calls
            .iter()
            .filter(|call| names.contains(&call.name.as_str()))
            .map(|call| call.calls)
            .sum();
        (self.requests > 0).then(|| calls as f64 / self.requests as f64)
    }

    /// All system calls per request.
    pub fn total_per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.total() as f64 / self.requests as f64)
    }

    /// Calls in no column of [`COLUMNS`], per request.
    pub fn other_per_request(&self) -> Option<f64> {
        let listed: u64 = self
            .calls
            .iter()
            .filter(|call| {
                COLUMNS
                    .iter()
                    .any(|(_, names)| names.contains(&call.name.as_str()))
            })
            .map(|call| call.calls)
            .sum();
        (self.requests > 0).then(|| (self.total() - listed) as f64 / self.requests as f64)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests,
            "total": self.total(),
            "per_request": self.total_per_request(),
            "calls": self.calls.iter().map(|call| serde_json::json!({
                "name": call.name, "calls": call.calls, "errors": call.errors,
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads back what [`Counts::to_json`] wrote.
    pub fn from_json(json: &serde_json::Value) -> Option<Counts> {
        let calls = json["calls"]
            .as_array()?
            .iter()
            .map(|call| Call {
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                calls: call["calls"].as_u64().unwrap_or(0),
                errors: call["errors"].as_u64().unwrap_or(0),
            })
            .collect();
        Some(Counts {
            requests: json["requests"].as_u64()?,
            calls,
        })
    }
}

/// Why strace's summary could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SummaryError {
    /// No `% time ... syscall` header: strace printed something else (an error, perhaps).
    NoHeader(String),
    /// A line of the table that is not `% seconds usecs calls [errors] name`.
    BadLine(String),
    /// The table has no `total` line: strace was stopped before it finished writing.
    NoTotal,
}

impl fmt::Display for SummaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SummaryError::NoHeader(start) => {
                write!(f, "strace wrote no summary table; it began {start:?}")
            }
            SummaryError::BadLine(line) => {
                write!(f, "unexpected line in strace's summary: {line:?}")
            }
            SummaryError::NoTotal => f.write_str("strace's summary has no total line"),
        }
    }
}

impl std::error::Error for SummaryError {}

/// Parses the table `strace -c` writes when it detaches:
///
/// ```text
/// % time     seconds  usecs/call     calls    errors syscall
/// ------ ----------- ----------- --------- --------- ----------------
///  46.67    0.000084           1        44        12 newfstatat
///   8.33    0.000015           1        11           close
/// ------ ----------- ----------- --------- --------- ----------------
/// 100.00    0.000180           1       121        24 total
/// ```
///
/// The errors column is empty for a call that never failed. Returns the calls, most frequent
/// first; the total line is checked against their sum, not returned.
pub fn parse_summary(text: &str) -> Result<Vec<Call>, SummaryError> {
    let mut lines = text
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("% time"));
    if lines.next().is_none() {
        let start: String = text.chars().take(80).collect();
        return Err(SummaryError::NoHeader(start));
    }
    let mut calls = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields.iter().all(|field| field.bytes().all(|b| b == b'-')) {
            continue;
        }
        let number = |i: usize| {
            fields[i]
                .parse::<u64>()
                .map_err(|_| SummaryError::BadLine(line.to_owned()))
        };
        let (count, errors) = match fields.len() {
            5 => (number(3)?, 0),
            6 => (number(3)?, number(4)?),
            _ => return Err(SummaryError::BadLine(line.to_owned())),
        };
        let name = fields[fields.len() - 1];
        if name == "total" {
            let sum: u64 = calls.iter().map(|call: &Call| call.calls).sum();
            if sum != count {
                return Err(SummaryError::BadLine(format!(
                    "{line} (the calls above add up to {sum})"
                )));
            }
            calls.sort_by(|a: &Call, b: &Call| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
            return Ok(calls);
        }
        calls.push(Call {
            name: name.to_owned(),
            calls: count,
            errors,
        });
    }
    Err(SummaryError::NoTotal)
}

/// A running `strace -c -f` attached to a process tree.
pub struct Tracer {
    child: Child,
    summary: PathBuf,
    log: PathBuf,
}

impl Tracer {
    /// Attaches strace to every process in `pids` and waits until it says it has attached to
    /// each (at most [`STRACE_TIMEOUT`]). strace runs on `cpus` (the client CPUs, off the
    /// server's), writing its summary to `dir/NAME.strace`.
    pub fn attach(
        strace: &Path,
        pids: &[u32],
        cpus: Option<&str>,
        dir: &Path,
        name: &str,
    ) -> Result<Tracer, String> {
        let summary = dir.join(format!("{name}.strace"));
        let log = dir.join(format!("{name}.strace-log"));
        let stderr =
            fs::File::create(&log).map_err(|error| format!("{}: {error}", log.display()))?;
        let mut args: Vec<String> = ["-c", "-f", "-o"].map(String::from).to_vec();
        args.push(summary.display().to_string());
        for pid in pids {
            args.push("-p".into());
            args.push(pid.to_string());
        }
        // Like every child of the harness, strace dies with it (and its tracees are detached).
        let mut command = Launch {
            program: strace.to_path_buf(),
            args,
            cpus: cpus.map(str::to_owned),
        }
        .command();
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|error| format!("strace did not start: {error}"))?;
        let mut tracer = Tracer {
            child,
            summary,
            log,
        };
        let give_up = Instant::now() + STRACE_TIMEOUT;
        loop {
            let said = fs::read_to_string(&tracer.log).unwrap_or_default();
            // One line per attached thread: at least one per process.
            if said.matches(" attached").count() >= pids.len() {
                return Ok(tracer);
            }
            if let Ok(Some(status)) = tracer.child.try_wait() {
                return Err(format!("strace exited ({status}): {}", said.trim()));
            }
            if Instant::now() > give_up {
                tracer.stop_now();
                return Err(format!(
                    "strace did not attach within {} s: {}",
                    STRACE_TIMEOUT.as_secs(),
                    said.trim()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Interrupts strace (SIGINT, by its PID), which detaches from every process and writes the
    /// summary, and reads it.
    pub fn finish(mut self) -> Result<Vec<Call>, String> {
        // Our own child, not yet waited for: its PID cannot have been reused.
        if let Err(error) = stagekit::server::signal_process(self.child.id(), Signal::Int) {
            self.stop_now();
            return Err(format!("strace could not be interrupted: {error}"));
        }
        let give_up = Instant::now() + STRACE_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < give_up => thread::sleep(Duration::from_millis(20)),
                _ => {
                    self.stop_now();
                    return Err(format!(
                        "strace did not detach within {} s",
                        STRACE_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        let text = fs::read_to_string(&self.summary)
            .map_err(|error| format!("strace wrote no summary: {error}"))?;
        parse_summary(&text).map_err(|error| error.to_string())
    }

    /// Kills strace by its PID and reaps it. The kernel detaches a tracer's processes when it
    /// dies, so the server runs on untraced.
    fn stop_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop_now();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
