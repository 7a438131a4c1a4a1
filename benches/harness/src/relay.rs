//! A TCP relay that delays every chunk it forwards, in both directions: a long network path in
//! user space, for the page-load scenarios ([`crate::pageload`]).
//!
//! On loopback a round trip takes microseconds, so a page of thirty files costs HTTP/1.1 no more
//! than HTTP/2: the rounds that HTTP/1.1 waits through and HTTP/2 does not are free. The kernel's
//! way to lengthen them, `tc qdisc ... netem delay`, does not work on these machines, so the
//! harness puts this relay between client and server instead: it listens on `127.0.0.1` (a port
//! of its own), connects each accepted connection to the server, and forwards the bytes of each
//! direction after a fixed one-way delay. A delay `d` each way is a round-trip time of `2d`, as
//! netem's `delay d` on both ends would make it.
//!
//! What it models and what it does not:
//!
//! - **Latency, not bandwidth.** Each chunk read is stamped with the time it arrived and written
//!   `d` later by the direction's writer thread; chunks queue in order, so many in flight at once
//!   are all delayed by `d` and no more, as on a long but wide path. There is no loss, no
//!   bandwidth limit, and no slow start beyond what the kernel's loopback TCP does itself.
//! - **The TCP handshake.** The relay accepts at once (the kernel completes the client's
//!   handshake), then connects to the server; the client's first bytes reach the server `d`
//!   later, and the answer comes back `d` after it left. So `connect` itself costs no round trip
//!   here, where on a real path it costs one. The page loads count it by hand: the client waits
//!   one round trip after `connect` returns ([`Relay::round_trip`]), so that a new connection
//!   costs what it would cost on the path being modelled.
//! - **Close.** An end of stream read on one side is passed on as a shutdown of writing on the
//!   other, `d` later, after the bytes before it; an error on either socket closes both
//!   ([`std::net::Shutdown::Both`]), so the other end sees the connection end rather than hang.
//!
//! Threads, not an event loop: a page load has at most a few connections open at once, and four
//! threads per connection (a reader and a writer in each direction) keep the code a straight
//! read-stamp-sleep-write loop that a reader can check by eye. The threads run where the harness
//! runs, on the client CPUs, beside the client.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The largest chunk read at once: a TLS record and a bit, so one read is one network event.
const CHUNK: usize = 16 * 1024 + 512;

/// A running relay: where to connect, and the delay it adds. Dropping it (or [`Relay::stop`])
/// stops accepting and closes every connection it holds.
pub struct Relay {
    addr: SocketAddr,
    one_way: Duration,
    stopping: Arc<AtomicBool>,
    /// Both sockets of every connection relayed so far, to close them at the end.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl Relay {
    /// Listens on `127.0.0.1`, port 0 (the kernel picks one), and relays every connection to
    /// `upstream` with `one_way` added in each direction.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let stopping = Arc::clone(&stopping);
            let sockets = Arc::clone(&sockets);
            thread::Builder::new()
                .name("relay-accept".into())
                .spawn(move || accept_loop(listener, upstream, one_way, &stopping, &sockets))?
        };
        Ok(Relay {
            addr,
            one_way,
            stopping,
            sockets,
            acceptor: Some(acceptor),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The round trip the relay adds: twice the one-way delay.
    pub fn round_trip(&self) -> Duration {
        self.one_way * 2
    }

    /// Stops accepting, closes every relayed connection, and waits for the accepting thread.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which checks `stopping` after each accept. Ignoring the
        // error: if the connect fails the listener is already gone, which is the aim.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            // Ignoring a panic of the accept loop: there is nothing left to stop.
            let _ = acceptor.join();
        }
        for socket in lock(&self.sockets).drain(..) {
            // Ignoring the error: a socket the peer already closed is closed enough.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The socket list, even if a thread panicked while holding it (a list of sockets cannot be
/// left half-updated in a way that matters: the worst is a socket closed twice).
fn lock(sockets: &Mutex<Vec<TcpStream>>) -> std::sync::MutexGuard<'_, Vec<TcpStream>> {
    sockets
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    one_way: Duration,
    stopping: &AtomicBool,
    sockets: &Mutex<Vec<TcpStream>>,
) {
    for client in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        // A failed accept (the client gave up) or connect (the server is gone) drops this
        // connection only: the client sees it close, which is what the path would do.
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(upstream) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        if relay_pair(client, server, one_way, sockets).is_err() {
            continue;
        }
    }
}

/// Starts the four threads of one connection.
fn relay_pair(
    client: TcpStream,
    server: TcpStream,
    one_way: Duration,
    sockets: &Mutex<Vec<TcpStream>>,
) -> io::Result<()> {
    {
        let mut list = lock(sockets);
        list.push(client.try_clone()?);
        list.push(server.try_clone()?);
    }
    direction(client.try_clone()?, server.try_clone()?, one_way, "up")?;
    direction(server, client, one_way, "down")
}

/// What a reader hands its writer: bytes due at a time, or the end of the stream.
enum Chunk {
    Bytes { due: Instant, bytes: Vec<u8> },
    End { due: Instant },
}

