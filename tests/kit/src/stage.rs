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
/// Every stage serves the shared HTTP/1.1 cases; each flag here is a promise beyond them that
/// only some models keep, named for what a client sees. The conformance suite runs the cases of
/// a flag only for the stages that set it (its stage list says which), except for
/// [`concurrent`](Capabilities::concurrent), whose cases run for every stage and check the
/// limitation where it is off, and [`tls`](Capabilities::tls), which has no cases of its own but
/// makes every case reach the stage over TLS.
///
/// Start from [`Capabilities::NONE`] and switch on what a stage has:
/// `Capabilities { concurrent: true, ..Capabilities::NONE }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Serves more than one connection at a time. Stage 01 does not: while one client holds a
    /// kept-alive connection, the next client waits until that connection is closed (by the
    /// client, or by the server's idle timeout).
    pub concurrent: bool,
    /// Holds thousands of connections at once without a thread or a process for each: two
    /// thousand idle kept-alive connections cost a few KiB of server memory each, fifty clients
    /// trickling their heads are all cut at `--header-timeout`, and meanwhile a newcomer is
    /// answered at once, with one thread serving connections (`--threads 1`).
    pub many_connections: bool,
    /// Honours `--max-connections N`: connection N + 1 is answered `503` with `Retry-After` and
    /// closed, and a place is free again as soon as an admitted connection closes.
    pub max_connections: bool,
    /// Runs blocking handlers (`/slow`) off the threads that serve connections: with
    /// `--threads 1`, a fast request is answered at once while four `/slow?ms=1000` run side by
    /// side, and a stop signal closes idle connections at once while a `/slow` finishes.
    pub offloads_blocking: bool,
    /// Bounds what it buffers for a client that does not read: clients that pipeline thousands
    /// of requests for a 1 MiB file and never read make the server's memory and open
    /// descriptors grow by no more than a few responses' worth, and others are still served.
    pub bounded_output: bool,
    /// Speaks HTTP over TLS (https) on its port, as stage 06 does. Not a promise beyond the
    /// shared cases but the way to reach them: [`Server`](crate::Server) gives such a stage a
    /// file for its self-signed certificate, and every connection the suite opens to it (curl's
    /// too) is TLS that trusts exactly that certificate. The shared cases all run over it.
    pub tls: bool,
}

impl Capabilities {
    /// None of the promises beyond the shared cases: one connection at a time (stage 01).
    pub const NONE: Capabilities = Capabilities {
        concurrent: false,
        many_connections: false,
        max_connections: false,
        offloads_blocking: false,
        bounded_output: false,
        tls: false,
    };
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
