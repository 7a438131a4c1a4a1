//! Parsing a request head and deciding how its body is framed (RFC 9112 sections 2-6).
//!
//! httparse does the grammar of the request line and the field lines, strictly: it refuses
//! whitespace before a colon, obs-fold line folding, NUL and bare CR in values, and any version
//! but 1.0 and 1.1. What httparse leaves to its caller is done here: the limits, the rules about
//! `Host`, and above all the body-length decision, where lenient servers have let one request
//! hide inside another (request smuggling).

use std::mem::MaybeUninit;

use bytes::Bytes;

use super::error::RequestError;
use crate::limits::Limits;
use crate::message::{ByteStr, Field, FieldLines, Headers, Method, Request, Version};

/// The most header fields any configuration may allow; the parser's field array lives on the
/// stack with this many slots.
pub const MAX_HEADERS_CEILING: usize = 256;

/// How the body of a request is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// The chunked transfer coding follows the head.
    Chunked,
}

/// A parsed head with the decisions the connection needs. The target and the fields are spans
/// over the parsed input: [`into_request`](Self::into_request) turns them into views of the
/// same bytes once the caller has frozen them, so nothing is copied.
#[derive(Debug)]
pub struct ParsedHead {
    pub method: Method,
    pub version: Version,
    /// Where the request-target lies in the input.
    target: (u32, u32),
    fields: Vec<Field>,
    pub framing: Framing,
    /// Whether the connection may stay open after this request (RFC 9112 section 9.3).
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

// ANCHOR: parse_head
/// Tries to parse a request head at the start of `input`.
///
/// Returns `Ok(None)` when more bytes are needed (that is not an error: the head may simply
/// not have arrived yet), or the head and the number of bytes it took.
///
/// httparse runs first, because in the usual case (a complete, valid head) everything the size
/// limits need is then known from what it found; only an incomplete or refused head is scanned
/// for its request line, to refuse a line or head that is too long already (before it ends)
/// and to give the size refusals precedence over grammar errors.
pub fn parse_head(
    input: &[u8],
    limits: &Limits,
) -> Result<Option<(ParsedHead, usize)>, RequestError> {
    parse_head_with_body_limit(input, limits, limits.max_body)
}

/// [`parse_head`] with a declared body checked against `max_body` rather than
/// `Limits::max_body`: a connection with a body-sink hook (`crate::sink`) passes `u64::MAX` and
/// checks the length itself once the hook has said which limit applies to the request.
pub fn parse_head_with_body_limit(
    input: &[u8],
    limits: &Limits,
    max_body: u64,
) -> Result<Option<(ParsedHead, usize)>, RequestError> {
    match parse_complete(input, limits, max_body) {
        Ok(Some(parsed)) => Ok(Some(parsed)),
        Ok(None) => {
            check_sizes_so_far(input, FirstLine::find(input), limits)?;
            Ok(None)
        }
        Err(Refusal::Request(error)) => Err(error),
        Err(Refusal::Grammar(error)) => {
            let line = FirstLine::find(input);
            check_sizes_so_far(input, line, limits)?;
            // RFC 9110 section 2.5: a higher minor version of a major version we implement
            // "SHOULD" be processed as the highest minor version we support. httparse knows
            // only 1.0 and 1.1, so `HTTP/1.2` is rewritten to `HTTP/1.1` (same length, so every
            // offset stays valid for `input`) and parsed again.
            if let (httparse::Error::Version, Some(at)) =
                (error, higher_minor_version_at(input, line))
            {
                let rewritten = [&input[..at], b"1", &input[at + 1..]].concat();
                return match parse_complete(&rewritten, limits, max_body) {
                    Ok(parsed) => Ok(parsed),
                    Err(Refusal::Request(error)) => Err(error),
                    Err(Refusal::Grammar(error)) => Err(map_httparse_error(error, &rewritten)),
                };
            }
            Err(map_httparse_error(error, input))
        }
    }
}
// ANCHOR_END: parse_head

/// Why [`parse_complete`] refused: the grammar (httparse's error, which the caller maps after
/// its own checks) or one of this module's rules.
enum Refusal {
    Grammar(httparse::Error),
    Request(RequestError),
}

impl From<RequestError> for Refusal {
    fn from(error: RequestError) -> Refusal {
        Refusal::Request(error)
    }
}

/// httparse, then the limits and the rules of RFC 9112 on a complete head.
fn parse_complete(
    input: &[u8],
    limits: &Limits,
    max_body: u64,
) -> Result<Option<(ParsedHead, usize)>, Refusal> {
    // Uninitialised slots: httparse writes only the ones it fills, so a request with 5 fields
    // does not pay for clearing 256.
    let mut storage = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS_CEILING];
    let slots = limits.max_headers.clamp(1, MAX_HEADERS_CEILING);
    let mut parsed = httparse::Request::new(&mut []);
    let head_len = match parsed.parse_with_uninit_headers(input, &mut storage[..slots]) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(Refusal::Grammar(error)),
    };
    // httparse fills these three in on Complete.
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(RequestError::MalformedHead("request line").into());
    };
    // httparse allows exactly one space between the parts, so the line is `METHOD SP target SP
    // HTTP/1.x`: its length follows from where the target ends.
    let base = input.as_ptr() as usize;
    let span = |part: &[u8]| (part.as_ptr() as usize - base) as u32;
    let target_start = span(target.as_bytes());
    let line_len =
        target_start as usize + target.len() + " HTTP/1.1".len() - span(method.as_bytes()) as usize;
    if line_len > limits.max_request_line {
        return Err(RequestError::RequestLineTooLong.into());
    }
    if head_len > limits.max_head_bytes {
        return Err(RequestError::HeadTooLarge.into());
    }
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let method = Method::from_token(method);
    check_target(&method, target)?;

    // One pass records where each field lies in the input (no copy) and notes which of the few
    // that steer the protocol are there, so the checks below look only for fields that are
    // present. httparse hands out slices of `input`, so each span is a pointer difference.
    let mut fields = Vec::with_capacity(parsed.headers.len());
    let mut seen = Seen::default();
    for (index, field) in parsed.headers.iter().enumerate() {
        seen.note(field.name, index);
        let name_start = span(field.name.as_bytes());
        let value_start = span(field.value);
        fields.push(Field {
            name_start,
            name_end: name_start + field.name.len() as u32,
            value_start,
            value_end: value_start + field.value.len() as u32,
        });
    }
    let lines = FieldLines {
        bytes: input,
        fields: &fields,
    };
    let host = seen.first_host.map(|index| parsed.headers[index].value);
    check_host(version, seen.hosts, host)?;
    let framing = if seen.framing {
        body_framing(version, lines, max_body)?
    } else {
        Framing::Empty
    };
    let keep_alive = if seen.connection {
        keep_alive(version, lines)
    } else {
        version == Version::Http11
    };
    let expect_continue = seen.expect && expects_continue(version, lines)?;

    Ok(Some((
        ParsedHead {
            method,
            version,
            target: (target_start, target_start + target.len() as u32),
            fields,
            framing,
            keep_alive,
            expect_continue,
        },
        head_len,
    )))
}

