//! Certificate reload, seen by clients: new connections get the new certificate, a connection
//! opened before keeps going, and a bad new certificate is refused while the old one stays.
//!
//! The certificates are replaced the way a deployment replaces them (written beside, renamed
//! over). Each step waits for the server's own log line, not for a fixed time.

use std::net::SocketAddr;
use std::time::Duration;

use stagekit::scratch::TempDir;
use stagekit::{Server, Signal};

use crate::client::TlsClient;
use crate::support::*;

/// How long a reload may take to be logged after SIGHUP.
const RELOAD_WITHIN: Duration = Duration::from_secs(5);

/// The server checks its files every 2 s: one check, plus a margin for a loaded machine.
const FILE_CHECK_WITHIN: Duration = Duration::from_secs(6);

const RELOADED: &str = "certificates reloaded";
const REFUSED: &str = "certificates not reloaded";

/// Starts the stage with `DIR/server.crt` and `DIR/server.key` holding `first`.
fn start(dir: &TempDir, first: &Pair) -> Server {
    let (cert, key) = first.write(dir, "server");
    Server::start(
        &STAGE,
        &[
            "--cert",
            &cert.to_string_lossy(),
            "--key",
            &key.to_string_lossy(),
        ],
    )
}

/// The certificate a new connection gets, after checking that it is served.
fn new_connection_leaf(addr: SocketAddr) -> Vec<u8> {
    let mut client = TlsClient::connect(addr, "localhost").or_fail("a new connection");
    let response = client.get("/").or_fail("a request on a new connection");
    assert_eq!(response.status, 200, "{}", response.head);
    client.leaf()
}

/// SIGHUP with a new certificate: a new connection gets it; the connection opened before, kept
/// alive, still answers, on the certificate it started with. Then two bad ones in turn, a key
/// that belongs to another certificate and a PEM that does not decode: each SIGHUP is refused
/// with a log line, and new connections still get the good certificate.
#[test]
fn sighup_gives_new_connections_the_new_certificate_and_the_old_one_goes_on() {
    let dir = TempDir::new("tls-reload-sighup");
    let a = Pair::self_signed("Stagecraft reload A", &["localhost"]);
    let b = Pair::self_signed("Stagecraft reload B", &["localhost"]);
    let mut server = start(&dir, &a);
    let addr = server.addr();

    let mut old = TlsClient::connect(addr, "localhost").or_fail("the long-lived connection");
    assert!(
        old.leaf() == a.cert_der,
        "the first connection did not get A"
    );
    let response = old.get("/").or_fail("the first request");
    assert_eq!(response.status, 200, "{}", response.head);

    b.write(&dir, "server");
    let before = log_lines(&server, &[RELOADED, "SIGHUP"]);
    server.signal(Signal::Hup).or_fail("sending SIGHUP");
    assert!(
        wait_for_log(&server, &[RELOADED, "SIGHUP"], before + 1, RELOAD_WITHIN),
        "no `{RELOADED}` line within {RELOAD_WITHIN:?} of SIGHUP; the log:\n{}",
        server.stderr()
    );
    assert!(
        new_connection_leaf(addr) == b.cert_der,
        "after SIGHUP, a new connection did not get B"
    );
    let response = old
        .get("/hello/still-here")
        .or_fail("the old connection after the reload");
    assert_eq!(response.status, 200, "{}", response.head);
    assert!(old.leaf() == a.cert_der);

    let garbage_pem =
        b"-----BEGIN CERTIFICATE-----\nnot base64, not DER\n-----END CERTIFICATE-----\n";
    let bad: [(&str, &[u8], &str); 2] = [
        (
            "server.key",
            a.key_pem.as_bytes(),
            "does not belong to the certificate",
        ),
        ("server.crt", garbage_pem, "server.crt"),
    ];
    for (file, contents, why) in bad {
        dir.replace(file, contents);
        let before = log_lines(&server, &[REFUSED, "SIGHUP"]);
        server.signal(Signal::Hup).or_fail("sending SIGHUP");
        assert!(
            wait_for_log(
                &server,
                &[REFUSED, "SIGHUP", why],
                before + 1,
                RELOAD_WITHIN
            ),
            "a bad {file} was not refused with a `{REFUSED}` line naming {why:?}; the log:\n{}",
            server.stderr()
        );
        assert!(
            new_connection_leaf(addr) == b.cert_der,
            "after a refused reload ({file}), a new connection did not get B"
        );
    }
    let response = old.get("/").or_fail("the old connection at the end");
    assert_eq!(response.status, 200, "{}", response.head);
}

/// No signal: the server notices the changed files by itself (it looks every 2 s).
#[test]
fn a_changed_certificate_file_is_picked_up_without_a_signal() {
    let dir = TempDir::new("tls-reload-file");
    let a = Pair::self_signed("Stagecraft reload A", &["localhost"]);
    let b = Pair::self_signed("Stagecraft reload B", &["localhost"]);
    let server = start(&dir, &a);
    let addr = server.addr();
    let mut old = TlsClient::connect(addr, "localhost").or_fail("the long-lived connection");
    assert!(
        old.leaf() == a.cert_der,
        "the first connection did not get A"
    );

    b.write(&dir, "server");
    assert!(
        wait_for_log(
            &server,
            &[RELOADED, "a certificate file changed"],
            1,
            FILE_CHECK_WITHIN
        ),
        "the new files were not picked up within {FILE_CHECK_WITHIN:?}; the log:\n{}",
        server.stderr()
    );
    assert!(
        new_connection_leaf(addr) == b.cert_der,
        "after the files changed, a new connection did not get B"
    );
    let response = old.get("/").or_fail("the old connection after the reload");
    assert_eq!(response.status, 200, "{}", response.head);
}
