//! The accept loop, and how it hands each connection to the hand-built pool.
//!
//! The accept loop is stage 01's, with one line changed: instead of serving the connection
//! itself, it counts it open and hands it to the lobby's thread ([`lobby`](crate::lobby)),
//! which gives it to one of the `--threads` workers of [`ThreadPool`] once it has a request. At
//! most `--threads` requests are served at once and `--queue` more connections with a request
//! wait; when the queue is full the lobby waits, and connections keep arriving in it up to
//! `--max-connections`, past which the accept loop refuses them with the kit's `503`.
//!
//! `--pool` picks who serves the connections: the hand-built pool (the model, here), or one of
//! the two it is compared with, rayon's pool and a thread per connection, which live apart in
//! [`comparisons`] and hand off through the same accept loop.
//!
//! In every mode a request is served by stage 01's driver ([`conn`](crate::conn):
//! `serve_until` for the hand-built pool, `serve_connection` for the other two), which also
//! implements graceful shutdown: a connection sees the flag
//! within 100 ms and answers its next request (or the one in progress) with `Connection: close`.
//! At the stop the accept loop drains the accept queue into the same hand-off, so a client that
//! was waiting in the kernel's queue is served, not reset.

use std::net::{TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread;

use app::{App, AppInfo};
use clap::ValueEnum;
use protocol::Limits;
use stage01_blocking::shutdown::Shutdown;
use tracing::{error, info, warn};

use crate::comparisons::{self, serve_per_connection, serve_rayon};
use crate::lobby::{Arrival, Door, Serving};
use crate::pool::{PoolError, ThreadPool};
use stage01_blocking::conn::welcome;

/// Connections with a request that may wait in the hand-built pool's queue by default: enough
/// to absorb a burst while the workers are busy. Beyond it the lobby waits for room, and new
/// connections gather in the lobby's channel (counted against `--max-connections`).
pub const DEFAULT_QUEUE: usize = 64;

/// The largest `--queue` accepted. A `sync_channel` allocates all its slots when it is created,
/// so a mistyped `--queue 100000000000` would otherwise abort on a failed allocation.
pub const MAX_QUEUE: usize = 100_000;

// ANCHOR: pool_kind
/// Which threads serve the connections (`--pool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PoolKind {
    /// The hand-built pool of this stage: fixed workers, bounded queue, back-pressure.
    Handmade,
    /// A rayon thread pool with the same number of threads; its queue has no bound of its own.
    Rayon,
    /// A new thread for every connection, as many as `--max-connections`.
    PerConnection,
}
// ANCHOR_END: pool_kind

impl std::fmt::Display for PoolKind {
    /// The name as written on the command line (`per-connection`), for log lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_possible_value() {
            Some(value) => f.write_str(value.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}

impl PoolKind {
    /// What `/api/info` says about the stage in this mode.
    pub fn info(self) -> AppInfo {
        match self {
            PoolKind::Handmade => crate::INFO,
            PoolKind::Rayon => comparisons::RAYON_INFO,
            PoolKind::PerConnection => comparisons::PER_CONNECTION_INFO,
        }
    }
}

/// How the threads are set up: `--pool`, `--threads` and `--queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub kind: PoolKind,
    /// Workers of the hand-built pool, or threads of rayon's; ignored by `per-connection`.
    pub threads: NonZeroUsize,
    /// Connections waiting for a worker of the hand-built pool; ignored by the other two.
    pub queue: usize,
}

/// The threads that serve connections, started before the first `accept`, so that a failure
/// to start them is reported before the server says it is listening.
pub enum Workers {
    Handmade(ThreadPool),
    Rayon(rayon::ThreadPool),
    /// Nothing to start: threads come and go with their connections.
    PerConnection,
}

