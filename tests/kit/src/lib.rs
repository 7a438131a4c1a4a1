//! The stage kit: build, start, talk raw HTTP/1.1 to, and stop the stage binaries. The
//! conformance suite (`tests/conformance/`), the book test (`tests/book.rs`) and the benchmark
//! harness (`benches/harness/`) share it.
//!
//! Nothing here knows how a stage works inside: a stage is a binary with the command line and
//! the behaviour that `design.md` promises, and every check goes through its socket, its stdout,
//! its stderr, its exit status, its signals and its `/proc` files, the way a user meets it.
//!
//! Modules, in the order a test uses them:
//!
//! - [`stage`]: a stage's package name and what its model can do by design ([`Capabilities`]).
//! - [`build`]: builds a stage binary (or an example) once per process, with the cargo and the
//!   target directory that built the running test.
//! - [`server`]: starts a binary as a user would (`--addr 127.0.0.1:0`), finds its address on the
//!   first line of stdout, signals it and reaps it by PID; a TLS stage is also given a file to
//!   write its self-signed certificate to, which the server's connections then trust.
//! - [`wire`]: a raw-bytes HTTP/1.1 client over TCP or TLS: reads one complete response at a
//!   time (RFC 9112 section 6.3 framing) and tells whether the server closed the connection.
//! - [`tls`]: the TLS client settings (rustls): which certificate to trust, which name to ask.
//! - [`procfs`]: what Linux's `/proc` says about a process (resident memory, open descriptors,
//!   parent, children, CPU time), and this process's own open-file limit.
//! - [`peers`]: finds external clients on `PATH`; says which checks it skips without them, or
//!   fails under `CI=true`.
//! - [`scratch`]: temporary directories that remove themselves.

pub mod build;
pub mod peers;
pub mod procfs;
pub mod scratch;
pub mod server;
pub mod stage;
pub mod tls;
pub mod wire;

pub use server::{Server, Signal};
pub use stage::{Capabilities, Stage};
pub use tls::TlsClient;
pub use wire::{Conn, Connector, Response, WireError, Writer};

use std::path::{Path, PathBuf};

/// The workspace root (the directory of the root `Cargo.toml`): two levels above this crate,
/// which lives in `tests/kit/`.
pub fn workspace_dir() -> PathBuf {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    match kit.ancestors().nth(2) {
        Some(root) => root.to_path_buf(),
        // Only if the crate were moved to the top of a file system; the path then still names
        // where the crate is, and the callers' file errors say what is missing there.
        None => kit.to_path_buf(),
    }
}

/// The bundled demo site that every stage serves when no `--root` is given.
pub fn site_dir() -> PathBuf {
    workspace_dir().join("common").join("site")
}

/// `Result::unwrap` (and `Option::unwrap`) for test plumbing, with a message that says what
/// was being done, or what was expected.
pub trait OrFail<T> {
    fn or_fail(self, doing: &str) -> T;
}

impl<T, E: std::fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, doing: &str) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("{doing}: {error}"),
        }
    }
}

impl<T> OrFail<T> for Option<T> {
    fn or_fail(self, expected: &str) -> T {
        self.unwrap_or_else(|| panic!("expected {expected}, found none"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_dir_holds_the_workspace_manifest_and_the_site() {
        let root = workspace_dir();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
            .expect("the workspace root has a Cargo.toml");
        assert!(manifest.contains("[workspace]"), "{}", root.display());
        assert!(site_dir().join("index.html").is_file());
    }
}
