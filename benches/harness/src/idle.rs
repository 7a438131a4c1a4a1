//! The idle-connections scenario's client: open many connections, have each answered once (so
//! the server has set up whatever it keeps per connection), and hold them open and silent while
//! the server's memory is read. This is the C10K question, asked of each model: what does a
//! connection that does nothing cost?
//!
//! Everything is bounded: each connect waits at most [`CONNECT_TIMEOUT`], connecting stops after
//! a few failures in a row (a server that does not accept fills its listen backlog, and then
//! connects time out), and all answers must arrive before one overall deadline. A server that
//! cannot hold the connections is reported with how many it did hold.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long one connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Consecutive failed connects after which the harness stops trying.
const FAILURES_IN_A_ROW: usize = 3;

/// Connections opened and answered, and kept open until this is dropped.
pub struct Held {
    pub attempted: usize,
    pub answered: usize,
    /// Why fewer than `attempted` were answered, if they were.
    pub problem: Option<String>,
    _streams: Vec<TcpStream>,
}

/// Opens `count` connections to `addr`, sends `GET path` on each, and reads each answer, all
/// before `deadline` passes.
pub fn hold(addr: SocketAddr, count: usize, path: &str, deadline: Duration) -> Held {
    // Every held connection is a descriptor here too. Should raising fail, connecting stops
    // early and `Held::problem` says why.
    stagekit::procfs::raise_open_file_limit(u64::try_from(count + 100).unwrap_or(u64::MAX));
    let give_up = Instant::now() + deadline;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut streams = Vec::with_capacity(count);
    let mut problem = None;
    let mut failures = 0;
    while streams.len() < count && failures < FAILURES_IN_A_ROW && Instant::now() < give_up {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .and_then(|mut stream| stream.write_all(request.as_bytes()).map(|()| stream))
        {
            Ok(stream) => {
                failures = 0;
                streams.push(stream);
            }
            Err(error) => {
                failures += 1;
                problem = Some(format!("connect {} failed: {error}", streams.len() + 1));
            }
        }
    }
    let mut answered = 0;
    for stream in &mut streams {
        let left = give_up.saturating_duration_since(Instant::now());
        match read_one_response(stream, left) {
            Ok(()) => answered += 1,
            Err(error) => {
                problem.get_or_insert_with(|| {
                    format!("answer {} did not come: {error}", answered + 1)
                });
                // Once the deadline has passed the others get no time at all, so the loop ends
                // quickly whatever the server does.
            }
        }
    }
    Held {
        attempted: count,
        answered,
        problem,
        _streams: streams,
    }
}

/// Reads one complete `Content-Length` response from `stream` within `timeout`.
fn read_one_response(stream: &mut TcpStream, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(total) = response_length(&received)? {
            if received.len() >= total {
                return Ok(());
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The total length of the response at the start of `bytes` once its head is complete.
fn response_length(bytes: &[u8]) -> io::Result<Option<usize>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
    };
    let length = response
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("content-length"))
        .and_then(|header| std::str::from_utf8(header.value).ok())
        .and_then(|value| value.trim().parse::<usize>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
    Ok(Some(head + length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn response_length_needs_a_complete_head() {
        assert_eq!(
            response_length(b"HTTP/1.1 200 OK\r\nContent-Le").ok(),
            Some(None)
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(response_length(head).ok(), Some(Some(head.len() + 5)));
        assert!(response_length(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    #[test]
    fn holds_connections_a_server_answers_and_counts_those_it_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("bound");
        // Answers the first three connections and never reads the others.
        let server = thread::spawn(move || {
            let mut kept = Vec::new();
            for _ in 0..3 {
                let (mut stream, _) = listener.accept().expect("accept");
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).expect("request");
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .expect("answer");
                kept.push(stream);
            }
            (listener, kept)
        });
        let held = hold(addr, 5, "/", Duration::from_millis(500));
        assert_eq!(held.attempted, 5);
        assert_eq!(held.answered, 3);
        assert!(held.problem.is_some());
        drop(held);
        let _ = server.join();
    }
}
