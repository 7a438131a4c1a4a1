//! The hand-built thread pool: a fixed set of [`Worker`] threads that take jobs from one bounded
//! queue.
//!
//! It keeps the shape and the names of the pool in the last chapter of the Rust book
//! (`ThreadPool`, `Worker`, boxed closures sent through a channel, `Drop` that joins every
//! thread), and changes what a server cannot live with:
//!
//! 1. **The queue is bounded.** `sync_channel(queue)` instead of `channel()`: when `queue` jobs
//!    are waiting, [`ThreadPool::execute`] waits too. That is back-pressure: the caller (the
//!    accept loop) slows down to the speed of the workers instead of piling up work in memory.
//! 2. **A panicking job does not lose a worker.** Each job runs inside `catch_unwind`; the worker
//!    logs the panic and takes the next job, so the pool never shrinks.
//! 3. **No bare `lock().unwrap()`.** The one lock (around the receiving end of the channel) is
//!    held only while waiting for a job, never while running one, and a poisoned lock is taken
//!    over with a comment saying why that is sound.
//! 4. **Failures are values.** A thread the OS refuses to start, or a pool with no workers left,
//!    is a [`PoolError`], not a panic.
//!
//! Dropping the pool is the graceful shutdown: it closes the channel, every job already queued
//! still runs, and `drop` returns once every worker thread has been joined.

use std::any::Any;
use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use tracing::{debug, warn};

// ANCHOR: types
/// A unit of work: any closure that can be sent to another thread and run once there.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads sharing one bounded queue of jobs.
pub struct ThreadPool {
    workers: Vec<Worker>,
    /// The sending end of the queue. `None` only inside `drop`, which takes it to close the
    /// queue before joining the workers.
    sender: Option<SyncSender<Job>>,
    /// How many times `execute` found the queue full and had to wait.
    times_full: AtomicU64,
}

/// One thread of the pool, with the number it is known by in the logs.
pub struct Worker {
    id: usize,
    thread: JoinHandle<()>,
}
// ANCHOR_END: types

/// Why the pool could not start or take a job.
#[derive(Debug)]
pub enum PoolError {
    /// The operating system refused to start worker thread `worker` (too many threads, or no
    /// memory for its stack).
    Spawn { worker: usize, source: io::Error },
    /// Every worker is gone, so a job sent now would never run. Workers catch panics and live
    /// until the pool is dropped, so this points at a bug, but it is reported, not assumed away.
    NoWorkers,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Spawn { worker, source } => {
                write!(f, "cannot start worker thread {worker}: {source}")
            }
            PoolError::NoWorkers => f.write_str("the thread pool has no workers left"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Spawn { source, .. } => Some(source),
            PoolError::NoWorkers => None,
        }
    }
}

impl ThreadPool {
    // ANCHOR: new
    /// Starts `threads` workers sharing a queue that holds at most `queue` waiting jobs.
    ///
    /// `queue` may be 0: then there is no waiting room at all, and `execute` returns only once
    /// an idle worker has taken the job from its hand (a rendezvous).
    pub fn new(threads: NonZeroUsize, queue: usize) -> Result<ThreadPool, PoolError> {
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
        // One receiver, many workers: the receiving end cannot be cloned, so the workers share
        // it behind a lock and take turns waiting on it.
        let receiver = Arc::new(Mutex::new(receiver));
        let mut pool = ThreadPool {
            workers: Vec::with_capacity(threads.get()),
            sender: Some(sender),
            times_full: AtomicU64::new(0),
        };
        for id in 0..threads.get() {
            // On failure, returning drops `pool`, which closes the queue and joins the workers
            // already started: a half-built pool leaves no thread behind.
            let worker = Worker::spawn(id, Arc::clone(&receiver))
                .map_err(|source| PoolError::Spawn { worker: id, source })?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }
    // ANCHOR_END: new

    // ANCHOR: execute
    /// Queues `job` to run on a worker. When the queue is full, waits until a worker takes a job
    /// out of it: the caller is slowed down to the pace of the workers (back-pressure).
    pub fn execute<F>(&self, job: F) -> Result<(), PoolError>
    where
        F: FnOnce() + Send + 'static,
    {
        let Some(sender) = &self.sender else {
            // Only `drop` takes the sender, and nothing can call `execute` during `drop`.
            return Err(PoolError::NoWorkers);
        };
        match sender.try_send(Box::new(job)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => {
                // Try first, then wait: the same result as a plain `send`, but the wait is
                // counted and logged, so back-pressure can be seen rather than guessed.
                self.times_full.fetch_add(1, Ordering::Relaxed);
                debug!("job queue full: waiting for a worker");
                sender.send(job).map_err(|_| PoolError::NoWorkers)
            }
            Err(TrySendError::Disconnected(_)) => Err(PoolError::NoWorkers),
        }
    }
    // ANCHOR_END: execute

    /// How many workers the pool has.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// How many times [`execute`](Self::execute) found the queue full and had to wait.
    pub fn times_full(&self) -> u64 {
        // Relaxed: a statistic; it orders no other memory.
        self.times_full.load(Ordering::Relaxed)
    }
}

// ANCHOR: drop
impl Drop for ThreadPool {
    /// Graceful shutdown: no new jobs, every queued job still runs, every worker is joined.
    fn drop(&mut self) {
        // Dropping the only sender closes the queue. Workers keep receiving the jobs already in
        // it; once it is empty *and* closed, `recv` fails and each worker's loop ends.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            debug!(worker = worker.id, "joining worker");
            if worker.thread.join().is_err() {
                // Unreachable in practice: the loop catches every job's panic. Drop cannot
                // return an error, and panicking inside drop could abort, so log it.
                warn!(worker = worker.id, "worker thread panicked outside a job");
            }
        }
    }
}
// ANCHOR_END: drop

impl Worker {
    /// Starts worker `id`, which takes jobs from `receiver` until the queue is closed and empty.
    fn spawn(id: usize, receiver: Arc<Mutex<Receiver<Job>>>) -> io::Result<Worker> {
        let thread = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || Worker::run(id, &receiver))?;
        Ok(Worker { id, thread })
    }

    // ANCHOR: worker_loop
    /// The body of a worker thread.
    fn run(id: usize, receiver: &Mutex<Receiver<Job>>) {
        loop {
            // The guard lives only inside this block, so the lock is released before the job
            // runs; otherwise one worker would hold it for a whole job and the others would
            // queue up behind it, turning the pool into one thread.
            let next = {
                // A lock is poisoned when a thread panicked while holding it. Here it is held
                // only around `recv`, which does not panic, and a `Receiver` has no invariant a
                // panic could break halfway, so taking over a poisoned lock is sound.
                let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
                receiver.recv()
            };
            let Ok(job) = next else {
                // The queue is closed and empty: the pool is being dropped.
                debug!(worker = id, "queue closed; worker exits");
                return;
            };
            // AssertUnwindSafe: a job owns what it captured, and that is dropped with it when it
            // panics. State it shares with others (the App's atomic counters) has no invariant a
            // panic can leave half-done; a shared Mutex would be poisoned, which its next user
            // sees. So nothing broken is observed after a caught panic.
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(job)) {
                warn!(
                    worker = id,
                    panic = panic_message(payload.as_ref()),
                    "a job panicked; the worker carries on"
                );
            }
        }
    }
    // ANCHOR_END: worker_loop
}

/// The message of a panic, when it has one (`panic!` with a literal or a format string).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

#[cfg(test)]
mod tests;
