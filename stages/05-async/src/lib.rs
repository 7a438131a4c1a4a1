//! Stage 05: the same HTTP/1.1 machine, driven by tokio. One task per connection, a few worker
//! threads for all of them.
//!
//! The whole model, top to bottom:
//!
//! 1. `main` builds a multi-thread runtime with `--threads` workers (default: one per core) and
//!    raises the process's open-file limit, because here a connection costs a file descriptor
//!    and a few KiB, not a thread (`driver::open_files`);
//! 2. the accept loop ([`server`]) takes a slot from a semaphore of `--max-connections` slots and
//!    spawns a task per connection; with no slot free, the client gets a `503` and a close;
//! 3. the task ([`conn`]) is stage 01's loop with `.await` in it: answer the requests the
//!    machine has ready, write what the socket takes, then wait for whichever comes first of
//!    the socket, the machine's deadline or the shutdown. Waiting gives the thread back to the
//!    runtime, which runs another connection's task meanwhile;
//! 4. a handler that may block (`/slow`) runs on the runtime's blocking pool
//!    (`spawn_blocking`), so it never holds a worker; everything else is answered inline;
//! 5. files leave with `sendfile(2)` straight from the page cache to the socket, a chunk at a
//!    time, only while the socket can take them;
//! 6. SIGINT or SIGTERM cancels a token ([`shutdown`]): the accept loop stops, each task tells
//!    its machine to finish what it has, and a task tracker waits for them all (within a grace
//!    period) before the process exits 0.
//!
//! What async/await buys over stage 04's hand-written event loop: the compiler turns each
//! `.await` in [`conn::serve_connection`] into a state of a generated state machine, so the
//! connection's state (its buffers, its timer, where it was in the loop) lives in the task's
//! future instead of in a struct the programmer keeps by hand.

pub mod conn;
pub mod run;
pub mod server;
pub mod shutdown;

pub use server::serve;

/// What `/api/info` says about this stage.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage05-async",
    model: "async (tokio), a task per connection",
};
