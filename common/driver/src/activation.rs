//! Socket activation: a listening socket handed over by the service manager, instead of one the
//! server binds itself (systemd's `LISTEN_FDS` protocol, sd_listen_fds(3)).
//!
//! The manager binds and listens, then starts the server with the socket already open as file
//! descriptor 3 (`SD_LISTEN_FDS_START`) and two environment variables: `LISTEN_FDS`, how many
//! descriptors from 3 on are sockets for it, and `LISTEN_PID`, the process they are meant for
//! (a child that inherits the environment must not take them too). What that buys:
//!
//! - the socket outlives the server: during a restart, connections wait in its accept queue for
//!   the next process instead of being refused;
//! - the manager may bind a port below 1024 and hand it to a server without privileges;
//! - the server can be started at the first connection instead of at boot.
//!
//! The stages take one socket. Nothing here is systemd's code: the protocol is two variables and
//! a descriptor number, and `systemd-socket-activate` (or any manager that speaks it) tests it.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{SockRef, Type};

use crate::listener::ListenOptions;

/// The first descriptor a manager passes (`SD_LISTEN_FDS_START`): after stdin, stdout, stderr.
pub const FIRST_FD: RawFd = 3;

/// Whether [`activated_listener`] ran already: descriptor 3 may have one owner only.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Why the socket the environment announces cannot be used.
#[derive(Debug)]
pub enum ActivationError {
    /// `LISTEN_PID` or `LISTEN_FDS` is not a number.
    Malformed {
        variable: &'static str,
        value: String,
    },
    /// More than one socket was passed; a stage serves one.
    TooMany { passed: usize },
    /// Descriptor 3 is not a listening TCP socket (a UNIX socket, a datagram socket, a file).
    NotATcpListener { reason: String },
    /// A socket was passed, and `option` asks for sockets of the server's own (stage 03's
    /// `--reuseport`: one per worker).
    OneSocket { option: &'static str },
    /// Setting the socket up (close-on-exec, blocking mode) failed.
    Setup(io::Error),
}

impl fmt::Display for ActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationError::Malformed { variable, value } => {
                write!(f, "socket activation: {variable}={value:?} is not a number")
            }
            ActivationError::TooMany { passed } => write!(
                f,
                "socket activation: {passed} sockets were passed (LISTEN_FDS), and this server \
                 listens on one"
            ),
            ActivationError::NotATcpListener { reason } => write!(
                f,
                "socket activation: descriptor {FIRST_FD} is not a listening TCP socket: {reason}"
            ),
            ActivationError::OneSocket { option } => write!(
                f,
                "socket activation passed one socket, and {option} binds sockets of its own: \
                 leave {option} out"
            ),
            ActivationError::Setup(error) => {
                write!(f, "socket activation: cannot set the socket up: {error}")
            }
        }
    }
}

impl std::error::Error for ActivationError {}

// ANCHOR: activated_listener
/// The listening socket the service manager passed, if it passed one to this process; set up
/// with `options`' blocking mode (the manager chose the address and the backlog).
///
/// Only the first call can take the socket; later calls return `None` (a stage with a second
/// port binds that one itself). The environment is left as it is: a process this one starts has
/// another PID, so `LISTEN_PID` already tells it the socket is not its own.
pub fn activated_listener(options: ListenOptions) -> Result<Option<TcpListener>, ActivationError> {
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let Some(pid) = number_from("LISTEN_PID")? else {
        return Ok(None);
    };
    if pid != std::process::id() as usize {
        // Meant for another process (we inherited the variables from it): not ours to take.
        return Ok(None);
    }
    let passed = number_from("LISTEN_FDS")?.unwrap_or(0);
    match passed {
        0 => return Ok(None),
        1 => {}
        passed => return Err(ActivationError::TooMany { passed }),
    }
    check_is_tcp_listener()?;
    // SAFETY: LISTEN_PID names this process, so the manager opened descriptor 3 for us and
    // nothing else in the process owns it (the protocol's promise), and `TAKEN` makes this the
    // only call that takes it; from here the listener owns it and closes it when dropped.
    let listener = TcpListener::from(unsafe { OwnedFd::from_raw_fd(FIRST_FD) });
    let socket = SockRef::from(&listener);
    // The manager leaves close-on-exec off (it had to, to pass the descriptor through exec).
    socket.set_cloexec(true).map_err(ActivationError::Setup)?;
    socket
        .set_nonblocking(options.nonblocking)
        .map_err(ActivationError::Setup)?;
    Ok(Some(listener))
}
// ANCHOR_END: activated_listener

/// The value of `variable` as a number, `None` when it is not set.
fn number_from(variable: &'static str) -> Result<Option<usize>, ActivationError> {
    match std::env::var(variable) {
        Err(_) => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ActivationError::Malformed { variable, value }),
    }
}

/// Whether descriptor 3 is a stream socket of the IPv4 or IPv6 family that is listening.
fn check_is_tcp_listener() -> Result<(), ActivationError> {
    let not = |reason: String| ActivationError::NotATcpListener { reason };
    // SAFETY: only borrowed for the checks below, while nothing closes it; a descriptor that
    // is not open makes the calls fail with EBADF, which is reported.
    let fd = unsafe { BorrowedFd::borrow_raw(FIRST_FD) };
    let socket = SockRef::from(&fd);
    let kind = socket.r#type().map_err(|error| not(error.to_string()))?;
    if kind != Type::STREAM {
        return Err(not("not a stream socket".into()));
    }
    let local = socket
        .local_addr()
        .map_err(|error| not(error.to_string()))?;
    if local.as_socket().is_none() {
        return Err(not("not an IPv4 or IPv6 socket".into()));
    }
    match socket.is_listener() {
        Ok(true) => Ok(()),
        Ok(false) => Err(not("not listening".into())),
        Err(error) => Err(not(error.to_string())),
    }
}
