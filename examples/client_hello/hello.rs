//! A TLS ClientHello read by hand, field by field, from the bytes a real client sent.
//!
//! The first thing a TLS client sends is one handshake message, the ClientHello, in one or more
//! records. Every record starts with the same five bytes (RFC 8446 section 5.1):
//!
//! ```text
//! struct {
//!     ContentType type;                    /* 22: handshake */
//!     ProtocolVersion legacy_record_version;
//!     uint16 length;                       /* at most 2^14 */
//!     opaque fragment[TLSPlaintext.length];
//! } TLSPlaintext;
//! ```
//!
//! The fragments, put end to end, hold the handshake message: a type (1: client_hello), a
//! 24-bit length, and the body (RFC 8446 section 4.1.2):
//!
//! ```text
//! struct {
//!     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
//!     Random random;                              /* 32 bytes */
//!     opaque legacy_session_id<0..32>;
//!     CipherSuite cipher_suites<2..2^16-2>;
//!     opaque legacy_compression_methods<1..2^8-1>;
//!     Extension extensions<8..2^16-1>;
//! } ClientHello;
//!
//! struct {
//!     ExtensionType extension_type;
//!     opaque extension_data<0..2^16-1>;
//! } Extension;
//! ```
//!
//! `<a..b>` is a vector with a length prefix of as many bytes as `b` needs (one for up to 255,
//! two for up to 65535). Everything TLS 1.3 added lives in extensions, so that a TLS 1.2 server
//! reads the message as one of its own: the versions the client speaks (`supported_versions`),
//! its key shares (`key_share`), the name it wants (`server_name`, RFC 6066 section 3), the
//! protocols it speaks inside (`application_layer_protocol_negotiation`, RFC 7301).
//!
//! [`parse`] reads all of it and keeps a [`Row`] per field, which [`markdown`] turns into the
//! table the book shows. Bytes that do not fit the grammar are an [`Error`] that says where and
//! what, never a panic: every read goes through [`Reader`], which checks the length first.
//!
//! This file reads the handshake message, field by field, in [`parse`]; the rest is in modules
//! along the layers of the message:
//!
//! - [`records`]: the record layer, which puts the handshake message back together from its
//!   records and says where each fragment was in the capture.
//! - [`reader`]: the cursor that checks every length before it reads, and maps a byte of the
//!   message back to its offset in the capture.
//! - [`extensions`]: what each extension's data says.
//! - [`names`]: names for the numbers, from the IANA TLS registries.
//! - [`table`]: the markdown page the book includes.
//!
//! The file a capture is kept in is shared with the HTTP/2 capture
//! (`examples/shared/capture_file.rs`); the unit tests are in `hello/tests.rs`.

use std::fmt;

mod extensions;
mod names;
mod reader;
mod records;
mod table;

pub use table::document;
// tests/client_hello.rs makes the table alone too; the example's main.rs makes only whole pages.
#[allow(unused_imports)]
pub use table::markdown;

use extensions::extension;
use names::{cipher_suite, extension_name, version};
use reader::{row, Reader};
use records::{read_u16, records};

/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 0x01;

