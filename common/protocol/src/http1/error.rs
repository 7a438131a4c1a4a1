//! Why a request was refused, and which status code says so.
//!
//! Every way a request can be malformed or too large is one variant here, and [`RequestError::status`]
//! is the single place that maps them to 400, 408, 413, 414, 417, 431, 501 or 505 (hyper keeps the
//! same one-function mapping). After any of them the connection is closed: once framing is in
//! doubt, no later byte on the connection can be trusted to start a new request.

use std::fmt;

use crate::message::StatusCode;
use crate::sink::SinkError;

// ANCHOR: request_error
/// A request the server refuses to process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The request line or a header field breaks the grammar of RFC 9112 sections 3 and 5
    /// (httparse said which part).
    MalformedHead(&'static str),
    /// `HTTP/x.y` with a version other than 1.0 and 1.1.
    UnsupportedVersion,
    /// The request-target is not in a form this server accepts (RFC 9112 section 3.2).
    InvalidTarget,
    /// The request line is longer than `Limits::max_request_line`.
    RequestLineTooLong,
    /// The head is longer than `Limits::max_head_bytes`.
    HeadTooLarge,
    /// More header fields than `Limits::max_headers`.
    TooManyHeaders,
    /// An HTTP/1.1 request without `Host` (RFC 9112 section 3.2).
    MissingHost,
    /// More than one `Host` field (RFC 9112 section 3.2).
    DuplicateHost,
    /// A `Host` value that is not `uri-host [ ":" port ]`.
    InvalidHost,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 section 6.3, rule 3): the classic
    /// request-smuggling ambiguity, refused rather than resolved.
    ContentLengthWithTransferEncoding,
    /// A `Content-Length` that is not plain decimal digits (RFC 9110 section 8.6).
    InvalidContentLength,
    /// `Content-Length` values that differ.
    ConflictingContentLength,
    /// `Transfer-Encoding` whose last coding is not `chunked`: the body length cannot be known
    /// (RFC 9112 section 6.3, rule 4).
    ChunkedNotLast,
    /// `chunked` applied more than once (RFC 9112 section 6.1).
    ChunkedTwice,
    /// A transfer coding this server does not implement, before the final `chunked` (RFC 9112
    /// section 6.1: 501).
    UnsupportedTransferCoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request, whose framing must then be treated as faulty
    /// (RFC 9112 section 6.1).
    TransferEncodingInHttp10,
    /// An `Expect` value other than `100-continue` (RFC 9110 section 10.1.1).
    UnsupportedExpectation,
    /// The declared or received body is larger than `Limits::max_body`.
    BodyTooLarge,
    /// A chunked body breaks the grammar of RFC 9112 section 7.1.
    MalformedChunk(&'static str),
    /// Chunk extensions longer in total than `Limits::max_chunk_extensions`.
    ChunkExtensionsTooLong,
    /// A trailer section longer than `Limits::max_trailer_bytes`.
    TrailersTooLarge,
    /// The head (or the next piece of the body) did not arrive within `Limits::header_timeout`.
    Timeout,
    /// The body sink the application gave for this request refused its body (a malformed
    /// upload, a full disk): answered with the sink's own status (see [`crate::sink`]).
    Sink(SinkError),
}
// ANCHOR_END: request_error

impl RequestError {
    // ANCHOR: status
    /// The status code the server answers this error with.
    pub fn status(&self) -> StatusCode {
        use RequestError::*;
        match self {
            RequestLineTooLong => StatusCode::URI_TOO_LONG,
            HeadTooLarge | TooManyHeaders | TrailersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            BodyTooLarge => StatusCode::CONTENT_TOO_LARGE,
            Sink(error) => error.status,
            Timeout => StatusCode::REQUEST_TIMEOUT,
            UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
            UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            MalformedHead(_)
            | InvalidTarget
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | ContentLengthWithTransferEncoding
            | InvalidContentLength
            | ConflictingContentLength
            | ChunkedNotLast
            | ChunkedTwice
            | TransferEncodingInHttp10
            | MalformedChunk(_)
            | ChunkExtensionsTooLong => StatusCode::BAD_REQUEST,
        }
    }
    // ANCHOR_END: status
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RequestError::*;
        match self {
            MalformedHead(part) => write!(f, "malformed request head: invalid {part}"),
            UnsupportedVersion => f.write_str("only HTTP/1.0 and HTTP/1.1 are supported here"),
            InvalidTarget => f.write_str("the request-target is not origin-form, absolute-form, '*' (OPTIONS) or authority-form (CONNECT)"),
            RequestLineTooLong => f.write_str("the request line is longer than the limit"),
            HeadTooLarge => f.write_str("the request head is larger than the limit"),
            TooManyHeaders => f.write_str("the request has more header fields than the limit"),
            MissingHost => f.write_str("an HTTP/1.1 request must have a Host field"),
            DuplicateHost => f.write_str("the request has more than one Host field"),
            InvalidHost => f.write_str("the Host field is not a valid host[:port]"),
            ContentLengthWithTransferEncoding => {
                f.write_str("Content-Length and Transfer-Encoding together make the body length ambiguous")
            }
            InvalidContentLength => f.write_str("Content-Length is not a plain decimal number"),
            ConflictingContentLength => f.write_str("the request has Content-Length values that differ"),
            ChunkedNotLast => f.write_str("the last transfer coding is not chunked, so the body length is unknown"),
            ChunkedTwice => f.write_str("chunked is applied more than once"),
            UnsupportedTransferCoding => f.write_str("a transfer coding other than chunked is not implemented"),
            TransferEncodingInHttp10 => f.write_str("Transfer-Encoding is not allowed in an HTTP/1.0 request"),
            UnsupportedExpectation => f.write_str("the only expectation supported is 100-continue"),
            BodyTooLarge => f.write_str("the request body is larger than the limit"),
            MalformedChunk(what) => write!(f, "malformed chunked body: {what}"),
            ChunkExtensionsTooLong => f.write_str("the chunk extensions are longer than the limit"),
            TrailersTooLarge => f.write_str("the trailer section is larger than the limit"),
            Timeout => f.write_str("the request did not arrive in time"),
            Sink(error) => write!(f, "the request body was refused: {error}"),
        }
    }
}

impl std::error::Error for RequestError {}
