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

use std::fmt::{self, Write as _};

/// The largest fragment a plaintext record may carry (RFC 8446 section 5.1).
const MAX_FRAGMENT: usize = 1 << 14;

/// Record content type of handshake messages.
const HANDSHAKE: u8 = 0x16;

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
    let mut r = Reader {
        message: &message,
        pos: 0,
        end: message.len(),
        segments: &segments,
    };
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

/// One extension's data, decoded into the value column (and into `hello` where a test or the
/// chapter asks about it).
fn extension(kind: u16, data: &mut Reader<'_>, hello: &mut ClientHello) -> Result<String, Error> {
    Ok(match kind {
        0x0000 => {
            // ServerNameList: { NameType (0: host_name), HostName<1..2^16-1> }<1..2^16-1>
            let mut list = data.vec16("server_name")?;
            let mut names = Vec::new();
            while !list.done() {
                let name_type = list.u8("server_name")?;
                let name = list.vec16("server_name")?.rest();
                let name = String::from_utf8_lossy(name).into_owned();
                if name_type == 0 && hello.server_name.is_none() {
                    hello.server_name = Some(name.clone());
                }
                names.push(name);
            }
            format!("host_name {}", names.join(", "))
        }
        0x000a => {
            hello.groups = data
                .vec16("supported_groups")?
                .u16_list("supported_groups")?;
            names(&hello.groups, group)
        }
        0x000b => {
            let formats = data.vec8("ec_point_formats")?.rest().to_vec();
            let list: Vec<&str> = formats
                .iter()
                .map(|f| match f {
                    0 => "uncompressed",
                    1 => "ansiX962_compressed_prime",
                    2 => "ansiX962_compressed_char2",
                    _ => "unknown",
                })
                .collect();
            list.join(", ")
        }
        0x000d | 0x0032 => {
            let schemes = data
                .vec16("signature_algorithms")?
                .u16_list("signature_algorithms")?;
            names(&schemes, signature_scheme)
        }
        0x0010 => {
            // ProtocolNameList: ProtocolName<1..2^8-1> list<2..2^16-1>
            let mut list = data.vec16("application_layer_protocol_negotiation")?;
            while !list.done() {
                let name = list.vec8("application_layer_protocol_negotiation")?.rest();
                hello.alpn.push(String::from_utf8_lossy(name).into_owned());
            }
            hello.alpn.join(", ")
        }
        0x002b => {
            let mut list = data.vec8("supported_versions")?;
            hello.versions = list.u16_list("supported_versions")?;
            hello
                .versions
                .iter()
                .map(|&v| version(v))
                .collect::<Vec<_>>()
                .join(", ")
        }
        0x002d => {
            let modes: Vec<&str> = data
                .vec8("psk_key_exchange_modes")?
                .rest()
                .iter()
                .map(|mode| match mode {
                    0 => "psk_ke (resume without a new key exchange)",
                    1 => "psk_dhe_ke (resume with a new key exchange)",
                    _ => "unknown",
                })
                .collect();
            modes.join(", ")
        }
        // ANCHOR: key_share
        0x0033 => {
            // KeyShareEntry: { NamedGroup group; opaque key_exchange<1..2^16-1>; } list
            let mut list = data.vec16("key_share")?;
            let mut shares = Vec::new();
            while !list.done() {
                let group_id = list.u16("key_share")?;
                let key = list.vec16("key_share")?.remaining();
                hello.key_shares.push((group_id, key));
                shares.push(format!("{}, {key} bytes of key", group(group_id)));
            }
            shares.join("; ")
        }
        // ANCHOR_END: key_share
        0x0005 => {
            // CertificateStatusRequest (RFC 6066 section 8): a type, then for OCSP a list of
            // responder IDs and request extensions, both usually empty.
            let kind = data.u8("status_request")?;
            data.vec16("status_request")?;
            data.vec16("status_request")?;
            match kind {
                1 => "OCSP: asks the server to staple its certificate's status".into(),
                other => format!("status type {other}"),
            }
        }
        0x0015 => {
            let n = data.take(data.remaining(), "padding")?.len();
            format!("{n} zero bytes, to make the whole message a size middleboxes pass")
        }
        0x0016 => "empty: encrypt-then-MAC for CBC suites (TLS 1.2)".into(),
        0x0017 => "empty: extended master secret (TLS 1.2, RFC 7627)".into(),
        0x0023 => match data.remaining() {
            0 => "empty: asks for a TLS 1.2 session ticket".into(),
            n => format!("a {n}-byte session ticket to resume"),
        },
        0x0031 => "empty: will accept a certificate request after the handshake".into(),
        0x001c => format!(
            "{} bytes per record at most",
            data.u16("record_size_limit")?
        ),
        0xff01 => match data.vec8("renegotiation_info")?.remaining() {
            0 => "empty: a first handshake, not a renegotiation".into(),
            n => format!("{n} bytes"),
        },
        _ => {
            let n = data.take(data.remaining(), "an extension's data")?.len();
            format!("{n} bytes")
        }
    })
}

