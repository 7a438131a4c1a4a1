//! The master process: forks the workers, then supervises them until it is told to stop.
//!
//! The master serves no request. Its whole life is one loop that waits for one of two things,
//! a signal (through a signalfd, see [`crate::shutdown`]) or a worker saying "ready" (one
//! datagram on a socket pair), and after each, brings the set of workers one step closer to
//! what it should be:
//!
//! | event | what the master does |
//! |---|---|
//! | a worker exits that nobody asked to | reaps it with `waitpid`, forks a replacement |
//! | SIGHUP | rolling restart: one extra worker, wait until it is ready, stop one old one, wait until it exited, repeat |
//! | SIGTERM or SIGINT | shut the listener's door, `STOP_AND_DRAIN` to every worker (they share out the accept queue), wait until all have exited, exit 0 |
//! | the same with `--drain-delay` | first serve on for the delay, `/healthz` at 503 (a second signal ends the delay) |
//! | a second SIGTERM or SIGINT while stopping | SIGKILL to every worker, exit 130 |
//!
//! The master never starts a thread. That is what makes `fork` safe here: in a process with
//! several threads, the child gets a copy of memory in which another thread may have held a lock
//! (the allocator's, stdout's) at the moment of the fork, and nobody is left to release it.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use app::{App, Drain};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use protocol::Limits;
use tracing::{debug, error, info, warn};

use crate::listener::Listening;
use crate::shutdown::{MasterSignals, STOP_AND_DRAIN};
use crate::worker::{self, Inherited};

/// How long a new worker may take to report that it is ready before it is killed.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long workers may take to finish their requests after SIGTERM before they are killed.
/// Longer than any `/slow` request and than the default timeouts.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Workers in a row that exit before they are ready, after which the master gives up: they
/// will most likely keep failing (a bad `--addr` for `--reuseport`, a resource limit).
pub const MAX_FAILED_STARTS: u32 = 3;

/// How long the master waits before it tries `fork` again after `fork` failed (EAGAIN: the
/// process limit, or memory).
const FORK_RETRY: Duration = Duration::from_secs(1);

/// How the master stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every worker finished its requests and exited.
    Gracefully,
    /// A second stop signal: the workers were killed.
    Forced,
}

/// Why the master could not do its job.
#[derive(Debug)]
pub enum MasterError {
    LocalAddress(io::Error),
    Signals(Errno),
    ReadyChannel(io::Error),
    Fork(Errno),
    Wait(Errno),
    /// A worker exited before it was ready while the server was starting.
    WorkerFailedToStart {
        pid: Pid,
        status: String,
    },
    /// [`MAX_FAILED_STARTS`] replacements in a row exited before they were ready.
    WorkersKeepFailing {
        last_status: String,
    },
    /// Workers still running [`STOP_GRACE`] after SIGTERM (they were killed).
    StopTimedOut {
        killed: usize,
    },
}

impl fmt::Display for MasterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterError::LocalAddress(error) => {
                write!(f, "cannot read the listening address: {error}")
            }
            MasterError::Signals(errno) => write!(f, "cannot set up signal handling: {errno}"),
            MasterError::ReadyChannel(error) => {
                write!(f, "cannot talk to the workers: {error}")
            }
            MasterError::Fork(errno) => write!(f, "cannot fork a worker: {errno}"),
            MasterError::Wait(errno) => write!(f, "cannot wait for the workers: {errno}"),
            MasterError::WorkerFailedToStart { pid, status } => write!(
                f,
                "worker {pid} {status} before it was ready (its log line above says why)"
            ),
            MasterError::WorkersKeepFailing { last_status } => write!(
                f,
                "{MAX_FAILED_STARTS} new workers in a row exited before they were ready \
                 (the last one {last_status}); giving up"
            ),
            MasterError::StopTimedOut { killed } => write!(
                f,
                "{killed} worker(s) still busy {STOP_GRACE:?} after SIGTERM were killed"
            ),
        }
    }
}

impl std::error::Error for MasterError {}

