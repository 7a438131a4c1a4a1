//! Stage 03: prefork. A master process binds the listening socket, `fork`s worker processes that
//! accept on it, and supervises them. Each worker is stage 01 again, blocking I/O, one request
//! at a time, with a lobby (`driver::lobby`) for the connections that are only waiting for their
//! client. Concurrency comes from the number of processes.
//!
//! The whole model, top to bottom:
//!
//! 1. `main` binds the socket ([`listener`]): one shared listener, or with `--reuseport` one
//!    `SO_REUSEPORT` listener per worker.
//! 2. [`master::serve`] blocks the signals it handles, then forks `--workers` children
//!    ([`master`]). The master never serves a request and never starts a thread: it waits for
//!    signals on a signalfd and for "ready" reports from new workers, and keeps the right number
//!    of workers alive: it replaces a worker that dies, replaces them all one at a time on
//!    SIGHUP, and stops them all on SIGTERM or SIGINT.
//! 3. Each child runs [`worker::run`]: it installs its own signal handlers ([`shutdown`]), waits
//!    in its lobby's epoll set for a connection to accept (`EPOLLEXCLUSIVE`, so one connection
//!    wakes one idle worker), for its waiting connections' bytes and for the stop, and serves
//!    each connection that has a request with stage 01's driver
//!    (`stage01_blocking::conn::serve_until`), which hands it back to the lobby when it only
//!    waits again.
//!
//! What it costs: a process per request served at once. Processes share the pages they do not
//! write (the program, the `App` built before the fork), copy-on-write, but each has its own
//! stack, heap and page tables; and a worker serving a slow handler serves nobody else meanwhile
//! (its lobby waits too), while the kernel balances connections among workers, not requests.
//!
//! Linux only (fork, signalfd, epoll, `PR_SET_PDEATHSIG`); elsewhere the crate compiles to a
//! binary that says so.

#[cfg(target_os = "linux")]
pub mod listener;
#[cfg(target_os = "linux")]
pub mod master;
pub mod run;
#[cfg(target_os = "linux")]
pub mod shutdown;
#[cfg(target_os = "linux")]
pub mod worker;

#[cfg(target_os = "linux")]
pub use master::serve;

use cli::WorkerCount;

/// What `/api/info` says about this stage. The `pid` it reports is the worker's, so a client
/// can tell which process answered.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage03-prefork",
    model: "prefork: a master and forked worker processes, one request each at a time",
};

/// The most workers `--workers` accepts: a typo should not fork ten thousand processes.
pub const MAX_WORKERS: usize = 1024;

/// Workers when `--workers` is not given: one per CPU this process may run on, and at least
/// two, so that one slow client never stalls the whole server even on a single core.
pub fn default_workers() -> WorkerCount {
    let cores = WorkerCount::available();
    // `max(2)` is never 0, so `new` always gives a count; `cores` is only its type's fallback.
    WorkerCount::new(cores.get().max(2)).unwrap_or(cores)
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_is_at_least_two_workers() {
        assert!(super::default_workers().get() >= 2);
    }
}
