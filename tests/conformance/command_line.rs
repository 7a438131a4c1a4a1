//! The command line every stage shares (design.md, "One command line for every stage"). A bad
//! command line must end the process with a non-zero status and one clear line on stderr that
//! names the problem: no backtrace, no "panicked at", no page of usage, not even clap's
//! "For more information" hint on a line of its own ([`expect_refused`], shared with the
//! stage-only flags of stages 02 and 03).

use std::net::TcpListener;
use std::time::Duration;

use stagekit::server::run_to_exit;
use stagekit::{build, Stage};

use crate::support::*;

/// `--help` is answered at once; this only bounds a binary that starts serving instead.
const HELP_WITHIN: Duration = Duration::from_secs(10);

pub fn help_lists_the_shared_flags(stage: &Stage) {
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let (status, stdout, stderr) =
        run_to_exit(&binary, &["--help"], HELP_WITHIN).or_fail("running --help");
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
        "--drain-delay",
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
    expect_refused(
        stage,
        &["--addr", "127.0.0.1:0", "--drain-delay", "soon"],
        &["--drain-delay", "soon"],
    );
    expect_refused(
        stage,
        &["--addr", "127.0.0.1:0", "--rate-limit", "0"],
        &["--rate-limit", "0"],
    );
    expect_refused(
        stage,
        &[
            "--addr",
            "127.0.0.1:0",
            "--max-connections-per-client",
            "none",
        ],
        &["--max-connections-per-client", "none"],
    );
}
