//! The HTTP/2 side of a page load: a sans-IO client machine that asks for one page, then for
//! every file the page links, each on a stream of its own, all at once on one connection
//! (RFC 9113). It owns no socket: the driver ([`super::load`]) writes what
//! [`PageLoad::take_output`] gives, feeds what it reads to [`PageLoad::handle_input`], and stops
//! when [`PageLoad::finished`] says the page is complete.
//!
//! It is a client for this one load, not a general one:
//!
//! - It opens with the preface, a SETTINGS frame that turns server push off and makes every
//!   stream's window 16 MiB, and a WINDOW_UPDATE giving the connection as much (section 6.9.2),
//!   so that a page of a few hundred KiB never waits on flow control and the client sends no
//!   other WINDOW_UPDATE.
//! - Its frames and HPACK are the protocol crate's, the same code stage 07 serves with, read as
//!   a client reads them (`Role::Client`): `Frame::encode` and `frame::split_frame_as` for the
//!   frames (with every length, padding and stream-id rule of section 6 checked), an HPACK
//!   `Encoder` for the requests and a `Decoder` for the answers, each keeping its dynamic table
//!   for the connection's life.
//! - It opens as many streams as the server allows (SETTINGS_MAX_CONCURRENT_STREAMS, section
//!   6.5.2; unlimited until the server says) and the next queued one as each completes.
//! - It acknowledges SETTINGS and PING; RST_STREAM, GOAWAY with streams still open, and any
//!   status but 200 fail the load ([`PageError`]).

use std::collections::{HashMap, VecDeque};

use bytes::{Bytes, BytesMut};
use protocol::h2::frame::{self, Frame, Role, SettingId};
use protocol::h2::hpack::decoder::{Decoder, Field};
use protocol::h2::hpack::Encoder;

use super::PageError;

/// The connection preface a client sends first (RFC 9113 section 3.4).
pub use protocol::h2::machine::PREFACE;

/// The stream and connection windows the client gives the server: 16 MiB.
pub const WINDOW: u32 = 1 << 24;

/// The largest frame the client accepts: the default SETTINGS_MAX_FRAME_SIZE, which it does
/// not raise (section 4.2).
const MAX_FRAME: u32 = 16_384;

/// A bound on a decoded header list (name + value + 32 per field, RFC 7541 section 4.1).
const MAX_HEADER_LIST: usize = 64 * 1024;

/// One stream's request and what has come back on it.
#[derive(Debug)]
struct Stream {
    path: String,
    /// The body so far (kept only for the page, whose links are read from it).
    body: Vec<u8>,
    body_len: u64,
    /// Whether the answer's head came, with status 200.
    answered: bool,
}

/// One page load over one HTTP/2 connection. See the module's documentation.
#[derive(Debug)]
pub struct PageLoad {
    page: String,
    out: BytesMut,
    input: BytesMut,
    encoder: Encoder,
    decoder: Decoder,
    open: HashMap<u32, Stream>,
    /// Files known from the page and not yet asked for.
    queued: VecDeque<String>,
    next_stream: u32,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS.
    max_open: usize,
    /// A header block being joined from HEADERS and CONTINUATION: stream, fragments, and whether
    /// the HEADERS frame ended the stream.
    block: Option<(u32, Vec<u8>, bool)>,
    /// Set once the page's links are known: how many files it needs.
    files: Option<usize>,
    files_done: usize,
    body_bytes: u64,
}

