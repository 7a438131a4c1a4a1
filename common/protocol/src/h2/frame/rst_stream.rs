//! RST_STREAM frames (RFC 9113 section 6.4): one end closes a stream at once, with an error
//! code.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +-----------------+---------------------------------+
//! | Error Code (32) | why the stream ends (section 7) |
//! +-----------------+---------------------------------+
//! type 0x3; no flags; length 4; never on stream 0
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::{Header, Kind};
use crate::h2::error::{Error, Reason};

/// A RST_STREAM frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream being closed; never 0.
    pub stream: u32,
    /// Why. Any 32-bit code, named or not: "Unknown or unsupported error codes MUST NOT
    /// trigger any special behavior." (section 7)
    pub reason: Reason,
}

impl RstStream {
    /// The payload length: one error code.
    const LEN: u32 = 4;

    /// A RST_STREAM frame closing `stream` for `reason`.
    pub fn new(stream: u32, reason: Reason) -> RstStream {
        RstStream { stream, reason }
    }

    /// Reads a RST_STREAM frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<RstStream, Error> {
        // "If a RST_STREAM frame is received with a stream identifier of 0x00, the recipient
        // MUST treat this as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "RST_STREAM on stream 0: RST_STREAM frames MUST be associated with a stream",
            ));
        }
        // "A RST_STREAM frame with a length other than 4 octets MUST be treated as a connection
        // error (Section 5.4.1) of type FRAME_SIZE_ERROR."
        let Ok(octets) = <[u8; 4]>::try_from(&*payload) else {
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "RST_STREAM length is not 4",
            ));
        };
        Ok(RstStream {
            stream: header.stream,
            reason: Reason(u32::from_be_bytes(octets)),
        })
    }

    /// The frame's header. "The RST_STREAM frame does not define any flags."
    pub fn header(&self) -> Header {
        Header {
            length: RstStream::LEN,
            kind: Kind::RST_STREAM,
            flags: 0,
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        dst.put_u32(self.reason.0);
    }
}
