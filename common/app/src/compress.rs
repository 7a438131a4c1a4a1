//! Content codings: which one a client gets (RFC 9110 section 12.5.3), and gzip (RFC 1952) and
//! brotli (RFC 7932) encoders, in memory and streamed.
//!
//! A response is compressed only where it pays:
//!
//! - the media type must be one that compresses: text, JavaScript, JSON, XML, SVG, WebAssembly
//!   and fonts without compression of their own ([`compressible`]). JPEG, PNG, WOFF2, zip or
//!   video are compressed already: gzip would burn CPU to make them a few bytes *larger*;
//! - the body must be at least [`CompressOptions::min_len`] bytes (1 KiB by default): below that
//!   the answer fits in one packet either way, and gzip's own header and trailer (18 bytes)
//!   and brotli's block overhead eat what little is saved.
//!
//! Levels are chosen for a response made while the client waits: gzip level 4 and brotli
//! quality 4. On text both are a few times faster than their defaults (gzip 6, brotli 11) and
//! within a few percent of gzip 6's size; brotli 11 is a hundred times slower and only worth it
//! once, ahead of time, for a precompressed `.br` sibling (`brotli -q 11 file`), which the
//! static files serve straight from disk when it is there.
//!
//! A large body is compressed as it is sent ([`CompressedStream`]): the file is read in pieces
//! of [`STREAM_READ`] bytes, each is fed to the encoder and what comes out goes to the client,
//! so memory stays bounded (one read buffer, the encoder's window) whatever the file's size.
//! The length of such a body is not known in advance: HTTP/1.1 sends it chunked, HTTP/2 as DATA
//! frames until END_STREAM.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use protocol::{Body, Request, Response, StatusCode};

/// A content coding this server can send (RFC 9110 section 8.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// No coding: the bytes as they are.
    Identity,
    /// gzip (RFC 1952): understood by every client.
    Gzip,
    /// brotli (RFC 7932): smaller than gzip on text at the same speed; every current browser
    /// sends it in `Accept-Encoding` (over HTTPS; most send it over plain HTTP too).
    Brotli,
}

impl Encoding {
    /// Every coding, in the order the server prefers them when a client rates them the same:
    /// the smallest output first.
    pub const PREFERENCE: [Encoding; 3] = [Encoding::Brotli, Encoding::Gzip, Encoding::Identity];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }

    /// The extension of a precompressed sibling file (`style.css.gz`, `style.css.br`), as
    /// nginx's `gzip_static` and `brotli_static` name them.
    pub fn sibling_extension(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gz"),
            Encoding::Brotli => Some("br"),
        }
    }

    fn bit(self) -> u8 {
        match self {
            Encoding::Identity => 1,
            Encoding::Gzip => 2,
            Encoding::Brotli => 4,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// A set of codings: what a response could be sent in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encodings(u8);

impl Encodings {
    /// Identity only: a representation that does not depend on `Accept-Encoding`.
    pub const IDENTITY: Encodings = Encodings(1);
    /// Everything this server can encode.
    pub const ALL: Encodings = Encodings(7);

    /// This set with `encoding` added.
    pub fn with(self, encoding: Encoding) -> Encodings {
        Encodings(self.0 | encoding.bit())
    }

    /// Whether `encoding` is in the set.
    pub fn contains(self, encoding: Encoding) -> bool {
        self.0 & encoding.bit() != 0
    }

    /// Whether any coding other than identity is in the set: then the response depends on
    /// `Accept-Encoding`, and must say so with `Vary`.
    pub fn varies(self) -> bool {
        self.0 & !Encoding::Identity.bit() != 0
    }
}

/// What `Accept-Encoding` leaves the server to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negotiated {
    /// Send the representation in this coding.
    Use(Encoding),
    /// The client refused every coding on offer, identity included (`identity;q=0` or
    /// `*;q=0` without a better-rated coding we have). RFC 9110 section 12.5.3 lets the server
    /// answer 406 or ignore the field; static files answer 406, generated bodies go unencoded.
    NotAcceptable,
}

// ANCHOR: negotiate
/// Picks the coding for a request whose `Accept-Encoding` lines are `field` (every line of the
/// field: a list may be split over several), among `available` (identity is always among them).
///
/// The rules of RFC 9110 section 12.5.3, in order:
///
/// 1. no `Accept-Encoding` at all: any coding is acceptable, but nothing says the client can
///    decode one, so identity (what every server does);
/// 2. a coding's weight is its own `q`, else that of `*`, else 0 (not acceptable), except that
///    identity, when neither it nor `*` is listed, is acceptable at the lowest rank: it is
///    refused only by `identity;q=0` or `*;q=0`;
/// 3. `q=0` means "not acceptable"; of the rest the highest `q` wins, and between equal `q`s
///    the server's preference ([`Encoding::PREFERENCE`]: br, gzip, identity);
/// 4. nothing acceptable: [`Negotiated::NotAcceptable`].
///
/// Coding names are case-insensitive, and `x-gzip` is gzip (section 8.4.1.3). An element that
/// does not parse (a `q` that is not a qvalue) is skipped, not taken as a refusal.
pub fn negotiate<'a>(
    field: impl IntoIterator<Item = &'a [u8]>,
    available: Encodings,
) -> Negotiated {
    let mut lines = field.into_iter().peekable();
    if lines.peek().is_none() {
        return Negotiated::Use(Encoding::Identity);
    }
    // Weights in thousandths (a qvalue has at most three decimals), None when not listed.
    let mut listed: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    for line in lines {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        for element in line.split(',') {
            let mut parts = element.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if coding.is_empty() {
                continue;
            }
            let Some(weight) = weight(parts) else {
                continue;
            };
            let slot = match coding {
                "*" => &mut star,
                c if c.eq_ignore_ascii_case("br") => &mut listed[2],
                c if c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip") => {
                    &mut listed[1]
                }
                c if c.eq_ignore_ascii_case("identity") => &mut listed[0],
                // A coding we do not have (deflate, zstd, compress): nothing to weigh.
                _ => continue,
            };
            // Listed twice: the better rating counts, which is what a client meant by
            // repeating itself, if anything.
            *slot = Some(slot.map_or(weight, |old| old.max(weight)));
        }
    }
    let mut best: Option<(u16, Encoding)> = None;
    for encoding in Encoding::PREFERENCE {
        if !available.contains(encoding) {
            continue;
        }
        let index = match encoding {
            Encoding::Identity => 0,
            Encoding::Gzip => 1,
            Encoding::Brotli => 2,
        };
        let weight = match (listed[index], star, encoding) {
            (Some(weight), _, _) => weight,
            (None, Some(weight), _) => weight,
            // Rule 2's exception: below any listed coding, but acceptable.
            (None, None, Encoding::Identity) => 0,
            (None, None, _) => continue,
        };
        let refused = weight == 0 && (listed[index].is_some() || star.is_some());
        if refused {
            continue;
        }
        // PREFERENCE is walked best first, so only a strictly higher weight displaces.
        if best.is_none_or(|(best_weight, _)| weight > best_weight) {
            best = Some((weight, encoding));
        }
    }
    match best {
        Some((_, encoding)) => Negotiated::Use(encoding),
        None => Negotiated::NotAcceptable,
    }
}
// ANCHOR_END: negotiate

