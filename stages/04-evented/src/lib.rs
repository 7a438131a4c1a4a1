//! Stage 04: one thread, many connections. An event loop per core (mio, so epoll on Linux)
//! drives hand-written connection state machines; nothing on a loop ever blocks.
//!
//! What is new since the thread pool and prefork stages:
//!
//! - a connection is not a thread any more but a struct ([`conn::Conn`]): its socket, the
//!   `protocol::http1` machine, and what the loop knows about the socket's readiness;
//! - one thread waits for all of its connections at once (`epoll_wait`), and keeps their
//!   timeouts itself ([`timers`]);
//! - work that might block (`/slow`) is sent to a small [`pool`], which wakes the loop when the
//!   response is ready.
//!
//! The model, top to bottom:
//!
//! 1. `main` raises the open-files limit (`driver::open_files`), binds one listening socket per
//!    loop on the same port ([`server::bind`], `SO_REUSEPORT`), and calls [`serve`], which
//!    starts the pool and one thread per loop;
//! 2. each loop ([`event_loop`]) waits in `epoll_wait` and, for each ready socket, accepts
//!    (refusing with 503 past `--max-connections`) or drives the connection ([`conn`]): answer
//!    the requests the machine has ready, write until the socket is full, read until it is
//!    empty, all without blocking; a connection that cannot go on simply waits for its next
//!    event;
//! 3. handlers that may block go to the [`pool`]; its workers leave the response in the loop's
//!    mailbox and wake the loop (`mio::Waker`), which hands it to the connection;
//! 4. [`timers`] turns the machines' deadlines into `epoll_wait` timeouts: header timeout
//!    (slowloris), idle keep-alive timeout, lingering close;
//! 5. [`shutdown`] turns SIGINT/SIGTERM into a flag and a wake-up of every loop: stop accepting,
//!    let each connection finish, exit when all are closed (or the grace period is over).
//!
//! [`slab`] is the table that maps epoll's tokens back to connections.

pub mod conn;
pub mod event_loop;
pub mod pool;
pub mod run;
pub mod server;
pub mod shutdown;
pub mod slab;
pub mod timers;

pub use server::{serve, Config};

/// What `/api/info` says about this stage.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage04-evented",
    model: "event loops (mio/epoll), one per core, with a pool for blocking handlers",
};
