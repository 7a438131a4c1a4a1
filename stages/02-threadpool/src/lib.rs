//! Stage 02: the blocking server of stage 01, served by many threads at once.
//!
//! Nothing about serving a request changes: it is still stage 01's blocking driver
//! ([`conn`]), read, answer, write. What changes is who calls it, and when:
//!
//! 1. the accept loop ([`server`]) accepts a connection and hands it over, instead of serving it;
//! 2. the lobby's thread ([`lobby`]) watches every connection that is waiting for its client (a
//!    new one, a kept-alive one between requests, a slow one trickling its head) in one epoll
//!    set, and hands a connection to the pool only once it has a request;
//! 3. a thread of the pool ([`pool`], hand-built) serves it until it only waits again, then
//!    hands it back to the lobby; when every worker is busy and the queue is full, the lobby
//!    waits (back-pressure).
//!
//! `--pool rayon` and `--pool per-connection` ([`comparisons`]) serve the same connections on
//! rayon's pool and on a new thread per connection, without the lobby, so the three can be
//! compared under the same load.
//!
//! What the model costs, in one sentence: `--threads` is the number of *requests* served at
//! once; a waiting connection costs a descriptor and a few KiB in the lobby, and a request on a
//! kept-alive connection may cross two threads (the worker lingers 5 ms for the next one first).
//!
//! Shutdown is stage 01's `Shutdown` and drain: the flag stops the accept loop, the listener's
//! door is shut and the accept queue handed to the lobby like any connection, each connection
//! answers its next request with `Connection: close`, the lobby returns once every connection
//! is done, and the pool's `Drop` joins every worker.

pub mod comparisons;
pub mod conn;
pub mod lobby;
pub mod pool;
pub mod run;
pub mod server;

pub use pool::{ThreadPool, Worker};
pub use server::{serve, PoolConfig, PoolKind, Workers};

/// What `/api/info` says about this stage (with the default `--pool handmade`; see
/// [`PoolKind::info`] for the other two).
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage02-threadpool",
    model: "thread pool (hand-built), bounded queue",
};
