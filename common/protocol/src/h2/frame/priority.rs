//! PRIORITY frames (RFC 9113 section 6.3), and the priority fields HEADERS may also carry.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +------------------------+------------------------+
//! | E (1)                  | exclusive dependency   |
//! | Stream Dependency (31) | the stream depended on |
//! | Weight (8)             | the weight less one    |
//! +------------------------+------------------------+
//! type 0x2; no flags; length 5; never on stream 0
//! ```
//!
//! RFC 9113 deprecates this priority scheme (section 5.3.2): "The description of frame fields
//! and some of the mandatory handling is retained to ensure that implementations of this
//! document remain interoperable with implementations that use the priority signaling
//! described in RFC 7540." So the fields are read, checked and kept, and the connection ignores
//! them.

use bytes::{BufMut, Bytes, BytesMut};

use super::{length_of, u31, Header, Kind, MAX_STREAM_ID};
use crate::h2::error::{Error, Reason};

/// The priority fields: Exclusive, Stream Dependency and Weight (five octets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamDependency {
    /// The stream this one depends on (0: none).
    pub depends_on: u32,
    /// Whether the dependency is exclusive (the E bit in front of `depends_on`).
    pub exclusive: bool,
    /// The weight as sent: one less than the weight, so 0..=255 stands for 1..=256. "Add one
    /// to the value to obtain a weight between 1 and 256." (RFC 7540 section 6.2)
    pub weight_minus_one: u8,
}

impl StreamDependency {
    /// The size of the priority fields.
    pub const LEN: usize = 5;

    /// The weight, 1..=256.
    pub fn weight(&self) -> u16 {
        u16::from(self.weight_minus_one) + 1
    }

    /// Reads the five octets of the priority fields.
    pub(super) fn parse(octets: [u8; StreamDependency::LEN]) -> StreamDependency {
        let [d0, d1, d2, d3, weight_minus_one] = octets;
        StreamDependency {
            depends_on: u31([d0, d1, d2, d3]),
            exclusive: d0 & 0x80 != 0,
            weight_minus_one,
        }
    }

    /// Writes the five octets.
    pub(super) fn encode(&self, dst: &mut BytesMut) {
        let exclusive = if self.exclusive { 0x8000_0000 } else { 0 };
        dst.put_u32(exclusive | (self.depends_on & MAX_STREAM_ID));
        dst.put_u8(self.weight_minus_one);
    }

    /// The stream error if `stream` would depend on itself.
    pub(super) fn check(&self, stream: u32) -> Result<(), Error> {
        // "A stream cannot depend on itself. An endpoint MUST treat this as a stream error
        // (Section 5.4.2) of type PROTOCOL_ERROR." (RFC 7540 section 5.3.1)
        if self.depends_on == stream {
            return Err(Error::stream(
                stream,
                Reason::PROTOCOL_ERROR,
                "a stream cannot depend on itself",
            ));
        }
        Ok(())
    }
}

/// A PRIORITY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream whose priority this is; never 0. It may be in any state, idle included.
    pub stream: u32,
    /// The new priority.
    pub dependency: StreamDependency,
}

impl Priority {
    /// Reads a PRIORITY frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<Priority, Error> {
        // "If a PRIORITY frame is received with a stream identifier of 0x00, the recipient MUST
        // respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "PRIORITY on stream 0: the PRIORITY frame always identifies a stream",
            ));
        }
        // "A PRIORITY frame with a length other than 5 octets MUST be treated as a stream error
        // (Section 5.4.2) of type FRAME_SIZE_ERROR."
        let Ok(octets) = <[u8; StreamDependency::LEN]>::try_from(&*payload) else {
            return Err(Error::stream(
                header.stream,
                Reason::FRAME_SIZE_ERROR,
                "PRIORITY length is not 5",
            ));
        };
        let dependency = StreamDependency::parse(octets);
        dependency.check(header.stream)?;
        Ok(Priority {
            stream: header.stream,
            dependency,
        })
    }

    /// The frame's header. "The PRIORITY frame does not define any flags."
    pub fn header(&self) -> Header {
        Header {
            length: length_of(StreamDependency::LEN),
            kind: Kind::PRIORITY,
            flags: 0,
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        self.dependency.encode(dst);
    }
}
