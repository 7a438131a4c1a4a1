//! Building listening sockets: the accept queue's length, `SO_REUSEPORT`, blocking or not, and
//! an error that says in words why a port could not be had.
//!
//! `std::net::TcpListener::bind` decides all of that for the caller (a backlog of 128, no
//! `SO_REUSEPORT`, blocking). That is right for the blocking stages, and [`ListenOptions::STD`]
//! asks for exactly the same, so their accept queue behaves as a reader of `std` expects. The
//! later stages need more: a queue that survives a burst of thousands of connections
//! ([`BURST_BACKLOG`]), and several sockets on one port, one per worker or loop, which the kernel
//! balances between (`SO_REUSEPORT`). socket2 sets the options; this module only names the
//! choices and writes them once.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockFilter, SockRef, Socket, Type};

use crate::activation::{self, ActivationError};

/// The accept queue `std::net::TcpListener::bind` asks for on Linux.
pub const STD_BACKLOG: i32 = 128;

/// The accept queue of the stages that hold thousands of connections. A burst of connections
/// that finds the queue full has its SYNs dropped, and clients retry only after a second or more;
/// Linux caps the number at `net.core.somaxconn` (4096 on current kernels).
pub const BURST_BACKLOG: i32 = 4096;

/// How a listening socket is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    /// The accept queue's length, as asked of `listen(2)`.
    pub backlog: i32,
    /// `SO_REUSEPORT`: other sockets with the option, of the same user, may bind the same port,
    /// and the kernel spreads new connections over them by a hash of the addresses.
    pub reuse_port: bool,
    /// `O_NONBLOCK`: `accept` returns `WouldBlock` instead of waiting.
    pub nonblocking: bool,
}

impl ListenOptions {
    /// What `std::net::TcpListener::bind` does: a backlog of 128, blocking, one socket per port.
    pub const STD: ListenOptions = ListenOptions {
        backlog: STD_BACKLOG,
        reuse_port: false,
        nonblocking: false,
    };

    /// For an event loop or a runtime: a deep accept queue, non-blocking.
    pub const EVENTED: ListenOptions = ListenOptions {
        backlog: BURST_BACKLOG,
        reuse_port: false,
        nonblocking: true,
    };

    /// The same options, with `SO_REUSEPORT` on or off.
    pub const fn reuse_port(self, reuse_port: bool) -> ListenOptions {
        ListenOptions { reuse_port, ..self }
    }

    /// The same options, blocking or not.
    pub const fn nonblocking(self, nonblocking: bool) -> ListenOptions {
        ListenOptions {
            nonblocking,
            ..self
        }
    }
}

/// Why a listening socket could not be set up on `addr`.
#[derive(Debug)]
pub enum BindError {
    /// Another socket holds the address (`EADDRINUSE`): another server, or another copy of this
    /// one, is running.
    InUse { addr: SocketAddr },
    /// The address is not one of this machine's (`EADDRNOTAVAIL`).
    NotLocal { addr: SocketAddr },
    /// Not allowed (`EACCES`): ports below 1024 need privileges.
    Denied { addr: SocketAddr },
    /// The service manager passed a socket this server cannot use ([`crate::activation`]).
    Activation(ActivationError),
    /// Any other failure, at the named step.
    Failed {
        addr: SocketAddr,
        step: &'static str,
        source: io::Error,
    },
}

