//! Flow-control windows (RFC 9113 sections 5.2 and 6.9): how much DATA each side may still
//! send, per stream and for the connection as a whole.
//!
//! "Flow control is based on WINDOW_UPDATE frames. Receivers advertise how many octets they
//! are prepared to receive on a stream and for the entire connection. This is a credit-based
//! scheme." (section 5.2.1) Every DATA frame spends credit in two windows at once, its
//! stream's and the connection's; only DATA does ("only DATA frames are subject to flow
//! control"), and it spends its whole payload, padding included: "The entire DATA frame
//! payload is included in flow control, including the Pad Length and Padding fields if
//! present." (section 6.1)
//!
//! ```text
//!            this server                                     the client
//!   send: Window (per stream + connection)  --- DATA --->   its receive windows
//!         grows by the client's WINDOW_UPDATE <-- WINDOW_UPDATE ---
//!   recv: RecvWindow (per stream + connection) <--- DATA ---  its send windows
//!         take_update() says when to send  --- WINDOW_UPDATE --->
//! ```
//!
//! The pieces: [`Window`], one signed window with the RFC's bounds; [`RecvWindow`], a receive
//! window with the policy for when to give credit back; [`StreamFlow`] and [`ConnectionFlow`],
//! which tie a stream's windows to the connection's and turn each broken rule into the
//! [`Error`] the RFC names, stream or connection.
//!
//! What the connection layer must do with them:
//!
//! - count every received DATA frame against the connection window, even one for a stream it
//!   drops or refuses ([`ConnectionFlow::receive_discarded`]): "A receiver that receives a
//!   flow-controlled frame MUST always account for its contribution against the connection
//!   flow-control window, unless the receiver treats this as a connection error" (section 6.9);
//! - release bytes once they are consumed (here: copied into a request body), then send what
//!   [`ConnectionFlow::take_connection_update`] and [`StreamFlow::take_update`] return; it may
//!   skip stream updates for a stream whose client side has ended;
//! - apply its own SETTINGS_INITIAL_WINDOW_SIZE only when the client acknowledges it
//!   ([`ConnectionFlow::apply_local_initial_window_size`]), because until then the client
//!   may still send against the old size (section 6.9.3);
//! - send DATA only with the credit [`ConnectionFlow::take_send_credit`] grants; a zero-length
//!   DATA frame with END_STREAM needs none (section 6.9.1).

use std::fmt;

use super::error::{Error, Reason};

/// The largest a window may be: "A sender MUST NOT allow a flow-control window to exceed
/// 2^31-1 octets." (section 6.9.1)
pub const MAX_WINDOW_SIZE: u32 = 0x7fff_ffff;

/// "The initial value for the flow-control window is 65,535 octets for both new streams and
/// the overall connection." (section 5.2.1)
pub const DEFAULT_WINDOW_SIZE: u32 = 0xffff;

// ANCHOR: window
/// One flow-control window: the octets that may still be sent.
///
/// Signed, because "A change to SETTINGS_INITIAL_WINDOW_SIZE can cause the available space in
/// a flow-control window to become negative. A sender MUST track the negative flow-control
/// window and MUST NOT send new flow-controlled frames until it receives WINDOW_UPDATE frames
/// that cause the flow-control window to become positive." (section 6.9.2) Held in an `i64`
/// so that no sequence of changes can overflow the arithmetic; the value itself never exceeds
/// 2^31-1 and, until a connection error ends the connection, never falls below -(2^31-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window(i64);
// ANCHOR_END: window

/// Why a window refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// The change would take the window past 2^31-1 (section 6.9.1).
    Overflow,
    /// More octets than the window has room for.
    Exhausted,
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WindowError::Overflow => "the flow-control window would exceed 2^31-1 octets",
            WindowError::Exhausted => "more octets than the flow-control window allows",
        })
    }
}

impl std::error::Error for WindowError {}

