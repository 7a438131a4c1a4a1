//! What the exercise tests share: starting a stage with the flags an exercise adds (and saying
//! so when the flag does not exist yet), raw requests, and the countable facts the tests read
//! from Linux: listening sockets in `/proc/net/tcp`, thread names and CPU masks in
//! `/proc/PID/task`, stack mappings in `/proc/PID/maps`, and system calls under `strace`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Capabilities, Conn, Response, Server, Stage};

/// How long a test waits for an answer that a finished exercise gives at once. Generous, so a
/// loaded machine does not fail a good solution; short next to the `--idle-timeout 30s` the
/// tests set, so today's code cannot pass by waiting the idle connection out.
pub const PROMPTLY: Duration = Duration::from_secs(3);

/// Starts `package` with `args` (after `--addr 127.0.0.1:0`). A stage that refuses to start
/// most likely does not have the flag the exercise adds yet, and the panic says so, with the
/// server's own words.
pub fn start(package: &'static str, args: &[&str], exercise: &str) -> Server {
    start_with(Stage::new(package, Capabilities::NONE), args, exercise)
}

/// [`start`] for a stage that speaks TLS on its port (stage 06 on): its listening line says
/// `https://`, and connections trust the certificate `args` name.
pub fn start_tls(package: &'static str, args: &[&str], exercise: &str) -> Server {
    let tls = Capabilities {
        tls: true,
        ..Capabilities::NONE
    };
    start_with(Stage::new(package, tls), args, exercise)
}

fn start_with(stage: Stage, args: &[&str], exercise: &str) -> Server {
    let package = stage.package;
    match Server::try_start(&stage, args) {
        Ok(server) => server,
        Err(error) => panic!(
            "`{package} {}` did not start, so {exercise} is not done yet (exit status 2 is a \
             command-line error: most likely the flag the exercise adds does not exist yet): \
             {error}",
            args.join(" ")
        ),
    }
}

/// `GET path` on a kept-alive connection.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: exercise\r\n\r\n").into_bytes()
}

/// A new connection to `server`, reading with [`PROMPTLY`] as its timeout.
pub fn connect(server: &Server) -> Conn {
    let mut conn = Conn::connect(server.addr())
        .unwrap_or_else(|error| panic!("connecting to {}: {error}", server.addr()));
    conn.set_timeout(PROMPTLY);
    conn
}

/// Sends `GET path` on `conn` and reads the answer, or panics with `what` and the reason.
pub fn ask(conn: &mut Conn, path: &str, what: &str) -> Response {
    conn.send(get(path))
        .unwrap_or_else(|error| panic!("{what}: sending GET {path}: {error}"));
    conn.read_response()
        .unwrap_or_else(|error| panic!("{what}: no answer to GET {path}: {error}"))
}

/// The bytes of a file of the bundled site.
pub fn site_file(name: &str) -> Vec<u8> {
    let path = stagekit::site_dir().join(name);
    fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Polls `condition` every 20 ms until it holds or `within` has passed; returns whether it held.
pub fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sockets in the LISTEN state on `addr`'s port, from `/proc/net/tcp`: one per `bind`, so two
/// `SO_REUSEPORT` sockets on one port count two, while clones of one socket (`try_clone`, or
/// a descriptor inherited across `fork`) count one.
pub fn listening_sockets(addr: SocketAddr) -> usize {
    let table = fs::read_to_string("/proc/net/tcp").expect("reading /proc/net/tcp");
    let port = format!(":{:04X}", addr.port());
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1).unwrap_or("");
            let state = fields.nth(1).unwrap_or("");
            local.ends_with(&port) && state == "0A"
        })
        .count()
}

/// Eight requests on eight new connections, each answered 200: whichever loop or runtime the
/// kernel hands a connection to, it serves.
pub fn every_listener_serves(server: &Server, exercise: &str) {
    for _ in 0..8 {
        let mut conn = connect(server);
        let response = ask(&mut conn, "/plaintext", exercise);
        assert_eq!(response.status, 200, "{response}");
    }
}

/// The inode of the socket listening on `addr`'s port (the first, if there are several), from
/// `/proc/net/tcp`: it names the socket itself, however many processes hold a descriptor on it.
pub fn listening_inode(addr: SocketAddr) -> Option<u64> {
    let table = fs::read_to_string("/proc/net/tcp").ok()?;
    let port = format!(":{:04X}", addr.port());
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let listening = fields.get(1)?.ends_with(&port) && *fields.get(3)? == "0A";
        listening.then(|| fields.get(9)?.parse().ok()).flatten()
    })
}

/// The processes that hold a descriptor on the socket with `inode`, found by reading every
/// `/proc/PID/fd` this process may read.
pub fn socket_holders(inode: u64) -> BTreeSet<u32> {
    let name = PathBuf::from(format!("socket:[{inode}]"));
    let Ok(processes) = fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    processes
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok)
                    .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == name))
            })
        })
        .collect()
}

