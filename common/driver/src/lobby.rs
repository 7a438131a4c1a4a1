//! The lobby: where connections wait, many at a time and watched by one thread, until they have
//! a request for a worker.
//!
//! A blocking worker (a thread of stage 02, a process of stage 03) serves one connection at a
//! time, and for as long as that connection waits for its client it waits with it. A client
//! that sends its request head one byte a second (slowloris) therefore holds a whole worker for
//! the header timeout, and a few dozen such clients hold all of them: nobody else is served.
//! The answer of Apache's event MPM, and of these two stages, is to let workers do only work.
//! Every connection that is waiting for (more of) a request head, a new one or a kept-alive one
//! between requests, waits here instead, in one epoll set; the lobby reads what arrives into the
//! connection's own protocol machine, and hands the connection to a worker only once the machine
//! has something to do: a whole head arrived (a request to answer, or a malformed one to
//! refuse), a timeout queued a `408`, or the client went away mid-head. A slow client then
//! costs a descriptor and a few KiB here, not a worker, and the header timeout cuts it here too.
//!
//! What it costs: a request on a kept-alive connection may cross two threads (or wait for the
//! process's own loop) instead of none: the lobby's `epoll_wait`, the hand-over, and the hand
//! back. The serving side softens that by lingering (stage 01's `serve_until`): after a response,
//! it waits a few milliseconds for the next request before handing the connection back, so a
//! client that sends its requests one after the other keeps its worker.
//!
//! The lobby is the same structure for both stages; who runs it differs. Stage 02 gives it a
//! thread of its own, which takes new and handed-back connections from a channel (its "door",
//! an eventfd, wakes it). Stage 03's single-threaded worker runs it as its own loop, between the
//! requests it serves, with the listening socket and the stop signal as its doors. Like the
//! rest of this crate it is I/O around the protocol machine, never protocol: what counts as
//! "waiting for its client" is the machine's answer ([`Connection::waits_for_client`]): a head
//! that has not all arrived, or a last response's lingering close, reading only to throw away
//! what the client still sends (after a `408`, say, which a worker writes and hands back).

use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use protocol::Connection;
use tracing::debug;

/// The first token of a guest: tokens below it are the doors a stage watches with
/// [`Lobby::watch`] (a listener, a wake-up descriptor), reported back as they are.
const FIRST_GUEST: u64 = 1 << 32;

// ANCHOR: linger
/// How long a worker that has answered a request waits for the next one on the same
/// connection before handing it back to the lobby. A client that sends its next request as soon
/// as it has read a response (a browser fetching a page's parts, a benchmark) is back well
/// within it and keeps its worker, unless other connections wait for one (then it is handed back
/// at once, so that one busy client cannot keep a worker from the rest); a slow client holds a
/// worker at most this long per response.
pub const LINGER: Duration = Duration::from_millis(5);
// ANCHOR_END: linger

/// Events taken from the kernel per wait.
const EVENTS_PER_WAIT: usize = 256;

/// A connection in the lobby, or leaving it: the socket, its protocol machine, and whatever the
/// stage keeps with them (the `/server-status` guard that counts it open, for instance).
pub struct Guest<T> {
    pub stream: TcpStream,
    pub conn: Connection,
    pub extra: T,
}

/// What became of a guest the lobby was asked to take.
pub enum Admitted<T> {
    /// It waits in the lobby.
    Waiting,
    /// It has work already (a whole request was in its buffer): for a worker, now (boxed: a
    /// guest is a socket and a whole protocol machine, the other answers nothing).
    Ready(Box<Guest<T>>),
    /// Its machine had closed: it was dropped, which closes the socket.
    Closed,
}

// ANCHOR: lobby
/// Connections waiting for a request head, watched by one epoll set (level-triggered: a guest
/// that is readable and not read stays readable), and the deadlines of their machines.
pub struct Lobby<T> {
    epoll: Epoll,
    /// Indexed by token minus [`FIRST_GUEST`]; a hole is a free slot, listed in `free`.
    guests: Vec<Option<Guest<T>>>,
    free: Vec<usize>,
    /// The earliest deadline any guest may have: no guest's timeout is due before it. Kept
    /// low, never exact (a guest that leaves does not raise it), so the scan of every guest
    /// runs only when one may be due.
    next_deadline: Option<Instant>,
    events: Vec<EpollEvent>,
}
// ANCHOR_END: lobby

