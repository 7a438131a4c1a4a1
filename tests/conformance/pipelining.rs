//! Pipelining (RFC 9112 section 9.3.2): a client may send several requests without waiting,
//! and the server must answer them in the order received. And the converse: a request may
//! arrive split anywhere, down to one byte per read.

use std::thread;
use std::time::Duration;

use stagekit::{Server, Stage};

use crate::support::*;

pub fn three_requests_in_one_write_are_answered_in_order(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let names = ["one", "two", "three"];
    let sent: Vec<u8> = names
        .iter()
        .flat_map(|name| get(&format!("/hello/{name}")))
        .collect();
    let mut conn = connect(&server);
    conn.send(&sent)
        .or_fail("sending three requests in one write");
    for name in names {
        let response = expect_status(&mut conn, &sent, 200);
        assert!(
            response.text().contains(name),
            "responses out of order: expected the one for {name:?}, got {response}"
        );
    }
}

/// A body in the middle of a pipeline: if the server misjudged its length, the third request
/// would be read from the wrong offset.
pub fn pipelined_post_between_gets_keeps_framing(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut sent = get("/hello/before");
    sent.extend(request("POST", "/echo", &[], b"hello, pipeline"));
    sent.extend(request(
        "POST",
        "/echo",
        &["Transfer-Encoding: chunked"],
        b"4\r\nGET \r\n3\r\n/x \r\n0\r\n\r\n",
    ));
    sent.extend(get("/hello/after"));
    let mut conn = connect(&server);
    conn.send(&sent).or_fail("sending the pipeline");
    let expected: [&[u8]; 4] = [b"before", b"hello, pipeline", b"GET /x ", b"after"];
    for (index, want) in expected.into_iter().enumerate() {
        let response = expect_status(&mut conn, &sent, 200);
        if index == 1 || index == 2 {
            assert_eq!(response.body, want, "echo #{index}: {response}");
        } else {
            assert!(
                response.text().contains(&*String::from_utf8_lossy(want)),
                "response #{index}: {response}"
            );
        }
    }
}

/// More requests in one write than the server parses ahead (`Limits::max_pipelined`, 16): the
/// server must push back by reading later, not drop or refuse any.
pub fn deep_pipeline_beyond_the_parse_ahead_limit(stage: &Stage) {
    const DEPTH: usize = 40;
    let server = Server::start(stage, &[]);
    let sent: Vec<u8> = (0..DEPTH)
        .flat_map(|index| get(&format!("/hello/n{index}")))
        .collect();
    let mut conn = connect(&server);
    conn.send(&sent).or_fail("sending the pipeline");
    for index in 0..DEPTH {
        let response = expect_status(&mut conn, &sent, 200);
        assert!(
            response.text().contains(&format!("n{index}")),
            "response #{index} out of order: {response}"
        );
    }
}

pub fn request_sent_one_byte_per_write(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let sent = get("/hello/slowpoke");
    let mut conn = connect(&server);
    conn.send_in_pieces(&sent, 1, Duration::from_millis(2))
        .or_fail("sending one byte at a time");
    let response = expect_status(&mut conn, &sent, 200);
    assert!(response.text().contains("slowpoke"), "{response}");
}

/// The chunked decoder must also resume at every position of its grammar.
pub fn chunked_body_sent_one_byte_per_write(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let sent = request(
        "POST",
        "/echo",
        &["Transfer-Encoding: chunked"],
        b"5;a=b\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Check: yes\r\n\r\n",
    );
    let mut conn = connect(&server);
    // Pausing between bytes makes each byte its own TCP segment and, most of the time, its own
    // read on the server.
    for byte in &sent {
        conn.send([*byte]).or_fail("sending one byte");
        thread::sleep(Duration::from_millis(1));
    }
    let response = expect_status(&mut conn, &sent, 200);
    assert_eq!(response.text(), "hello, chunked!", "{response}");
}