/// Why some bytes are not a ClientHello this reader can annotate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes end before `field` does; more may still come from the socket.
    Truncated { field: &'static str, at: usize },
    /// A record that is not a handshake record (`type` is its first byte).
    NotHandshake { content_type: u8, at: usize },
    /// A record longer than TLS allows.
    RecordTooLong { length: usize, at: usize },
    /// The handshake message is not a ClientHello.
    NotClientHello { msg_type: u8 },
    /// A length that does not add up: a field that runs past what holds it, a list with bytes
    /// left over, or an odd count of bytes in a list of two-byte values.
    BadLength { field: &'static str, at: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { field, at } => {
                write!(f, "the bytes end inside {field} (at byte {at})")
            }
            Error::NotHandshake { content_type, at } => write!(
                f,
                "the record at byte {at} has content type {content_type}, not 22 (handshake): \
                 not a TLS ClientHello"
            ),
            Error::RecordTooLong { length, at } => write!(
                f,
                "the record at byte {at} claims {length} bytes, more than the 16384 TLS allows"
            ),
            Error::NotClientHello { msg_type } => {
                write!(
                    f,
                    "the handshake message has type {msg_type}, not 1 (client_hello)"
                )
            }
            Error::BadLength { field, at } => {
                write!(
                    f,
                    "{field} (at byte {at}) does not fit: a length runs past what holds it, or \
                     leaves bytes over"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// One field of the capture, for the annotated table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Offset of the field's first byte in the capture.
    pub at: usize,
    /// The field's length in bytes, length prefix included.
    pub len: usize,
    pub field: String,
    pub value: String,
}

/// What [`parse`] found: every field as a row, and the parts a test or a chapter asks about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub rows: Vec<Row>,
    /// Bytes of the capture the ClientHello took, record headers included.
    pub total: usize,
    pub records: usize,
    pub cipher_suites: Vec<u16>,
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub groups: Vec<u16>,
    /// Each key share's group and the length of its key.
    pub key_shares: Vec<(u16, usize)>,
    pub versions: Vec<u16>,
    pub extensions: Vec<u16>,
}

/// How many bytes of `capture` the ClientHello's records take, once they have all arrived
/// (`Ok(None)`: not yet, read more). The reader of a socket calls this after every read.
pub fn complete_length(capture: &[u8]) -> Result<Option<usize>, Error> {
    match records(capture) {
        Ok((_, _, end)) => Ok(Some(end)),
        Err(Error::Truncated { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads the ClientHello at the start of `capture`, field by field.
pub fn parse(capture: &[u8]) -> Result<ClientHello, Error> {
    let (message, segments, total) = records(capture)?;
    let mut hello = ClientHello {
        total,
        records: segments.len(),
        ..ClientHello::default()
    };
    for &(_, at, len) in &segments {
        let legacy = version(read_u16(capture, at + 1));
        hello.rows.extend([
            row(at, 1, "record: type", "22, handshake".into()),
            row(at + 1, 2, "record: legacy_record_version", legacy),
            row(at + 3, 2, "record: length", format!("{len} bytes follow")),
        ]);
    }
    let mut r = Reader::new(&message, &segments);
    let msg_type = r.u8("handshake: msg_type")?;
    if msg_type != CLIENT_HELLO {
        return Err(Error::NotClientHello { msg_type });
    }
    r.push(
        &mut hello,
        0,
        "handshake: msg_type",
        "1, client_hello".into(),
    );
    let length = r.u24("handshake: length")?;
    r.push(
        &mut hello,
        1,
        "handshake: length",
        format!("{length} bytes follow"),
    );
    let mut body = r.sub(length, "the ClientHello")?;

    let start = body.pos;
    let legacy = body.u16("legacy_version")?;
    body.push(&mut hello, start, "legacy_version", version(legacy));
    let start = body.pos;
    body.take(32, "random")?;
    body.push(
        &mut hello,
        start,
        "random",
        "32 bytes from the client's RNG".into(),
    );
    let start = body.pos;
    let value = match body.vec8("legacy_session_id")?.remaining() {
        0 => "empty".to_owned(),
        n => format!(
            "{n} random bytes: no session to resume, a value for middleboxes (RFC 8446 D.4)"
        ),
    };
    body.push(&mut hello, start, "legacy_session_id", value);
    let start = body.pos;
    hello.cipher_suites = body.vec16("cipher_suites")?.u16_list("cipher_suites")?;
    let names: Vec<String> = hello
        .cipher_suites
        .iter()
        .map(|&s| cipher_suite(s))
        .collect();
    let value = format!("{} suites: {}", names.len(), names.join(", "));
    body.push(&mut hello, start, "cipher_suites", value);
    let start = body.pos;
    let methods = body.vec8("legacy_compression_methods")?;
    let value = if methods.rest() == [0] {
        "null only, as TLS 1.3 requires"
    } else {
        "more than null"
    };
    body.push(
        &mut hello,
        start,
        "legacy_compression_methods",
        value.into(),
    );
    if body.done() {
        // A TLS 1.2 ClientHello may end here; one that offers TLS 1.3 never does.
        return Ok(hello);
    }

    let start = body.pos;
    let mut extensions = body.vec16("extensions")?;
    let listed = extensions.remaining();
    hello.rows.push(body.row(
        start,
        2,
        "extensions: length",
        format!("{listed} bytes follow"),
    ));
    while !extensions.done() {
        let start = extensions.pos;
        let kind = extensions.u16("an extension's type")?;
        let mut data = extensions.vec16("an extension's data")?;
        hello.extensions.push(kind);
        let value = extension(kind, &mut data, &mut hello)?;
        if !data.done() {
            return Err(Error::BadLength {
                field: extension_name(kind),
                at: data.at(),
            });
        }
        let field = format!("extension: {}", extension_name(kind));
        extensions.push(&mut hello, start, &field, value);
    }
    if !body.done() {
        return Err(Error::BadLength {
            field: "the ClientHello",
            at: body.at(),
        });
    }
    Ok(hello)
}

// The capture file format is shared with the HTTP/2 capture (`examples/h2_opening`).
#[path = "../shared/capture_file.rs"]
mod capture_file;
pub use capture_file::{from_hex_file, to_hex_file};

#[cfg(test)]
mod tests;
