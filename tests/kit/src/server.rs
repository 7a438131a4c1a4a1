//! A stage binary started the way a user starts it, and stopped by its PID.
//!
//! The contract every stage keeps (see `design.md`): `NAME --addr 127.0.0.1:0 [flags]` binds a
//! free port and prints `listening on http://ADDR` as the first line of stdout; logs go to stderr;
//! SIGTERM or SIGINT stops it gracefully with exit status 0.
//!
//! A stage that speaks TLS ([`Capabilities::tls`](crate::Capabilities::tls)) prints
//! `listening on https://ADDR` instead, and is also given `--self-signed-cert DIR/cert.pem`, a
//! file in a directory of the server's own: it makes a certificate for `localhost`, `127.0.0.1`
//! and `::1` at start and writes it there. [`Server::connect`] then opens TLS connections that
//! trust exactly that certificate, and [`Server::ca_file`] names it for clients such as curl.
//!
//! A [`Server`] owns the child process: dropping it sends SIGTERM, waits a few seconds, then
//! sends SIGKILL, so no test leaves a server behind, whether it passes or panics. The server's
//! stderr is kept (the last [`STDERR_KEPT`] bytes) and printed when a test fails, because the
//! server's own log line is usually the fastest way to see why.
//!
//! The pieces the benchmark harness also needs for the processes it starts its own way (with
//! `taskset`, logs to files) are public: [`parse_listening_line`], [`first_line_then_drain`],
//! [`die_with_parent`] and [`signal_process`].

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::build::{self, BuildError};
use crate::scratch::TempDir;
use crate::stage::Stage;
use crate::tls::TlsClient;
use crate::wire::{Conn, Connector};

/// How long a freshly spawned server may take to print its listening line. Generous because the
/// machines are shared and a debug binary may start slowly under load.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Drop`] waits after SIGTERM before it sends SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How much of the server's stderr is kept for failure messages.
pub const STDERR_KEPT: usize = 64 * 1024;

/// What the first line of stdout starts with, before the scheme and the address.
const LISTENING_PREFIX: &str = "listening on ";

/// The scheme of a server's URLs: what its port speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP/1.1 in the clear (stages 01 to 05).
    Http,
    /// HTTP/1.1 over TLS (stage 06).
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signal the suite sends to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: what service managers send; graceful stop.
    Term,
    /// SIGINT: Ctrl-C in a terminal; graceful stop.
    Int,
    /// SIGHUP: stage 03's master replaces its workers one at a time.
    Hup,
    /// SIGKILL: the last resort, which the process cannot handle.
    Kill,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Int => libc::SIGINT,
            Signal::Hup => libc::SIGHUP,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Term => "SIGTERM",
            Signal::Int => "SIGINT",
            Signal::Hup => "SIGHUP",
            Signal::Kill => "SIGKILL",
        })
    }
}

