//! HTTP/2 error codes and the two kinds of error (RFC 9113 sections 5.4 and 7).
//!
//! RFC 9113 section 5.4: "HTTP/2 framing permits two classes of errors: An error condition that
//! renders the entire connection unusable is a connection error. An error in an individual
//! stream is a stream error." A connection error ends the connection with GOAWAY; a stream
//! error ends one stream with RST_STREAM and the others carry on. The two are kept apart in
//! the type ([`Error::Connection`] and [`Error::Stream`]) so that no code can answer one with
//! the other by accident.

use std::fmt;

/// An HTTP/2 error code (RFC 9113 section 7), as carried by RST_STREAM and GOAWAY.
///
/// A newtype over the 32-bit value rather than an enum: "Unknown or unsupported error codes
/// MUST NOT trigger any special behavior" (section 7), so a code this crate has no name for
/// must still be representable, passed on and printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason(pub u32);

impl Reason {
    /// The graceful end of a connection or stream; not an error.
    pub const NO_ERROR: Reason = Reason(0x0);
    /// The peer broke the protocol and no more specific code applies.
    pub const PROTOCOL_ERROR: Reason = Reason(0x1);
    /// Something went wrong inside this endpoint.
    pub const INTERNAL_ERROR: Reason = Reason(0x2);
    /// The peer broke the flow-control rules.
    pub const FLOW_CONTROL_ERROR: Reason = Reason(0x3);
    /// The peer did not acknowledge our SETTINGS in time.
    pub const SETTINGS_TIMEOUT: Reason = Reason(0x4);
    /// A frame arrived for a stream that was already half-closed (remote) or closed.
    pub const STREAM_CLOSED: Reason = Reason(0x5);
    /// A frame had a length that its type does not allow.
    pub const FRAME_SIZE_ERROR: Reason = Reason(0x6);
    /// The stream was refused before any application work was done; safe to retry.
    pub const REFUSED_STREAM: Reason = Reason(0x7);
    /// The stream is no longer needed.
    pub const CANCEL: Reason = Reason(0x8);
    /// The header compression context cannot be kept in step (HPACK failed).
    pub const COMPRESSION_ERROR: Reason = Reason(0x9);
    /// A CONNECT tunnel's connection failed.
    pub const CONNECT_ERROR: Reason = Reason(0xa);
    /// The peer behaves in a way that may be an attack: too many resets, floods.
    pub const ENHANCE_YOUR_CALM: Reason = Reason(0xb);
    /// The transport does not meet the minimum security requirements.
    pub const INADEQUATE_SECURITY: Reason = Reason(0xc);
    /// The endpoint requires HTTP/1.1 instead of HTTP/2.
    pub const HTTP_1_1_REQUIRED: Reason = Reason(0xd);

    /// The code's name as RFC 9113 section 7 spells it, if the RFC names it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown error code {:#x}", self.0),
        }
    }
}

/// Something the peer did wrong, classed as RFC 9113 section 5.4 classes it.
///
/// `why` is a short sentence for the log that says which rule was broken, usually in the RFC's
/// own words; it is never sent to the peer (GOAWAY's debug data stays empty, so nothing about
/// the server leaks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The whole connection is unusable: send GOAWAY with `reason` and close.
    Connection { reason: Reason, why: &'static str },
    /// Only stream `stream` is: send RST_STREAM with `reason`; other streams continue.
    Stream {
        stream: u32,
        reason: Reason,
        why: &'static str,
    },
}

impl Error {
    /// A connection error (section 5.4.1).
    pub const fn connection(reason: Reason, why: &'static str) -> Error {
        Error::Connection { reason, why }
    }

    /// A stream error on `stream` (section 5.4.2).
    pub const fn stream(stream: u32, reason: Reason, why: &'static str) -> Error {
        Error::Stream {
            stream,
            reason,
            why,
        }
    }

    /// The error code to send.
    pub fn reason(&self) -> Reason {
        match *self {
            Error::Connection { reason, .. } | Error::Stream { reason, .. } => reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connection { reason, why } => write!(f, "connection error {reason}: {why}"),
            Error::Stream {
                stream,
                reason,
                why,
            } => write!(f, "stream {stream} error {reason}: {why}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_stay_representable_and_printable() {
        assert_eq!(Reason(0xb).to_string(), "ENHANCE_YOUR_CALM");
        assert_eq!(Reason(0x1234).to_string(), "unknown error code 0x1234");
        assert_eq!(Reason(0x1234).name(), None);
    }

    #[test]
    fn the_two_classes_say_what_to_send() {
        let stream = Error::stream(3, Reason::PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
        assert_eq!(stream.reason(), Reason::PROTOCOL_ERROR);
        assert_eq!(
            stream.to_string(),
            "stream 3 error PROTOCOL_ERROR: WINDOW_UPDATE of 0"
        );
        let connection = Error::connection(Reason::FRAME_SIZE_ERROR, "PING length is not 8");
        assert_eq!(
            connection.to_string(),
            "connection error FRAME_SIZE_ERROR: PING length is not 8"
        );
    }
}
