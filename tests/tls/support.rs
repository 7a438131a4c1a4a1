//! What the TLS tests share: the stage under test and how to start it, the certificates a test
//! makes, the real peers found on `PATH`, and running a peer with its input and a bound on its
//! time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcgen::{
    CertificateParams, CertifiedIssuer, CrlDistributionPoint, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose,
};
use stagekit::peers::{self, Peer};
use stagekit::scratch::TempDir;
use stagekit::server::die_with_parent;
use stagekit::{Capabilities, Server, Signal, Stage};

/// The stage these tests drive: stage 05's model (every capability) with TLS in front.
pub const STAGE: Stage = Stage::new(
    "stage06-tls",
    Capabilities {
        concurrent: true,
        many_connections: true,
        max_connections: true,
        offloads_blocking: true,
        bounded_output: true,
        tls: true,
    },
);

/// Bounds a peer run that has no reason to be slow (one handshake, one request).
pub const PEER_WITHIN: Duration = Duration::from_secs(30);

/// openssl's command-line tool: `s_client`, the reference client of TLS debugging.
pub const OPENSSL: Peer = Peer {
    program: "openssl",
    install: "apt-get install openssl",
};

/// GnuTLS's client: a second TLS implementation, written apart from OpenSSL and rustls.
pub const GNUTLS_CLI: Peer = Peer {
    program: "gnutls-cli",
    install: "apt-get install gnutls-bin",
};

/// testssl.sh, Debian's package installs it as `testssl`.
pub const TESTSSL: Peer = Peer {
    program: "testssl",
    install: "apt-get install testssl.sh",
};

/// The path of `peer`, or `None` after saying that `tls::CHECK` is skipped (a failure under
/// `CI=true`): the kit's rule for every real peer.
pub fn require(peer: Peer, check: &str) -> Option<PathBuf> {
    peers::require(peer, &format!("tls::{check}"))
}

/// `Result::unwrap` for test plumbing (the kit's, shared by every test binary).
pub use stagekit::OrFail;

/// A file of the bundled site, as the server should send it.
pub fn site_file(name: &str) -> Vec<u8> {
    std::fs::read(stagekit::site_dir().join(name)).or_fail(&format!("reading the site's {name}"))
}

// --- Servers --------------------------------------------------------------------------------

/// A server with the self-signed certificate it makes at start, written into a directory of
/// the test's own so that clients can trust it. Dropping it stops the server (by PID, the
/// kit's `Server`), then removes the directory.
pub struct TlsServer {
    pub server: Server,
    /// The certificate to trust (`curl --cacert`).
    pub cacert: PathBuf,
    _dir: TempDir,
}

impl TlsServer {
    /// Starts the stage on `127.0.0.1:0` with `--self-signed-cert DIR/cert.pem` and `args`.
    pub fn start(args: &[&str]) -> TlsServer {
        let dir = TempDir::new("tls-self-signed");
        let cacert = dir.join("cert.pem");
        let cacert_arg = cacert.to_string_lossy().into_owned();
        let mut all = vec!["--self-signed-cert", &cacert_arg];
        all.extend_from_slice(args);
        let server = Server::start(&STAGE, &all);
        TlsServer {
            server,
            cacert,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `https://HOST:PORT/PATH` (`host` is `localhost` or `127.0.0.1`: the names the
    /// certificate holds).
    pub fn url(&self, host: &str, path: &str) -> String {
        https_url(&self.server, host, path)
    }

    pub fn cacert_arg(&self) -> String {
        self.cacert.to_string_lossy().into_owned()
    }
}

/// `https://HOST:PORT/PATH` for a server of the kit.
pub fn https_url(server: &Server, host: &str, path: &str) -> String {
    format!("https://{host}:{}{path}", server.addr().port())
}

/// Log lines of the server that hold every one of `needles`.
pub fn log_lines(server: &Server, needles: &[&str]) -> usize {
    server
        .stderr()
        .lines()
        .filter(|line| needles.iter().all(|needle| line.contains(needle)))
        .count()
}

/// Waits until the server has logged at least `count` lines that hold every one of `needles`;
/// `false` if it has not within `within`. Watching the log instead of sleeping: a reload is
/// done when the server says so.
pub fn wait_for_log(server: &Server, needles: &[&str], count: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if log_lines(server, needles) >= count {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A stage started by hand, for the one thing the kit's `Server` does not read: stdout past
/// its first line (`--redirect-http` prints `redirecting http://ADDR` second). Stopped like the
/// kit's: SIGTERM by PID on drop, SIGKILL if it is still there after a few seconds.
pub struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Spawned {
    /// Starts the stage with `--addr 127.0.0.1:0` and `args`.
    pub fn start(args: &[&str]) -> Spawned {
        let binary = stagekit::build::stage_binary(STAGE.package).or_fail("building the stage");
        let mut command = Command::new(&binary);
        command
            .arg("--addr")
            .arg("127.0.0.1:0")
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command.spawn().or_fail("starting the stage");
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // The test may be gone already; the rest of stdout is read and dropped.
                    let _ = sender.send(line);
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    let mut text = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    // A few lines per test; the cap only guards against a server gone wild.
                    if text.len() < 64 * 1024 {
                        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    }
                }
            });
        }
        Spawned {
            child,
            lines,
            stderr,
        }
    }

    /// The next line of stdout, or a panic (with the server's stderr) if none comes in time.
    pub fn line(&self) -> String {
        match self.lines.recv_timeout(stagekit::server::STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(error) => panic!(
                "no line on stdout ({error}); stderr:\n{}",
                self.stderr
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            ),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Our own unreaped child (just checked): the PID names no other process. Errors
            // are left to the SIGKILL below.
            let _ = stagekit::server::signal_process(self.child.id(), Signal::Term);
            let deadline = Instant::now() + stagekit::server::STOP_GRACE;
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        // Reaps it, whichever way it ended.
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- stderr of stage06-tls (pid {}) ---\n{}--- end of stderr ---",
                self.child.id(),
                self.stderr
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            );
        }
    }
}

