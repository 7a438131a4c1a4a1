//! How a [`Conn`](super::Conn)'s bytes reach the server: straight over TCP, or through a
//! rustls client session over TCP. The response reader above sees plaintext either way.
//!
//! Under TLS there are two sides to one session, as in rustls's own picture:
//!
//! ```text
//!             plaintext                          TLS records
//!  Writer  ── write ──> ClientConnection ── write_tls ──> socket
//!  reader  <── reader ── ClientConnection <── read_tls ─── socket
//! ```
//!
//! Several cases write from one thread while another reads (a large upload echoed back, a head
//! trickled byte by byte while the test waits for the 408), so the session is shared behind a
//! lock, and neither side blocks on the socket while it holds that lock:
//!
//! - the reading side reads ciphertext from the socket first, then takes the lock only to hand
//!   it to rustls and take plaintext out;
//! - a [`Writer`] encrypts under the lock into a buffer of records, lets go of the lock, and
//!   only then writes the records to the socket. A second lock, held from encrypting to
//!   writing, keeps the records of two writers in the order they were encrypted.
//!
//! Lock order: `outgoing` before `session`. The reading side never waits for `outgoing` (it
//! only tries it), so the two sides cannot deadlock whatever the server does.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustls::ClientConnection;

/// A handle that writes on a connection, from any thread: plaintext over TCP, or encrypted
/// into the connection's TLS session. Get one with [`Conn::writer`](super::Conn::writer); the
/// bytes go out in the order they are written, interleaved with the connection's own sends.
#[derive(Clone)]
pub struct Writer {
    socket: Arc<TcpStream>,
    tls: Option<Arc<Session>>,
}

/// The shared half of a TLS connection.
struct Session {
    connection: Mutex<ClientConnection>,
    /// TLS records encrypted but not yet written in full: the rest of a write that timed out
    /// (see [`Writer::set_write_timeout`]) goes out before anything encrypted later.
    outgoing: Mutex<Vec<u8>>,
}

/// Why a read got no bytes.
pub(super) enum ReadError {
    /// Nothing arrived before the deadline.
    TimedOut,
    /// The server reset the connection.
    Reset,
    /// The server's TLS was wrong (or it sent a fatal alert); rustls says which.
    Tls(rustls::Error),
    Io(io::Error),
}

/// The reading side of a connection, owned by its [`Conn`](super::Conn).
pub(super) struct Transport {
    writer: Writer,
    /// Ciphertext read from the socket that rustls has not taken yet.
    incoming: Vec<u8>,
    /// Whether the server ended its TLS session with `close_notify` (always false for TCP).
    close_notify_received: bool,
}

impl Transport {
    pub(super) fn tcp(socket: TcpStream) -> Transport {
        Transport::new(socket, None)
    }

    /// Runs the TLS handshake on `socket` (bounded by `within`), then hands the session over.
    pub(super) fn tls(
        socket: TcpStream,
        mut connection: ClientConnection,
        within: Duration,
    ) -> io::Result<Transport> {
        socket.set_read_timeout(Some(within))?;
        socket.set_write_timeout(Some(within))?;
        let mut stream = &socket;
        while connection.is_handshaking() {
            connection.complete_io(&mut stream).map_err(|error| {
                if is_timeout(&error) {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the TLS handshake did not finish within {within:?}"),
                    )
                } else {
                    io::Error::new(error.kind(), format!("TLS handshake: {error}"))
                }
            })?;
        }
        // Writes block for as long as the server needs from here on, as over plain TCP; reads
        // set their own timeout each time.
        socket.set_write_timeout(None)?;
        let session = Session {
            connection: Mutex::new(connection),
            outgoing: Mutex::new(Vec::new()),
        };
        Ok(Transport::new(socket, Some(Arc::new(session))))
    }

    fn new(socket: TcpStream, tls: Option<Arc<Session>>) -> Transport {
        Transport {
            writer: Writer {
                socket: Arc::new(socket),
                tls,
            },
            incoming: Vec::new(),
            close_notify_received: false,
        }
    }

    pub(super) fn socket(&self) -> &TcpStream {
        &self.writer.socket
    }

    pub(super) fn writer(&self) -> &Writer {
        &self.writer
    }

    pub(super) fn is_tls(&self) -> bool {
        self.writer.tls.is_some()
    }

    pub(super) fn close_notify_received(&self) -> bool {
        self.close_notify_received
    }

    /// Reads plaintext into `buf`, waiting until `deadline`; `Ok(0)` is the end of the stream
    /// (a TCP FIN, or under TLS a `close_notify` or a FIN without one).
    pub(super) fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, ReadError> {
        let Some(session) = self.writer.tls.clone() else {
            return read_socket(&self.writer.socket, buf, deadline);
        };
        loop {
            // 1. Plaintext rustls has decrypted already.
            let plaintext = session.connection().reader().read(buf);
            match plaintext {
                Ok(0) => {
                    self.close_notify_received = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                // More records are needed.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // The TCP stream ended without `close_notify`. A real client must then doubt a
                // body delimited by the close (a truncation attack); for the suite it is a close
                // like any other, and `close_notify_received` tells the two apart.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(error) => return Err(ReadError::Io(error)),
            }
            // 2. Otherwise more ciphertext, from the socket (without holding the lock).
            if self.incoming.is_empty() {
                let mut chunk = [0u8; 16 * 1024];
                let n = read_socket(&self.writer.socket, &mut chunk, deadline)?;
                self.incoming.extend_from_slice(&chunk[..n]);
                if n == 0 {
                    // Tells rustls the stream has ended: its reader says how, at step 1.
                    session
                        .connection()
                        .read_tls(&mut io::empty())
                        .map_err(ReadError::Io)?;
                    continue;
                }
            }
            // 3. rustls takes what it can and decrypts it: into plaintext, handshake messages
            //    (TLS 1.3 session tickets arrive after the handshake) or an alert.
            let mut connection = session.connection();
            let mut rest = self.incoming.as_slice();
            connection.read_tls(&mut rest).map_err(ReadError::Io)?;
            let taken = self.incoming.len() - rest.len();
            self.incoming.drain(..taken);
            let processed = connection.process_new_packets();
            drop(connection);
            // An answer rustls owes the server (an alert explaining an error, a key update) is
            // sent if no writer is busy; a busy writer sends it with its own records.
            session.send_owed(&self.writer.socket);
            if let Err(error) = processed {
                return Err(ReadError::Tls(error));
            }
        }
    }

    /// Ends the sending half. Under TLS, `close_notify` first (RFC 8446 section 6.1: the
    /// closure alert is how a peer tells a clean end from a truncation), then the TCP FIN; the
    /// connection can still read what the server sends after that.
    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        if let Some(session) = &self.writer.tls {
            session.connection().send_close_notify();
            let mut outgoing = session.outgoing();
            session.encrypt_into(&mut outgoing)?;
            write_records(&self.writer.socket, &mut outgoing)?;
        }
        self.writer.socket.shutdown(Shutdown::Write)
    }
}