/// The thread IDs of `pid` whose name (`/proc/PID/task/TID/comm`) starts with `prefix`.
pub fn threads_named(pid: u32, prefix: &str) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let name = fs::read_to_string(task.path().join("comm")).ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            name.starts_with(prefix).then_some(tid)
        })
        .collect()
}

/// The CPUs thread `tid` of `pid` may run on, from `Cpus_allowed_list` (e.g. `0-1,3`).
pub fn allowed_cpus(pid: u32, tid: u32) -> BTreeSet<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or("")
        .trim();
    let mut cpus = BTreeSet::new();
    for range in list.split(',').filter(|range| !range.is_empty()) {
        let (low, high) = range.split_once('-').unwrap_or((range, range));
        if let (Ok(low), Ok(high)) = (low.parse::<u32>(), high.parse::<u32>()) {
            cpus.extend(low..=high);
        }
    }
    cpus
}

/// The sizes in bytes of the thread stacks in `/proc/PID/maps`: an anonymous read-write
/// mapping that starts exactly where a no-access mapping (its guard page) ends. That is how
/// glibc lays out the stack of every thread it creates; the main thread's stack is named
/// `[stack]` and is not counted.
pub fn thread_stack_sizes(pid: u32) -> Vec<u64> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut sizes = Vec::new();
    let mut guard_end = None;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Anonymous mappings have no path (the sixth field).
        let anonymous = fields.nth(3).is_none();
        let Some((start, end)) = range.split_once('-').and_then(|(start, end)| {
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
            ))
        }) else {
            continue;
        };
        if perms.starts_with("rw-p") && anonymous && guard_end == Some(start) {
            sizes.push(end - start);
        }
        guard_end = (perms == "---p").then_some(end);
    }
    sizes
}

/// `strace` attached to every thread of a running process, writing the calls it is told to
/// trace to a file. The test starts it, so the test ends it, by its PID (in [`Trace::finish`],
/// or on drop if the test failed first).
pub struct Trace {
    strace: Child,
    output: PathBuf,
}

impl Trace {
    /// Attaches to `pid` (and the threads and children it starts later), tracing the system
    /// calls in `calls` (strace's `-e trace=` list), and waits until every thread is traced.
    pub fn attach(pid: u32, calls: &str) -> Trace {
        let output = std::env::temp_dir().join(format!(
            "stagecraft-exercise-trace-{}-{pid}.txt",
            std::process::id()
        ));
        let strace = Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(&output)
            .args(["-e", &format!("trace={calls}")])
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("this exercise's test needs strace on PATH to count system calls: {error}")
            });
        let mut trace = Trace { strace, output };
        let attached = eventually(Duration::from_secs(10), || {
            traced(pid) || !matches!(trace.strace.try_wait(), Ok(None))
        });
        if let Ok(Some(status)) = trace.strace.try_wait() {
            let mut said = String::new();
            if let Some(mut stderr) = trace.strace.stderr.take() {
                let _ = stderr.read_to_string(&mut said);
            }
            panic!("strace could not trace {pid} ({status}): {said}");
        }
        assert!(attached, "strace did not attach to {pid} within 10 s");
        trace
    }

    /// Detaches strace (SIGINT, after which it writes out what it has) and returns the trace:
    /// one call per line, each prefixed with the thread's ID.
    pub fn finish(mut self) -> String {
        // Give the last calls, which the client has already seen the effect of, a moment to
        // be written out by strace before it is told to detach.
        thread::sleep(Duration::from_millis(200));
        signal(self.strace.id(), "INT");
        let _ = self.strace.wait();
        fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        // Already reaped after finish(); otherwise a failed test leaves no tracer behind.
        if let Ok(None) = self.strace.try_wait() {
            signal(self.strace.id(), "INT");
            let _ = self.strace.wait();
        }
        let _ = fs::remove_file(&self.output);
    }
}

/// Whether every thread of `pid` has a tracer.
fn traced(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).all(|task| {
        fs::read_to_string(task.path().join("status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("TracerPid:"))
                    .map(|tracer| tracer.trim() != "0")
            })
            .unwrap_or(false)
    })
}

/// The lines of a trace that start a call to `name` (a call split by another thread's shows
/// up as `name(... <unfinished ...>` and later `<... name resumed>`; only the first counts).
pub fn calls<'a>(trace: &'a str, name: &str) -> Vec<&'a str> {
    let opening = format!("{name}(");
    trace
        .lines()
        .filter(|line| {
            line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
                .starts_with(&opening)
        })
        .collect()
}

/// Sends `kill -SIGNAL pid` with the system's `kill`: for the signals the kit has no name for
/// (SIGSTOP, SIGCONT, SIGUSR2, SIGINT to strace). The caller knows which process `pid` is.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped).
pub fn alive(pid: u32) -> bool {
    // The state is the first field after the command name, which is in parentheses and may
    // itself hold them: read it after the last `)`.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

pub use stagekit::scratch::TempDir;