impl Window {
    /// A window of `size` octets; sizes above [`MAX_WINDOW_SIZE`] are taken as the maximum
    /// (a SETTINGS value above it is a connection error the settings layer reports first).
    pub const fn new(size: u32) -> Window {
        Window(if size > MAX_WINDOW_SIZE {
            MAX_WINDOW_SIZE as i64
        } else {
            size as i64
        })
    }

    /// The window's value, negative when a settings change took more than was left.
    pub fn size(self) -> i64 {
        self.0
    }

    /// How many octets may be sent now: the window, or 0 while it is negative.
    pub fn available(self) -> u32 {
        // Clamped to 0 ..= MAX_WINDOW_SIZE, so the conversion cannot fail.
        u32::try_from(self.0.clamp(0, i64::from(MAX_WINDOW_SIZE))).unwrap_or(0)
    }

    /// Adds a WINDOW_UPDATE's increment, unless that takes the window past 2^31-1.
    pub fn increase(&mut self, increment: u32) -> Result<(), WindowError> {
        self.adjust(i64::from(increment))
    }

    /// Spends `len` octets, if the window has them.
    pub fn consume(&mut self, len: u32) -> Result<(), WindowError> {
        if len > self.available() {
            return Err(WindowError::Exhausted);
        }
        self.0 -= i64::from(len);
        Ok(())
    }

    /// Moves the window by `delta` (a SETTINGS_INITIAL_WINDOW_SIZE change: the new value
    /// minus the old one, section 6.9.2), unless that takes it past 2^31-1.
    pub fn adjust(&mut self, delta: i64) -> Result<(), WindowError> {
        let moved = self.0.saturating_add(delta);
        if moved > i64::from(MAX_WINDOW_SIZE) {
            return Err(WindowError::Overflow);
        }
        self.0 = moved;
        Ok(())
    }
}

// ANCHOR: recv_window
/// A window this endpoint grants, and what it owes the peer.
///
/// Every octet of the `target` size is in one of three places: still open to the peer
/// (`window`), received but not yet consumed by the application (`unreleased`), or consumed
/// and not yet given back with a WINDOW_UPDATE (`pending`). Receiving moves octets from the
/// first to the second, releasing from the second to the third, and an update from the third
/// back to the first, so `window + unreleased + pending == target` at all times.
///
/// When to give credit back: once at least half of the target is pending. Updating after
/// every frame would answer each DATA frame with a WINDOW_UPDATE ("Receivers are advised to
/// have mechanisms in place to avoid sending WINDOW_UPDATE frames with very small
/// increments", section 6.9.1); waiting for the whole window would stall the sender for a
/// round trip each time. Octets the application has not consumed are never given back, which
/// is what pushes back on a sender faster than the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    window: Window,
    target: u32,
    unreleased: u32,
    pending: u32,
}
// ANCHOR_END: recv_window

impl RecvWindow {
    /// A window that grants `target` octets (at most [`MAX_WINDOW_SIZE`]).
    pub fn new(target: u32) -> RecvWindow {
        let target = target.min(MAX_WINDOW_SIZE);
        RecvWindow {
            window: Window::new(target),
            target,
            unreleased: 0,
            pending: 0,
        }
    }

    /// What the peer may still send.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The size this window is kept at.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// Octets received and not yet released by the application.
    pub fn unreleased(&self) -> u32 {
        self.unreleased
    }

    /// Octets released and not yet given back with a WINDOW_UPDATE.
    pub fn pending(&self) -> u32 {
        self.pending
    }

    /// Takes `len` received octets out of the window, if the peer had that much credit.
    pub fn receive(&mut self, len: u32) -> Result<(), WindowError> {
        self.window.consume(len)?;
        // The window was at most `target - unreleased`, so this stays within `target`.
        self.unreleased += len;
        Ok(())
    }

    /// Records that the application consumed `len` of the received octets (more than were
    /// received is a caller bug, and counts as all of them).
    pub fn release(&mut self, len: u32) {
        let len = len.min(self.unreleased);
        self.unreleased -= len;
        self.pending += len;
    }

