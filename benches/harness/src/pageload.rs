//! The page-load client: one page and the files it links, fetched the way a browser fetches
//! them, over HTTP/1.1 with six connections or over HTTP/2 with one, timed from the first
//! connect to the last byte of the last file. What multiplexing buys is the difference.
//!
//! The page is the bundled site's `/gallery/index.html`, which links thirty small files
//! (stylesheets, scripts, SVG and PNG images of 1 to 5 KiB). Like a browser, the client asks for
//! the page first, reads the files it needs from the page itself ([`assets`]: the `href` of
//! `<link rel=stylesheet>` and `icon`, the `src` of `<script>` and `<img>`), and only then asks
//! for them:
//!
//! - **HTTP/1.1** (RFC 9112 section 9.3, persistent connections): one request at a time on a
//!   connection, so the client opens more connections once it knows it has files to fetch,
//!   up to [`H1_CONNECTIONS`] to the host, the limit browsers keep per origin; each connection
//!   takes the next file from one queue as soon as its previous answer is complete. Thirty
//!   files over six connections are `ceil(30 / 6) = 5` rounds after the page.
//! - **HTTP/2** (RFC 9113 section 5, streams and multiplexing): one connection; every file is a
//!   stream of its own, all opened at once (up to the server's SETTINGS_MAX_CONCURRENT_STREAMS),
//!   so the files are one round after the page. The HTTP/2 client is [`h2::PageLoad`], a small
//!   sans-IO machine written here for this load: it only asks and reads (no server push,
//!   windows large enough for the whole page, so it never waits on flow control).
//!
//! Every page load is a new visitor: new connections, full TLS handshakes (no resumption), the
//! protocol chosen by ALPN (`http/1.1` alone, or `h2` alone, so a server that cannot speak the
//! one asked for fails the load instead of quietly falling back). Each answer must be a 200.
//!
//! Why not h2load, which the HTTP/2 scenarios use: given a list of URIs (`-i`), h2load has each
//! connection walk the list from its start, so `--h1 -c 6 -n 31` asks for the first five or six
//! files six times each, not for the thirty files of the page; and it asks for every URI at
//! once, where a browser asks for the page first and learns the files from it. Neither is a
//! page load. The client here is small (a keep-alive HTTP/1.1 client on httparse, and the
//! HTTP/2 machine, whose HPACK decoding is the protocol crate's decoder), and it is timed
//! from inside, so a page load costs no process start.
//!
//! On loopback a round trip is microseconds and the rounds cost nothing, so the scenarios run
//! the loads through [`crate::relay::Relay`], which delays each direction. The relay accepts
//! TCP connections at once, so the client waits one round trip after each `connect`
//! ([`Path::connect_wait`]): a new connection then costs its TCP handshake, as on the path being
//! modelled, and TLS 1.3 adds one more round trip of its own.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::tls;

pub mod h2;

/// The page every page load asks for.
pub const PAGE: &str = "/gallery/index.html";

/// Connections per origin a browser opens for HTTP/1.1 (the limit Chromium and Firefox keep).
pub const H1_CONNECTIONS: usize = 6;

/// How long any one read or write may wait before the page load is given up as failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Which protocol a page load speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    /// The ALPN protocol id offered, alone (RFC 7301).
    pub fn alpn(self) -> &'static [u8] {
        match self {
            Protocol::Http1 => b"http/1.1",
            Protocol::Http2 => b"h2",
        }
    }

    /// As the tables name it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http2 => "HTTP/2",
        }
    }
}

/// Why a page load failed.
#[derive(Debug)]
pub enum PageError {
    /// The TCP connect or the TLS handshake failed.
    Connect(io::Error),
    /// Reading or writing failed after the handshake (a timeout is one).
    Io(io::Error),
    /// The server chose another protocol than the one offered, or none.
    Alpn {
        wanted: &'static str,
        got: Option<String>,
    },
    /// An answer other than 200.
    Status { path: String, status: u16 },
    /// An answer that could not be read (the text says what was wrong).
    Malformed(String),
    /// The server reset a stream (HTTP/2 RST_STREAM, with its error code).
    Reset { stream: u32, code: u32 },
    /// The server ended the connection (HTTP/2 GOAWAY, with its error code) before the page was
    /// complete.
    GoAway { code: u32 },
    /// The connection closed before the page was complete.
    Closed,
    /// The page links no file: there is nothing to measure.
    NoAssets,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::Connect(error) => write!(f, "cannot connect: {error}"),
            PageError::Io(error) => write!(f, "I/O error: {error}"),
            PageError::Alpn { wanted, got } => write!(
                f,
                "the server did not agree to {wanted} by ALPN (it chose {})",
                got.as_deref().unwrap_or("nothing")
            ),
            PageError::Status { path, status } => write!(f, "{path} answered {status}, not 200"),
            PageError::Malformed(why) => write!(f, "unreadable answer: {why}"),
            PageError::Reset { stream, code } => {
                write!(
                    f,
                    "stream {stream} reset by the server (error code {code:#x})"
                )
            }
            PageError::GoAway { code } => {
                write!(
                    f,
                    "GOAWAY from the server (error code {code:#x}) before the page was done"
                )
            }
            PageError::Closed => f.write_str("the connection closed before the page was complete"),
            PageError::NoAssets => write!(f, "{PAGE} links no file"),
        }
    }
}

