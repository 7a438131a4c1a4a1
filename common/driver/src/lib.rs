//! The driver kit: the pieces of I/O every stage's driver needs, written once; never used by the
//! protocol crate.
//!
//! The protocol crate decides *what* to send and never touches a socket; each stage decides
//! *who waits, and where* (a thread, a process, an event loop, a task). Between the two are
//! chores every stage performs the same way, and that had been written again in each stage
//! until the copies drifted apart: raising the open-files limit, sending a file region, binding
//! a listener, refusing a connection past the limit, printing the listening address. They live
//! here, next to neither, because they are I/O (so not in the sans-IO protocol crate) and not a
//! model (so not in any stage). Every function takes its socket as [`std::os::fd::AsFd`] or as a
//! `std` type, so a blocking stage, mio's loop and tokio's tasks call the same code.
//!
//! - [`send`]: response bytes, with `MSG_MORE` when more output follows at once.
//! - [`sendfile`]: a file region to a socket: `sendfile(2)`, the plain `pread` + `send`
//!   fallback, and the one rule for a short count.
//! - [`open_files`]: the soft `RLIMIT_NOFILE` raised to the hard limit (or `fs.nr_open`).
//! - [`listener`]: listening sockets with a named backlog, `SO_REUSEPORT`, blocking or not.
//! - [`activation`]: a listening socket passed by the service manager (`LISTEN_FDS`).
//! - [`lobby`]: connections waiting for a request head, watched by one epoll set, so that a
//!   blocking worker is handed only connections with work (stages 02 and 03).
//! - [`refusal`]: the `503` past `--max-connections`, and the write, half-close, drain rule.
//! - [`announce`](mod@announce): the `listening on http://ADDR` line, and the banner of URLs.
//!
//! What stays in the stages is the model: the accept loops, the answer / write / read loops
//! around the protocol machine, and how each waits.

pub mod activation;
pub mod announce;
pub mod listener;
pub mod lobby;
pub mod open_files;
pub mod refusal;
pub mod send;
pub mod sendfile;

pub use announce::{announce, announce_redirect, Scheme};

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    /// A connected loopback TCP pair, for the modules' tests: (the server's side, the client's).
    pub fn tcp_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let client = TcpStream::connect(listener.local_addr().expect("a bound address"))
            .expect("connecting over loopback");
        let (server, _) = listener.accept().expect("accepting");
        (server, client)
    }
}
