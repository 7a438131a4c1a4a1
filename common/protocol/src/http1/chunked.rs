//! The chunked transfer coding (RFC 9112 section 7.1), decoded strictly and encoded simply.
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! The decoder is a byte-at-a-time state machine whose states are named after positions in that
//! grammar, so it can stop at any byte and resume when more arrive. It is strict where leniency
//! has caused request smuggling: every line must end in CRLF (a bare LF is an error), the size
//! must have at least one and at most 16 hex digits (so it fits in a `u64`), and extensions and
//! trailers are capped. Extensions are read and thrown away: this server gives them no meaning.

use super::error::RequestError;
use crate::message::Headers;

/// Chunk sizes longer than this many hex digits would overflow a `u64`.
const MAX_SIZE_DIGITS: u32 = 16;

// ANCHOR: chunked_state
/// Where the decoder is in the chunked-body grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of chunk-size.
    Size,
    /// Whitespace after the size; only `;` may follow (BWS before a chunk-ext).
    SizeWhitespace,
    /// Inside chunk-ext, up to the CR.
    Extension,
    /// After the CR that ends a size line; only LF may follow.
    SizeLf,
    /// Inside chunk-data, with this many bytes left.
    Data(u64),
    /// After chunk-data; only CR may follow.
    DataCr,
    /// After that CR; only LF may follow.
    DataLf,
    /// After the last chunk: collecting the trailer section up to its empty line.
    Trailers,
    /// The whole body has been read.
    Done,
}
// ANCHOR_END: chunked_state

/// Outcome of feeding bytes to the decoder.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All input was used; more is needed.
    NeedMore,
    /// The body ended; this many bytes of the input belonged to it (the rest is the next request).
    Done(usize),
}