    /// The increment of the WINDOW_UPDATE to send now, if one is due; the window counts it
    /// as sent.
    pub fn take_update(&mut self) -> Option<u32> {
        let threshold = (self.target / 2).max(1);
        if self.pending < threshold {
            return None;
        }
        let increment = self.pending;
        self.pending = 0;
        // `window + increment <= target <= MAX_WINDOW_SIZE`, so this cannot overflow.
        self.window.0 += i64::from(increment);
        Some(increment)
    }

    /// Raises the size this window is kept at to `target`, the difference being announced
    /// by the next update. A smaller `target` is ignored: credit once given cannot be taken
    /// back except through SETTINGS_INITIAL_WINDOW_SIZE, which does not apply to the
    /// connection window.
    pub fn grow(&mut self, target: u32) {
        let target = target.min(MAX_WINDOW_SIZE);
        if target > self.target {
            self.pending += target - self.target;
            self.target = target;
        }
    }

    /// Follows a change of this endpoint's SETTINGS_INITIAL_WINDOW_SIZE by `delta`: the
    /// window moves by the same amount, and so does its target (section 6.9.2: "a change to
    /// SETTINGS_INITIAL_WINDOW_SIZE can cause the available space in a flow-control window to
    /// become negative"). A window grown beyond the initial size (a streamed body's, see
    /// [`StreamFlow::grow_recv`]) keeps its extra credit, as the peer's copy of it does.
    fn shift(&mut self, delta: i64) {
        let target = (i64::from(self.target) + delta).clamp(0, i64::from(MAX_WINDOW_SIZE));
        // `window + delta <= target - unreleased - pending <= MAX_WINDOW_SIZE`: no overflow.
        self.window.0 += delta;
        // Within 0..=MAX_WINDOW_SIZE, clamped just above.
        self.target = u32::try_from(target).unwrap_or(MAX_WINDOW_SIZE);
    }
}

/// The two windows of one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamFlow {
    /// What this server may still send on the stream.
    send: Window,
    /// What the client may still send on the stream.
    recv: RecvWindow,
}

impl StreamFlow {
    /// What this server may still send on the stream, before the connection window is
    /// considered.
    pub fn send_window(&self) -> Window {
        self.send
    }

    /// The stream's receive window.
    pub fn recv_window(&self) -> &RecvWindow {
        &self.recv
    }

    /// The increment of a WINDOW_UPDATE for this stream, if one is due.
    pub fn take_update(&mut self) -> Option<u32> {
        self.recv.take_update()
    }

    /// Raises the stream's receive window to `target` (see [`RecvWindow::grow`]): for a
    /// request body that goes to a sink as it arrives, which the body limit's small initial
    /// window would otherwise let through a hundred octets per round trip.
    pub fn grow_recv(&mut self, target: u32) {
        self.recv.grow(target);
    }

    /// A WINDOW_UPDATE for stream `id` (a client-side receive credit for our DATA).
    pub fn handle_window_update(&mut self, id: u32, increment: u32) -> Result<(), Error> {
        // "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control
        // window increment of 0 as a stream error (Section 5.4.2) of type PROTOCOL_ERROR"
        if increment == 0 {
            return Err(Error::stream(
                id,
                Reason::PROTOCOL_ERROR,
                "a WINDOW_UPDATE increment must not be 0",
            ));
        }
        // "If a sender receives a WINDOW_UPDATE that causes a flow-control window to exceed
        // this maximum, it MUST terminate either the stream or the connection, as appropriate.
        // For streams, the sender sends a RST_STREAM with an error code of FLOW_CONTROL_ERROR"
        self.send.increase(increment).map_err(|_| {
            Error::stream(
                id,
                Reason::FLOW_CONTROL_ERROR,
                "WINDOW_UPDATE took the stream's window past 2^31-1",
            )
        })
    }
}

