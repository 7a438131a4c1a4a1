//! A worker process: what runs in the child after `fork`.
//!
//! A worker is stage 01 again, one request at a time, with four changes around it:
//!
//! 1. it is tied to the master (`PR_SET_PDEATHSIG`): if the master dies, even by SIGKILL, the
//!    kernel sends the worker SIGTERM, so no orphan keeps serving on a port nobody supervises;
//! 2. it waits with epoll instead of a blocking `accept`, because it must also wake up for a
//!    stop signal (stage 01 woke itself by connecting to its own listener, but with several
//!    processes on one socket that connection may reach a different worker);
//! 3. the same epoll set is its lobby (`driver::lobby`): connections waiting for their client
//!    (a new one, a kept-alive one, a slow one trickling its head) wait there, many at a time,
//!    and the worker serves only those with a request, so slow clients do not hold it;
//! 4. it tells the master when it is ready, so that a rolling restart stops an old worker only
//!    once its replacement is accepting.
//!
//! Each request is then served by stage 01's driver, `serve_until`, which hands the connection
//! back to the lobby when it only waits again.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use app::App;
use app::ConnectionGuard;
use driver::listener::BindError;
use driver::lobby::{Admitted, Guest, Lobby};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use protocol::Limits;
use stage01_blocking::conn::{serve_connection, serve_until, welcome, Served, Until, Waiting};
use tracing::{debug, error, info_span, warn};

use crate::listener::{Listening, WorkerSocket};
use crate::shutdown::WorkerSignals;

/// Exit status of a worker that stopped because it was asked to.
pub const EXIT_STOPPED: i32 = 0;
/// Exit status of a worker that could not set itself up (the master will not retry forever).
pub const EXIT_SETUP_FAILED: i32 = 3;

/// epoll tokens: which descriptor woke the worker.
const LISTENER: u64 = 1;
const STOP: u64 = 2;

/// Everything a worker gets from the master: all of it inherited across `fork`, as a copy of
/// the master's memory and file descriptors.
pub struct Inherited<'a> {
    pub master: Pid,
    pub listening: &'a Listening,
    /// Built once by the master before forking: the pages are shared copy-on-write.
    pub app: &'a App,
    pub limits: &'a Limits,
    /// The sending end of the channel on which workers report that they are ready.
    pub ready: &'a UnixDatagram,
    /// The signal mask to restore once the worker's handlers are installed.
    pub unblock_to: &'a SigSet,
}

/// Why a worker could not start serving.
#[derive(Debug)]
pub enum WorkerError {
    /// `prctl(PR_SET_PDEATHSIG)` failed.
    TieToMaster(Errno),
    /// The master was already gone when the worker started.
    Orphaned,
    Signals(io::Error),
    Listen(BindError),
    Epoll(Errno),
    ReportReady(io::Error),
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::TieToMaster(errno) => {
                write!(f, "cannot ask to be stopped with the master: {errno}")
            }
            WorkerError::Orphaned => f.write_str("the master exited before this worker started"),
            WorkerError::Signals(error) => write!(f, "cannot install signal handlers: {error}"),
            WorkerError::Listen(error) => write!(f, "cannot get a listening socket: {error}"),
            WorkerError::Epoll(errno) => write!(f, "cannot wait with epoll: {errno}"),
            WorkerError::ReportReady(error) => {
                write!(f, "cannot tell the master this worker is ready: {error}")
            }
        }
    }
}

impl std::error::Error for WorkerError {}

// ANCHOR: run
/// Runs a worker in the child process and returns its exit status.
pub fn run(inherited: Inherited<'_>) -> i32 {
    let pid = std::process::id();
    let _span = info_span!("worker", pid).entered();
    let (listener, signals, mut lobby) = match set_up(&inherited) {
        Ok(ready) => ready,
        Err(error) => {
            error!(%error, "worker cannot start");
            return EXIT_SETUP_FAILED;
        }
    };
    debug!("accepting");
    let tally = accept_loop(
        &listener,
        &mut lobby,
        &signals,
        inherited.app,
        inherited.limits,
    );
    // Connections waiting in the lobby are told first (an idle one gets a short grace), so
    // their time runs while the accept queue is drained.
    lobby.handle_shutdown(std::time::Instant::now());
    let drained = drain(&listener, &signals, inherited.app, inherited.limits);
    let finished = empty_the_lobby(&mut lobby, &signals, inherited.app);
    debug!(
        connections = tally.connections,
        lost_races = tally.lost_races,
        drained,
        finished,
        "stopped"
    );
    EXIT_STOPPED
}
// ANCHOR_END: run

