//! The accept loop, and the three ways this stage hands an accepted connection to a thread
//! (`--pool`).
//!
//! The accept loop is stage 01's, with one line changed: instead of serving the connection
//! itself, it hands the connection over. Who takes it is the model:
//!
//! | `--pool` | who serves a connection | at most this many connections held |
//! |---|---|---|
//! | `handmade` (default) | one of `--threads` workers of [`ThreadPool`] | `--threads` + `--queue` (+1 in the acceptor's hand) |
//! | `rayon` | one of `--threads` threads of a rayon pool | `--max-connections` |
//! | `per-connection` | a new thread, started for it | `--max-connections` |
//!
//! In every mode a full house makes the acceptor wait: it stops calling `accept`, the kernel's
//! listen backlog fills up, and new clients wait in the kernel. That is back-pressure, passed on
//! down to TCP.
//!
//! In every mode the connection is served by stage 01's `serve_connection`, unchanged, which
//! also implements graceful shutdown: a connection sees the flag within 100 ms, finishes the
//! request in progress and closes.

use std::net::{TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use app::{App, AppInfo};
use clap::ValueEnum;
use protocol::Limits;
use stage01_blocking::conn::serve_connection;
use stage01_blocking::shutdown::Shutdown;
use tracing::{debug, info, warn};

use crate::pool::{panic_message, PoolError, ThreadPool};

/// Connections that may wait in the hand-built pool's queue by default: enough to absorb a
/// burst of new connections while the workers are busy. Beyond it the acceptor waits and the
/// kernel's listen backlog takes over.
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
            PoolKind::Rayon => AppInfo {
                stage: crate::INFO.stage,
                model: "thread pool (rayon), one connection per job",
            },
            PoolKind::PerConnection => AppInfo {
                stage: crate::INFO.stage,
                model: "one thread per connection",
            },
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
/// `--pool handmade`: each connection is a job for the hand-built pool.
fn serve_handmade(
    listener: &TcpListener,
    pool: ThreadPool,
    app: Arc<App>,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    accept_loop(listener, shutdown, |stream| {
        // A pool job must be 'static: it may outlive this stack frame, so it cannot borrow
        // from it. Each job gets its own handles: one Arc for the App, two cheap clones for
        // the rest.
        let app = Arc::clone(&app);
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        let job = move || serve_logged(stream, &app, &limits, &shutdown);
        // Blocks while the queue is full: this is where the acceptor waits.
        if let Err(error) = pool.execute(job) {
            warn!(%error, "could not queue a connection; it is closed unanswered");
        }
    });
    info!(
        times_full = pool.times_full(),
        "draining the queue and joining the workers"
    );
    // Graceful shutdown: closes the queue, runs what is queued, joins every worker.
    drop(pool);
}
// ANCHOR_END: serve_handmade

// ANCHOR: serve_rayon
/// `--pool rayon`: each connection is a job spawned on a rayon pool.
fn serve_rayon(
    listener: &TcpListener,
    pool: &rayon::ThreadPool,
    app: &App,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    let slots = Slots::new(limits.max_connections);
    // A scope can borrow (no Arc, no clones) because it does not return before every job
    // spawned in it has finished: that wait is the graceful shutdown here.
    pool.in_place_scope(|scope| {
        accept_loop(listener, shutdown, |stream| {
            let slot = slots.acquire();
            scope.spawn(move |_| {
                let _slot = slot;
                // A scope re-raises a job's panic at its end, which would turn a graceful
                // stop into a crash. (Outside a scope, `rayon::spawn` would abort the whole
                // process: rayon's default panic handler.)
                serve_catching_panics(stream, app, limits, shutdown);
            });
        });
    });
}
// ANCHOR_END: serve_rayon

// ANCHOR: serve_per_connection
/// `--pool per-connection`: a new thread for each connection.
fn serve_per_connection(listener: &TcpListener, app: &App, limits: &Limits, shutdown: &Shutdown) {
    let slots = Slots::new(limits.max_connections);
    // A scope again: every connection thread is joined before the scope returns.
    thread::scope(|scope| {
        accept_loop(listener, shutdown, |stream| {
            let slot = slots.acquire();
            let spawned = thread::Builder::new()
                .name("connection".into())
                .spawn_scoped(scope, move || {
                    let _slot = slot;
                    // A scope re-raises a thread's panic once all threads are joined, which
                    // would turn a graceful stop into a crash.
                    serve_catching_panics(stream, app, limits, shutdown);
                });
            if let Err(error) = spawned {
                // Out of threads or memory: this is where this model breaks. The closure, and
                // with it the connection and its slot, is dropped.
                warn!(%error, "cannot start a thread; the connection is closed unanswered");
            }
        });
    });
}
// ANCHOR_END: serve_per_connection

// ANCHOR: accept_loop
/// Accepts connections until `shutdown` is requested and gives each one to `hand_off`.
fn accept_loop(listener: &TcpListener, shutdown: &Shutdown, mut hand_off: impl FnMut(TcpStream)) {
    for incoming in listener.incoming() {
        if shutdown.is_requested() {
            // The connection that woke us may be the shutdown's own wake-up call, or a client
            // that arrived too late: either way it is closed unanswered.
            break;
        }
        let stream = match incoming {
            Ok(stream) => stream,
            Err(error) => {
                // Typically EMFILE or ECONNABORTED: a problem with one connection, not the
                // listener, so keep accepting.
                warn!(%error, "accept failed");
                continue;
            }
        };
        // The only change from stage 01: another thread serves the connection, and this one
        // goes straight back to `accept` (or waits for room, when every thread is busy).
        hand_off(stream);
    }
}
// ANCHOR_END: accept_loop

/// Serves one connection with stage 01's driver and logs how it ended.
fn serve_logged(stream: TcpStream, app: &App, limits: &Limits, shutdown: &Shutdown) {
    let peer = stream.peer_addr().ok();
    if let Err(error) = serve_connection(stream, app, limits, shutdown) {
        debug!(?peer, %error, "connection ended with an error");
    }
}

/// [`serve_logged`], with a panic caught and logged instead of unwinding into the thread's
/// owner. The hand-built pool does this for every job itself.
fn serve_catching_panics(stream: TcpStream, app: &App, limits: &Limits, shutdown: &Shutdown) {
    // AssertUnwindSafe: the stream is dropped (closed) by the unwinding, and the App's shared
    // state is atomic counters, which a panic cannot leave half-updated.
    let served = panic::catch_unwind(AssertUnwindSafe(|| {
        serve_logged(stream, app, limits, shutdown)
    }));
    if let Err(payload) = served {
        warn!(
            panic = panic_message(payload.as_ref()),
            "a connection's thread panicked; its connection is closed"
        );
    }
}

// ANCHOR: slots
/// A counting semaphore: at most `max` connections held at once. The acceptor takes a
/// [`Slot`] for each connection and waits while none is free; the slot is given back when the
/// thread serving the connection drops it.
struct Slots {
    held: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// One connection's place in [`Slots`], given back on drop.
struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            held: Mutex::new(0),
            freed: Condvar::new(),
            max,
        }
    }

    /// Waits until fewer than `max` slots are held, then takes one.
    fn acquire(&self) -> Slot<'_> {
        let mut held = self.lock();
        while *held >= self.max {
            // Waiting releases the lock; spurious wake-ups are why this is a loop.
            held = self
                .freed
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *held += 1;
        Slot { slots: self }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The lock guards one counter, updated by single statements that cannot panic, so a
        // poisoned lock still holds a correct count and is taken over.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.slots.lock() -= 1;
        self.slots.freed.notify_one();
    }
}
// ANCHOR_END: slots

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn slots_make_the_next_acquire_wait_until_one_is_freed() {
        let slots = Slots::new(1);
        let first = slots.acquire();
        thread::scope(|scope| {
            let (acquired, second_acquired) = mpsc::channel();
            let slots = &slots;
            scope.spawn(move || {
                let _second = slots.acquire();
                let _ = acquired.send(());
            });
            assert_eq!(
                second_acquired.recv_timeout(Duration::from_millis(300)),
                Err(mpsc::RecvTimeoutError::Timeout),
                "a second slot was handed out while the only one was held"
            );
            drop(first);
            second_acquired
                .recv_timeout(Duration::from_secs(10))
                .expect("the second acquire returned once the first slot was freed");
        });
        assert_eq!(*slots.lock(), 0, "every slot was given back");
    }

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
