//! A raw-bytes HTTP/1.1 client for tests: the test writes exactly the bytes it means (malformed
//! ones included), and this module reads back one complete response at a time.
//!
//! Reading follows the message-length rules of RFC 9112 section 6.3 from the client's side:
//!
//! 1. A response to HEAD, and any 1xx, 204 or 304 response, ends at the end of its head.
//! 2. With `Transfer-Encoding` whose last coding is `chunked`, the body is chunked (section 7.1),
//!    trailers included; with any other last coding, it runs until the server closes.
//! 3. Otherwise a valid `Content-Length` gives the body length.
//! 4. Otherwise the body runs until the server closes.
//!
//! The reader is strict where a lenient client would hide a server bug: `Transfer-Encoding` next
//! to `Content-Length` (section 6.2 forbids a sender to do that), differing `Content-Length`
//! values, malformed chunks, and a head that httparse refuses are all errors, not guesses.
//!
//! Every read has a deadline ([`Conn::set_timeout`], default [`DEFAULT_TIMEOUT`]), so a server
//! that never answers fails the test with the bytes received so far instead of hanging it.
//!
//! A connection is plain TCP ([`Conn::connect`]) or TLS ([`Conn::connect_tls`], a rustls client
//! session, see the `transport` module): the bytes a test writes and the responses it reads are the same
//! either way, so one case serves both kinds of stage. A [`Connector`] is the address plus the
//! TLS settings, for code that opens connections without knowing which kind the stage speaks.

use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::ClientConnection;

use crate::tls::TlsClient;
pub use transport::Writer;
use transport::{ReadError, Transport};

mod transport;

/// How long a read waits by default for the server's next bytes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A response head larger than this is treated as malformed (no server of ours sends one).
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// What went wrong while reading from the server. Each variant carries the bytes received for
/// the response being read, so the failure message shows what the server actually sent.
#[derive(Debug)]
pub enum WireError {
    /// No complete response before the deadline.
    Timeout {
        waited: Duration,
        received: Vec<u8>,
    },
    /// The server closed the connection before the response was complete.
    Closed {
        received: Vec<u8>,
    },
    /// The server reset the connection before the response was complete.
    Reset {
        received: Vec<u8>,
    },
    /// The bytes are not a well-formed HTTP/1.1 response.
    Malformed {
        reason: String,
        received: Vec<u8>,
    },
    /// Bytes arrived where none were expected (after a response that should have been the last).
    Unexpected {
        received: Vec<u8>,
    },
    /// The connection stayed open, and silent, past the deadline when it should have closed.
    StillOpen {
        waited: Duration,
    },
    /// The connection closed when it should have stayed open.
    ClosedEarly {
        after: Duration,
    },
    /// The server's TLS records were wrong, or it sent a fatal alert (rustls says which).
    Tls {
        error: rustls::Error,
        received: Vec<u8>,
    },
    Io(io::Error),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Timeout { waited, received } => write!(
                f,
                "no complete response within {waited:?}; received {}",
                show(received)
            ),
            WireError::Closed { received } => write!(
                f,
                "the server closed the connection mid-response; received {}",
                show(received)
            ),
            WireError::Reset { received } => write!(
                f,
                "the server reset the connection mid-response; received {}",
                show(received)
            ),
            WireError::Malformed { reason, received } => {
                write!(
                    f,
                    "malformed response ({reason}); received {}",
                    show(received)
                )
            }
            WireError::Unexpected { received } => write!(
                f,
                "the server sent bytes where none were expected: {}",
                show(received)
            ),
            WireError::StillOpen { waited } => write!(
                f,
                "the connection was still open {waited:?} later (expected the server to close it)"
            ),
            WireError::ClosedEarly { after } => write!(
                f,
                "the server closed the connection after {after:?} (expected it to stay open)"
            ),
            WireError::Tls { error, received } => write!(
                f,
                "TLS error: {error}; received (decrypted) {}",
                show(received)
            ),
            WireError::Io(error) => write!(f, "I/O error: {error}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Shows bytes the way a failure message should: escaped, and cut after a couple of KiB.
pub fn show(bytes: &[u8]) -> String {
    const SHOWN: usize = 2048;
    if bytes.is_empty() {
        return "nothing".to_owned();
    }
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut text = format!("{} bytes: b\"{}\"", bytes.len(), shown.escape_ascii());
    if bytes.len() > SHOWN {
        text.push_str(" ...");
    }
    text
}

/// One HTTP response as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The minor version of `HTTP/1.x` in the status line.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    /// Header fields in the order received; values decoded lossily as UTF-8.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
    /// The head exactly as received (status line and fields, up to the empty line).
    pub head: String,
}

impl Response {
    /// The first value of the field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of the field `name`, in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the list-valued field `name` holds `token` (case-insensitive), as in
    /// `Connection: keep-alive, Upgrade` (RFC 9110 section 5.6.1 lists).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .flat_map(|value| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// `Content-Length` as a number, if present and valid.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|value| value.trim().parse().ok())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl fmt::Display for Response {
    /// The head and the start of the body, for failure messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\r\n[body: {}]",
            self.head.trim_end(),
            show(&self.body)
        )
    }
}