/// Sends `signal` to the process `pid`, and to nothing else.
///
/// The caller must know that `pid` still names the process it means: its own unreaped child
/// (as [`Server::signal`] checks), or a child of such a process that its parent has not reaped
/// yet (stage 03's workers, read from the master's `/proc` a moment before).
pub fn signal_process(pid: u32, signal: Signal) -> io::Result<()> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::other("PID does not fit in pid_t"))?;
    // SAFETY: kill(2) has no memory-safety preconditions; which process the PID names is the
    // caller's promise, above.
    let result = unsafe { libc::kill(pid, signal.number()) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Why a server could not be started or stopped as the contract says.
#[derive(Debug)]
pub enum ServerError {
    Build(BuildError),
    Spawn {
        binary: PathBuf,
        error: io::Error,
    },
    /// stdout closed before the first line: the process exited (or closed stdout) early.
    ExitedBeforeListening {
        status: Option<ExitStatus>,
        stderr: String,
    },
    /// No first line within [`STARTUP_TIMEOUT`].
    SilentAtStartup {
        waited: Duration,
        stderr: String,
    },
    /// The first line is not `listening on http://ADDR` (or https).
    BadListeningLine {
        line: String,
    },
    /// The first line names the other scheme: a TLS stage must listen on https, others on http.
    WrongScheme {
        line: String,
        expected: Scheme,
    },
    /// A TLS stage's certificate file cannot be read or trusted once it listens.
    Certificate {
        path: PathBuf,
        error: io::Error,
        stderr: String,
    },
    /// The process did not exit within the time given.
    StillRunning {
        waited: Duration,
    },
    Io(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Build(error) => write!(f, "cannot build the stage binary: {error}"),
            ServerError::Spawn { binary, error } => {
                write!(f, "cannot start {}: {error}", binary.display())
            }
            ServerError::ExitedBeforeListening { status, stderr } => {
                let status = status.map_or("unknown".to_owned(), |status| status.to_string());
                write!(
                    f,
                    "the server closed stdout before printing `listening on http://ADDR` (or \
                     https) (exit status: {status}); its stderr:\n{stderr}"
                )
            }
            ServerError::SilentAtStartup { waited, stderr } => write!(
                f,
                "the server printed no `listening on http://ADDR` (or https) line within \
                 {waited:?}; its stderr:\n{stderr}"
            ),
            ServerError::BadListeningLine { line } => write!(
                f,
                "the first line on stdout must be `listening on http://ADDR` (or https), got \
                 {line:?}"
            ),
            ServerError::WrongScheme { line, expected } => write!(
                f,
                "this stage must listen on `{expected}://` (see its capabilities), but its first \
                 line is {line:?}"
            ),
            ServerError::Certificate {
                path,
                error,
                stderr,
            } => write!(
                f,
                "the server listens, but its certificate {} cannot be trusted: {error}; its \
                 stderr:\n{stderr}",
                path.display()
            ),
            ServerError::StillRunning { waited } => {
                write!(f, "the server was still running {waited:?} later")
            }
            ServerError::Io(error) => write!(f, "I/O error talking to the server process: {error}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// A running stage binary.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    scheme: Scheme,
    package: &'static str,
    stderr: Arc<Mutex<Tail>>,
    status: Option<ExitStatus>,
    /// For a TLS stage: the certificate its connections trust, and the client settings.
    ca_file: Option<PathBuf>,
    tls: Option<TlsClient>,
    /// The directory of the self-signed certificate, removed after the process is stopped
    /// (fields are dropped after [`Drop::drop`] has run).
    _certificate_dir: Option<TempDir>,
}

impl Server {
    /// Builds (once per process) and starts `stage` with `--addr 127.0.0.1:0` followed by
    /// `args`, and waits for its listening line.
    ///
    /// A TLS stage also gets `--self-signed-cert DIR/cert.pem` (a directory of its own, removed
    /// with the server), and its connections trust that file. When `args` name the certificate
    /// themselves, nothing is added and that file is trusted: `--self-signed-cert FILE`, or the
    /// chain of `--cert FILE` (enough for a self-signed certificate for `localhost`; a test whose
    /// certificate needs another trust anchor or name connects with
    /// [`Conn::connect_tls`](crate::Conn::connect_tls) and a [`TlsClient`] of its own).
    ///
    /// # Panics
    ///
    /// With a readable message when the binary cannot be built, started, or does not print its
    /// listening line: this is the entry point of the tests, where a panic is the failure report.
    pub fn start(stage: &Stage, args: &[&str]) -> Server {
        match Server::try_start(stage, args) {
            Ok(server) => server,
            Err(error) => panic!("{}: {error}", stage.package),
        }
    }

    /// [`Server::start`] without the panic.
    pub fn try_start(stage: &Stage, args: &[&str]) -> Result<Server, ServerError> {
        let binary = build::stage_binary(stage.package).map_err(ServerError::Build)?;
        Server::try_start_binary(stage, &binary, args)
    }

    /// [`Server::start`] of another program that runs `stage` (`examples/notes.rs --stage N`,
    /// say): the same address, certificate and start-up handling as the stage's own binary.
    pub fn start_binary(stage: &Stage, binary: &Path, args: &[&str]) -> Server {
        match Server::try_start_binary(stage, binary, args) {
            Ok(server) => server,
            Err(error) => panic!("{} ({}): {error}", stage.package, binary.display()),
        }
    }

    fn try_start_binary(
        stage: &Stage,
        binary: &Path,
        args: &[&str],
    ) -> Result<Server, ServerError> {
        // 127.0.0.1:0 unless the test names its own address (an IPv6 case: `[::1]:0`).
        let mut all_args: Vec<String> = Vec::new();
        if flag_value(args, "--addr").is_none() {
            all_args.extend(["--addr", "127.0.0.1:0"].map(String::from));
        }
        all_args.extend(args.iter().map(|arg| (*arg).to_owned()));
        if !stage.capabilities.tls {
            let args: Vec<&str> = all_args.iter().map(String::as_str).collect();
            return Server::spawn(stage.package, binary, &args, Scheme::Http);
        }
        let given = flag_value(args, "--self-signed-cert").or_else(|| flag_value(args, "--cert"));
        let (ca_file, certificate_dir) = match given {
            Some(path) => (PathBuf::from(path), None),
            None => {
                let dir = TempDir::new("certificate");
                let path = dir.join("cert.pem");
                all_args.push("--self-signed-cert".to_owned());
                all_args.push(path.to_string_lossy().into_owned());
                (path, Some(dir))
            }
        };
        let args: Vec<&str> = all_args.iter().map(String::as_str).collect();
        let mut server = Server::spawn(stage.package, binary, &args, Scheme::Https)?;
        server._certificate_dir = certificate_dir;
        // The server writes its certificate before it listens, so the file is complete now.
        match TlsClient::trusting(&ca_file) {
            Ok(tls) => server.tls = Some(tls),
            Err(error) => {
                return Err(ServerError::Certificate {
                    path: ca_file,
                    error,
                    stderr: server.stderr(),
                })
            }
        }
        server.ca_file = Some(ca_file);
        Ok(server)
    }

    fn spawn(
        package: &'static str,
        binary: &Path,
        args: &[&str],
        scheme: Scheme,
    ) -> Result<Server, ServerError> {
        let mut command = Command::new(binary);
        command
            .args(args)
            // Plain log lines: they end up in failure messages, where colour codes are noise.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|error| ServerError::Spawn {
            binary: binary.to_path_buf(),
            error,
        })?;
        let stderr = Arc::new(Mutex::new(Tail::default()));
        if let Some(pipe) = child.stderr.take() {
            drain_into(pipe, Arc::clone(&stderr));
        }
        // Cannot fail: stdout is `Stdio::piped()` above, and nothing has taken the pipe yet.
        let stdout = child.stdout.take().expect("stdout is piped");
        let first_line = first_line_then_drain(stdout);
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            scheme,
            package,
            stderr,
            status: None,
            ca_file: None,
            tls: None,
            _certificate_dir: None,
        };
        let line = match first_line.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(ServerError::SilentAtStartup {
                    waited: STARTUP_TIMEOUT,
                    stderr: server.stderr(),
                })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout is closed; the process has most likely exited, so give it a moment to be
                // reaped and report its status next to its stderr.
                let status = server.wait_exit(Duration::from_secs(5)).ok();
                return Err(ServerError::ExitedBeforeListening {
                    status,
                    stderr: server.stderr(),
                });
            }
        };
        let (announced, addr) = parse_listening_url(&line)?;
        if announced != scheme {
            return Err(ServerError::WrongScheme {
                line: line.trim_end().to_owned(),
                expected: scheme,
            });
        }
        server.addr = addr;
        Ok(server)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (`https://ADDR` for a TLS stage) followed by `path`, for clients that take
    /// URLs. The address is an IP address, which the self-signed certificate names too.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// Whether the server speaks TLS, and so its URLs are https.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// A new connection to the server: plain TCP, or for a TLS stage TLS (handshake done) that
    /// trusts [`Server::ca_file`] and asks for `localhost`.
    pub fn connect(&self) -> io::Result<Conn> {
        self.connector().connect()
    }

    /// What [`Server::connect`] uses, for threads that connect on their own (they cannot
    /// borrow the server).
    pub fn connector(&self) -> Connector {
        match &self.tls {
            Some(tls) => Connector::tls(self.addr, tls.clone()),
            None => Connector::tcp(self.addr),
        }
    }

    /// The certificate a TLS stage's connections trust (its self-signed one), as a PEM file for
    /// clients like `curl --cacert FILE`; `None` for a plain stage.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The TLS client settings [`Server::connect`] uses; `None` for a plain stage.
    pub fn tls_client(&self) -> Option<&TlsClient> {
        self.tls.as_ref()
    }

    /// The process ID of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The package this server was built from.
    pub fn package(&self) -> &'static str {
        self.package
    }

    /// Everything the server wrote to stderr so far (the last [`STDERR_KEPT`] bytes of it).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .to_string()
    }

    /// Sends `signal` to the server's PID (and nothing else). Does nothing once the process has
    /// been reaped, so a PID the kernel may have reused is never signalled.
    pub fn signal(&mut self, signal: Signal) -> io::Result<()> {
        if self.status.is_some() || self.child.try_wait()?.is_some() {
            return Ok(());
        }
        // Our own unreaped child, checked just above: the PID cannot name another process.
        signal_process(self.child.id(), signal)
    }

    /// Waits up to `timeout` for the process to exit and returns its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, ServerError> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(ServerError::Io)? {
                self.status = Some(status);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(ServerError::StillRunning { waited: timeout });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit status (within `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, ServerError> {
        self.signal(Signal::Term).map_err(ServerError::Io)?;
        self.wait_exit(timeout)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.terminate(STOP_GRACE).is_err() {
            // Ignoring errors: the process may have exited between the two calls, and Drop has
            // no one to report to; wait() reaps it either way.
            let _ = self.signal(Signal::Kill);
            let _ = self.child.wait();
        }
        if thread::panicking() {
            // Shown by the test harness next to the failure, together with the test's own output.
            eprintln!(
                "--- stderr of {} (pid {}) ---\n{}--- end of stderr ---",
                self.package,
                self.child.id(),
                self.stderr()
            );
        }
    }
}

/// Parses `listening on http://127.0.0.1:PORT` (or https) into the address.
pub fn parse_listening_line(line: &str) -> Result<SocketAddr, ServerError> {
    parse_listening_url(line).map(|(_, addr)| addr)
}

/// Parses `listening on SCHEME://ADDR` into the scheme and the address.
pub fn parse_listening_url(line: &str) -> Result<(Scheme, SocketAddr), ServerError> {
    let line = line.trim_end();
    let url = line.strip_prefix(LISTENING_PREFIX);
    [Scheme::Http, Scheme::Https]
        .into_iter()
        .find_map(|scheme| {
            let addr = url?.strip_prefix(scheme.as_str())?.strip_prefix("://")?;
            let addr = addr.trim_end_matches('/').parse().ok()?;
            Some((scheme, addr))
        })
        .ok_or_else(|| ServerError::BadListeningLine {
            line: line.to_owned(),
        })
}

/// The value of `flag` in `args`, given as `FLAG VALUE` or `FLAG=VALUE`.
fn flag_value<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(at, arg)| {
        if *arg == flag {
            args.get(at + 1).copied()
        } else {
            arg.strip_prefix(flag)?.strip_prefix('=')
        }
    })
}

