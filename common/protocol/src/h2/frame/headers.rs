//! HEADERS frames (RFC 9113 section 6.2): they open a stream and carry the first fragment of a
//! field block (a request's header section, or a trailer section), which CONTINUATION frames
//! may continue.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +--------------------------+------------------------------------+
//! | Pad Length (8)           | if PADDED                          |
//! | E (1)                    | if PRIORITY: exclusive dependency  |
//! | Stream Dependency (31)   | if PRIORITY                        |
//! | Weight (8)               | if PRIORITY: the weight less one   |
//! | Field Block Fragment (*) | the rest of the payload            |
//! | Padding (*)              | Pad Length octets; zeros when sent |
//! +--------------------------+------------------------------------+
//! type 0x1; flags PRIORITY 0x20, PADDED 0x08, END_HEADERS 0x04, END_STREAM 0x01;
//! never on stream 0
//! ```

use bytes::{Bytes, BytesMut};

use super::{flag_if, flags, length_of, padding_len, put_pad_length, put_padding};
use super::{strip_padding, take_octets, take_pad_length};
use super::{Header, Kind, StreamDependency, DEFAULT_MAX_FRAME_SIZE, LARGEST_FRAME_SIZE};
use crate::h2::error::{Error, Reason};

/// A HEADERS frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The stream; never 0.
    pub stream: u32,
    /// This frame's piece of the field block, padding and priority fields removed. When read,
    /// a view into the input buffer. Only the whole block (this and the fragments of the
    /// CONTINUATION frames that follow, up to END_HEADERS) can be decoded.
    pub fragment: Bytes,
    /// END_STREAM: this field block is the last thing the sender sends on the stream (a request
    /// without content, or trailers). CONTINUATION frames may still follow.
    pub end_stream: bool,
    /// END_HEADERS: the field block ends in this frame; no CONTINUATION follows.
    pub end_headers: bool,
    /// The deprecated priority fields (PRIORITY flag), kept as read. "Priority signals in
    /// HEADERS frames are deprecated; see Section 5.3.2." This server ignores them.
    pub priority: Option<StreamDependency>,
    /// The Pad Length, if PADDED (padding is sent as zeros, as for [`super::Data::padding`]).
    pub padding: Option<u8>,
}

impl Headers {
    /// A HEADERS frame that carries a whole field block (END_HEADERS) and does not end the
    /// stream.
    pub fn new(stream: u32, fragment: Bytes) -> Headers {
        Headers {
            stream,
            fragment,
            end_stream: false,
            end_headers: true,
            priority: None,
            padding: None,
        }
    }

