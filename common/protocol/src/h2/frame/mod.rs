//! HTTP/2 frames (RFC 9113 sections 4 and 6): the 9-octet frame header, the ten frame types, and
//! a reader that splits whole frames off an input buffer.
//!
//! Every frame is a fixed header followed by a payload whose layout depends on the type
//! (section 4.1):
//!
//! ```text
//!     0       1       2       3       4       5       6       7       8   (octets)
//! +-------+-------+-------+-------+-------+-------+-------+-------+-------+
//! |      Length (24)      |  Type | Flags |R|    Stream Identifier (31)   |
//! +-------+-------+-------+-------+-------+-------+-------+-------+-------+
//! | Frame Payload (Length octets), laid out as Type says                ...
//! +-------+-------+-------+-------+--
//! ```
//!
//! The 9 octets of the header are not counted in Length. R is reserved: ignored when received,
//! zero when sent.
//!
//! Each frame type has a file of its own (`data.rs`, `headers.rs`, ...) with a
//! `load(header, payload)` that enforces the rules of its section of RFC 9113 (the RFC's
//! sentence is quoted at each check) and an `encode(&self, dst)` that appends the frame to a
//! [`BytesMut`]. Encoding never sets a flag the type does not define and never sets a reserved
//! bit (section 4.1).
//!
//! Reading is [`split_frame`]: give it the connection's input buffer, get back `Ok(None)` while
//! a frame is incomplete, or the next [`Frame`], whose DATA and field block fragments are
//! [`Bytes`] views split off that buffer, not copies. Writing big payloads without copying them
//! is [`Data::header_for`] (the 9 octets to send before a body the driver writes itself, from a
//! file say) and [`Headers::frames_for_block`] (a field block cut into HEADERS and CONTINUATION
//! frames whose payloads are views of the block).
//!
//! What this layer does *not* check, because it needs the connection's state: stream states
//! (section 5.1), that CONTINUATION frames follow their HEADERS (section 4.3), flow-control
//! windows (section 5.2), and what SETTINGS mean (that is [`crate::h2::settings`]). The
//! connection machine built on this module must do those; the rules it must enforce are listed
//! on [`split_frame`].

mod continuation;
mod data;
mod goaway;
mod headers;
mod ping;
mod priority;
mod push_promise;
mod rst_stream;
mod settings;
mod window_update;

pub use continuation::Continuation;
pub use data::Data;
pub use goaway::GoAway;
pub use headers::{HeaderBlockFrames, Headers};
pub use ping::Ping;
pub use priority::{Priority, StreamDependency};
pub use push_promise::PushPromise;
pub use rst_stream::RstStream;
pub use settings::{SettingId, Settings};
pub use window_update::WindowUpdate;

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::{Error, Reason};

/// The size of the frame header that starts every frame (section 4.1).
pub const HEADER_LEN: usize = 9;

/// The initial value of SETTINGS_MAX_FRAME_SIZE, 2^14, and the smallest value it may take:
/// "All implementations MUST be capable of receiving and minimally processing frames up to 2^14
/// octets in length" (section 4.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 0x4000;

/// The largest payload the 24-bit Length field can describe, 2^24-1, and the largest value
/// SETTINGS_MAX_FRAME_SIZE may take (section 4.2).
pub const LARGEST_FRAME_SIZE: u32 = 0xff_ffff;

/// The largest stream identifier, 2^31-1: identifiers are 31 bits (section 5.1.1). Also the
/// mask that clears the reserved bit in front of every 31-bit identifier or increment.
pub const MAX_STREAM_ID: u32 = 0x7fff_ffff;

// ANCHOR: frame_kinds
/// A frame type code (section 6, and the registry of section 11.2 of RFC 7540).
///
/// A newtype rather than an enum because frames of types this crate does not know must still be
/// read past: "Implementations MUST ignore and discard frames of unknown types" (section 4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind(pub u8);

impl Kind {
    pub const DATA: Kind = Kind(0x0);
    pub const HEADERS: Kind = Kind(0x1);
    pub const PRIORITY: Kind = Kind(0x2);
    pub const RST_STREAM: Kind = Kind(0x3);
    pub const SETTINGS: Kind = Kind(0x4);
    pub const PUSH_PROMISE: Kind = Kind(0x5);
    pub const PING: Kind = Kind(0x6);
    pub const GOAWAY: Kind = Kind(0x7);
    pub const WINDOW_UPDATE: Kind = Kind(0x8);
    pub const CONTINUATION: Kind = Kind(0x9);
}
// ANCHOR_END: frame_kinds

