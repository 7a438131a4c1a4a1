//! httpwg (`httpwg-cli`, a Rust port of h2spec): its cases for RFC 9113 and RFC 7541 against
//! the h2c port. Each case opens a connection, sends what the RFC section describes (often
//! something a peer MUST NOT send) and checks the server's answer. The test prints how many
//! pass, fails if more than [`MAY_FAIL`] fail, and checks the server still serves after all of them.

use std::time::Duration;

use crate::support::*;

/// Bounds the whole run: about a hundred cases, each with its own second-long timeouts.
const HTTPWG_WITHIN: Duration = Duration::from_secs(300);

/// Cases allowed to fail: none. One case, "sends headers frame with te trailers", sends
/// `POST /` and expects 200: the application answers `POST /` as the site's form (`form.html`) (an
/// empty body is an empty form), so it passes. Two cases that raced before ("sends priority
/// frame with invalid length": a stream error on a stream already answered went unanswered;
/// "sends goaway frame with unknown error code": the client's GOAWAY closed the connection
/// before its PING was answered) were machine bugs, fixed, with a unit test each in
/// `h2::machine`.
const MAY_FAIL: u32 = 0;

/// How long httpwg waits for each frame it expects: its default of 250 ms is short for a
/// loaded two-core machine running a debug build.
const FRAME_TIMEOUT_MS: &str = "2000";

/// The summary line: `... Passed N/M tests in ...` (after the colour codes are removed).
fn passed_of(report: &str) -> Option<(u32, u32)> {
    let plain = strip_ansi(report);
    let line = plain.lines().find(|line| line.contains("Passed "))?;
    let counts = line.split("Passed ").nth(1)?.split_whitespace().next()?;
    let (passed, total) = counts.split_once('/')?;
    Some((passed.parse().ok()?, total.parse().ok()?))
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn httpwg_cases_against_the_h2c_port() {
    let Some(httpwg) = require(HTTPWG, "httpwg::rfc9113_cases") else {
        return;
    };
    let server = H2Server::start(&[]);
    let addr = server.h2c.to_string();
    let ran = run(
        &httpwg,
        &["-a", &addr, "--frame-timeout", FRAME_TIMEOUT_MS],
        b"",
        HTTPWG_WITHIN,
    );
    let Some((passed, total)) = passed_of(&ran.stdout).or_else(|| passed_of(&ran.stderr)) else {
        panic!("no summary line from httpwg:\n{}", ran.report());
    };
    // Straight to stderr, so that the count shows for a passing test too.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("httpwg: {passed} of {total} cases passed against stage07-http2's h2c port\n")
            .as_bytes(),
    );
    assert!(
        total >= 107 && passed + MAY_FAIL >= total,
        "httpwg: {passed} of {total} passed; at most {MAY_FAIL} may fail:\n{}",
        strip_ansi(&ran.stdout)
    );
    // Whatever the cases sent, the server is still there and serves.
    let mut conn = stagekit::Conn::connect(server.h2c).or_fail("connecting after httpwg");
    conn.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .or_fail("a request after httpwg");
    let response = conn.read_response().or_fail("the answer after httpwg");
    assert_eq!(response.status, 200, "after httpwg: {response}");
}

#[test]
fn the_summary_line_parses() {
    let line = "\u{1b}[0m Passed \u{1b}[1;32m98/107\u{1b}[0m tests in 3.2 seconds";
    assert_eq!(passed_of(line), Some((98, 107)));
    assert_eq!(passed_of("nothing"), None);
}