impl ParsedHead {
    /// The request this head describes, without its body, as views into `head`: the bytes
    /// [`parse_head`] parsed (from the same start), now frozen by the caller.
    ///
    /// # Panics
    /// If `head` is shorter than the parsed head (a caller bug: it must pass what it parsed).
    pub fn into_request(self, head: Bytes) -> Request {
        let (start, end) = (self.target.0 as usize, self.target.1 as usize);
        // SAFETY: `parse_head` took these offsets from the `&str` httparse returned for the
        // target, and `head` holds the same bytes at the same offsets (the `HTTP/1.x` rewrite
        // changes one version digit, never the target), so they are valid UTF-8.
        let target = unsafe { ByteStr::from_utf8_unchecked(head.slice(start..end)) };
        Request {
            method: self.method,
            target,
            version: self.version,
            headers: Headers::from_wire(head, self.fields),
            body: Bytes::new(),
            trailers: Headers::new(),
            peer: None,
            streamed: None,
        }
    }
}
// ANCHOR_END: parse_head

/// Which protocol-steering fields a head has, noted in the one pass over the fields.
#[derive(Default)]
struct Seen {
    framing: bool,
    connection: bool,
    expect: bool,
    /// How many `Host` fields, and the value of the first.
    hosts: usize,
    first_host: Option<usize>,
}

