//! SIGTERM with an idle TLS connection open: the server says `close_notify` before it closes
//! (RFC 8446 section 6.1), so the client can tell a clean end from a cut (a truncation attack
//! looks like a bare TCP close), and exits with status 0.

use std::time::Duration;

use stagekit::Signal;

use crate::client::TlsClient;
use crate::support::*;

#[test]
fn sigterm_ends_an_idle_tls_connection_with_close_notify_and_exits_0() {
    let mut server = TlsServer::start(&[]);
    let mut idle = TlsClient::connect(server.addr(), "localhost").or_fail("connecting");
    let response = idle.get("/").or_fail("the request before going idle");
    assert_eq!(response.status, 200, "{}", response.head);

    server
        .server
        .signal(Signal::Term)
        .or_fail("sending SIGTERM");
    // The client's reads time out after 5 s, so a server that never closed fails here too.
    idle.expect_close_notify().or_fail(
        "after SIGTERM, the idle connection should end with close_notify, then the end of the \
         stream (UnexpectedEof means a TCP close without close_notify)",
    );
    let status = server
        .server
        .wait_exit(Duration::from_secs(10))
        .or_fail("waiting for the server to exit");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
}