impl BindError {
    fn new(addr: SocketAddr, step: &'static str, source: io::Error) -> BindError {
        match source.kind() {
            io::ErrorKind::AddrInUse => BindError::InUse { addr },
            io::ErrorKind::AddrNotAvailable => BindError::NotLocal { addr },
            io::ErrorKind::PermissionDenied => BindError::Denied { addr },
            _ => BindError::Failed { addr, step, source },
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::InUse { addr } => write!(
                f,
                "cannot listen on {addr}: the address is in use (is another server, or another \
                 copy of this one, running? port 0 picks a free port)"
            ),
            BindError::NotLocal { addr } => write!(
                f,
                "cannot listen on {addr}: no network interface of this machine has that address"
            ),
            BindError::Denied { addr } => write!(
                f,
                "cannot listen on {addr}: permission denied (ports below 1024 need privileges)"
            ),
            BindError::Activation(error) => error.fmt(f),
            BindError::Failed { addr, step, source } => {
                write!(f, "cannot listen on {addr}: cannot {step}: {source}")
            }
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BindError::Failed { source, .. } => Some(source),
            BindError::Activation(error) => Some(error),
            _ => None,
        }
    }
}

/// The listening socket for `addr` with `options`: the one the service manager passed to this
/// process, when it passed one ([`activation`]: `--addr` is then not used), or else a new one.
pub fn bind_or_activated(
    addr: SocketAddr,
    options: ListenOptions,
) -> Result<TcpListener, BindError> {
    match activation::activated_listener(options) {
        Ok(Some(listener)) => {
            tracing::info!(
                local = ?listener.local_addr().ok(),
                "socket activation: serving the socket the service manager passed (not --addr)"
            );
            Ok(listener)
        }
        Ok(None) => bind(addr, options),
        Err(error) => Err(BindError::Activation(error)),
    }
}

// ANCHOR: bind
/// Binds a listening socket on `addr` with `options`. With port 0 the kernel picks the port;
/// `local_addr` says which.
pub fn bind(addr: SocketAddr, options: ListenOptions) -> Result<TcpListener, BindError> {
    let socket = bound_socket(addr, options.reuse_port)?;
    socket
        .set_nonblocking(options.nonblocking)
        .map_err(|error| BindError::new(addr, "make the socket non-blocking", error))?;
    socket
        .listen(options.backlog)
        .map_err(|error| BindError::new(addr, "listen", error))?;
    Ok(socket.into())
}
// ANCHOR_END: bind

/// Binds a socket on `addr` with `SO_REUSEPORT` but does *not* listen: it holds the port (a
/// socket without the option cannot take it) while taking no connections, and listeners bound
/// later with [`ListenOptions::reuse_port`] join its port. Returns the socket and the address it
/// holds: with port 0, the port is chosen here, once. Stage 03's master holds its workers' port
/// this way.
pub fn reserve(addr: SocketAddr) -> Result<(Socket, SocketAddr), BindError> {
    let socket = bound_socket(addr, true)?;
    let bound = socket
        .local_addr()
        .and_then(|bound| {
            bound
                .as_socket()
                .ok_or_else(|| io::Error::other("the socket has no IP address"))
        })
        .map_err(|error| BindError::new(addr, "read the bound address", error))?;
    Ok((socket, bound))
}

/// A TCP socket for `addr`'s family, with `SO_REUSEADDR` (and `SO_REUSEPORT` if asked), bound.
fn bound_socket(addr: SocketAddr, reuse_port: bool) -> Result<Socket, BindError> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|error| BindError::new(addr, "create a socket", error))?;
    // As std sets it: a restarted server may bind while connections of its previous run linger
    // in TIME_WAIT. (On Linux this does not let two listeners share a port; SO_REUSEPORT does.)
    socket
        .set_reuse_address(true)
        .map_err(|error| BindError::new(addr, "set SO_REUSEADDR", error))?;
    // ANCHOR: dual_stack
    // `[::]` takes IPv4 clients too (as `::ffff:a.b.c.d`), whatever the system's default
    // (`net.ipv6.bindv6only`): one listener for both families, the way `--addr [::]:8080` is
    // read. A specific IPv6 address (`[::1]`) can only be reached over IPv6 anyway.
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket
            .set_only_v6(false)
            .map_err(|error| BindError::new(addr, "accept IPv4 on the IPv6 socket", error))?;
    }
    // ANCHOR_END: dual_stack
    if reuse_port {
        socket
            .set_reuse_port(true)
            .map_err(|error| BindError::new(addr, "set SO_REUSEPORT", error))?;
    }
    socket
        .bind(&addr.into())
        .map_err(|error| BindError::new(addr, "bind", error))?;
    Ok(socket)
}

