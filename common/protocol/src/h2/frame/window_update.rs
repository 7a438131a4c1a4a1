//! WINDOW_UPDATE frames (RFC 9113 section 6.9): the receiver of DATA gives the sender more
//! flow-control credit, on one stream or (stream 0) on the whole connection.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +----------------------------+----------------------------------+
//! | R (1)                      | reserved                         |
//! | Window Size Increment (31) | 1..=2^31-1 more octets of credit |
//! +----------------------------+----------------------------------+
//! type 0x8; no flags; length 4; stream 0 (connection) or any stream
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::{u31, Header, Kind, MAX_STREAM_ID};
use crate::h2::error::{Error, Reason};

/// A WINDOW_UPDATE frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream whose window grows, or 0 for the connection's.
    pub stream: u32,
    /// How many more octets the sender may send, 1..=2^31-1: "The legal range for the
    /// increment to the flow-control window is 1 to 2^31-1 (2,147,483,647) octets."
    pub increment: u32,
}

impl WindowUpdate {
    /// The payload length.
    const LEN: u32 = 4;

    /// A WINDOW_UPDATE for `stream` (0: the connection).
    pub fn new(stream: u32, increment: u32) -> WindowUpdate {
        WindowUpdate { stream, increment }
    }

    /// Reads a WINDOW_UPDATE frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<WindowUpdate, Error> {
        // "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated as a
        // connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
        let Ok(octets) = <[u8; 4]>::try_from(&*payload) else {
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "WINDOW_UPDATE length is not 4",
            ));
        };
        // The reserved bit in front of the increment is ignored, as in the frame header.
        let increment = u31(octets);
        // "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control
        // window increment of 0 as a stream error (Section 5.4.2) of type PROTOCOL_ERROR;
        // errors on the connection flow-control window MUST be treated as a connection error
        // (Section 5.4.1)."
        if increment == 0 {
            return Err(if header.stream == 0 {
                Error::connection(
                    Reason::PROTOCOL_ERROR,
                    "WINDOW_UPDATE of 0 on the connection",
                )
            } else {
                Error::stream(
                    header.stream,
                    Reason::PROTOCOL_ERROR,
                    "WINDOW_UPDATE of 0 on a stream",
                )
            });
        }
        Ok(WindowUpdate {
            stream: header.stream,
            increment,
        })
    }

    /// The frame's header. "The WINDOW_UPDATE frame does not define any flags."
    pub fn header(&self) -> Header {
        Header {
            length: WindowUpdate::LEN,
            kind: Kind::WINDOW_UPDATE,
            flags: 0,
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        dst.put_u32(self.increment & MAX_STREAM_ID);
    }
}
