//! PUSH_PROMISE frames (RFC 9113 section 6.6): a server announces a stream it will open to push
//! a response, with the request it pushes for (a field block).
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +--------------------------+------------------------------------+
//! | Pad Length (8)           | if PADDED                          |
//! | R (1)                    | reserved                           |
//! | Promised Stream ID (31)  | the stream reserved for the push   |
//! | Field Block Fragment (*) | the rest of the payload            |
//! | Padding (*)              | Pad Length octets; zeros when sent |
//! +--------------------------+------------------------------------+
//! type 0x5; flags PADDED 0x08, END_HEADERS 0x04; never on stream 0
//! ```
//!
//! This server never pushes and never accepts one: "A client cannot push. Thus, servers MUST
//! treat the receipt of a PUSH_PROMISE frame as a connection error (Section 5.4.1) of type
//! PROTOCOL_ERROR." (section 8.4), which [`super::split_frame`] enforces. The frame is still
//! read and written here so that the codec is complete (a client reads it with
//! [`super::split_frame_as`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::{flag_if, flags, length_of, padding_len, put_pad_length, put_padding};
use super::{strip_padding, take_octets, take_pad_length, u31, Header, Kind, MAX_STREAM_ID};
use crate::h2::error::{Error, Reason};

/// A PUSH_PROMISE frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPromise {
    /// The client-initiated stream the push is associated with; never 0.
    pub stream: u32,
    /// The stream the server reserves for the pushed response: even and non-zero, since
    /// "those initiated by the server MUST use even-numbered stream identifiers" (section
    /// 5.1.1).
    pub promised: u32,
    /// The first fragment of the promised request's field block (a view when read).
    pub fragment: Bytes,
    /// END_HEADERS: the field block ends in this frame.
    pub end_headers: bool,
    /// The Pad Length, if PADDED (padding is sent as zeros).
    pub padding: Option<u8>,
}

impl PushPromise {
    /// The Promised Stream ID field's size.
    const PROMISED_LEN: usize = 4;

    /// Reads a PUSH_PROMISE frame's payload (whoever is reading it; see the module doc).
    pub fn load(header: Header, mut payload: Bytes) -> Result<PushPromise, Error> {
        // "If the Stream Identifier field specifies the value 0x00, a recipient MUST respond
        // with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "PUSH_PROMISE on stream 0: it must name the stream it is associated with",
            ));
        }
        let padding = take_pad_length(header.flags, &mut payload)?;
        let Some(octets) = take_octets::<{ PushPromise::PROMISED_LEN }>(&mut payload) else {
            // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame ... is too
            // small to contain mandatory frame data." (section 4.2; a connection error, as the
            // frame carries a field block)
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "PUSH_PROMISE is too short for its Promised Stream ID",
            ));
        };
        let promised = u31(octets);
        // "A receiver MUST treat the receipt of a PUSH_PROMISE that promises an illegal stream
        // identifier (Section 5.1.1) as a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR." Zero and odd identifiers are never legal for a promised stream,
        // whatever the state; that the id is new and increasing is the connection's to check.
        if promised == 0 || promised % 2 == 1 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "PUSH_PROMISE promises a stream a server cannot open (zero or odd)",
            ));
        }
        strip_padding(padding, &mut payload)?;
        Ok(PushPromise {
            stream: header.stream,
            promised,
            fragment: payload,
            end_headers: header.has(flags::END_HEADERS),
            padding,
        })
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        Header {
            length: length_of(
                PushPromise::PROMISED_LEN + self.fragment.len() + padding_len(self.padding),
            ),
            kind: Kind::PUSH_PROMISE,
            flags: flag_if(self.end_headers, flags::END_HEADERS)
                | flag_if(self.padding.is_some(), flags::PADDED),
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If the payload does not fit a frame (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        put_pad_length(dst, self.padding);
        dst.put_u32(self.promised & MAX_STREAM_ID);
        dst.extend_from_slice(&self.fragment);
        put_padding(dst, self.padding);
    }
}
