//! HTTP requests and responses over HTTP/2 (RFC 9113 section 8): from a decoded field list to
//! a [`Request`], and from a [`Response`] to the field list to encode.
//!
//! HTTP/2 carries the request line as pseudo-header fields (`:method`, `:scheme`,
//! `:authority`, `:path`, section 8.3) in front of the ordinary fields, all lowercase and
//! HPACK-compressed. Everything here is a pure function of the fields HPACK decoded, so every
//! rule can be tested on its own; the connection machine calls them:
//!
//! ```text
//!   HEADERS (+ CONTINUATION) --HPACK--> fields --request()------> Request + BodyCheck
//!   DATA ...                                     BodyCheck::data / finish
//!   HEADERS with END_STREAM  --HPACK--> fields --trailers()-----> Request.trailers
//!   Response from the app    <--HPACK-- fields <-response_head()- Response
//! ```
//!
//! "These requirements are intended to protect against several types of common attacks
//! against HTTP; they are deliberately strict because being permissive can expose
//! implementations to these vulnerabilities." (section 8.1.1) So every rule broken makes the
//! request malformed: [`RequestError::Malformed`], the stream error PROTOCOL_ERROR that
//! "Malformed requests or responses that are detected MUST be treated as" (section 8.1.1),
//! with a `why` naming the rule. A request that breaks no rule but is larger than
//! [`Limits`] allows is [`RequestError::TooLarge`] instead, answered with 431, 414 or 413
//! like HTTP/1.1 answers it: a client that sent a large cookie deserves to be told so.
//!
//! What the connection layer does with the errors: for `Malformed`, RST_STREAM with
//! PROTOCOL_ERROR (a 400 response first is allowed: "For malformed requests, a server MAY send
//! an HTTP response prior to closing or resetting the stream"); for `TooLarge`, the response
//! of [`Limit::status`] with END_STREAM, and then, if the client has not ended its side,
//! RST_STREAM with NO_ERROR: "a server MAY request that the client abort transmission of a
//! request without error by sending a RST_STREAM with an error code of NO_ERROR after sending
//! a complete response" (section 8.1). Either way the HPACK block was decoded in full first,
//! so the compression context stays in step.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;

use super::error::{Error, Reason};
use crate::limits::Limits;
use crate::message::{ByteStr, Headers, Method, Request, Response, StatusCode, Version};
use fields::{
    check_name, check_not_connection_specific, check_value, content_length_value,
    is_valid_authority, is_valid_scheme, token_str, trim_whitespace,
};

/// What each field adds to the size of a field list beyond its name and value: "The value is
/// based on the uncompressed size of header fields, including the length of the name and
/// value in octets plus an overhead of 32 octets for each header field." (section 6.5.2,
/// SETTINGS_MAX_HEADER_LIST_SIZE) `Limits::max_head_bytes` is measured this way, so it can be
/// announced as that setting.
pub const FIELD_OVERHEAD: usize = 32;

/// Fields that belong to one HTTP/1.1 connection and have no meaning in HTTP/2: "This
/// includes the Connection header field and those listed as having connection-specific
/// semantics in Section 7.6.1 of \[HTTP\] (that is, Proxy-Connection, Keep-Alive,
/// Transfer-Encoding, and Upgrade)." (section 8.2.2)
pub const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
];

/// Why a request cannot go to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The request breaks a rule of section 8: the stream error PROTOCOL_ERROR to send.
    Malformed(Error),
    /// The request is well-formed but larger than a limit: answer `limit.status()`.
    TooLarge { stream: u32, limit: Limit },
}

/// Which limit of [`Limits`] a request went past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// More regular fields than `max_headers` (431).
    HeaderCount,
    /// A field list larger than `max_head_bytes`, counted as section 6.5.2 counts (431).
    HeaderBytes,
    /// A `:path` longer than `max_request_line` (414).
    PathLength,
    /// A `content-length` above `max_body`, refused before any DATA is read (413).
    DeclaredBody,
    /// DATA past `max_body` (413, or a reset if the response has begun).
    ReceivedBody,
    /// A trailer section larger than `max_trailer_bytes` (431).
    TrailerBytes,
}

