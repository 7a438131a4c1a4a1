//! The lobby's thread: connections wait here for a request head, all of them watched by this
//! one thread, and go to a worker of the pool only once they have work.
//!
//! Without it, a worker took a connection from `accept` to its close, idle time included, so
//! `--threads` slow clients (slowloris: a header byte a second) held every worker for the whole
//! header timeout and nobody else was served. With it, workers do only work:
//!
//! 1. the accept loop counts every new connection open (or refuses it past `--max-connections`
//!    or `--max-connections-per-client`: `stage01_blocking::conn::welcome`) and hands it here,
//!    through a channel (an eventfd wakes this thread from `epoll_wait`);
//! 2. the lobby (`driver::lobby`) reads whatever each client sends into its protocol machine
//!    and hands a connection to the pool only once the machine has something to do: a whole
//!    head to answer, a `408` to send, a malformed head to refuse;
//! 3. the worker serves the request with stage 01's driver (`serve_until`), and when the
//!    connection is only waiting again (after a short linger for a next request already on its
//!    way), hands it back through the same channel.
//!
//! A slow client now costs a descriptor and a few KiB here, and is cut at the header timeout
//! here too. Since the lobby holds connections that no worker holds, their number is bounded by
//! `--max-connections`, past which a new connection gets the kit's `503` at once.
//!
//! Shutdown: when the stop is requested every waiting connection is told (its next response
//! closes it, an idle one gets a short grace), the accept loop's drain still arrives here, and
//! the thread returns once the accept loop has stopped, the lobby is empty and no worker holds a
//! connection (each job says when it is done, even by a panic: [`Ticket`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, ConnectionGuard};
use driver::lobby::{Admitted, Guest, Lobby};
use nix::sys::eventfd::{EfdFlags, EventFd};
use protocol::Limits;
use stage01_blocking::conn::{serve_until, Served, Until, Waiting};
use stage01_blocking::shutdown::Shutdown;
use tracing::{debug, error, warn};

use crate::pool::ThreadPool;

/// The longest the lobby waits before looking at the shutdown flag again.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// The door's token in the lobby's epoll set.
const DOOR: u64 = 0;

/// What reaches the lobby's thread through its channel.
pub enum Arrival {
    /// A connection the accept loop has just accepted, already counted open (so
    /// `--max-connections` counts the connections on their way here too).
    New(Box<Waiting>),
    /// A worker is done with a connection for now: it waits for its next request.
    Back(Box<Waiting>),
    /// A worker is done with a connection for good (it closed).
    Done,
    /// The accept loop has stopped (and drained the accept queue here).
    AcceptorStopped,
}

// ANCHOR: door
/// How the accept loop and the workers reach the lobby's thread: a channel, and an eventfd
/// that wakes the thread from `epoll_wait` when something was sent.
#[derive(Clone)]
pub struct Door {
    arrivals: Sender<Arrival>,
    bell: Arc<EventFd>,
}

impl Door {
    /// A door, and the receiving end the lobby's thread keeps.
    pub fn new() -> nix::Result<(Door, Receiver<Arrival>)> {
        let bell = EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
        let (arrivals, receiver) = std::sync::mpsc::channel();
        Ok((
            Door {
                arrivals,
                bell: Arc::new(bell),
            },
            receiver,
        ))
    }

    /// Sends `arrival` and rings: never blocks, so a worker never waits for the lobby.
    pub fn send(&self, arrival: Arrival) {
        // An error means the lobby's thread has gone (it only returns when every connection
        // is done): nothing is waiting for the message.
        if self.arrivals.send(arrival).is_ok() {
            if let Err(errno) = self.bell.write(1) {
                warn!(%errno, "cannot wake the lobby");
            }
        }
    }
}
// ANCHOR_END: door

// ANCHOR: ticket
/// A job's promise to tell the lobby when it is done with its connection: handed back, or
/// (when the ticket is dropped, by a return or by a panic's unwinding) done for good. The
/// lobby counts connections held by workers by these messages, and returns at a stop only when
/// the count is zero.
pub struct Ticket {
    door: Option<Door>,
}