// ANCHOR: refuse_new_connections
/// Makes the kernel stop completing new connections on `listener`, while the ones already in
/// its accept queue stay there to be accepted: the first step of a shutdown that loses nothing.
///
/// Closing a listener resets every connection still in its accept queue, and those clients may
/// have sent a request already (their side was connected when the kernel finished the
/// handshake, before any `accept`). So a stopping server first shuts the door, then drains the
/// queue, then closes. The door is a socket filter (`SO_ATTACH_FILTER`) of one classic BPF
/// instruction, "return 0": every packet that reaches the listener itself is dropped, which
/// means every SYN of a new connection. Such a client gets no answer and retries its SYN about a
/// second later, by when the listener is closed and the retry is refused: the client learns the
/// server is gone before it has sent a byte. Connections already accepted into the queue are
/// sockets of their own, and their packets do not pass the listener's filter.
///
/// Any listener will do (std's, mio's, tokio's: whatever lends its descriptor). Linux only.
/// The one gap left: a handshake whose SYN-ACK the kernel sent just before the
/// filter, and whose last ACK arrives after it, never completes, and its client (which thinks
/// it is connected) may send a request that meets a reset at close. On loopback that window is
/// microseconds wide.
pub fn refuse_new_connections(listener: &impl AsFd) -> io::Result<()> {
    /// `BPF_RET | BPF_K` with `k = 0`: accept zero bytes of the packet, that is, drop it.
    const DROP_EVERY_PACKET: u16 = 0x06;
    SockRef::from(listener).attach_filter(&[SockFilter::new(DROP_EVERY_PACKET, 0, 0, 0)])
}
// ANCHOR_END: refuse_new_connections

// ANCHOR: drain_accept_queue
/// The most connections one [`drain_accept_queue`] takes. With the door shut
/// ([`refuse_new_connections`]) a queue holds at most its backlog (std's 128, or `somaxconn`),
/// so the bound only matters when a drain runs with the door open (a prefork worker told to
/// stop while its siblings go on): it then still ends.
pub const DRAIN_MOST: usize = 4096;

/// How long a connection taken from the queue during a stop may stay silent before it is closed
/// unanswered: its client has not sent a byte of a request, so closing it loses nothing.
pub const DRAIN_FIRST_BYTE: Duration = Duration::from_millis(100);

/// What a drain did, for the stop's log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Connections that had sent something and were handed to `serve`.
    pub served: usize,
    /// Connections closed unanswered: silent for [`DRAIN_FIRST_BYTE`], or already gone.
    pub silent: usize,
}

/// Takes every connection left in `listener`'s accept queue (`first` too, when the accept loop
/// already holds one) and hands each one whose client has sent a byte to `serve`; the others
/// are closed before they sent anything. Returns when the queue is empty (or after
/// [`DRAIN_MOST`]).
///
/// Call it after [`refuse_new_connections`], so that the queue only shrinks, and with the stop
/// already visible to `serve`'s connections, so that each answers its first request with
/// `Connection: close`. It leaves `listener` non-blocking. A connection handed to `serve` is
/// blocking with a read timeout of [`DRAIN_FIRST_BYTE`], which a driver sets to its own.
pub fn drain_accept_queue(
    listener: &TcpListener,
    first: Option<TcpStream>,
    mut serve: impl FnMut(TcpStream),
) -> io::Result<Drained> {
    listener.set_nonblocking(true)?;
    let mut drained = Drained::default();
    let mut next = first;
    while drained.served + drained.silent < DRAIN_MOST {
        let stream = match next.take() {
            Some(stream) => stream,
            None => match listener.accept() {
                Ok((stream, _)) => stream,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // ECONNABORTED or EMFILE: one connection's trouble; the queue may hold more.
                Err(error) => {
                    tracing::warn!(%error, "accept failed while draining");
                    drained.silent += 1;
                    continue;
                }
            },
        };
        if has_sent_something(&stream) {
            drained.served += 1;
            serve(stream);
        } else {
            drained.silent += 1;
        }
    }
    Ok(drained)
}

