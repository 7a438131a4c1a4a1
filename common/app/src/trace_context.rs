//! The request id of the access log: W3C Trace Context's `traceparent`
//! (<https://www.w3.org/TR/trace-context/>, section 3.2).
//!
//! A request that passes through several servers (a balancer, this one, a service behind it) is
//! one *trace*; each server's part of it is a *span*. A client or proxy that traces sends
//!
//! ```text
//! traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//!              version-trace id (16 bytes)---------parent span id---flags
//! ```
//!
//! and this server logs the same trace id, with the caller's span as the parent of its own, so
//! that its log lines join the caller's. A request without a valid `traceparent` starts a trace
//! of its own, with a random trace id: every access line then has an id to search for. The
//! server's own span id is random too, and [`TraceContext::traceparent`] is the header that
//! passes the trace on to a server this one would call.
//!
//! What is refused, as the standard says (section 3.2.2): version `ff`, upper-case hex, an id of
//! all zeros, a value of the wrong length. A refused header is treated as absent (a new trace),
//! never as an error: tracing must not fail a request.

use std::fmt::Write as _;

use protocol::Request;

// ANCHOR: trace_context
/// This request's place in a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The whole trace's id: the caller's, or a new one.
    pub trace_id: [u8; 16],
    /// The caller's span, when the request came with a valid `traceparent`.
    pub parent_id: Option<[u8; 8]>,
    /// This server's span for the request.
    pub span_id: [u8; 8],
    /// The caller's trace flags (bit 0: sampled), or none set.
    pub flags: u8,
}

impl TraceContext {
    /// The context of `request`: its `traceparent` honoured when valid, else a new trace; the
    /// span id (and a new trace id) from `random`, 24 random bytes.
    pub fn of(request: &Request, random: [u8; 24]) -> TraceContext {
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&random[16..]);
        // An id of all zeros is invalid; a random one is that with odds of one in 2^64.
        span_id[7] |= u8::from(span_id == [0; 8]);
        match request
            .headers
            .get("traceparent")
            .and_then(parse_traceparent)
        {
            Some((trace_id, parent_id, flags)) => TraceContext {
                trace_id,
                parent_id: Some(parent_id),
                span_id,
                flags,
            },
            None => {
                let mut trace_id = [0u8; 16];
                trace_id.copy_from_slice(&random[..16]);
                trace_id[15] |= u8::from(trace_id == [0; 16]);
                TraceContext {
                    trace_id,
                    parent_id: None,
                    span_id,
                    flags: 0,
                }
            }
        }
    }

    /// The `traceparent` that passes the trace on, with this server's span as the parent.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            self.flags
        )
    }
}
// ANCHOR_END: trace_context

/// Lower-case hex, as the header writes ids.
pub fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

// ANCHOR: parse_traceparent
/// The trace id, parent id and flags of a `traceparent` value, or `None` if it is not valid.
fn parse_traceparent(value: &[u8]) -> Option<([u8; 16], [u8; 8], u8)> {
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 octets.
    const LENGTH: usize = 55;
    let head = value.get(..LENGTH)?;
    let version = decode::<1>(&head[0..2])?[0];
    // Version 00 is exactly this long; a later version may add fields after a "-" (3.2.4).
    let fits = match version {
        0xff => false,
        0x00 => value.len() == LENGTH,
        _ => value.len() == LENGTH || value.get(LENGTH) == Some(&b'-'),
    };
    if !fits || head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
        return None;
    }
    let trace_id = decode::<16>(&head[3..35])?;
    let parent_id = decode::<8>(&head[36..52])?;
    let flags = decode::<1>(&head[53..55])?[0];
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some((trace_id, parent_id, flags))
}
// ANCHOR_END: parse_traceparent

/// `N` bytes from `2 * N` lower-case hex digits (upper case is not valid in the header).
fn decode<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Method;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with(traceparent: Option<&str>) -> TraceContext {
        let mut request = Request::new(Method::Get, "/");
        if let Some(value) = traceparent {
            request.headers.append("traceparent", value);
        }
        TraceContext::of(&request, [7; 24])
    }

    #[test]
    fn a_valid_traceparent_is_honoured_and_passed_on() {
        let context = with(Some(VALID));
        assert_eq!(hex(&context.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            context.parent_id.map(|id| hex(&id)).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_eq!(context.flags, 1);
        assert_eq!(
            context.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0707070707070707-01"
        );
    }

    #[test]
    fn a_missing_or_invalid_traceparent_starts_a_new_trace() {
        let invalid = [
            // upper-case hex
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            // version ff
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // all-zero trace id and parent id
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // version 00 with something after it, too short, a wrong separator
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "not a traceparent",
        ];
        for value in invalid.into_iter().map(Some).chain([None]) {
            let context = with(value);
            assert_eq!(context.parent_id, None, "{value:?}");
            assert_eq!(context.trace_id, [7; 16], "{value:?}: a new trace");
            assert_eq!(context.flags, 0);
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_version_00_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        assert!(with(Some(later)).parent_id.is_some());
    }

    #[test]
    fn random_bytes_of_zeros_still_make_valid_ids() {
        let context = TraceContext::of(&Request::new(Method::Get, "/"), [0; 24]);
        assert_ne!(context.trace_id, [0; 16]);
        assert_ne!(context.span_id, [0; 8]);
    }
}
