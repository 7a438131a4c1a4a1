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
//! `--addr 127.0.0.1:0` learns its port once, for every worker. The sockets themselves are built
//! by the driver kit (`driver::listener`), with std's accept queue of 128 in both modes, so the
//! two differ only in the number of queues.

use std::io;
use std::net::{SocketAddr, TcpListener};

use driver::activation::{self, ActivationError};
use driver::listener::{self, BindError, ListenOptions};
use socket2::Socket;

/// Workers wait for connections with epoll and then accept without blocking, because another
/// worker may take the connection first; otherwise the sockets are std's.
const WORKER_LISTENER: ListenOptions = ListenOptions::STD.nonblocking(true);

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
    pub fn bind(addr: SocketAddr, reuseport: bool) -> Result<Listening, BindError> {
        if !reuseport {
            // O_NONBLOCK belongs to the open file, which the workers share with us: setting it
            // once here sets it for all. A socket a service manager passed is shared the same way.
            return listener::bind_or_activated(addr, WORKER_LISTENER).map(Listening::Shared);
        }
        if activation::activated_listener(WORKER_LISTENER)
            .map_err(BindError::Activation)?
            .is_some()
        {
            return Err(BindError::Activation(ActivationError::OneSocket {
                option: "--reuseport",
            }));
        }
        // With port 0 the kernel picks the port at bind time: every worker binds this one.
        let (reserved, addr) = listener::reserve(addr)?;
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

    /// Shuts the shared listener's door at a stop (`driver::listener::refuse_new_connections`);
    /// per-worker listeners are each shut by their worker.
    pub fn refuse_new_connections(&self) -> io::Result<()> {
        match self {
            Listening::Shared(listener) => listener::refuse_new_connections(listener),
            Listening::ReusePort { .. } => Ok(()),
        }
    }

    // ANCHOR: for_worker
    /// The socket a worker accepts on, called in the worker after the fork: the very socket
    /// (and descriptor) it inherited, or a new `SO_REUSEPORT` listener that joins the port's
    /// group.
    pub fn for_worker(&self) -> Result<WorkerSocket<'_>, BindError> {
        match self {
            Listening::Shared(listener) => Ok(WorkerSocket::Inherited(listener)),
            // The socket is this worker's alone, but it waits with the same epoll loop as in
            // shared mode, which needs a non-blocking accept.
            Listening::ReusePort { addr, .. } => {
                listener::bind(*addr, WORKER_LISTENER.reuse_port(true)).map(WorkerSocket::Own)
            }
        }
    }
    // ANCHOR_END: for_worker
}

/// The listening socket of one worker.
#[derive(Debug)]
pub enum WorkerSocket<'a> {
    /// The master's shared socket, inherited across `fork`.
    Inherited(&'a TcpListener),
    /// A `SO_REUSEPORT` socket of this worker's own.
    Own(TcpListener),
}

impl WorkerSocket<'_> {
    /// Whether nobody else accepts on this socket, so its queue is this worker's to drain
    /// whenever it stops.
    pub fn is_own(&self) -> bool {
        matches!(self, WorkerSocket::Own(_))
    }
}

impl std::ops::Deref for WorkerSocket<'_> {
    type Target = TcpListener;

    fn deref(&self) -> &TcpListener {
        match self {
            WorkerSocket::Inherited(listener) => listener,
            WorkerSocket::Own(listener) => listener,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    const ANY_PORT: &str = "127.0.0.1:0";

    #[test]
    fn shared_listener_is_non_blocking_for_every_copy() {
        let listening = Listening::bind(ANY_PORT.parse().unwrap(), false).unwrap();
        let copy = listening.for_worker().unwrap();
        // Nobody is connecting: a blocking accept would hang this test forever.
        let error = copy.accept().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(copy.local_addr().unwrap(), listening.local_addr().unwrap());
    }

    #[test]
    fn reuseport_workers_share_the_port_the_master_reserved() {
        let listening = Listening::bind(ANY_PORT.parse().unwrap(), true).unwrap();
        let addr = listening.local_addr().unwrap();
        assert_ne!(
            addr.port(),
            0,
            "port 0 is resolved once, by the master's bind"
        );
        let first = listening.for_worker().unwrap();
        let second = listening.for_worker().unwrap();
        assert_eq!(first.local_addr().unwrap(), addr);
        assert_eq!(second.local_addr().unwrap(), addr);
        // A socket without SO_REUSEPORT cannot take the port while the group holds it.
        let error = TcpListener::bind(addr).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        // Connections reach one of the two listening sockets, never the reserved one.
        let _client = TcpStream::connect(addr).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            if first.accept().is_ok() || second.accept().is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no listener got it");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