// ANCHOR: records
/// The handshake message put together from the records, where each fragment came from
/// (offset in the message, offset of its record header in the capture, length), and the end
/// of the last record needed.
type Records = (Vec<u8>, Vec<(usize, usize, usize)>, usize);

fn records(capture: &[u8]) -> Result<Records, Error> {
    let mut message = Vec::new();
    let mut segments = Vec::new();
    let mut at = 0;
    loop {
        if capture.len() < at + 5 {
            return Err(Error::Truncated {
                field: "a record header",
                at,
            });
        }
        if capture[at] != HANDSHAKE {
            return Err(Error::NotHandshake {
                content_type: capture[at],
                at,
            });
        }
        let len = usize::from(read_u16(capture, at + 3));
        if len > MAX_FRAGMENT {
            return Err(Error::RecordTooLong { length: len, at });
        }
        let fragment = capture.get(at + 5..at + 5 + len).ok_or(Error::Truncated {
            field: "a record",
            at,
        })?;
        segments.push((message.len(), at, len));
        message.extend_from_slice(fragment);
        at += 5 + len;
        if message.len() >= 4 {
            let body = usize::from(message[1]) << 16 | usize::from(read_u16(&message, 2));
            if message.len() >= 4 + body {
                return Ok((message, segments, at));
            }
        }
    }
}
// ANCHOR_END: records

/// Big-endian `u16` at `at`; the caller has checked the length.
fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn row(at: usize, len: usize, field: &str, value: String) -> Row {
    Row {
        at,
        len,
        field: field.into(),
        value,
    }
}

/// A cursor over a part of the handshake message (`pos..end`) that checks every length before
/// it reads, and knows where each byte was in the capture.
struct Reader<'a> {
    message: &'a [u8],
    pos: usize,
    end: usize,
    segments: &'a [(usize, usize, usize)],
}

