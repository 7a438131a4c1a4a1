//! The first bytes an HTTP/2 client sends, read with the protocol crate's own frame and HPACK
//! decoders and written out byte by byte, for the book.
//!
//! With prior knowledge (h2c) or after ALPN chose `h2`, a client opens with the connection
//! preface (RFC 9113 section 3.4), the 24 octets `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, then
//! frames, each a 9-octet header and a payload (section 4.1):
//!
//! ```text
//! +-----------------------------------------------+
//! |                 Length (24)                   |
//! +---------------+---------------+---------------+
//! |   Type (8)    |   Flags (8)   |
//! +-+-------------+---------------+-------------------------------+
//! |R|                 Stream Identifier (31)                      |
//! +=+=============================================================+
//! |                   Frame Payload (0...)                      ...
//! +---------------------------------------------------------------+
//! ```
//!
//! Nothing here decodes a frame or a field itself: [`protocol::h2::frame::split_frame`] cuts the
//! frames and checks them, and [`protocol::h2::hpack::Decoder`] decodes the field blocks. To
//! show which bytes make which field, the page decodes each block one representation at a
//! time: the shortest prefix of the block that decodes to one more field ends a representation
//! (a decoder clone tries each prefix, so the dynamic table stays what the real decode makes).

use std::fmt::Write as _;

use bytes::BytesMut;
use protocol::h2::frame::{self, flags, Frame};
use protocol::h2::hpack::{integer, Decoder, Field, DEFAULT_TABLE_SIZE};

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the capture holds, as the page shows it.
#[derive(Debug)]
pub struct Opening {
    /// The frames after the preface, in order, with the bytes each took on the wire.
    pub frames: Vec<(Frame, Vec<u8>)>,
    /// For each HEADERS frame: its representations (the bytes of each and the field it gave).
    pub blocks: Vec<Vec<(Vec<u8>, Field)>>,
}

/// Why a capture cannot be read.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// The capture does not start with the preface.
    NoPreface,
    /// A frame the frame layer refused, with its error.
    Frame(String),
    /// A field block the HPACK decoder refused.
    Hpack(String),
    /// The bytes end inside a frame.
    Truncated { at: usize },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoPreface => f.write_str("the capture does not start with the HTTP/2 preface"),
            Error::Frame(error) => write!(f, "a frame the frame layer refuses: {error}"),
            Error::Hpack(error) => write!(f, "a field block HPACK refuses: {error}"),
            Error::Truncated { at } => write!(f, "the bytes end inside a frame (at byte {at})"),
        }
    }
}

/// Reads the preface and every whole frame of `capture`.
pub fn parse(capture: &[u8]) -> Result<Opening, Error> {
    let rest = capture.strip_prefix(PREFACE).ok_or(Error::NoPreface)?;
    let mut input = BytesMut::from(rest);
    let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
    let mut opening = Opening {
        frames: Vec::new(),
        blocks: Vec::new(),
    };
    let mut at = PREFACE.len();
    while !input.is_empty() {
        let before = input.len();
        let Some(frame) = frame::split_frame(&mut input, frame::LARGEST_FRAME_SIZE)
            .map_err(|error| Error::Frame(error.to_string()))?
        else {
            return Err(Error::Truncated { at });
        };
        let taken = before - input.len();
        let wire = capture[at..at + taken].to_vec();
        at += taken;
        if let Frame::Headers(headers) = &frame {
            opening
                .blocks
                .push(representations(&mut decoder, &headers.fragment)?);
        }
        opening.frames.push((frame, wire));
    }
    Ok(opening)
}

// ANCHOR: representations
/// Splits a field block into its representations by decoding ever longer prefixes: a prefix
/// that decodes to one more field than the last boundary ends a representation.
fn representations(decoder: &mut Decoder, block: &[u8]) -> Result<Vec<(Vec<u8>, Field)>, Error> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < block.len() {
        let mut found = None;
        for end in start + 1..=block.len() {
            let mut trial = decoder.clone();
            let mut fields = Vec::new();
            if trial
                .decode(&block[start..end], usize::MAX, &mut fields)
                .is_ok()
                && !fields.is_empty()
            {
                found = Some((end, trial, fields));
                break;
            }
        }
        let Some((end, trial, mut fields)) = found else {
            // The whole block, decoded for real, says why.
            let mut fields = Vec::new();
            let error = decoder.decode(&block[start..], usize::MAX, &mut fields);
            return Err(Error::Hpack(format!(
                "{error:?} at byte {start} of the block"
            )));
        };
        *decoder = trial;
        // A prefix that completes one representation yields exactly one field (a size update
        // yields none and is folded into the next).
        let field = fields.remove(0);
        out.push((block[start..end].to_vec(), field));
        start = end;
    }
    Ok(out)
}
// ANCHOR_END: representations

