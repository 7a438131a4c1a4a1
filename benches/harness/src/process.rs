//! Starting the servers and the load generators as a user would from a shell, optionally pinned
//! with `taskset -c CPUS` (which execs the program, so the PID the harness holds is the
//! program's own), and stopping them by that PID.
//!
//! Servers that print `listening on http://ADDR` (the stages, the floor and the hyper reference)
//! are read with the stage kit's [`parse_listening_line`]; nginx, which prints nothing, is given
//! a free port and polled until it accepts connections.
//!
//! Every child is tied to the harness with `PR_SET_PDEATHSIG` (the kit's [`die_with_parent`]), so
//! a harness killed from outside leaves no server running; [`Running`]'s `Drop` covers every
//! other ending.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use stagekit::server::{
    die_with_parent, first_line_then_drain, parse_listening_line, signal_process, Signal,
};

/// How long a server may take to start listening.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a server gets to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a process could not be started.
#[derive(Debug)]
pub enum StartError {
    Spawn {
        program: PathBuf,
        error: io::Error,
    },
    /// It exited (or closed stdout) before it was ready.
    Exited {
        status: Option<ExitStatus>,
        log: String,
    },
    /// Not ready within [`STARTUP_TIMEOUT`].
    NotReady {
        log: String,
    },
    BadListeningLine {
        line: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn { program, error } => {
                write!(f, "cannot start {}: {error}", program.display())
            }
            StartError::Exited { status, log } => {
                let status = status.map_or("unknown status".to_owned(), |s| s.to_string());
                write!(f, "exited before it was ready ({status})")?;
                if !log.trim().is_empty() {
                    write!(f, "; it said: {}", one_line(log))?;
                }
                Ok(())
            }
            StartError::NotReady { log } => {
                write!(f, "not ready within {STARTUP_TIMEOUT:?}")?;
                if !log.trim().is_empty() {
                    write!(f, "; it said: {}", one_line(log))?;
                }
                Ok(())
            }
            StartError::BadListeningLine { line } => {
                write!(f, "first line is not `listening on http://ADDR`: {line:?}")
            }
        }
    }
}

impl std::error::Error for StartError {}

fn one_line(log: &str) -> String {
    let joined: String = log
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" / ");
    joined.chars().take(300).collect()
}

/// A program to run: its path, its arguments, and the CPUs to pin it to.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `taskset -c` list (`"0"`, `"0-1"`); `None` runs unpinned.
    pub cpus: Option<String>,
}

impl Launch {
    pub fn command(&self) -> Command {
        let mut command = match &self.cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(&self.program);
                command
            }
            None => Command::new(&self.program),
        };
        command.args(&self.args).stdin(Stdio::null());
        die_with_parent(&mut command);
        command
    }

    /// The command line as a user would type it.
    pub fn shown(&self) -> String {
        let mut words = Vec::new();
        if let Some(cpus) = &self.cpus {
            words.push(format!("taskset -c {cpus}"));
        }
        words.push(self.program.display().to_string());
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }
}

/// A running server.
pub struct Running {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// Whether it speaks TLS (said by its listening line, or by [`Running::over_tls`]).
    tls: bool,
}

impl Running {
    /// Starts a server that prints `listening on http://ADDR` first; its stderr goes to `log`.
    pub fn listening(launch: &Launch, log: &Path) -> Result<Running, StartError> {
        let mut child = spawn(launch, log, Stdio::piped())?;
        // Cannot fail: stdout is piped just above and nothing took it yet.
        let stdout = child.stdout.take().expect("stdout is piped");
        let first_line = first_line_then_drain(stdout);
        let mut running = Running {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
            tls: false,
        };
        match first_line.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => {
                running.tls = line.starts_with("listening on https://");
                running.addr = parse_listening_line(&line)
                    .map_err(|_| StartError::BadListeningLine { line })?;
                Ok(running)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StartError::NotReady {
                log: running.log_text(),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = running.wait(Duration::from_secs(2));
                Err(StartError::Exited {
                    status,
                    log: running.log_text(),
                })
            }
        }
    }

