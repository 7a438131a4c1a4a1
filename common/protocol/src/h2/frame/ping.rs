//! PING frames (RFC 9113 section 6.7): eight opaque octets the peer must send back, to measure
//! a round trip or to check that an idle connection still works.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +------------------+------------------------------------+
//! | Opaque Data (64) | any 8 octets, echoed in the answer |
//! +------------------+------------------------------------+
//! type 0x6; flag ACK 0x01; length 8; stream 0
//! ```

use bytes::{Bytes, BytesMut};

use super::{flag_if, flags, Header, Kind};
use crate::h2::error::{Error, Reason};

/// A PING frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// ACK: this PING answers one from the peer. "An endpoint MUST NOT respond to PING frames
    /// containing this flag."
    pub ack: bool,
    /// What the sender chose to send: "A sender can include any value it chooses and use those
    /// octets in any fashion."
    pub opaque: [u8; 8],
}

impl Ping {
    /// The payload length.
    const LEN: u32 = 8;

    /// A PING to send (not an answer).
    pub fn new(opaque: [u8; 8]) -> Ping {
        Ping { ack: false, opaque }
    }

    /// The answer to a PING that carried `opaque`: "Receivers of a PING frame that does not
    /// include an ACK flag MUST send a PING frame with the ACK flag set in response, with an
    /// identical frame payload."
    pub fn pong(opaque: [u8; 8]) -> Ping {
        Ping { ack: true, opaque }
    }

    /// Reads a PING frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<Ping, Error> {
        // "If a PING frame is received with a Stream Identifier field value other than 0x00,
        // the recipient MUST respond with a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        if header.stream != 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "PING on a stream: PING frames are not associated with any individual stream",
            ));
        }
        // "Receipt of a PING frame with a length field value other than 8 MUST be treated as a
        // connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
        let Ok(opaque) = <[u8; 8]>::try_from(&*payload) else {
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "PING length is not 8",
            ));
        };
        Ok(Ping {
            ack: header.has(flags::ACK),
            opaque,
        })
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        Header {
            length: Ping::LEN,
            kind: Kind::PING,
            flags: flag_if(self.ack, flags::ACK),
            stream: 0,
        }
    }

    /// Appends the frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        dst.extend_from_slice(&self.opaque);
    }
}