impl Limit {
    /// The status code that answers a request past this limit.
    pub fn status(self) -> StatusCode {
        match self {
            Limit::HeaderCount | Limit::HeaderBytes | Limit::TrailerBytes => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Limit::PathLength => StatusCode::URI_TOO_LONG,
            Limit::DeclaredBody | Limit::ReceivedBody => StatusCode::CONTENT_TOO_LARGE,
        }
    }
}

impl RequestError {
    /// The stream the request arrived on.
    pub fn stream(&self) -> u32 {
        match *self {
            RequestError::Malformed(Error::Stream { stream, .. }) => stream,
            RequestError::TooLarge { stream, .. } => stream,
            // Every `Malformed` is built by `malformed` below, as a stream error.
            RequestError::Malformed(Error::Connection { .. }) => 0,
        }
    }

    /// The status code of the response a server may send before ending the stream: 400 for a
    /// malformed request ("an implementation SHOULD generate a 400 (Bad Request) status
    /// code", section 8.2.1), the limit's own code otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Malformed(_) => StatusCode::BAD_REQUEST,
            RequestError::TooLarge { limit, .. } => limit.status(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Malformed(error) => write!(f, "malformed request: {error}"),
            RequestError::TooLarge { stream, limit } => {
                let what = match limit {
                    Limit::HeaderCount => "has more header fields than the limit",
                    Limit::HeaderBytes => "has a header list larger than the limit",
                    Limit::PathLength => "has a :path longer than the limit",
                    Limit::DeclaredBody => "declares a content-length above the body limit",
                    Limit::ReceivedBody => "sent more content than the body limit",
                    Limit::TrailerBytes => "has a trailer section larger than the limit",
                };
                write!(f, "the request on stream {stream} {what}")
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// A request as its HEADERS described it, and the check its DATA must pass.
#[derive(Debug)]
pub struct RequestHead {
    /// The request, with an empty body and no trailers yet.
    pub request: Request,
    /// Follows the DATA frames against the declared `content-length` and the body limit.
    pub body: BodyCheck,
}

// ANCHOR: request
/// Builds the request that the field list `fields` of stream `stream` describes (in the order
/// HPACK decoded them), or says which rule of section 8 it breaks. The first rule broken, in
/// field order, is the one reported.
///
/// `:authority` becomes a `host` field when there is none; several `cookie` fields become one
/// (section 8.2.3); pseudo-header fields do not appear among the request's fields.
pub fn request(
    stream: u32,
    fields: impl IntoIterator<Item = (Bytes, Bytes)>,
    limits: &Limits,
) -> Result<RequestHead, RequestError> {
    let (request, content_length) = request_without_body_check(stream, fields, limits)?;
    let body = BodyCheck::new(stream, content_length, limits)?;
    Ok(RequestHead { request, body })
}

/// [`request`] without the check of the declared `content-length` against the body limit:
/// the request and its declared length, for a connection whose body-sink hook (`crate::sink`)
/// decides the limit from the request ([`BodyCheck::with_limit`]).
pub fn request_without_body_check(
    stream: u32,
    fields: impl IntoIterator<Item = (Bytes, Bytes)>,
    limits: &Limits,
) -> Result<(Request, Option<u64>), RequestError> {
    let malformed = |why| malformed(stream, why);
    let too_large = |limit| RequestError::TooLarge { stream, limit };
    let mut pseudo = Pseudo::default();
    let mut headers = Headers::new();
    let mut list_size = 0usize;
    let mut regular = 0usize;
    let mut content_length: Option<u64> = None;
    let mut host: Option<Bytes> = None;
    let mut cookies: Vec<Bytes> = Vec::new();
    for (name, value) in fields {
        list_size = list_size
            .saturating_add(name.len())
            .saturating_add(value.len())
            .saturating_add(FIELD_OVERHEAD);
        if list_size > limits.max_head_bytes {
            return Err(too_large(Limit::HeaderBytes));
        }
        check_value(&value).map_err(malformed)?;
        if let Some(pseudo_name) = name.strip_prefix(b":") {
            // "All pseudo-header fields MUST appear in a field block before all regular field
            // lines." (section 8.3)
            if regular > 0 {
                return Err(malformed("a pseudo-header field after a regular field"));
            }
            pseudo.set(pseudo_name, value).map_err(malformed)?;
            continue;
        }
        regular += 1;
        if regular > limits.max_headers {
            return Err(too_large(Limit::HeaderCount));
        }
        let name = check_name(&name).map_err(malformed)?;
        check_not_connection_specific(name, &value).map_err(malformed)?;
        match name {
            "content-length" => {
                let length = content_length_value(&value).map_err(malformed)?;
                // RFC 9110 section 8.6: several values must all be the same number.
                if content_length.is_some_and(|earlier| earlier != length) {
                    return Err(malformed("content-length values that differ"));
                }
                content_length = Some(length);
            }
            "host" => {
                // One authority per request, as RFC 9112 section 3.2 demands of HTTP/1.1: the
                // application reads `host` the same way for both.
                if host.is_some() {
                    return Err(malformed("more than one host field"));
                }
                if !is_valid_authority(&value) {
                    return Err(malformed("a host field that is not host[:port]"));
                }
                host = Some(value.clone());
            }
            "cookie" => {
                cookies.push(value);
                continue;
            }
            _ => {}
        }
        headers.append(name, &value);
    }
    // "If there are multiple Cookie header fields after decompression, these MUST be
    // concatenated into a single octet string using the two-octet delimiter of 0x3b, 0x20
    // (the ASCII string "; ") before being passed into [...] a generic HTTP server
    // application." (section 8.2.3)
    if !cookies.is_empty() {
        headers.append("cookie", cookies.join(&b"; "[..]));
    }

    let (method, target) = control_data(stream, &pseudo, host.is_some(), limits)?;
    // "The recipient of an HTTP/2 request MUST NOT use the Host header field to determine the
    // target URI if :authority is present." "A server SHOULD treat a request as malformed if
    // it contains a Host header field that identifies an entity that differs from the entity
    // in the :authority pseudo-header field." (section 8.3.1) Host names compare without case.
    match (&pseudo.authority, &host) {
        (Some(authority), Some(host)) if !authority.eq_ignore_ascii_case(host) => {
            return Err(malformed("the host field differs from :authority"));
        }
        (Some(authority), None) => headers.append("host", authority),
        _ => {}
    }
    let request = Request {
        method,
        target,
        version: Version::Http2,
        headers,
        body: Bytes::new(),
        trailers: Headers::new(),
        peer: None,
        streamed: None,
    };
    Ok((request, content_length))
}
// ANCHOR_END: request

/// The trailer section of stream `stream`'s request: the fields of a HEADERS frame that
/// came after the request's HEADERS. `end_stream` is whether that frame carried END_STREAM.
pub fn trailers(
    stream: u32,
    fields: impl IntoIterator<Item = (Bytes, Bytes)>,
    end_stream: bool,
    limits: &Limits,
) -> Result<Headers, RequestError> {
    let malformed = |why| malformed(stream, why);
    // "An endpoint that receives a HEADERS frame without the END_STREAM flag set after
    // receiving the HEADERS frame that opens a request [...] MUST treat the corresponding
    // request or response as malformed" (section 8.1)
    if !end_stream {
        return Err(malformed(
            "a second HEADERS frame that does not end the stream",
        ));
    }
    let mut trailers = Headers::new();
    let mut size = 0usize;
    for (name, value) in fields {
        size = size
            .saturating_add(name.len())
            .saturating_add(value.len())
            .saturating_add(FIELD_OVERHEAD);
        if size > limits.max_trailer_bytes {
            return Err(RequestError::TooLarge {
                stream,
                limit: Limit::TrailerBytes,
            });
        }
        // "Trailers MUST NOT include pseudo-header fields" (section 8.1)
        if name.starts_with(b":") {
            return Err(malformed("a pseudo-header field in trailers"));
        }
        if trailers.len() >= limits.max_headers {
            return Err(RequestError::TooLarge {
                stream,
                limit: Limit::HeaderCount,
            });
        }
        check_value(&value).map_err(malformed)?;
        let name = check_name(&name).map_err(malformed)?;
        check_not_connection_specific(name, &value).map_err(malformed)?;
        trailers.append(name, &value);
    }
    Ok(trailers)
}

// ANCHOR: body_check
/// Follows a request's DATA against what its head declared and what the server accepts.
///
/// "A request or response is also malformed if the value of a content-length header field
/// does not equal the sum of the DATA frame payload lengths that form the content" (section
/// 8.1.1). "Payload" there is the data only: padding is not content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyCheck {
    stream: u32,
    declared: Option<u64>,
    received: u64,
    max_body: u64,
}
// ANCHOR_END: body_check

impl BodyCheck {
    /// The check for a body declared as `declared` octets (or not declared), refused at once
    /// when the declaration is above `Limits::max_body`, before any of it is read.
    pub fn new(
        stream: u32,
        declared: Option<u64>,
        limits: &Limits,
    ) -> Result<BodyCheck, RequestError> {
        BodyCheck::with_limit(stream, declared, limits.max_body)
    }

    /// The check for a body declared as `declared` octets, bounded by `max_body` (a body
    /// sink's limit) instead of `Limits::max_body`.
    pub fn with_limit(
        stream: u32,
        declared: Option<u64>,
        max_body: u64,
    ) -> Result<BodyCheck, RequestError> {
        if declared.is_some_and(|length| length > max_body) {
            return Err(RequestError::TooLarge {
                stream,
                limit: Limit::DeclaredBody,
            });
        }
        Ok(BodyCheck {
            stream,
            declared,
            received: 0,
            max_body,
        })
    }

    /// The declared `content-length`, if there was one.
    pub fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// The octets of data received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// A DATA frame with `len` octets of data (padding excluded) arrived.
    pub fn data(&mut self, len: usize) -> Result<(), RequestError> {
        let received = self.received.saturating_add(len as u64);
        if self.declared.is_some_and(|declared| received > declared) {
            return Err(malformed(
                self.stream,
                "more DATA than content-length declares",
            ));
        }
        if received > self.max_body {
            return Err(RequestError::TooLarge {
                stream: self.stream,
                limit: Limit::ReceivedBody,
            });
        }
        self.received = received;
        Ok(())
    }

    /// The request ended (END_STREAM): the data must add up to what was declared.
    pub fn finish(&self) -> Result<(), RequestError> {
        match self.declared {
            Some(declared) if declared != self.received => Err(malformed(
                self.stream,
                "the DATA frames do not add up to content-length",
            )),
            _ => Ok(()),
        }
    }
}

/// One field of a response head as (name, value): borrowed from the [`Response`] where it
/// can be, owned where it had to be made (a lowercased name, the status digits, `date`).
pub type ResponseField<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A response's field list, ready for HPACK, and whether DATA follows it.
#[derive(Debug)]
pub struct ResponseHead<'a> {
    /// `:status` first, then the handler's fields (lowercased, connection-specific ones
    /// removed), `date` and `content-length`.
    pub fields: Vec<ResponseField<'a>>,
    /// Whether DATA frames follow; when not, the HEADERS frame carries END_STREAM.
    pub has_body: bool,
}

// ANCHOR: response_head
/// The field list that carries `response`'s head, answering a request that was a HEAD
/// request if `is_head`, on `date`.
///
/// The same decisions as HTTP/1.1's writer: `date` and `content-length` are the server's own
/// (a handler's values for them are dropped), 1xx, 204 and 304 carry no `content-length`, and
/// HEAD, 204 and 304 responses carry no content. Beyond those, what HTTP/2 demands:
///
/// - "Field names MUST be converted to lowercase when constructing an HTTP/2 message."
///   (section 8.2)
/// - "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific header
///   fields" (section 8.2.2), nor `te`, which only a request may carry.
/// - A field the client would have to treat as malformed (section 8.2.1: a name outside the
///   token set, NUL, CR or LF in a value) is dropped, and whitespace around a value is
///   trimmed, rather than letting one bad field cost the client the whole response.
pub fn response_head(response: &Response, is_head: bool, date: SystemTime) -> ResponseHead<'_> {
    let status = response.status;
    let mut fields: Vec<ResponseField<'_>> = Vec::with_capacity(response.headers.len() + 3);
    fields.push((
        Cow::Borrowed(&b":status"[..]),
        Cow::Owned(status_digits(status).to_vec()),
    ));
    for (name, value) in response.headers.iter() {
        let name = lowercase(name.as_bytes());
        let Ok(checked) = check_name(&name) else {
            continue;
        };
        if SET_BY_SERVER.contains(&checked)
            || CONNECTION_SPECIFIC.contains(&checked)
            || checked == "te"
        {
            continue;
        }
        let value = trim_whitespace(value);
        if check_value(value).is_err() {
            continue;
        }
        fields.push((name, Cow::Borrowed(value)));
    }
    fields.push((
        Cow::Borrowed(&b"date"[..]),
        Cow::Owned(httpdate::fmt_http_date(date).into_bytes()),
    ));
    let length = response.body.len();
    // "A response that is defined to have no content [...] MAY have a non-zero content-length
    // header field" (section 8.1.1); HTTP/1.1's rule is kept: 1xx and 204 must not have one
    // (RFC 9110 section 8.6), and 304 goes without too.
    if let (Some(length), false) = (length, status.forbids_body()) {
        fields.push((
            Cow::Borrowed(&b"content-length"[..]),
            Cow::Owned(length.to_string().into_bytes()),
        ));
    }
    let has_body = !is_head && !status.forbids_body() && length != Some(0);
    ResponseHead { fields, has_body }
}
// ANCHOR_END: response_head