/// The weight of one `Accept-Encoding` element from its parameters, in thousandths: 1000
/// without `q`, None when `q` is not a qvalue.
///
/// ```text
/// weight = OWS ";" OWS "q=" qvalue
/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
/// ```
fn weight<'a>(parameters: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for parameter in parameters {
        // A parameter without `=` is malformed: the whole coding is ignored.
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            // Accept-Encoding has no other parameters; ignore any a client invents.
            continue;
        }
        weight = qvalue(value.trim())?;
    }
    Some(weight)
}

fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether a body of media type `content_type` is worth compressing: text and the text-like
/// application types, SVG, and the font formats that carry no compression of their own.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("text/") {
        return true;
    }
    matches!(
        essence.as_str(),
        "application/javascript"
            | "application/json"
            | "application/xml"
            | "application/xhtml+xml"
            | "application/rss+xml"
            | "application/atom+xml"
            | "application/manifest+json"
            | "application/ld+json"
            | "application/wasm"
            | "application/x-javascript"
            | "image/svg+xml"
            | "image/x-icon"
            | "image/vnd.microsoft.icon"
            | "image/bmp"
            | "font/ttf"
            | "font/otf"
            | "application/vnd.ms-fontobject"
    ) || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

// ANCHOR: options
/// How responses are compressed. `Default` is what the server does without flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressOptions {
    /// Compress while answering (gzip and brotli). Off, only precompressed siblings are sent
    /// encoded. Default on.
    pub on_the_fly: bool,
    /// Serve `FILE.br` / `FILE.gz` beside `FILE` when the client accepts that coding and the
    /// sibling is not older than the file. Default on. Costs up to two extra opens for a
    /// compressible file asked for by a client that accepts a coding.
    pub precompressed: bool,
    /// Bodies shorter than this are never compressed on the fly. Default 1024 bytes: below
    /// it the response fits in one packet either way.
    pub min_len: u64,
    /// gzip level, 0 (store) to 9 (smallest). Default 4: see the module doc.
    pub gzip_level: u32,
    /// brotli quality, 0 to 11. Default 4: see the module doc.
    pub brotli_quality: u32,
}