/// Where a server is and how to talk to it: its address and, for a TLS stage, the client
/// settings. Cheap to clone and `Send`, for client threads that each open their own connection
/// ([`Server::connector`](crate::Server::connector) makes one).
#[derive(Clone, Debug)]
pub struct Connector {
    addr: SocketAddr,
    tls: Option<TlsClient>,
}

impl Connector {
    /// Plain TCP to `addr`.
    pub fn tcp(addr: SocketAddr) -> Connector {
        Connector { addr, tls: None }
    }

    /// TLS to `addr` with `tls`'s trust and server name.
    pub fn tls(addr: SocketAddr, tls: TlsClient) -> Connector {
        Connector {
            addr,
            tls: Some(tls),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The TLS settings, `None` for plain TCP.
    pub fn tls_client(&self) -> Option<&TlsClient> {
        self.tls.as_ref()
    }

    /// A new connection, the TLS handshake done when the server speaks TLS.
    pub fn connect(&self) -> io::Result<Conn> {
        match &self.tls {
            None => Conn::connect(self.addr),
            Some(tls) => Conn::connect_tls(self.addr, tls),
        }
    }
}

/// A client connection that writes raw bytes and reads whole responses, over TCP or TLS.
pub struct Conn {
    transport: Transport,
    /// Bytes received but not yet consumed by a response (the start of the next one, when the
    /// server pipelines).
    buffer: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    /// Connects to `addr` with Nagle's algorithm off, so each [`Conn::send`] leaves at once.
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn::over(Transport::tcp(tcp_connect(addr)?)))
    }

    /// Connects to `addr` and runs the TLS handshake (within [`DEFAULT_TIMEOUT`]) before
    /// returning, so that a case's timing starts where it would over TCP: at the first byte of
    /// HTTP. A handshake the server refuses is an error here, with rustls's reason.
    pub fn connect_tls(addr: SocketAddr, tls: &TlsClient) -> io::Result<Conn> {
        let socket = tcp_connect(addr)?;
        let session = ClientConnection::new(Arc::clone(tls.config()), tls.server_name().clone())
            .map_err(io::Error::other)?;
        Ok(Conn::over(Transport::tls(
            socket,
            session,
            DEFAULT_TIMEOUT,
        )?))
    }

    fn over(transport: Transport) -> Conn {
        Conn {
            transport,
            buffer: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets how long each later read call waits for its bytes.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The TCP socket, for what this type does not wrap (peer address, socket options, ...).
    /// Under TLS, bytes written to it directly bypass the session and break it: write with
    /// [`Conn::send`] or a [`Conn::writer`].
    pub fn stream(&self) -> &TcpStream {
        self.transport.socket()
    }

    /// Whether this connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }

    /// Whether the server ended its TLS session with `close_notify` before closing (false
    /// over TCP, and until the end of the stream has been read).
    pub fn close_notify_received(&self) -> bool {
        self.transport.close_notify_received()
    }

    /// A handle that writes on this connection from another thread (or with a write timeout),
    /// while this one reads; over TLS it encrypts into the same session.
    pub fn writer(&self) -> Writer {
        self.transport.writer().clone()
    }

    /// Writes all of `bytes` (over TLS, encrypted into records first).
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.writer().write_all(bytes.as_ref())
    }

    /// Writes `bytes` in pieces of `piece` bytes with `pause` after each, to show that the
    /// server copes with a request split anywhere (over TLS, each piece is a record of its own).
    pub fn send_in_pieces(
        &mut self,
        bytes: impl AsRef<[u8]>,
        piece: usize,
        pause: Duration,
    ) -> io::Result<()> {
        let mut writer = self.writer();
        for chunk in bytes.as_ref().chunks(piece.max(1)) {
            writer.write_all(chunk)?;
            thread::sleep(pause);
        }
        Ok(())
    }

    /// Closes the sending half: the server sees end of input, the connection can still read.
    /// Over TLS this sends `close_notify` first, then shuts the TCP write side.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.transport.shutdown_write()
    }

