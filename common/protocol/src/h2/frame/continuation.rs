//! CONTINUATION frames (RFC 9113 section 6.10): the further fragments of a field block too big
//! for its HEADERS or PUSH_PROMISE frame.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +--------------------------+-------------------+
//! | Field Block Fragment (*) | the whole payload |
//! +--------------------------+-------------------+
//! type 0x9; flag END_HEADERS 0x04; never on stream 0
//! ```
//!
//! That a CONTINUATION follows an open field block on the same stream is the connection's to
//! check (see [`super::split_frame`]): this file sees one frame at a time.

use bytes::{Bytes, BytesMut};

use super::{flag_if, flags, length_of, Header, Kind};
use crate::h2::error::{Error, Reason};

/// A CONTINUATION frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// The stream of the field block; never 0.
    pub stream: u32,
    /// The next piece of the field block; when read, a view into the input buffer.
    pub fragment: Bytes,
    /// END_HEADERS: the field block ends with this frame.
    pub end_headers: bool,
}

impl Continuation {
    /// A CONTINUATION frame.
    pub fn new(stream: u32, fragment: Bytes, end_headers: bool) -> Continuation {
        Continuation {
            stream,
            fragment,
            end_headers,
        }
    }

    /// Reads a CONTINUATION frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<Continuation, Error> {
        // "If a CONTINUATION frame is received with a Stream Identifier field of 0x00, the
        // recipient MUST respond with a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "CONTINUATION on stream 0: CONTINUATION frames MUST be associated with a stream",
            ));
        }
        Ok(Continuation {
            stream: header.stream,
            fragment: payload,
            end_headers: header.has(flags::END_HEADERS),
        })
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        Header {
            length: length_of(self.fragment.len()),
            kind: Kind::CONTINUATION,
            flags: flag_if(self.end_headers, flags::END_HEADERS),
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If the fragment does not fit a frame (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        dst.extend_from_slice(&self.fragment);
    }
}
