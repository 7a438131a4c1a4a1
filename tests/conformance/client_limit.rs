//! `--max-connections-per-client`, for every stage that holds more than one connection (the
//! `concurrent` capability: stages 02 to 07): a client that holds the limit already is answered
//! `429` with `Retry-After` and closed, before a request is read; its open connections are not
//! disturbed; and once one of its connections closes, it may open another. Stage 03 runs with one worker here: each worker counts its own clients
//! (the book and `--help` say so).
//! That one client's limit is not another's is the app's unit test (`app::stats`): every
//! connection of the suite comes from the one loopback address.

use stagekit::{Server, Stage};

use crate::support::*;

// ANCHOR: client_limit
pub fn a_client_past_its_connection_limit_gets_429_until_one_closes(stage: &Stage) {
    let mut args = vec!["--max-connections-per-client", "2"];
    if stage.package == "stage03-prefork" {
        args.extend(["--workers", "1"]);
    }
    let server = Server::start(stage, &args);
    let mut first = connect(&server);
    let mut second = connect(&server);
    for conn in [&mut first, &mut second] {
        conn.send(get("/plaintext")).or_fail("sending");
        expect_status(conn, &get("/plaintext"), 200);
    }
    let mut third = connect(&server);
    // Refused before anything is read: the request may or may not get there.
    let _ = third.send(get("/plaintext"));
    let refused = expect_status(&mut third, b"(a third connection of one client)", 429);
    assert!(refused.has_token("connection", "close"), "{refused}");
    assert!(refused.header("retry-after").is_some(), "{refused}");
    assert!(
        refused.text().contains("max-connections-per-client"),
        "the refusal names its flag: {refused}"
    );
    assert_valid_date(&refused);
    third
        .expect_closed()
        .or_fail("the refused connection is closed after the 429");

    // The two admitted ones are unaffected; once one closes, the client gets a place again.
    second.send(get("/healthz")).or_fail("sending");
    expect_status(&mut second, &get("/healthz"), 200);
    drop(first);
    expect_a_place_again(&server, 429);
    // Counted in /metrics by reason (asked on a connection the client holds: the one it has
    // just closed may not be counted closed yet).
    second.send(get("/metrics")).or_fail("sending");
    let metrics = expect_status(&mut second, &get("/metrics"), 200);
    assert!(
        metrics.text().lines().any(|line| line
            .starts_with("stagecraft_refusals_total{reason=\"connections_per_client\"}")
            && !line.ends_with(" 0")),
        "/metrics counts the refusal: {metrics}"
    );
}
// ANCHOR_END: client_limit
