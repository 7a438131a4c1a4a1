//! Where the workers' connections come from: one listening socket shared by every worker, or
//! one `SO_REUSEPORT` socket per worker.
//!
//! - [`Listening::Shared`] (the default): the master binds and listens, and every worker
//!   inherits the descriptor across `fork`. There is one accept queue in the kernel; whichever
//!   worker is idle takes the next connection from it.
//! - [`Listening::ReusePort`] (`--reuseport`): every worker binds and listens on its own socket
//!   with `SO_REUSEPORT` (Linux 3.9). There is one accept queue per worker, and the kernel picks
//!   the queue for each new connection by a hash of its addresses and ports.
//!
//! In both cases the master binds first, so that a busy port is reported before any fork and
//! `--addr 127.0.0.1:0` learns its port once, for every worker.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Socket, Type};

/// The accept queue length each `SO_REUSEPORT` worker asks for: the same as the standard
/// library's `TcpListener::bind` uses for the shared socket, so the two modes differ only in the
/// number of queues.
const BACKLOG: i32 = 128;

/// The master's socket, from which each worker gets the socket it accepts on.
#[derive(Debug)]
pub enum Listening {
    /// Bound and listening here; workers accept on the very same socket.
    Shared(TcpListener),
    /// Bound here but *not* listening, which holds the port without taking connections; each
    /// worker binds and listens on a socket of its own at the same address.
    ReusePort { reserved: Socket, addr: SocketAddr },
}

impl Listening {
    // ANCHOR: bind
    /// Binds `addr` for a shared listener or, with `reuseport`, for per-worker listeners.
    pub fn bind(addr: SocketAddr, reuseport: bool) -> io::Result<Listening> {
        if !reuseport {
            let listener = TcpListener::bind(addr)?;
            // Workers wait for connections with epoll and then accept without blocking,
            // because another worker may take the connection first. O_NONBLOCK belongs to the
            // open file, which the workers share with us: setting it once here sets it for all.
            listener.set_nonblocking(true)?;
            return Ok(Listening::Shared(listener));
        }
        let reserved = reuseport_socket(addr)?;
        // With port 0 the kernel picks the port at bind time: every worker binds this one.
        let addr = reserved
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("the reserved socket has no IP address"))?;
        Ok(Listening::ReusePort { reserved, addr })
    }
    // ANCHOR_END: bind

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listening::Shared(listener) => listener.local_addr(),
            Listening::ReusePort { addr, .. } => Ok(*addr),
        }
    }

    /// Whether each worker has a socket of its own.
    pub fn is_reuseport(&self) -> bool {
        matches!(self, Listening::ReusePort { .. })
    }

    // ANCHOR: for_worker
    /// The socket a worker accepts on, called in the worker after the fork: a second descriptor
    /// for the shared socket, or a new `SO_REUSEPORT` listener that joins the port's group.
    pub fn for_worker(&self) -> io::Result<TcpListener> {
        match self {
            Listening::Shared(listener) => listener.try_clone(),
            Listening::ReusePort { addr, .. } => {
                let socket = reuseport_socket(*addr)?;
                socket.listen(BACKLOG)?;
                // The socket is this worker's alone, but it waits with the same epoll loop as
                // in shared mode, which needs a non-blocking accept.
                socket.set_nonblocking(true)?;
                Ok(socket.into())
            }
        }
    }
    // ANCHOR_END: for_worker
}

/// A TCP socket with `SO_REUSEADDR` and `SO_REUSEPORT` set, bound to `addr`.
fn reuseport_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // SO_REUSEADDR as the standard library sets it: a restart may bind while connections of the
    // previous run linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}