/// What the master knows about one worker.
#[derive(Debug)]
struct Worker {
    /// Bumped by every SIGHUP: a worker of an older generation is replaced.
    generation: u64,
    started: Instant,
    /// It sent its "ready" datagram: it is accepting connections.
    ready: bool,
    /// It was sent SIGTERM and is finishing its requests.
    stopping: bool,
    /// It was sent SIGKILL (it never became ready).
    killed: bool,
}

/// Where the master is in its life.
#[derive(Debug)]
enum Phase {
    /// Forking the first workers. The `listening on` line waits until all are ready.
    Starting,
    Running,
    /// A stop signal came with `--drain-delay`: serving on, `/healthz` at 503, until `until`.
    Draining {
        until: Instant,
    },
    /// Waiting for every worker to exit, then ending with `outcome`.
    Stopping {
        deadline: Instant,
        outcome: Result<Stopped, MasterError>,
    },
}

/// The supervising process.
pub struct Master {
    pid: Pid,
    listening: Listening,
    app: App,
    limits: Limits,
    target: usize,
    signals: MasterSignals,
    ready_receiver: UnixDatagram,
    /// Never used by the master: each worker inherits a copy and sends on it.
    ready_sender: UnixDatagram,
    workers: BTreeMap<Pid, Worker>,
    generation: u64,
    /// A SIGHUP's restart is under way (for the "done" log line).
    rolling: bool,
    phase: Phase,
    /// `--drain-delay`, and the flag that makes every worker's `/healthz` say `draining`.
    drain: Drain,
    failed_starts: u32,
    fork_retry_at: Option<Instant>,
}

// ANCHOR: serve
/// Forks `workers` worker processes serving `app` on `listening`, calls `announce` with the
/// address once every one of them is ready, and supervises them until SIGTERM or SIGINT.
///
/// Call it from a process that has only one thread (see the module documentation).
pub fn serve(
    listening: Listening,
    app: App,
    limits: Limits,
    workers: NonZeroUsize,
    drain: Drain,
    announce: impl FnOnce(SocketAddr),
) -> Result<Stopped, MasterError> {
    let address = listening.local_addr().map_err(MasterError::LocalAddress)?;
    // Before the first fork: every worker inherits the blocked mask (see `shutdown`).
    let signals = MasterSignals::block().map_err(MasterError::Signals)?;
    let (ready_sender, ready_receiver) = UnixDatagram::pair().map_err(MasterError::ReadyChannel)?;
    ready_receiver
        .set_nonblocking(true)
        .map_err(MasterError::ReadyChannel)?;
    let mut master = Master {
        pid: nix::unistd::getpid(),
        listening,
        app,
        limits,
        target: workers.get(),
        signals,
        ready_receiver,
        ready_sender,
        workers: BTreeMap::new(),
        generation: 0,
        rolling: false,
        phase: Phase::Starting,
        drain,
        failed_starts: 0,
        fork_retry_at: None,
    };
    master.supervise(address, announce)
}
// ANCHOR_END: serve

impl Master {
    // ANCHOR: supervise
    /// The master's loop: wait, take in what happened, bring the workers closer to the target.
    fn supervise(
        &mut self,
        address: SocketAddr,
        announce: impl FnOnce(SocketAddr),
    ) -> Result<Stopped, MasterError> {
        let mut announce = Some(announce);
        loop {
            self.reconcile();
            if let Phase::Starting = self.phase {
                if self.workers.values().filter(|worker| worker.ready).count() == self.target {
                    if let Some(announce) = announce.take() {
                        announce(address);
                    }
                    info!(
                        workers = self.target,
                        reuseport = self.listening.is_reuseport(),
                        "all workers ready"
                    );
                    self.phase = Phase::Running;
                }
            }
            if matches!(self.phase, Phase::Stopping { .. }) && self.workers.is_empty() {
                if let Phase::Stopping { outcome, .. } =
                    std::mem::replace(&mut self.phase, Phase::Running)
                {
                    return outcome;
                }
            }

            self.wait_for_news()?;
            self.read_ready_reports()?;
            while let Some(signal) = self.signals.next().map_err(MasterError::Wait)? {
                if let Some(stopped) = self.on_signal(signal)? {
                    return Ok(stopped);
                }
            }
            self.enforce_deadlines();
        }
    }
    // ANCHOR_END: supervise

