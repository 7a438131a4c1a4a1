//! Stage 07: stage 06 with HTTP/2 (RFC 9113). The same tasks, the same TLS layer, the same
//! application; the protocol machine now speaks HTTP/2 as well as HTTP/1.1, and one connection
//! carries many requests at once.
//!
//! The whole model, top to bottom:
//!
//! 1. `main` is stage 06's: certificates, one TLS configuration, the runtime, the listener. The
//!    one difference in the configuration is the ALPN list, [`ALPN_H2_FIRST`]: `h2` first,
//!    then `http/1.1` (and `http/1.0`), so a client that speaks both gets HTTP/2;
//! 2. the accept loop ([`server`]) is stage 06's, connection limit and `503` over TLS included;
//! 3. the task ([`conn`]) is stage 06's loop. When the handshake ends it looks at what ALPN
//!    agreed on: `h2` gets the HTTP/2 machine (`Connection::new_http2`), anything else keeps
//!    HTTP/1.1. From then on the loop is the same for both: the machine takes plaintext and
//!    gives frames or HTTP/1.1 bytes, which rustls encrypts;
//! 4. the answer step ([`answer`]) is where HTTP/2 shows: the machine may hand out several
//!    requests before any is answered (one per stream), so a blocking handler (`/slow`) runs on
//!    the blocking pool while the task answers the others, and each response goes back with
//!    `send_response` as it is ready, in whatever order. HTTP/1.1 keeps stage 06's one at a
//!    time, in order;
//! 5. `--h2c ADDR` adds a plain-TCP listener ([`h2c`]) that serves HTTP/1.1 and HTTP/2 with
//!    prior knowledge, decided by the client's first bytes, with `sendfile` for files;
//! 6. SIGINT or SIGTERM: stage 05's shutdown. An HTTP/2 connection says GOAWAY, answers the
//!    streams it has, then closes (the machine's part); the task keeps running until the
//!    blocking handlers it started have answered.
//!
//! What HTTP/2 changes in cost over stage 06: one connection per client instead of six, so
//! fewer handshakes; HPACK-compressed headers; and per-connection state that grows with the
//! open streams (bounded by the machine's SETTINGS_MAX_CONCURRENT_STREAMS and by
//! [`answer::MAX_HANDLERS_IN_FLIGHT`] blocking handlers).

pub mod answer;
pub mod conn;
pub mod h2c;
pub mod run;
pub mod server;

pub use server::serve;

// ANCHOR: alpn
/// The ALPN protocol identifier of HTTP/2 over TLS (RFC 9113 section 3.2).
pub const ALPN_H2: &[u8] = b"h2";

/// The application protocols this stage offers, in the server's order of preference (rustls
/// takes the first of these that the client offers): HTTP/2, then stage 06's HTTP/1.1 and
/// HTTP/1.0. A client that offers no ALPN at all (an old one, or `openssl s_client` without
/// `-alpn`) is served HTTP/1.1, as in stage 06.
pub const ALPN_H2_FIRST: &[&[u8]] = &[ALPN_H2, b"http/1.1", b"http/1.0"];
// ANCHOR_END: alpn

/// What `/api/info` says about this stage.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage07-http2",
    model: "async (tokio), a task per connection, TLS by rustls, HTTP/2 streams answered at once",
};
