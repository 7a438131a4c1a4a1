//! Protocol-neutral requests and responses (RFC 9110, "HTTP Semantics").
//!
//! A [`Request`] and a [`Response`] say *what* is asked and answered: method, target, fields,
//! content. They say nothing about *how* the message travels: Content-Length, chunked framing,
//! keep-alive and `Connection` are HTTP/1.1 wire details that live in [`crate::http1`] (and
//! HTTP/2 framing will live in its own module). That is what lets one application, written
//! once, serve every stage and both protocol versions.
//!
//! Field storage is deliberately flat: all names and values of a message sit in one byte buffer
//! and each field is a set of spans into it. For a received request that buffer is the head as
//! it arrived, shared by reference count, so parsing a head copies no field and costs one
//! allocation (the list of spans) however many fields it has.

use core::net::SocketAddr;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use bytes::Bytes;

use crate::sink::StreamedBody;

// ANCHOR: method
/// A request method (RFC 9110 section 9).
///
/// The eight methods of RFC 9110 plus PATCH get their own variant; any other syntactically valid
/// token is kept as `Other`, so that the application can answer it with 501 Not Implemented
/// instead of the parser refusing it as malformed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    Other(String),
}
// ANCHOR_END: method

impl Method {
    /// Maps a method token as it appears on the wire. Methods are case-sensitive (RFC 9110
    /// section 9.1): `get` is not `GET`, it is an unknown method.
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol version a request arrived with. The application rarely cares; the HTTP/1.x
/// machine does (keep-alive defaults and chunked responses differ between 1.0 and 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Http10,
    Http11,
    Http2,
}

impl Version {
    /// The version as it appears in a start line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
            Version::Http2 => "HTTP/2",
        }
    }
}

/// A three-digit status code (RFC 9110 section 15).
///
/// A newtype rather than an enum so that any code stays representable; the constants name the
/// ones this project sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    pub const CONTINUE: StatusCode = StatusCode(100);
    pub const OK: StatusCode = StatusCode(200);
    pub const CREATED: StatusCode = StatusCode(201);
    pub const ACCEPTED: StatusCode = StatusCode(202);
    pub const NO_CONTENT: StatusCode = StatusCode(204);
    pub const PARTIAL_CONTENT: StatusCode = StatusCode(206);
    pub const MOVED_PERMANENTLY: StatusCode = StatusCode(301);
    pub const FOUND: StatusCode = StatusCode(302);
    pub const SEE_OTHER: StatusCode = StatusCode(303);
    pub const NOT_MODIFIED: StatusCode = StatusCode(304);
    pub const TEMPORARY_REDIRECT: StatusCode = StatusCode(307);
    pub const PERMANENT_REDIRECT: StatusCode = StatusCode(308);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    pub const NOT_ACCEPTABLE: StatusCode = StatusCode(406);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const CONFLICT: StatusCode = StatusCode(409);
    pub const GONE: StatusCode = StatusCode(410);
    pub const LENGTH_REQUIRED: StatusCode = StatusCode(411);
    pub const PRECONDITION_FAILED: StatusCode = StatusCode(412);
    pub const CONTENT_TOO_LARGE: StatusCode = StatusCode(413);
    pub const URI_TOO_LONG: StatusCode = StatusCode(414);
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    pub const RANGE_NOT_SATISFIABLE: StatusCode = StatusCode(416);
    pub const EXPECTATION_FAILED: StatusCode = StatusCode(417);
    pub const MISDIRECTED_REQUEST: StatusCode = StatusCode(421);
    pub const UNPROCESSABLE_CONTENT: StatusCode = StatusCode(422);
    pub const TOO_MANY_REQUESTS: StatusCode = StatusCode(429);
    pub const REQUEST_HEADER_FIELDS_TOO_LARGE: StatusCode = StatusCode(431);
    pub const INTERNAL_SERVER_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const HTTP_VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    /// RFC 4918 section 11.5: the server cannot store what the request asked it to.
    pub const INSUFFICIENT_STORAGE: StatusCode = StatusCode(507);

    /// The code as a number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// The reason phrase this server sends with the code. The phrase carries no meaning
    /// (RFC 9112 section 4: clients ignore it), it is only there for people reading traces.
    pub fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            204 => "No Content",
            206 => "Partial Content",
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            304 => "Not Modified",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            408 => "Request Timeout",
            409 => "Conflict",
            410 => "Gone",
            411 => "Length Required",
            412 => "Precondition Failed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Range Not Satisfiable",
            417 => "Expectation Failed",
            421 => "Misdirected Request",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            507 => "Insufficient Storage",
            _ => "Unknown",
        }
    }

    /// 1xx, 204 and 304 responses never carry content (RFC 9110 sections 15.2, 15.3.5, 15.4.5).
    pub fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