impl Seen {
    fn note(&mut self, name: &str, index: usize) {
        // Lengths first: most names match none of these and are rejected on length alone.
        let name = name.as_bytes();
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                self.hosts += 1;
                self.first_host.get_or_insert(index);
            }
            6 => self.expect |= name.eq_ignore_ascii_case(b"expect"),
            10 => self.connection |= name.eq_ignore_ascii_case(b"connection"),
            14 => self.framing |= name.eq_ignore_ascii_case(b"content-length"),
            17 => self.framing |= name.eq_ignore_ascii_case(b"transfer-encoding"),
            _ => {}
        }
    }
}

/// Where the request line is: after the empty lines a client may send first (RFC 9112 section
/// 2.2), up to its `\n` if that has arrived. Found once and used by every check that needs it,
/// because scanning the line byte by byte is a large part of what a small head costs.
#[derive(Clone, Copy)]
struct FirstLine {
    start: usize,
    /// The index of the line's `\n`, if it has arrived.
    end: Option<usize>,
}

impl FirstLine {
    fn find(input: &[u8]) -> FirstLine {
        let start = input
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(input.len());
        let end = input[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| start + at);
        FirstLine { start, end }
    }
}

/// Refuses a head that is already too long before it is complete, so that a client cannot make
/// the server buffer an endless request line or header section.
fn check_sizes_so_far(input: &[u8], line: FirstLine, limits: &Limits) -> Result<(), RequestError> {
    match line.end {
        Some(end) if end - line.start > limits.max_request_line => {
            Err(RequestError::RequestLineTooLong)
        }
        None if input.len() - line.start > limits.max_request_line => {
            Err(RequestError::RequestLineTooLong)
        }
        _ if input.len() > limits.max_head_bytes
            && !contains_head_end(input, limits.max_head_bytes) =>
        {
            Err(RequestError::HeadTooLarge)
        }
        _ => Ok(()),
    }
}

/// Whether an empty line (the end of a head) occurs within the first `within` bytes.
fn contains_head_end(input: &[u8], within: usize) -> bool {
    let window = &input[..within.min(input.len())];
    window.windows(2).any(|w| w == b"\n\n") || window.windows(3).any(|w| w == b"\n\r\n")
}

/// Whether `input` holds a line ending that might end a head, i.e. whether parsing is worth
/// trying. Used to avoid re-parsing a head that arrives one byte at a time on every byte.
pub fn may_contain_head_end(input: &[u8]) -> bool {
    input.contains(&b'\n')
}

fn map_httparse_error(error: httparse::Error, input: &[u8]) -> RequestError {
    match error {
        httparse::Error::TooManyHeaders => RequestError::TooManyHeaders,
        httparse::Error::Version if looks_like_other_http_version(input) => {
            RequestError::UnsupportedVersion
        }
        httparse::Error::Version => RequestError::MalformedHead("HTTP version"),
        httparse::Error::HeaderName => RequestError::MalformedHead("header field name"),
        httparse::Error::HeaderValue => RequestError::MalformedHead("header field value"),
        httparse::Error::NewLine => RequestError::MalformedHead("line ending"),
        httparse::Error::Token => RequestError::MalformedHead("method or request-target"),
        httparse::Error::Status => RequestError::MalformedHead("request line"),
    }
}

