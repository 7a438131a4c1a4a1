//! The idle-connections scenario's client: open many connections, have each answered once (so
//! the server has set up whatever it keeps per connection), and hold them open and silent while
//! the server's memory is read. This is the C10K question, asked of each model: what does a
//! connection that does nothing cost?
//!
//! While they are held it also asks what they cost everyone else: how long one request on a new
//! connection takes ([`one_request`]), and how long [`REUSED`] of the held connections take to
//! each send one more request and get the answer ([`Held::reuse`]).
//!
//! Everything is bounded: each connect waits at most [`CONNECT_TIMEOUT`], each answer at most
//! [`ANSWER_TIMEOUT`], connecting stops after a few failed connects in a row or at the first
//! answer that does not come, and everything must be done before one overall deadline. The
//! client reads answers as it goes, never more than [`UNANSWERED`] behind, so that it measures
//! how many connections a server holds rather than how big a burst its accept queue takes. A server that
//! cannot hold the connections is reported with how many it did hold.
//!
//! Over TLS ([`crate::tls::Client`]) each connection's handshake is completed at its connect,
//! before its request is sent, so a held TLS connection is one whose handshake is done and whose
//! one request was answered.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::tls::{Client, Conn};

/// How long one connect may take. Longer than the kernel's first two SYN retransmissions (1 s,
/// then 2 s more): when a server's accept queue is full for a moment, Linux drops the SYN and
/// the client sends it again a second later. A shorter limit (this was 1 s) gave up on a
/// server that was only busy starting threads, and read as "it cannot hold more".
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

/// Consecutive failed connects after which the harness stops trying.
pub const FAILURES_IN_A_ROW: usize = 3;

/// How many held connections [`Held::reuse`] asks again (the book's C10K chapter uses 100).
pub const REUSED: usize = 100;

/// Connections opened and answered, and kept open until this is dropped.
pub struct Held {
    pub attempted: usize,
    pub answered: usize,
    /// From the first connect to the last answer (or to giving up).
    pub elapsed: Duration,
    /// Why fewer than `attempted` were answered, if they were.
    pub problem: Option<String>,
    /// The open connections, each with whether its answer came.
    streams: Vec<(Conn, bool)>,
}

/// What [`Held::reuse`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Reused {
    /// Held connections that sent one more request.
    pub asked: usize,
    pub answered: usize,
    /// From the first request sent to the last answer read (or to giving up).
    pub elapsed: Duration,
    /// Why fewer than `asked` were answered, if they were.
    pub problem: Option<String>,
}

impl Held {
    /// Sends one more `GET path` on up to `count` of the answered connections, spread evenly
    /// over them (the oldest and the newest alike), then reads every answer, all within
    /// `timeout`.
    pub fn reuse(
        &mut self,
        count: usize,
        path: &str,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Reused {
        let started = Instant::now();
        let give_up = started + timeout;
        let request = request(path, addr);
        let answered: Vec<usize> = (0..self.streams.len())
            .filter(|&i| self.streams[i].1)
            .collect();
        let step = answered.len().div_ceil(count.max(1)).max(1);
        let chosen: Vec<usize> = answered.iter().copied().step_by(step).take(count).collect();
        let mut problem = None;
        let mut sent = Vec::new();
        for &i in &chosen {
            match self.streams[i].0.write_all(request.as_bytes()) {
                Ok(()) => sent.push(i),
                Err(error) => {
                    problem.get_or_insert_with(|| {
                        format!("a held connection could not send: {error}")
                    });
                }
            }
        }
        let mut done = 0;
        for i in sent {
            let left = give_up.saturating_duration_since(Instant::now());
            match read_one_response(&mut self.streams[i].0, left) {
                Ok(()) => done += 1,
                Err(error) => {
                    problem.get_or_insert_with(|| {
                        format!("an answer on a held connection did not come: {error}")
                    });
                }
            }
        }
        Reused {
            asked: chosen.len(),
            answered: done,
            elapsed: started.elapsed(),
            problem,
        }
    }
}

fn request(path: &str, addr: SocketAddr) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

/// One `GET path` on a new connection to `addr` (over TLS with `tls`, the handshake included),
/// from connect to the answer's last byte, within `timeout`; the connection is closed afterwards.
pub fn one_request(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
    tls: Option<&Client>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = Conn::connect(addr, tls, timeout.min(CONNECT_TIMEOUT))
        .map_err(|error| format!("a new connection failed: {error}"))?;
    stream
        .write_all(request(path, addr).as_bytes())
        .map_err(|error| format!("a new connection could not send: {error}"))?;
    let left = timeout.saturating_sub(started.elapsed());
    read_one_response(&mut stream, left).map_err(|error| match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!(
            "a request on a new connection was not answered within {:.0} s",
            timeout.as_secs_f64()
        ),
        _ => format!("a request on a new connection was not answered: {error}"),
    })?;
    Ok(started.elapsed())
}

