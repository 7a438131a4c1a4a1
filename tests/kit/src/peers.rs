//! Real clients the suite drives the servers with (curl today; nghttp, openssl and others with
//! later stages), found on `PATH`.
//!
//! A plain `cargo test` on a machine without a peer still passes, but says on the terminal which
//! checks it left out and why. Under `CI=true` a missing peer fails the test instead: CI installs
//! every peer (`.ci/run`), so a missing one there is a broken set-up, not a reason to skip.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A real client program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The program name looked up on `PATH`.
    pub program: &'static str,
    /// How to install it, for the skip message.
    pub install: &'static str,
}

/// curl, the HTTP client everyone has.
pub const CURL: Peer = Peer {
    program: "curl",
    install: "apt-get install curl",
};

/// systemd's `systemd-socket-activate`: binds a socket, and at the first connection starts a
/// program with it passed the way systemd passes it (`LISTEN_FDS`), for socket activation.
pub const SYSTEMD_SOCKET_ACTIVATE: Peer = Peer {
    program: "systemd-socket-activate",
    install: "apt-get install systemd",
};

/// systemd's `systemd-analyze`, whose `verify` checks unit files without a running systemd.
pub const SYSTEMD_ANALYZE: Peer = Peer {
    program: "systemd-analyze",
    install: "apt-get install systemd",
};

/// Apache's htpasswd, which makes the bcrypt password files of `--basic-auth`
/// (`htpasswd -B`).
pub const HTPASSWD: Peer = Peer {
    program: "htpasswd",
    install: "apt-get install apache2-utils",
};

/// Debian's Chromium, run headless (tests/tls renders the site over https, tests/h2 loads it
/// over HTTP/2).
pub const CHROMIUM: Peer = Peer {
    program: "chromium",
    install: "apt-get install chromium",
};

/// The flags headless Chromium needs on these machines, before a test's own: no sandbox (the
/// tests run as root), no GPU, no QUIC, and none of the background connections that a closed
/// network refuses. `--ignore-certificate-errors`: the tests' certificates are made for the
/// run. A test adds its own `--user-data-dir` (a fresh profile), then what it asks for.
pub const CHROMIUM_HEADLESS_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--ignore-certificate-errors",
];

/// The path of `peer` if it is installed; otherwise reports that `check` is skipped (or panics
/// under `CI=true`) and returns `None`.
///
/// The skip line is written straight to the process's stderr, not through `eprintln!`, which the
/// test harness would capture and hide for a test that passes.
pub fn require(peer: Peer, check: &str) -> Option<PathBuf> {
    if let Some(path) = find_on_path(peer.program) {
        return Some(path);
    }
    let reason = format!(
        "`{}` is not on PATH (install it with `{}`)",
        peer.program, peer.install
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{check}: {reason}; CI=true, so a missing peer is a failure, not a skip");
    }
    // Ignoring errors: if stderr itself is gone there is nowhere left to report to.
    let _ = writeln!(std::io::stderr(), "SKIPPED {check}: {reason}");
    None
}

/// Python 3, for the scripts that drive a server with a Python package.
pub const PYTHON: Peer = Peer {
    program: "python3",
    install: "apt-get install python3",
};

/// python3 with the package `module` importable, or `None` after saying that `check` is
/// skipped (a failure under `CI=true`, where `.ci/run` installs it with `pip install
/// {package}`).
pub fn require_python_module(module: &str, package: &str, check: &str) -> Option<PathBuf> {
    let python = require(PYTHON, check)?;
    let importable = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if importable {
        return Some(python);
    }
    let reason = format!(
        "the Python package `{package}` is missing (install it with `python3 -m pip install {package}`)"
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{check}: {reason}; CI=true, so a missing peer is a failure, not a skip");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {check}: {reason}");
    None
}

/// What `curl --version` says of the installed curl, for pages that name the client they
/// captured: `curl 8.x.y`, and the first word of its version line that `library` picks (its TLS
/// library, its HTTP/2 library), or `fallback` when none does.
pub fn curl_version(library: impl Fn(&str) -> bool, fallback: &str) -> Result<String, String> {
    let version = std::process::Command::new(CURL.program)
        .arg("--version")
        .output()
        .map_err(|error| format!("cannot run curl: {error}"))?;
    let stdout = String::from_utf8_lossy(&version.stdout);
    Ok(describe_curl(
        stdout.lines().next().unwrap_or_default(),
        library,
        fallback,
    ))
}

/// `curl 8.x.y (LIBRARY)` from the first line of `curl --version`.
fn describe_curl(first: &str, library: impl Fn(&str) -> bool, fallback: &str) -> String {
    let mut words = first.split_whitespace();
    let curl = [words.next(), words.next()]
        .map(Option::unwrap_or_default)
        .join(" ");
    let library = first
        .split_whitespace()
        .find(|word| library(word))
        .unwrap_or(fallback);
    format!("{curl} ({library})")
}

/// The first executable file named `program` in the directories of `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_is_described_by_its_version_and_the_library_asked_for() {
        let first =
            "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.17 nghttp2/1.52.0";
        let http2 = |word: &str| word.starts_with("nghttp2/");
        assert_eq!(
            describe_curl(first, http2, "nghttp2"),
            "curl 7.88.1 (nghttp2/1.52.0)"
        );
        let tls = |word: &str| word.starts_with("OpenSSL/");
        assert_eq!(
            describe_curl(first, tls, "?"),
            "curl 7.88.1 (OpenSSL/3.0.17)"
        );
        assert_eq!(describe_curl("curl", http2, "nghttp2"), "curl  (nghttp2)");
    }

    #[test]
    fn finds_sh_and_not_a_made_up_program() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("stagecraft-no-such-program").is_none());
    }
}
