//! The slow-clients scenario's trickler: slowloris connections held open beside wrk's load.
//!
//! Each of [`CONNECTIONS`] connections sends one byte of a request head every [`EVERY`] (the
//! head never ends: after [`HEAD`] its last header's value goes on with `a`s), so that a server
//! that gives a connection a thread or a worker while its head arrives spends one on each of
//! them. When the server cuts one (answers it, a 408, or closes it), the trickler opens a new
//! one at once (no sooner than [`REOPEN_AFTER`] after that slot's last), so that the server
//! faces the same number all along.
//!
//! Everything is bounded: one thread for all the connections, non-blocking sockets read every
//! [`POLL`] (an answer or a close is a cut), each connect waits at most [`CONNECT_TIMEOUT`],
//! each slot opens at most one connection per [`REOPEN_AFTER`], no more than
//! [`Plan::max_opens`] in all, and the thread ends by itself at [`Plan::lifetime`] if it is not
//! stopped before. [`Trickler::stop`] (or dropping it) ends the thread and closes every
//! connection.
//!
//! The counts the harness reports are per measured window: [`Trickler::mark`] before the window,
//! [`Trickler::window`] after it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Slow connections the scenario holds (the N).
pub const CONNECTIONS: u32 = 64;

/// How often each connection sends its next byte.
pub const EVERY: Duration = Duration::from_secs(1);

/// The header timeout the servers run with in the scenario (`--header-timeout` for the stages,
/// `client_header_timeout` for nginx): short enough that cutting happens inside a window.
pub const HEADER_TIMEOUT: &str = "2s";

/// How long one connect may take before it counts as failed (and is tried again a byte later).
/// Short, because one thread opens every connection: a server whose accept queue is full (where
/// the kernel drops the SYN and would send it again only after a second) holds up the others'
/// bytes for at most this long per try.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);

/// The least time between two connections of one slot: a cut connection is replaced at once,
/// but a server that cuts every connection as it comes is not answered with a connect storm.
pub const REOPEN_AFTER: Duration = Duration::from_millis(100);

/// How often the open connections are read, to find the ones the server cut.
pub const POLL: Duration = Duration::from_millis(20);

/// The start of every slow head; after it, `a` for ever (the `X-Slow` header's value).
pub const HEAD: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// The `i`th byte (from 0) of a slow head.
pub fn head_byte(i: u64) -> u8 {
    usize::try_from(i)
        .ok()
        .and_then(|i| HEAD.get(i).copied())
        .unwrap_or(b'a')
}

/// How a trickler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Slow connections kept open.
    pub connections: usize,
    /// Time between two bytes of a connection (the slots are spread evenly over it).
    pub every: Duration,
    /// The thread ends by itself after this long.
    pub lifetime: Duration,
    /// Connections opened in all, at most (the first ones included).
    pub max_opens: u64,
}

impl Plan {
    /// `connections` trickling a byte every [`EVERY`] for at most `lifetime`; opens bounded by
    /// one per slot per byte (a server that cuts a slow head sooner than a byte's time is not
    /// what the scenario measures; past the bound, a cut slot stays empty).
    pub fn new(connections: usize, lifetime: Duration) -> Plan {
        Plan::every(connections, EVERY, lifetime)
    }

    /// The same with another pace (the tests trickle faster).
    pub fn every(connections: usize, every: Duration, lifetime: Duration) -> Plan {
        let bytes = (lifetime.as_secs_f64() / every.as_secs_f64().max(1e-3)).ceil() as u64;
        Plan {
            connections,
            every,
            lifetime,
            max_opens: connections as u64 * (bytes + 1),
        }
    }
}

/// What the trickler has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Connections opened (connected).
    pub opened: u64,
    /// Open connections the server ended: answered (a 408) or closed.
    pub cut: u64,
    /// Of the cut ones, those the server answered before (or instead of) closing.
    pub answered: u64,
    /// Connects that failed or timed out.
    pub failed_connects: u64,
    /// Bytes of heads sent, over all connections.
    pub bytes_sent: u64,
    /// Slow connections open now.
    pub connected: usize,
}