/// Connections that may be open and not yet answered while more are opened. The harness reads
/// the oldest answer before it opens more, so it waits for the server instead of overrunning
/// its listen backlog (128 for a server that keeps std's default): the question is how many
/// connections a server can hold, not how fast it accepts a burst. 64 keeps the accept queue
/// busy without filling it.
pub const UNANSWERED: usize = 64;

/// How long one answer may take before the harness concludes the server holds no more: a
/// server that gives each open connection a thread or a process never answers the one past
/// its last.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(4);

/// Opens `count` connections to `addr` (over TLS with `tls`), sending `GET path` on each and
/// reading the answers as it goes (at most [`UNANSWERED`] behind), all within `deadline`.
/// Connecting stops at a connect that fails [`FAILURES_IN_A_ROW`] times in a row, at an answer
/// that does not come within [`ANSWER_TIMEOUT`], or at the deadline; [`Held::problem`] says
/// which.
pub fn hold(
    addr: SocketAddr,
    count: usize,
    path: &str,
    deadline: Duration,
    tls: Option<&Client>,
) -> Held {
    // Every held connection is a descriptor here too. Should raising fail, connecting stops
    // early and `Held::problem` says why.
    stagekit::procfs::raise_open_file_limit(u64::try_from(count + 100).unwrap_or(u64::MAX));
    let started = Instant::now();
    let give_up = started + deadline;
    let request = request(path, addr);
    let mut streams: Vec<(Conn, bool)> = Vec::with_capacity(count);
    let mut problem = None;
    let mut failures = 0;
    let mut answered = 0;
    // Reads the answer of the oldest unanswered connection; false when it did not come.
    let read_next =
        |streams: &mut Vec<(Conn, bool)>, answered: &mut usize, problem: &mut Option<String>| {
            let left = give_up
                .saturating_duration_since(Instant::now())
                .min(ANSWER_TIMEOUT);
            let held = streams.len();
            let (stream, ok) = &mut streams[*answered];
            match read_one_response(stream, left) {
                Ok(()) => {
                    *ok = true;
                    *answered += 1;
                    true
                }
                Err(error) => {
                    let why = if error.kind() == io::ErrorKind::TimedOut {
                        format!("within {:.1} s", left.as_secs_f64())
                    } else {
                        format!("({error})")
                    };
                    problem.get_or_insert_with(|| {
                        format!(
                            "answer {} did not come {why} with {held} connections open",
                            *answered + 1
                        )
                    });
                    false
                }
            }
        };
    let mut stalled = false;
    while streams.len() < count && !stalled {
        if failures == FAILURES_IN_A_ROW {
            break;
        }
        if Instant::now() >= give_up {
            problem.get_or_insert_with(|| {
                format!(
                    "the harness's deadline of {:.0} s passed after {} connects",
                    deadline.as_secs_f64(),
                    streams.len()
                )
            });
            break;
        }
        match Conn::connect(addr, tls, CONNECT_TIMEOUT)
            .and_then(|mut stream| stream.write_all(request.as_bytes()).map(|()| stream))
        {
            Ok(stream) => {
                failures = 0;
                streams.push((stream, false));
            }
            Err(error) => {
                failures += 1;
                problem = Some(format!("connect {} failed: {error}", streams.len() + 1));
            }
        }
        while streams.len() - answered > UNANSWERED {
            if !read_next(&mut streams, &mut answered, &mut problem) {
                stalled = true;
                break;
            }
        }
    }
    // The last answers; after one that does not come, the rest are not waited for.
    while !stalled && answered < streams.len() {
        stalled = !read_next(&mut streams, &mut answered, &mut problem);
    }
    Held {
        attempted: count,
        answered,
        elapsed: started.elapsed(),
        problem,
        streams,
    }
}

