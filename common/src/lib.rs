//! The part of Stagecraft that every stage shares: the HTTP/1.1 protocol, the application and
//! the command line.
//!
//! Nothing in this crate opens a socket, starts a thread or reads a clock on its own: time comes
//! in as a `now` argument. That is the *sans-IO* style (quinn-proto, rustls): the protocol is a
//! plain state machine that can be tested byte by byte, and each stage is only a *driver* that
//! moves bytes between a socket and the machine with its own model of concurrency.
//!
//! ```text
//!              stage crate (the driver)              |  common (this crate)
//!                                                    |
//!   socket --read--> bytes ---------------------------+--> http1::Connection::handle_input
//!                                                    |        | poll_event: Request
//!   (threads, processes, event loop, tasks)          |        v
//!                                                    |   app::App::handle(&Request) -> Response
//!                                                    |        |
//!                                                    |        v send_response
//!   socket <--write-- bytes / file region <-----------+-- http1::Connection::poll_transmit
//! ```
//!
//! Modules, in the order a request meets them:
//!
//! - [`cli`]: the command-line flags every stage takes, and logging set-up.
//! - [`limits`]: the limits and timeouts, with the defaults nginx and hyper use.
//! - [`message`]: protocol-neutral [`Request`] and
//!   [`Response`].
//! - [`http1`]: the HTTP/1.1 connection state machine (RFC 9112).
//! - [`app`]: the application: router, static files and demo routes.

pub mod app;
pub mod cli;
pub mod http1;
pub mod limits;
pub mod message;

pub use limits::Limits;
pub use message::{Body, Headers, Method, Request, Response, StatusCode, Version};