    /// Reads a HEADERS frame's payload.
    ///
    /// A priority that makes the stream depend on itself is a *stream* error, but it is not
    /// reported here: the field block must be decoded all the same, to keep HPACK in step, and
    /// CONTINUATION frames may follow it. The connection calls [`Headers::check_priority`] once
    /// the block is decoded.
    pub fn load(header: Header, mut payload: Bytes) -> Result<Headers, Error> {
        // "If a HEADERS frame is received whose Stream Identifier field is 0x00, the recipient
        // MUST respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if header.stream == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "HEADERS on stream 0: HEADERS frames MUST be associated with a stream",
            ));
        }
        let padding = take_pad_length(header.flags, &mut payload)?;
        let priority = if header.has(flags::PRIORITY) {
            let Some(octets) = take_octets::<{ StreamDependency::LEN }>(&mut payload) else {
                // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame ... is too
                // small to contain mandatory frame data. A frame size error in a frame that
                // could alter the state of the entire connection MUST be treated as a
                // connection error (Section 5.4.1); this includes any frame carrying a field
                // block" (section 4.2)
                return Err(Error::connection(
                    Reason::FRAME_SIZE_ERROR,
                    "HEADERS with the PRIORITY flag is too short for the priority fields",
                ));
            };
            Some(StreamDependency::parse(octets))
        } else {
            None
        };
        strip_padding(padding, &mut payload)?;
        Ok(Headers {
            stream: header.stream,
            fragment: payload,
            end_stream: header.has(flags::END_STREAM),
            end_headers: header.has(flags::END_HEADERS),
            priority,
            padding,
        })
    }

    /// The stream error for a priority that makes the stream depend on itself, if it does (RFC
    /// 7540 section 5.3.1, whose rule RFC 9113 keeps for interoperability, section 5.3.2).
    /// Called by the connection after the field block is decoded (see [`Headers::load`]).
    pub fn check_priority(&self) -> Result<(), Error> {
        match &self.priority {
            Some(dependency) => dependency.check(self.stream),
            None => Ok(()),
        }
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        let priority_len = if self.priority.is_some() {
            StreamDependency::LEN
        } else {
            0
        };
        Header {
            length: length_of(self.fragment.len() + priority_len + padding_len(self.padding)),
            kind: Kind::HEADERS,
            flags: flag_if(self.end_stream, flags::END_STREAM)
                | flag_if(self.end_headers, flags::END_HEADERS)
                | flag_if(self.padding.is_some(), flags::PADDED)
                | flag_if(self.priority.is_some(), flags::PRIORITY),
            stream: self.stream,
        }
    }

    /// Appends the frame to `dst`.
    ///
    /// # Panics
    ///
    /// If the payload does not fit a frame (see [`Header::to_bytes`]); a long field block is
    /// framed with [`Headers::frames_for_block`] instead.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        put_pad_length(dst, self.padding);
        if let Some(dependency) = &self.priority {
            dependency.encode(dst);
        }
        dst.extend_from_slice(&self.fragment);
        put_padding(dst, self.padding);
    }

    /// Cuts a whole encoded field block into one HEADERS frame and as many CONTINUATION frames
    /// as `max_frame_size` (the peer's SETTINGS_MAX_FRAME_SIZE) requires, without copying it:
    /// each item is a frame header and the piece of `block` that follows it, a view.
    ///
    /// END_STREAM goes on the HEADERS frame, END_HEADERS on the last frame. An empty block
    /// still makes one HEADERS frame. `max_frame_size` is clamped to the range the RFC allows
    /// (section 4.2), so that a nonsensical value can neither loop nor overflow.
    pub fn frames_for_block(
        stream: u32,
        block: Bytes,
        end_stream: bool,
        max_frame_size: u32,
    ) -> HeaderBlockFrames {
        HeaderBlockFrames {
            stream,
            rest: block,
            end_stream,
            max_piece: max_frame_size.clamp(DEFAULT_MAX_FRAME_SIZE, LARGEST_FRAME_SIZE) as usize,
            first: true,
            done: false,
        }
    }

    /// Appends the frames of [`Headers::frames_for_block`] to `dst`, copying the block (field
    /// blocks are small next to bodies; this is the simple way to send one).
    pub fn encode_block(
        stream: u32,
        block: Bytes,
        end_stream: bool,
        max_frame_size: u32,
        dst: &mut BytesMut,
    ) {
        for (header, piece) in Headers::frames_for_block(stream, block, end_stream, max_frame_size)
        {
            header.encode(dst);
            dst.extend_from_slice(&piece);
        }
    }
}

/// The frames of one field block, from [`Headers::frames_for_block`]: a HEADERS header and
/// then CONTINUATION headers, each with the piece of the block its frame carries.
#[derive(Clone, Debug)]
pub struct HeaderBlockFrames {
    stream: u32,
    rest: Bytes,
    end_stream: bool,
    max_piece: usize,
    first: bool,
    done: bool,
}

impl Iterator for HeaderBlockFrames {
    type Item = (Header, Bytes);

    fn next(&mut self) -> Option<(Header, Bytes)> {
        if self.done {
            return None;
        }
        let piece = self.rest.split_to(self.rest.len().min(self.max_piece));
        let (kind, mut frame_flags) = if self.first {
            (Kind::HEADERS, flag_if(self.end_stream, flags::END_STREAM))
        } else {
            (Kind::CONTINUATION, 0)
        };
        self.first = false;
        if self.rest.is_empty() {
            frame_flags |= flags::END_HEADERS;
            self.done = true;
        }
        let header = Header {
            length: length_of(piece.len()),
            kind,
            flags: frame_flags,
            stream: self.stream,
        };
        Some((header, piece))
    }
}
