//! A few threads for the handlers that may block, so that no loop ever does.
//!
//! An event loop serves thousands of connections on one thread: a handler that sleeps for a
//! second (`/slow`) would freeze all of them for that second. So the loop asks the application
//! first (`App::may_block`) and sends such requests here instead. A worker runs the handler and
//! puts the response in the *mailbox* of the loop that owns the connection, then pokes that
//! loop's `mio::Waker`; the loop takes the response out and hands it to the connection machine on
//! its own thread, as if the handler had run there.
//!
//! ```text
//!   loop thread                         worker thread
//!   poll_event -> Request (may block)
//!   pool.submit(job) ----queue----->    app.handle(&request)   (sleeps, reads, ...)
//!   ... serves everyone else ...        mailbox.push(response); waker.wake()
//!   epoll_wait returns (WAKER) <-------
//!   mailbox.take() -> send_response
//! ```
//!
//! The queue is bounded: when it is full, the loop answers 503 at once rather than queueing
//! without limit (the same back-pressure as stage 02's pool).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use app::App;
use mio::{Token, Waker};
use protocol::{Request, Response, StatusCode};
use tracing::error;

/// Jobs that may wait for a worker, per worker thread.
const QUEUE_PER_THREAD: usize = 64;

/// A request to run off the loop, and where its answer goes.
pub struct Job {
    pub request: Request,
    pub reply_to: ReplyTo,
}

/// The loop and connection that wait for a job's response.
pub struct ReplyTo {
    pub mailbox: Arc<Mailbox>,
    pub token: Token,
    /// The connection's never-reused id: the slab key may belong to someone else by the time
    /// the response comes back.
    pub conn_id: u64,
}

/// A finished job, on its way back to its loop.
pub struct Done {
    pub token: Token,
    pub conn_id: u64,
    pub response: Response,
}

// ANCHOR: mailbox
/// Where workers leave responses for one loop.
pub struct Mailbox {
    done: Mutex<Vec<Done>>,
    waker: Arc<Waker>,
}

impl Mailbox {
    pub fn new(waker: Arc<Waker>) -> Mailbox {
        Mailbox {
            done: Mutex::new(Vec::new()),
            waker,
        }
    }

    /// Leaves a response and wakes the loop, unless an earlier response already did and the
    /// loop has not emptied the mailbox yet: one wake-up is enough for both.
    fn deliver(&self, done: Done) {
        let was_empty = {
            let mut mailbox = self.lock();
            let was_empty = mailbox.is_empty();
            mailbox.push(done);
            was_empty
        };
        if was_empty {
            // Fails only if the loop's epoll is gone, i.e. the loop has ended: nobody is waiting.
            let _ = self.waker.wake();
        }
    }

    /// Moves every delivered response into `into` (an empty vector the loop keeps, so that
    /// taking the mail allocates nothing).
    pub fn take(&self, into: &mut Vec<Done>) {
        std::mem::swap(&mut *self.lock(), into);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Done>> {
        // A push or a swap cannot leave the vector inconsistent, whatever panicked.
        self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
// ANCHOR_END: mailbox

/// The worker threads and their queue.
pub struct Pool {
    queue: SyncSender<Job>,
}

impl Pool {
    /// Starts `threads` workers running `app`.
    pub fn new(threads: usize, app: Arc<App>) -> std::io::Result<Pool> {
        let (queue, jobs) = mpsc::sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        // std's Receiver has one owner; the workers take turns at it through the mutex (the
        // Rust book's ThreadPool does the same). Waiting for the lock is waiting for work.
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..threads {
            let jobs = Arc::clone(&jobs);
            let app = Arc::clone(&app);
            thread::Builder::new()
                .name(format!("blocking-{index}"))
                .spawn(move || work(&jobs, &app))?;
        }
        Ok(Pool { queue })
    }

    // ANCHOR: submit
    /// Queues `job`, or gives it back when the queue is full (the caller answers 503).
    pub fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Err(Box::new(job)),
        }
    }
    // ANCHOR_END: submit
}

/// The 503 for a request that found the pool's queue full.
pub fn overloaded() -> Response {
    Response::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: every worker for slow requests is busy; try again later",
    )
    .header("retry-after", "1")
}

// ANCHOR: work
/// One worker: take a job, run the handler, mail the response back, repeat until the pool is
/// dropped.
fn work(jobs: &Mutex<Receiver<Job>>, app: &App) {
    loop {
        let job = {
            let receiver = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            match receiver.recv() {
                Ok(job) => job,
                // Every sender is gone: the server is stopping.
                Err(_) => return,
            }
        };
        let Job { request, reply_to } = job;
        // A panicking handler must not take the worker down with it, nor leave the
        // connection waiting forever: it gets a 500 instead.
        let response =
            catch_unwind(AssertUnwindSafe(|| app.handle(&request))).unwrap_or_else(|_| {
                error!(target = %request.target, "handler panicked");
                Response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error",
                )
            });
        reply_to.mailbox.deliver(Done {
            token: reply_to.token,
            conn_id: reply_to.conn_id,
            response,
        });
    }
}
// ANCHOR_END: work