/// One field's name and value, as spans into the bytes of a [`Headers`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) name_start: u32,
    pub(crate) name_end: u32,
    pub(crate) value_start: u32,
    pub(crate) value_end: u32,
}

impl Field {
    fn name<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.name_start as usize..self.name_end as usize]
    }

    fn value<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.value_start as usize..self.value_end as usize]
    }
}

/// Field lines as spans over some bytes: the one implementation of lookup, used by [`Headers`]
/// and by the head parser before a [`Headers`] exists.
#[derive(Clone, Copy)]
pub(crate) struct FieldLines<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) fields: &'a [Field],
}

impl<'a> FieldLines<'a> {
    /// Whether `field` is called `wanted`. Names are compared as bytes, length first: lookups
    /// run several times per request, and turning each name into a `&str` first would cost a
    /// UTF-8 check per field per lookup.
    fn is_called(self, field: &Field, wanted: &[u8]) -> bool {
        let name = field.name(self.bytes);
        name.len() == wanted.len() && name.eq_ignore_ascii_case(wanted)
    }

    /// Every value of the field called `name`, in the order received.
    pub(crate) fn get_all<'n>(self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.fields
            .iter()
            .filter(move |field| self.is_called(field, name.as_bytes()))
            .map(move |field| field.value(self.bytes))
    }

    /// The first value of the field called `name`.
    pub(crate) fn get(self, name: &str) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|field| self.is_called(field, name.as_bytes()))
            .map(|field| field.value(self.bytes))
    }

    pub(crate) fn contains(self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Where the bytes of a [`Headers`] live.
#[derive(Clone)]
enum FieldBytes {
    /// A received head, shared with the request's other views: nothing was copied.
    Wire(Bytes),
    /// Bytes the list owns: a response built by a handler, or decoded fields that are not wire
    /// bytes (HPACK's output in HTTP/2).
    Owned(Vec<u8>),
}

// ANCHOR: headers
/// An ordered list of header (or trailer) fields.
///
/// Names compare case-insensitively (RFC 9110 section 5.1). Order and duplicates are kept as
/// received, because some fields (`Set-Cookie`) cannot be combined and because the smuggling
/// rules need to see every `Content-Length`.
///
/// Storage is flat: each field is a pair of spans into one byte buffer. For a received request
/// that buffer *is* the request head as it arrived (a reference-counted [`Bytes`]), so parsing
/// copies no name or value; a list built by hand owns its bytes. Appending to a received list
/// copies it into owned storage first, which is rare (a handler reads request fields, it does
/// not add to them).
#[derive(Clone)]
pub struct Headers {
    bytes: FieldBytes,
    fields: Vec<Field>,
}
// ANCHOR_END: headers

impl Default for Headers {
    fn default() -> Headers {
        Headers {
            bytes: FieldBytes::Owned(Vec::new()),
            fields: Vec::new(),
        }
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty list with room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            bytes: FieldBytes::Owned(Vec::with_capacity(bytes)),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Fields that are spans over a received head, which this list then shares.
    pub(crate) fn from_wire(head: Bytes, fields: Vec<Field>) -> Headers {
        Headers {
            bytes: FieldBytes::Wire(head),
            fields,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.bytes {
            FieldBytes::Wire(bytes) => bytes,
            FieldBytes::Owned(bytes) => bytes,
        }
    }

    fn lines(&self) -> FieldLines<'_> {
        FieldLines {
            bytes: self.bytes(),
            fields: &self.fields,
        }
    }

    /// The owned buffer, copying the shared head into one first (spans stay valid: the copy
    /// has the same offsets).
    fn owned_bytes(&mut self) -> &mut Vec<u8> {
        if let FieldBytes::Wire(wire) = &self.bytes {
            self.bytes = FieldBytes::Owned(wire.to_vec());
        }
        match &mut self.bytes {
            FieldBytes::Owned(bytes) => bytes,
            // Replaced just above.
            FieldBytes::Wire(_) => unreachable!("wire bytes were copied into owned ones"),
        }
    }

    /// Adds a field at the end. The name is stored as given; lookups ignore case.
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) {
        let bytes = self.owned_bytes();
        let name_start = bytes.len() as u32;
        bytes.extend_from_slice(name.as_bytes());
        let name_end = bytes.len() as u32;
        bytes.extend_from_slice(value.as_ref());
        let value_end = bytes.len() as u32;
        self.fields.push(Field {
            name_start,
            name_end,
            value_start: name_end,
            value_end,
        });
    }

    /// Removes every field called `name`, then adds it once with `value`.
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.remove(name);
        self.append(name, value);
    }

    /// Removes every field called `name`. The bytes they used stay in the buffer until the
    /// list is dropped: removal is rare and the buffer small.
    pub fn remove(&mut self, name: &str) {
        let bytes = match &self.bytes {
            FieldBytes::Wire(bytes) => &bytes[..],
            FieldBytes::Owned(bytes) => &bytes[..],
        };
        self.fields
            .retain(|field| !field.name(bytes).eq_ignore_ascii_case(name.as_bytes()));
    }

    /// The first value of the field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.lines().get(name)
    }

    /// The first value of `name` if it is UTF-8 (field values are almost always ASCII).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of the field called `name`, in the order received.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.lines().get_all(name)
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field as (name, value), in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let bytes = self.bytes();
        self.fields.iter().map(move |field| {
            // Names only enter through `append(&str, ..)` or from httparse, which accepts only
            // token characters (ASCII) in names, so they are always valid UTF-8.
            (
                std::str::from_utf8(field.name(bytes)).unwrap_or(""),
                field.value(bytes),
            )
        })
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(name, value)| (name, String::from_utf8_lossy(value))),
            )
            .finish()
    }
}

