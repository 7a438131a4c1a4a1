//! Signals: how the master and the workers hear SIGTERM, SIGINT, SIGHUP and SIGCHLD.
//!
//! The two sides need different tools, and the difference is the lesson of this module.
//!
//! - The **master** only ever waits: for a signal, or for a worker to say it is ready. So it
//!   never lets a signal interrupt it at all. It *blocks* the signals it cares about
//!   (`sigprocmask`) and reads them, one `siginfo` at a time, from a `signalfd(2)`: a signal
//!   becomes an ordinary readable file descriptor, handled in the main loop with no
//!   async-signal-safety rules and no flags to forget ([`MasterSignals`]).
//! - A **worker** spends its life inside stage 01's blocking connection driver, which cannot
//!   read a file descriptor for signals: it polls a `Shutdown` flag every 100 ms. So a worker
//!   installs real signal handlers (signal-hook) that do the two async-signal-safe things it
//!   needs: set that flag, and write a byte into a self-pipe that wakes the accept wait
//!   ([`WorkerSignals`]).
//!
//! A worker hears two different stops. SIGTERM means "retire": finish what you serve and exit,
//! while the others go on (a rolling restart, an operator's `kill`, the master's death).
//! [`STOP_AND_DRAIN`] (SIGUSR1, from the master only) means "the server stops": the master has
//! shut the listener's door, and the workers share out what is left in its accept queue before
//! they exit, so that no queued client is reset.
//!
//! The order of the hand-over closes the only race: the master blocks the signals *before* its
//! first `fork`, a child inherits the blocked mask, installs its handlers, and only then unblocks.
//! A SIGTERM sent to a worker in between waits, pending, and is delivered to the new handler
//! instead of killing the half-born worker with the default action.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use signal_hook::consts::SIGTERM;
use stage01_blocking::shutdown::Shutdown;

/// What the master hears about.
pub const MASTER_SIGNALS: [Signal; 5] = [
    // Stop: finish the requests in flight, then exit 0.
    Signal::SIGTERM,
    Signal::SIGINT,
    // Rolling restart: replace the workers one at a time.
    Signal::SIGHUP,
    // A worker exited: reap it, and replace it if nobody asked it to go.
    Signal::SIGCHLD,
    // Not for the master (it ignores its own): blocked so that a worker forked just before a
    // stop keeps the master's STOP_AND_DRAIN pending until its handler is in.
    Signal::SIGUSR1,
];

/// What the master sends every worker when the server stops, once the shared listener's door
/// is shut: drain the accept queue, then exit.
pub const STOP_AND_DRAIN: Signal = Signal::SIGUSR1;

// ANCHOR: master_signals
/// The master's signals, blocked and turned into a readable file descriptor.
pub struct MasterSignals {
    fd: SignalFd,
    /// The mask before we blocked anything: what a worker restores once its handlers are in.
    original_mask: SigSet,
}

impl MasterSignals {
    /// Blocks [`MASTER_SIGNALS`] and opens a signalfd for them. Must run before the first fork
    /// and while the process has a single thread: the mask is per thread, and a thread started
    /// earlier would still receive these signals the ordinary way.
    pub fn block() -> nix::Result<MasterSignals> {
        let mut wanted = SigSet::empty();
        for signal in MASTER_SIGNALS {
            wanted.add(signal);
        }
        let mut original_mask = SigSet::empty();
        nix::sys::signal::sigprocmask(
            SigmaskHow::SIG_BLOCK,
            Some(&wanted),
            Some(&mut original_mask),
        )?;
        // Non-blocking: the main loop polls it together with the workers' ready channel.
        let fd = SignalFd::with_flags(&wanted, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(MasterSignals { fd, original_mask })
    }

    /// The next pending signal, or `None` when there is none left. Signals of one kind that
    /// arrive close together merge into one (several SIGCHLDs may mean several dead workers).
    pub fn next(&self) -> nix::Result<Option<Signal>> {
        loop {
            let Some(info) = self.fd.read_signal()? else {
                return Ok(None);
            };
            // Only the signals in the mask are ever read from this fd; a number nix does not
            // know would be a kernel surprise, and skipping it is the safe answer.
            let number = i32::try_from(info.ssi_signo).ok();
            if let Some(signal) = number.and_then(|number| Signal::try_from(number).ok()) {
                return Ok(Some(signal));
            }
        }
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> &SignalFd {
        &self.fd
    }

    /// The signal mask the process had before [`block`](Self::block).
    pub fn original_mask(&self) -> &SigSet {
        &self.original_mask
    }
}
// ANCHOR_END: master_signals

// ANCHOR: worker_signals
/// A worker's signal handlers: SIGTERM and [`STOP_AND_DRAIN`] set stage 01's [`Shutdown`] flag
/// and wake the accept wait through a self-pipe, and [`STOP_AND_DRAIN`] also asks for the drain;
/// SIGINT and SIGHUP are ignored (a terminal sends them to the whole process group, and stops
/// and restarts are the master's business).
pub struct WorkerSignals {
    shutdown: Shutdown,
    /// Set by [`STOP_AND_DRAIN`]: the accept queue is to be drained before the worker exits.
    drain: Arc<AtomicBool>,
    /// The read end of the self-pipe: readable once a stop signal arrived.
    wake: UnixStream,
}

impl WorkerSignals {
    /// Installs the handlers, then restores `unblock_to` (the mask the master had before it
    /// blocked its signals), so that a signal that arrived since the fork is delivered now.
    pub fn install(unblock_to: &SigSet) -> io::Result<WorkerSignals> {
        let shutdown = Shutdown::new();
        let drain = Arc::new(AtomicBool::new(false));
        let (wake, wake_writer) = UnixStream::pair()?;
        // The drain flag before the stop flag, and both before the pipe: whoever is woken must
        // already see them set. All three are async-signal-safe: atomic stores and a
        // non-blocking write.
        signal_hook::flag::register(STOP_AND_DRAIN as i32, Arc::clone(&drain))?;
        for signal in [SIGTERM, STOP_AND_DRAIN as i32] {
            signal_hook::flag::register(signal, Arc::clone(shutdown.flag()))?;
            signal_hook::low_level::pipe::register(signal, wake_writer.try_clone()?)?;
        }
        // Ctrl-C and a terminal hang-up reach the whole process group; only the master acts.
        for signal in [Signal::SIGINT, Signal::SIGHUP] {
            // SAFETY: SIG_IGN runs no code in the process, so no async-signal-safety rule
            // applies.
            unsafe { nix::sys::signal::signal(signal, SigHandler::SigIgn) }
                .map_err(io::Error::from)?;
        }
        unblock_to.thread_set_mask().map_err(io::Error::from)?;
        Ok(WorkerSignals {
            shutdown,
            drain,
            wake,
        })
    }

    /// The flag stage 01's driver polls.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Whether the stop was [`STOP_AND_DRAIN`]: the server is stopping and the accept queue is
    /// to be drained.
    pub fn drain_requested(&self) -> bool {
        self.drain.load(Ordering::SeqCst)
    }

    /// The self-pipe's read end, for the accept wait.
    pub fn wake(&self) -> &UnixStream {
        &self.wake
    }
}
// ANCHOR_END: worker_signals
