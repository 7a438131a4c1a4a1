//! `--max-connections` is the process's, not each port's: the TLS port and the h2c port take
//! their connections from one count, so a client cannot double the limit by using both.

use std::thread;
use std::time::{Duration, Instant};

use stagekit::{Conn, TlsClient};

use crate::support::*;

/// How long a freed place may take to be seen: the connection's task must end first.
const FREED_WITHIN: Duration = Duration::from_secs(5);

/// `GET /plaintext` on a kept-alive HTTP/1.1 connection, and its status.
fn status_of(conn: &mut Conn) -> u16 {
    conn.send(b"GET /plaintext HTTP/1.1\r\nHost: limits\r\n\r\n")
        .or_fail("sending a request");
    conn.read_response().or_fail("reading the answer").status
}

#[test]
fn one_connection_limit_counts_both_ports() {
    let server = H2Server::start(&["--max-connections", "1"]);
    let tls = TlsClient::trusting(&server.cacert).or_fail("trusting the certificate");
    let mut held = Conn::connect_tls(server.tls, &tls).or_fail("connecting over TLS");
    assert_eq!(status_of(&mut held), 200, "the one place, taken over TLS");

    let mut refused = Conn::connect(server.h2c).or_fail("connecting to the h2c port");
    assert_eq!(
        status_of(&mut refused),
        503,
        "with the one place held on the TLS port, the h2c port must refuse"
    );

    drop(held);
    let deadline = Instant::now() + FREED_WITHIN;
    loop {
        let mut conn = Conn::connect(server.h2c).or_fail("connecting to the h2c port again");
        let status = status_of(&mut conn);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the place freed on the TLS port was not given to the h2c port within \
             {FREED_WITHIN:?} (last status {status})"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
