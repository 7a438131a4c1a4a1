//! The bytes of the `503 Service Unavailable` a server sends to a connection it will not serve,
//! before reading anything from it (every stage's answer past `max_connections`), and of the
//! other answers sent without a request to answer ([`closing_response`]).
//!
//! This is not a response to a request, so it does not go through a [`Connection`]: the driver
//! accepts, writes these bytes, closes. But it is HTTP/1.1 on the wire all the same, so its
//! framing is written here, next to the response writer, and not by hand in each driver: a
//! status line, `Date` (a server with a clock must send it, RFC 9110 section 6.6.1),
//! `Retry-After`, `Content-Length` and `Connection: close`. The words of the body are the
//! driver's: they name the server's own limit, which this crate knows nothing about.
//!
//! [`Connection`]: crate::Connection

use std::io::Write;
use std::time::SystemTime;

use crate::message::StatusCode;

// ANCHOR: refusal
/// A complete `503` response whose body is `explanation` (plain text), asking the client to try
/// again after `retry_after_secs` seconds, and saying that the connection closes after it.
///
/// The client has not been read from, so there is no request version to answer in: the status
/// line says HTTP/1.1, which an HTTP/1.0 client reads as well (RFC 9110 section 6.2).
pub fn refusal(date: SystemTime, retry_after_secs: u32, explanation: &str) -> Vec<u8> {
    let retry_after = retry_after_secs.to_string();
    closing_response(
        StatusCode::SERVICE_UNAVAILABLE,
        date,
        &[("retry-after", &retry_after)],
        explanation,
    )
}

/// A complete response with `status`, `fields` and the plain-text body `explanation`, saying
/// that the connection closes after it: for the answers a driver sends without a request to
/// answer in, such as the `503` above, or stage 06's `400` to plain HTTP on its TLS port.
pub fn closing_response(
    status: StatusCode,
    date: SystemTime,
    fields: &[(&str, &str)],
    explanation: &str,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(192 + explanation.len());
    // Writing into a Vec cannot fail.
    let _ = write!(
        bytes,
        "HTTP/1.1 {} {}\r\ndate: {}\r\n",
        status.as_u16(),
        status.reason(),
        httpdate::fmt_http_date(date),
    );
    for (name, value) in fields {
        let _ = write!(bytes, "{name}: {value}\r\n");
    }
    let _ = write!(
        bytes,
        "content-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\n\
         connection: close\r\n\
         \r\n",
        explanation.len(),
    );
    bytes.extend_from_slice(explanation.as_bytes());
    bytes
}
// ANCHOR_END: refusal

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// Parses `bytes` as a response the way a client would, returning the fields and the body.
    fn parse(bytes: &[u8]) -> (u16, Vec<(String, String)>, &[u8]) {
        let mut fields = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut fields);
        let httparse::Status::Complete(head_len) =
            response.parse(bytes).expect("the refusal parses")
        else {
            panic!("the refusal's head is complete");
        };
        let fields = response
            .headers
            .iter()
            .map(|field| {
                let value = std::str::from_utf8(field.value).expect("ASCII field values");
                (field.name.to_ascii_lowercase(), value.to_owned())
            })
            .collect();
        (
            response.code.expect("a status code"),
            fields,
            &bytes[head_len..],
        )
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn a_client_reads_a_framed_503_that_closes() {
        let date = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let bytes = refusal(date, 3, "full, try later\n");
        let (status, fields, body) = parse(&bytes);
        assert_eq!(status, 503);
        assert_eq!(body, b"full, try later\n");
        assert_eq!(field(&fields, "content-length"), Some("16"));
        assert_eq!(field(&fields, "retry-after"), Some("3"));
        assert_eq!(field(&fields, "connection"), Some("close"));
        assert_eq!(
            field(&fields, "date"),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert!(bytes.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
    }

    #[test]
    fn content_length_counts_bytes_not_characters() {
        let bytes = refusal(SystemTime::UNIX_EPOCH, 1, "plein \u{2014} réessayez");
        let (_, fields, body) = parse(&bytes);
        assert_eq!(
            field(&fields, "content-length"),
            Some(body.len().to_string().as_str())
        );
    }
}