/// Fields the response writer sets itself, whatever the handler put there.
const SET_BY_SERVER: [&str; 2] = ["content-length", "date"];

/// The request pseudo-header fields (section 8.3.1), each at most once.
#[derive(Default)]
struct Pseudo {
    method: Option<Bytes>,
    scheme: Option<Bytes>,
    authority: Option<Bytes>,
    path: Option<Bytes>,
}

impl Pseudo {
    /// Takes the pseudo-header field `:name`.
    fn set(&mut self, name: &[u8], value: Bytes) -> Result<(), &'static str> {
        let slot = match name {
            b"method" => &mut self.method,
            b"scheme" => &mut self.scheme,
            b"authority" => &mut self.authority,
            b"path" => &mut self.path,
            // "pseudo-header fields defined for responses MUST NOT appear in requests"
            b"status" => return Err(":status is a response pseudo-header field"),
            // "Endpoints MUST treat a request or response that contains undefined or invalid
            // pseudo-header fields as malformed" (section 8.3)
            _ => return Err("an undefined pseudo-header field"),
        };
        // "The same pseudo-header field name MUST NOT appear more than once in a field block."
        if slot.is_some() {
            return Err("a pseudo-header field repeated");
        }
        *slot = Some(value);
        Ok(())
    }
}

/// The method and target the pseudo-header fields give, by the rules of sections 8.3.1 and
/// 8.5. `has_host` is whether a `host` field came with them.
fn control_data(
    stream: u32,
    pseudo: &Pseudo,
    has_host: bool,
    limits: &Limits,
) -> Result<(Method, ByteStr), RequestError> {
    let malformed = |why| malformed(stream, why);
    // "All HTTP/2 requests MUST include exactly one valid value for the :method, :scheme,
    // and :path pseudo-header fields, unless they are CONNECT requests" (section 8.3.1)
    let Some(method) = &pseudo.method else {
        return Err(malformed(":method is missing"));
    };
    let method = token_str(method).ok_or_else(|| malformed(":method is not a token"))?;
    let method = Method::from_token(method);
    if let Some(authority) = &pseudo.authority {
        // "`:authority` MUST NOT include the deprecated userinfo subcomponent for http or
        // https schemed URIs": `@` is outside the host characters, so this refuses it.
        if authority.is_empty() || !is_valid_authority(authority) {
            return Err(malformed(":authority is not host[:port]"));
        }
    }
    if method == Method::Connect {
        // "The :scheme and :path pseudo-header fields MUST be omitted. The :authority
        // pseudo-header field contains the host and port to connect to" (section 8.5)
        if pseudo.scheme.is_some() || pseudo.path.is_some() {
            return Err(malformed("a CONNECT request with :scheme or :path"));
        }
        let Some(authority) = &pseudo.authority else {
            return Err(malformed("a CONNECT request without :authority"));
        };
        if !authority.contains(&b':') {
            return Err(malformed("a CONNECT request's :authority without a port"));
        }
        // SAFETY: `is_valid_authority` accepted only ASCII bytes, which are valid UTF-8.
        let target = unsafe { ByteStr::from_utf8_unchecked(authority.clone()) };
        return Ok((method, target));
    }
    let Some(scheme) = &pseudo.scheme else {
        return Err(malformed(":scheme is missing"));
    };
    if !is_valid_scheme(scheme) {
        return Err(malformed(":scheme is not a URI scheme"));
    }
    let Some(path) = &pseudo.path else {
        return Err(malformed(":path is missing"));
    };
    // "This pseudo-header field MUST NOT be empty for http or https URIs"; "A request in
    // asterisk form (for OPTIONS) includes the value '*' for the :path pseudo-header field."
    if path.is_empty() {
        return Err(malformed(":path is empty"));
    }
    if &path[..] == b"*" {
        if method != Method::Options {
            return Err(malformed(":path is '*' in a request other than OPTIONS"));
        }
    } else if !path.starts_with(b"/") {
        return Err(malformed(":path does not start with '/'"));
    }
    if !path.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(malformed(":path has a byte that a URI cannot contain"));
    }
    if path.len() > limits.max_request_line {
        return Err(RequestError::TooLarge {
            stream,
            limit: Limit::PathLength,
        });
    }
    // "If the :scheme pseudo-header field identifies a scheme that has a mandatory authority
    // component (including http and https), the request MUST contain either an :authority
    // pseudo-header field or a Host header field." (section 8.3.1)
    let needs_authority =
        scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https");
    if needs_authority && pseudo.authority.is_none() && !has_host {
        return Err(malformed(
            "neither :authority nor host in an http(s) request",
        ));
    }
    // SAFETY: every byte of `path` was just checked to be visible ASCII, so it is UTF-8.
    let target = unsafe { ByteStr::from_utf8_unchecked(path.clone()) };
    Ok((method, target))
}

fn malformed(stream: u32, why: &'static str) -> RequestError {
    RequestError::Malformed(Error::stream(stream, Reason::PROTOCOL_ERROR, why))
}

/// The three digits of `:status`. A code outside 100-999 cannot be sent as one, and only a
/// handler bug makes one: it goes out as 500.
fn status_digits(status: StatusCode) -> [u8; 3] {
    let code = match status.as_u16() {
        code @ 100..=999 => code,
        _ => StatusCode::INTERNAL_SERVER_ERROR.as_u16(),
    };
    // Each digit is below 10, so the casts keep it.
    [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ]
}

/// `name` in lowercase, borrowed when it already is.
fn lowercase(name: &[u8]) -> Cow<'_, [u8]> {
    if name.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

mod fields;
#[cfg(test)]
mod tests;
