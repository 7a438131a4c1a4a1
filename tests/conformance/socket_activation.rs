//! Socket activation (`driver::activation`): every stage started by `systemd-socket-activate` on
//! a socket it made serves on that socket (not on its `--addr`), is the very process it
//! started, and stops on SIGTERM with status 0; a socket it cannot use is one clear line and exit
//! status 1; the unit and socket files in `deploy/systemd/` pass `systemd-analyze verify`.
//!
//! The port is found by binding port 0 and closing it again, since `systemd-socket-activate`
//! does not say which port 0 became; another process could take it in between, which would fail
//! the case loudly, not pass it wrongly. Every process is ended by its PID when the case ends.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::peers::{self, CURL, SYSTEMD_ANALYZE, SYSTEMD_SOCKET_ACTIVATE};
use stagekit::scratch::TempDir;
use stagekit::server::{die_with_parent, signal_process};
use stagekit::{build, Signal, Stage};

use crate::support::*;

/// How long a started process may take to answer, and to exit after SIGTERM.
const WITHIN: Duration = Duration::from_secs(10);

/// A process this case started, killed by its PID if the case ends while it still runs.
struct Started {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Started {
    fn spawn(mut command: Command, scratch: &TempDir, name: &str) -> Started {
        let stdout = scratch.join(format!("{name}.out"));
        let stderr = scratch.join(format!("{name}.err"));
        command
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("a scratch file"))
            .stderr(fs::File::create(&stderr).expect("a scratch file"));
        die_with_parent(&mut command);
        let child = command.spawn().or_fail("starting the process");
        Started {
            child,
            stdout,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn output(&self) -> String {
        let read = |path: &Path| fs::read_to_string(path).unwrap_or_default();
        format!(
            "stdout:\n{}\nstderr:\n{}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().or_fail("waiting for the process") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {within:?} later\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> SocketAddr {
    let probe = TcpListener::bind("127.0.0.1:0").or_fail("binding a probe");
    probe.local_addr().or_fail("the probe's address")
}

/// `curl` on `url`: the status and the body (`-k`: the TLS stages made their own certificate).
fn curl(curl: &Path, url: &str) -> (u16, String) {
    let output = Command::new(curl)
        .args(["-sk", "--max-time", "5", "-w", "\n%{http_code}", url])
        .output()
        .or_fail("running curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

// ANCHOR: activated
/// The stage, started by `systemd-socket-activate` at the first connection to a socket it
/// bound, serves there although its `--addr` names another port, answers from the PID that was
/// started, and stops gracefully.
pub fn serves_the_socket_systemd_passes(stage: &Stage) {
    let check = format!("{}: socket activation", stage.package);
    let (Some(activate), Some(curl_path)) = (
        peers::require(SYSTEMD_SOCKET_ACTIVATE, &check),
        peers::require(CURL, &check),
    ) else {
        return;
    };
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let scratch = TempDir::new("activation");
    let addr = free_port();
    let mut command = Command::new(activate);
    command
        .arg(format!("--listen={addr}"))
        .arg(&binary)
        // Not the port the socket has: a stage that bound its own would not be reached.
        .args(["--addr", "127.0.0.1:0"]);
    let mut started = Started::spawn(command, &scratch, "activated");
    let scheme = if stage.capabilities.tls {
        "https"
    } else {
        "http"
    };
    // The first connection makes systemd-socket-activate exec the stage, in the same process.
    let deadline = Instant::now() + WITHIN;
    let (status, body) = loop {
        let answer = curl(&curl_path, &format!("{scheme}://{addr}/api/info"));
        if answer.0 != 0 || Instant::now() >= deadline {
            break answer;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status, 200, "{check}: /api/info\n{}", started.output());
    let info: serde_json::Value = serde_json::from_str(&body).or_fail("parsing /api/info");
    // Stage 03 answers from a worker, a child of the process that was started.
    let pid = info["pid"].as_u64().unwrap_or(0) as u32;
    let answered_by_it =
        pid == started.pid() || stagekit::procfs::children_of(started.pid()).contains(&pid);
    assert!(
        answered_by_it,
        "{check}: answered by PID {pid}, not by the process started ({})",
        started.pid()
    );
    assert!(
        fs::read_to_string(&started.stdout)
            .unwrap_or_default()
            .starts_with(&format!("listening on {scheme}://{addr}")),
        "{check}: the first line names the passed socket\n{}",
        started.output()
    );
    signal_process(started.pid(), Signal::Term).or_fail("sending SIGTERM");
    let exit = started.wait_exit(WITHIN);
    assert_eq!(
        exit.code(),
        Some(0),
        "{check}: {exit}\n{}",
        started.output()
    );
}
// ANCHOR_END: activated

/// Two sockets passed (`LISTEN_FDS=2`) to a server that listens on one: exit status 1 with one
/// line that says so, at the first connection, instead of serving one and ignoring the other.
pub fn two_passed_sockets_are_refused(stage: &Stage) {
    let check = format!("{}: two sockets passed", stage.package);
    let Some(activate) = peers::require(SYSTEMD_SOCKET_ACTIVATE, &check) else {
        return;
    };
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let scratch = TempDir::new("activation-two");
    let (first, second) = (free_port(), free_port());
    let mut command = Command::new(activate);
    command
        .arg(format!("--listen={first}"))
        .arg(format!("--listen={second}"))
        .arg(&binary)
        .args(["--addr", "127.0.0.1:0"]);
    let mut started = Started::spawn(command, &scratch, "two");
    // Wakes systemd-socket-activate; the stage then refuses what it was given.
    let deadline = Instant::now() + WITHIN;
    while std::net::TcpStream::connect_timeout(&first, Duration::from_secs(1)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{check}: nothing listens on {first}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let exit = started.wait_exit(WITHIN);
    assert_eq!(
        exit.code(),
        Some(1),
        "{check}: {exit}\n{}",
        started.output()
    );
    let stderr = fs::read_to_string(&started.stderr).unwrap_or_default();
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("socket activation"))
        .collect();
    assert!(
        ours.len() == 1 && ours[0].contains("2 sockets were passed"),
        "{check}: one line that says two sockets were passed\n{}",
        started.output()
    );
}

/// A malformed `LISTEN_PID` is one line that names it, and exit status 1.
pub fn a_malformed_listen_pid_is_refused(stage: &Stage) {
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let scratch = TempDir::new("activation-bad");
    let mut command = Command::new(&binary);
    command
        .env("LISTEN_PID", "not-a-pid")
        .env("LISTEN_FDS", "1")
        .args(["--addr", "127.0.0.1:0"]);
    let mut started = Started::spawn(command, &scratch, "bad");
    let exit = started.wait_exit(WITHIN);
    assert_eq!(exit.code(), Some(1), "{exit}\n{}", started.output());
    let stderr = fs::read_to_string(&started.stderr).unwrap_or_default();
    assert!(
        stderr.contains("LISTEN_PID=\"not-a-pid\" is not a number"),
        "the error names the variable\n{}",
        started.output()
    );
}

/// Every stage, started by its socket.
mod stages {
    macro_rules! activation_cases {
        ($($stage:ident),*) => {$(
            mod $stage {
                #[test]
                fn serves_the_socket_systemd_passes() {
                    super::super::serves_the_socket_systemd_passes(&crate::$stage::STAGE);
                }

                #[test]
                fn two_passed_sockets_are_refused() {
                    super::super::two_passed_sockets_are_refused(&crate::$stage::STAGE);
                }

                #[test]
                fn a_malformed_listen_pid_is_refused() {
                    super::super::a_malformed_listen_pid_is_refused(&crate::$stage::STAGE);
                }
            }
        )*};
    }

    activation_cases!(
        stage01_blocking,
        stage02_threadpool,
        stage03_prefork,
        stage04_evented,
        stage05_async,
        stage06_tls,
        stage07_http2
    );
}

/// `deploy/systemd/stagecraft.socket` and `.service` pass `systemd-analyze verify`, with
/// `ExecStart` pointed at a stage binary that exists (the files name where an install puts it).
#[test]
fn the_unit_files_verify() {
    let check = "deploy/systemd: systemd-analyze verify";
    let Some(analyze) = peers::require(SYSTEMD_ANALYZE, check) else {
        return;
    };
    let binary = build::stage_binary("stage05-async").or_fail("building stage 05");
    let scratch = TempDir::new("units");
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let mut paths = Vec::new();
    for name in ["stagecraft.socket", "stagecraft.service"] {
        let text = fs::read_to_string(units.join(name)).or_fail("reading a unit file");
        let text = text.replace(
            "/usr/local/bin/stagecraft-server",
            &binary.to_string_lossy(),
        );
        let path = scratch.join(name);
        fs::write(&path, text).or_fail("writing a unit file");
        paths.push(path);
    }
    let output = Command::new(analyze)
        .arg("verify")
        .args(&paths)
        .output()
        .or_fail("running systemd-analyze");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{check}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