/// Whether the client has sent a byte within [`DRAIN_FIRST_BYTE`]. A stop's own wake-up
/// connection (stage 01's) closes at once and is answered by nobody.
fn has_sent_something(stream: &TcpStream) -> bool {
    // An accepted socket does not inherit the listener's O_NONBLOCK on Linux; set it anyway.
    let ready = stream.set_nonblocking(false).is_ok()
        && stream.set_read_timeout(Some(DRAIN_FIRST_BYTE)).is_ok();
    let mut byte = [0u8; 1];
    ready && matches!(stream.peek(&mut byte), Ok(n) if n > 0)
}
// ANCHOR_END: drain_accept_queue

#[cfg(test)]
mod tests {
    use super::*;

    fn any_port() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[test]
    fn std_options_make_a_blocking_listener_that_accepts() {
        let listener = bind(any_port(), ListenOptions::STD).expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        assert_ne!(addr.port(), 0);
        let _client = TcpStream::connect(addr).expect("connecting");
        let (accepted, _) = listener.accept().expect("a blocking accept waits for it");
        // Linux does not pass O_NONBLOCK on to accepted sockets.
        accepted
            .set_read_timeout(Some(std::time::Duration::from_millis(1)))
            .expect("a usable stream");
    }

    #[test]
    fn evented_options_make_a_nonblocking_listener() {
        let listener = bind(any_port(), ListenOptions::EVENTED).expect("binding 127.0.0.1:0");
        let error = listener.accept().expect_err("nobody is connecting");
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_port_in_use_is_said_in_words_with_the_port() {
        let holder = TcpListener::bind(any_port()).expect("binding a port to hold");
        let addr = holder.local_addr().expect("a bound address");
        for options in [ListenOptions::STD, ListenOptions::EVENTED.reuse_port(true)] {
            let error = bind(addr, options).expect_err("the port is held");
            assert!(matches!(error, BindError::InUse { .. }), "{error:?}");
            let text = error.to_string();
            assert!(text.contains(&addr.port().to_string()), "{text}");
            assert!(text.contains("in use"), "{text}");
        }
    }

    #[test]
    fn reuse_port_listeners_share_a_reserved_port() {
        let (_reserved, addr) = reserve(any_port()).expect("reserving a port");
        assert_ne!(
            addr.port(),
            0,
            "the port is chosen once, by the reservation"
        );
        let options = ListenOptions::EVENTED.reuse_port(true);
        let first = bind(addr, options).expect("the first joins the port");
        let second = bind(addr, options).expect("the second joins it too");
        assert_eq!(first.local_addr().expect("bound"), addr);
        assert_eq!(second.local_addr().expect("bound"), addr);
        // A socket without SO_REUSEPORT cannot take the port while the group holds it.
        assert!(matches!(
            bind(addr, ListenOptions::STD),
            Err(BindError::InUse { .. })
        ));
    }

    /// Whether this machine has IPv6 loopback; without it the IPv6 tests say so and pass.
    fn has_ipv6_loopback() -> bool {
        let has = TcpListener::bind("[::1]:0").is_ok();
        if !has {
            eprintln!("skipped: no ::1 on this machine");
        }
        has
    }

    #[test]
    fn ipv6_loopback_listens_and_accepts() {
        if !has_ipv6_loopback() {
            return;
        }
        let listener = bind("[::1]:0".parse().unwrap(), ListenOptions::STD).expect("binding ::1");
        let addr = listener.local_addr().expect("a bound address");
        assert!(addr.is_ipv6());
        let _client = TcpStream::connect(addr).expect("connecting over ::1");
        let (_, peer) = listener.accept().expect("accepting");
        assert_eq!(peer.ip(), "::1".parse::<std::net::IpAddr>().unwrap());
    }

    /// The one test that binds an unspecified address (`[::]`, port 0, so every interface of
    /// the machine): a dual-stack listener has to be, to be tested. It lives for one accept on
    /// each family over loopback and is closed at once.
    #[test]
    fn the_unspecified_ipv6_address_takes_both_families() {
        if !has_ipv6_loopback() {
            return;
        }
        let listener = bind("[::]:0".parse().unwrap(), ListenOptions::STD).expect("binding [::]");
        let port = listener.local_addr().expect("a bound address").port();
        let _v4 = TcpStream::connect(("127.0.0.1", port)).expect("IPv4 reaches [::]");
        let (_, peer) = listener.accept().expect("accepting the IPv4 client");
        assert_eq!(peer.ip().to_canonical().to_string(), "127.0.0.1");
        let _v6 = TcpStream::connect(("::1", port)).expect("IPv6 reaches [::]");
        let (_, peer) = listener.accept().expect("accepting the IPv6 client");
        assert_eq!(peer.ip().to_string(), "::1");
    }

    #[test]
    fn a_reserved_port_alone_refuses_connections() {
        let (_reserved, addr) = reserve(any_port()).expect("reserving a port");
        // Bound but not listening: the port is held, and a client is refused, not queued.
        let error = TcpStream::connect(addr).expect_err("nothing listens");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn refusing_new_connections_keeps_the_queued_ones() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), ListenOptions::STD).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        // In the queue before the door shuts: still accepted, and still carries its bytes.
        let mut queued = std::net::TcpStream::connect(addr).expect("connect");
        std::io::Write::write_all(&mut queued, b"GET / HTTP/1.1\r\n\r\n").expect("write");
        refuse_new_connections(&listener).expect("attach the filter");
        let late =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300));
        assert!(
            late.is_err(),
            "a connection after the door shut was completed"
        );
        let (mut accepted, _) = listener.accept().expect("the queued connection");
        let mut buf = [0; 64];
        let n = std::io::Read::read(&mut accepted, &mut buf).expect("read");
        assert_eq!(&buf[..n], b"GET / HTTP/1.1\r\n\r\n");
        listener.set_nonblocking(true).expect("nonblocking");
        // The late client's SYN never reached the queue.
        assert_eq!(
            listener.accept().map(|_| ()).map_err(|error| error.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
    }

    #[test]
    fn a_drain_serves_the_clients_that_spoke_and_closes_the_silent_ones() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), ListenOptions::STD).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let mut spoke = Vec::new();
        for _ in 0..3 {
            let mut client = TcpStream::connect(addr).expect("connect");
            std::io::Write::write_all(&mut client, b"GET / HTTP/1.1\r\n\r\n").expect("write");
            spoke.push(client);
        }
        let silent = TcpStream::connect(addr).expect("connect");
        refuse_new_connections(&listener).expect("attach the filter");
        let mut served = Vec::new();
        let drained = drain_accept_queue(&listener, None, |stream| {
            let mut buf = [0; 64];
            let n = std::io::Read::read(&mut &stream, &mut buf).expect("read");
            served.push(buf[..n].to_vec());
        })
        .expect("drain");
        assert_eq!(
            drained,
            Drained {
                served: 3,
                silent: 1
            }
        );
        assert!(served
            .iter()
            .all(|bytes| bytes == b"GET / HTTP/1.1\r\n\r\n"));
        // The silent client sees its connection end (closed, not reset: it sent nothing).
        let mut buf = [0; 1];
        assert_eq!(
            std::io::Read::read(&mut &silent, &mut buf).expect("read"),
            0
        );
    }
}
