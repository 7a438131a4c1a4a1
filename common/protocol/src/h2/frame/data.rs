//! DATA frames (RFC 9113 section 6.1): a stream's content, and the only frames under flow
//! control.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +----------------+------------------------------------+
//! | Pad Length (8) | if PADDED                          |
//! | Data (*)       | the rest of the payload            |
//! | Padding (*)    | Pad Length octets; zeros when sent |
//! +----------------+------------------------------------+
//! type 0x0; flags PADDED 0x08, END_STREAM 0x01; never on stream 0
//! ```

use bytes::{Bytes, BytesMut};

use super::{flag_if, flags, length_of, padding_len, put_pad_length, put_padding};
use super::{strip_padding, take_pad_length, Header, Kind};
use crate::h2::error::{Error, Reason};

/// A DATA frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The stream the data belongs to; never 0.
    pub stream: u32,
    /// The content, padding removed. When read, a view into the input buffer, not a copy.
    pub data: Bytes,
    /// END_STREAM: the last frame the sender sends on this stream.
    pub end_stream: bool,
    /// The Pad Length, if the frame is PADDED. Only the length is kept: padding carries
    /// nothing ("Padding octets that contain no application semantic value") and is sent as
    /// zeros ("Padding octets MUST be set to zero when sending", section 6.1).
    pub padding: Option<u8>,
}

impl Data {
    /// An unpadded DATA frame that does not end the stream.
    pub fn new(stream: u32, data: Bytes) -> Data {
        Data {
            stream,
            data,
            end_stream: false,
            padding: None,
        }
    }

    /// Reads a DATA frame's payload.
    pub fn load(header: Header, mut payload: Bytes) -> Result<Data, Error> {
        // "If a DATA frame is received whose Stream Identifier field is 0x00, the recipient
        // MUST respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "DATA on stream 0: DATA frames MUST be associated with a stream",
            ));
        }
        let padding = take_pad_length(header.flags, &mut payload)?;
        strip_padding(padding, &mut payload)?;
        Ok(Data {
            stream: header.stream,
            data: payload,
            end_stream: header.has(flags::END_STREAM),
            padding,
        })
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        Header {
            length: length_of(self.data.len() + padding_len(self.padding)),
            kind: Kind::DATA,
            flags: flag_if(self.end_stream, flags::END_STREAM)
                | flag_if(self.padding.is_some(), flags::PADDED),
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`, copying the data. For a large body, write
    /// [`Data::header_for`] and send the body from where it is instead.
    ///
    /// # Panics
    ///
    /// If the payload does not fit a frame (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        put_pad_length(dst, self.padding);
        dst.extend_from_slice(&self.data);
        put_padding(dst, self.padding);
    }

    /// How much of the stream's and the connection's flow-control windows this frame takes:
    /// its whole payload, padding included. "The entire DATA frame payload is included in flow
    /// control, including the Pad Length and Padding fields if present." (section 6.1)
    pub fn flow_controlled_len(&self) -> u32 {
        self.header().length
    }

    // ANCHOR: data_header_for
    /// The header of an unpadded DATA frame of `len` octets whose data the caller sends itself,
    /// right after these 9 octets: a file region with `sendfile`, or a `Bytes` handed to a
    /// vectored write. Nothing of the body passes through an output buffer.
    ///
    /// `len` must not exceed the peer's SETTINGS_MAX_FRAME_SIZE nor the flow-control windows;
    /// keeping to them is the caller's job.
    pub fn header_for(stream: u32, len: u32, end_stream: bool) -> Header {
        Header {
            length: len,
            kind: Kind::DATA,
            flags: flag_if(end_stream, flags::END_STREAM),
            stream,
        }
    }
    // ANCHOR_END: data_header_for
}
