//! `openssl s_client`, the client people debug TLS servers with: what ALPN agrees, which
//! certificate each server name gets, whether a session is resumed, which versions are refused.
//!
//! Every run sends one request with `Connection: close` and `-ign_eof`, so s_client stays until
//! the server has answered and closed (for TLS 1.3 that matters: the session ticket arrives
//! after the handshake, with the first response).

use std::path::Path;

use stagekit::scratch::TempDir;
use stagekit::Server;

use crate::support::*;

/// The request every run sends; the server answers and closes.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// `openssl s_client -connect 127.0.0.1:PORT ARGS`, with [`REQUEST`] on its input.
fn s_client(openssl: &Path, server: &Server, args: &[&str]) -> Ran {
    let connect = format!("127.0.0.1:{}", server.addr().port());
    let mut all = vec!["s_client", "-connect", &connect, "-ign_eof"];
    all.extend_from_slice(args);
    run(openssl, &all, REQUEST, PEER_WITHIN)
}

/// A client offering `http/1.1` (alone, or after `h2`) gets it; one offering no ALPN is served
/// HTTP/1.1 all the same; one offering only `h2` gets the `no_application_protocol` alert
/// (RFC 7301 section 3.2), alert number 120, and no connection.
#[test]
fn s_client_alpn_http11_is_agreed_and_h2_alone_is_refused() {
    let Some(openssl) = require(OPENSSL, "openssl::alpn") else {
        return;
    };
    let server = TlsServer::start(&[]);
    let trust = server.cacert_arg();
    for offer in ["http/1.1", "h2,http/1.1"] {
        let ran = s_client(
            &openssl,
            &server.server,
            &["-CAfile", &trust, "-verify_return_error", "-alpn", offer],
        );
        assert!(ran.succeeded(), "ALPN {offer}: {}", ran.report());
        assert!(
            ran.stdout.contains("ALPN protocol: http/1.1"),
            "ALPN {offer}: {}",
            ran.report()
        );
        assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());
    }

    let ran = s_client(&openssl, &server.server, &["-CAfile", &trust]);
    assert!(ran.succeeded(), "no ALPN: {}", ran.report());
    assert!(
        ran.stdout.contains("No ALPN negotiated"),
        "{}",
        ran.report()
    );
    assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());

    let ran = s_client(&openssl, &server.server, &["-alpn", "h2"]);
    assert!(
        !ran.succeeded(),
        "ALPN h2 alone was accepted: {}",
        ran.report()
    );
    assert!(
        ran.stderr.contains("no application protocol") && ran.stderr.contains("alert number 120"),
        "ALPN h2 alone: expected the no_application_protocol alert: {}",
        ran.report()
    );
    assert!(!ran.stdout.contains("HTTP/1.1"), "{}", ran.report());
}

/// Two certificates: A by default (`--cert`), B for `other.test` (`--sni`). Each name gets its
/// own, verified against that certificate alone with the name checked (`-verify_hostname`);
/// the name matches without regard to case; a client that names another host, or none, gets A.
#[test]
fn s_client_sni_picks_the_certificate_for_the_name_and_the_default_for_none() {
    let Some(openssl) = require(OPENSSL, "openssl::sni") else {
        return;
    };
    let dir = TempDir::new("tls-sni");
    let a = Pair::self_signed(
        "Stagecraft test A (default)",
        &["default.test", "localhost"],
    );
    let b = Pair::self_signed("Stagecraft test B (other.test)", &["other.test"]);
    let (a_cert, a_key) = a.write(&dir, "a");
    let (b_cert, b_key) = b.write(&dir, "b");
    let sni = format!("other.test={},{}", b_cert.display(), b_key.display());
    let server = Server::start(
        &STAGE,
        &[
            "--cert",
            &a_cert.to_string_lossy(),
            "--key",
            &a_key.to_string_lossy(),
            "--sni",
            &sni,
        ],
    );
    let a_trust = a_cert.to_string_lossy().into_owned();
    let b_trust = b_cert.to_string_lossy().into_owned();
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["-servername", "other.test"],
            &b_trust,
            "Stagecraft test B",
        ),
        (
            &["-servername", "OTHER.test"],
            &b_trust,
            "Stagecraft test B",
        ),
        (
            &["-servername", "default.test"],
            &a_trust,
            "Stagecraft test A",
        ),
        (
            &["-servername", "unknown.test"],
            &a_trust,
            "Stagecraft test A",
        ),
        (&["-noservername"], &a_trust, "Stagecraft test A"),
    ];
    for (name_args, trust, subject) in cases {
        let mut args = name_args.to_vec();
        args.extend_from_slice(&["-CAfile", trust, "-verify_return_error"]);
        // The certificate must hold the name asked for; with no name, the default's own name.
        let check_name = match name_args {
            ["-servername", name] if name.eq_ignore_ascii_case("other.test") => "other.test",
            _ => "default.test",
        };
        args.extend_from_slice(&["-verify_hostname", check_name]);
        let ran = s_client(&openssl, &server, &args);
        assert!(ran.succeeded(), "{name_args:?}: {}", ran.report());
        let subject_line = ran
            .stdout
            .lines()
            .find(|line| line.starts_with("subject="))
            .unwrap_or("(no subject line)");
        assert!(
            subject_line.contains(subject),
            "{name_args:?}: expected {subject}, got {subject_line}\n{}",
            ran.report()
        );
        assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());
    }
}

