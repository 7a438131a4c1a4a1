//! Graceful shutdown on SIGINT and SIGTERM: a flag, and a wake-up call for every loop.
//!
//! A signal handler may do almost nothing safely, so, as in stage 01, signal-hook runs the
//! handling on an ordinary thread. Stage 01 had to wake a thread blocked in `accept` by
//! connecting to itself; here every loop already waits on something another thread can poke:
//! its `mio::Waker` (an eventfd in the loop's epoll set). So stopping is: set the flag, wake
//! every loop. Each loop then closes its listening socket, tells every connection to finish
//! (`handle_shutdown`), and returns once all are closed or the grace period is over.
//!
//! A second signal ends the process at once, for the impatient.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use app::Drain;
use mio::Waker;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::info;

/// How long a stopping loop waits for its connections to finish before it closes them anyway:
/// longer than the longest `/slow` (10 s), so a request in flight is never cut.
pub const GRACE_PERIOD: Duration = Duration::from_secs(15);

/// The stop flag and the wakers of the loops that must notice it.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        // Acquire pairs with the Release in `request`: a loop woken by the waker sees the flag.
        self.inner.requested.load(Ordering::Acquire)
    }

    /// Registers the waker of a loop that must be told about the stop.
    pub fn add_waker(&self, waker: Arc<Waker>) {
        self.wakers().push(waker);
    }

    /// Sets the flag and wakes every loop.
    pub fn request(&self) {
        self.inner.requested.store(true, Ordering::Release);
        for waker in self.wakers().iter() {
            // A failed wake means the loop is gone already; nothing is left to tell.
            let _ = waker.wake();
        }
    }

    fn wakers(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Waker>>> {
        // The list is only pushed to and iterated: a panic elsewhere cannot leave it half-made.
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: on_signals
    /// Starts the thread that turns SIGINT and SIGTERM into [`request`](Self::request), after
    /// `drain`'s delay (`--drain-delay`, `/healthz` at 503 meanwhile).
    pub fn on_signals(&self, drain: Drain) -> std::io::Result<()> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let shutdown = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let Some(signal) = signals.forever().next() else {
                    return;
                };
                info!(signal, "stopping");
                // The loops serve on meanwhile; a second signal ends the wait.
                drain.begin_and_wait(|| signals.pending().next().is_some());
                info!("stopping: no new connections, finishing requests in flight");
                shutdown.request();
                if signals.forever().next().is_some() {
                    info!("second signal: exiting now");
                    std::process::exit(130);
                }
            })?;
        Ok(())
    }
    // ANCHOR_END: on_signals
}