impl<'a> Reader<'a> {
    /// Where message offset `at` was in the capture: past the record headers before it.
    fn capture_offset(&self, at: usize) -> usize {
        let (start, header, _) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= at)
            .copied()
            .unwrap_or_default();
        header + 5 + (at - start)
    }

    /// Where this reader stands, in the capture (for errors).
    fn at(&self) -> usize {
        self.capture_offset(self.pos)
    }

    /// A row for the field from message offset `start` to here.
    fn row(&self, start: usize, len: usize, field: &str, value: String) -> Row {
        row(self.capture_offset(start), len, field, value)
    }

    fn push(&self, hello: &mut ClientHello, start: usize, field: &str, value: String) {
        let len = self.pos - start;
        hello.rows.push(self.row(start, len, field, value));
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            // The whole message has arrived (`records` saw to it), so a field that runs past
            // its end, or past the list that holds it, has a length that lies.
            return Err(Error::BadLength {
                field,
                at: self.at(),
            });
        }
        let taken = &self.message[self.pos..self.pos + n];
        self.pos += n;
        Ok(taken)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        let bytes = self.take(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u24(&mut self, field: &'static str) -> Result<usize, Error> {
        let b = self.take(3, field)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// The next `n` bytes, as a reader of their own.
    fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, Error> {
        let start = self.pos;
        self.take(n, field)?;
        Ok(Reader {
            message: self.message,
            pos: start,
            end: start + n,
            segments: self.segments,
        })
    }

    /// A vector with a one-byte length prefix (`<0..2^8-1>`).
    fn vec8(&mut self, field: &'static str) -> Result<Reader<'a>, Error> {
        let n = usize::from(self.u8(field)?);
        self.sub(n, field)
    }

    /// A vector with a two-byte length prefix (`<0..2^16-1>`).
    fn vec16(&mut self, field: &'static str) -> Result<Reader<'a>, Error> {
        let n = usize::from(self.u16(field)?);
        self.sub(n, field)
    }

    /// All that is left, as two-byte values.
    fn u16_list(&mut self, field: &'static str) -> Result<Vec<u16>, Error> {
        if self.remaining() % 2 != 0 {
            return Err(Error::BadLength {
                field,
                at: self.at(),
            });
        }
        let mut list = Vec::new();
        while !self.done() {
            list.push(self.u16(field)?);
        }
        Ok(list)
    }

    /// All that is left, without reading it.
    fn rest(&self) -> &'a [u8] {
        &self.message[self.pos..self.end]
    }

    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.end
    }
}

// --- Names, from the IANA TLS registries ------------------------------------------------------

/// GREASE values (RFC 8701): `0x?a?a`, sent to keep servers tolerant of values they do not know.
fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 12 == (value >> 4) & 0x0f
}