// ANCHOR: set_up
/// Everything between the fork and the first accept.
fn set_up<'a>(
    inherited: &Inherited<'a>,
) -> Result<(WorkerSocket<'a>, WorkerSignals, Lobby<ConnectionGuard>), WorkerError> {
    // Linux ties the death signal to the parent *thread*; the master has one thread, the one
    // that forked us, so this fires exactly when the master is gone.
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(WorkerError::TieToMaster)?;
    // The master may have died before the line above: then we were re-parented already and the
    // death signal will never come.
    if nix::unistd::getppid() != inherited.master {
        return Err(WorkerError::Orphaned);
    }
    let signals = WorkerSignals::install(inherited.unblock_to).map_err(WorkerError::Signals)?;
    let listener = inherited
        .listening
        .for_worker()
        .map_err(WorkerError::Listen)?;
    let lobby = lobby_with_doors(&listener, &signals).map_err(WorkerError::Epoll)?;
    // Four bytes in one datagram: the master reads whole messages, however many workers write.
    inherited
        .ready
        .send(&std::process::id().to_ne_bytes())
        .map_err(WorkerError::ReportReady)?;
    Ok((listener, signals, lobby))
}
// ANCHOR_END: set_up

// ANCHOR: accept_waiter
/// The worker's lobby (`driver::lobby`): the epoll set in which its waiting connections wait
/// for their requests, with two doors: the listener, for a connection to accept, and the stop
/// signal's self-pipe.
///
/// `EPOLLEXCLUSIVE` (Linux 4.5) on the listener is what keeps the herd from thundering: when one
/// connection arrives on the shared socket, the kernel wakes one worker waiting in `epoll_wait`
/// on it (or a few), not all of them. A worker busy serving is not waiting, so the wake-up goes
/// to an idle one.
fn lobby_with_doors(
    listener: &TcpListener,
    signals: &WorkerSignals,
) -> nix::Result<Lobby<ConnectionGuard>> {
    // Created after the fork on purpose: an epoll instance shared across fork would be one
    // interest list for every worker, and exclusive wake-ups work per instance.
    let lobby = Lobby::new()?;
    lobby.watch(listener.as_fd(), LISTENER, true)?;
    lobby.watch(signals.wake().as_fd(), STOP, false)?;
    Ok(lobby)
}
// ANCHOR_END: accept_waiter

/// What a worker did, logged when it stops.
#[derive(Debug, Default)]
struct Tally {
    connections: u64,
    /// Wake-ups that found the accept queue already emptied by another worker: the herd that
    /// `EPOLLEXCLUSIVE` keeps small.
    lost_races: u64,
}

// ANCHOR: accept_loop
/// Accepts connections into the lobby and serves, one at a time, those that have a request,
/// until a stop signal arrives.
fn accept_loop(
    listener: &TcpListener,
    lobby: &mut Lobby<ConnectionGuard>,
    signals: &WorkerSignals,
    app: &App,
    limits: &Limits,
) -> Tally {
    let mut tally = Tally::default();
    let (mut ready, mut doors) = (Vec::new(), Vec::new());
    while !signals.shutdown().is_requested() {
        // No wait of its own: the lobby wakes for a door, a guest's bytes or its timeout.
        if let Err(errno) = lobby.wait(Duration::MAX, &mut ready, &mut doors) {
            // Not expected with valid descriptors; stop rather than spin.
            error!(%errno, "epoll_wait failed");
            break;
        }
        if doors.contains(&STOP) {
            break;
        }
        if doors.contains(&LISTENER) {
            accept_one(listener, lobby, app, limits, &mut tally, &mut ready);
        }
        doors.clear();
        // The work of this round, in turn: stage 01's driver, until each connection closes or
        // only waits for its client again, when it goes back to the lobby.
        while let Some(guest) = ready.pop() {
            serve(guest, lobby, app, signals, &mut ready);
        }
    }
    tally
}

/// Accepts one connection into the lobby (level-triggered epoll wakes the loop again for the
/// next; another worker may take it first).
fn accept_one(
    listener: &TcpListener,
    lobby: &mut Lobby<ConnectionGuard>,
    app: &App,
    limits: &Limits,
    tally: &mut Tally,
    ready: &mut Vec<Waiting>,
) {
    match listener.accept() {
        Ok((stream, _peer)) => {
            tally.connections += 1;
            // Linux does not pass O_NONBLOCK from the listener to the accepted socket
            // (accept(2)), so the stream is blocking, as stage 01's driver expects.
            if let Some(guest) = welcome(stream, app, limits) {
                admit(lobby, guest, ready);
            }
        }
        // Another worker took the connection between our wake-up and our accept.
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => tally.lost_races += 1,
        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
        // Typically EMFILE or ECONNABORTED: a problem with one connection, not the listener.
        Err(error) => warn!(%error, "accept failed"),
    }
}

