//! Stage 01: the simplest server that is still correct. One thread, blocking `std::net` calls,
//! one connection at a time.
//!
//! The whole model, top to bottom:
//!
//! 1. [`serve`] accepts a connection ([`server`]);
//! 2. it serves that connection until it closes ([`conn`]): read bytes, hand them to the
//!    `protocol::http1` machine, answer each request with the shared `App`, write the responses;
//! 3. only then does it accept the next one.
//!
//! Step 3 is the lesson of the chapter: while one client holds its connection open, every other
//! client waits in the kernel's accept queue. The idle timeout (`--idle-timeout`, 5 s by default)
//! is what keeps one idle client from holding the server forever, and the header timeout is what
//! keeps a client that trickles bytes (slowloris) from doing the same.
//!
//! [`shutdown`] turns SIGINT and SIGTERM into a graceful stop.

pub mod conn;
pub mod run;
pub mod server;
pub mod shutdown;

pub use server::serve;

/// What `/api/info` says about this stage.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage01-blocking",
    model: "blocking, one connection at a time",
};