impl<T> Lobby<T> {
    /// An empty lobby with its own epoll set.
    pub fn new() -> nix::Result<Lobby<T>> {
        Ok(Lobby {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?,
            guests: Vec::new(),
            free: Vec::new(),
            next_deadline: None,
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
        })
    }

    /// Watches a descriptor of the stage's own (a door: the listener, a wake-up eventfd) for
    /// reading; [`wait`](Self::wait) reports `token` when it is readable. `exclusive` asks
    /// the kernel to wake one of the processes watching it, not all (`EPOLLEXCLUSIVE`, for a
    /// listener several workers share).
    pub fn watch(&self, door: impl AsFd, token: u64, exclusive: bool) -> nix::Result<()> {
        assert!(
            token < FIRST_GUEST,
            "door tokens are below the guests' ({FIRST_GUEST})"
        );
        let mut flags = EpollFlags::EPOLLIN;
        if exclusive {
            flags |= EpollFlags::EPOLLEXCLUSIVE;
        }
        self.epoll.add(door, EpollEvent::new(flags, token))
    }

    /// Connections waiting in the lobby.
    pub fn len(&self) -> usize {
        self.guests.len() - self.free.len()
    }

    /// Whether no connection waits in the lobby.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether anything watched is ready to be looked at now (a guest's bytes, a door), without
    /// waiting and without taking it: a worker that serves its own lobby (stage 03) asks this
    /// before it lingers on one connection while others may be waiting.
    pub fn has_news(&self) -> bool {
        let mut one = [EpollEvent::empty(); 1];
        matches!(self.epoll.wait(&mut one, EpollTimeout::ZERO), Ok(n) if n > 0)
    }

