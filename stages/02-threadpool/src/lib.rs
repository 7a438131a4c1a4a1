//! Stage 02: the blocking server of stage 01, served by many threads at once.
//!
//! Nothing about a connection changes: each one is still served, start to finish, by stage 01's
//! blocking driver, called unchanged ([`conn`]). What changes is who calls it:
//!
//! 1. the accept loop ([`server`]) accepts a connection and hands it over, instead of serving it;
//! 2. a thread of the pool ([`pool`], hand-built) serves it, while the accept loop is already
//!    back in `accept`;
//! 3. when every worker is busy and the queue is full, the accept loop waits (back-pressure).
//!
//! `--pool rayon` and `--pool per-connection` ([`comparisons`]) serve the same connections on
//! rayon's pool and on a new thread per connection, so the three can be compared under the same
//! load.
//!
//! What the model costs, in one sentence: a connection holds a whole thread for as long as it is
//! open, idle keep-alive time included, so `--threads` is also the number of clients served at
//! once. The idle timeout (`--idle-timeout`, 5 s by default) is what gives a worker back.
//!
//! Shutdown is stage 01's `Shutdown` and drain, unchanged: the flag stops the accept loop, the
//! listener's door is shut and the accept queue handed to the workers like any connection, each
//! connection answers its next request with `Connection: close`, and the pool's `Drop` joins
//! every worker.

pub mod comparisons;
pub mod conn;
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