    /// Sleeps until a signal, a ready report, or the nearest deadline.
    fn wait_for_news(&self) -> Result<(), MasterError> {
        let timeout = match self.next_deadline() {
            None => PollTimeout::NONE,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // Rounded up to the next millisecond, so we never wake just before a deadline.
                let millis = left.as_millis().saturating_add(1);
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [
            PollFd::new(self.signals.fd().as_fd(), PollFlags::POLLIN),
            PollFd::new(self.ready_receiver.as_fd(), PollFlags::POLLIN),
        ];
        match nix::poll::poll(&mut fds, timeout) {
            // Which one is readable does not matter: both are read without blocking next.
            Ok(_) => Ok(()),
            // Our signals are blocked, but a debugger or SIGSTOP/SIGCONT can still interrupt.
            Err(Errno::EINTR) => Ok(()),
            Err(errno) => Err(MasterError::Wait(errno)),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let stop = match self.phase {
            Phase::Stopping { deadline, .. } => Some(deadline),
            Phase::Draining { until } => Some(until),
            _ => None,
        };
        let starts = self
            .workers
            .values()
            .filter(|worker| !worker.ready && !worker.killed)
            .map(|worker| worker.started + READY_TIMEOUT);
        stop.into_iter()
            .chain(starts)
            .chain(self.fork_retry_at)
            .min()
    }

    /// Takes in every "ready" datagram that has arrived.
    fn read_ready_reports(&mut self) -> Result<(), MasterError> {
        let mut message = [0u8; 4];
        loop {
            match self.ready_receiver.recv(&mut message) {
                Ok(4) => {
                    let pid = Pid::from_raw(i32::from_ne_bytes(message));
                    // A worker that died right after reporting was already reaped: skip it.
                    if let Some(worker) = self.workers.get_mut(&pid) {
                        worker.ready = true;
                        self.failed_starts = 0;
                        debug!(%pid, "worker ready");
                    }
                }
                // Only our own workers can write here, and they send four bytes.
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(MasterError::ReadyChannel(error)),
            }
        }
    }

    // ANCHOR: on_signal
    /// Acts on one signal. Returns `Some` when the master must exit at once.
    fn on_signal(&mut self, signal: Signal) -> Result<Option<Stopped>, MasterError> {
        match signal {
            Signal::SIGCHLD => self.reap()?,
            // Blocked only for the workers' sake (see `MASTER_SIGNALS`).
            Signal::SIGUSR1 => debug!("SIGUSR1 is for workers: ignored"),
            Signal::SIGHUP => match self.phase {
                Phase::Running => {
                    // The config file first (the log level): the workers forked next inherit it.
                    cli::config::reload_now();
                    self.generation += 1;
                    self.rolling = true;
                    info!(
                        workers = self.target,
                        "SIGHUP: replacing the workers one at a time"
                    );
                }
                Phase::Starting => warn!("SIGHUP while starting: ignored"),
                Phase::Draining { .. } | Phase::Stopping { .. } => {
                    debug!("SIGHUP while stopping: ignored");
                }
            },
            // SIGTERM or SIGINT: the only other signals in the mask.
            _ => {
                match self.phase {
                    Phase::Stopping { .. } => {
                        warn!(%signal, "second stop signal: killing the workers");
                        self.kill_all_and_reap()?;
                        return Ok(Some(Stopped::Forced));
                    }
                    Phase::Draining { .. } => {
                        info!(%signal, "second signal: the drain is cut short")
                    }
                    Phase::Running if !self.drain.delay().is_zero() => {
                        // The flag is in the shared counters: every worker's /healthz sees it.
                        self.drain.begin();
                        self.phase = Phase::Draining {
                            until: Instant::now() + self.drain.delay(),
                        };
                        return Ok(None);
                    }
                    _ => {}
                }
                info!(%signal, workers = self.workers.len(), "stopping: the workers finish their requests");
                self.begin_stop(Ok(Stopped::Gracefully));
            }
        }
        Ok(None)
    }
    // ANCHOR_END: on_signal

    /// Shuts the door, asks every worker to drain the accept queue, finish and exit; the loop
    /// ends once they all have.
    fn begin_stop(&mut self, outcome: Result<Stopped, MasterError>) {
        self.drain.begin();
        // Once, here, for the one shared queue; with `--reuseport` each worker shuts its own.
        if let Err(error) = self.listening.refuse_new_connections() {
            warn!(%error, "cannot shut new connections out: some may be reset at close");
        }
        for (pid, worker) in &mut self.workers {
            if !worker.stopping {
                worker.stopping = true;
                send(*pid, STOP_AND_DRAIN);
            }
        }
        self.phase = Phase::Stopping {
            deadline: Instant::now() + STOP_GRACE,
            outcome,
        };
    }

    // ANCHOR: reap
    /// Collects the exit status of every worker that has exited. Until it is collected, an
    /// exited child stays a zombie that holds its PID, so a PID in `workers` always names one of
    /// ours and `kill` can never hit a stranger.
    fn reap(&mut self) -> Result<(), MasterError> {
        loop {
            let (pid, status) = match nix::sys::wait::waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, format!("exited with status {code}")),
                Ok(WaitStatus::Signaled(pid, signal, _core)) => {
                    (pid, format!("was killed by {signal}"))
                }
                // Nothing more has exited (or there are no children left at all).
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
                // Stopped/continued reports come only with flags we do not pass.
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(errno) => return Err(MasterError::Wait(errno)),
            };
            let Some(worker) = self.workers.remove(&pid) else {
                continue;
            };
            self.on_exit(pid, worker, status);
        }
    }
    // ANCHOR_END: reap

