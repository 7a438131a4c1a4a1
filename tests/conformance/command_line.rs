//! The command line every stage shares (design.md, "One command line for every stage"). A bad
//! command line must end the process with a non-zero status and one clear line on stderr that
//! names the problem: no backtrace, no "panicked at", no page of usage.

use std::net::TcpListener;
use std::time::Duration;

use stagecraft::server::run_to_exit;
use stagecraft::{build, Stage};

use crate::support::*;

/// A refused command line should be refused at once; this only bounds a server that starts
/// serving instead.
const REFUSE_WITHIN: Duration = Duration::from_secs(10);

pub fn help_lists_the_shared_flags(stage: &Stage) {
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let (status, stdout, stderr) =
        run_to_exit(&binary, &["--help"], REFUSE_WITHIN).or_fail("running --help");
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "--help exits 0; stderr: {stderr}"
    );
    for flag in [
        "--addr",
        "--root",
        "--header-timeout",
        "--idle-timeout",
        "--max-body",
        "--verbose",
    ] {
        assert!(
            stdout.contains(flag),
            "--help does not mention {flag}:\n{stdout}"
        );
    }
}

pub fn nonexistent_root_is_refused(stage: &Stage) {
    let root = "/nonexistent/stagecraft-root";
    expect_refused(stage, &["--addr", "127.0.0.1:0", "--root", root], &[root]);
}

pub fn unparsable_addr_is_refused(stage: &Stage) {
    expect_refused(stage, &["--addr", "not-an-addr"], &["not-an-addr"]);
}

/// The port is held by a listener of this test, so the server's bind must fail.
pub fn addr_in_use_is_refused(stage: &Stage) {
    let holder = TcpListener::bind("127.0.0.1:0").or_fail("binding a port to hold");
    let addr = holder
        .local_addr()
        .or_fail("reading the held address")
        .to_string();
    let port = addr.rsplit(':').next().unwrap_or("").to_owned();
    expect_refused(stage, &["--addr", &addr], &[&port]);
    drop(holder);
}

/// A body limit of zero would refuse every body: a mistake, not a configuration.
pub fn zero_max_body_is_refused(stage: &Stage) {
    expect_refused(
        stage,
        &["--addr", "127.0.0.1:0", "--max-body", "0"],
        &["max-body", "0"],
    );
}

pub fn unparsable_duration_is_refused(stage: &Stage) {
    expect_refused(
        stage,
        &["--addr", "127.0.0.1:0", "--idle-timeout", "5 parsecs"],
        &["5 parsecs"],
    );
}

/// Runs the binary with `args` and checks: non-zero exit, no panic, and exactly one line on
/// stderr that mentions each of `mentions` (the input that was wrong). clap's trailing
/// "For more information, try '--help'." hint is allowed.
fn expect_refused(stage: &Stage, args: &[&str], mentions: &[&str]) {
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let (status, stdout, stderr) =
        run_to_exit(&binary, args, REFUSE_WITHIN).or_fail("running the binary");
    let Some(status) = status else {
        panic!(
            "`{} {}` was still running after {REFUSE_WITHIN:?}; stdout: {stdout}",
            stage.package,
            args.join(" ")
        );
    };
    assert!(
        !status.success(),
        "`{} {}` must fail, but exited with {status}",
        stage.package,
        args.join(" ")
    );
    assert!(
        !stderr.contains("panicked at") && !stderr.contains("RUST_BACKTRACE"),
        "a bad command line must not panic:\n{stderr}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "`{} {}` must print exactly one line on stderr, got:\n{stderr}",
        stage.package,
        args.join(" ")
    );
    for mention in mentions {
        assert!(
            lines[0].contains(mention),
            "the error line should name {mention:?}: {}",
            lines[0]
        );
    }
}
