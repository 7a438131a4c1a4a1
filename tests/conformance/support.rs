//! Request builders and assertions shared by the cases.
//!
//! The assertion helpers panic with the bytes sent and the response seen, so a failing case
//! reads as a bug report without re-running anything.

use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use stagecraft::wire::show;
use stagecraft::{Conn, Response, Server, Stage};

/// A valid request appended, in the same write, after every malformed one. It must never be
/// answered: once framing is in doubt, the server may not treat any later byte as a new request
/// (request smuggling, RFC 9112 section 11.2).
pub const FOLLOW_UP: &[u8] = b"GET /hello/smuggled HTTP/1.1\r\nHost: test\r\n\r\n";

/// `Result::unwrap` for test plumbing, with a message that says what was being done.
pub trait OrFail<T> {
    fn or_fail(self, doing: &str) -> T;
}

impl<T, E: Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, doing: &str) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("{doing}: {error}"),
        }
    }
}

/// `GET path HTTP/1.1` with a Host field and nothing else.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// A request with the given extra header lines (each without CRLF) and body. Adds
/// `Content-Length` when `body` is not empty and no framing field is among `fields`.
pub fn request(method: &str, path: &str, fields: &[&str], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for field in fields {
        head.push_str(field);
        head.push_str("\r\n");
    }
    let framed = fields.iter().any(|field| {
        let name = field.split(':').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    if !body.is_empty() && !framed {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A new connection to `server`.
pub fn connect(server: &Server) -> Conn {
    Conn::connect(server.addr()).or_fail("connecting to the server")
}

/// Sends `bytes` on a new connection and reads one response.
pub fn exchange(server: &Server, bytes: &[u8]) -> Response {
    let mut conn = connect(server);
    conn.send(bytes).or_fail("sending the request");
    conn.read_response()
        .or_fail(&format!("reading the response to {}", show(bytes)))
}

/// Reads a response and checks its status, showing the request on failure.
pub fn expect_status(conn: &mut Conn, sent: &[u8], status: u16) -> Response {
    let response = conn
        .read_response()
        .or_fail(&format!("reading the response to {}", show(sent)));
    assert_eq!(
        response.status,
        status,
        "\nrequest:  {}\nresponse: {response}",
        show(sent)
    );
    response
}

/// Starts `stage` with `args`, sends `bad` followed by [`FOLLOW_UP`] in one write, and checks
/// that the server answers `status` with `Connection: close`, then closes the connection
/// without ever answering the follow-up.
pub fn expect_rejected(stage: &Stage, args: &[&str], bad: &[u8], status: u16) {
    let server = Server::start(stage, args);
    let mut bytes = bad.to_vec();
    bytes.extend_from_slice(FOLLOW_UP);
    let mut conn = connect(&server);
    conn.send(&bytes).or_fail("sending the request");
    let response = expect_status(&mut conn, bad, status);
    assert!(
        response.has_token("connection", "close"),
        "a {status} that ends the connection must say `Connection: close` (RFC 9112 section \
         9.6)\nrequest:  {}\nresponse: {response}",
        show(bad)
    );
    if let Err(error) = conn.expect_closed() {
        panic!(
            "after the {status}, the server must close the connection and never answer the \
             request appended to the bad one: {error}\nrequest: {}",
            show(&bytes)
        );
    }
}

/// Sends `good` followed by [`FOLLOW_UP`] and checks that both get an answer, the first with
/// `status`: a request that is valid (if unusual) must be framed exactly, so the next one on
/// the connection is still understood.
pub fn expect_accepted(stage: &Stage, good: &[u8], status: u16) -> Response {
    let server = Server::start(stage, &[]);
    let mut bytes = good.to_vec();
    bytes.extend_from_slice(FOLLOW_UP);
    let mut conn = connect(&server);
    conn.send(&bytes).or_fail("sending the requests");
    let response = expect_status(&mut conn, good, status);
    let follow_up = expect_status(&mut conn, FOLLOW_UP, 200);
    assert!(
        follow_up.text().contains("smuggled"),
        "the request after {} got someone else's answer: {follow_up}",
        show(good)
    );
    response
}

/// Checks that `response` has a `Date` that is an IMF-fixdate close to now (RFC 9110 section
/// 6.6.1: an origin server with a clock must send one on every 2xx, 3xx and 4xx response; this
/// project sends it on every response).
pub fn assert_valid_date(response: &Response) {
    let Some(date) = response.header("date") else {
        panic!("no Date field in {response}");
    };
    let parsed = httpdate::parse_http_date(date)
        .unwrap_or_else(|error| panic!("Date {date:?} is not an HTTP-date: {error}"));
    assert_eq!(
        httpdate::fmt_http_date(parsed),
        date,
        "Date must be in the preferred IMF-fixdate format (RFC 9110 section 5.6.7)"
    );
    let skew = match parsed.duration_since(SystemTime::now()) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    assert!(
        skew < Duration::from_secs(60),
        "Date {date:?} is {skew:?} away from this machine's clock"
    );
}

/// The bytes of a file of the bundled site.
pub fn site_file(relative: &str) -> Vec<u8> {
    let path = stagecraft::site_dir().join(relative);
    std::fs::read(&path).or_fail(&format!("reading {}", path.display()))
}

/// A file under the system temp dir, unique to this process and call, removed on drop.
pub struct TempFile {
    pub path: std::path::PathBuf,
}

impl TempFile {
    pub fn with_contents(name: &str, contents: &[u8]) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "stagecraft-conformance-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).or_fail(&format!("writing {}", path.display()));
        TempFile { path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Ignoring errors: a leftover file in the temp dir is harmless, and Drop cannot report.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `len` bytes that are not all alike, so a shifted or truncated echo does not look right.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|index| (index % 251) as u8).collect()
}

/// Waits up to `within` for the server to exit after a stop signal and checks it exited 0.
pub fn expect_exit_status_zero(server: &mut Server, within: Duration) {
    let status = server.wait_exit(within).or_fail("waiting for the exit");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
}
