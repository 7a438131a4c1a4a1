//! For the stages that honour `--max-connections`
//! ([`Capabilities::max_connections`](stagekit::Capabilities::max_connections): stages 04 and
//! 05): one connection too many is answered `503` with `Retry-After` and closed, the admitted
//! ones are not disturbed, and a place is free again once one of them closes.
//!
//! The refusal is the driver kit's (`driver::refusal`), the same bytes in both stages: it has a
//! `Date` and its body names the limit, so a client's operator knows which flag to raise.

use stagekit::{Conn, Response, Server, Stage};

use crate::support::*;

pub fn over_max_connections_is_refused_with_503_until_one_closes(stage: &Stage) {
    let server = Server::start(stage, &["--max-connections", "2"]);
    let (first, mut second, _) = refused_past_two(&server);

    // The two admitted ones are unaffected; once one closes, a new client gets in.
    second.send(get("/healthz")).or_fail("sending");
    expect_status(&mut second, &get("/healthz"), 200);
    drop(first);
    expect_a_place_again(&server, 503);
    // The second connection was never disturbed.
    second.send(get("/healthz")).or_fail("sending");
    expect_status(&mut second, &get("/healthz"), 200);
}

pub fn the_503_past_max_connections_names_the_limit_and_has_a_date(stage: &Stage) {
    let server = Server::start(stage, &["--max-connections", "2"]);
    let (_first, _second, refused) = refused_past_two(&server);
    assert!(refused.text().contains("max-connections"), "{refused}");
    assert_valid_date(&refused);
}

/// With `server` started with `--max-connections 2`: two connections are admitted and served,
/// and a third is refused with a `503`, `Connection: close` and `Retry-After`, then closed.
/// Returns the two admitted connections, still open, and the refusal.
pub fn refused_past_two(server: &Server) -> (Conn, Conn, Response) {
    let mut first = connect(server);
    let mut second = connect(server);
    for conn in [&mut first, &mut second] {
        conn.send(get("/plaintext")).or_fail("sending");
        expect_status(conn, &get("/plaintext"), 200);
    }
    let mut third = connect(server);
    // The server may answer before it reads anything, and close; the request may or may not get
    // there, and the answer is the same either way.
    let _ = third.send(get("/plaintext"));
    let refused = expect_status(&mut third, b"(third connection)", 503);
    assert!(refused.has_token("connection", "close"), "{refused}");
    assert!(refused.header("retry-after").is_some(), "{refused}");
    third
        .expect_closed()
        .or_fail("the refused connection is closed after the 503");
    (first, second, refused)
}