    // ANCHOR: admit
    /// Takes a connection in: a new one, or one a worker hands back between requests. A guest
    /// that has work already is given straight back as [`Admitted::Ready`]; one whose machine
    /// has closed is dropped.
    pub fn admit(&mut self, guest: Guest<T>) -> io::Result<Admitted<T>> {
        if guest.conn.is_closed() {
            return Ok(Admitted::Closed);
        }
        if !waits_for_client(&guest.conn) {
            return Ok(Admitted::Ready(Box::new(guest)));
        }
        // Non-blocking while here: the lobby reads whatever has arrived and never waits on
        // one socket. A worker gets it back blocking (`leave`).
        guest.stream.set_nonblocking(true)?;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.guests.push(None);
            self.guests.len() - 1
        });
        let token = FIRST_GUEST + slot as u64;
        if let Err(errno) = self
            .epoll
            .add(&guest.stream, EpollEvent::new(EpollFlags::EPOLLIN, token))
        {
            self.free.push(slot);
            return Err(errno.into());
        }
        self.lower_next_deadline(guest.conn.poll_timeout());
        self.guests[slot] = Some(guest);
        Ok(Admitted::Waiting)
    }
    // ANCHOR_END: admit

    // ANCHOR: wait
    /// Waits up to `max_wait` for something to happen, then: reads what arrived for each
    /// readable guest into its machine, acts on the timeouts that are due, and moves every
    /// guest that now has work into `ready` (blocking again, out of the epoll set). Readable
    /// doors are added to `doors` by their tokens.
    pub fn wait(
        &mut self,
        max_wait: Duration,
        ready: &mut Vec<Guest<T>>,
        doors: &mut Vec<u64>,
    ) -> nix::Result<()> {
        let now = Instant::now();
        let wait = match self.next_deadline {
            Some(deadline) => max_wait.min(deadline.saturating_duration_since(now)),
            None => max_wait,
        };
        // Rounded up to the next millisecond: epoll counts in milliseconds, and a wait that is
        // rounded down to zero would spin until the deadline.
        let wait = wait.checked_add(Duration::from_micros(999)).unwrap_or(wait);
        let timeout = EpollTimeout::try_from(wait).unwrap_or(EpollTimeout::MAX);
        let woken = match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            // A signal handler ran: the caller looks at whatever flag it set.
            Err(Errno::EINTR) => 0,
            Err(errno) => return Err(errno),
        };
        let now = Instant::now();
        for index in 0..woken {
            let token = self.events[index].data();
            if token < FIRST_GUEST {
                doors.push(token);
                continue;
            }
            let slot = (token - FIRST_GUEST) as usize;
            if let Some(guest) = self.guests.get_mut(slot).and_then(Option::as_mut) {
                read_into_machine(guest, now);
                self.settle(slot, ready);
            }
        }
        if self.next_deadline.is_some_and(|deadline| deadline <= now) {
            self.act_on_timeouts(now, ready);
        }
        Ok(())
    }
    // ANCHOR_END: wait

    /// Tells every guest the server is stopping: an idle one is given
    /// `protocol::http1::STOP_GRACE` for a request on its way, a half-arrived head may finish
    /// (its response will close the connection).
    pub fn handle_shutdown(&mut self, now: Instant) {
        for guest in self.guests.iter_mut().flatten() {
            guest.conn.handle_shutdown(now);
        }
        self.next_deadline = Some(now);
    }

    /// Scans every guest for a due timeout: the lobby's only walk over all of them, run only
    /// when `next_deadline` says one may be due.
    fn act_on_timeouts(&mut self, now: Instant, ready: &mut Vec<Guest<T>>) {
        self.next_deadline = None;
        for slot in 0..self.guests.len() {
            let Some(guest) = self.guests[slot].as_mut() else {
                continue;
            };
            if guest.conn.poll_timeout().is_some_and(|due| due <= now) {
                guest.conn.handle_timeout(now);
                self.settle(slot, ready);
            } else {
                let deadline = guest.conn.poll_timeout();
                self.lower_next_deadline(deadline);
            }
        }
    }

    // ANCHOR: settle
    /// After a guest's machine has taken bytes, an end of stream or a timeout: a closed guest
    /// leaves (dropped, which closes the socket), one with work leaves for a worker, and one
    /// still waiting for its head stays, with its (possibly earlier) deadline noted.
    fn settle(&mut self, slot: usize, ready: &mut Vec<Guest<T>>) {
        let Some(guest) = self.guests[slot].as_ref() else {
            return;
        };
        if guest.conn.is_closed() {
            drop(self.leave(slot));
        } else if !waits_for_client(&guest.conn) {
            if let Some(guest) = self.leave(slot) {
                ready.push(guest);
            }
        } else {
            let deadline = guest.conn.poll_timeout();
            self.lower_next_deadline(deadline);
        }
    }
    // ANCHOR_END: settle

    /// Takes a guest out of the epoll set and its slot, blocking again.
    fn leave(&mut self, slot: usize) -> Option<Guest<T>> {
        let guest = self.guests[slot].take()?;
        self.free.push(slot);
        if let Err(errno) = self.epoll.delete(&guest.stream) {
            debug!(%errno, "cannot take a connection out of the lobby's epoll set");
        }
        if let Err(error) = guest.stream.set_nonblocking(false) {
            // A worker's blocking reads would fail with WouldBlock: the connection is lost.
            debug!(%error, "cannot make a connection blocking again; it is closed");
            return None;
        }
        Some(guest)
    }

    fn lower_next_deadline(&mut self, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            self.next_deadline = Some(match self.next_deadline {
                Some(current) => current.min(deadline),
                None => deadline,
            });
        }
    }
}

/// Whether a connection belongs in the lobby: its machine waits for its client (for a head, or
/// lingering after a last response, such as a `408`) and can take the bytes (a full buffer
/// means a head past the limit, which a worker must refuse with `431`).
fn waits_for_client(conn: &Connection) -> bool {
    conn.waits_for_client() && conn.wants_read()
}