/// A point [`Trickler::window`] counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    counts: Counts,
}

/// What happened between a [`Mark`] and now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub opened: u64,
    pub cut: u64,
    pub answered: u64,
    pub failed_connects: u64,
    /// The fewest slow connections open at once since the mark, counted after each pass over
    /// them (so a cut replaced at once does not count).
    pub fewest_connected: usize,
}

#[derive(Debug, Default)]
struct State {
    counts: Counts,
    /// The fewest connected since the last mark.
    fewest: usize,
}

struct Shared {
    stop: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in the thread leaves the counts as they were: still worth reading.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The slow connections, trickled by one thread until [`Trickler::stop`] or drop.
pub struct Trickler {
    plan: Plan,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Trickler {
    /// Starts the thread; the connections are opened one slot after another over the first
    /// [`Plan::every`] ([`Trickler::wait_connected`] waits for them).
    pub fn start(addr: SocketAddr, plan: Plan) -> io::Result<Trickler> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let own = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("slow-clients".into())
            .spawn(move || trickle(addr, plan, &own))?;
        Ok(Trickler {
            plan,
            shared,
            thread: Some(thread),
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.shared.state().counts
    }

    /// Waits until every slow connection is open, at most `timeout`; whether they are.
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        let give_up = Instant::now() + timeout;
        loop {
            if self.counts().connected >= self.plan.connections {
                return true;
            }
            if Instant::now() >= give_up || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    /// The start of a window: the counts now, and the fewest connected counted afresh.
    pub fn mark(&self) -> Mark {
        let mut state = self.shared.state();
        state.fewest = state.counts.connected;
        Mark {
            counts: state.counts,
        }
    }

    /// What happened since `mark`.
    pub fn window(&self, mark: &Mark) -> Window {
        let state = self.shared.state();
        let (now, then) = (state.counts, mark.counts);
        Window {
            opened: now.opened - then.opened,
            cut: now.cut - then.cut,
            answered: now.answered - then.answered,
            failed_connects: now.failed_connects - then.failed_connects,
            fewest_connected: state.fewest.min(now.connected),
        }
    }

    /// Ends the thread, which closes every connection, and returns the final counts.
    pub fn stop(mut self) -> Counts {
        self.end();
        self.counts()
    }

    fn end(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Trickler {
    fn drop(&mut self) {
        self.end();
    }
}

/// One slow connection's place: its stream while it is open, how much of its head it has
/// sent, and when its next byte is due.
struct Slot {
    stream: Option<TcpStream>,
    sent: u64,
    due: Instant,
    /// When its last connection was opened (or tried).
    opened_at: Option<Instant>,
}

/// The thread: every [`POLL`], read every open connection (to find the cut ones), then send
/// the next byte of each one that is due, opening a new connection for a slot that has none.
fn trickle(addr: SocketAddr, plan: Plan, shared: &Shared) {
    let started = Instant::now();
    let end = started + plan.lifetime;
    let spread = plan.every / u32::try_from(plan.connections.max(1)).unwrap_or(u32::MAX);
    let mut slots: Vec<Slot> = (0..plan.connections)
        .map(|i| Slot {
            stream: None,
            sent: 0,
            opened_at: None,
            due: started + spread * u32::try_from(i).unwrap_or(u32::MAX),
        })
        .collect();
    let mut buffer = [0u8; 512];
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < end {
        for slot in &mut slots {
            if let Some(stream) = &mut slot.stream {
                let cut = match stream.read(&mut buffer) {
                    Ok(0) => Some(false),
                    Ok(_) => Some(true),
                    Err(error)
                        if matches!(
                            error.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) =>
                    {
                        None
                    }
                    Err(_) => Some(false),
                };
                if let Some(answered) = cut {
                    slot.stream = None;
                    slot.due = reopen_at(slot);
                    let mut state = shared.state();
                    state.counts.cut += 1;
                    state.counts.answered += u64::from(answered);
                    state.counts.connected -= 1;
                }
            }
            let now = Instant::now();
            if now < slot.due || shared.stop.load(Ordering::SeqCst) {
                continue;
            }
            // The next byte a pace later; a slot that fell behind (a slow connect) is not
            // caught up in a burst.
            slot.due += plan.every;
            if slot.due < now {
                slot.due = now + plan.every;
            }
            match &mut slot.stream {
                Some(stream) => match stream.write(&[head_byte(slot.sent)]) {
                    Ok(1) => {
                        slot.sent += 1;
                        shared.state().counts.bytes_sent += 1;
                    }
                    // The send buffer is full (it never is, at a byte a second): next time.
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        // Cut: the next read says so too, but the connection is of no more use.
                        slot.stream = None;
                        slot.due = reopen_at(slot);
                        let mut state = shared.state();
                        state.counts.cut += 1;
                        state.counts.connected -= 1;
                    }
                },
                None => {
                    if shared.state().counts.opened >= plan.max_opens {
                        continue;
                    }
                    slot.opened_at = Some(now);
                    match open(addr) {
                        Ok(stream) => {
                            slot.stream = Some(stream);
                            slot.sent = 1;
                            let mut state = shared.state();
                            state.counts.opened += 1;
                            state.counts.bytes_sent += 1;
                            state.counts.connected += 1;
                        }
                        Err(_) => shared.state().counts.failed_connects += 1,
                    }
                }
            }
        }
        {
            let mut state = shared.state();
            state.fewest = state.fewest.min(state.counts.connected);
        }
        thread::sleep(POLL);
    }
    let open = slots.iter().filter(|slot| slot.stream.is_some()).count();
    drop(slots);
    let mut state = shared.state();
    state.counts.connected -= open;
}

/// When a slot whose connection was just cut opens the next: now, or [`REOPEN_AFTER`] after its
/// last open.
fn reopen_at(slot: &Slot) -> Instant {
    let now = Instant::now();
    slot.opened_at
        .map_or(now, |opened| now.max(opened + REOPEN_AFTER))
}

/// A new slow connection with the first byte of its head sent, non-blocking from then on.
fn open(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.write_all(&[head_byte(0)])?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A listener on 127.0.0.1 port 0 whose thread accepts `accept` connections and hands
    /// each to `each` (on the same thread, in order), then ends.
    fn server(
        accept: usize,
        each: impl Fn(usize, TcpStream) + Send + 'static,
    ) -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let thread = thread::spawn(move || {
            for i in 0..accept {
                match listener.accept() {
                    Ok((stream, _)) => each(i, stream),
                    Err(_) => return,
                }
            }
        });
        (addr, thread)
    }

    #[test]
    fn the_head_starts_as_a_request_and_never_ends() {
        let start: Vec<u8> = (0..HEAD.len() as u64).map(head_byte).collect();
        assert_eq!(start, HEAD);
        assert!(HEAD.starts_with(b"GET /plaintext HTTP/1.1\r\n"));
        assert!((HEAD.len() as u64..HEAD.len() as u64 + 10_000).all(|i| head_byte(i) == b'a'));
        assert!(!HEAD.windows(4).any(|w| w == b"\r\n\r\n"));
    }

    #[test]
    fn every_connection_trickles_its_head_a_byte_at_a_time_and_stays_open() {
        let (sender, received) = std::sync::mpsc::channel();
        let (addr, server) = server(4, move |_, mut stream| {
            let sender = sender.clone();
            thread::spawn(move || {
                // One read per byte: each arrives on its own, a pace apart.
                let mut head = Vec::new();
                let mut byte = [0u8; 8];
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                while head.len() < 6 {
                    match stream.read(&mut byte) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&byte[..n]),
                    }
                }
                let _ = sender.send(head);
                // Held open (and read) until the trickler closes it.
                while matches!(stream.read(&mut byte), Ok(n) if n > 0) {}
            });
        });
        let plan = Plan::every(4, Duration::from_millis(40), Duration::from_secs(20));
        let trickler = Trickler::start(addr, plan).expect("start");
        assert!(trickler.wait_connected(Duration::from_secs(5)));
        let mark = trickler.mark();
        for _ in 0..4 {
            let head = received
                .recv_timeout(Duration::from_secs(5))
                .expect("a head");
            assert_eq!(head, &HEAD[..6]);
        }
        let window = trickler.window(&mark);
        assert_eq!((window.cut, window.opened), (0, 0));
        assert_eq!(window.fewest_connected, 4);
        let counts = trickler.stop();
        assert_eq!(
            (counts.opened, counts.cut, counts.failed_connects),
            (4, 0, 0)
        );
        assert!(counts.bytes_sent >= 4 * 6, "{counts:?}");
        assert_eq!(counts.connected, 0, "every connection closed at the stop");
        server.join().expect("server");
    }

    #[test]
    fn a_cut_connection_is_counted_and_replaced() {
        // The first two connections are cut after their third byte: one answered with a 408,
        // one closed without a word; the rest are held until the trickler stops.
        let (addr, server) = server(4, move |i, mut stream| {
            thread::spawn(move || {
                let mut got = 0;
                let mut byte = [0u8; 8];
                while i < 2 && got < 3 {
                    match stream.read(&mut byte) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                if i == 0 {
                    // Answered, then closed once the client has read the answer (so that a byte
                    // sent meanwhile cannot turn the close into a reset that loses it).
                    let _ = stream.write_all(
                        b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\ncontent-length: 0\r\n\r\n",
                    );
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    while matches!(stream.read(&mut byte), Ok(n) if n > 0) {}
                    return;
                }
                if i == 1 {
                    return;
                }
                while matches!(stream.read(&mut byte), Ok(n) if n > 0) {}
            });
        });
        let plan = Plan::every(2, Duration::from_millis(30), Duration::from_secs(20));
        let trickler = Trickler::start(addr, plan).expect("start");
        let mark = trickler.mark();
        let give_up = Instant::now() + Duration::from_secs(10);
        while trickler.counts().opened < 4 && Instant::now() < give_up {
            thread::sleep(POLL);
        }
        assert!(trickler.wait_connected(Duration::from_secs(5)));
        let window = trickler.window(&mark);
        assert_eq!((window.opened, window.cut, window.answered), (4, 2, 1));
        assert!(window.fewest_connected < 2, "{window:?}");
        // A fresh window starts with every connection open again.
        let again = trickler.mark();
        thread::sleep(Duration::from_millis(100));
        let quiet = trickler.window(&again);
        assert_eq!((quiet.cut, quiet.fewest_connected), (0, 2));
        let counts = trickler.stop();
        assert_eq!((counts.cut, counts.connected), (2, 0));
        server.join().expect("server");
    }

    #[test]
    fn opens_are_bounded_and_the_thread_ends_at_its_lifetime() {
        // A server that closes every connection at its first byte: the trickler reopens at most
        // once per slot per byte, no more than max_opens in all, and stops by itself.
        let (addr, server) = server(12, |_, mut stream| {
            let _ = stream.read(&mut [0u8; 1]);
        });
        let mut plan = Plan::every(3, Duration::from_millis(10), Duration::from_millis(600));
        plan.max_opens = 12;
        let trickler = Trickler::start(addr, plan).expect("start");
        let started = Instant::now();
        while trickler.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "it did not end"
            );
            thread::sleep(POLL);
        }
        let counts = trickler.stop();
        assert_eq!(counts.opened, 12, "{counts:?}");
        assert_eq!(counts.connected, 0);
        assert!(counts.cut >= 9, "{counts:?}");
        server.join().expect("server");
    }

    #[test]
    fn a_port_nobody_listens_on_counts_failed_connects() {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr")
        };
        let plan = Plan::every(2, Duration::from_millis(20), Duration::from_secs(5));
        let trickler = Trickler::start(addr, plan).expect("start");
        assert!(!trickler.wait_connected(Duration::from_millis(300)));
        let counts = trickler.stop();
        assert_eq!((counts.opened, counts.connected), (0, 0));
        assert!(counts.failed_connects >= 2, "{counts:?}");
    }
}