impl PageLoad {
    /// A load of `page`: the preface, SETTINGS, the connection's WINDOW_UPDATE and the page's
    /// request are queued for the first [`PageLoad::take_output`].
    pub fn new(page: &str) -> PageLoad {
        let mut load = PageLoad {
            page: page.to_owned(),
            out: BytesMut::from(&PREFACE[..]),
            input: BytesMut::new(),
            encoder: Encoder::new(),
            // 4096: the table size every HTTP/2 connection starts with (RFC 9113 section 6.5.2),
            // which the client's SETTINGS does not change.
            decoder: Decoder::new(4096),
            open: HashMap::new(),
            queued: VecDeque::new(),
            next_stream: 1,
            max_open: usize::MAX,
            block: None,
            files: None,
            files_done: 0,
            body_bytes: 0,
        };
        load.send(Frame::Settings(frame::Settings {
            ack: false,
            parameters: vec![
                (SettingId::ENABLE_PUSH, 0),
                (SettingId::INITIAL_WINDOW_SIZE, WINDOW),
            ],
        }));
        // The connection's window starts at 65,535 whatever SETTINGS says (section 6.9.2).
        load.send(Frame::WindowUpdate(frame::WindowUpdate::new(
            0,
            WINDOW - 65_535,
        )));
        let page = load.page.clone();
        load.request(&page);
        load
    }

