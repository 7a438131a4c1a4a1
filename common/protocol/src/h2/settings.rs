//! The SETTINGS one end of an HTTP/2 connection announces (RFC 9113 section 6.5.2): what each
//! value means, its initial value, how a received SETTINGS frame changes them (section 6.5.3),
//! and the SETTINGS frame a server sends.
//!
//! The wire form, a list of (identifier, value) pairs, is [`crate::h2::frame::Settings`]; this
//! module gives the pairs their meaning. A connection keeps two [`Settings`]: the peer's, which
//! bound what this end may send (frame sizes, windows, the HPACK table its encoder may use), and
//! its own, announced in its preface and in force once the peer acknowledges them.

use super::error::Error;
use super::frame::{self, SettingId};

/// The values one endpoint announces, each with the initial value of section 6.5.2.
///
/// Kept apart from [`crate::Limits`] on purpose. `Limits` are this server's own policy: set once
/// from the command line, the same for HTTP/1.1 and HTTP/2, never sent anywhere. `Settings` are
/// what is said on the wire: one value for each end of each connection, changed by SETTINGS
/// frames while the connection lives, and in force only from the moment they are acknowledged.
/// The connection derives the `Settings` it announces from its `Limits` (a header list size
/// from the head limit, say), and obeys the peer's `Settings` when it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1): the largest HPACK dynamic table the announcing end's
    /// decoder keeps, in octets; the other end's encoder may use up to this much.
    pub header_table_size: u32,
    /// SETTINGS_ENABLE_PUSH (0x2): whether the announcing end (a client) accepts server push.
    /// "For a server, this initial value has no effect, and is equivalent to the value 0."
    pub enable_push: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3): how many streams the *other* end may have open at
    /// once; `None` is the initial "no limit".
    pub max_concurrent_streams: Option<u32>,
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4): the flow-control window each new stream starts with
    /// for data sent to the announcing end, at most 2^31-1.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE (0x5): the largest frame payload the announcing end accepts,
    /// 2^14..=2^24-1.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6): the largest field section the announcing end
    /// accepts (names and values plus 32 octets a field); advisory. `None` is the initial
    /// "unlimited".
    pub max_header_list_size: Option<u32>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441): whether the announcing end (a server)
    /// accepts extended CONNECT. This server does not; the value is tracked so that it is
    /// checked and can be reported.
    pub enable_connect_protocol: bool,
}

impl Settings {
    /// The initial SETTINGS_HEADER_TABLE_SIZE: 4,096 octets.
    pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4_096;
    /// The initial SETTINGS_INITIAL_WINDOW_SIZE: 2^16-1 octets.
    pub const DEFAULT_INITIAL_WINDOW_SIZE: u32 = 65_535;
    /// The initial SETTINGS_MAX_FRAME_SIZE: 2^14 octets.
    pub const DEFAULT_MAX_FRAME_SIZE: u32 = frame::DEFAULT_MAX_FRAME_SIZE;

    // ANCHOR: settings_apply
    /// Applies a SETTINGS frame received from the peer whose values these are, and says what
    /// changed that the connection must act on at once.
    ///
    /// "The values in the SETTINGS frame MUST be processed in the order they appear, with no
    /// other frame processing between values. Unsupported settings MUST be ignored." (section
    /// 6.5.3) So a value that appears twice ends as its last value. Every value is checked
    /// first (the rules of section 6.5.2, [`SettingId::check`]): on an error nothing is
    /// applied, and the error is a connection error. An acknowledgement carries no values and
    /// changes nothing; it is the connection's signal that its own pending settings are now in
    /// force. After a successful `apply` the connection "MUST immediately emit a SETTINGS
    /// frame with the ACK flag set" ([`frame::Settings::acknowledgement`]).
    pub fn apply(&mut self, frame: &frame::Settings) -> Result<Applied, Error> {
        for &(id, value) in &frame.parameters {
            id.check(value)?;
        }
        let old_window = self.initial_window_size;
        let mut smallest_header_table_size: Option<u32> = None;
        for &(id, value) in &frame.parameters {
            match id {
                SettingId::HEADER_TABLE_SIZE => {
                    self.header_table_size = value;
                    smallest_header_table_size =
                        Some(smallest_header_table_size.map_or(value, |least| least.min(value)));
                }
                SettingId::ENABLE_PUSH => self.enable_push = value == 1,
                SettingId::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(value),
                SettingId::INITIAL_WINDOW_SIZE => self.initial_window_size = value,
                SettingId::MAX_FRAME_SIZE => self.max_frame_size = value,
                SettingId::MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(value),
                SettingId::ENABLE_CONNECT_PROTOCOL => self.enable_connect_protocol = value == 1,
                // "An endpoint that receives a SETTINGS frame with any unknown or unsupported
                // identifier MUST ignore that setting." (section 6.5.2)
                _ => {}
            }
        }
        Ok(Applied {
            smallest_header_table_size,
            initial_window_size_delta: i64::from(self.initial_window_size) - i64::from(old_window),
        })
    }
    // ANCHOR_END: settings_apply