// ANCHOR: connection_flow
/// The flow-control state of one connection: the connection's own two windows, and the
/// initial sizes every new stream's windows start at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionFlow {
    send: Window,
    recv: RecvWindow,
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE: where a new stream's send window starts.
    peer_initial: u32,
    /// This server's, once acknowledged: where a new stream's receive window starts.
    local_initial: u32,
}
// ANCHOR_END: connection_flow

impl Default for ConnectionFlow {
    fn default() -> ConnectionFlow {
        ConnectionFlow::new()
    }
}

impl ConnectionFlow {
    /// The state when a connection starts: every window at 65,535 (section 6.9.2: "Prior to
    /// receiving a SETTINGS frame that sets a value for SETTINGS_INITIAL_WINDOW_SIZE, an
    /// endpoint can only use the default initial window size").
    pub fn new() -> ConnectionFlow {
        ConnectionFlow {
            send: Window::new(DEFAULT_WINDOW_SIZE),
            recv: RecvWindow::new(DEFAULT_WINDOW_SIZE),
            peer_initial: DEFAULT_WINDOW_SIZE,
            local_initial: DEFAULT_WINDOW_SIZE,
        }
    }

    /// The windows a new stream starts with.
    pub fn new_stream(&self) -> StreamFlow {
        StreamFlow {
            send: Window::new(self.peer_initial),
            recv: RecvWindow::new(self.local_initial),
        }
    }

    /// What this server may still send on the connection.
    pub fn send_window(&self) -> Window {
        self.send
    }

    /// The connection's receive window.
    pub fn recv_window(&self) -> &RecvWindow {
        &self.recv
    }

    /// Raises the connection's receive window to `target` (the only way to: "The connection
    /// flow-control window can only be changed using WINDOW_UPDATE frames", section 6.9.2);
    /// the next [`take_connection_update`](Self::take_connection_update) announces it.
    pub fn grow_connection_window(&mut self, target: u32) {
        self.recv.grow(target);
    }

    // ANCHOR: receive_data
    /// A DATA frame on stream `id`: `flow_len` is its whole payload (padding and the Pad
    /// Length octet included, section 6.1), `data_len` the data in it. The padding is
    /// released at once, since no application will consume it.
    pub fn receive_data(
        &mut self,
        id: u32,
        stream: &mut StreamFlow,
        flow_len: u32,
        data_len: u32,
    ) -> Result<(), Error> {
        // "The sender MUST NOT send a flow-controlled frame with a length that exceeds the
        // space available in either of the flow-control windows advertised by the receiver."
        // (section 6.9.1) "A receiver MAY respond with a stream error (Section 5.4.2) or
        // connection error (Section 5.4.1) of type FLOW_CONTROL_ERROR if it is unable to
        // accept a frame." (section 6.9): the connection for its window, the stream for its.
        self.recv.receive(flow_len).map_err(|_| {
            Error::connection(
                Reason::FLOW_CONTROL_ERROR,
                "DATA beyond the connection's flow-control window",
            )
        })?;
        if stream.recv.receive(flow_len).is_err() {
            // The frame is dropped, but the client has counted it against the connection.
            self.recv.release(flow_len);
            return Err(Error::stream(
                id,
                Reason::FLOW_CONTROL_ERROR,
                "DATA beyond the stream's flow-control window",
            ));
        }
        let padding = flow_len.saturating_sub(data_len);
        self.release(stream, padding);
        Ok(())
    }
    // ANCHOR_END: receive_data

    /// A DATA frame of `flow_len` payload octets on a stream the connection drops (closed,
    /// reset, refused): counted against the connection window and released at once.
    pub fn receive_discarded(&mut self, flow_len: u32) -> Result<(), Error> {
        self.recv.receive(flow_len).map_err(|_| {
            Error::connection(
                Reason::FLOW_CONTROL_ERROR,
                "DATA beyond the connection's flow-control window",
            )
        })?;
        self.recv.release(flow_len);
        Ok(())
    }