    /// Starts a server told to listen on `addr`, and waits until it accepts connections.
    pub fn on_addr(launch: &Launch, addr: SocketAddr, log: &Path) -> Result<Running, StartError> {
        let child = spawn(launch, log, Stdio::null())?;
        let mut running = Running {
            child,
            addr,
            log: log.to_path_buf(),
            tls: false,
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = running.child.try_wait() {
                return Err(StartError::Exited {
                    status: Some(status),
                    log: running.log_text(),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(running);
            }
            if Instant::now() >= deadline {
                return Err(StartError::NotReady {
                    log: running.log_text(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Marks a server that says nothing (nginx) as speaking TLS.
    pub fn over_tls(mut self) -> Running {
        self.tls = true;
        self
    }

    /// Points the harness at the server's second, plain listener (stage 07's `--h2c ADDR`, which
    /// it names on its second line), instead of the TLS one its first line named.
    pub fn plain_at(mut self, addr: SocketAddr) -> Running {
        self.addr = addr;
        self.tls = false;
        self
    }

    /// `http://ADDR` or `https://ADDR`, for wrk and h2load.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The exit status if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// What the server wrote to its log (the end of it).
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            // A log that cannot be read leaves the message without it; nothing else depends on it.
            let _ = file.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(2000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }

    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM by PID, then SIGKILL after [`STOP_GRACE`]; reaps the process.
    pub fn stop(&mut self) {
        self.stop_within(STOP_GRACE);
    }

    /// SIGTERM by PID, then SIGKILL after `grace`; reaps the process and returns its exit
    /// status, `None` when it had to be killed.
    pub fn stop_within(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        // Our unreaped child (checked just above), so the PID names no other process. A failure
        // means it has exited in between, which the wait below sees.
        let _ = signal_process(self.child.id(), Signal::Term);
        let status = self.wait(grace);
        if status.is_none() {
            // Ignoring errors: the process may have exited in between; wait() reaps it anyway.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(launch: &Launch, log: &Path, stdout: Stdio) -> Result<Child, StartError> {
    let spawn_error = |error| StartError::Spawn {
        program: launch.program.clone(),
        error,
    };
    let log_file = File::create(log).map_err(spawn_error)?;
    launch
        .command()
        .stdout(stdout)
        .stderr(Stdio::from(log_file))
        .spawn()
        .map_err(spawn_error)
}

/// Runs a load generator to completion (at most `limit`, then it is killed by PID) and returns
/// its stdout, or its stderr as the error.
pub fn run_generator(launch: &Launch, limit: Duration) -> Result<String, String> {
    let mut child = launch
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", launch.program.display()))?;
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                // Ignoring errors: it may have exited in between; wait() reaps it either way.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let collect = |reader: Option<thread::JoinHandle<String>>| {
        reader
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    match status {
        Some(status) if status.success() => Ok(stdout),
        Some(status) => Err(format!(
            "{} failed ({status}): {}",
            launch.shown(),
            one_line(&stderr)
        )),
        None => Err(format!(
            "{} ran past {limit:?} and was killed",
            launch.shown()
        )),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the output early; what was read is still worth returning.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A free port on 127.0.0.1 for a server that cannot be told to pick one (nginx). Another
/// process could take it before the server binds; the server then fails to start, visibly.
pub fn free_local_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Pins the calling thread (and the threads it starts later) to `cpus`, a `taskset` list of
/// single CPUs and ranges (`"1"`, `"0-1"`, `"0,2"`); `None` lets it run anywhere.
pub fn pin_current_thread(cpus: Option<&str>) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let all: Vec<usize> = match cpus {
        Some(list) => parse_cpu_list(list)
            .ok_or_else(|| io::Error::other(format!("bad CPU list {list:?}")))?,
        None => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    };
    for cpu in all {
        // SAFETY: CPU_SET writes inside `set`; CPU numbers past its size are ignored by libc.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; PID 0 is the calling thread.
    let result =
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Parses a `taskset -c` CPU list.
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to): (usize, usize) =
                    (from.trim().parse().ok()?, to.trim().parse().ok()?);
                if from > to {
                    return None;
                }
                cpus.extend(from..=to);
            }
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_as_taskset_writes_them() {
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("2-1"), None);
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn a_program_that_exits_at_once_is_reported_with_its_status() {
        let dir = std::env::temp_dir().join(format!("stagecraft-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let launch = Launch {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), "echo gone >&2; exit 3".into()],
            cpus: None,
        };
        let result = Running::listening(&launch, &dir.join("sh.log"));
        match result {
            Err(StartError::Exited { status, log }) => {
                assert_eq!(status.and_then(|s| s.code()), Some(3));
                assert!(log.contains("gone"), "{log}");
            }
            other => panic!("expected Exited, got {:?}", other.err()),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_generator_is_run_to_completion_or_killed() {
        let ok = Launch {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), "echo result".into()],
            cpus: None,
        };
        assert_eq!(
            run_generator(&ok, Duration::from_secs(10)).as_deref(),
            Ok("result\n")
        );
        let slow = Launch {
            program: PathBuf::from("sleep"),
            args: vec!["10".into()],
            cpus: None,
        };
        let started = Instant::now();
        let error = run_generator(&slow, Duration::from_millis(200)).expect_err("killed");
        assert!(error.contains("killed"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