impl Writer {
    /// Bounds how long a write may block on a full socket; `None` blocks for as long as it
    /// takes. The timeout is the socket's, so it applies to every writer of the connection.
    ///
    /// Under TLS a write that times out part of the way through a record keeps the rest of it
    /// (a record cannot be cut) and sends it first on the next write; the plaintext of that
    /// write counts as written.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_write_timeout(timeout)
    }

    /// Whether the bytes are encrypted (a TLS connection).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(session) = &self.tls else {
            return (&*self.socket).write(bytes);
        };
        let mut outgoing = session.outgoing();
        // Records left by a write that timed out go first; a timeout here accepts nothing.
        write_records(&self.socket, &mut outgoing)?;
        // rustls takes up to its buffer limit (64 KiB), fewer when `bytes` is longer.
        let accepted = session.connection().writer().write(bytes)?;
        session.encrypt_into(&mut outgoing)?;
        match write_records(&self.socket, &mut outgoing) {
            // What did not fit before the timeout waits in `outgoing`; the plaintext is taken.
            Err(error) if is_timeout(&error) && accepted > 0 => Ok(accepted),
            Err(error) => Err(error),
            Ok(()) => Ok(accepted),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &self.tls {
            Some(session) => write_records(&self.socket, &mut session.outgoing()),
            None => Ok(()),
        }
    }
}

impl Session {
    fn connection(&self) -> MutexGuard<'_, ClientConnection> {
        // Poisoned only if a thread panicked while holding the lock, which fails its test
        // anyway; the session is still the best account of what was sent and received.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn outgoing(&self) -> MutexGuard<'_, Vec<u8>> {
        // As above: a panicking writer fails its test; the buffer itself is whole.
        self.outgoing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves every record rustls has ready into `outgoing` (a `Vec` never refuses bytes).
    fn encrypt_into(&self, outgoing: &mut Vec<u8>) -> io::Result<()> {
        let mut connection = self.connection();
        while connection.wants_write() {
            connection.write_tls(outgoing)?;
        }
        Ok(())
    }

    /// Sends what rustls owes the server, unless a writer holds `outgoing` (it will send it).
    /// Nothing to do most of the time: in particular, the rest of a record that a writer's
    /// timeout left in `outgoing` is the writers' to send, so a reader never waits on a server
    /// that has stopped reading.
    fn send_owed(&self, socket: &TcpStream) {
        if !self.connection().wants_write() {
            return;
        }
        let mut outgoing = match self.outgoing.try_lock() {
            Ok(outgoing) => outgoing,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        // The socket is this session's own; a write that fails here means the server has
        // gone, which the next read reports.
        if self.encrypt_into(&mut outgoing).is_ok() {
            let _ = write_records(socket, &mut outgoing);
        }
    }
}

/// Writes all of `records` to `socket`, removing what was written; on an error (a timeout) the
/// rest stays in `records`.
fn write_records(mut socket: &TcpStream, records: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == records.len() {
            break Ok(());
        }
        match socket.write(&records[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => break Err(error),
        }
    };
    records.drain(..written);
    result
}

/// One read from the socket, waiting until `deadline`.
fn read_socket(
    mut socket: &TcpStream,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, ReadError> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ReadError::TimedOut);
        }
        socket
            .set_read_timeout(Some(remaining))
            .map_err(ReadError::Io)?;
        match socket.read(buf) {
            Ok(n) => return Ok(n),
            Err(error) if is_timeout(&error) => return Err(ReadError::TimedOut),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Err(ReadError::Reset)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(ReadError::Io(error)),
        }
    }
}

/// A socket timeout, which Linux reports as `WouldBlock` (EAGAIN) and others as `TimedOut`.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