// ANCHOR: relay_direction
/// One direction of a connection: a reader that stamps each chunk with when it is due, and a
/// writer that waits until then and writes it, so every byte arrives `one_way` after it left.
fn direction(
    mut from: TcpStream,
    mut to: TcpStream,
    one_way: Duration,
    name: &str,
) -> io::Result<()> {
    let (send, receive) = mpsc::channel::<Chunk>();
    let closer = to.try_clone()?;
    thread::Builder::new()
        .name(format!("relay-{name}-read"))
        .spawn(move || {
            let mut buf = vec![0; CHUNK];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        // End of stream or a reset: passed on after the bytes before it.
                        let _ = send.send(Chunk::End {
                            due: Instant::now() + one_way,
                        });
                        return;
                    }
                    Ok(n) => {
                        let chunk = Chunk::Bytes {
                            due: Instant::now() + one_way,
                            bytes: buf[..n].to_vec(),
                        };
                        if send.send(chunk).is_err() {
                            // The writer is gone (its socket failed): stop reading too.
                            let _ = from.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                }
            }
        })?;
    thread::Builder::new()
        .name(format!("relay-{name}-write"))
        .spawn(move || {
            for chunk in receive {
                let due = match &chunk {
                    Chunk::Bytes { due, .. } | Chunk::End { due } => *due,
                };
                // Sleeps until the chunk is due; one that is already late goes at once.
                thread::sleep(due.saturating_duration_since(Instant::now()));
                match chunk {
                    Chunk::Bytes { bytes, .. } => {
                        if to.write_all(&bytes).is_err() {
                            let _ = closer.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                    Chunk::End { .. } => {
                        let _ = to.shutdown(Shutdown::Write);
                        return;
                    }
                }
            }
        })?;
    Ok(())
}
// ANCHOR_END: relay_direction

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that echoes every byte back until the client stops writing, then closes.
    fn echo_server() -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("the test connects");
            let mut seen = Vec::new();
            let mut buf = [0; 4096];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        seen.extend_from_slice(&buf[..n]);
                        conn.write_all(&buf[..n]).expect("echo");
                    }
                }
            }
            seen
        });
        (addr, handle)
    }

    fn connect(relay: &Relay) -> TcpStream {
        let conn = TcpStream::connect(relay.addr()).expect("connect to the relay");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a read timeout");
        conn
    }

    #[test]
    fn a_round_trip_takes_at_least_twice_the_one_way_delay() {
        let (upstream, server) = echo_server();
        let one_way = Duration::from_millis(30);
        let relay = Relay::start(upstream, one_way).expect("relay starts");
        assert_eq!(relay.round_trip(), one_way * 2);
        let mut conn = connect(&relay);
        let started = Instant::now();
        conn.write_all(b"ping").expect("write");
        let mut back = [0; 4];
        conn.read_exact(&mut back).expect("the echo comes back");
        // A lower bound, not a speed: the relay must never deliver early.
        assert!(started.elapsed() >= one_way * 2, "{:?}", started.elapsed());
        assert_eq!(&back, b"ping");
        drop(conn);
        let _ = server.join();
    }

    #[test]
    fn bytes_arrive_unchanged_in_both_directions_and_close_propagates() {
        let (upstream, server) = echo_server();
        let relay = Relay::start(upstream, Duration::from_millis(2)).expect("relay starts");
        let mut conn = connect(&relay);
        // A megabyte of every byte value, in many chunks, so that order and content both count.
        let sent: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        let mut writer = conn.try_clone().expect("clone the socket");
        let to_send = sent.clone();
        let writing = thread::spawn(move || {
            writer.write_all(&to_send).expect("write through the relay");
            // The client's end of stream must reach the server, which then closes.
            writer.shutdown(Shutdown::Write).expect("shutdown");
        });
        let mut back = Vec::new();
        // read_to_end returns only when the server's close came back through the relay.
        conn.read_to_end(&mut back).expect("read until the close");
        writing.join().expect("the writer finished");
        assert_eq!(back.len(), sent.len());
        assert!(back == sent, "the echoed bytes differ");
        let seen = server.join().expect("the server finished");
        assert!(seen == sent, "the server saw other bytes than were sent");
    }

    #[test]
    fn a_server_that_closes_first_closes_the_client_and_stop_ends_open_connections() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let upstream = listener.local_addr().expect("address");
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            conn.write_all(b"bye").expect("write");
            // Closes at once: the client must see the bytes, then the end.
            drop(conn);
            // A second connection that the server holds open: stop() must end it.
            let (held, _) = listener.accept().expect("accept the second");
            held
        });
        let mut relay = Relay::start(upstream, Duration::from_millis(5)).expect("relay starts");
        let mut first = connect(&relay);
        let mut got = Vec::new();
        first.read_to_end(&mut got).expect("read until the close");
        assert_eq!(got, b"bye");
        let mut second = connect(&relay);
        // Wait for the relay to have connected upstream (the server thread returns then).
        let held = server.join().expect("the server accepted twice");
        relay.stop();
        let mut rest = Vec::new();
        // The relay closed its side: an end of stream (or a reset), not the read timeout.
        match second.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(error) => assert!(
                !matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "the connection was left open: {error}"
            ),
        }
        assert!(rest.is_empty());
        drop(held);
    }
}