    /// Bytes to send now (empty when there are none).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.out.split().to_vec()
    }

    /// `Some((responses, body bytes))` once the page and every file it links are complete.
    pub fn finished(&self) -> Option<(usize, u64)> {
        let files = self.files?;
        (self.files_done == files && self.open.is_empty()).then_some((1 + files, self.body_bytes))
    }

    /// Reads `bytes` from the server: every complete frame in them (and in what came before) is
    /// handled, and what it calls for is queued for [`PageLoad::take_output`].
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), PageError> {
        self.input.extend_from_slice(bytes);
        while let Some(frame) = frame::split_frame_as(Role::Client, &mut self.input, MAX_FRAME)
            .map_err(|error| PageError::Malformed(error.to_string()))?
        {
            self.frame_in(frame)?;
        }
        Ok(())
    }

    fn frame_in(&mut self, frame: Frame) -> Result<(), PageError> {
        // Section 6.10: a header block is one HEADERS and its CONTINUATIONs, nothing between.
        if self.block.is_some() && !matches!(frame, Frame::Continuation(_)) {
            return Err(PageError::Malformed("a frame inside a header block".into()));
        }
        match frame {
            Frame::Settings(settings) if !settings.ack => {
                for (id, value) in settings.parameters {
                    if id == SettingId::MAX_CONCURRENT_STREAMS {
                        self.max_open = value as usize;
                    }
                }
                self.send(Frame::Settings(frame::Settings::acknowledgement()));
                self.ask_queued();
            }
            Frame::Ping(ping) if !ping.ack => {
                self.send(Frame::Ping(frame::Ping::pong(ping.opaque)))
            }
            Frame::Headers(headers) => {
                self.block = Some((
                    headers.stream,
                    headers.fragment.to_vec(),
                    headers.end_stream,
                ));
                if headers.end_headers {
                    self.headers_done()?;
                }
            }
            Frame::Continuation(continuation) => {
                let Some((own, fragment, _)) = self.block.as_mut() else {
                    return Err(PageError::Malformed("CONTINUATION without HEADERS".into()));
                };
                if *own != continuation.stream
                    || fragment.len() + continuation.fragment.len() > MAX_HEADER_LIST
                {
                    return Err(PageError::Malformed("a CONTINUATION out of place".into()));
                }
                fragment.extend_from_slice(&continuation.fragment);
                if continuation.end_headers {
                    self.headers_done()?;
                }
            }
            Frame::Data(data) => {
                let stream = data.stream;
                let Some(open) = self.open.get_mut(&stream) else {
                    return Err(PageError::Malformed(format!(
                        "DATA on stream {stream}, not open"
                    )));
                };
                if !open.answered {
                    return Err(PageError::Malformed(format!(
                        "DATA before HEADERS on {stream}"
                    )));
                }
                open.body_len += data.data.len() as u64;
                if stream == 1 {
                    open.body.extend_from_slice(&data.data);
                }
                if data.end_stream {
                    self.complete(stream)?;
                }
            }
            Frame::RstStream(reset) => {
                return Err(PageError::Reset {
                    stream: reset.stream,
                    code: reset.reason.0,
                });
            }
            Frame::GoAway(goaway) if !self.open.is_empty() || self.finished().is_none() => {
                return Err(PageError::GoAway {
                    code: goaway.reason.0,
                });
            }
            // WINDOW_UPDATE (the client sends no DATA), PRIORITY, ACKs, unknown types: nothing to
            // do (section 5.5: "Implementations MUST ignore unknown or unsupported values").
            _ => {}
        }
        Ok(())
    }

    /// A complete header block: the answer's head (status 200, or the load fails).
    fn headers_done(&mut self) -> Result<(), PageError> {
        let Some((stream, block, end_stream)) = self.block.take() else {
            return Ok(());
        };
        let mut fields: Vec<Field> = Vec::new();
        // Decoded even for a stream the client does not know: the table must stay in step.
        self.decoder
            .decode(&block, MAX_HEADER_LIST, &mut fields)
            .map_err(|error| PageError::Malformed(format!("HPACK: {error:?}")))?;
        let Some(open) = self.open.get_mut(&stream) else {
            return Err(PageError::Malformed(format!(
                "HEADERS on stream {stream}, not open"
            )));
        };
        if open.answered {
            // Trailers: nothing in them matters here.
        } else {
            let status = fields
                .iter()
                .find(|field| field.name.as_ref() == b":status")
                .and_then(|field| std::str::from_utf8(&field.value).ok())
                .and_then(|value| value.parse::<u16>().ok())
                .ok_or_else(|| PageError::Malformed(format!("no :status on stream {stream}")))?;
            if status != 200 {
                return Err(PageError::Status {
                    path: open.path.clone(),
                    status,
                });
            }
            open.answered = true;
        }
        if end_stream {
            self.complete(stream)?;
        }
        Ok(())
    }

    /// Stream `stream` ended: the page's links are read, or one more file is done.
    fn complete(&mut self, stream: u32) -> Result<(), PageError> {
        let Some(done) = self.open.remove(&stream) else {
            return Ok(());
        };
        self.body_bytes += done.body_len;
        if stream == 1 {
            let files = super::assets(&String::from_utf8_lossy(&done.body), &self.page);
            if files.is_empty() {
                return Err(PageError::NoAssets);
            }
            self.files = Some(files.len());
            self.queued = files.into();
        } else {
            self.files_done += 1;
        }
        self.ask_queued();
        Ok(())
    }

    // ANCHOR: h2_ask
    /// Opens a stream for every queued file the server's concurrency limit allows: all thirty
    /// at once, in one write, unless the server allows fewer.
    fn ask_queued(&mut self) {
        while self.open.len() < self.max_open {
            let Some(path) = self.queued.pop_front() else {
                return;
            };
            self.request(&path);
        }
    }
    // ANCHOR_END: h2_ask

    /// Queues a HEADERS frame asking for `path` on the next stream.
    fn request(&mut self, path: &str) {
        let stream = self.next_stream;
        self.next_stream += 2;
        let block = encode_request(&mut self.encoder, path, crate::tls::SERVER_NAME);
        let mut headers = frame::Headers::new(stream, Bytes::from(block));
        headers.end_stream = true;
        self.send(Frame::Headers(headers));
        self.open.insert(
            stream,
            Stream {
                path: path.to_owned(),
                body: Vec::new(),
                body_len: 0,
                answered: false,
            },
        );
    }

    /// Queues one frame.
    fn send(&mut self, frame: Frame) {
        frame.encode(&mut self.out);
    }
}

/// The HPACK block of `GET https://authority/path` (RFC 7541), from `encoder`, which keeps the
/// connection's dynamic table.
fn encode_request(encoder: &mut Encoder, path: &str, authority: &str) -> Vec<u8> {
    let fields: [(&[u8], &[u8]); 4] = [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":path", path.as_bytes()),
        (b":authority", authority.as_bytes()),
    ];
    let mut block = Vec::new();
    encoder.encode(fields, &mut block);
    block
}

/// `encode_request` as the first request of a connection (a new encoder).
pub fn request_block(path: &str, authority: &str) -> Vec<u8> {
    encode_request(&mut Encoder::new(), path, authority)
}