/// The page the book includes: every byte of the capture, with what it means.
pub fn document(capture: &[u8], client: &str, command: &str) -> Result<String, Error> {
    let opening = parse(capture)?;
    let mut page = String::new();
    let _ = writeln!(
        page,
        "<!-- written by `{command}`: edit the program, not this page -->\n"
    );
    let _ = writeln!(
        page,
        "The first {} bytes {client} sent, read by the protocol crate's frame and HPACK decoders:\n",
        capture.len()
    );
    let _ = writeln!(page, "| bytes | what they say |\n|---|---|");
    let _ = writeln!(
        page,
        "| `{}` | the connection preface, `PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n` (24 bytes) |",
        hex(PREFACE)
    );
    let mut blocks = opening.blocks.iter();
    for (frame, wire) in &opening.frames {
        let header = frame::Header::parse(
            wire[..frame::HEADER_LEN]
                .try_into()
                .expect("split_frame returned a whole frame, so it has its 9-byte header"),
        );
        let kind = header.kind.name().unwrap_or("an unknown type");
        let _ = writeln!(
            page,
            "| `{}` | **{kind}** frame header: length {}, type {:#04x}, flags {}, stream {} |",
            hex(&wire[..frame::HEADER_LEN]),
            header.length,
            header.kind.0,
            flag_names(&header),
            header.stream
        );
        let payload = &wire[frame::HEADER_LEN..];
        match frame {
            Frame::Settings(settings) => {
                for (chunk, (id, value)) in payload.chunks(6).zip(&settings.parameters) {
                    let name = id.name().unwrap_or("an unknown setting");
                    let _ = writeln!(page, "| `{}` | {name} = {value} |", hex(chunk));
                }
            }
            Frame::WindowUpdate(update) => {
                let _ = writeln!(
                    page,
                    "| `{}` | window increment {} on stream {}: that window grows from the initial 65535 to {} bytes |",
                    hex(payload),
                    update.increment,
                    update.stream,
                    u64::from(update.increment) + 65535
                );
            }
            Frame::Headers(_) => {
                for (bytes, field) in blocks.next().into_iter().flatten() {
                    let _ = writeln!(
                        page,
                        "| `{}` | {}: `{}: {}` |",
                        hex(bytes),
                        representation(bytes),
                        String::from_utf8_lossy(&field.name),
                        String::from_utf8_lossy(&field.value)
                    );
                }
            }
            _ => {
                if !payload.is_empty() {
                    let _ = writeln!(page, "| `{}` | payload |", hex(payload));
                }
            }
        }
    }
    Ok(page)
}

/// What kind of representation (RFC 7541 section 6) a field's first byte announces, and where
/// its name comes from.
fn representation(bytes: &[u8]) -> String {
    let first = bytes.first().copied().unwrap_or(0);
    let (kind, prefix) = match first {
        0x80..=0xff => ("indexed field", 7),
        0x40..=0x7f => ("literal, added to the table", 6),
        0x10..=0x1f => ("literal, never indexed", 4),
        0x20..=0x3f => ("table size update", 5),
        _ => ("literal, not added to the table", 4),
    };
    let mut rest = bytes;
    let index = integer::decode(&mut rest, prefix).unwrap_or(0);
    let huffman = |string: &[u8]| string.first().is_some_and(|b| b & 0x80 != 0);
    match (first >= 0x80, index) {
        (true, index) => format!("{kind}, table entry {index}"),
        (false, 0) => format!(
            "{kind}, the name written out{}",
            if huffman(rest) { " (Huffman)" } else { "" }
        ),
        (false, index) => {
            let value = if huffman(rest) {
                "the value Huffman-coded"
            } else {
                "the value as is"
            };
            format!("{kind}, the name from table entry {index}, {value}")
        }
    }
}

fn flag_names(header: &frame::Header) -> String {
    let mut names = Vec::new();
    let known: &[(u8, &str)] = match header.kind {
        frame::Kind::SETTINGS | frame::Kind::PING => &[(flags::ACK, "ACK")],
        frame::Kind::HEADERS => &[
            (flags::END_STREAM, "END_STREAM"),
            (flags::END_HEADERS, "END_HEADERS"),
            (flags::PADDED, "PADDED"),
            (flags::PRIORITY, "PRIORITY"),
        ],
        frame::Kind::DATA => &[(flags::END_STREAM, "END_STREAM"), (flags::PADDED, "PADDED")],
        _ => &[],
    };
    for &(flag, name) in known {
        if header.has(flag) {
            names.push(name);
        }
    }
    match names.is_empty() {
        true => format!("{:#04x} (none)", header.flags),
        false => format!("{:#04x} ({})", header.flags, names.join(" + ")),
    }
}

/// The bytes in hex, a space between bytes so that a long run can wrap in a narrow column.
fn hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    pairs.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::h2::frame::SettingId;

    #[test]
    fn a_setting_id_has_a_name() {
        assert_eq!(
            SettingId(0x3).name(),
            Some("SETTINGS_MAX_CONCURRENT_STREAMS")
        );
    }

    #[test]
    fn no_preface_is_an_error() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n").unwrap_err(), Error::NoPreface);
    }
}
