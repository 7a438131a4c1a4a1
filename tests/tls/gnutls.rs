//! `gnutls-cli`: a second TLS implementation, written apart from OpenSSL and rustls, so a
//! handshake that only works between two libraries sharing a quirk would show here.

use std::path::Path;

use crate::support::*;

/// The request every run sends; the server answers and closes.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// `gnutls-cli --x509cafile CERT -p PORT localhost ARGS` with [`REQUEST`] on its input.
fn gnutls_cli(gnutls: &Path, server: &TlsServer, args: &[&str]) -> Ran {
    let port = server.addr().port().to_string();
    let trust = server.cacert_arg();
    let mut all = vec!["--x509cafile", &trust, "-p", &port];
    all.extend_from_slice(args);
    all.push("localhost");
    run(gnutls, &all, REQUEST, PEER_WITHIN)
}

/// The certificate verifies for `localhost`, ALPN agrees `http/1.1`, the page arrives whole and
/// the server ends with `close_notify` (gnutls says "Peer has closed the GnuTLS connection"; a
/// bare TCP close would be "terminated the connection abnormally"). Offering only `h2` gets
/// alert 120, `no_application_protocol`.
#[test]
fn gnutls_cli_gets_a_page_and_agrees_http11_by_alpn() {
    let Some(gnutls) = require(GNUTLS_CLI, "gnutls::page_and_alpn") else {
        return;
    };
    let server = TlsServer::start(&[]);
    let ran = gnutls_cli(&gnutls, &server, &["--alpn", "http/1.1"]);
    assert!(ran.succeeded(), "{}", ran.report());
    for expected in [
        "- Status: The certificate is trusted.",
        "- Application protocol: http/1.1",
        "HTTP/1.1 200 OK",
        "<title>Stagecraft</title>",
        "</html>",
        "- Peer has closed the GnuTLS connection",
    ] {
        assert!(
            ran.stdout.contains(expected),
            "expected {expected:?}: {}",
            ran.report()
        );
    }

    let ran = gnutls_cli(&gnutls, &server, &["--alpn", "h2"]);
    assert!(
        !ran.succeeded(),
        "ALPN h2 alone was accepted: {}",
        ran.report()
    );
    assert!(
        ran.stderr.contains("Received alert [120]") || ran.stdout.contains("Received alert [120]"),
        "expected the no_application_protocol alert: {}",
        ran.report()
    );
}

/// `--resume` connects, keeps the session, connects again and says whether the server resumed
/// it: for TLS 1.2 and for TLS 1.3, each forced by `--priority`.
#[test]
fn gnutls_cli_resumes_a_session_in_tls12_and_tls13() {
    let Some(gnutls) = require(GNUTLS_CLI, "gnutls::resume") else {
        return;
    };
    let server = TlsServer::start(&[]);
    for (version, priority) in [
        ("TLS1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2"),
        ("TLS1.3", "NORMAL:-VERS-ALL:+VERS-TLS1.3"),
    ] {
        let ran = gnutls_cli(&gnutls, &server, &["--priority", priority, "--resume"]);
        assert!(ran.succeeded(), "{version}: {}", ran.report());
        assert!(
            ran.stdout.contains(&format!("- Description: ({version}-")),
            "{version} was not negotiated: {}",
            ran.report()
        );
        assert!(
            ran.stdout.contains("*** This is a resumed session"),
            "{version}: the session was not resumed: {}",
            ran.report()
        );
        assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());
    }
}