    fn on_exit(&mut self, pid: Pid, worker: Worker, status: String) {
        if worker.stopping {
            debug!(%pid, %status, "worker stopped");
            return;
        }
        if worker.ready {
            // The case the supervisor exists for: reconcile() forks the replacement.
            warn!(%pid, %status, "worker exited unexpectedly: starting a replacement");
            return;
        }
        // It never got as far as accepting: retrying at once would most likely fail the same way.
        warn!(%pid, %status, "worker exited before it was ready");
        match self.phase {
            Phase::Starting => {
                self.begin_stop(Err(MasterError::WorkerFailedToStart { pid, status }));
            }
            Phase::Running | Phase::Draining { .. } => {
                self.failed_starts += 1;
                if self.failed_starts >= MAX_FAILED_STARTS {
                    self.begin_stop(Err(MasterError::WorkersKeepFailing {
                        last_status: status,
                    }));
                }
            }
            Phase::Stopping { .. } => {}
        }
    }

    // ANCHOR: reconcile
    /// Forks or stops workers to move toward `target` ready workers of the current generation.
    ///
    /// A rolling restart is the same rule as replacing a crashed worker, plus one: while old
    /// workers remain, run one worker more than the target, and stop an old one only when the
    /// extra one is ready. At no moment are fewer than `target` workers accepting, and the
    /// listening socket itself never closes, so no connection is refused.
    fn reconcile(&mut self) {
        if let Phase::Stopping { .. } = self.phase {
            return;
        }
        if self
            .fork_retry_at
            .is_some_and(|retry_at| Instant::now() < retry_at)
        {
            return;
        }
        self.fork_retry_at = None;
        let active = self.workers.values().filter(|w| !w.stopping).count();
        for _ in active..self.target {
            if !self.spawn() {
                return;
            }
        }
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        let settled = self.workers.values().all(|w| w.ready && !w.stopping);
        let oldest_old = self
            .workers
            .iter()
            .filter(|(_, w)| w.generation < self.generation)
            .min_by_key(|(_, w)| w.started)
            .map(|(pid, _)| *pid);
        match oldest_old {
            Some(old) if settled => {
                if self.workers.len() > self.target {
                    // The extra worker is ready: one old one can go.
                    if let Some(worker) = self.workers.get_mut(&old) {
                        worker.stopping = true;
                    }
                    debug!(pid = %old, "rolling restart: stopping an old worker");
                    // Retire, not drain: the queue stays open, for the others.
                    send(old, Signal::SIGTERM);
                } else {
                    self.spawn();
                }
            }
            Some(_) => {} // A step is in progress: wait for its worker to be ready or gone.
            None if self.rolling && settled => {
                self.rolling = false;
                info!(workers = self.target, "rolling restart done");
            }
            None => {}
        }
    }
    // ANCHOR_END: reconcile

