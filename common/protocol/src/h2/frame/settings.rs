//! SETTINGS frames (RFC 9113 section 6.5): the wire form, a list of (identifier, value) pairs,
//! or an acknowledgement.
//!
//! The payload, in wire order (sizes in bits; `*`: variable):
//!
//! ```text
//! +-----------------+-----------------------------+
//! | Identifier (16) | the setting (section 6.5.2) |
//! | Value (32)      | its new value               |
//! | ...             | again, for each setting     |
//! +-----------------+-----------------------------+
//! type 0x4; flag ACK 0x01 (then no payload); length a multiple of 6; stream 0
//! ```
//!
//! What the values mean, their defaults, and applying them in order is
//! [`crate::h2::settings`]. The range rules of section 6.5.2 are checked here, when the frame is
//! read, so that a [`Settings`] frame that [`super::split_frame`] returns only holds values the
//! RFC allows.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::{flag_if, flags, length_of, Header, Kind, DEFAULT_MAX_FRAME_SIZE};
use super::{LARGEST_FRAME_SIZE, MAX_STREAM_ID};
use crate::h2::error::{Error, Reason};

/// A setting's identifier (section 6.5.2).
///
/// A newtype, because "An endpoint that receives a SETTINGS frame with any unknown or
/// unsupported identifier MUST ignore that setting": unknown identifiers must be readable and
/// are kept in the frame, for [`crate::h2::settings::Settings::apply`] to skip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettingId(pub u16);

impl SettingId {
    /// The largest HPACK dynamic table the sender's decoder keeps (initially 4,096).
    pub const HEADER_TABLE_SIZE: SettingId = SettingId(0x1);
    /// 0 or 1: whether the sender accepts server push (initially 1).
    pub const ENABLE_PUSH: SettingId = SettingId(0x2);
    /// How many streams the receiver may have open at once (initially unlimited).
    pub const MAX_CONCURRENT_STREAMS: SettingId = SettingId(0x3);
    /// The initial stream flow-control window (initially 65,535), at most 2^31-1.
    pub const INITIAL_WINDOW_SIZE: SettingId = SettingId(0x4);
    /// The largest frame payload the sender accepts, 2^14..=2^24-1 (initially 2^14).
    pub const MAX_FRAME_SIZE: SettingId = SettingId(0x5);
    /// The largest field section the sender accepts, advisory (initially unlimited).
    pub const MAX_HEADER_LIST_SIZE: SettingId = SettingId(0x6);
    /// 0 or 1: extended CONNECT (RFC 8441 section 3; initially 0). Known, so that its value is
    /// checked, but this server does not offer it.
    pub const ENABLE_CONNECT_PROTOCOL: SettingId = SettingId(0x8);
}

impl SettingId {
    /// The setting's name as the RFCs spell it, if this crate knows it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SettingId::HEADER_TABLE_SIZE => "SETTINGS_HEADER_TABLE_SIZE",
            SettingId::ENABLE_PUSH => "SETTINGS_ENABLE_PUSH",
            SettingId::MAX_CONCURRENT_STREAMS => "SETTINGS_MAX_CONCURRENT_STREAMS",
            SettingId::INITIAL_WINDOW_SIZE => "SETTINGS_INITIAL_WINDOW_SIZE",
            SettingId::MAX_FRAME_SIZE => "SETTINGS_MAX_FRAME_SIZE",
            SettingId::MAX_HEADER_LIST_SIZE => "SETTINGS_MAX_HEADER_LIST_SIZE",
            SettingId::ENABLE_CONNECT_PROTOCOL => "SETTINGS_ENABLE_CONNECT_PROTOCOL",
            _ => return None,
        })
    }

    /// Whether `value` is allowed for this setting (section 6.5.2); unknown settings allow any.
    pub fn check(self, value: u32) -> Result<(), Error> {
        match self {
            // "Any value other than 0 or 1 MUST be treated as a connection error (Section
            // 5.4.1) of type PROTOCOL_ERROR."
            SettingId::ENABLE_PUSH if value > 1 => Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "SETTINGS_ENABLE_PUSH is neither 0 nor 1",
            )),
            // "Values above the maximum flow-control window size of 2^31-1 MUST be treated as
            // a connection error (Section 5.4.1) of type FLOW_CONTROL_ERROR."
            SettingId::INITIAL_WINDOW_SIZE if value > MAX_STREAM_ID => Err(Error::connection(
                Reason::FLOW_CONTROL_ERROR,
                "SETTINGS_INITIAL_WINDOW_SIZE is above 2^31-1",
            )),
            // "The value advertised by an endpoint MUST be between this initial value and the
            // maximum allowed frame size (2^24-1 or 16,777,215 octets), inclusive. Values
            // outside this range MUST be treated as a connection error (Section 5.4.1) of type
            // PROTOCOL_ERROR."
            SettingId::MAX_FRAME_SIZE
                if !(DEFAULT_MAX_FRAME_SIZE..=LARGEST_FRAME_SIZE).contains(&value) =>
            {
                Err(Error::connection(
                    Reason::PROTOCOL_ERROR,
                    "SETTINGS_MAX_FRAME_SIZE is outside 16,384..=16,777,215",
                ))
            }
            // "The value of the parameter MUST be 0 or 1." (RFC 8441 section 3, which names no
            // error code; PROTOCOL_ERROR, as for SETTINGS_ENABLE_PUSH: "a generic error code
            // (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be used", section 5.4)
            SettingId::ENABLE_CONNECT_PROTOCOL if value > 1 => Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "SETTINGS_ENABLE_CONNECT_PROTOCOL is neither 0 nor 1",
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for SettingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SettingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown setting {:#06x}", self.0),
        }
    }
}

