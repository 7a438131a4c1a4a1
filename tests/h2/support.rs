//! What the HTTP/2 tests share: the stage under test started with both its ports, the peers
//! they need, and stage 06's way of running a peer with a bound on its time.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::peers::{self, Peer};
use stagekit::scratch::TempDir;
use stagekit::server::{die_with_parent, parse_listening_url, signal_process, Scheme};
use stagekit::Signal;

pub use crate::tls_support::{run, Ran};
pub use stagekit::OrFail;

/// The package (and binary) under test.
pub const PACKAGE: &str = "stage07-http2";

/// Bounds a peer run that has no reason to be slow.
pub const PEER_WITHIN: Duration = Duration::from_secs(60);

/// nghttp2's client: `nghttp`, the reference HTTP/2 client of the nghttp2 project.
pub const NGHTTP: Peer = Peer {
    program: "nghttp",
    install: "apt-get install nghttp2-client",
};

/// nghttp2's load generator.
pub const H2LOAD: Peer = Peer {
    program: "h2load",
    install: "apt-get install nghttp2-client",
};

/// The HTTP/2 conformance suite, a Rust port of h2spec.
pub const HTTPWG: Peer = Peer {
    program: "httpwg",
    install: "cargo install --locked httpwg-cli",
};

/// The path of `peer`, or `None` after saying that `h2::CHECK` is skipped (a failure under
/// `CI=true`): the kit's rule for every real peer.
pub fn require(peer: Peer, check: &str) -> Option<PathBuf> {
    peers::require(peer, &format!("h2::{check}"))
}

/// The bundled site's directory.
pub fn site_dir() -> PathBuf {
    stagekit::site_dir()
}

/// A file of the bundled site, as the server should send it.
pub fn site_file(name: &str) -> Vec<u8> {
    std::fs::read(site_dir().join(name)).or_fail(&format!("reading the site's {name}"))
}

/// The stage with its TLS port, its `--h2c` port and the self-signed certificate it wrote into
/// a directory of the test's own. Dropping it stops the server by its PID (SIGTERM, then
/// SIGKILL after a grace), then removes the directory.
pub struct H2Server {
    child: Child,
    /// The TLS port (ALPN `h2` or `http/1.1`).
    pub tls: SocketAddr,
    /// The plain port (HTTP/1.1 or h2c with prior knowledge).
    pub h2c: SocketAddr,
    /// The certificate to trust (`curl --cacert`).
    pub cacert: PathBuf,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl H2Server {
    /// Starts the stage with `--addr 127.0.0.1:0 --h2c 127.0.0.1:0`, a self-signed
    /// certificate, and `args`; reads both listening lines.
    pub fn start(args: &[&str]) -> H2Server {
        let dir = TempDir::new("h2-self-signed");
        let cacert = dir.join("cert.pem");
        let binary = stagekit::build::stage_binary(PACKAGE).or_fail("building the stage");
        let mut command = Command::new(&binary);
        command
            .args(["--addr", "127.0.0.1:0", "--h2c", "127.0.0.1:0"])
            .arg("--self-signed-cert")
            .arg(&cacert)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command.spawn().or_fail("starting the stage");
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    let mut text = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    // The floods make the server log a line per refusal: keep the start only.
                    if text.len() < 256 * 1024 {
                        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    }
                }
            });
        }
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
        }
        // Made before the lines are read, so that a failure below stops the process (drop).
        let mut server = H2Server {
            child,
            tls: SocketAddr::from(([127, 0, 0, 1], 0)),
            h2c: SocketAddr::from(([127, 0, 0, 1], 0)),
            cacert,
            stderr,
            _dir: dir,
        };
        let first = server.line(&lines);
        let second = server.line(&lines);
        let (scheme, tls) = parse_listening_url(&first).or_fail("the first stdout line");
        assert_eq!(scheme, Scheme::Https, "the first line: {first}");
        let url = second
            .strip_suffix(" (h2c and HTTP/1.1)")
            .unwrap_or_else(|| {
                panic!("the second line should say what the h2c port serves: {second}")
            });
        let (scheme, h2c) = parse_listening_url(url).or_fail("the second stdout line");
        assert_eq!(scheme, Scheme::Http, "the second line: {second}");
        server.tls = tls;
        server.h2c = h2c;
        server
    }

    /// The next line of stdout, or a panic (with the server's stderr) if none comes in time.
    fn line(&self, lines: &mpsc::Receiver<String>) -> String {
        match lines.recv_timeout(stagekit::server::STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(error) => panic!("no listening line on stdout ({error})"),
        }
    }

    /// `https://localhost:PORT/PATH` on the TLS port (the certificate names `localhost`).
    pub fn https(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.tls.port())
    }

    /// `http://127.0.0.1:PORT/PATH` on the h2c port.
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.h2c)
    }

    pub fn cacert_arg(&self) -> String {
        self.cacert.to_string_lossy().into_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far (its first 256 KiB).
    pub fn stderr(&self) -> String {
        server_stderr(&self.stderr)
    }

    /// Waits until the server has exited (after a signal the test sent), up to `within`.
    pub fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }

    /// Resident memory of the server, in bytes (`/proc/PID/status`).
    pub fn rss(&self) -> u64 {
        stagekit::procfs::rss_bytes(self.pid()).or_fail("reading the server's VmRSS")
    }
}

fn server_stderr(stderr: &Mutex<String>) -> String {
    stderr
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

impl Drop for H2Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Our own unreaped child (just checked): the PID names no other process.
            let _ = signal_process(self.child.id(), Signal::Term);
            let deadline = Instant::now() + stagekit::server::STOP_GRACE;
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- stderr of {PACKAGE} (pid {}) ---\n{}--- end of stderr ---",
                self.child.id(),
                self.stderr()
            );
        }
    }
}