impl Kind {
    /// The type's name as RFC 9113 spells it, if the RFC defines it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Kind::DATA => "DATA",
            Kind::HEADERS => "HEADERS",
            Kind::PRIORITY => "PRIORITY",
            Kind::RST_STREAM => "RST_STREAM",
            Kind::SETTINGS => "SETTINGS",
            Kind::PUSH_PROMISE => "PUSH_PROMISE",
            Kind::PING => "PING",
            Kind::GOAWAY => "GOAWAY",
            Kind::WINDOW_UPDATE => "WINDOW_UPDATE",
            Kind::CONTINUATION => "CONTINUATION",
            _ => return None,
        })
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown frame type {:#04x}", self.0),
        }
    }
}

/// The flags RFC 9113 defines, by the frame types that define them. A flag means something
/// only for those types; on any other it is ignored on receipt and never sent (section 4.1).
pub mod flags {
    /// DATA, HEADERS: the last frame the sender sends on this stream.
    pub const END_STREAM: u8 = 0x01;
    /// SETTINGS, PING: this frame answers one from the peer.
    pub const ACK: u8 = 0x01;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: this frame ends a field block.
    pub const END_HEADERS: u8 = 0x04;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length field and padding are present.
    pub const PADDED: u8 = 0x08;
    /// HEADERS: the Exclusive, Stream Dependency and Weight fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-octet header in front of every frame (section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The payload's length in octets, not counting these 9; at most [`LARGEST_FRAME_SIZE`].
    pub length: u32,
    /// The frame type.
    pub kind: Kind,
    /// The flags octet, as received (unknown flags included) or as to be sent.
    pub flags: u8,
    /// The stream identifier, 31 bits, with the reserved bit already cleared; 0 for the
    /// connection as a whole.
    pub stream: u32,
}

impl Header {
    // ANCHOR: header_parse
    /// Reads a frame header. Any 9 octets are a header: what the fields mean is for the frame
    /// type's `load` to judge.
    pub fn parse(octets: &[u8; HEADER_LEN]) -> Header {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *octets;
        Header {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: Kind(kind),
            flags,
            // "Reserved: A reserved 1-bit field. The semantics of this bit are undefined, and
            // the bit MUST remain unset (0x00) when sending and MUST be ignored when receiving."
            // (section 4.1)
            stream: u32::from_be_bytes([s0, s1, s2, s3]) & MAX_STREAM_ID,
        }
    }
    // ANCHOR_END: header_parse

    /// The header as it goes on the wire, the reserved bit unset.
    ///
    /// # Panics
    ///
    /// If `length` does not fit the 24-bit Length field. Payloads must be cut to the peer's
    /// SETTINGS_MAX_FRAME_SIZE (at most [`LARGEST_FRAME_SIZE`]) before they are framed; a longer
    /// one is a bug in the caller, and sending it with a truncated length would corrupt the
    /// connection, so this stops loudly instead.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        assert!(
            self.length <= LARGEST_FRAME_SIZE,
            "a {} payload of {} octets does not fit a frame; split it first",
            self.kind,
            self.length
        );
        let [_, l0, l1, l2] = self.length.to_be_bytes();
        let [s0, s1, s2, s3] = (self.stream & MAX_STREAM_ID).to_be_bytes();
        [l0, l1, l2, self.kind.0, self.flags, s0, s1, s2, s3]
    }

    /// Appends the header to `dst` (see [`Header::to_bytes`] for when it panics).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.extend_from_slice(&self.to_bytes());
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Which end of the connection reads the frames. One rule of section 6 depends on it: "A client
/// cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE frame as a connection
/// error (Section 5.4.1) of type PROTOCOL_ERROR." (section 8.4)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Reads what a client sends: PUSH_PROMISE is an error. This crate's own role.
    Server,
    /// Reads what a server sends: every frame type is accepted (for tests and tools).
    Client,
}

/// One frame, of one of the ten types of section 6 or of a type this crate does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Data(Data),
    Headers(Headers),
    Priority(Priority),
    RstStream(RstStream),
    Settings(Settings),
    PushPromise(PushPromise),
    Ping(Ping),
    GoAway(GoAway),
    WindowUpdate(WindowUpdate),
    Continuation(Continuation),
    /// A frame of a type this crate does not know. Its payload has been discarded:
    /// "Implementations MUST ignore and discard frames of unknown types" (section 4.1). It is
    /// still returned because the connection must notice it in one case: "extension frames
    /// that appear in the middle of a field block (Section 4.3) are not permitted; these MUST be
    /// treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR" (section 5.5).
    Unknown {
        kind: Kind,
        flags: u8,
        stream: u32,
    },
}

