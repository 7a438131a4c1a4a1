//! The basics every HTTP/1.1 server gets right: GET and HEAD, 404 and 405, `Date`, and when a
//! connection stays open (RFC 9112 section 9.3) or closes.

use std::time::Duration;

use stagekit::{Server, Stage};

use crate::support::*;

pub fn get_root_serves_index_html(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/"));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(
        response.minor_version, 1,
        "an HTTP/1.1 server answers HTTP/1.1"
    );
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/html")),
        "{response}"
    );
    assert_eq!(response.content_length(), Some(response.body.len() as u64));
    assert_eq!(response.body, site_file("index.html"));
    assert_valid_date(&response);
}

/// RFC 9110 section 9.3.2: HEAD is GET without the content; the fields are the same,
/// `Content-Length` included.
pub fn head_has_the_headers_of_get_and_no_body(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    conn.send(get("/")).or_fail("sending GET");
    let got = expect_status(&mut conn, &get("/"), 200);
    let head = b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n";
    conn.send(head).or_fail("sending HEAD");
    let headed = conn
        .read_response_to_head()
        .or_fail("reading the HEAD response");
    assert_eq!(headed.status, 200, "{headed}");
    assert_eq!(
        headed.content_length(),
        Some(got.body.len() as u64),
        "HEAD must announce the length GET sends\nHEAD: {headed}"
    );
    for field in ["content-type", "etag", "last-modified"] {
        assert_eq!(
            headed.header(field),
            got.header(field),
            "{field} differs between GET and HEAD"
        );
    }
    // If the server had sent a body after the HEAD response, these bytes would come first and
    // the next response would not parse.
    conn.send(get("/plaintext"))
        .or_fail("sending GET after HEAD");
    let next = expect_status(&mut conn, &get("/plaintext"), 200);
    assert_eq!(next.text(), "Hello, World!");
}

pub fn unknown_path_is_404_and_keeps_the_connection(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    conn.send(get("/no/such/file.html")).or_fail("sending");
    let response = expect_status(&mut conn, &get("/no/such/file.html"), 404);
    assert!(response.content_length().is_some() || response.header("transfer-encoding").is_some());
    assert!(
        !response.has_token("connection", "close"),
        "a 404 needs no close: {response}"
    );
    conn.send(get("/plaintext"))
        .or_fail("sending after the 404");
    expect_status(&mut conn, &get("/plaintext"), 200);
}

/// RFC 9110 section 15.5.6: a 405 must carry `Allow` with the methods the resource supports.
pub fn wrong_method_is_405_with_allow(stage: &Stage) {
    let server = Server::start(stage, &[]);
    for (sent, allowed) in [
        (get("/echo"), "POST"),
        (
            request("POST", "/plaintext", &["Content-Length: 0"], b""),
            "GET",
        ),
    ] {
        let mut conn = connect(&server);
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 405);
        assert!(
            response.has_token("allow", allowed),
            "Allow must list {allowed}: {response}"
        );
    }
}

/// The site's form (`form.html`) posts to `/`: the fields come back escaped, an empty body is an empty
/// form, and a body that is not a form is 415 (RFC 9110 section 15.5.16).
pub fn the_site_form_posts_to_root(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let form = request(
        "POST",
        "/",
        &[
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Length: 19",
        ],
        b"message=%3Cb%3Ehi+x",
    );
    conn.send(&form).or_fail("sending the form");
    let response = expect_status(&mut conn, &form, 200);
    assert!(
        response.text().contains("<dd>&lt;b&gt;hi x</dd>"),
        "the field, decoded and escaped: {response}"
    );
    let empty = request("POST", "/", &["Content-Length: 0"], b"");
    conn.send(&empty).or_fail("sending an empty form");
    expect_status(&mut conn, &empty, 200);
    let json = request(
        "POST",
        "/",
        &["Content-Type: application/json", "Content-Length: 2"],
        b"{}",
    );
    conn.send(&json).or_fail("sending JSON to the form");
    expect_status(&mut conn, &json, 415);
    conn.send(get("/")).or_fail("sending after the 415");
    expect_status(&mut conn, &get("/"), 200);
}

/// A `Date` on every response, errors included, in IMF-fixdate.
pub fn every_response_has_a_valid_date(stage: &Stage) {
    let server = Server::start(stage, &["--max-body", "1000"]);
    let etag = exchange(&server, &get("/style.css"))
        .header("etag")
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("GET /style.css has no ETag"));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (get("/plaintext"), 200),
        (get("/no-such-file"), 404),
        (get("/echo"), 405),
        (
            request(
                "GET",
                "/style.css",
                &[&format!("If-None-Match: {etag}")],
                b"",
            ),
            304,
        ),
        (request("GET", "/big.bin", &["Range: bytes=0-0"], b""), 206),
        (
            request("GET", "/big.bin", &["Range: bytes=9999999-"], b""),
            416,
        ),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            request("POST", "/echo", &["Content-Length: 5000"], b""),
            413,
        ),
        (b"FOO / HTTP/1.1\r\nHost: test\r\n\r\n".to_vec(), 501),
        (b"GET / HTTP/2.0\r\nHost: test\r\n\r\n".to_vec(), 505),
    ];
    for (sent, status) in cases {
        let mut conn = connect(&server);
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, status);
        assert_valid_date(&response);
    }
}

pub fn http11_keeps_the_connection_alive(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    for name in ["one", "two", "three"] {
        let sent = get(&format!("/hello/{name}"));
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 200);
        assert!(!response.has_token("connection", "close"), "{response}");
    }
    conn.expect_silence(Duration::from_millis(200))
        .or_fail("an HTTP/1.1 connection stays open after its responses");
}

/// RFC 9112 section 9.3: an HTTP/1.0 connection closes after the response unless the client
/// sent `Connection: keep-alive`.
pub fn http10_closes_by_default(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let sent = b"GET /plaintext HTTP/1.0\r\n\r\n";
    conn.send(sent).or_fail("sending");
    let response = expect_status(&mut conn, sent, 200);
    assert_eq!(response.text(), "Hello, World!");
    assert!(
        !response.has_token("connection", "keep-alive"),
        "{response}"
    );
    conn.expect_closed()
        .or_fail("an HTTP/1.0 connection without keep-alive closes after the response");
}

pub fn http10_keeps_alive_when_asked(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let sent = b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    for _ in 0..2 {
        conn.send(sent).or_fail("sending");
        let response = expect_status(&mut conn, sent, 200);
        // An HTTP/1.0 client assumes close unless told otherwise, and cannot read chunked.
        assert!(response.has_token("connection", "keep-alive"), "{response}");
        assert_eq!(response.content_length(), Some(13), "{response}");
    }
}

/// RFC 9112 section 9.6: after `Connection: close` the server closes, and does not answer a
/// request the client (wrongly) sent after it.
pub fn connection_close_is_honoured(stage: &Stage) {
    let server = Server::start(stage, &[]);
    for close in [
        "Connection: close",
        "Connection: Close",
        "Connection: te, close",
    ] {
        let sent = request("GET", "/plaintext", &[close], b"");
        let mut conn = connect(&server);
        let mut bytes = sent.clone();
        bytes.extend_from_slice(FOLLOW_UP);
        conn.send(&bytes).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 200);
        assert!(response.has_token("connection", "close"), "{response}");
        conn.expect_closed().or_fail(&format!(
            "after `{close}` the server closes and answers nothing more"
        ));
    }
}
