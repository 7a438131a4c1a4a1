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
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Generous, so a loaded shared machine does not make the tests flaky; a passing run never
    /// waits this long.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn threads(n: usize) -> NonZeroUsize {
        // Cannot fail: every caller passes a literal greater than zero.
        NonZeroUsize::new(n).expect("at least one thread")
    }

    #[test]
    fn drop_runs_every_queued_job_then_joins() {
        let pool = ThreadPool::new(threads(2), 64).expect("two threads start");
        assert_eq!(pool.threads(), 2);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                thread::sleep(Duration::from_millis(1));
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("the pool takes jobs");
        }
        // Most of the 50 jobs are still queued here; drop must run them all before returning.
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 50);
    }

    #[test]
    fn a_panicking_job_does_not_lose_the_worker() {
        // One worker: if the panic killed it, nothing after it could run.
        let pool = ThreadPool::new(threads(1), 16).expect("one thread starts");
        let (ran, results) = mpsc::channel();
        pool.execute(|| panic!("deliberate panic from a test job"))
            .expect("the pool takes the panicking job");
        for index in 0..10 {
            let ran = ran.clone();
            pool.execute(move || {
                // The receiver outlives the pool in this test; an error would mean it did not.
                let _ = ran.send(index);
            })
            .expect("the pool still takes jobs after a panic");
        }
        drop(ran);
        let mut seen = Vec::new();
        while let Ok(index) = results.recv_timeout(PATIENCE) {
            seen.push(index);
            if seen.len() == 10 {
                break;
            }
        }
        assert_eq!(
            seen,
            (0..10).collect::<Vec<_>>(),
            "jobs after the panic, in order"
        );
        drop(pool);
    }

    #[test]
    fn a_full_queue_makes_execute_wait_until_a_slot_frees() {
        // One worker and room for one waiting job.
        let pool = ThreadPool::new(threads(1), 1).expect("one thread starts");
        let (started, worker_started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        pool.execute(move || {
            let _ = started.send(());
            // Hold the only worker until the test says so (or the sender is dropped).
            let _ = released.recv();
        })
        .expect("first job");
        worker_started
            .recv_timeout(PATIENCE)
            .expect("the worker took the first job");
        assert_eq!(pool.times_full(), 0);

        // The worker is busy, the queue has one free slot: this returns at once.
        pool.execute(|| {}).expect("second job takes the free slot");

        // The queue is full now: a third `execute` must wait until the worker frees a slot.
        thread::scope(|scope| {
            let (returned, execute_returned) = mpsc::channel();
            let pool = &pool;
            scope.spawn(move || {
                pool.execute(|| {}).expect("third job");
                let _ = returned.send(());
            });
            assert_eq!(
                execute_returned.recv_timeout(Duration::from_millis(300)),
                Err(mpsc::RecvTimeoutError::Timeout),
                "execute returned while the queue was full"
            );
            release.send(()).expect("the first job is waiting for this");
            execute_returned
                .recv_timeout(PATIENCE)
                .expect("execute returned once the worker took the queued job");
        });
        assert_eq!(pool.times_full(), 1);
    }

    #[test]
    fn a_zero_queue_hands_jobs_straight_to_idle_workers() {
        let pool = ThreadPool::new(threads(2), 0).expect("two threads start");
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("the pool takes jobs");
        }
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 20);
    }

    #[test]
    fn jobs_run_on_the_named_worker_threads() {
        let pool = ThreadPool::new(threads(3), 8).expect("three threads start");
        let (names, received) = mpsc::channel();
        for _ in 0..3 {
            let names = names.clone();
            pool.execute(move || {
                let _ = names.send(thread::current().name().map(str::to_owned));
            })
            .expect("the pool takes jobs");
        }
        drop(pool);
        drop(names);
        let names: Vec<_> = received.iter().collect();
        assert_eq!(names.len(), 3);
        for name in names {
            let name = name.expect("worker threads are named");
            assert!(name.starts_with("worker-"), "{name}");
        }
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let literal = panic::catch_unwind(|| panic!("plain")).expect_err("it panics");
        assert_eq!(panic_message(literal.as_ref()), "plain");
        let formatted = panic::catch_unwind(|| panic!("formatted {}", 42)).expect_err("it panics");
        assert_eq!(panic_message(formatted.as_ref()), "formatted 42");
    }
}