/// Serves a connection with work until it closes or waits for its client again.
fn serve(
    guest: Waiting,
    lobby: &mut Lobby<ConnectionGuard>,
    app: &App,
    signals: &WorkerSignals,
    ready: &mut Vec<Waiting>,
) {
    let Guest {
        stream,
        conn,
        extra: open,
    } = guest;
    let peer = stream.peer_addr().ok();
    let served = {
        // Others wait for this worker when a connection with work is queued here, or when
        // anything in the lobby (a guest's bytes, a new connection) is ready to be looked at.
        let (queued, lobby) = (&*ready, &*lobby);
        let others_wait = || !queued.is_empty() || lobby.has_news();
        let until = Until::AwaitingRequest {
            linger: driver::lobby::LINGER,
            others_wait: &others_wait,
        };
        serve_until(stream, conn, app, signals.shutdown(), until)
    };
    match served {
        Ok(Served::AwaitingRequest(stream, conn)) => {
            let guest = Guest {
                stream,
                conn: *conn,
                extra: open,
            };
            admit(lobby, guest, ready);
        }
        Ok(Served::Closed) => {}
        Err(error) => debug!(?peer, %error, "connection ended with an error"),
    }
}

fn admit(lobby: &mut Lobby<ConnectionGuard>, guest: Waiting, ready: &mut Vec<Waiting>) {
    match lobby.admit(guest) {
        Ok(Admitted::Waiting | Admitted::Closed) => {}
        Ok(Admitted::Ready(guest)) => ready.push(*guest),
        Err(error) => debug!(%error, "cannot watch a connection; it is closed"),
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: drain
/// At a stop, this worker's share of the accept queue: when the server stops
/// ([`STOP_AND_DRAIN`](crate::shutdown::STOP_AND_DRAIN)), the master has shut the shared
/// door and every worker takes queued connections until the queue is empty; a worker with a
/// `--reuseport` socket of its own shuts that door itself and drains it whenever it stops, since
/// nobody else can. A worker retired by a rolling restart (SIGTERM) on the shared socket leaves
/// the queue to the others, which go on accepting. Returns how many connections it served.
fn drain(
    listener: &WorkerSocket<'_>,
    signals: &WorkerSignals,
    app: &App,
    limits: &Limits,
) -> usize {
    if !(signals.drain_requested() || listener.is_own()) {
        return 0;
    }
    if listener.is_own() {
        if let Err(error) = driver::listener::refuse_new_connections(&**listener) {
            warn!(%error, "cannot shut new connections out: some may be reset at close");
        }
    }
    // The stop is requested, so each connection answers its first request and closes.
    let drained = driver::listener::drain_accept_queue(listener, None, |stream| {
        let peer = stream.peer_addr().ok();
        if let Err(error) = serve_connection(stream, app, limits, signals.shutdown()) {
            debug!(?peer, %error, "connection ended with an error");
        }
    });
    match drained {
        Ok(drained) => drained.served,
        Err(error) => {
            warn!(%error, "cannot drain the accept queue");
            0
        }
    }
}
// ANCHOR_END: drain

/// At a stop, after the drain: serves what the lobby's connections still send (each was told
/// of the stop, so its next response closes it; an idle one is closed at the grace's end) until
/// the lobby is empty. Returns how many it handed to the driver.
fn empty_the_lobby(
    lobby: &mut Lobby<ConnectionGuard>,
    signals: &WorkerSignals,
    app: &App,
) -> usize {
    let (mut ready, mut doors) = (Vec::new(), Vec::new());
    let mut finished = 0;
    while !lobby.is_empty() {
        if let Err(errno) = lobby.wait(Duration::from_millis(100), &mut ready, &mut doors) {
            error!(%errno, "epoll_wait failed; the waiting connections are closed");
            break;
        }
        doors.clear();
        while let Some(guest) = ready.pop() {
            finished += 1;
            // The stop is requested, so the driver does not hand the connection back.
            serve(guest, lobby, app, signals, &mut ready);
        }
    }
    finished
}