// ANCHOR: byte_str
/// Text that is a view into received bytes: a [`Bytes`] that is known to be UTF-8, so that the
/// request target can be a `&str` without being copied out of the connection's buffer.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ByteStr(Bytes);
// ANCHOR_END: byte_str

impl ByteStr {
    /// Bytes as text, without checking them.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8. The parser calls it for the request target, whose bytes
    /// httparse already checked (it returned them as a `&str`); checking them again would cost
    /// a pass over the target for every request.
    pub(crate) unsafe fn from_utf8_unchecked(bytes: Bytes) -> ByteStr {
        ByteStr(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor takes the bytes from a `&str` (the `From` impls) or from
        // bytes its caller promised are UTF-8 (`from_utf8_unchecked`), and `Bytes` never
        // changes its contents.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The bytes behind the text, shared.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl std::ops::Deref for ByteStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ByteStr {
    fn from(text: &str) -> ByteStr {
        ByteStr(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for ByteStr {
    fn from(text: String) -> ByteStr {
        ByteStr(Bytes::from(text))
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<String> for ByteStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

// ANCHOR: request
/// A complete request as the application sees it: the head and the whole body.
///
/// The body is already de-chunked and bounded by `Limits::max_body`; the application never
/// sees framing. The target, the fields and a `Content-Length` body are views into the bytes
/// the connection received (reference-counted [`Bytes`]), not copies, so a request is cheap to
/// make and still `Send` and `'static`: a driver may hand it to another thread.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// The request-target exactly as received (RFC 9112 section 3.2): usually origin-form,
    /// `/path?query`.
    pub target: ByteStr,
    pub version: Version,
    pub headers: Headers,
    pub body: Bytes,
    /// Trailer fields that followed a chunked body, if any.
    pub trailers: Headers,
    /// The client's address, as the driver accepted the connection: for the access log and for
    /// handlers that care who asks. `None` when the driver did not say (tests, a request built
    /// by hand). A plain value (`core::net`), so the crate still does no network I/O.
    pub peer: Option<SocketAddr>,
    /// Where the body went instead of `body`, when the connection's body-sink hook streamed it
    /// to a sink (an upload written to disk; see [`crate::sink`]); `body` is then empty.
    pub streamed: Option<StreamedBody>,
}
// ANCHOR_END: request

impl Request {
    /// A request with no fields and no body, for tests and for building requests by hand.
    pub fn new(method: Method, target: impl Into<ByteStr>) -> Request {
        Request {
            method,
            target: target.into(),
            version: Version::Http11,
            headers: Headers::new(),
            body: Bytes::new(),
            trailers: Headers::new(),
            peer: None,
            streamed: None,
        }
    }

    /// The path part of the target, still percent-encoded. For an absolute-form target
    /// (`http://host/p?q`) it is the path after the authority.
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        let without_query = target.split_once('?').map_or(target, |(path, _)| path);
        // Origin-form (the usual case) starts with '/'; only then can "://" inside it be part of
        // a path rather than the end of a scheme.
        if without_query.starts_with('/') {
            return without_query;
        }
        match without_query.find("://") {
            Some(scheme_end) => {
                let after_scheme = &without_query[scheme_end + 3..];
                after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
            }
            None => without_query,
        }
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.as_str().split_once('?').map(|(_, query)| query)
    }

    /// The value of `name` in the query string, taken raw (not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

// ANCHOR: body
/// What a response carries. The handler picks the kind; the driver picks how to write it
/// (one `write` of a buffer, `sendfile` of a file region, or chunk after chunk).
pub enum Body {
    /// No content at all.
    Empty,
    /// Bytes in memory. `Bytes` lets a constant body (`/plaintext`) be sent without copying it.
    Bytes(Bytes),
    /// `len` bytes of an open file starting at `offset`, so the driver may use `sendfile`.
    File(FileRegion),
    /// Content produced piece by piece whose length is not known in advance; HTTP/1.1 sends it
    /// with chunked framing.
    Stream(ChunkStream),
}
// ANCHOR_END: body

/// A body produced piece by piece. An `Err` ends the response abruptly (the connection is
/// closed without the final chunk, so the client can tell the content is incomplete).
pub type ChunkStream = Box<dyn Iterator<Item = io::Result<Bytes>> + Send>;

/// A region of an open file.
///
/// The file is held as a plain descriptor: this crate never reads it (that is I/O), it only
/// says which bytes to send; the driver sends them with `sendfile` or reads and writes them.
#[derive(Clone, Debug)]
pub struct FileRegion {
    /// Shared so that a response can be cloned cheaply and several drivers' threads can read it.
    pub file: Arc<OwnedFd>,
    pub offset: u64,
    pub len: u64,
}

impl Body {
    /// The content length when it is known before sending.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(bytes) => Some(bytes.len() as u64),
            Body::File(region) => Some(region.len),
            Body::Stream(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::File(region) => write!(f, "File({} bytes at {})", region.len, region.offset),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Bytes(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::Bytes(bytes)
    }
}

// ANCHOR: response
/// A response as the application produces it. Framing fields (`Content-Length`,
/// `Transfer-Encoding`, `Connection`) and `Date` are added by the protocol layer; a handler
/// sets only what it means.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: Headers,
    pub body: Body,
}
// ANCHOR_END: response

impl Response {
    /// A response with the given status, no fields and no body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: Body::Empty,
        }
    }

    /// A response with a body and its `Content-Type`.
    pub fn with_body(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
        let mut response = Response::new(status);
        response.headers.append("content-type", content_type);
        response.body = body.into();
        response
    }

    /// A short plain-text response, the shape of every error page this server sends.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Response {
        let mut text = text.into();
        text.push('\n');
        Response::with_body(status, "text/plain; charset=utf-8", text)
    }

    /// Adds a field and returns the response, for building responses in one expression.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Response {
        self.headers.append(name, value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case_and_keeps_duplicates() {
        let mut headers = Headers::new();
        headers.append("Content-Length", "5");
        headers.append("Host", "example.com");
        headers.append("content-length", "6");
        assert_eq!(headers.get("CONTENT-LENGTH"), Some(&b"5"[..]));
        assert_eq!(headers.get_all("content-length").count(), 2);
        assert_eq!(headers.get_str("host"), Some("example.com"));
        headers.set("content-length", "7");
        assert_eq!(
            headers.get_all("content-length").collect::<Vec<_>>(),
            [b"7"]
        );
        assert_eq!(headers.len(), 2);
    }

    #[test]
    fn path_and_query_come_from_origin_and_absolute_form() {
        let request = Request::new(Method::Get, "/slow?ms=20&x");
        assert_eq!(request.path(), "/slow");
        assert_eq!(request.query_param("ms"), Some("20"));
        assert_eq!(request.query_param("x"), Some(""));
        assert_eq!(request.query_param("y"), None);
        let absolute = Request::new(Method::Get, "http://example.com/a/b?c=d");
        assert_eq!(absolute.path(), "/a/b");
        assert_eq!(Request::new(Method::Get, "http://example.com").path(), "/");
        // A path that merely contains "://" is still a path.
        assert_eq!(
            Request::new(Method::Get, "/nothing://here/style.css").path(),
            "/nothing://here/style.css"
        );
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::from_token("GET"), Method::Get);
        assert_eq!(Method::from_token("get"), Method::Other("get".into()));
    }
}