// ANCHOR: split_frame
/// Splits the next whole frame off the front of `input`, as a server reads it.
///
/// - `Ok(None)`: `input` does not hold a whole frame yet. That is never an error; nothing was
///   consumed, and room for the rest of the frame has been reserved in `input` once its header
///   is known. Call again after the next read.
/// - `Ok(Some(frame))`: the frame's bytes have been removed from `input`; its DATA and field
///   block fragments are views into them.
/// - `Err(Error::Stream { .. })`: the frame's bytes have been removed and the frame is
///   rejected; reset that stream (RST_STREAM) and call again for the next frame.
/// - `Err(Error::Connection { .. })`: the connection is over (GOAWAY, then close); what is
///   left in `input` is not meaningful.
///
/// `max_frame_size` is the SETTINGS_MAX_FRAME_SIZE this end has announced (and the peer has
/// acknowledged); a longer frame is refused from its header alone, before its payload is
/// buffered.
///
/// What the connection machine on top must still enforce, because it takes state this function
/// does not keep:
///
/// 1. CONTINUATION sequencing (sections 4.3, 6.2, 6.10): after a HEADERS (or PUSH_PROMISE)
///    without END_HEADERS, the next frame must be a CONTINUATION on the same stream, until one
///    has END_HEADERS; anything else (an [`Frame::Unknown`], or a frame this function rejected
///    with a stream error) is a connection PROTOCOL_ERROR, and so is a CONTINUATION when no
///    field block is open.
/// 2. The field block must be decoded (HPACK) even when the stream is then refused or reset,
///    including for a HEADERS whose [`Headers::check_priority`] fails (section 4.3).
/// 3. Stream states (section 5.1): new stream ids odd and increasing, DATA only on open streams,
///    RST_STREAM or WINDOW_UPDATE on an idle stream a connection PROTOCOL_ERROR, and so on.
/// 4. Flow control (sections 5.2, 6.9): every DATA frame counts
///    [`Data::flow_controlled_len`] against the windows, even on a stream being reset; window
///    overflows past 2^31-1.
/// 5. SETTINGS: apply them in order ([`crate::h2::settings::Settings::apply`]), answer with an
///    ACK; PING without ACK answered with [`Ping::pong`]. The client's 24-octet preface is not a
///    frame and must be read before the first call; the frame after it must be SETTINGS
///    (section 3.4).
/// 6. Floods: this function accepts any number of CONTINUATION, SETTINGS, PING, RST_STREAM or
///    empty DATA frames; caps on field block size and on their rates (ENHANCE_YOUR_CALM) are
///    the connection's.
pub fn split_frame(input: &mut BytesMut, max_frame_size: u32) -> Result<Option<Frame>, Error> {
    split_frame_as(Role::Server, input, max_frame_size)
}