    /// Reads the next complete response (1xx interim responses included, one at a time).
    pub fn read_response(&mut self) -> Result<Response, WireError> {
        self.read(false)
    }

    /// Reads the next response to a HEAD request, which has no body whatever its fields say.
    pub fn read_response_to_head(&mut self) -> Result<Response, WireError> {
        self.read(true)
    }

    /// Succeeds when the server closes the connection (end of stream or reset) before the
    /// timeout, with no further bytes; returns how long that took. Bytes left over from earlier
    /// responses count as unexpected too.
    pub fn expect_closed(&mut self) -> Result<Duration, WireError> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        if !self.buffer.is_empty() {
            self.gather_more(deadline);
            return Err(WireError::Unexpected {
                received: std::mem::take(&mut self.buffer),
            });
        }
        match self.fill(deadline) {
            Err(WireError::Closed { .. } | WireError::Reset { .. }) => Ok(start.elapsed()),
            Err(WireError::Timeout { .. }) => Err(WireError::StillOpen {
                waited: self.timeout,
            }),
            Err(other) => Err(other),
            Ok(()) => {
                self.gather_more(deadline);
                Err(WireError::Unexpected {
                    received: std::mem::take(&mut self.buffer),
                })
            }
        }
    }

    /// Succeeds when nothing arrives and the connection stays open for `quiet`.
    pub fn expect_silence(&mut self, quiet: Duration) -> Result<(), WireError> {
        let start = Instant::now();
        if !self.buffer.is_empty() {
            return Err(WireError::Unexpected {
                received: std::mem::take(&mut self.buffer),
            });
        }
        match self.fill(start + quiet) {
            Err(WireError::Timeout { .. }) => Ok(()),
            Err(WireError::Closed { .. } | WireError::Reset { .. }) => {
                Err(WireError::ClosedEarly {
                    after: start.elapsed(),
                })
            }
            Err(other) => Err(other),
            Ok(()) => Err(WireError::Unexpected {
                received: std::mem::take(&mut self.buffer),
            }),
        }
    }

    fn read(&mut self, to_head: bool) -> Result<Response, WireError> {
        let deadline = Instant::now() + self.timeout;
        let (head_len, mut response) = loop {
            match parse_head(&self.buffer) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) if self.buffer.len() > MAX_RESPONSE_HEAD => {
                    return Err(self.malformed("response head over 64 KiB"))
                }
                Ok(None) => self.fill(deadline)?,
                Err(reason) => return Err(self.malformed(&reason)),
            }
        };
        let framing = framing(&response, to_head).map_err(|reason| self.malformed(&reason))?;
        let consumed = match framing {
            Framing::None => head_len,
            Framing::Length(length) => {
                let length = usize::try_from(length)
                    .map_err(|_| self.malformed("Content-Length does not fit in memory"))?;
                let end = head_len
                    .checked_add(length)
                    .ok_or_else(|| self.malformed("Content-Length does not fit in memory"))?;
                while self.buffer.len() < end {
                    self.fill(deadline)?;
                }
                response.body = self.buffer[head_len..end].to_vec();
                end
            }
            Framing::Chunked => loop {
                match decode_chunked(&self.buffer[head_len..]) {
                    Ok(Some(decoded)) => {
                        response.body = decoded.body;
                        response.trailers = decoded.trailers;
                        break head_len + decoded.consumed;
                    }
                    Ok(None) => self.fill(deadline)?,
                    Err(reason) => return Err(self.malformed(&reason)),
                }
            },
            Framing::UntilClose => loop {
                match self.fill(deadline) {
                    Ok(()) => continue,
                    Err(WireError::Closed { .. }) => {
                        response.body = self.buffer[head_len..].to_vec();
                        break self.buffer.len();
                    }
                    Err(other) => return Err(other),
                }
            },
        };
        self.buffer.drain(..consumed);
        Ok(response)
    }

    /// Reads once more into the buffer, waiting until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), WireError> {
        let mut chunk = [0u8; 64 * 1024];
        match self.transport.read(&mut chunk, deadline) {
            Ok(0) => Err(WireError::Closed {
                received: self.buffer.clone(),
            }),
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(ReadError::TimedOut) => Err(self.timed_out()),
            Err(ReadError::Reset) => Err(WireError::Reset {
                received: self.buffer.clone(),
            }),
            Err(ReadError::Tls(error)) => Err(WireError::Tls {
                error,
                received: self.buffer.clone(),
            }),
            Err(ReadError::Io(error)) => Err(WireError::Io(error)),
        }
    }

    /// After unexpected bytes, reads a little longer so the message shows the whole of them.
    fn gather_more(&mut self, deadline: Instant) {
        let soon = Instant::now() + Duration::from_millis(200);
        while self.fill(soon.min(deadline)).is_ok() {}
    }

    fn timed_out(&self) -> WireError {
        WireError::Timeout {
            waited: self.timeout,
            received: self.buffer.clone(),
        }
    }

    fn malformed(&self, reason: &str) -> WireError {
        WireError::Malformed {
            reason: reason.to_owned(),
            received: self.buffer.clone(),
        }
    }
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Parses a complete response head at the start of `bytes`: `Ok(None)` when more is needed.
fn parse_head(bytes: &[u8]) -> Result<Option<(usize, Response)>, String> {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut fields);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("httparse: {error}")),
    };
    // httparse fills these three whenever it returns Complete; the fallbacks are never used.
    let response = Response {
        minor_version: parsed.version.unwrap_or(1),
        status: parsed.code.unwrap_or(0),
        reason: parsed.reason.unwrap_or("").to_owned(),
        headers: parsed
            .headers
            .iter()
            .map(|field| {
                (
                    field.name.to_owned(),
                    String::from_utf8_lossy(field.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
        trailers: Vec::new(),
        head: String::from_utf8_lossy(&bytes[..head_len]).into_owned(),
    };
    Ok(Some((head_len, response)))
}

/// The client side of RFC 9112 section 6.3 (see the module doc for the numbered rules).
fn framing(response: &Response, to_head: bool) -> Result<Framing, String> {
    let has_transfer_encoding = response.header("transfer-encoding").is_some();
    let lengths: Vec<&str> = response
        .header_all("content-length")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    // Rule 1.
    if to_head || (100..200).contains(&response.status) || matches!(response.status, 204 | 304) {
        return Ok(Framing::None);
    }
    if has_transfer_encoding && !lengths.is_empty() {
        return Err("Transfer-Encoding and Content-Length in one response (RFC 9112 6.2)".into());
    }
    // Rule 2.
    if has_transfer_encoding {
        let last_coding = response
            .header_all("transfer-encoding")
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|coding| !coding.is_empty())
            .last();
        return Ok(match last_coding {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    // Rule 3.
    if let Some(first) = lengths.first() {
        if lengths.iter().any(|length| length != first) {
            return Err(format!("differing Content-Length values {lengths:?}"));
        }
        if first.is_empty() || !first.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!("Content-Length {first:?} is not a decimal number"));
        }
        return first
            .parse()
            .map(Framing::Length)
            .map_err(|_| format!("Content-Length {first:?} is too large"));
    }
    // Rule 4.
    Ok(Framing::UntilClose)
}

/// A decoded chunked body.
struct Chunked {
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    /// Bytes of input the body took, final CRLF included.
    consumed: usize,
}

/// Decodes a complete chunked body (RFC 9112 section 7.1) at the start of `bytes`; `Ok(None)`
/// when more bytes are needed.
///
/// ```text
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// ```
fn decode_chunked(bytes: &[u8]) -> Result<Option<Chunked>, String> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find_crlf(&bytes[at..]) else {
            return Ok(None);
        };
        let line = &bytes[at..at + line_end];
        at += line_end + 2;
        let size_text = line.split(|&byte| byte == b';').next().unwrap_or(b"");
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| "chunk size is not ASCII".to_owned())?
            .trim_end_matches([' ', '\t']);
        if size_text.is_empty() || !size_text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(format!("bad chunk size {size_text:?}"));
        }
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("chunk size {size_text:?} is too large"))?;
        if size == 0 {
            break;
        }
        let Some(data_end) = at.checked_add(size) else {
            return Err(format!("chunk size {size_text:?} is too large"));
        };
        if bytes.len() < data_end + 2 {
            return Ok(None);
        }
        if &bytes[data_end..data_end + 2] != b"\r\n" {
            return Err("chunk data not followed by CRLF".to_owned());
        }
        body.extend_from_slice(&bytes[at..data_end]);
        at = data_end + 2;
    }
    let mut trailers = Vec::new();
    loop {
        let Some(line_end) = find_crlf(&bytes[at..]) else {
            return Ok(None);
        };
        let line = &bytes[at..at + line_end];
        at += line_end + 2;
        if line.is_empty() {
            return Ok(Some(Chunked {
                body,
                trailers,
                consumed: at,
            }));
        }
        let text = String::from_utf8_lossy(line);
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| format!("trailer line without a colon: {text:?}"))?;
        trailers.push((name.to_owned(), value.trim().to_owned()));
    }
}

/// A TCP connection to `addr` with Nagle's algorithm off.
fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|pair| pair == b"\r\n")
}

#[cfg(test)]
mod tests;