fn names(values: &[u16], name: fn(u16) -> String) -> String {
    values
        .iter()
        .map(|&v| name(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(value: u16) -> String {
    if is_grease(value) {
        format!("GREASE 0x{value:04x}")
    } else {
        format!("0x{value:04x}")
    }
}

fn version(value: u16) -> String {
    let name = match value {
        0x0304 => "TLS 1.3",
        0x0303 => "TLS 1.2",
        0x0302 => "TLS 1.1",
        0x0301 => "TLS 1.0",
        0x0300 => "SSL 3.0",
        _ => return unknown(value),
    };
    format!("0x{value:04x} ({name})")
}

fn cipher_suite(value: u16) -> String {
    let name = match value {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccaa => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0x009e => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xc028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0x0067 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x006b => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        0x5600 => "TLS_FALLBACK_SCSV",
        _ => return unknown(value),
    };
    name.into()
}

fn group(value: u16) -> String {
    let name = match value {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001a => "brainpoolP256r1",
        0x001b => "brainpoolP384r1",
        0x001c => "brainpoolP512r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        _ => return unknown(value),
    };
    name.into()
}

fn signature_scheme(value: u16) -> String {
    let name = match value {
        0x0401 => "rsa_pkcs1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        0x0904 => "mldsa44",
        0x0905 => "mldsa65",
        0x0906 => "mldsa87",
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0202 => "dsa_sha1",
        0x0301 => "rsa_pkcs1_sha224",
        0x0302 => "dsa_sha224",
        0x0303 => "ecdsa_sha224",
        0x0402 => "dsa_sha256",
        0x0502 => "dsa_sha384",
        0x0602 => "dsa_sha512",
        _ => return unknown(value),
    };
    name.into()
}

fn extension_name(value: u16) -> &'static str {
    match value {
        0x0000 => "server_name",
        0x0001 => "max_fragment_length",
        0x0005 => "status_request",
        0x000a => "supported_groups",
        0x000b => "ec_point_formats",
        0x000d => "signature_algorithms",
        0x000e => "use_srtp",
        0x000f => "heartbeat",
        0x0010 => "application_layer_protocol_negotiation",
        0x0012 => "signed_certificate_timestamp",
        0x0015 => "padding",
        0x0016 => "encrypt_then_mac",
        0x0017 => "extended_master_secret",
        0x001b => "compress_certificate",
        0x001c => "record_size_limit",
        0x0022 => "delegated_credential",
        0x0023 => "session_ticket",
        0x0029 => "pre_shared_key",
        0x002a => "early_data",
        0x002b => "supported_versions",
        0x002c => "cookie",
        0x002d => "psk_key_exchange_modes",
        0x0031 => "post_handshake_auth",
        0x0032 => "signature_algorithms_cert",
        0x0033 => "key_share",
        0x0039 => "quic_transport_parameters",
        0x44cd => "application_settings",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        v if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

// --- The table ------------------------------------------------------------------------------

/// The annotated ClientHello as markdown: a line saying where it came from (`source`), then a
/// row per field.
pub fn markdown(hello: &ClientHello, source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{source}\n");
    let _ = writeln!(out, "| at | bytes | field | what the client sent |");
    let _ = writeln!(out, "|---:|---:|---|---|");
    for row in &hello.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.at,
            row.len,
            cell(&row.field),
            cell(&row.value)
        );
    }
    out
}

/// A table cell: `|` escaped, and a line-break opportunity (`<wbr>`) after every `_`, since
/// names such as `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256` are one word to a browser and
/// would make the table wider than the page.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('_', "_<wbr>")
}

/// The page the book includes: a sentence on where the capture came from (which `client`, by
/// which `command`), then the table. The same capture always gives the same page, so a test can
/// check that a committed page is what this reader makes of its committed capture.
pub fn document(capture: &[u8], client: &str, command: &str) -> Result<String, Error> {
    let hello = parse(capture)?;
    let records = match hello.records {
        1 => "one record".to_owned(),
        n => format!("{n} records"),
    };
    let source = format!(
        "Captured with `{command}`: the ClientHello {client} sent, {} bytes in {records}, read \
         field by field by `examples/client_hello/hello.rs`. **at** is a field's offset in the \
         capture and **bytes** its length, length prefixes included.",
        hello.total
    );
    Ok(markdown(&hello, &source))
}

// The capture file format is shared with the HTTP/2 capture (`examples/h2_opening`).
#[path = "../shared/capture_file.rs"]
mod capture_file;
pub use capture_file::{from_hex_file, to_hex_file};

#[cfg(test)]
mod tests {
    use super::*;

    /// A small ClientHello built by hand: TLS 1.3 only, one suite, SNI `a`, ALPN `h2`, an
    /// X25519 key share (of the right length, made of zeros).
    fn small_hello() -> Vec<u8> {
        let mut extensions = Vec::new();
        let mut add = |kind: u16, data: &[u8]| {
            extensions.extend_from_slice(&kind.to_be_bytes());
            extensions.extend_from_slice(&(data.len() as u16).to_be_bytes());
            extensions.extend_from_slice(data);
        };
        add(0x0000, &[0, 4, 0, 0, 1, b'a']);
        add(0x0010, &[0, 3, 2, b'h', b'2']);
        add(0x002b, &[2, 0x03, 0x04]);
        let mut share = vec![0, 36, 0x00, 0x1d, 0, 32];
        share.extend_from_slice(&[0; 32]);
        add(0x0033, &share);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut message = vec![CLIENT_HELLO, 0, 0, body.len() as u8];
        message.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE, 0x03, 0x01, 0, message.len() as u8];
        record.extend_from_slice(&message);
        record
    }

    #[test]
    fn a_hand_made_hello_is_read_field_by_field() {
        let bytes = small_hello();
        let hello = parse(&bytes).expect("a well-formed hello");
        assert_eq!(hello.total, bytes.len());
        assert_eq!(hello.server_name.as_deref(), Some("a"));
        assert_eq!(hello.alpn, ["h2"]);
        assert_eq!(hello.key_shares, [(0x001d, 32)]);
        assert_eq!(hello.versions, [0x0304]);
        assert_eq!(hello.cipher_suites, [0x1301]);
        let random = hello.rows.iter().find(|row| row.field == "random").unwrap();
        assert_eq!((random.at, random.len), (11, 32));
        assert_eq!(complete_length(&bytes), Ok(Some(bytes.len())));
    }

    #[test]
    fn a_hello_split_over_two_records_is_put_back_together() {
        let one = small_hello();
        let message = &one[5..];
        let (first, second) = message.split_at(10);
        let mut two = Vec::new();
        for part in [first, second] {
            two.extend_from_slice(&[HANDSHAKE, 0x03, 0x01, 0, part.len() as u8]);
            two.extend_from_slice(part);
        }
        let hello = parse(&two).expect("two records");
        assert_eq!(hello.records, 2);
        assert_eq!(hello.server_name.as_deref(), Some("a"));
        // The random starts in the first record and its offset counts one record header.
        let random = hello.rows.iter().find(|row| row.field == "random").unwrap();
        assert_eq!(random.at, 11);
        // The first field of the second record is past two headers.
        let alpn = hello
            .rows
            .iter()
            .find(|row| row.field.contains("application"))
            .unwrap();
        let one_hello = parse(&one).unwrap();
        let alpn_one = one_hello
            .rows
            .iter()
            .find(|row| row.field.contains("application"))
            .unwrap();
        assert_eq!(alpn.at, alpn_one.at + 5);
    }

    #[test]
    fn every_prefix_is_incomplete_and_never_a_panic() {
        let bytes = small_hello();
        for end in 0..bytes.len() {
            assert!(
                matches!(parse(&bytes[..end]), Err(Error::Truncated { .. })),
                "prefix of {end} bytes"
            );
            assert_eq!(
                complete_length(&bytes[..end]),
                Ok(None),
                "prefix of {end} bytes"
            );
        }
    }

    #[test]
    fn wrong_lengths_are_errors_that_say_where() {
        let good = small_hello();
        // The SNI list's length one too long: it runs into the next field.
        let mut bad = good.clone();
        let sni_list = 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 2 + 4;
        assert_eq!(bad[sni_list + 1], 4);
        bad[sni_list + 1] = 5;
        let error = parse(&bad).unwrap_err();
        assert!(matches!(error, Error::BadLength { .. }), "{error}");
        assert!(error.to_string().contains("does not fit"), "{error}");
        // An odd-length cipher suite list.
        let mut odd = good.clone();
        odd[5 + 4 + 2 + 32 + 1 + 1] = 1;
        assert!(parse(&odd).is_err());
        // The handshake length shorter than its contents: bytes left over in the extensions.
        let mut short = good.clone();
        short[8] -= 1;
        assert!(parse(&short).is_err());
    }

    #[test]
    fn other_records_and_messages_are_refused_clearly() {
        let plain_http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let error = parse(plain_http).unwrap_err();
        assert_eq!(
            error,
            Error::NotHandshake {
                content_type: b'G',
                at: 0
            }
        );
        assert!(
            error.to_string().contains("not a TLS ClientHello"),
            "{error}"
        );
        let mut server_hello = small_hello();
        server_hello[5] = 2;
        assert_eq!(
            parse(&server_hello).unwrap_err(),
            Error::NotClientHello { msg_type: 2 }
        );
        let huge = [HANDSHAKE, 3, 1, 0xff, 0xff];
        assert!(matches!(parse(&huge), Err(Error::RecordTooLong { .. })));
        assert!(complete_length(&huge).is_err());
    }

    #[test]
    fn grease_is_recognised() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }
}
