//! Graceful shutdown on SIGINT and SIGTERM: a cancellation token to say "stop", and a task
//! tracker to know when everyone has.
//!
//! Stage 01 needed a flag, a polling interval and a connection to its own listener to wake a
//! thread blocked in `accept`. Here nothing blocks: the accept loop and every connection task
//! wait on the token's `cancelled()` next to their other futures, so cancelling it wakes each of
//! them at once. The steps (design.md): stop accepting, let every connection finish what it has
//! (answer the requests already received, close idle connections), wait for the tasks within a
//! grace period, exit 0. A second signal ends the process at once, for the impatient.

use std::future::Future;
use std::io;
use std::time::Duration;

use app::Drain;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// How long a stopping server waits for its connections to finish what they have. Long enough
/// for the slowest handler (`/slow` is capped at 10 s) and a response to a slow reader; short
/// enough for a service manager's stop timeout (systemd's default is 90 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long the runtime's blocking threads get to finish once everything else has stopped: a
/// blocking handler still running after the grace period is abandoned, not waited for.
pub const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// Exit status after a second signal: 128 + SIGINT, what a shell reports for Ctrl-C.
const EXIT_ON_SECOND_SIGNAL: i32 = 130;

// ANCHOR: shutdown
/// The stop signal and the set of tasks that must finish before the process exits.
///
/// Cheap to clone: both parts are reference-counted handles to shared state.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// Counts running tasks without keeping anything of the finished ones, unlike a `JoinSet`,
    /// which holds a handle per task until it is joined: with a task per connection, that would
    /// grow with every connection ever served.
    tracker: TaskTracker,
}
// ANCHOR_END: shutdown

impl Shutdown {
    /// A shutdown that has not been requested.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks everything to stop.
    pub fn request(&self) {
        self.token.cancel();
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when a stop is requested.
    pub async fn requested(&self) {
        self.token.cancelled().await
    }

    // ANCHOR: connection_token
    /// A token for one connection, cancelled together with this one.
    ///
    /// A child rather than a clone because of what waiting on a token costs: each poll of
    /// `cancelled()` locks the token's mutex. With a clone, every connection task on every
    /// worker would take the same lock on every wake-up; a child token has its own.
    pub fn connection_token(&self) -> CancellationToken {
        self.token.child_token()
    }
    // ANCHOR_END: connection_token

    /// Spawns `task` on the runtime and tracks it: [`drained`](Self::drained) waits for it.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task);
    }

    // ANCHOR: drained
    /// Waits until every tracked task has finished, or `grace` has passed. Returns how many
    /// were still running then.
    pub async fn drained(&self, grace: Duration) -> usize {
        // Closing says no task will be added any more, so that `wait` can complete.
        self.tracker.close();
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => 0,
            Err(_elapsed) => self.tracker.len(),
        }
    }
    // ANCHOR_END: drained

    // ANCHOR: on_signals
    /// Starts the task that turns SIGINT and SIGTERM into [`request`](Self::request), after
    /// `drain`'s delay (`--drain-delay`, `/healthz` at 503 meanwhile). Must be called from
    /// inside the runtime.
    pub fn on_signals(&self, drain: Drain) -> io::Result<()> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let shutdown = self.clone();
        // Not tracked: it must not hold up `drained`, and it ends with the runtime.
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => info!("SIGINT: stopping"),
                _ = terminate.recv() => info!("SIGTERM: stopping"),
            }
            // The server goes on serving meanwhile; a second signal ends the wait.
            drain.begin();
            tokio::select! {
                () = tokio::time::sleep(drain.delay()) => {}
                _ = interrupt.recv() => info!("second signal: the drain is cut short"),
                _ = terminate.recv() => info!("second signal: the drain is cut short"),
            }
            shutdown.request();
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            warn!("second signal: exiting now");
            std::process::exit(EXIT_ON_SECOND_SIGNAL);
        });
        Ok(())
    }
    // ANCHOR_END: on_signals
}