impl Default for CompressOptions {
    fn default() -> CompressOptions {
        CompressOptions {
            on_the_fly: true,
            precompressed: true,
            min_len: 1024,
            gzip_level: 4,
            brotli_quality: 4,
        }
    }
}
// ANCHOR_END: options

/// brotli's window for on-the-fly compression: 2^20 bytes. A larger window finds matches
/// further back, which helps only files of many MiB, and the encoder's memory grows with it;
/// this bounds a streamed response's encoder to a few MiB.
const BROTLI_WINDOW_BITS: u32 = 20;

/// How much of a file a streamed response reads, and compresses, at a time.
pub const STREAM_READ: usize = 64 * 1024;

/// Compresses `content` whole, in memory.
pub fn compress(content: &[u8], encoding: Encoding, options: &CompressOptions) -> Bytes {
    let mut encoder = Encoder::new(encoding, options, content.len() / 3);
    encoder.write(content);
    encoder.finish()
}

/// An encoder that writes into a buffer we take from as it fills.
enum Encoder {
    Identity(Vec<u8>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    fn new(encoding: Encoding, options: &CompressOptions, capacity: usize) -> Encoder {
        let buffer = Vec::with_capacity(capacity);
        match encoding {
            Encoding::Identity => Encoder::Identity(buffer),
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                buffer,
                flate2::Compression::new(options.gzip_level.min(9)),
            )),
            Encoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                buffer,
                // brotli's own internal buffer; 4 KiB is its usual size.
                4096,
                options.brotli_quality.min(11),
                BROTLI_WINDOW_BITS,
            ))),
        }
    }

    /// Feeds `input`. The sinks are `Vec`s, which never fail to take bytes, so neither can
    /// the encoders writing into them: the `io::Result`s are always `Ok`.
    fn write(&mut self, input: &[u8]) {
        let _infallible = match self {
            Encoder::Identity(buffer) => {
                buffer.extend_from_slice(input);
                Ok(())
            }
            Encoder::Gzip(encoder) => encoder.write_all(input),
            Encoder::Brotli(encoder) => encoder.write_all(input),
        };
    }

    /// Makes brotli give out what it has compressed so far. Its encoder otherwise holds the
    /// output of up to a whole meta-block (megabytes of input at these settings), so a
    /// streamed 100 KiB file would reach the client only at its end. A flush per
    /// [`STREAM_READ`] costs a meta-block header and a little ratio (the window is kept, so
    /// matches still reach back across a flush; only the block's statistics start again);
    /// gzip's deflate blocks come out on their own, so it is not flushed.
    fn flush_brotli(&mut self) {
        if let Encoder::Brotli(encoder) = self {
            // Into a Vec: cannot fail (see `write`).
            let _infallible = encoder.flush();
        }
    }

    /// What the encoder has produced so far, taken out of its buffer.
    fn take(&mut self) -> Bytes {
        let buffer = match self {
            Encoder::Identity(buffer) => buffer,
            Encoder::Gzip(encoder) => encoder.get_mut(),
            Encoder::Brotli(encoder) => encoder.get_mut(),
        };
        Bytes::from(std::mem::take(buffer))
    }

    /// Ends the stream (gzip's trailer, brotli's last block) and returns what is left.
    fn finish(self) -> Bytes {
        match self {
            Encoder::Identity(buffer) => Bytes::from(buffer),
            // Writing the trailer into a Vec cannot fail (see `write`); an empty result would
            // only show a bug as a truncated body, which the client detects.
            Encoder::Gzip(encoder) => Bytes::from(encoder.finish().unwrap_or_default()),
            Encoder::Brotli(encoder) => Bytes::from(encoder.into_inner()),
        }
    }
}

// ANCHOR: stream
/// A file region compressed as it is sent: the iterator behind a `Body::Stream`.
///
/// Each `next` reads up to [`STREAM_READ`] bytes with `pread` (the file's offset is never
/// moved, so the descriptor may be shared) and returns what the encoder made of them; an
/// encoder may hold its output back until it has seen more, so `next` reads on until it has
/// something to give, or the file ends and the encoder's last bytes follow. Nothing is read
/// before the first `next`: a HEAD, whose body the protocol layer drops, costs no compression.
pub struct CompressedStream {
    file: Arc<File>,
    offset: u64,
    remaining: u64,
    encoder: Option<Encoder>,
    buffer: Vec<u8>,
}

impl CompressedStream {
    /// Compresses `len` bytes of `file` from `offset`.
    pub fn new(
        file: Arc<File>,
        offset: u64,
        len: u64,
        encoding: Encoding,
        options: &CompressOptions,
    ) -> CompressedStream {
        CompressedStream {
            file,
            offset,
            remaining: len,
            encoder: Some(Encoder::new(encoding, options, STREAM_READ / 2)),
            buffer: Vec::new(),
        }
    }
}

