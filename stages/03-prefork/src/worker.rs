//! A worker process: what runs in the child after `fork`.
//!
//! A worker is stage 01 again, one connection at a time, with three changes around it:
//!
//! 1. it is tied to the master (`PR_SET_PDEATHSIG`): if the master dies, even by SIGKILL, the
//!    kernel sends the worker SIGTERM, so no orphan keeps serving on a port nobody supervises;
//! 2. it waits for connections with epoll instead of a blocking `accept`, because it must also
//!    wake up for a stop signal (stage 01 woke itself by connecting to its own listener, but with
//!    several processes on one socket that connection may reach a different worker);
//! 3. it tells the master when it is ready, so that a rolling restart stops an old worker only
//!    once its replacement is accepting.
//!
//! Each connection is then served by stage 01's driver, `serve_connection`, unchanged.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;

use app::App;
use driver::listener::BindError;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use protocol::Limits;
use stage01_blocking::conn::serve_connection;
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
    let (listener, signals, waiter) = match set_up(&inherited) {
        Ok(ready) => ready,
        Err(error) => {
            error!(%error, "worker cannot start");
            return EXIT_SETUP_FAILED;
        }
    };
    debug!("accepting");
    let tally = accept_loop(
        &listener,
        &waiter,
        &signals,
        inherited.app,
        inherited.limits,
    );
    let drained = drain(&listener, &signals, inherited.app, inherited.limits);
    debug!(
        connections = tally.connections,
        lost_races = tally.lost_races,
        drained,
        "stopped"
    );
    EXIT_STOPPED
}
// ANCHOR_END: run

// ANCHOR: set_up
/// Everything between the fork and the first accept.
fn set_up<'a>(
    inherited: &Inherited<'a>,
) -> Result<(WorkerSocket<'a>, WorkerSignals, Epoll), WorkerError> {
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
    let waiter = accept_waiter(&listener, &signals).map_err(WorkerError::Epoll)?;
    // Four bytes in one datagram: the master reads whole messages, however many workers write.
    inherited
        .ready
        .send(&std::process::id().to_ne_bytes())
        .map_err(WorkerError::ReportReady)?;
    Ok((listener, signals, waiter))
}
// ANCHOR_END: set_up

// ANCHOR: accept_waiter
/// An epoll instance that wakes this worker for a connection to accept or for a stop signal.
///
/// `EPOLLEXCLUSIVE` (Linux 4.5) is what keeps the herd from thundering: when one connection
/// arrives on the shared socket, the kernel wakes one worker waiting in `epoll_wait` on it (or a
/// few), not all of them. A worker busy serving is not waiting, so the wake-up goes to an idle
/// one.
fn accept_waiter(listener: &TcpListener, signals: &WorkerSignals) -> nix::Result<Epoll> {
    // Created after the fork on purpose: an epoll instance shared across fork would be one
    // interest list for every worker, and exclusive wake-ups work per instance.
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(
        listener.as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, LISTENER),
    )?;
    epoll.add(
        signals.wake().as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN, STOP),
    )?;
    Ok(epoll)
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
/// Accepts and serves connections one at a time until a stop signal arrives.
fn accept_loop(
    listener: &TcpListener,
    waiter: &Epoll,
    signals: &WorkerSignals,
    app: &App,
    limits: &Limits,
) -> Tally {
    let mut tally = Tally::default();
    let mut events = [EpollEvent::empty(); 2];
    while !signals.shutdown().is_requested() {
        let woken = match waiter.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => &events[..n],
            // A signal handler ran; the loop condition looks at the flag it set.
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                // Not expected with valid descriptors; stop rather than spin.
                error!(%errno, "epoll_wait failed");
                break;
            }
        };
        if woken.iter().any(|event| event.data() == STOP) {
            break;
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                tally.connections += 1;
                // Linux does not pass O_NONBLOCK from the listener to the accepted socket
                // (accept(2)), so the stream is blocking, as stage 01's driver expects.
                if let Err(error) = serve_connection(stream, app, limits, signals.shutdown()) {
                    debug!(%peer, %error, "connection ended with an error");
                }
            }
            // Another worker took the connection between our wake-up and our accept.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => tally.lost_races += 1,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // Typically EMFILE or ECONNABORTED: a problem with one connection, not the listener.
            Err(error) => warn!(%error, "accept failed"),
        }
    }
    tally
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