/// [`split_frame`] for either end of the connection.
pub fn split_frame_as(
    role: Role,
    input: &mut BytesMut,
    max_frame_size: u32,
) -> Result<Option<Frame>, Error> {
    let Some(octets) = input.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = Header::parse(octets);
    // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the size
    // defined in SETTINGS_MAX_FRAME_SIZE" (section 4.2). Always a connection error here, even
    // for DATA, so that a too-long payload never has to be read and skipped: "an endpoint MAY
    // choose to treat a stream error as a connection error" (section 5.4.1).
    if header.length > max_frame_size {
        return Err(Error::connection(
            Reason::FRAME_SIZE_ERROR,
            "the frame is longer than our SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    // "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE frame as a
    // connection error (Section 5.4.1) of type PROTOCOL_ERROR." (section 8.4)
    if role == Role::Server && header.kind == Kind::PUSH_PROMISE {
        return Err(Error::connection(
            Reason::PROTOCOL_ERROR,
            "a client sent PUSH_PROMISE, but a client cannot push",
        ));
    }
    // At most 9 + 2^24-1 octets, so this cannot overflow even a 32-bit usize.
    let frame_len = HEADER_LEN + header.length as usize;
    if input.len() < frame_len {
        // Room for the rest now, so the driver's next read can take it in one piece. Bounded by
        // our own max_frame_size, checked above.
        input.reserve(frame_len - input.len());
        return Ok(None);
    }
    let mut frame = input.split_to(frame_len);
    frame.advance(HEADER_LEN);
    Frame::load(header, frame.freeze()).map(Some)
}
// ANCHOR_END: split_frame

impl Frame {
    /// Reads a frame's payload according to its header's type. `payload` is the whole payload
    /// (its length is what counts; `header.length` is not consulted again).
    pub fn load(header: Header, payload: Bytes) -> Result<Frame, Error> {
        Ok(match header.kind {
            Kind::DATA => Frame::Data(Data::load(header, payload)?),
            Kind::HEADERS => Frame::Headers(Headers::load(header, payload)?),
            Kind::PRIORITY => Frame::Priority(Priority::load(header, payload)?),
            Kind::RST_STREAM => Frame::RstStream(RstStream::load(header, payload)?),
            Kind::SETTINGS => Frame::Settings(Settings::load(header, payload)?),
            Kind::PUSH_PROMISE => Frame::PushPromise(PushPromise::load(header, payload)?),
            Kind::PING => Frame::Ping(Ping::load(header, payload)?),
            Kind::GOAWAY => Frame::GoAway(GoAway::load(header, payload)?),
            Kind::WINDOW_UPDATE => Frame::WindowUpdate(WindowUpdate::load(header, payload)?),
            Kind::CONTINUATION => Frame::Continuation(Continuation::load(header, payload)?),
            // "Implementations MUST ignore and discard frames of unknown types." (section 4.1)
            kind => Frame::Unknown {
                kind,
                flags: header.flags,
                stream: header.stream,
            },
        })
    }

    /// Appends the whole frame, header and payload, to `dst`. An [`Frame::Unknown`] is written
    /// with an empty payload, since its payload was discarded when it was read.
    ///
    /// # Panics
    ///
    /// If the payload is longer than a frame can be (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Data(frame) => frame.encode(dst),
            Frame::Headers(frame) => frame.encode(dst),
            Frame::Priority(frame) => frame.encode(dst),
            Frame::RstStream(frame) => frame.encode(dst),
            Frame::Settings(frame) => frame.encode(dst),
            Frame::PushPromise(frame) => frame.encode(dst),
            Frame::Ping(frame) => frame.encode(dst),
            Frame::GoAway(frame) => frame.encode(dst),
            Frame::WindowUpdate(frame) => frame.encode(dst),
            Frame::Continuation(frame) => frame.encode(dst),
            Frame::Unknown { .. } => self.header().encode(dst),
        }
    }

    /// The header this frame is sent with: its length, type, the flags its fields set, and its
    /// stream.
    pub fn header(&self) -> Header {
        match self {
            Frame::Data(frame) => frame.header(),
            Frame::Headers(frame) => frame.header(),
            Frame::Priority(frame) => frame.header(),
            Frame::RstStream(frame) => frame.header(),
            Frame::Settings(frame) => frame.header(),
            Frame::PushPromise(frame) => frame.header(),
            Frame::Ping(frame) => frame.header(),
            Frame::GoAway(frame) => frame.header(),
            Frame::WindowUpdate(frame) => frame.header(),
            Frame::Continuation(frame) => frame.header(),
            Frame::Unknown {
                kind,
                flags,
                stream,
            } => Header {
                length: 0,
                kind: *kind,
                flags: *flags,
                stream: *stream,
            },
        }
    }

    /// The frame type.
    pub fn kind(&self) -> Kind {
        self.header().kind
    }

    /// The stream the frame is on; 0 for the connection.
    pub fn stream(&self) -> u32 {
        match self {
            Frame::Data(frame) => frame.stream,
            Frame::Headers(frame) => frame.stream,
            Frame::Priority(frame) => frame.stream,
            Frame::RstStream(frame) => frame.stream,
            Frame::PushPromise(frame) => frame.stream,
            Frame::WindowUpdate(frame) => frame.stream,
            Frame::Continuation(frame) => frame.stream,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => 0,
            Frame::Unknown { stream, .. } => *stream,
        }
    }
}

// Helpers shared by the frame files.

/// A payload length as the header's `u32`. Saturates instead of wrapping, so that a payload too
/// long for a frame is caught by [`Header::to_bytes`] rather than sent with a wrong length.
fn length_of(octets: usize) -> u32 {
    u32::try_from(octets).unwrap_or(u32::MAX)
}

/// The flag octet `flag` if `on`, else 0.
fn flag_if(on: bool, flag: u8) -> u8 {
    if on {
        flag
    } else {
        0
    }
}

/// Removes the first `N` octets of `payload` and returns them, or `None` (removing nothing) if
/// there are fewer.
fn take_octets<const N: usize>(payload: &mut Bytes) -> Option<[u8; N]> {
    let octets = *payload.first_chunk::<N>()?;
    payload.advance(N);
    Some(octets)
}

/// A 31-bit identifier or increment read from 4 octets, the reserved bit in front of it
/// ignored (section 4.1 for the header; the same R bit precedes the identifiers of sections
/// 6.6, 6.8 and 6.9).
fn u31(octets: [u8; 4]) -> u32 {
    u32::from_be_bytes(octets) & MAX_STREAM_ID
}

// ANCHOR: padding
/// Removes the Pad Length octet of a frame with the PADDED flag, and returns it.
fn take_pad_length(flags: u8, payload: &mut Bytes) -> Result<Option<u8>, Error> {
    if flags & self::flags::PADDED == 0 {
        return Ok(None);
    }
    let Some(&pad_length) = payload.first() else {
        // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame ... is too small
        // to contain mandatory frame data." (section 4.2)
        return Err(Error::connection(
            Reason::FRAME_SIZE_ERROR,
            "a PADDED frame has no room for its Pad Length",
        ));
    };
    // "If the length of the padding is the length of the frame payload or greater, the
    // recipient MUST treat this as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    // (sections 6.1, 6.2, 6.6)
    if usize::from(pad_length) >= payload.len() {
        return Err(Error::connection(
            Reason::PROTOCOL_ERROR,
            "the padding is as long as the frame payload or longer",
        ));
    }
    payload.advance(1);
    Ok(Some(pad_length))
}

/// Cuts the padding off the end of what is left of a payload once its fixed fields are read.
///
/// The padding's octets are not checked: "A receiver is not obligated to verify padding"
/// (section 6.1), and the padded test cases of other projects carry non-zero padding.
fn strip_padding(padding: Option<u8>, payload: &mut Bytes) -> Result<(), Error> {
    let Some(pad_length) = padding else {
        return Ok(());
    };
    let Some(content_len) = payload.len().checked_sub(usize::from(pad_length)) else {
        // The padding fits the payload but not beside the fixed fields (the priority fields of
        // HEADERS, the promised id of PUSH_PROMISE). RFC 9113 folds this into the sentence
        // above; RFC 7540 section 6.2 said it outright: "Padding that exceeds the size
        // remaining for the header block fragment MUST be treated as a PROTOCOL_ERROR."
        return Err(Error::connection(
            Reason::PROTOCOL_ERROR,
            "the padding is longer than what follows the fixed fields",
        ));
    };
    payload.truncate(content_len);
    Ok(())
}

/// Writes the Pad Length octet, if any.
fn put_pad_length(dst: &mut BytesMut, padding: Option<u8>) {
    if let Some(pad_length) = padding {
        dst.put_u8(pad_length);
    }
}

/// Writes the padding: "Padding octets MUST be set to zero when sending." (section 6.1)
fn put_padding(dst: &mut BytesMut, padding: Option<u8>) {
    if let Some(pad_length) = padding {
        dst.put_bytes(0, usize::from(pad_length));
    }
}

/// The octets the Pad Length field and the padding add to a payload.
fn padding_len(padding: Option<u8>) -> usize {
    padding.map_or(0, |pad_length| 1 + usize::from(pad_length))
}
// ANCHOR_END: padding

#[cfg(test)]
mod tests;

/// Splits arbitrary input into frames until it runs out or an error, for the fuzz target
/// `h2_frames` (common/fuzz): the first octet says which role reads (even: server, odd:
/// client). Every frame that loads is encoded again and must load to the same frame.
#[doc(hidden)]
pub fn fuzz_frames(data: &[u8]) {
    let Some((&role, rest)) = data.split_first() else {
        return;
    };
    let role = if role % 2 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let mut input = BytesMut::from(rest);
    while let Ok(Some(frame)) = split_frame_as(role, &mut input, LARGEST_FRAME_SIZE) {
        if matches!(frame, Frame::Unknown { .. }) {
            // Skipped on receipt, never sent: nothing to encode.
            continue;
        }
        let mut again = BytesMut::new();
        frame.encode(&mut again);
        match split_frame_as(role, &mut again, LARGEST_FRAME_SIZE) {
            Ok(Some(reloaded)) => {
                assert_eq!(reloaded, frame, "a frame must survive encode and load")
            }
            other => panic!("an encoded frame did not load again: {other:?}"),
        }
    }
}