    /// Records that the application consumed `len` octets of `stream`'s data.
    pub fn release(&mut self, stream: &mut StreamFlow, len: u32) {
        let len = len.min(stream.recv.unreleased);
        stream.recv.release(len);
        self.recv.release(len);
    }

    /// The increment of a WINDOW_UPDATE on stream 0, if one is due.
    pub fn take_connection_update(&mut self) -> Option<u32> {
        self.recv.take_update()
    }

    /// How much DATA may be sent on `stream` now: the smaller of its window and the
    /// connection's.
    pub fn sendable(&self, stream: &StreamFlow) -> u32 {
        self.send.available().min(stream.send.available())
    }

    /// Takes credit for up to `wanted` octets of DATA on `stream` from both windows, and
    /// returns how many were granted (0 while either window is empty or negative).
    pub fn take_send_credit(&mut self, stream: &mut StreamFlow, wanted: u32) -> u32 {
        let granted = wanted.min(self.sendable(stream));
        // `granted` is within both windows' available space, so neither can refuse.
        let connection = self.send.consume(granted);
        let own = stream.send.consume(granted);
        debug_assert!(connection.is_ok() && own.is_ok());
        granted
    }

    /// A WINDOW_UPDATE on stream 0.
    pub fn handle_connection_window_update(&mut self, increment: u32) -> Result<(), Error> {
        // "errors on the connection flow-control window MUST be treated as a connection
        // error (Section 5.4.1)" (section 6.9)
        if increment == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "a WINDOW_UPDATE increment must not be 0",
            ));
        }
        // "for the connection, a GOAWAY frame with an error code of FLOW_CONTROL_ERROR is
        // sent." (section 6.9.1)
        self.send.increase(increment).map_err(|_| {
            Error::connection(
                Reason::FLOW_CONTROL_ERROR,
                "WINDOW_UPDATE took the connection's window past 2^31-1",
            )
        })
    }

    // ANCHOR: initial_window_size
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE changed to `size`: every stream's send
    /// window moves by the difference (the connection's does not). `streams` must be every
    /// stream the connection holds; after an error the connection is closing and the
    /// windows already moved do not matter.
    pub fn apply_peer_initial_window_size<'a>(
        &mut self,
        size: u32,
        streams: impl IntoIterator<Item = &'a mut StreamFlow>,
    ) -> Result<(), Error> {
        // "Values above the maximum flow-control window size of 2^31-1 MUST be treated as a
        // connection error (Section 5.4.1) of type FLOW_CONTROL_ERROR." (section 6.5.2)
        if size > MAX_WINDOW_SIZE {
            return Err(Error::connection(
                Reason::FLOW_CONTROL_ERROR,
                "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
            ));
        }
        // "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver MUST adjust the
        // size of all stream flow-control windows that it maintains by the difference between
        // the new value and the old value." (section 6.9.2)
        let delta = i64::from(size) - i64::from(self.peer_initial);
        self.peer_initial = size;
        for stream in streams {
            // "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE that causes any
            // flow-control window to exceed the maximum size as a connection error (Section
            // 5.4.1) of type FLOW_CONTROL_ERROR."
            stream.send.adjust(delta).map_err(|_| {
                Error::connection(
                    Reason::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE took a stream's window past 2^31-1",
                )
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: initial_window_size

    /// This server's SETTINGS_INITIAL_WINDOW_SIZE, now acknowledged by the client, is `size`:
    /// every stream's receive window moves by the difference. A receive window never holds
    /// more than its target, so this cannot overflow; it may go negative.
    pub fn apply_local_initial_window_size<'a>(
        &mut self,
        size: u32,
        streams: impl IntoIterator<Item = &'a mut StreamFlow>,
    ) {
        let size = size.min(MAX_WINDOW_SIZE);
        let delta = i64::from(size) - i64::from(self.local_initial);
        self.local_initial = size;
        for stream in streams {
            stream.recv.shift(delta);
        }
    }
}

#[cfg(test)]
mod tests;
