//! Bad certificate input on the command line: one clear line on stderr naming the problem,
//! exit status 1 (2 for a usage error, as for every flag), nothing on stdout, and nothing
//! listening.
//!
//! "Before anything listens" is checked by holding the port: each run gets `--addr` of a
//! listener the test keeps open, so a server that bound first would fail with "address in use"
//! instead of the certificate's problem.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use stagekit::build;
use stagekit::scratch::TempDir;
use stagekit::server::run_to_exit;

use crate::support::*;

/// Runs the stage with `args` (after `--addr` of a port the test holds) and checks the
/// refusal: exit status `code`, no stdout, one line on stderr holding every one of `says`.
fn refused(args: &[&str], code: i32, says: &[&str]) {
    let binary = build::stage_binary(STAGE.package).or_fail("building the stage");
    let held = TcpListener::bind("127.0.0.1:0").or_fail("holding a port");
    let addr = held.local_addr().or_fail("the held port").to_string();
    let mut all = vec!["--addr", &addr];
    all.extend_from_slice(args);
    let (status, stdout, stderr) =
        run_to_exit(&binary, &all, Duration::from_secs(30)).or_fail("running the stage");
    let shown = format!(
        "`stage06-tls {}`\nstdout: {stdout:?}\nstderr: {stderr:?}",
        all.join(" ")
    );
    assert_eq!(status.and_then(|s| s.code()), Some(code), "{shown}");
    assert!(stdout.is_empty(), "nothing belongs on stdout: {shown}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {shown}");
    assert!(
        lines[0].starts_with("stage06-tls: error: "),
        "the line should say whose error it is: {shown}"
    );
    for said in says {
        assert!(
            lines[0].contains(said),
            "the line should say {said:?}: {shown}"
        );
    }
    assert!(
        !lines[0].contains("in use"),
        "the server bound its port first: {shown}"
    );
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let dir = TempDir::new("tls-cli-mismatch");
    let (a_cert, _) = Pair::self_signed("A", &["localhost"]).write(&dir, "a");
    let (_, b_key) = Pair::self_signed("B", &["localhost"]).write(&dir, "b");
    refused(
        &["--cert", &text(&a_cert), "--key", &text(&b_key)],
        1,
        &["does not belong to the certificate", "b.key", "a.crt"],
    );
    // The same for a certificate given by --sni.
    let (c_cert, c_key) = Pair::self_signed("C", &["localhost"]).write(&dir, "c");
    let sni = format!("other.test={},{}", text(&a_cert), text(&c_key));
    refused(
        &[
            "--cert",
            &text(&c_cert),
            "--key",
            &text(&c_key),
            "--sni",
            &sni,
        ],
        1,
        &["does not belong to the certificate", "c.key", "a.crt"],
    );
}

#[test]
fn an_unreadable_certificate_or_key_file_is_refused() {
    let dir = TempDir::new("tls-cli-unreadable");
    let (cert, key) = Pair::self_signed("A", &["localhost"]).write(&dir, "a");
    let missing = text(&dir.join("missing.pem"));
    refused(
        &["--cert", &missing, "--key", &text(&key)],
        1,
        &["cannot read", "missing.pem"],
    );
    refused(
        &["--cert", &text(&cert), "--key", &missing],
        1,
        &["cannot read", "missing.pem"],
    );
    // A directory where a file should be.
    refused(
        &["--cert", &text(dir.path()), "--key", &text(&key)],
        1,
        &["cannot read"],
    );
}

#[test]
fn a_malformed_pem_file_is_refused() {
    let dir = TempDir::new("tls-cli-malformed");
    let (cert, key) = Pair::self_signed("A", &["localhost"]).write(&dir, "a");
    dir.replace(
        "garbage.crt",
        b"-----BEGIN CERTIFICATE-----\nnot base64, not DER\n-----END CERTIFICATE-----\n",
    );
    dir.replace("empty.pem", b"");
    dir.replace("words.key", b"this is not a private key\n");
    let garbage = text(&dir.join("garbage.crt"));
    let empty = text(&dir.join("empty.pem"));
    let words = text(&dir.join("words.key"));
    refused(
        &["--cert", &garbage, "--key", &text(&key)],
        1,
        &["garbage.crt"],
    );
    refused(&["--cert", &empty, "--key", &text(&key)], 1, &["empty.pem"]);
    refused(
        &["--cert", &text(&cert), "--key", &words],
        1,
        &["words.key"],
    );
    // A certificate where the key should be: no private key in it.
    refused(
        &["--cert", &text(&cert), "--key", &text(&cert)],
        1,
        &["a.crt"],
    );
}

#[test]
fn cert_without_key_and_other_usage_errors_exit_with_status_2() {
    let dir = TempDir::new("tls-cli-usage");
    let (cert, key) = Pair::self_signed("A", &["localhost"]).write(&dir, "a");
    refused(&["--cert", &text(&cert)], 2, &["required"]);
    refused(&["--key", &text(&key)], 2, &["required"]);
    refused(
        &[
            "--cert",
            &text(&cert),
            "--key",
            &text(&key),
            "--sni",
            "no-equals-sign",
        ],
        2,
        &["NAME=CERT,KEY"],
    );
}

/// The line for a missing flag names it. (It once did not: clap puts the names on the lines
/// after "the following required arguments were not provided:", and common/cli kept only the
/// first line.)
#[test]
fn a_missing_key_flag_is_named_in_the_usage_error() {
    let dir = TempDir::new("tls-cli-usage-name");
    let (cert, key) = Pair::self_signed("A", &["localhost"]).write(&dir, "a");
    refused(&["--cert", &text(&cert)], 2, &["--key"]);
    refused(&["--key", &text(&key)], 2, &["--cert"]);
}
