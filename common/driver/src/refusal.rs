//! Refusing a connection past `--max-connections`: the same `503` in every stage, and the rule
//! for closing after it without destroying it.
//!
//! A server at its limit has two choices: stop accepting (clients then wait in the kernel's
//! backlog with no word, and once it is full their SYNs are dropped and retried after 1, 3, 7...
//! seconds), or accept and answer at once with `503` and `Retry-After`, which tells a client, or
//! a load balancer that can try another server, what happened. The stages that hold thousands
//! of connections (04 and 05) refuse; their refusal is this module's.
//!
//! # The bytes
//!
//! [`response`]: a `503` with `Date`, `Retry-After`, `Content-Length`, `Connection: close` and a
//! body that names the limit. Its HTTP framing is the protocol crate's
//! ([`protocol::http1::refusal`]); the words are the server's.
//!
//! # Write, half-close, drain
//!
//! Nothing of the request is read before the refusal: refusing must stay much cheaper than
//! serving. But the client has most likely sent its request already, and closing a socket with
//! unread bytes in its receive buffer makes Linux send a reset (RFC 9293 section 3.6.1), which
//! can reach the client before it has read the `503` and make its kernel throw the response
//! away. So a refusal is three steps:
//!
//! 1. [`begin`]: send the whole response (a new socket's send buffer is empty, so it fits) and
//!    shut down the writing side: the client reads the `503`, then the end of the stream;
//! 2. [`drain`]: read and throw away whatever the client sends, until it closes its side;
//! 3. close, once the client has closed or after [`LINGER`], whichever comes first.
//!
//! A lingering refusal holds a descriptor, so at most [`MAX_AT_ONCE`] linger at a time; past
//! that a refusal is sent and closed at once ([`begin`], then drop), which may end in a reset
//! but never in silence. [`refuse`] is the whole rule for a blocking `std` socket;
//! [`Lingering`] is the table an event loop keeps, since it cannot wait on one socket; stage
//! 05's tasks write the same three steps with `.await`.

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant, SystemTime};

use socket2::SockRef;

/// The seconds a refused client is asked to wait before it tries again (`Retry-After`).
pub const RETRY_AFTER_SECS: u32 = 1;

/// How long a refused connection is kept open to drain, at most.
pub const LINGER: Duration = Duration::from_secs(1);

/// Refusals that may linger at once (per event loop, or per server in stage 05).
pub const MAX_AT_ONCE: usize = 64;

// ANCHOR: response
/// The `503` for a server that holds at most `max_connections` connections, dated `date`.
pub fn response(date: SystemTime, max_connections: usize) -> Vec<u8> {
    let explanation = format!(
        "503 Service Unavailable: this server holds at most {max_connections} connections at \
         once (--max-connections), and all are taken; try again in {RETRY_AFTER_SECS} s\n"
    );
    protocol::http1::refusal::refusal(date, RETRY_AFTER_SECS, &explanation)
}
// ANCHOR_END: response

// ANCHOR: client_response
/// The `429` for a client that holds `max` connections already (`--max-connections-per-client`),
/// dated `date`: the same framing and closing rule as the `503`, another status and reason.
pub fn client_response(date: SystemTime, max: u32) -> Vec<u8> {
    let explanation = format!(
        "429 Too Many Requests: this server holds at most {max} connections at once from one \
         client (--max-connections-per-client), and yours are all open; try again in \
         {RETRY_AFTER_SECS} s\n"
    );
    protocol::http1::refusal::closing_response(
        protocol::StatusCode::TOO_MANY_REQUESTS,
        date,
        &[("retry-after", &RETRY_AFTER_SECS.to_string())],
        &explanation,
    )
}
// ANCHOR_END: client_response