/// A SETTINGS frame: either parameters, in the order they were (or are to be) sent, or an
/// acknowledgement of the peer's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// ACK: this frame acknowledges the peer's SETTINGS and carries no parameters.
    pub ack: bool,
    /// The parameters, in wire order, unknown identifiers included. Order matters: "Settings
    /// are processed in the order in which they appear" (section 6.5).
    pub parameters: Vec<(SettingId, u32)>,
}

impl Settings {
    /// The size of one parameter on the wire: a 16-bit identifier and a 32-bit value.
    pub const PARAMETER_LEN: usize = 6;

    /// The acknowledgement of a SETTINGS frame from the peer.
    pub fn acknowledgement() -> Settings {
        Settings {
            ack: true,
            parameters: Vec::new(),
        }
    }

    /// Reads a SETTINGS frame's payload.
    pub fn load(header: Header, payload: Bytes) -> Result<Settings, Error> {
        // "If an endpoint receives a SETTINGS frame whose Stream Identifier field is anything
        // other than 0x00, the endpoint MUST respond with a connection error (Section 5.4.1) of
        // type PROTOCOL_ERROR."
        if header.stream != 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "SETTINGS on a stream: SETTINGS frames always apply to a connection",
            ));
        }
        let ack = header.has(flags::ACK);
        // "Receipt of a SETTINGS frame with the ACK flag set and a length field value other
        // than 0 MUST be treated as a connection error (Section 5.4.1) of type
        // FRAME_SIZE_ERROR."
        if ack && !payload.is_empty() {
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "SETTINGS with ACK has a payload",
            ));
        }
        // "A SETTINGS frame with a length other than a multiple of 6 octets MUST be treated as
        // a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
        if payload.len() % Settings::PARAMETER_LEN != 0 {
            return Err(Error::connection(
                Reason::FRAME_SIZE_ERROR,
                "SETTINGS length is not a multiple of 6",
            ));
        }
        let mut parameters = Vec::with_capacity(payload.len() / Settings::PARAMETER_LEN);
        for parameter in payload.chunks_exact(Settings::PARAMETER_LEN) {
            let &[i0, i1, v0, v1, v2, v3] = parameter else {
                // chunks_exact yields only slices of exactly PARAMETER_LEN octets.
                continue;
            };
            let id = SettingId(u16::from_be_bytes([i0, i1]));
            let value = u32::from_be_bytes([v0, v1, v2, v3]);
            id.check(value)?;
            parameters.push((id, value));
        }
        Ok(Settings { ack, parameters })
    }

    /// The frame's header.
    pub fn header(&self) -> Header {
        Header {
            length: length_of(self.wire_parameters().len() * Settings::PARAMETER_LEN),
            kind: Kind::SETTINGS,
            flags: flag_if(self.ack, flags::ACK),
            stream: 0,
        }
    }

    /// Appends the frame to `dst`. An acknowledgement is written without parameters, whatever
    /// `parameters` holds: "When this bit is set, the frame payload of the SETTINGS frame MUST
    /// be empty."
    ///
    /// # Panics
    ///
    /// If there are more parameters than a frame can hold (see [`Header::to_bytes`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.header().encode(dst);
        for &(id, value) in self.wire_parameters() {
            dst.put_u16(id.0);
            dst.put_u32(value);
        }
    }

    /// The parameters that go on the wire: none for an acknowledgement.
    fn wire_parameters(&self) -> &[(SettingId, u32)] {
        if self.ack {
            &[]
        } else {
            &self.parameters
        }
    }
}
