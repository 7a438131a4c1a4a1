//! Support code shared by the conformance suite (`tests/`) and the benchmarks (`benches/`):
//! building and starting the real stage binaries, talking raw HTTP/1.1 to them, and finding the
//! real clients (curl, ...) that drive them.
//!
//! Nothing here knows how a stage works inside: a stage is a binary with the command line and
//! the behaviour that `design.md` promises, and every check goes through its socket, its stdout,
//! its stderr, its exit status and its signals, the way a user meets it.
//!
//! Modules, in the order a test uses them:
//!
//! - [`stage`]: a stage's package name and what its model can do by design ([`Capabilities`]).
//! - [`build`]: builds a stage binary once per process, with the cargo that runs the tests.
//! - [`server`]: starts a binary as a user would (`--addr 127.0.0.1:0`), finds its address on the
//!   first line of stdout, signals it and reaps it by PID.
//! - [`wire`]: a raw-bytes HTTP/1.1 client: reads one complete response at a time (RFC 9112
//!   section 6.3 framing) and tells whether the server closed the connection.
//! - [`peers`]: finds external clients on `PATH`; says which checks it skips without them, or
//!   fails under `CI=true`.
//! - [`bench`](mod@bench): the stage-comparison benchmark harness (`cargo bench --bench stages`).

pub mod bench;
pub mod build;
pub mod peers;
pub mod server;
pub mod stage;
pub mod wire;

pub use server::{Server, Signal};
pub use stage::{Capabilities, Stage};
pub use wire::{Conn, Response, WireError};

use std::path::PathBuf;

/// The workspace root (the directory of the root `Cargo.toml`).
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled demo site that every stage serves when no `--root` is given.
pub fn site_dir() -> PathBuf {
    workspace_dir().join("common").join("site")
}