/// Runs `binary` with `args` to completion (for command lines that must be refused), killing it
/// if it runs longer than `timeout`. Returns `None` for the status when it had to be killed.
pub fn run_to_exit(
    binary: &Path,
    args: &[&str],
    timeout: Duration,
) -> io::Result<(Option<ExitStatus>, String, String)> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut command);
    let mut child = command.spawn()?;
    let stdout = Arc::new(Mutex::new(Tail::default()));
    let stderr = Arc::new(Mutex::new(Tail::default()));
    let readers = [
        child
            .stdout
            .take()
            .map(|pipe| drain_into(pipe, Arc::clone(&stdout))),
        child
            .stderr
            .take()
            .map(|pipe| drain_into(pipe, Arc::clone(&stderr))),
    ];
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    for reader in readers.into_iter().flatten() {
        // A reader thread only ends at EOF, which comes once the process is gone; a panic in it
        // would be a bug in `drain_into`, and losing the rest of its output is acceptable then.
        let _ = reader.join();
    }
    let text = |tail: &Arc<Mutex<Tail>>| {
        tail.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .to_string()
    };
    Ok((status, text(&stdout), text(&stderr)))
}

/// The last [`STDERR_KEPT`] bytes of a stream.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    dropped: usize,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > STDERR_KEPT {
            let excess = self.bytes.len() - STDERR_KEPT;
            self.bytes.drain(..excess);
            self.dropped += excess;
        }
    }
}