// ANCHOR: begin
/// Step 1: sends all of `response` on a connection nothing was read from yet, then shuts down
/// the writing side. An error means the client is gone (or, on a non-blocking socket, that the
/// send buffer was full, which a new socket's is not): close the socket, there is nobody to
/// refuse.
pub fn begin(socket: impl AsFd, response: &[u8]) -> io::Result<()> {
    let mut rest = response;
    while !rest.is_empty() {
        match crate::sendfile::send(&socket, rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => rest = &rest[sent..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    SockRef::from(&socket).shutdown(Shutdown::Write)
}
// ANCHOR_END: begin

/// Step 2: reads and throws away what the client sent. Returns `Ok(())` once the client has
/// closed its side (the refusal is complete: close the socket), or the error of the read that
/// stopped it: `WouldBlock` when a non-blocking socket has nothing more for now (wait until it
/// is readable; tokio's `try_io` needs exactly that error to clear its readiness), `WouldBlock`
/// or `TimedOut` when a blocking socket's read timeout ran out, anything else when the client is
/// gone.
pub fn drain(socket: impl AsFd) -> io::Result<()> {
    let socket = SockRef::from(&socket);
    // Too small to matter on the stack; a refused client's request is thrown away unread.
    let mut discard = [0u8; 512];
    loop {
        match (&*socket).read(&mut discard) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

// ANCHOR: refuse
/// The whole refusal on a blocking socket: [`begin`], then [`drain`] until the client closes or
/// [`LINGER`] has passed. Returns when the socket may be closed; an error means the client went
/// away first, which needs no answer.
pub fn refuse(stream: &TcpStream, response: &[u8]) -> io::Result<()> {
    begin(stream, response)?;
    let until = Instant::now() + LINGER;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        stream.set_read_timeout(Some(left))?;
        match drain(stream) {
            Ok(()) => return Ok(()),
            // The read timeout ran out: the loop's check of the clock ends the linger.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(error) => return Err(error),
        }
    }
}
// ANCHOR_END: refuse

// ANCHOR: lingering
/// The refused connections an event loop keeps draining: at most [`MAX_AT_ONCE`], each until its
/// client closes or its [`LINGER`] is over.
///
/// The loop registers each socket for readable events under a token that encodes its index (from
/// [`vacant`](Self::vacant)), calls [`on_readable`](Self::on_readable) when that token comes
/// back, [`expire`](Self::expire) every turn, and includes [`next_deadline`](Self::next_deadline)
/// in its wait. Dropping a socket closes it, which also removes it from epoll.
#[derive(Debug)]
pub struct Lingering<S> {
    slots: Vec<Option<(S, Instant)>>,
    held: usize,
}

impl<S: AsFd> Default for Lingering<S> {
    fn default() -> Lingering<S> {
        Lingering {
            slots: (0..MAX_AT_ONCE).map(|_| None).collect(),
            held: 0,
        }
    }
}

impl<S: AsFd> Lingering<S> {
    /// An empty table of [`MAX_AT_ONCE`] places.
    pub fn new() -> Lingering<S> {
        Lingering::default()
    }

    /// A free place, or `None` when [`MAX_AT_ONCE`] refusals linger already.
    pub fn vacant(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    /// Keeps `socket`, refused (after [`begin`]) at `now`, in place `index` (from
    /// [`vacant`](Self::vacant)) until its client closes or `now + LINGER`.
    pub fn insert(&mut self, index: usize, socket: S, now: Instant) {
        if let Some(place) = self.slots.get_mut(index) {
            if place.replace((socket, now + LINGER)).is_none() {
                self.held += 1;
            }
        }
    }

    /// Drains the socket in place `index`, and closes it when its client has closed or is gone.
    pub fn on_readable(&mut self, index: usize) {
        let Some(place) = self.slots.get_mut(index) else {
            return;
        };
        let done = match place {
            Some((socket, _)) => {
                !matches!(drain(&*socket), Err(error) if error.kind() == io::ErrorKind::WouldBlock)
            }
            None => false,
        };
        if done {
            *place = None;
            self.held -= 1;
        }
    }

    /// Closes the refusals whose linger is over at `now`.
    pub fn expire(&mut self, now: Instant) {
        for place in &mut self.slots {
            if place.as_ref().is_some_and(|(_, until)| *until <= now) {
                *place = None;
                self.held -= 1;
            }
        }
    }

    /// When the next linger ends, if any refusal lingers.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|(_, until)| *until).min()
    }

    /// How many refusals linger.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Whether none lingers.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }
}
// ANCHOR_END: lingering

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::tcp_pair;
    use std::io::Write;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn the_response_names_the_limit_and_is_framed() {
        let bytes = response(SystemTime::now(), 2);
        let text = String::from_utf8(bytes).expect("ASCII");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(head.contains("\r\nretry-after: 1\r\n"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(body.contains("at most 2 connections") && body.contains("--max-connections"));
    }

    #[test]
    fn a_client_that_sent_a_request_reads_the_whole_503_then_the_end() {
        let (server, mut client) = tcp_pair();
        // The request is in the server's receive buffer before the refusal: closing over it
        // without draining is what would send the reset.
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .expect("sending a request");
        let bytes = response(SystemTime::now(), 1);
        let refusing = thread::spawn(move || {
            let result = refuse(&server, &bytes);
            drop(server);
            result
        });
        let mut received = Vec::new();
        client
            .read_to_end(&mut received)
            .expect("the 503 and a clean end, not a reset");
        assert!(received.starts_with(b"HTTP/1.1 503 "));
        // The client closes; the refusal sees it and returns well before its linger is over.
        drop(client);
        refusing
            .join()
            .expect("the refusing thread does not panic")
            .expect("a refusal the client read is a success");
    }

    #[test]
    fn a_client_that_never_closes_is_let_go_after_the_linger() {
        let (server, mut client) = tcp_pair();
        let started = Instant::now();
        refuse(
            &server,
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
        )
        .expect("the refusal is sent");
        let took = started.elapsed();
        assert!(
            took >= LINGER,
            "returned after {took:?}, before the linger was over"
        );
        assert!(took < LINGER * 5, "lingered {took:?}");
        let mut received = Vec::new();
        client
            .read_to_end(&mut received)
            .expect("the 503, then the end");
        assert!(received.starts_with(b"HTTP/1.1 503 "));
    }

    #[test]
    fn the_lingering_table_drains_closes_and_expires() {
        let mut table = Lingering::new();
        let (first, mut first_client) = tcp_pair();
        let (second, _second_client) = tcp_pair();
        first.set_nonblocking(true).expect("non-blocking");
        second.set_nonblocking(true).expect("non-blocking");
        let now = Instant::now();
        for socket in [first, second] {
            begin(&socket, b"503\r\n").expect("sending");
            let index = table.vacant().expect("room for two");
            table.insert(index, socket, now);
        }
        assert_eq!(table.len(), 2);
        assert_eq!(table.next_deadline(), Some(now + LINGER));

        // Data without a close keeps it; a close ends it.
        first_client.write_all(b"more").expect("sending");
        table.on_readable(0);
        assert_eq!(table.len(), 2, "still open: the client has not closed");
        let mut received = [0u8; 5];
        first_client.read_exact(&mut received).expect("the refusal");
        drop(first_client);
        let deadline = Instant::now() + Duration::from_secs(5);
        while table.len() == 2 {
            assert!(Instant::now() < deadline, "the close was never seen");
            thread::sleep(Duration::from_millis(5));
            table.on_readable(0);
        }
        assert_eq!(table.vacant(), Some(0), "its place is free again");

        // The other never closes: its linger ends it.
        table.expire(now + LINGER - Duration::from_millis(1));
        assert_eq!(table.len(), 1);
        table.expire(now + LINGER);
        assert!(table.is_empty());
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn the_lingering_table_is_bounded() {
        let mut table = Lingering::new();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding");
        let addr = listener.local_addr().expect("a bound address");
        let mut clients = Vec::new();
        for _ in 0..MAX_AT_ONCE {
            clients.push(TcpStream::connect(addr).expect("connecting"));
            let (socket, _) = listener.accept().expect("accepting");
            let index = table.vacant().expect("room");
            table.insert(index, socket, Instant::now());
        }
        assert_eq!(table.len(), MAX_AT_ONCE);
        assert_eq!(table.vacant(), None);
    }
}
