//! The TLS layer: a `rustls::ServerConnection` between the socket and the HTTP machine, driven
//! by hand (RFC 8446 for TLS 1.3, RFC 5246 for TLS 1.2).
//!
//! rustls is sans-IO, like `protocol::Connection`: it never touches a socket. It has the same
//! two sides, one more time:
//!
//! ```text
//!      socket                         rustls                        HTTP machine
//!   ciphertext --read_tls----> [deframer] --process_new_packets--> [plaintext] --reader()--> handle_read
//!   ciphertext <--write_tls--- [records]  <------ writer() <------------------------------ poll_transmit
//!              wants_read / wants_write                          wants_read / wants_write
//! ```
//!
//! So a connection here is two machines in a row, and this module is the glue between them:
//! [`Tls::receive`] moves bytes left to right, [`Tls::encrypt`] and [`Tls::send`] right to left.
//! Nothing in it waits: every socket call is a non-blocking `try_read` / `try_write`, and
//! `WouldBlock` goes back to the connection task ([`crate::conn`]), which waits on the socket
//! with `.await` exactly as stage 05 does.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

use protocol::{Connection, Transmit};
use rustls::{ServerConfig, ServerConnection};
use tokio::net::TcpStream;

/// Most plaintext one record carries (RFC 8446 section 5.1): a file is read from the page cache
/// this much at a time, into a buffer on the stack, and encrypted at once.
const RECORD_PLAINTEXT: usize = 16 * 1024;

/// Encrypted output rustls may hold for one connection before [`Tls::encrypt`] stops taking
/// more from the HTTP machine: the TLS version of stage 05's back-pressure. Four records: enough
/// to keep the socket busy between two wake-ups, little enough that a client that never reads
/// costs the server no more than this.
const MAX_QUEUED_CIPHERTEXT: usize = 4 * (RECORD_PLAINTEXT + 256);

// ANCHOR: tls
/// One connection's TLS state.
pub struct Tls {
    session: ServerConnection,
    /// Plaintext rustls has decrypted and the HTTP machine has not taken yet (it stops reading
    /// while it holds requests back).
    undelivered: usize,
    /// Whether our `close_notify` alert is queued.
    close_notify_sent: bool,
    /// Whether the peer's `close_notify` arrived, or the TCP stream ended.
    input_ended: bool,
}
// ANCHOR_END: tls

/// What a call to [`Tls::receive`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Bytes were read (and whatever they decrypted to was handed on).
    Progress,
    /// The socket had nothing: wait until it is readable.
    WouldBlock,
    /// The peer ended the stream. While handshaking, that is the end of the connection.
    Ended,
}

/// Why the TLS layer gave up on a connection.
#[derive(Debug)]
pub enum TlsError {
    /// The peer broke the protocol (garbage, a truncated or refused handshake, a bad record).
    /// rustls has queued the alert that says why: send it with [`Tls::send`], then close.
    Protocol(rustls::Error),
    /// The socket failed.
    Io(io::Error),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Protocol(error) => write!(f, "TLS: {error}"),
            TlsError::Io(error) => write!(f, "socket: {error}"),
        }
    }
}

impl From<io::Error> for TlsError {
    fn from(error: io::Error) -> TlsError {
        TlsError::Io(error)
    }
}

