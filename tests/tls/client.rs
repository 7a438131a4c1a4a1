//! A small TLS client of our own (rustls), for what the tests must see from inside a connection:
//! which certificate the server sent, a connection kept open across a certificate reload,
//! whether the server ended with `close_notify`, and a real ClientHello to send slowly or cut
//! short.
//!
//! It takes any certificate (the kit's [`PinnedCertificate::any`]): which one the server sent is
//! exactly what these tests look at, so each test compares it with the one it expects
//! ([`TlsClient::leaf`]). The handshake signature is still checked against that certificate, so
//! a server without the matching key fails here.
//!
//! (A local helper until the kit's TLS `Conn` lands on main; the tests switch to it then.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use stagekit::tls::PinnedCertificate;

/// How long a connect, a write or a read waits.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of a response this client reads: the site's files are far smaller.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// One TLS connection, handshake done.
pub struct TlsClient {
    tls: StreamOwned<ClientConnection, TcpStream>,
    /// Plaintext read past the end of the last response.
    buffer: Vec<u8>,
}

/// One response: its status, its head as text (for failure messages), its body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl TlsClient {
    /// Connects to `addr` and completes a handshake, asking for `server_name` (a DNS name is
    /// sent as SNI; an IP address, as clients do, is not) and offering ALPN `http/1.1`.
    pub fn connect(addr: SocketAddr, server_name: &str) -> io::Result<TlsClient> {
        let mut tcp = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        tcp.set_write_timeout(Some(TIMEOUT))?;
        let mut conn = ClientConnection::new(config(), server_name_of(server_name)?)
            .map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        Ok(TlsClient {
            tls: StreamOwned::new(conn, tcp),
            buffer: Vec::new(),
        })
    }

    /// The DER of the certificate the server sent (the leaf).
    pub fn leaf(&self) -> Vec<u8> {
        self.tls
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.to_vec())
            .unwrap_or_default()
    }

    /// The application protocol agreed by ALPN.
    pub fn alpn(&self) -> Option<String> {
        self.tls
            .conn
            .alpn_protocol()
            .map(|name| String::from_utf8_lossy(name).into_owned())
    }

    /// `GET path` on this connection (kept alive), and its response.
    pub fn get(&mut self, path: &str) -> io::Result<HttpResponse> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        self.tls.write_all(request.as_bytes())?;
        self.tls.flush()?;
        self.read_response()
    }

    /// Reads until the server ends the connection. `Ok` only for a clean end: the server's
    /// `close_notify` alert, then the end of the stream. rustls reports a TCP end without
    /// `close_notify` as `UnexpectedEof` (a truncation attack, to TLS), and bytes as an error
    /// here (no response was asked for).
    pub fn expect_close_notify(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        match self.tls.read(&mut chunk)? {
            0 => Ok(()),
            n => Err(io::Error::other(format!(
                "{n} bytes of plaintext where the end of the connection was expected"
            ))),
        }
    }

    fn read_response(&mut self) -> io::Result<HttpResponse> {
        loop {
            if let Some(response) = self.parse()? {
                return Ok(response);
            }
            if self.buffer.len() > MAX_RESPONSE {
                return Err(io::Error::other("response larger than this client reads"));
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.tls.read(&mut chunk)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the connection ended in a response; received {:?}",
                            String::from_utf8_lossy(&self.buffer)
                        ),
                    ))
                }
                n => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// A complete response at the start of the buffer (framed by `Content-Length`, which every
    /// response of the stage to a GET has), taken out of it; `None` if more bytes are needed.
    fn parse(&mut self) -> io::Result<Option<HttpResponse>> {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut fields);
        let head_len = match parsed.parse(&self.buffer).map_err(io::Error::other)? {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => return Ok(None),
        };
        let status = parsed.code.unwrap_or(0);
        let length = parsed
            .headers
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case("content-length"))
            .and_then(|field| std::str::from_utf8(field.value).ok())
            .and_then(|value| value.trim().parse::<usize>().ok())
            .ok_or_else(|| io::Error::other("a response without Content-Length"))?;
        if self.buffer.len() < head_len + length {
            return Ok(None);
        }
        let head = String::from_utf8_lossy(&self.buffer[..head_len]).into_owned();
        let body = self.buffer[head_len..head_len + length].to_vec();
        self.buffer.drain(..head_len + length);
        Ok(Some(HttpResponse { status, head, body }))
    }
}

/// The first flight of a real client (a ClientHello record, with SNI for `server_name`, ALPN,
/// key shares), as bytes to send by hand.
pub fn client_hello(server_name: &str) -> io::Result<Vec<u8>> {
    let mut conn =
        ClientConnection::new(config(), server_name_of(server_name)?).map_err(io::Error::other)?;
    let mut bytes = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut bytes)?;
    }
    Ok(bytes)
}

fn server_name_of(name: &str) -> io::Result<ServerName<'static>> {
    ServerName::try_from(name.to_owned()).map_err(io::Error::other)
}

/// TLS 1.2 and 1.3, ALPN `http/1.1`, any certificate (see the module's comment).
fn config() -> Arc<ClientConfig> {
    Arc::new(Arc::new(PinnedCertificate::any()).client_config())
}