// --- Certificates ---------------------------------------------------------------------------

/// A certificate and its private key, in PEM, and the certificate's DER to compare with what a
/// client was sent.
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

impl Pair {
    /// A self-signed ECDSA P-256 certificate for `names` (DNS names or IP addresses), with
    /// `common_name` as its subject's CN, so a peer's printout says which certificate it got.
    pub fn self_signed(common_name: &str, names: &[&str]) -> Pair {
        let key = KeyPair::generate().or_fail("making a P-256 key");
        let cert = leaf_params(common_name, names)
            .self_signed(&key)
            .or_fail("making a self-signed certificate");
        Pair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    /// Writes `STEM.crt` and `STEM.key` into `dir` (each written beside its place and renamed
    /// over it, as a deployment does), and returns their paths.
    pub fn write(&self, dir: &TempDir, stem: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (format!("{stem}.crt"), format!("{stem}.key"));
        dir.replace(&cert, self.cert_pem.as_bytes());
        dir.replace(&key, self.key_pem.as_bytes());
        (dir.join(cert), dir.join(key))
    }
}

/// A certificate authority of the test's own, for checks that need a chain a client can
/// verify the way it verifies a real one (testssl's chain of trust).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(common_name: &str) -> TestCa {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        set_validity(&mut params, Duration::from_secs(365 * 86_400));
        let key = KeyPair::generate().or_fail("making the CA's key");
        let issuer = CertifiedIssuer::self_signed(params, key).or_fail("making the CA");
        TestCa { issuer }
    }

    /// The CA's certificate, for a client to trust.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names`, signed by this CA, valid for 90 days from an hour
    /// ago, naming where its revocation list would be (testssl rates a certificate that names
    /// neither a CRL nor an OCSP responder HIGH; nothing fetches it without `--phone-out`).
    pub fn leaf(&self, common_name: &str, names: &[&str]) -> Pair {
        let key = KeyPair::generate().or_fail("making a P-256 key");
        let mut params = leaf_params(common_name, names);
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec!["http://127.0.0.1/stagecraft-test-ca.crl".to_owned()],
        }];
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&key, &self.issuer)
            .or_fail("signing a certificate with the test CA");
        Pair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }
}

/// What every server certificate here has: the names as subject alternative names (each an IP
/// address if it parses as one, else a DNS name), the CN, the server-authentication key usage,
/// 90 days of validity.
fn leaf_params(common_name: &str, names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = CertificateParams::new(names).or_fail("certificate names");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut params, Duration::from_secs(90 * 86_400));
    params
}

/// Valid from an hour ago (clocks differ a little) to `length` from now.
fn set_validity(params: &mut CertificateParams, length: Duration) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .or_fail("reading the clock");
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + since_epoch.saturating_sub(Duration::from_secs(3600));
    params.not_after = epoch + since_epoch + length;
}

// --- Running peers --------------------------------------------------------------------------

/// What a peer run gave.
pub struct Ran {
    /// `None` when the run took too long and was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl Ran {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| status.success())
    }

    /// The command, its status and all it printed: a failure message that reads as a bug
    /// report.
    pub fn report(&self) -> String {
        format!(
            "`{}` ended with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `program` with `args`, writes `stdin` to it and then closes its input, and collects
/// what it prints. A run longer than `within` is killed, with every process it started (the
/// run is a process group of its own: testssl starts an openssl per probe, which would keep the
/// pipes open after testssl itself is gone).
pub fn run(program: &Path, args: &[&str], stdin: &[u8], within: Duration) -> Ran {
    use std::os::unix::process::CommandExt;
    let command_line = format!("{} {}", program.display(), args.join(" "));
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    die_with_parent(&mut command);
    let mut child = command
        .spawn()
        .or_fail(&format!("starting `{command_line}`"));
    let input = stdin.to_vec();
    let mut pipe_in = child.stdin.take();
    let writer = thread::spawn(move || {
        if let Some(pipe) = pipe_in.as_mut() {
            // Ignoring errors: a peer may exit (or close its input) before reading all of it.
            let _ = pipe.write_all(&input);
        }
        drop(pipe_in);
    });
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // Ignoring errors: whatever arrived before one is what the peer printed.
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = collect(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = collect(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + within;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                kill_group(child.id());
                // Reaps the child; its status is that of a killed process, reported as None.
                let _ = child.wait();
                break None;
            }
        }
    };
    // Whatever the peer left running in its group must not hold the pipes open.
    kill_group(child.id());
    // A panic in these threads would be a bug in the closures above; the text is lost then.
    let _ = writer.join();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ran {
        status,
        stdout,
        stderr,
        command: command_line,
    }
}

/// SIGKILL to the process group `pgid` (a run of [`run`], which made it; its leader is our
/// child, reaped only after this call, so the ID cannot have been reused).
fn kill_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        // SAFETY: kill(2) has no memory-safety preconditions. Ignoring the result: ESRCH means
        // the group has no process left, which is what we want.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}