    // ANCHOR: spawn
    /// Forks one worker. Returns false when `fork` failed (the loop retries later).
    fn spawn(&mut self) -> bool {
        // SAFETY: the child of a multi-threaded process may only call async-signal-safe
        // functions until it execs, because other threads' locks are copied in whatever state
        // they were. The master never starts a thread (see the module documentation), so the
        // child's memory is a consistent copy and it may run ordinary Rust code.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Parent { child }) => {
                debug!(pid = %child, generation = self.generation, "forked a worker");
                self.workers.insert(
                    child,
                    Worker {
                        generation: self.generation,
                        started: Instant::now(),
                        ready: false,
                        stopping: false,
                        killed: false,
                    },
                );
                true
            }
            Ok(ForkResult::Child) => {
                // The child also holds copies of the master's signalfd and of the receiving
                // end of the ready channel. It never reads them; they close when it exits.
                let status = worker::run(Inherited {
                    master: self.pid,
                    listening: &self.listening,
                    app: &self.app,
                    limits: &self.limits,
                    ready: &self.ready_sender,
                    unblock_to: self.signals.original_mask(),
                });
                std::process::exit(status)
            }
            Err(errno) => {
                if let Phase::Starting = self.phase {
                    self.begin_stop(Err(MasterError::Fork(errno)));
                } else {
                    error!(%errno, "cannot fork a worker: retrying in a second");
                    self.fork_retry_at = Some(Instant::now() + FORK_RETRY);
                }
                false
            }
        }
    }
    // ANCHOR_END: spawn

    /// Kills workers that did not become ready in time, and everyone once the stop grace ran out.
    fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        if let Phase::Draining { until } = self.phase {
            if now >= until {
                info!(
                    workers = self.workers.len(),
                    "drain delay over: the workers finish their requests"
                );
                self.begin_stop(Ok(Stopped::Gracefully));
            }
        }
        for (pid, worker) in &mut self.workers {
            if !worker.ready && !worker.killed && now >= worker.started + READY_TIMEOUT {
                warn!(%pid, "worker not ready after {READY_TIMEOUT:?}: killing it");
                worker.killed = true;
                send(*pid, Signal::SIGKILL);
            }
        }
        if let Phase::Stopping { deadline, outcome } = &mut self.phase {
            if now >= *deadline {
                let left = self.workers.len();
                warn!(
                    workers = left,
                    "stop grace over: killing the workers still busy"
                );
                for pid in self.workers.keys() {
                    send(*pid, Signal::SIGKILL);
                }
                // The next round reaps them; do not kill them again every round.
                *deadline = now + STOP_GRACE;
                if outcome.is_ok() {
                    *outcome = Err(MasterError::StopTimedOut { killed: left });
                }
            }
        }
    }

    /// SIGKILL to every worker, then waits for each (the second Ctrl-C).
    fn kill_all_and_reap(&mut self) -> Result<(), MasterError> {
        for pid in self.workers.keys() {
            send(*pid, Signal::SIGKILL);
        }
        for pid in std::mem::take(&mut self.workers).into_keys() {
            loop {
                match nix::sys::wait::waitpid(pid, None) {
                    Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(Errno::ECHILD) => {
                        break
                    }
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => return Err(MasterError::Wait(errno)),
                }
            }
        }
        Ok(())
    }
}

/// Sends `signal` to one worker. Every PID passed here is an unreaped child of ours (see
/// [`Master::reap`]), so a failure can only mean it is a zombie already, which its SIGCHLD will
/// tell us; there is nothing to do about it here.
fn send(pid: Pid, signal: Signal) {
    if let Err(errno) = nix::sys::signal::kill(pid, signal) {
        debug!(%pid, %signal, %errno, "kill failed");
    }
}