// ANCHOR: read_into_machine
/// One non-blocking read of what has arrived, straight into the machine's buffer (level-
/// triggered epoll reports the socket again if more is left).
fn read_into_machine<T>(guest: &mut Guest<T>, now: Instant) {
    match guest.stream.read(guest.conn.read_buf()) {
        Ok(0) => guest.conn.handle_eof(),
        Ok(n) => guest.conn.handle_read(n, now),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) => {}
        // A reset: nothing can be said to this client any more.
        Err(error) => {
            debug!(%error, "a waiting connection failed; it is closed");
            guest.conn.handle_eof();
        }
    }
}
// ANCHOR_END: read_into_machine

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use protocol::{Event, Limits};

    use super::*;
    use crate::tests::tcp_pair;

    fn guest(stream: TcpStream, limits: &Arc<Limits>) -> Guest<()> {
        Guest {
            stream,
            conn: Connection::new(Arc::clone(limits), Instant::now()),
            extra: (),
        }
    }

    fn limits(header_timeout: Duration) -> Arc<Limits> {
        Arc::new(Limits {
            header_timeout,
            ..Limits::default()
        })
    }

    /// Waits until at least one guest is ready, for at most `within`.
    fn wait_for_ready(lobby: &mut Lobby<()>, within: Duration) -> Vec<Guest<()>> {
        let started = Instant::now();
        let mut ready = Vec::new();
        let mut doors = Vec::new();
        while ready.is_empty() && started.elapsed() < within {
            lobby
                .wait(Duration::from_millis(50), &mut ready, &mut doors)
                .expect("waiting");
        }
        ready
    }

    #[test]
    fn a_guest_leaves_once_its_whole_head_has_arrived() {
        let limits = limits(Duration::from_secs(5));
        let mut lobby = Lobby::new().expect("an epoll set");
        let (server, mut client) = tcp_pair();
        assert!(matches!(
            lobby.admit(guest(server, &limits)).expect("admitting"),
            Admitted::Waiting
        ));
        client.write_all(b"GET / HTTP/1.1\r\nHo").expect("writing");
        assert!(wait_for_ready(&mut lobby, Duration::from_millis(200)).is_empty());
        assert_eq!(lobby.len(), 1, "half a head stays in the lobby");
        client.write_all(b"st: x\r\n\r\n").expect("writing");
        let mut ready = wait_for_ready(&mut lobby, Duration::from_secs(2));
        assert_eq!(ready.len(), 1);
        assert!(lobby.is_empty());
        let mut guest = ready.pop().expect("one guest");
        assert!(matches!(
            guest.conn.poll_event(),
            Some(Event::Request { .. })
        ));
        // Handed over blocking, as the workers' drivers expect.
        guest
            .stream
            .set_read_timeout(Some(Duration::from_millis(10)))
            .expect("a read timeout");
        let mut byte = [0; 1];
        let error = guest.stream.read(&mut byte).expect_err("nothing to read");
        assert!(matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
    }

    #[test]
    fn a_trickled_head_leaves_at_the_header_timeout_with_a_408_queued() {
        let limits = limits(Duration::from_millis(300));
        let mut lobby = Lobby::new().expect("an epoll set");
        let (server, mut client) = tcp_pair();
        let started = Instant::now();
        let _ = lobby.admit(guest(server, &limits)).expect("admitting");
        client.write_all(b"GET / HT").expect("writing");
        let mut ready = wait_for_ready(&mut lobby, Duration::from_secs(2));
        let waited = started.elapsed();
        assert!(
            (Duration::from_millis(250)..Duration::from_millis(1500)).contains(&waited),
            "cut after {waited:?}"
        );
        let mut guest = ready.pop().expect("the trickling guest");
        // The machine's refusal of the late head, for the worker to answer (with a 408).
        assert!(
            matches!(guest.conn.poll_event(), Some(Event::Rejected { .. })),
            "the worker is handed the timed-out head to refuse"
        );
    }

    #[test]
    fn a_client_that_leaves_is_dropped_and_a_request_already_read_is_ready_at_once() {
        let limits = limits(Duration::from_secs(5));
        let mut lobby = Lobby::new().expect("an epoll set");
        let (server, client) = tcp_pair();
        let _ = lobby.admit(guest(server, &limits)).expect("admitting");
        drop(client);
        assert!(wait_for_ready(&mut lobby, Duration::from_millis(300)).is_empty());
        assert!(
            lobby.is_empty(),
            "a closed idle connection leaves the lobby"
        );

        let (server, _client) = tcp_pair();
        let mut guest = guest(server, &limits);
        guest
            .conn
            .handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", Instant::now());
        assert!(matches!(
            lobby.admit(guest).expect("admitting"),
            Admitted::Ready(_)
        ));
        assert!(lobby.is_empty());
    }

    #[test]
    fn a_stop_closes_idle_guests_after_the_grace() {
        let limits = limits(Duration::from_secs(5));
        let mut lobby = Lobby::new().expect("an epoll set");
        let (server, mut client) = tcp_pair();
        let _ = lobby.admit(guest(server, &limits)).expect("admitting");
        lobby.handle_shutdown(Instant::now());
        let started = Instant::now();
        while !lobby.is_empty() && started.elapsed() < Duration::from_secs(2) {
            lobby
                .wait(Duration::from_millis(50), &mut Vec::new(), &mut Vec::new())
                .expect("waiting");
        }
        assert!(
            lobby.is_empty(),
            "the idle guest is closed at the grace's end"
        );
        let mut byte = [0; 1];
        assert_eq!(client.read(&mut byte).expect("reading the end"), 0);
    }
}