impl Tls {
    /// A new server-side session, before the ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Result<Tls, rustls::Error> {
        let mut session = ServerConnection::new(config)?;
        // rustls's own limit on queued output, as a second line behind MAX_QUEUED_CIPHERTEXT.
        session.set_buffer_limit(Some(MAX_QUEUED_CIPHERTEXT));
        Ok(Tls {
            session,
            undelivered: 0,
            close_notify_sent: false,
            input_ended: false,
        })
    }

    /// Whether the handshake is still going on (no request can have arrived yet).
    pub fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// Whether the socket should be watched for reading: rustls wants records (the handshake
    /// needs the client's next flight, or the HTTP machine wants more of the request), and no
    /// decrypted plaintext waits for a machine that holds requests back.
    pub fn wants_read(&self, http: &Connection) -> bool {
        if self.input_ended || !self.session.wants_read() {
            return false;
        }
        self.session.is_handshaking() || (http.wants_read() && self.undelivered == 0)
    }

    /// Whether decrypted plaintext waits for a machine that wants to read it now.
    pub fn holds_plaintext_for(&self, http: &Connection) -> bool {
        self.undelivered > 0 && http.wants_read()
    }

    /// Whether the peer's `close_notify` arrived, or the TCP stream ended.
    pub fn input_ended(&self) -> bool {
        self.input_ended
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn wants_write(&self) -> bool {
        self.session.wants_write()
    }

    /// The application protocol ALPN agreed on (RFC 7301), once the handshake is done: `None`
    /// when the client offered none.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.session.alpn_protocol()
    }

    /// The server name the client asked for, once the ClientHello has arrived.
    pub fn server_name(&self) -> Option<&str> {
        self.session.server_name()
    }

    /// What the handshake agreed on, for the log: version, cipher suite, key exchange, ALPN.
    pub fn negotiated(&self) -> String {
        let version = self.session.protocol_version().map(|v| format!("{v:?}"));
        let suite = self
            .session
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()));
        let group = self
            .session
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name()));
        let kind = self.session.handshake_kind().map(|k| format!("{k:?}"));
        let alpn = self
            .session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        format!(
            "{} {} {} {} alpn={}",
            version.unwrap_or_default(),
            suite.unwrap_or_default(),
            group.unwrap_or_default(),
            kind.unwrap_or_default(),
            alpn.unwrap_or_else(|| "none".to_owned())
        )
    }

    // ANCHOR: receive
    /// Network to application: reads what the socket has into rustls (once, without waiting),
    /// lets rustls process it (handshake messages answered, records decrypted), and hands the
    /// plaintext to the HTTP machine, as much as it takes.
    pub fn receive(
        &mut self,
        socket: &TcpStream,
        http: &mut Connection,
        now: Instant,
    ) -> Result<Received, TlsError> {
        let read = self.read_and_process(socket)?;
        if read == Received::WouldBlock {
            return Ok(read);
        }
        self.deliver(http, now);
        if read == Received::Ended && self.is_handshaking() {
            return Ok(Received::Ended);
        }
        Ok(Received::Progress)
    }

    /// Reads once from the socket into rustls and lets rustls process what came: the first half
    /// of [`Tls::receive`], alone for a connection that only needs its handshake done (a
    /// refusal past the connection limit).
    pub fn read_and_process(&mut self, socket: &TcpStream) -> Result<Received, TlsError> {
        let read = match self.session.read_tls(&mut NonBlocking(socket)) {
            Ok(0) => {
                self.input_ended = true;
                Received::Ended
            }
            Ok(_) => Received::Progress,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return Ok(Received::WouldBlock)
            }
            Err(error) => return Err(TlsError::Io(error)),
        };
        // The heart of rustls: parse the records read, run the handshake a step, decrypt.
        // Handshake replies are queued for `write_tls`; an error has queued its alert.
        let state = self
            .session
            .process_new_packets()
            .map_err(TlsError::Protocol)?;
        self.undelivered = state.plaintext_bytes_to_read();
        if state.peer_has_closed() {
            self.input_ended = true;
        }
        Ok(read)
    }

    /// Encrypts `bytes` as application data (after the handshake; before it, rustls keeps them
    /// until the handshake is done). Returns how many it took.
    pub fn write_plaintext(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.session.writer().write(bytes)
    }

    /// Hands decrypted plaintext to the HTTP machine while it wants to read; then, once all
    /// of it is delivered, the end of the stream if the peer has closed.
    pub fn deliver(&mut self, http: &mut Connection, now: Instant) {
        while self.undelivered > 0 && http.wants_read() {
            match self.session.reader().read(http.read_buf()) {
                Ok(n) if n > 0 => {
                    self.undelivered -= n.min(self.undelivered);
                    http.handle_read(n, now);
                }
                _ => self.undelivered = 0,
            }
        }
        if self.undelivered == 0 && self.input_ended && http.wants_read() {
            // Whether with close_notify or by a bare TCP close, the request stream ended. A
            // request cut short by it is the HTTP machine's to judge, as over plain TCP.
            http.handle_eof();
        }
    }
    // ANCHOR_END: receive

    // ANCHOR: encrypt
    /// Application to network: takes the HTTP machine's output and gives it to rustls, which
    /// encrypts it into records at once, until the output runs out or rustls holds
    /// `MAX_QUEUED_CIPHERTEXT`. A file region is read from the page cache a record at a time:
    /// `sendfile` cannot encrypt. Returns whether the machine asked to close its writing side,
    /// which here means `close_notify` first (RFC 8446 section 6.1), then the TCP half-close
    /// once it has left ([`Tls::finish_close`]).
    pub fn encrypt(&mut self, http: &mut Connection, now: Instant) -> io::Result<bool> {
        loop {
            let written = match http.poll_transmit() {
                None => return Ok(false),
                Some(Transmit::CloseWrite) => {
                    if !self.close_notify_sent {
                        self.session.send_close_notify();
                        self.close_notify_sent = true;
                    }
                    return Ok(true);
                }
                Some(Transmit::Bytes(bytes)) => self.session.writer().write(bytes)?,
                Some(Transmit::File { file, offset, len }) => {
                    let mut record = [0u8; RECORD_PLAINTEXT];
                    let read = driver::sendfile::read_region(file, offset, len, &mut record)?;
                    self.session.writer().write(&record[..read])?
                }
            };
            if written == 0 {
                // rustls holds MAX_QUEUED_CIPHERTEXT already: the rest waits for the socket.
                return Ok(false);
            }
            http.advance(written, now);
        }
    }
    // ANCHOR_END: encrypt

    // ANCHOR: send
    /// Writes queued ciphertext (handshake messages, alerts, records) to the socket until all
    /// of it is written or the socket's buffer is full (`WouldBlock`, for the caller to wait on).
    /// Returns the count written.
    pub fn send(&mut self, socket: &TcpStream) -> io::Result<usize> {
        let mut written = 0;
        while self.session.wants_write() {
            match self.session.write_tls(&mut NonBlocking(socket)) {
                Ok(n) => written += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(written)
    }
    // ANCHOR_END: send

    /// The end of a close the HTTP machine asked for: once `close_notify` has left, shut the
    /// TCP writing side. Returns whether it did (`false`: ciphertext still waits for the socket).
    pub fn finish_close(&mut self, socket: &TcpStream) -> io::Result<bool> {
        if self.session.wants_write() {
            return Ok(false);
        }
        socket2::SockRef::from(socket).shutdown(Shutdown::Write)?;
        Ok(true)
    }

    /// The end of a connection the HTTP machine closed without asking for a half-close first:
    /// queues `close_notify` (once, and only after the handshake: before it there is no session
    /// to close) and gives it one try at the socket. Errors are not reported: the connection is
    /// ending either way, and a peer that has gone cannot be told.
    pub fn notify_close(&mut self, socket: &TcpStream) {
        if !self.close_notify_sent && !self.session.is_handshaking() {
            self.session.send_close_notify();
            self.close_notify_sent = true;
        }
        let _ = self.send(socket);
    }
}

/// A tokio socket as the `io::Read` / `io::Write` rustls takes, without waiting: `try_read` and
/// `try_write` say `WouldBlock` when the socket is not ready, and clear tokio's belief that it
/// is, so the task's next `readable()` / `writable()` waits for epoll.
struct NonBlocking<'a>(&'a TcpStream);

impl Read for NonBlocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for NonBlocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// rustls hands over every queued record at once: one `writev` instead of a write each.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
