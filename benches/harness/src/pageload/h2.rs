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
//! - It encodes its requests by hand with HPACK's static table (RFC 7541 Appendix A) and
//!   literals without indexing (section 6.2.2): `:method GET` and `:scheme https` are one octet
//!   each, `:path` and `:authority` a name index and a raw string. The server's answers are
//!   decoded with the protocol crate's HPACK [`Decoder`], which keeps the dynamic table that
//!   the server's encoder may use.
//! - It opens as many streams as the server allows (SETTINGS_MAX_CONCURRENT_STREAMS, section
//!   6.5.2; unlimited until the server says) and the next queued one as each completes.
//! - It acknowledges SETTINGS and PING; RST_STREAM, GOAWAY with streams still open, and any
//!   status but 200 fail the load ([`PageError`]).

use std::collections::{HashMap, VecDeque};

use protocol::h2::hpack::decoder::{Decoder, Field};

use super::PageError;

/// The connection preface a client sends first (RFC 9113 section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The stream and connection windows the client gives the server: 16 MiB.
pub const WINDOW: u32 = 1 << 24;

/// The largest frame the client accepts: the default SETTINGS_MAX_FRAME_SIZE, which it does
/// not raise (section 4.2).
const MAX_FRAME: usize = 16_384;

/// A bound on a decoded header list (name + value + 32 per field, RFC 7541 section 4.1).
const MAX_HEADER_LIST: usize = 64 * 1024;

// Frame types and flags (RFC 9113 section 6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
// SETTINGS identifiers (section 6.5.2).
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

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
    out: Vec<u8>,
    input: Vec<u8>,
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
            out: PREFACE.to_vec(),
            input: Vec::new(),
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
        let mut settings = Vec::new();
        for (id, value) in [
            (SETTINGS_ENABLE_PUSH, 0),
            (SETTINGS_INITIAL_WINDOW_SIZE, WINDOW),
        ] {
            settings.extend_from_slice(&id.to_be_bytes());
            settings.extend_from_slice(&value.to_be_bytes());
        }
        load.frame(SETTINGS, 0, 0, &settings);
        // The connection's window starts at 65,535 whatever SETTINGS says (section 6.9.2).
        load.frame(WINDOW_UPDATE, 0, 0, &(WINDOW - 65_535).to_be_bytes());
        let page = load.page.clone();
        load.request(&page);
        load
    }

    /// Bytes to send now (empty when there are none).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
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
        loop {
            // The 9-octet frame header (section 4.1): length (24 bits), type, flags, stream.
            let Some(header) = self.input.get(..9) else {
                return Ok(());
            };
            let length =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let (kind, flags) = (header[3], header[4]);
            let stream =
                u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
            if length > MAX_FRAME {
                return Err(PageError::Malformed(format!(
                    "a frame of {length} octets, over the {MAX_FRAME} allowed"
                )));
            }
            if self.input.len() < 9 + length {
                return Ok(());
            }
            let payload: Vec<u8> = self.input.drain(..9 + length).skip(9).collect();
            self.frame_in(kind, flags, stream, &payload)?;
        }
    }

    fn frame_in(
        &mut self,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
    ) -> Result<(), PageError> {
        // Section 6.10: a header block is one HEADERS and its CONTINUATIONs, nothing between.
        if self.block.is_some() && kind != CONTINUATION {
            return Err(PageError::Malformed("a frame inside a header block".into()));
        }
        match kind {
            SETTINGS if flags & ACK == 0 => {
                for setting in payload.chunks_exact(6) {
                    let id = u16::from_be_bytes([setting[0], setting[1]]);
                    let value =
                        u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
                    if id == SETTINGS_MAX_CONCURRENT_STREAMS {
                        self.max_open = value as usize;
                    }
                }
                self.frame(SETTINGS, ACK, 0, &[]);
                self.ask_queued();
            }
            PING if flags & ACK == 0 => self.frame(PING, ACK, 0, payload),
            HEADERS => {
                let fragment = unpad(flags, payload, true)?;
                self.block = Some((stream, fragment.to_vec(), flags & END_STREAM != 0));
                if flags & END_HEADERS != 0 {
                    self.headers_done()?;
                }
            }
            CONTINUATION => {
                let Some((own, fragment, _)) = self.block.as_mut() else {
                    return Err(PageError::Malformed("CONTINUATION without HEADERS".into()));
                };
                if *own != stream || fragment.len() + payload.len() > MAX_HEADER_LIST {
                    return Err(PageError::Malformed("a CONTINUATION out of place".into()));
                }
                fragment.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    self.headers_done()?;
                }
            }
            DATA => {
                let data = unpad(flags, payload, false)?;
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
                open.body_len += data.len() as u64;
                if stream == 1 {
                    open.body.extend_from_slice(data);
                }
                if flags & END_STREAM != 0 {
                    self.complete(stream)?;
                }
            }
            RST_STREAM => {
                let code = payload
                    .get(..4)
                    .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                return Err(PageError::Reset { stream, code });
            }
            GOAWAY => {
                let code = payload
                    .get(4..8)
                    .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                if !self.open.is_empty() || self.finished().is_none() {
                    return Err(PageError::GoAway { code });
                }
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
        let block = request_block(path, crate::tls::SERVER_NAME);
        self.frame(HEADERS, END_STREAM | END_HEADERS, stream, &block);
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

    /// Queues one frame (section 4.1).
    fn frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let length = payload.len() as u32;
        self.out.extend_from_slice(&length.to_be_bytes()[1..]);
        self.out.extend_from_slice(&[kind, flags]);
        self.out.extend_from_slice(&stream.to_be_bytes());
        self.out.extend_from_slice(payload);
    }
}

/// The HPACK block of `GET https://authority/path` (RFC 7541): `:method GET` (static index 2)
/// and `:scheme https` (index 7) indexed (section 6.1), `:path` (name index 4) and `:authority`
/// (name index 1) as literals without indexing (section 6.2.2), raw strings (no Huffman).
pub fn request_block(path: &str, authority: &str) -> Vec<u8> {
    let mut block = vec![0x80 | 2, 0x80 | 7];
    for (name_index, value) in [(4, path), (1, authority)] {
        // `0000` then the name's index in a 4-bit prefix; then H=0 and the length (7-bit prefix).
        integer(&mut block, 0x00, 4, name_index);
        integer(&mut block, 0x00, 7, value.len());
        block.extend_from_slice(value.as_bytes());
    }
    block
}

/// An HPACK integer (RFC 7541 section 5.1) with a `prefix`-bit prefix, the octet's other bits
/// `high`.
fn integer(out: &mut Vec<u8>, high: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push((rest % 0x80) as u8 | 0x80);
        rest /= 0x80;
    }
    out.push(rest as u8);
}

/// A HEADERS or DATA payload without its padding (section 6.1: "If the length of the padding
/// is the length of the frame payload or greater, the recipient MUST treat this as a connection
/// error") and, for HEADERS, without the priority fields (section 6.2).
fn unpad(flags: u8, payload: &[u8], headers: bool) -> Result<&[u8], PageError> {
    let mut body = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        let (&length, rest) = body
            .split_first()
            .ok_or_else(|| PageError::Malformed("PADDED frame without a pad length".into()))?;
        pad = usize::from(length);
        body = rest;
    }
    if headers && flags & PRIORITY != 0 {
        body = body
            .get(5..)
            .ok_or_else(|| PageError::Malformed("HEADERS too short for its priority".into()))?;
    }
    if pad > body.len() {
        return Err(PageError::Malformed("padding longer than the frame".into()));
    }
    Ok(&body[..body.len() - pad])
}