/// TLS 1.2 with a session ticket (RFC 5077): the second connection shows `Reused`.
#[test]
fn s_client_resumes_a_tls12_session_by_ticket() {
    resumes("openssl::resumption_tls12_ticket", "-tls1_2", &[]);
}

/// TLS 1.2 without tickets (`-no_ticket`): resumed by session ID, from the server's bounded
/// session cache.
#[test]
fn s_client_resumes_a_tls12_session_by_session_id() {
    resumes(
        "openssl::resumption_tls12_session_id",
        "-tls1_2",
        &["-no_ticket"],
    );
}

/// TLS 1.3 (a PSK from the ticket sent after the handshake).
#[test]
fn s_client_resumes_a_tls13_session() {
    resumes("openssl::resumption_tls13", "-tls1_3", &[]);
}

/// `-sess_out FILE`, then `-sess_in FILE`: the first handshake is `New`, the second `Reused`,
/// both in `version` and both serving the request.
fn resumes(check: &str, version: &str, extra: &[&str]) {
    let Some(openssl) = require(OPENSSL, check) else {
        return;
    };
    let server = TlsServer::start(&[]);
    let dir = TempDir::new("tls-resume");
    let session = dir.join("session.pem").to_string_lossy().into_owned();
    let label = match version {
        "-tls1_2" => "TLSv1.2",
        _ => "TLSv1.3",
    };
    let trust = server.cacert_arg();
    let mut first = vec![version, "-CAfile", &trust, "-sess_out", &session];
    first.extend_from_slice(extra);
    let ran = s_client(&openssl, &server.server, &first);
    assert!(ran.succeeded(), "{}", ran.report());
    assert!(
        ran.stdout.contains(&format!("New, {label}")),
        "{}",
        ran.report()
    );
    assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());

    let mut second = vec![version, "-CAfile", &trust, "-sess_in", &session];
    second.extend_from_slice(extra);
    let ran = s_client(&openssl, &server.server, &second);
    assert!(ran.succeeded(), "{}", ran.report());
    assert!(
        ran.stdout.contains(&format!("Reused, {label}")),
        "the session was not resumed: {}",
        ran.report()
    );
    assert!(ran.stdout.contains("HTTP/1.1 200 OK"), "{}", ran.report());
}

/// A client that offers TLS 1.1 at most is refused with an alert (rustls sends
/// `handshake_failure`, 40; RFC 8446 would also allow `protocol_version`, 70). The cipher list
/// at security level 0 makes OpenSSL 3 really offer TLS 1.1, so the refusal is the server's.
#[test]
fn s_client_tls11_is_refused() {
    let Some(openssl) = require(OPENSSL, "openssl::tls11_refused") else {
        return;
    };
    let server = TlsServer::start(&[]);
    let ran = s_client(
        &openssl,
        &server.server,
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
    );
    assert!(!ran.succeeded(), "TLS 1.1 was accepted: {}", ran.report());
    assert!(
        ran.stderr.contains("alert handshake failure")
            || ran.stderr.contains("alert protocol version"),
        "expected a handshake_failure or protocol_version alert: {}",
        ran.report()
    );
    assert!(ran.stdout.contains("Cipher is (NONE)"), "{}", ran.report());
    assert!(!ran.stdout.contains("HTTP/1.1"), "{}", ran.report());
}