impl std::error::Error for PageError {}

/// One page load, measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loaded {
    /// First connect to the last byte of the last file.
    pub elapsed: Duration,
    /// Answers received (the page and its files), all 200.
    pub responses: usize,
    /// Bytes of the answers' bodies.
    pub body_bytes: u64,
}

/// Where the page loads connect, and what a new connection costs beyond the kernel's connect.
#[derive(Clone, Copy, Debug)]
pub struct Path {
    pub addr: SocketAddr,
    /// Waited after each TCP connect returns: the round trip of the TCP handshake that the relay
    /// does not delay (zero without a delay).
    pub connect_wait: Duration,
}

/// The client's TLS configuration for `protocol`: the run's pinned certificate
/// ([`tls::client_config`], both TLS versions, no resumption) with `protocol` alone in ALPN.
pub fn client_config(
    certificate: &tls::Certificate,
    protocol: Protocol,
) -> Result<Arc<ClientConfig>, String> {
    let base = tls::client_config(certificate, &tls::ClientSettings::any_version())?;
    let mut config = (*base).clone();
    config.alpn_protocols = vec![protocol.alpn().to_vec()];
    Ok(Arc::new(config))
}

/// Loads [`PAGE`] and its files once over `path`, on new connections.
pub fn load(
    path: Path,
    config: &Arc<ClientConfig>,
    protocol: Protocol,
) -> Result<Loaded, PageError> {
    let started = Instant::now();
    let (responses, body_bytes) = match protocol {
        Protocol::Http1 => load_h1(path, config)?,
        Protocol::Http2 => load_h2(path, config)?,
    };
    Ok(Loaded {
        elapsed: started.elapsed(),
        responses,
        body_bytes,
    })
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A new TLS connection over `path` that agreed on `protocol` by ALPN.
fn connect(path: Path, config: &Arc<ClientConfig>, protocol: Protocol) -> Result<Tls, PageError> {
    let tcp = TcpStream::connect_timeout(&path.addr, IO_TIMEOUT).map_err(PageError::Connect)?;
    // The TCP handshake's round trip, which the relay's at-once accept does not cost.
    thread::sleep(path.connect_wait);
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| tcp.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(PageError::Connect)?;
    let name = tls::Client::new(Arc::clone(config)).name;
    let connection = ClientConnection::new(Arc::clone(config), name)
        .map_err(|error| PageError::Connect(tls::tls_error(error)))?;
    let mut stream = StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(PageError::Connect)?;
    }
    let got = stream.conn.alpn_protocol();
    if got != Some(protocol.alpn()) {
        return Err(PageError::Alpn {
            wanted: protocol.name(),
            got: got.map(|id| String::from_utf8_lossy(id).into_owned()),
        });
    }
    Ok(stream)
}

