//! What the suite and the benchmark harness know about a stage before starting it: the name of
//! its package (which is also the name of its binary) and what its model can do by design.
//!
//! A limitation lives here, in one place, so that the suite can check that the limitation is
//! exactly what the book says it is, instead of each test quietly working around it.

/// One stage of the book: a package whose binary of the same name is a complete server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Package and binary name, e.g. `stage01-blocking`.
    pub package: &'static str,
    /// What this stage's model can and cannot do.
    pub capabilities: Capabilities,
}

/// What a stage's concurrency model allows, as far as a client can observe it.
///
/// Start from [`Capabilities::FULL`] and switch off what a stage lacks:
/// `Capabilities { concurrent: false, ..Capabilities::FULL }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Serves more than one connection at a time. Stage 01 does not: while one client holds a
    /// kept-alive connection, the next client waits until that connection is closed (by the
    /// client, or by the server's idle timeout).
    pub concurrent: bool,
}

impl Capabilities {
    /// Everything a complete HTTP/1.1 server does.
    pub const FULL: Capabilities = Capabilities { concurrent: true };
}

impl Stage {
    /// A stage with the given package name and capabilities.
    pub const fn new(package: &'static str, capabilities: Capabilities) -> Stage {
        Stage {
            package,
            capabilities,
        }
    }
}