impl Iterator for CompressedStream {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            if self.remaining == 0 {
                let last = self.encoder.take()?.finish();
                return Some(Ok(last));
            }
            // The stream ended abruptly before (an error was returned): nothing more.
            self.encoder.as_ref()?;
            let want = self.remaining.min(STREAM_READ as u64) as usize;
            self.buffer.resize(want, 0);
            if let Err(error) = self.file.read_exact_at(&mut self.buffer, self.offset) {
                // The file shrank, or the disk failed: end the body abruptly, so that the
                // client sees an incomplete response rather than a wrong one.
                self.encoder = None;
                return Some(Err(error));
            }
            self.offset += want as u64;
            self.remaining -= want as u64;
            let encoder = self.encoder.as_mut()?;
            encoder.write(&self.buffer);
            encoder.flush_brotli();
            let out = encoder.take();
            if !out.is_empty() {
                return Some(Ok(out));
            }
        }
    }
}
// ANCHOR_END: stream

// ANCHOR: compress_response
/// Compresses a generated response (a route's text, JSON or HTML in memory) when the request
/// accepts a coding and the body is worth it: an after-step for a middleware chain.
///
/// Left as they are: bodies that are not in memory (files, streams: the static files decide
/// those themselves), responses already carrying `Content-Encoding`, statuses without content,
/// types that do not compress, bodies under `min_len`, and 206s (their `Content-Range` counts
/// bytes of the unencoded body). A body that could have been compressed gets
/// `Vary: Accept-Encoding` whether or not this client took it, so that a cache keeps the two
/// apart. When nothing is acceptable the response goes out unencoded rather than as a 406: a
/// generated page (an error above all) is more use to the client than a refusal.
///
/// An `ETag` on the response is made weak and given the coding's suffix, as the static files
/// do for the bodies they compress on the fly.
pub fn compress_response(
    request: &Request,
    mut response: Response,
    options: &CompressOptions,
) -> Response {
    if !options.on_the_fly
        || response.status.forbids_body()
        || response.status == StatusCode::PARTIAL_CONTENT
        || response.status == StatusCode::NOT_MODIFIED
        || response.headers.contains("content-encoding")
    {
        return response;
    }
    let Body::Bytes(content) = &response.body else {
        return response;
    };
    let content = content.clone();
    let compressible_type = response
        .headers
        .get_str("content-type")
        .is_some_and(compressible);
    if !compressible_type || (content.len() as u64) < options.min_len {
        return response;
    }
    add_vary(&mut response);
    let encoding = match negotiate(request.headers.get_all("accept-encoding"), Encodings::ALL) {
        Negotiated::Use(Encoding::Identity) | Negotiated::NotAcceptable => return response,
        Negotiated::Use(encoding) => encoding,
    };
    let compressed = compress(&content, encoding, options);
    if compressed.len() >= content.len() {
        // Text that does not shrink (already dense): sending it as it is costs the client less.
        return response;
    }
    response.body = Body::Bytes(compressed);
    response
        .headers
        .append("content-encoding", encoding.token());
    if let Some(etag) = response.headers.get_str("etag") {
        let tagged = encoded_etag(etag, encoding, true);
        response.headers.set("etag", tagged);
    }
    response
}
// ANCHOR_END: compress_response

/// Adds `Vary: Accept-Encoding` unless the response already varies on it (or on everything).
pub fn add_vary(response: &mut Response) {
    let already = response.headers.get_all("vary").any(|line| {
        std::str::from_utf8(line).is_ok_and(|line| {
            line.split(',')
                .map(str::trim)
                .any(|name| name == "*" || name.eq_ignore_ascii_case("accept-encoding"))
        })
    });
    if !already {
        response.headers.append("vary", "accept-encoding");
    }
}

/// The entity-tag of `etag`'s representation in `encoding`: the coding's token before the
/// closing quote (`"abc"` becomes `"abc-gzip"`), weak when `weak` (bytes compressed on the
/// fly may differ from one version of the encoder to the next, so they are not promised
/// byte-for-byte; RFC 9110 section 8.8.3).
pub fn encoded_etag(etag: &str, encoding: Encoding, weak: bool) -> String {
    if encoding == Encoding::Identity {
        return etag.to_owned();
    }
    let opaque = etag.trim_start_matches("W/");
    let inner = opaque
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(opaque);
    let weak = weak || etag.starts_with("W/");
    format!(
        "{}\"{inner}-{}\"",
        if weak { "W/" } else { "" },
        encoding.token()
    )
}

#[cfg(test)]
mod tests;