// ANCHOR: load_h1
/// HTTP/1.1: the page on a first connection, then its files over up to six, each connection
/// taking the next file from one queue when its previous answer is complete.
fn load_h1(path: Path, config: &Arc<ClientConfig>) -> Result<(usize, u64), PageError> {
    let mut first = connect(path, config, Protocol::Http1)?;
    let mut leftover = Vec::new();
    let page = get_h1(&mut first, &mut leftover, PAGE)?;
    let files = assets(&String::from_utf8_lossy(&page), PAGE);
    if files.is_empty() {
        return Err(PageError::NoAssets);
    }
    let queue = Mutex::new(files.into_iter().collect::<VecDeque<String>>());
    let extra = (H1_CONNECTIONS - 1).min(lock(&queue).len().saturating_sub(1));
    // Each connection's own loop: the next file, until the queue is empty.
    let fetch_all = |conn: &mut Tls, leftover: &mut Vec<u8>| -> Result<(usize, u64), PageError> {
        let (mut responses, mut bytes) = (0, 0);
        loop {
            // The guard is dropped at the end of this statement: held through the request
            // (as `while let Some(..) = lock(..)` would hold it) it would make the six
            // connections take turns.
            let next = lock(&queue).pop_front();
            let Some(next) = next else { break };
            bytes += get_h1(conn, leftover, &next)?.len() as u64;
            responses += 1;
        }
        Ok((responses, bytes))
    };
    let results: Vec<Result<(usize, u64), PageError>> = thread::scope(|scope| {
        let others: Vec<_> = (0..extra)
            .map(|_| {
                scope.spawn(|| {
                    let mut conn = connect(path, config, Protocol::Http1)?;
                    fetch_all(&mut conn, &mut Vec::new())
                })
            })
            .collect();
        let mut results = vec![fetch_all(&mut first, &mut leftover)];
        for other in others {
            // A panic in a fetching thread is a bug here, not the server's doing: pass it on.
            results.push(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        results
    });
    let (mut responses, mut bytes) = (1, page.len() as u64);
    for result in results {
        let (n, b) = result?;
        responses += n;
        bytes += b;
    }
    Ok((responses, bytes))
}
// ANCHOR_END: load_h1

/// The queue, even if a fetching thread panicked holding it (its state is a list of paths, and
/// the panic is passed on anyway).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The largest answer head read: the servers' heads here are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// One `GET path` on a kept-alive HTTP/1.1 connection: its 200 answer's body. `leftover` holds
/// bytes read past the previous answer (none, as the client never pipelines, but a server may
/// send early).
pub fn get_h1(
    conn: &mut (impl Read + Write),
    leftover: &mut Vec<u8>,
    path: &str,
) -> Result<Vec<u8>, PageError> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\r\n",
        tls::SERVER_NAME
    );
    conn.write_all(request.as_bytes())
        .and_then(|()| conn.flush())
        .map_err(PageError::Io)?;
    let mut buf = std::mem::take(leftover);
    let mut chunk = [0; 16 * 1024];
    let (head_len, status, length) = loop {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response.code.unwrap_or(0);
                let length = response
                    .headers
                    .iter()
                    .find(|field| field.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|field| std::str::from_utf8(field.value).ok())
                    .and_then(|value| value.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        PageError::Malformed(format!("{path}: no Content-Length in the answer"))
                    })?;
                break (head_len, status, length);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(PageError::Malformed(format!(
                    "{path}: head over {MAX_HEAD} bytes"
                )))
            }
            Err(error) => return Err(PageError::Malformed(format!("{path}: {error}"))),
        }
        let n = conn.read(&mut chunk).map_err(PageError::Io)?;
        if n == 0 {
            return Err(PageError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    while buf.len() < head_len + length {
        let n = conn.read(&mut chunk).map_err(PageError::Io)?;
        if n == 0 {
            return Err(PageError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    if status != 200 {
        return Err(PageError::Status {
            path: path.to_owned(),
            status,
        });
    }
    *leftover = buf.split_off(head_len + length);
    Ok(buf.split_off(head_len))
}

/// HTTP/2: one connection, the sans-IO machine fed from it until the page is complete.
fn load_h2(path: Path, config: &Arc<ClientConfig>) -> Result<(usize, u64), PageError> {
    let mut conn = connect(path, config, Protocol::Http2)?;
    let mut machine = h2::PageLoad::new(PAGE);
    let mut buf = vec![0; 32 * 1024];
    loop {
        let out = machine.take_output();
        if !out.is_empty() {
            conn.write_all(&out)
                .and_then(|()| conn.flush())
                .map_err(PageError::Io)?;
        }
        if let Some(done) = machine.finished() {
            return Ok(done);
        }
        let n = conn.read(&mut buf).map_err(PageError::Io)?;
        if n == 0 {
            return Err(PageError::Closed);
        }
        machine.handle_input(&buf[..n])?;
    }
}

// ANCHOR: assets
/// The files a browser fetches to show `html`, found at `page`: the `href` of `<link>` elements
/// whose `rel` is `stylesheet` or `icon`, and the `src` of `<script>` and `<img>`, in the order
/// they appear, each once. Paths are resolved against `page` (RFC 3986 section 5.2, for the
/// absolute-path and relative-path forms only); links to other origins (`https:`, `//`) and
/// `data:` URLs are left out, as they are not this server's to answer.
pub fn assets(html: &str, page: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find('<').map(|i| at + i) {
        let close = lower[open..].find('>').map_or(lower.len(), |i| open + i);
        let tag = &html[open + 1..close];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let link = match name.as_str() {
            "link" => attribute(tag, "rel")
                .filter(|rel| {
                    rel.split_ascii_whitespace().any(|word| {
                        word.eq_ignore_ascii_case("stylesheet") || word.eq_ignore_ascii_case("icon")
                    })
                })
                .and_then(|_| attribute(tag, "href")),
            "script" | "img" => attribute(tag, "src"),
            _ => None,
        };
        if let Some(path) = link.and_then(|link| resolve(page, &link)) {
            if !found.contains(&path) {
                found.push(path);
            }
        }
        at = close;
    }
    found
}
// ANCHOR_END: assets

/// The value of attribute `name` in a tag's text (`link rel="stylesheet" href=/a.css`), quoted
/// with `"` or `'` or not at all.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        // A whole attribute name: after whitespace, followed by `=`.
        let before = lower[..i].chars().next_back();
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(value) = rest.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let text = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
            _ => value.split_ascii_whitespace().next().unwrap_or_default(),
        };
        return Some(text.to_owned());
    }
    None
}

/// `link` as a path on this server, seen from `page`; `None` for another origin or scheme.
fn resolve(page: &str, link: &str) -> Option<String> {
    let link = link.split('#').next().unwrap_or_default();
    if link.is_empty() || link.starts_with("//") || link.contains(':') {
        return None;
    }
    if link.starts_with('/') {
        return Some(link.to_owned());
    }
    let dir = page.rfind('/').map_or("/", |i| &page[..=i]);
    Some(format!("{dir}{link}"))
}

/// The nearest-rank percentile of sorted values (`fraction` 0.5 for p50): the smallest value
/// with at least that fraction of the values at or below it. `None` for no values.
pub fn percentile(sorted: &[f64], fraction: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests;
