//! A testssl.sh scan (Debian's `testssl`, 3.0): the configuration checks an operator would run
//! against the server, with no finding rated HIGH or CRITICAL.
//!
//! Which checks: `-p` (protocols, SSLv2 to TLS 1.3, ALPN), `-s` (cipher categories: NULL,
//! export, RC4, 3DES, CBC, AEAD), `-f` (forward secrecy and the curves offered), `-P` (the
//! server's own cipher order), `-S` (server defaults: extensions, tickets and session IDs,
//! the certificate and its chain, validity and revocation information) and `-U` (every
//! vulnerability check: Heartbleed, CCS, ticketbleed, ROBOT, renegotiation, CRIME, BREACH,
//! POODLE, fallback SCSV, SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13, RC4). Left out: `-c`
//! (client simulation: what some forty old clients would agree, which says nothing a finding
//! rates) and `-h` (HTTP headers: not TLS). testssl's full `--fast` run takes well over three
//! minutes here, these about two (most of it testssl's own start-up and shell work).
//!
//! The certificate is one a real deployment has: signed by a CA (the test's own, given to
//! testssl with `--add-ca`), valid for 90 days, naming a revocation list. The stage's own
//! self-signed certificate is for trying it out, and testssl rightly rates a self-signed chain
//! CRITICAL; what this test judges is the server's TLS, not a throwaway certificate.

use std::time::Duration;

use stagekit::scratch::TempDir;
use stagekit::Server;

use crate::support::*;

/// Bounds the scan; it takes about two minutes on a quiet machine.
const SCAN_WITHIN: Duration = Duration::from_secs(300);

#[test]
fn testssl_scan_finds_nothing_rated_high_or_critical() {
    let Some(testssl) = require(TESTSSL, "testssl::scan") else {
        return;
    };
    let dir = TempDir::new("tls-testssl");
    let ca = TestCa::new("Stagecraft test CA");
    dir.replace("ca.pem", ca.pem().as_bytes());
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let (cert, key) = leaf.write(&dir, "leaf");
    let server = Server::start(
        &STAGE,
        &[
            "--cert",
            &cert.to_string_lossy(),
            "--key",
            &key.to_string_lossy(),
        ],
    );
    let json = dir.join("scan.json");
    let json_arg = json.to_string_lossy().into_owned();
    let ca_arg = dir.join("ca.pem").to_string_lossy().into_owned();
    let target = format!("127.0.0.1:{}", server.addr().port());
    let ran = run(
        &testssl,
        &[
            "-p",
            "-s",
            "-f",
            "-P",
            "-S",
            "-U",
            "--warnings",
            "off",
            "--quiet",
            "--color",
            "0",
            // An address, no name: nothing to look up (rDNS, CAA) on a machine without DNS.
            "--nodns",
            "none",
            "--add-ca",
            &ca_arg,
            "--connect-timeout",
            "10",
            "--openssl-timeout",
            "10",
            "--jsonfile",
            &json_arg,
            &target,
        ],
        b"",
        SCAN_WITHIN,
    );
    assert!(
        ran.status.is_some(),
        "testssl did not finish within {SCAN_WITHIN:?}: {}",
        ran.report()
    );
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|error| panic!("testssl wrote no JSON ({error}): {}", ran.report()));
    let findings: Vec<serde_json::Value> = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("testssl's JSON does not parse ({error}):\n{text}"));
    let field = |finding: &serde_json::Value, name: &str| {
        finding[name].as_str().unwrap_or_default().to_owned()
    };

    // The scan ran every part asked for: a finding from each (so an aborted scan cannot pass).
    let ids: Vec<String> = findings.iter().map(|f| field(f, "id")).collect();
    for expected in [
        "TLS1_2",
        "TLS1_3",
        "cipherlist_STRONG",
        "PFS",
        "cipher_order",
        "cert_chain_of_trust",
        "heartbleed",
        "ROBOT",
        "LUCKY13",
    ] {
        assert!(
            ids.iter().any(|id| id == expected),
            "no {expected} finding: the scan did not run every check\n{}",
            ran.report()
        );
    }

    let bad: Vec<String> = findings
        .iter()
        .filter(|f| matches!(field(f, "severity").as_str(), "HIGH" | "CRITICAL" | "FATAL"))
        .map(|f| {
            format!(
                "{} [{}] {}",
                field(f, "id"),
                field(f, "severity"),
                field(f, "finding")
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "testssl rated {} finding(s) HIGH or CRITICAL:\n  {}\n(full output below)\n{}",
        bad.len(),
        bad.join("\n  "),
        ran.stdout
    );
    // The version floor and the protocol, as testssl itself puts them.
    for (id, expected) in [
        ("SSLv3", "not offered"),
        ("TLS1", "not offered"),
        ("TLS1_1", "not offered"),
        ("TLS1_2", "offered"),
        ("TLS1_3", "offered"),
    ] {
        let finding = findings
            .iter()
            .find(|f| field(f, "id") == id)
            .map(|f| field(f, "finding"))
            .unwrap_or_default();
        assert!(
            finding.starts_with(expected),
            "{id}: expected {expected:?}, testssl says {finding:?}"
        );
    }
}