/// `HTTP/<digit>.<digit>` (or `HTTP/<digit>`) at the end of the request line deserves 505 rather
/// than 400: it is well-formed, just not a version this server speaks.
fn looks_like_other_http_version(input: &[u8]) -> bool {
    let line = input
        .split(|&b| b == b'\n')
        .find(|line| !line.is_empty() && *line != b"\r");
    let Some(line) = line else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(version) = line.rsplit(|&b| b == b' ').next() else {
        return false;
    };
    match version.strip_prefix(b"HTTP/") {
        Some([major]) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

/// Where the minor digit of an `HTTP/1.<2-9>` version ends the first request line, if it does.
fn higher_minor_version_at(input: &[u8], line: FirstLine) -> Option<usize> {
    let line_bytes = &input[line.start..line.end?];
    let line_bytes = line_bytes.strip_suffix(b"\r").unwrap_or(line_bytes);
    match line_bytes.len().checked_sub(9).map(|at| &line_bytes[at..]) {
        Some([b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor])
            if (b'2'..=b'9').contains(minor) =>
        {
            Some(line.start + line_bytes.len() - 1)
        }
        _ => None,
    }
}

/// The four forms of request-target (RFC 9112 section 3.2), each allowed only where it belongs.
fn check_target(method: &Method, target: &str) -> Result<(), RequestError> {
    let ok = if target.starts_with('/') {
        true // origin-form
    } else if target == "*" {
        *method == Method::Options // asterisk-form
    } else if *method == Method::Connect {
        !target.contains('/') && target.contains(':') // authority-form
    } else {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        lower.starts_with("http://") || lower.starts_with("https://") // absolute-form
    };
    if ok {
        Ok(())
    } else {
        Err(RequestError::InvalidTarget)
    }
}

// ANCHOR: check_host
/// "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message
/// that lacks a Host header field and to any request message that contains more than one Host
/// header field line or a Host header field with an invalid field value." (RFC 9112 section 3.2)
///
/// `count` is how many `Host` field lines there are and `first` the value of the first, both
/// noted while the fields were read.
fn check_host(version: Version, count: usize, first: Option<&[u8]>) -> Result<(), RequestError> {
    match (count, first) {
        (0, _) | (_, None) if version == Version::Http11 => Err(RequestError::MissingHost),
        (0, _) | (_, None) => Ok(()),
        (2.., _) => Err(RequestError::DuplicateHost),
        (_, Some(host)) if is_valid_host(host) => Ok(()),
        (_, Some(_)) => Err(RequestError::InvalidHost),
    }
}
// ANCHOR_END: check_host

/// `uri-host [ ":" port ]` (RFC 3986 section 3.2.2): reg-name characters, or an IP literal in
/// brackets, then an optional port. An empty value is allowed (RFC 9112 section 3.2).
fn is_valid_host(host: &[u8]) -> bool {
    crate::grammar::is_authority(host)
}

// ANCHOR: body_framing
/// Decides how the request body is delimited, following RFC 9112 section 6.3 for requests:
///
/// 1. Transfer-Encoding in an HTTP/1.0 request: the framing "MUST" be treated as faulty
///    (section 6.1), so the request is refused.
/// 2. Transfer-Encoding together with Content-Length: the message may be an attempt at request
///    smuggling (rule 3). The RFC allows either dropping Content-Length or refusing; refusing
///    leaves nothing for a front proxy and this server to disagree about.
/// 3. Transfer-Encoding whose final coding is chunked: the body is chunked (rule 4). Any other
///    coding before it is one this server does not implement (501); chunked twice is an error.
/// 4. Transfer-Encoding whose final coding is not chunked: the length cannot be determined, so
///    400 and close (rule 4).
/// 5. Content-Length: every value must be plain digits and all values equal (rules 5 and 6, and
///    RFC 9110 section 8.6); anything else is "an unrecoverable error": 400 and close.
/// 6. Neither: the body length is zero (rule 7).
///
/// A declared length over the body limit is refused here, before any of the body is read.
fn body_framing(
    version: Version,
    headers: FieldLines<'_>,
    max_body: u64,
) -> Result<Framing, RequestError> {
    let has_transfer_encoding = headers.contains("transfer-encoding");
    let has_content_length = headers.contains("content-length");
    if has_transfer_encoding {
        if version == Version::Http10 {
            return Err(RequestError::TransferEncodingInHttp10);
        }
        if has_content_length {
            return Err(RequestError::ContentLengthWithTransferEncoding);
        }
        return transfer_codings(headers).map(|()| Framing::Chunked);
    }
    if has_content_length {
        let length = content_length(headers)?;
        if length > max_body {
            return Err(RequestError::BodyTooLarge);
        }
        return Ok(if length == 0 {
            Framing::Empty
        } else {
            Framing::Length(length)
        });
    }
    Ok(Framing::Empty)
}
// ANCHOR_END: body_framing

/// Checks the list of transfer codings: `chunked` last and only once, nothing else before it.
fn transfer_codings(headers: FieldLines<'_>) -> Result<(), RequestError> {
    let codings: Vec<&[u8]> = headers
        .get_all("transfer-encoding")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_whitespace)
        .filter(|coding| !coding.is_empty())
        .collect();
    let Some((last, before)) = codings.split_last() else {
        return Err(RequestError::ChunkedNotLast);
    };
    if !last.eq_ignore_ascii_case(b"chunked") {
        return Err(RequestError::ChunkedNotLast);
    }
    if before
        .iter()
        .any(|coding| coding.eq_ignore_ascii_case(b"chunked"))
    {
        return Err(RequestError::ChunkedTwice);
    }
    if !before.is_empty() {
        return Err(RequestError::UnsupportedTransferCoding);
    }
    Ok(())
}

/// The single length all `Content-Length` values agree on. A value may be a comma-separated
/// list (a proxy may have joined duplicate fields); every element must be 1*DIGIT.
fn content_length(headers: FieldLines<'_>) -> Result<u64, RequestError> {
    let mut agreed: Option<u64> = None;
    for value in headers.get_all("content-length") {
        for element in value.split(|&b| b == b',') {
            let digits = trim_whitespace(element);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(RequestError::InvalidContentLength);
            }
            let mut length: u64 = 0;
            for &digit in digits {
                length = length
                    .checked_mul(10)
                    .and_then(|l| l.checked_add((digit - b'0') as u64))
                    .ok_or(RequestError::InvalidContentLength)?;
            }
            match agreed {
                Some(previous) if previous != length => {
                    return Err(RequestError::ConflictingContentLength)
                }
                _ => agreed = Some(length),
            }
        }
    }
    agreed.ok_or(RequestError::InvalidContentLength)
}