/// A decoder for one chunked body.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    size_digits: u32,
    extension_bytes: usize,
    max_extension_bytes: usize,
    received: u64,
    max_body: u64,
    trailer_bytes: Vec<u8>,
    max_trailer_bytes: usize,
    max_trailer_fields: usize,
    trailers: Headers,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies over `max_body` bytes, extensions over
    /// `max_extension_bytes` in total and trailers over `max_trailer_bytes` or
    /// `max_trailer_fields` fields.
    pub fn new(
        max_body: u64,
        max_extension_bytes: usize,
        max_trailer_bytes: usize,
        max_trailer_fields: usize,
    ) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            size_digits: 0,
            extension_bytes: 0,
            max_extension_bytes,
            received: 0,
            max_body,
            trailer_bytes: Vec::new(),
            max_trailer_bytes,
            max_trailer_fields,
            trailers: Headers::new(),
        }
    }

    /// The trailer fields, once the body is done.
    pub fn take_trailers(&mut self) -> Headers {
        std::mem::take(&mut self.trailers)
    }

    // ANCHOR: chunked_decode
    /// Decodes as much of `input` as possible, appending chunk data to `body`.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Progress, RequestError> {
        let mut i = 0;
        while i < input.len() {
            let byte = input[i];
            match self.state {
                State::Size => match byte {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        self.size_digits += 1;
                        if self.size_digits > MAX_SIZE_DIGITS {
                            return Err(RequestError::MalformedChunk(
                                "chunk size has more than 16 hex digits",
                            ));
                        }
                        // Cannot overflow: at most 16 hex digits, checked just above.
                        self.size = self.size << 4 | hex_value(byte);
                    }
                    _ if self.size_digits == 0 => {
                        return Err(RequestError::MalformedChunk("chunk size has no hex digits"))
                    }
                    b' ' | b'\t' => self.state = State::SizeWhitespace,
                    b';' => self.state = State::Extension,
                    b'\r' => self.state = State::SizeLf,
                    _ => {
                        return Err(RequestError::MalformedChunk(
                            "invalid byte after chunk size",
                        ))
                    }
                },
                State::SizeWhitespace => match byte {
                    b' ' | b'\t' => {}
                    b';' => self.state = State::Extension,
                    _ => {
                        return Err(RequestError::MalformedChunk(
                            "whitespace after chunk size not followed by ';'",
                        ))
                    }
                },
                State::Extension => match byte {
                    b'\r' => self.state = State::SizeLf,
                    b'\n' => {
                        return Err(RequestError::MalformedChunk("chunk line ends in a bare LF"))
                    }
                    0x00..=0x08 | 0x0a..=0x1f | 0x7f => {
                        return Err(RequestError::MalformedChunk(
                            "control character in chunk extension",
                        ))
                    }
                    _ => {
                        self.extension_bytes += 1;
                        if self.extension_bytes > self.max_extension_bytes {
                            return Err(RequestError::ChunkExtensionsTooLong);
                        }
                    }
                },
                State::SizeLf => {
                    if byte != b'\n' {
                        return Err(RequestError::MalformedChunk(
                            "chunk size line does not end in CRLF",
                        ));
                    }
                    if self.size == 0 {
                        self.state = State::Trailers;
                    } else {
                        // Checked before reading the data, so a huge declared chunk is refused
                        // without buffering any of it.
                        if self.received.saturating_add(self.size) > self.max_body {
                            return Err(RequestError::BodyTooLarge);
                        }
                        self.state = State::Data(self.size);
                    }
                    self.size = 0;
                    self.size_digits = 0;
                }
                State::Data(remaining) => {
                    let available = (input.len() - i) as u64;
                    let take = remaining.min(available) as usize;
                    body.extend_from_slice(&input[i..i + take]);
                    self.received += take as u64;
                    i += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                    continue;
                }
                State::DataCr => {
                    if byte != b'\r' {
                        return Err(RequestError::MalformedChunk(
                            "chunk data is not followed by CRLF",
                        ));
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if byte != b'\n' {
                        return Err(RequestError::MalformedChunk(
                            "chunk data is not followed by CRLF",
                        ));
                    }
                    self.state = State::Size;
                }
                State::Trailers => {
                    self.trailer_bytes.push(byte);
                    if self.trailer_bytes.len() > self.max_trailer_bytes {
                        return Err(RequestError::TrailersTooLarge);
                    }
                    if byte == b'\n' && self.trailers_complete()? {
                        self.state = State::Done;
                        return Ok(Progress::Done(i + 1));
                    }
                }
                State::Done => return Ok(Progress::Done(i)),
            }
            i += 1;
        }
        Ok(Progress::NeedMore)
    }
    // ANCHOR_END: chunked_decode

    /// Whether the collected trailer bytes end the trailer section, parsing them if so.
    fn trailers_complete(&mut self) -> Result<bool, RequestError> {
        let bytes = &self.trailer_bytes;
        if !bytes.ends_with(b"\n") {
            return Ok(false);
        }
        if !bytes.ends_with(b"\r\n") {
            return Err(RequestError::MalformedChunk(
                "trailer line ends in a bare LF",
            ));
        }
        // The section ends at an empty line: either it is the very first line, or CRLF CRLF.
        if bytes.as_slice() != b"\r\n" && !bytes.ends_with(b"\r\n\r\n") {
            return Ok(false);
        }
        let mut fields = vec![httparse::EMPTY_HEADER; self.max_trailer_fields];
        match httparse::parse_headers(bytes, &mut fields) {
            Ok(httparse::Status::Complete((_, parsed))) => {
                let mut trailers = Headers::with_capacity(parsed.len(), bytes.len());
                for field in parsed {
                    trailers.append(field.name, field.value);
                }
                self.trailers = trailers;
                Ok(true)
            }
            Ok(httparse::Status::Partial) => Ok(false),
            Err(httparse::Error::TooManyHeaders) => Err(RequestError::TrailersTooLarge),
            Err(_) => Err(RequestError::MalformedChunk("malformed trailer field")),
        }
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

fn hex_value(byte: u8) -> u64 {
    match byte {
        b'0'..=b'9' => (byte - b'0') as u64,
        b'a'..=b'f' => (byte - b'a' + 10) as u64,
        _ => (byte - b'A' + 10) as u64,
    }
}

// ANCHOR: chunked_encode
/// Appends one chunk carrying `data` to `out`. Empty data is skipped: an empty chunk would be
/// the last-chunk and end the body.
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last-chunk and the empty trailer section that end every chunked body this server sends.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
// ANCHOR_END: chunked_encode

/// Decodes arbitrary input in two pieces, for the fuzz target `chunked` (common/fuzz): the first
/// byte says where to split the rest. Checks that the decoder never panics and never produces
/// more body than it was given.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let mut decoder = ChunkedDecoder::new(1 << 20, 16 * 1024, 16 * 1024, 100);
    let mut body = Vec::new();
    if let Ok(Progress::NeedMore) = decoder.decode(&rest[..split], &mut body) {
        let _ = decoder.decode(&rest[split..], &mut body);
    }
    assert!(body.len() <= rest.len());
}

#[cfg(test)]
mod tests;