    /// The SETTINGS frame that announces these values: only those that differ from the initial
    /// values, since the peer starts from those (an all-default `Settings` gives an empty
    /// frame, which is a valid server preface, section 3.4). Identifiers in increasing order.
    ///
    /// SETTINGS_ENABLE_PUSH is sent only as 0: "A server MUST NOT explicitly set this value to
    /// 1." The values must be in the ranges of section 6.5.2 (the peer would end the connection
    /// otherwise); the fields are public, so keeping them there is the caller's job.
    pub fn to_frame(&self) -> frame::Settings {
        let defaults = Settings::default();
        let mut parameters = Vec::new();
        if self.header_table_size != defaults.header_table_size {
            parameters.push((SettingId::HEADER_TABLE_SIZE, self.header_table_size));
        }
        if !self.enable_push {
            parameters.push((SettingId::ENABLE_PUSH, 0));
        }
        if let Some(streams) = self.max_concurrent_streams {
            parameters.push((SettingId::MAX_CONCURRENT_STREAMS, streams));
        }
        if self.initial_window_size != defaults.initial_window_size {
            parameters.push((SettingId::INITIAL_WINDOW_SIZE, self.initial_window_size));
        }
        if self.max_frame_size != defaults.max_frame_size {
            parameters.push((SettingId::MAX_FRAME_SIZE, self.max_frame_size));
        }
        if let Some(size) = self.max_header_list_size {
            parameters.push((SettingId::MAX_HEADER_LIST_SIZE, size));
        }
        if self.enable_connect_protocol {
            parameters.push((SettingId::ENABLE_CONNECT_PROTOCOL, 1));
        }
        frame::Settings {
            ack: false,
            parameters,
        }
    }
}

impl Default for Settings {
    /// The initial values of section 6.5.2, in force on both sides until SETTINGS say
    /// otherwise.
    fn default() -> Settings {
        Settings {
            header_table_size: Settings::DEFAULT_HEADER_TABLE_SIZE,
            enable_push: true,
            max_concurrent_streams: None,
            initial_window_size: Settings::DEFAULT_INITIAL_WINDOW_SIZE,
            max_frame_size: Settings::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: None,
            enable_connect_protocol: false,
        }
    }
}

/// What [`Settings::apply`] changed that the connection must act on before it processes
/// another frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The smallest SETTINGS_HEADER_TABLE_SIZE in the frame, if it had any. The HPACK encoder
    /// must start its next field block with a table size update to it (and then to the final
    /// value, if that is larger): "In the case that this size is changed more than once in this
    /// interval, the smallest maximum table size that occurs in that interval MUST be signaled
    /// in a dynamic table size update." (RFC 7541 section 4.2)
    pub smallest_header_table_size: Option<u32>,
    /// The new SETTINGS_INITIAL_WINDOW_SIZE less the old one (0 if unchanged). "When the value
    /// of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver MUST adjust the size of all stream
    /// flow-control windows that it maintains by the difference between the new value and the
    /// old value." (RFC 9113 section 6.9.2) A window pushed past 2^31-1 by it is a connection
    /// FLOW_CONTROL_ERROR.
    pub initial_window_size_delta: i64,
}

#[cfg(test)]
mod tests;
