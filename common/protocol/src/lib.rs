//! Stagecraft's protocol crate: HTTP messages, limits and the HTTP/1.1 connection machine, with
//! no I/O of its own.
//!
//! Nothing in this crate opens a file or a socket, starts a thread, exits the process or reads a
//! clock: time comes in as a `now` argument, bytes come in and go out through the calls of
//! [`Connection`]. That is the *sans-IO* style (quinn-proto, rustls): the protocol is a plain
//! state machine that can be tested byte by byte, and each stage is only a *driver* that moves
//! bytes between a socket and the machine with its own model of concurrency. Cargo keeps it so:
//! the only dependencies are codec helpers (`bytes`, `httparse`, `httpdate`), and the test
//! `tests/purity.rs` fails if a use of `std::fs`, `std::net`, `std::thread`, `std::process` or
//! `Instant::now` appears in the source.
//!
//! ```text
//!              stage crate (the driver)              |  protocol (this crate)
//!                                                    |
//!   socket --read--> conn.read_buf() ----------------+--> Connection::handle_read(n, now)
//!                                                    |        | poll_event: Event::Request { id, request }
//!   (threads, processes, event loop, tasks)          |        v
//!                                                    |   app::App::handle(&request) -> Response
//!                                                    |        |
//!                                                    |        v send_response(id, response, date)
//!   socket <--write-- bytes / file region <-----------+-- Connection::poll_transmit + advance
//! ```
//!
//! Modules, in the order a request meets them:
//!
//! - [`limits`]: the limits and timeouts, with the defaults nginx and hyper use.
//! - [`message`]: protocol-neutral [`Request`] and [`Response`].
//! - [`connection`]: the one connection type every driver drives, and the order of its calls.
//! - [`http1`]: the HTTP/1.1 machine behind it (RFC 9112).
//! - [`h2`]: HTTP/2 (RFC 9113) and HPACK (RFC 7541), for stage 07.
//! - [`sink`]: the hook that streams a chosen request's body to the application's sink (an
//!   upload to disk) instead of collecting it in memory.
//! - [`pump`]: an in-memory driver with a virtual clock, for tests, fuzzing, benchmarks and
//!   examples.

mod closing;
pub mod connection;
mod grammar;
pub mod h2;
pub mod http1;
pub mod limits;
pub mod message;
pub mod pump;
pub mod sink;

pub use closing::LINGER_TIMEOUT;
pub use connection::{Connection, Event, StreamId, Transmit};
pub use http1::RequestError;
pub use limits::Limits;
pub use message::{
    Body, ByteStr, FileRegion, Headers, Method, Request, Response, StatusCode, Version,
};
pub use sink::{BodySink, BodySinks, SinkError, Sinking, StreamedBody};