/// Reads one complete `Content-Length` response from `stream` within `timeout`.
pub(crate) fn read_one_response(stream: &mut Conn, timeout: Duration) -> io::Result<()> {
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
        stream.tcp().set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            // A read timeout is WouldBlock on Linux; say what it means.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
            }
            Err(error) => return Err(error),
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
        let held = hold(addr, 5, "/", Duration::from_millis(500), None);
        assert_eq!(held.attempted, 5);
        assert_eq!(held.answered, 3);
        assert!(held.problem.is_some());
        assert!(
            held.elapsed >= Duration::from_millis(400),
            "{:?}",
            held.elapsed
        );
        drop(held);
        let _ = server.join();
    }

    /// Answers every request on every connection it accepts, `ok` each time, until the client
    /// closes; `accepts` connections at most.
    fn answering_server(accepts: usize) -> (SocketAddr, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("bound");
        let server = thread::spawn(move || {
            let mut threads = Vec::new();
            for _ in 0..accepts {
                let Ok((mut stream, _)) = listener.accept() else {
                    break;
                };
                threads.push(thread::spawn(move || {
                    let mut buffer = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buffer) {
                        if n == 0
                            || stream
                                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .is_err()
                        {
                            break;
                        }
                    }
                }));
            }
            for thread in threads {
                let _ = thread.join();
            }
        });
        (addr, server)
    }

    #[test]
    fn held_connections_are_asked_again_and_a_new_one_is_timed() {
        let (addr, server) = answering_server(11);
        let mut held = hold(addr, 10, "/", Duration::from_secs(5), None);
        assert_eq!((held.answered, held.problem.clone()), (10, None));
        let reused = held.reuse(4, "/", addr, Duration::from_secs(5));
        assert_eq!((reused.asked, reused.answered), (4, 4), "{reused:?}");
        assert!(reused.elapsed > Duration::ZERO);
        // More asked for than are held: each held one is asked once.
        let all = held.reuse(REUSED, "/", addr, Duration::from_secs(5));
        assert_eq!((all.asked, all.answered), (10, 10), "{all:?}");
        let new = one_request(addr, "/", Duration::from_secs(5), None).expect("answered");
        assert!(new < Duration::from_secs(5));
        drop(held);
        let _ = server.join();
    }

    #[test]
    fn a_new_request_nobody_answers_is_an_error_in_time() {
        // The listener accepts into its backlog but never reads: the request is never answered.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("bound");
        let started = Instant::now();
        let error =
            one_request(addr, "/", Duration::from_millis(300), None).expect_err("no answer");
        assert!(error.contains("not answered"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[test]
    fn tls_connections_are_held_after_their_handshake_and_asked_again() {
        let (_scratch, certificate) = crate::tls::tests::certificate("idle-tls");
        let server = crate::tls::tests::TinyServer::start(&certificate, true);
        let config =
            crate::tls::client_config(&certificate, &crate::tls::ClientSettings::any_version())
                .expect("client config");
        let client = Client::new(config);
        let mut held = hold(server.addr, 6, "/", Duration::from_secs(10), Some(&client));
        assert_eq!((held.answered, held.problem.clone()), (6, None));
        assert!(held
            .streams
            .iter()
            .all(|(conn, _)| matches!(conn, Conn::Tls(stream) if !stream.conn.is_handshaking())));
        let reused = held.reuse(3, "/", server.addr, Duration::from_secs(5));
        assert_eq!((reused.asked, reused.answered), (3, 3), "{reused:?}");
        one_request(server.addr, "/", Duration::from_secs(5), Some(&client)).expect("answered");
        drop(held);
    }
}
