//! GOAWAY frames (RFC 9113 section 6.8): one end stops taking new streams, says which was the
//! last it may have acted on, and why, before it closes the connection.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +---------------------------+---------------------------------------+
//! | R (1)                     | reserved                              |
//! | Last-Stream-ID (31)       | the last stream that may be processed |
//! | Error Code (32)           | why the connection ends (section 7)   |
//! | Additional Debug Data (*) | the rest of the payload               |
//! +---------------------------+---------------------------------------+
//! type 0x7; no flags; length at least 8; stream 0
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::{length_of, take_octets, u31, Header, Kind, MAX_STREAM_ID};
use crate::h2::error::{Error, Reason};

/// A GOAWAY frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoAway {
    /// The highest-numbered stream the sender "might have taken some action on or might yet
    /// take action on"; 0 if none. Streams above it can be retried on a new connection.
    pub last_stream: u32,
    /// Why the connection ends; NO_ERROR for a graceful shutdown. Unknown codes are kept.
    pub reason: Reason,
    /// Additional Debug Data, kept as received (a view into the input buffer). "Additional
    /// debug data is intended for diagnostic purposes only and carries no semantic value."
    /// This server sends none, so that nothing about it leaks.
    pub debug_data: Bytes,
}

impl GoAway {
    /// The fixed part of the payload: Last-Stream-ID and Error Code.
    const FIXED_LEN: usize = 8;

    /// A GOAWAY without debug data.
    pub fn new(last_stream: u32, reason: Reason) -> GoAway {
        GoAway {
            last_stream,
            reason,
            debug_data: Bytes::new(),
        }
    }

    /// Reads a GOAWAY frame's payload.
    pub fn load(header: Header, mut payload: Bytes) -> Result<GoAway, Error> {
        // "An endpoint MUST treat a GOAWAY frame with a stream identifier other than 0x00 as a
        // connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream != 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "GOAWAY on a stream: the GOAWAY frame applies to the connection",
            ));
        }
        let Some([l0, l1, l2, l3, e0, e1, e2, e3]) =
            take_octets::<{ GoAway::FIXED_LEN }>(&mut payload)
        else {
            // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame ... is too
            // small to contain mandatory frame data." (section 4.2)
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "GOAWAY is shorter than its 8 octets of last stream and error code",
            ));
        };
        Ok(GoAway {
            // The reserved bit in front of Last-Stream-ID is ignored, as in the frame header.
            last_stream: u31([l0, l1, l2, l3]),
            reason: Reason(u32::from_be_bytes([e0, e1, e2, e3])),
            debug_data: payload,
        })
    }

    /// The frame's header. "The GOAWAY frame does not define any flags."
    pub fn header(&self) -> Header {
        Header {
            length: length_of(GoAway::FIXED_LEN + self.debug_data.len()),
            kind: Kind::GOAWAY,
            flags: 0,
            stream: 0,
        }
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If the debug data does not fit a frame (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        dst.put_u32(self.last_stream & MAX_STREAM_ID);
        dst.put_u32(self.reason.0);
        dst.extend_from_slice(&self.debug_data);
    }
}