impl Ticket {
    fn hand_back(mut self, guest: Waiting) {
        if let Some(door) = self.door.take() {
            door.send(Arrival::Back(Box::new(guest)));
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(door) = self.door.take() {
            door.send(Arrival::Done);
        }
    }
}
// ANCHOR_END: ticket

/// What the lobby's thread shares with the jobs it gives the pool.
pub struct Serving {
    pub app: Arc<App>,
    pub limits: Limits,
    pub shutdown: Shutdown,
    /// How long a worker waits for a next request before handing a connection back.
    pub linger: Duration,
    /// Jobs given to the pool and not started yet: while there are any, a worker hands a
    /// connection back at once instead of lingering.
    pub queued: AtomicUsize,
}

// ANCHOR: run
/// The lobby's thread: takes arrivals, watches waiting connections, gives the pool the ones
/// with work; returns when the stop is requested and every connection is done.
pub fn run(pool: &ThreadPool, door: Door, arrivals: Receiver<Arrival>, serving: &Arc<Serving>) {
    let mut lobby = match Lobby::new() {
        Ok(lobby) => lobby,
        Err(errno) => {
            error!(%errno, "cannot create the lobby's epoll set; serving nothing");
            return;
        }
    };
    if let Err(errno) = lobby.watch(&*door.bell, DOOR, false) {
        error!(%errno, "cannot watch the lobby's door; serving nothing");
        return;
    }
    let mut with_workers = 0usize;
    let mut acceptor_stopped = false;
    let mut stopping = false;
    let (mut ready, mut doors) = (Vec::new(), Vec::new());
    loop {
        if serving.shutdown.is_requested() && !stopping {
            stopping = true;
            lobby.handle_shutdown(Instant::now());
        }
        if stopping && acceptor_stopped && with_workers == 0 && lobby.is_empty() {
            return;
        }
        if let Err(errno) = lobby.wait(SHUTDOWN_POLL, &mut ready, &mut doors) {
            error!(%errno, "the lobby cannot wait; its connections are closed");
            return;
        }
        if !doors.is_empty() {
            doors.clear();
            // Resets the eventfd's count; the channel says what arrived.
            let _ = door.bell.read();
        }
        loop {
            let arrival = match arrivals.try_recv() {
                Ok(arrival) => arrival,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            };
            let guest = match arrival {
                Arrival::New(guest) => *guest,
                Arrival::Back(guest) => {
                    with_workers -= 1;
                    *guest
                }
                Arrival::Done => {
                    with_workers -= 1;
                    continue;
                }
                Arrival::AcceptorStopped => {
                    acceptor_stopped = true;
                    continue;
                }
            };
            admit(&mut lobby, guest, stopping, &mut ready);
        }
        for guest in ready.drain(..) {
            with_workers += 1;
            give_to_pool(pool, guest, &door, serving);
        }
    }
}
// ANCHOR_END: run

fn admit(
    lobby: &mut Lobby<ConnectionGuard>,
    mut guest: Waiting,
    stopping: bool,
    ready: &mut Vec<Waiting>,
) {
    if stopping {
        // The stop was announced to the lobby's guests before this one arrived (a worker only
        // hands back a connection it has not told to stop).
        guest.conn.handle_shutdown(Instant::now());
    }
    match lobby.admit(guest) {
        Ok(Admitted::Waiting | Admitted::Closed) => {}
        Ok(Admitted::Ready(guest)) => ready.push(*guest),
        Err(error) => debug!(%error, "cannot watch a connection; it is closed"),
    }
}

// ANCHOR: give_to_pool
/// A connection with work becomes a job: serve it until it closes or only waits again, then
/// hand it back.
fn give_to_pool(pool: &ThreadPool, guest: Waiting, door: &Door, serving: &Arc<Serving>) {
    let ticket = Ticket {
        door: Some(door.clone()),
    };
    let serving = Arc::clone(serving);
    serving.queued.fetch_add(1, Ordering::Relaxed);
    let job = move || {
        serving.queued.fetch_sub(1, Ordering::Relaxed);
        let Guest {
            stream,
            conn,
            extra: open,
        } = guest;
        let others_wait = || serving.queued.load(Ordering::Relaxed) > 0;
        let until = Until::AwaitingRequest {
            linger: serving.linger,
            others_wait: &others_wait,
        };
        match serve_until(stream, conn, &serving.app, &serving.shutdown, until) {
            Ok(Served::AwaitingRequest(stream, conn)) => ticket.hand_back(Guest {
                stream,
                conn: *conn,
                extra: open,
            }),
            // The ticket's drop tells the lobby; the guard's counts the connection closed.
            Ok(Served::Closed) => {}
            Err(error) => debug!(%error, "connection ended with an error"),
        }
    };
    // Blocks while the pool's queue is full: back-pressure, as before, but now only
    // connections with a request wait for it. A job that cannot be queued is dropped, and
    // its ticket tells the lobby.
    if let Err(error) = pool.execute(job) {
        warn!(%error, "could not queue a connection; it is closed unanswered");
    }
}
// ANCHOR_END: give_to_pool