impl fmt::Display for Tail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dropped > 0 {
            writeln!(f, "[... {} earlier bytes not kept ...]", self.dropped)?;
        }
        f.write_str(&String::from_utf8_lossy(&self.bytes))
    }
}

fn drain_into(
    mut pipe: impl Read + Send + 'static,
    tail: Arc<Mutex<Tail>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => tail
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(&chunk[..n]),
            }
        }
    })
}

/// Sends the first line of `pipe` on the returned channel, then keeps reading (and discarding)
/// the rest, so a server that prints more on stdout never blocks on a full pipe.
pub fn first_line_then_drain(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 => {
                // The receiver may have given up already (startup timeout); nothing to do then.
                let _ = sender.send(line);
            }
            _ => return,
        }
        drop(sender);
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    receiver
}

/// Asks the kernel to SIGKILL the child if the thread that started it dies, so a test process
/// killed from outside (a CI timeout) leaves no server running. Drop covers every other ending.
///
/// Linux ties this to the *thread* that forked, so a [`Server`] must be started on the thread
/// that keeps it; every test does.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs between fork and exec and calls only prctl(2), which is
        // async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        let addr = parse_listening_line("listening on http://127.0.0.1:41234\n");
        assert_eq!(addr.ok(), Some(SocketAddr::from(([127, 0, 0, 1], 41234))));
        assert!(parse_listening_line("listening on https://[::1]:443").is_ok());
    }

    #[test]
    fn tells_http_from_https() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8443));
        assert_eq!(
            parse_listening_url("listening on https://127.0.0.1:8443/\n").ok(),
            Some((Scheme::Https, addr))
        );
        assert_eq!(
            parse_listening_url("listening on http://127.0.0.1:8443").ok(),
            Some((Scheme::Http, addr))
        );
        assert!(parse_listening_url("listening on ftp://127.0.0.1:8443").is_err());
        assert!(parse_listening_url("listening on https:/127.0.0.1:8443").is_err());
    }

    #[test]
    fn finds_a_flag_in_either_spelling() {
        let args = ["--threads", "1", "--cert", "a.pem", "--key=b.pem"];
        assert_eq!(flag_value(&args, "--cert"), Some("a.pem"));
        assert_eq!(flag_value(&args, "--key"), Some("b.pem"));
        assert_eq!(flag_value(&args, "--sni"), None);
        assert_eq!(flag_value(&["--cert"], "--cert"), None);
        // A flag that merely starts like another is not it.
        assert_eq!(flag_value(&["--certificate=x"], "--cert"), None);
    }

    #[test]
    fn refuses_other_first_lines() {
        for line in [
            "",
            "Listening on 127.0.0.1:80",
            "listening on http://localhost:80",
            "starting up",
        ] {
            assert!(
                matches!(
                    parse_listening_line(line),
                    Err(ServerError::BadListeningLine { .. })
                ),
                "{line:?}"
            );
        }
    }

    #[test]
    fn tail_keeps_only_the_last_bytes() {
        let mut tail = Tail::default();
        tail.push(&vec![b'a'; STDERR_KEPT]);
        tail.push(b"end");
        let text = tail.to_string();
        assert!(text.starts_with("[... 3 earlier bytes not kept ...]\n"));
        assert!(text.ends_with("aend"));
    }
}