// ANCHOR: keep_alive
/// Whether the connection persists after this request (RFC 9112 section 9.3): `close` always
/// wins; otherwise HTTP/1.1 persists by default and HTTP/1.0 only with `keep-alive`.
fn keep_alive(version: Version, headers: FieldLines<'_>) -> bool {
    let mut close = false;
    let mut keep_alive = false;
    for token in headers
        .get_all("connection")
        .flat_map(|value| value.split(|&b| b == b','))
    {
        let token = trim_whitespace(token);
        close |= token.eq_ignore_ascii_case(b"close");
        keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
    }
    !close && (version == Version::Http11 || keep_alive)
}
// ANCHOR_END: keep_alive

/// `Expect: 100-continue` (RFC 9110 section 10.1.1). A server "MUST ignore" it in an HTTP/1.0
/// request; any other expectation gets 417.
fn expects_continue(version: Version, headers: FieldLines<'_>) -> Result<bool, RequestError> {
    let Some(expect) = headers.get("expect") else {
        return Ok(false);
    };
    if !trim_whitespace(expect).eq_ignore_ascii_case(b"100-continue") {
        return Err(RequestError::UnsupportedExpectation);
    }
    Ok(version == Version::Http11)
}

/// Optional whitespace (OWS: SP and HTAB) trimmed from both ends.
fn trim_whitespace(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests;