/// Why the threads could not be started.
#[derive(Debug)]
pub enum StartError {
    Handmade(PoolError),
    Rayon(rayon::ThreadPoolBuildError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Handmade(error) => write!(f, "cannot start the thread pool: {error}"),
            StartError::Rayon(error) => write!(f, "cannot start the rayon pool: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

impl Workers {
    /// Starts the threads `config` asks for.
    pub fn start(config: &PoolConfig) -> Result<Workers, StartError> {
        match config.kind {
            PoolKind::Handmade => ThreadPool::new(config.threads, config.queue)
                .map(Workers::Handmade)
                .map_err(StartError::Handmade),
            PoolKind::Rayon => rayon::ThreadPoolBuilder::new()
                .num_threads(config.threads.get())
                .thread_name(|index| format!("rayon-{index}"))
                .build()
                .map(Workers::Rayon)
                .map_err(StartError::Rayon),
            PoolKind::PerConnection => Ok(Workers::PerConnection),
        }
    }
}

// ANCHOR: serve
/// Serves connections from `listener` on `workers` until `shutdown` is requested, then waits
/// for every connection in progress to finish.
pub fn serve(
    listener: TcpListener,
    workers: Workers,
    app: Arc<App>,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    match workers {
        Workers::Handmade(pool) => serve_handmade(&listener, pool, app, limits, shutdown),
        Workers::Rayon(pool) => serve_rayon(&listener, &pool, &app, limits, shutdown),
        Workers::PerConnection => serve_per_connection(&listener, &app, limits, shutdown),
    }
}
// ANCHOR_END: serve

// ANCHOR: serve_handmade
/// `--pool handmade`: the accept loop hands each connection to the lobby's thread
/// ([`lobby`](crate::lobby)), which gives the pool the connections that have a request.
fn serve_handmade(
    listener: &TcpListener,
    pool: ThreadPool,
    app: Arc<App>,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    let (door, arrivals) = match Door::new() {
        Ok(door) => door,
        Err(errno) => {
            error!(%errno, "cannot create the lobby's eventfd; serving nothing");
            return;
        }
    };
    let serving = Arc::new(Serving {
        app,
        limits: limits.clone(),
        shutdown: shutdown.clone(),
        linger: driver::lobby::LINGER,
        queued: AtomicUsize::new(0),
    });
    thread::scope(|scope| {
        let lobby_door = door.clone();
        let lobby = thread::Builder::new()
            .name("lobby".into())
            .spawn_scoped(scope, || {
                crate::lobby::run(&pool, lobby_door, arrivals, &serving)
            });
        if let Err(error) = lobby {
            error!(%error, "cannot start the lobby's thread; serving nothing");
            return;
        }
        // The only change from stage 01: the lobby (then a worker) serves the connection, and
        // this thread goes straight back to `accept`.
        // Counted open here, in the accept loop, so that --max-connections bounds the
        // connections still in the channel too: while the lobby waits for room in the pool's
        // queue, the acceptor goes on accepting, up to the limit, and refuses past it.
        accept_loop(listener, shutdown, |stream| {
            if let Some(guest) = welcome(stream, &serving.app, limits) {
                door.send(Arrival::New(Box::new(guest)));
            }
        });
        door.send(Arrival::AcceptorStopped);
    });
    info!(
        times_full = pool.times_full(),
        "the lobby is empty; joining the workers"
    );
    // Graceful shutdown: closes the queue, runs what is queued, joins every worker.
    drop(pool);
}
// ANCHOR_END: serve_handmade

// ANCHOR: accept_loop
/// Accepts connections until `shutdown` is requested and gives each one to `hand_off`; then
/// drains the accept queue through `hand_off` too, as stage 01 does (`stage01_blocking::server::drain`).
pub(crate) fn accept_loop(
    listener: &TcpListener,
    shutdown: &Shutdown,
    mut hand_off: impl FnMut(TcpStream),
) {
    for incoming in listener.incoming() {
        let stream = match incoming {
            Ok(stream) => stream,
            Err(error) => {
                // Typically EMFILE or ECONNABORTED: a problem with one connection, not the
                // listener, so keep accepting.
                warn!(%error, "accept failed");
                continue;
            }
        };
        if shutdown.is_requested() {
            // The connection that woke us may be the shutdown's own wake-up call, or a client
            // whose request is on its way: it is handed off with the rest of the queue.
            drain(listener, stream, &mut hand_off);
            return;
        }
        // The only change from stage 01: another thread serves the connection, and this one
        // goes straight back to `accept` (the comparison pools: or waits for room, when every
        // thread is busy).
        hand_off(stream);
    }
}

/// Stage 01's drain, with the connections handed to the workers: the door shut, then every
/// queued connection that has sent a byte handed off (the workers answer its first request
/// with `Connection: close`, since the stop is requested).
fn drain(listener: &TcpListener, first: TcpStream, hand_off: &mut impl FnMut(TcpStream)) {
    if let Err(error) = driver::listener::refuse_new_connections(listener) {
        warn!(%error, "cannot shut new connections out: some may be reset at close");
    }
    match driver::listener::drain_accept_queue(listener, Some(first), hand_off) {
        Ok(drained) => info!(
            served = drained.served,
            silent = drained.silent,
            "drained the accept queue"
        ),
        Err(error) => warn!(%error, "cannot drain the accept queue"),
    }
}
// ANCHOR_END: accept_loop

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pool_kind_has_its_own_model_string() {
        let models: Vec<_> = PoolKind::value_variants()
            .iter()
            .map(|kind| kind.info().model)
            .collect();
        assert_eq!(models.len(), 3);
        assert!(models[0] != models[1] && models[1] != models[2] && models[0] != models[2]);
        assert!(PoolKind::value_variants()
            .iter()
            .all(|kind| kind.info().stage == "stage02-threadpool"));
    }
}
