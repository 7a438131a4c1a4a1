//! Every limit and timeout a stage enforces, in one value taken from the same CLI flags in every
//! stage.
//!
//! The defaults follow what users already trust: nginx's `large_client_header_buffers` (8 KiB
//! request line), `client_max_body_size`-style body caps, `client_header_timeout`, and hyper's
//! `DEFAULT_MAX_HEADERS = 100`. Each limit is checked *before* the oversized thing is read, so an
//! attacker cannot make the server buffer it first.

use std::time::Duration;

// ANCHOR: limits
/// Limits and timeouts of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus header fields, in bytes. Past it: 431 (or 414 when it is the request
    /// line alone that is too long).
    pub max_head_bytes: usize,
    /// The request line alone, in bytes. Past it: 414 URI Too Long.
    pub max_request_line: usize,
    /// How many header fields one request may have. Past it: 431.
    pub max_headers: usize,
    /// Body size in bytes, declared or received. Past it: 413, before the body is read.
    pub max_body: u64,
    /// Chunk extensions of one chunked body, in bytes (they are read and thrown away). Past it: 400.
    pub max_chunk_extensions: usize,
    /// Trailer section of one chunked body, in bytes. Past it: 431.
    pub max_trailer_bytes: usize,
    /// From the first byte of a request head to its end (the slowloris defence); also the most
    /// time allowed between two pieces of a body. Past it: 408 and close.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may sit between requests (and a new one before its first
    /// byte), and how long a client may leave a response unread. Past it: close.
    pub idle_timeout: Duration,
    /// Requests served on one connection; the last one carries `Connection: close`.
    pub max_requests_per_connection: u32,
    /// Requests parsed ahead of the one being answered (pipelining). While this many wait, the
    /// connection stops reading, which pushes back on the client through TCP.
    pub max_pipelined: usize,
    /// Concurrent connections, for the stages whose model can hold more than one.
    pub max_connections: usize,
    /// Concurrent connections of one client (an IPv4 address or an IPv6 `/64`), if capped:
    /// past it a new connection is refused with `429` before a request is read.
    pub max_connections_per_client: Option<std::num::NonZeroU32>,
}
// ANCHOR_END: limits

impl Limits {
    /// nginx's default `large_client_header_buffers` size for one line.
    pub const DEFAULT_MAX_REQUEST_LINE: usize = 8 * 1024;
    pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;
    /// hyper's `DEFAULT_MAX_HEADERS`.
    pub const DEFAULT_MAX_HEADERS: usize = 100;
    pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
    /// hyper caps chunk extensions and trailers at 16 KiB.
    pub const DEFAULT_MAX_CHUNK_EXTENSIONS: usize = 16 * 1024;
    pub const DEFAULT_MAX_TRAILER_BYTES: usize = 16 * 1024;
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// The idle timeout of the blocking stages (01-03), where an idle connection ties up a whole
    /// thread or process. The evented stages keep connections for 60 s.
    pub const DEFAULT_IDLE_TIMEOUT_BLOCKING: Duration = Duration::from_secs(5);
    pub const DEFAULT_IDLE_TIMEOUT_EVENTED: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: u32 = 1000;
    pub const DEFAULT_MAX_PIPELINED: usize = 16;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head_bytes: Limits::DEFAULT_MAX_HEAD_BYTES,
            max_request_line: Limits::DEFAULT_MAX_REQUEST_LINE,
            max_headers: Limits::DEFAULT_MAX_HEADERS,
            max_body: Limits::DEFAULT_MAX_BODY,
            max_chunk_extensions: Limits::DEFAULT_MAX_CHUNK_EXTENSIONS,
            max_trailer_bytes: Limits::DEFAULT_MAX_TRAILER_BYTES,
            header_timeout: Limits::DEFAULT_HEADER_TIMEOUT,
            idle_timeout: Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING,
            max_requests_per_connection: Limits::DEFAULT_MAX_REQUESTS_PER_CONNECTION,
            max_pipelined: Limits::DEFAULT_MAX_PIPELINED,
            max_connections: Limits::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: None,
        }
    }
}
