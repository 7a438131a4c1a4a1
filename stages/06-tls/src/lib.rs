//! Stage 06: stage 05 with TLS. The same tasks, the same HTTP machine, and between the socket
//! and the machine a second sans-IO machine: rustls, driven by hand.
//!
//! The whole model, top to bottom:
//!
//! 1. `main` reads the certificates (`--cert`/`--key`, and one more per `--sni` name) and checks
//!    each key against its certificate, or makes a self-signed one for `localhost` ([`certs`]);
//!    a bad file is one line and exit status 1, before anything listens. The flags and that
//!    start-up are in [`launch`], which stage 07's `main` uses too;
//! 2. it builds one TLS configuration for every connection ([`config`]): TLS 1.2 and 1.3 only,
//!    the post-quantum hybrid key exchange first, ALPN `http/1.1`, session tickets and a
//!    bounded session cache for resumption;
//! 3. the accept loop ([`server`]) is stage 05's: a slot from the connection limit (handshakes
//!    count), a task per connection, `503` past the limit;
//! 4. the task ([`conn`]) is stage 05's loop with [`tls::Tls`] in the middle: ciphertext from
//!    the socket into rustls, plaintext from rustls into the HTTP machine, responses back the
//!    same way encrypted. The handshake has a deadline; a plain HTTP request gets a plain `400`;
//!    a close sends `close_notify` first;
//! 5. SIGHUP, or a certificate file that changed, reloads the certificates: new handshakes get
//!    the new ones, open connections keep theirs, a bad new file is refused and the old one
//!    kept ([`certs::Reloader`]);
//! 6. `--redirect-http` adds a plain listener that answers `308` to the https URL
//!    ([`redirect`]); `--hsts` tells browsers to use https from then on;
//! 7. SIGINT or SIGTERM: stage 05's shutdown; every connection finishes what it has and says
//!    `close_notify`.
//!
//! What TLS costs over stage 05: a handshake per new connection (a signature and a key
//! exchange; a resumed session skips the signature), a copy of every response byte through
//! user space (encryption cannot be done by `sendfile`), and rustls's buffers in each
//! connection. The chapter measures all three.

pub mod certs;
pub mod config;
pub mod conn;
pub mod launch;
pub mod redirect;
pub mod run;
pub mod server;
pub mod tls;

pub use server::serve;

/// What `/api/info` says about this stage.
pub const INFO: app::AppInfo = app::AppInfo {
    stage: "stage06-tls",
    model: "async (tokio), a task per connection, TLS by rustls",
};
