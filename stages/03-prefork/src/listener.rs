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
    /// The socket a worker accepts on, called in the worker after the fork: the very socket
    /// (and descriptor) it inherited, or a new `SO_REUSEPORT` listener that joins the port's
    /// group.
    pub fn for_worker(&self) -> io::Result<WorkerSocket<'_>> {
        match self {
            Listening::Shared(listener) => Ok(WorkerSocket::Inherited(listener)),
            Listening::ReusePort { addr, .. } => {
                let socket = reuseport_socket(*addr)?;
                socket.listen(BACKLOG)?;
                // The socket is this worker's alone, but it waits with the same epoll loop as
                // in shared mode, which needs a non-blocking accept.
                socket.set_nonblocking(true)?;
                Ok(WorkerSocket::Own(socket.into()))
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

impl std::ops::Deref for WorkerSocket<'_> {
    type Target = TcpListener;

    fn deref(&self) -> &TcpListener {
        match self {
            WorkerSocket::Inherited(listener) => listener,
            WorkerSocket::Own(listener) => listener,
        }
    }
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

    #[test]
    fn reserved_socket_alone_refuses_connections() {
        let listening = Listening::bind(ANY_PORT.parse().unwrap(), true).unwrap();
        let addr = listening.local_addr().unwrap();
        // Bound but not listening: the port is held, and a client is refused, not queued.
        let error = TcpStream::connect(addr).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}
