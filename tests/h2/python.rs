//! Scripts of Python's `h2` package (`tests/h2/scripts/`), for what stock clients never do: a
//! request with trailers, a 16-byte flow-control window, GOAWAY while a handler runs, two
//! streams answered out of order, and the attacks of the last years (rapid reset, CONTINUATION
//! flood, PING flood, small DATA frames) and a malformed request, written as raw frames where
//! `h2` refuses to build them. Each script is one check: it prints `PASS: ...` or `FAIL: ...`
//! and exits 0 or 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// Bounds one script: its own waits are 10 to 20 s each.
const SCRIPT_WITHIN: Duration = Duration::from_secs(90);

/// How much the server's resident memory may grow during a flood: a few connections' worth of
/// buffers, far below what an unbounded queue of 10 s of flood would take.
const FLOOD_GROWTH: u64 = 32 * 1024 * 1024;

/// The scripts' directory.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/h2/scripts")
}

/// python3 with the `h2` package, or `None` after saying the check is skipped (a failure
/// under `CI=true`, where `.ci/run` installs it).
fn python_with_h2(check: &str) -> Option<PathBuf> {
    stagekit::peers::require_python_module("h2", "h2", &format!("h2::{check}"))
}

/// Runs `script` against `server` (the h2c port, or the TLS port with `tls`), with `extra`
/// arguments; fails the test with everything it printed unless it passed.
fn script(python: &Path, server: &H2Server, name: &str, tls: bool, extra: &[&str]) -> Ran {
    let path = scripts().join(name);
    let path_arg = path.to_string_lossy().into_owned();
    let addr = if tls {
        format!("localhost:{}", server.tls.port())
    } else {
        server.h2c.to_string()
    };
    let cacert = server.cacert_arg();
    let site = site_dir().to_string_lossy().into_owned();
    // -B: no __pycache__ left in the source tree.
    let mut args = vec!["-B", path_arg.as_str(), "--addr", &addr, "--site", &site];
    if tls {
        args.extend(["--cafile", &cacert]);
    }
    args.extend_from_slice(extra);
    let ran = run(python, &args, b"", SCRIPT_WITHIN);
    assert!(
        ran.succeeded() && ran.stdout.contains("PASS"),
        "{}\n--- server stderr ---\n{}",
        ran.report(),
        server.stderr()
    );
    eprintln!("{name}: {}", ran.stdout.trim_end());
    ran
}

#[test]
fn post_with_trailers_is_echoed_over_h2c_and_tls() {
    let Some(python) = python_with_h2("python::post_with_trailers") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "echo_trailers.py", false, &[]);
    script(&python, &server, "echo_trailers.py", true, &[]);
}

#[test]
fn a_16_byte_window_holds_the_server_back_until_window_update() {
    let Some(python) = python_with_h2("python::small_window") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "small_window.py", false, &[]);
}

#[test]
fn a_slow_stream_does_not_hold_up_a_fast_one() {
    let Some(python) = python_with_h2("python::concurrent_streams") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "concurrent.py", false, &[]);
    script(&python, &server, "concurrent.py", true, &[]);
}

#[test]
fn sigterm_finishes_the_slow_stream_then_goaway() {
    let Some(python) = python_with_h2("python::goaway_on_shutdown") else {
        return;
    };
    let mut server = H2Server::start(&[]);
    let pid = server.pid().to_string();
    script(
        &python,
        &server,
        "goaway_shutdown.py",
        false,
        &["--pid", &pid],
    );
    let status = server.exited_within(Duration::from_secs(10));
    assert!(
        status.is_some_and(|status| status.success()),
        "the server should exit 0 after the shutdown, got {status:?}"
    );
}

#[test]
fn rapid_reset_ends_with_enhance_your_calm_while_others_are_served() {
    let Some(python) = python_with_h2("python::rapid_reset") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "rapid_reset.py", false, &[]);
}

#[test]
fn continuation_flood_is_cut_with_goaway_and_memory_stays_bounded() {
    let Some(python) = python_with_h2("python::continuation_flood") else {
        return;
    };
    let server = H2Server::start(&[]);
    let before = server.rss();
    script(&python, &server, "continuation_flood.py", false, &[]);
    let after = server.rss();
    assert!(
        after < before + FLOOD_GROWTH,
        "the server grew from {before} to {after} bytes during the flood"
    );
}

#[test]
fn ping_flood_without_reading_is_cut() {
    let Some(python) = python_with_h2("python::ping_flood") else {
        return;
    };
    let server = H2Server::start(&[]);
    let before = server.rss();
    script(&python, &server, "ping_flood.py", false, &[]);
    let after = server.rss();
    assert!(
        after < before + FLOOD_GROWTH,
        "the server grew from {before} to {after} bytes during the flood"
    );
}

#[test]
fn a_small_data_flood_ends_with_enhance_your_calm_while_others_are_served() {
    let Some(python) = python_with_h2("python::small_data_flood") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "small_data_flood.py", false, &[]);
    script(&python, &server, "small_data_flood.py", true, &[]);
}

#[test]
fn an_uppercase_field_name_resets_the_stream_and_the_connection_goes_on() {
    let Some(python) = python_with_h2("python::malformed_request") else {
        return;
    };
    let server = H2Server::start(&[]);
    script(&python, &server, "malformed.py", false, &[]);
}
