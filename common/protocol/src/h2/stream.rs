//! The life of one stream, as a table: the states and transitions of RFC 9113 section 5.1,
//! seen from the server's side, and the stream-identifier rules of section 5.1.1.
//!
//! The figure of section 5.1, as the RFC draws it:
//!
//! ```text
//!                                 +--------+
//!                         send PP |        | recv PP
//!                        ,--------+  idle  +--------.
//!                       /         |        |         \
//!                      v          +--------+          v
//!               +----------+          |           +----------+
//!               |          |          | send H /  |          |
//!        ,------+ reserved |          | recv H    | reserved +------.
//!        |      | (local)  |          |           | (remote) |      |
//!        |      +---+------+          v           +------+---+      |
//!        |          |             +--------+             |          |
//!        |          |     recv ES |        | send ES     |          |
//!        |   send H |     ,-------+  open  +-------.     | recv H   |
//!        |          |    /        |        |        \    |          |
//!        |          v   v         +---+----+         v   v          |
//!        |      +----------+          |           +----------+      |
//!        |      |   half-  |          |           |   half-  |      |
//!        |      |  closed  |          | send R /  |  closed  |      |
//!        |      | (remote) |          | recv R    | (local)  |      |
//!        |      +----+-----+          |           +-----+----+      |
//!        |           |                |                 |           |
//!        |           | send ES /      |       recv ES / |           |
//!        |           |  send R /      v        send R / |           |
//!        |           |  recv R    +--------+   recv R   |           |
//!        | send R /  `----------->|        |<-----------'  send R / |
//!        | recv R                 | closed |               recv R   |
//!        `----------------------->|        |<-----------------------'
//!                                 +--------+
//!
//!    send: endpoint sends this frame      recv: endpoint receives this frame
//!    H: HEADERS (and its CONTINUATIONs)   ES: END_STREAM flag   R: RST_STREAM
//!    PP: PUSH_PROMISE (and its CONTINUATIONs); its transitions are for the promised stream
//! ```
//!
//! For a server, "recv H" from idle is how every request begins (the client opens the stream)
//! and "send PP" is how a push would begin; "recv PP" never happens (a client cannot push,
//! section 8.4), so *reserved (remote)* is in the table for completeness only.
//!
//! [`transition`] is the whole figure plus the prose of each state: for a state and an
//! [`Event`] it returns the next state, [`Outcome::Discard`] for a frame that must be
//! processed minimally and dropped, or the [`Refusal`] the RFC names. "For the purpose of
//! state transitions, the END_STREAM flag is processed as a separate event to the frame that
//! bears it; a frame with the END_STREAM flag set can cause two state transitions": a HEADERS
//! frame with END_STREAM is [`Event::RecvHeaders`] and then [`Event::RecvEndStream`].
//!
//! The *closed* state is split by how the stream got there ([`Closure`]), because what may
//! still arrive depends on it: after this endpoint resets a stream the peer may not know yet
//! and can send anything; after the peer resets it, or after both sides ended it, only
//! stragglers (WINDOW_UPDATE, RST_STREAM) are expected.
//!
//! What is left to the connection layer (it sees more than one stream):
//!
//! - Which streams it keeps. A stream it no longer holds is [`StreamIds::untracked`]: idle if
//!   its id is above every id of its kind seen so far, else `Closed(Closure::Forgotten)`.
//!   Keeping a reset stream as `Closed(Closure::ResetByUs)` for a while lets late frames be
//!   dropped quietly; "Endpoints SHOULD NOT use timers for this purpose" (section 5.1), so
//!   forget them by count (the oldest of the last N resets), not by age.
//! - The minimal processing of a discarded frame: "This means updating header compression
//!   state for HEADERS and PUSH_PROMISE frames. [...] Additionally, the content of DATA frames
//!   counts toward the connection flow-control window." (section 5.1, closed)
//! - The concurrency limit: "An endpoint that receives a HEADERS frame that causes its
//!   advertised concurrent stream limit to be exceeded MUST treat this as a stream error [...]
//!   of type PROTOCOL_ERROR or REFUSED_STREAM" (section 5.1.2); [`State::is_active`] says which
//!   streams count.
//! - After answering a stream error with RST_STREAM, applying [`Event::SendReset`] to it.
//! - Frames that are not about stream state at all (SETTINGS, PING, GOAWAY on stream 0; a
//!   CONTINUATION is part of the HEADERS before it) and frame types it does not know, which
//!   "cannot be treated as an error" (section 5.1).

use std::fmt;

use super::error::{Error, Reason};

/// The largest stream identifier: "Streams are identified by an unsigned 31-bit integer."
/// (section 5.1.1)
pub const MAX_STREAM_ID: u32 = 0x7fff_ffff;

// ANCHOR: state
/// Where a stream is in its life (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// "All streams start in the idle state."
    Idle,
    /// Promised by this server with PUSH_PROMISE, its response not begun.
    ReservedLocal,
    /// Promised by the peer; a server never gets here (clients cannot push).
    ReservedRemote,
    /// Both sides may send.
    Open,
    /// This server has ended its side (sent END_STREAM); the client may still send.
    HalfClosedLocal,
    /// The client has ended its side (the request is complete); the server is answering.
    HalfClosedRemote,
    /// "The closed state is the terminal state." How it closed decides what may still arrive.
    Closed(Closure),
}
// ANCHOR_END: state

/// How a stream came to be closed, which decides what the peer may still legitimately send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Closure {
    /// This endpoint sent RST_STREAM while the peer could still send: "could receive any type
    /// of frame", each to be processed minimally and discarded.
    ResetByUs,
    /// The peer sent RST_STREAM: it knows the stream is gone.
    ResetByPeer,
    /// The peer had ended its side with END_STREAM and this endpoint ended its own (with
    /// END_STREAM or RST_STREAM): only WINDOW_UPDATE and RST_STREAM may still be in flight.
    Finished,
    /// The connection keeps no state for the stream: it closed long enough ago to be dropped,
    /// or it was an idle stream closed implicitly when a higher id was opened (section 5.1.1).
    Forgotten,
}

/// What happens to a stream: a frame sent or received on it, or the END_STREAM flag that a
/// DATA or HEADERS frame carries (applied after the frame's own event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    RecvHeaders,
    RecvData,
    RecvEndStream,
    RecvReset,
    RecvPriority,
    RecvWindowUpdate,
    /// A PUSH_PROMISE received, for the stream it promises.
    RecvPushPromise,
    SendHeaders,
    SendData,
    SendEndStream,
    SendReset,
    SendPriority,
    SendWindowUpdate,
    /// A PUSH_PROMISE sent, for the stream it promises (which must be idle); see
    /// [`State::may_carry_push_promise`] for the stream it is sent on.
    SendPushPromise,
}

/// What an allowed event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Act on the frame; the stream is now in this state (possibly the same one).
    Next(State),
    /// Process the frame minimally (decode a header block to keep HPACK in step, count DATA
    /// against the connection window) and then drop it; the state does not change.
    Discard,
}

/// Why an event is not allowed in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The peer broke a rule that costs it the stream: send RST_STREAM with `reason`.
    Stream { reason: Reason, why: &'static str },
    /// The peer broke a rule that costs it the connection: send GOAWAY with `reason`.
    Connection { reason: Reason, why: &'static str },
    /// This endpoint was about to send what the RFC forbids in this state: a bug in the
    /// caller, never the peer's doing.
    MustNotSend { why: &'static str },
}

impl Refusal {
    /// The error to act on for stream `stream`. A [`Refusal::MustNotSend`] becomes a stream
    /// error INTERNAL_ERROR: the frame is not sent and the stream is given up.
    pub fn on(self, stream: u32) -> Error {
        match self {
            Refusal::Stream { reason, why } => Error::stream(stream, reason, why),
            Refusal::Connection { reason, why } => Error::connection(reason, why),
            Refusal::MustNotSend { why } => Error::stream(stream, Reason::INTERNAL_ERROR, why),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Stream { reason, why } => write!(f, "stream error {reason}: {why}"),
            Refusal::Connection { reason, why } => write!(f, "connection error {reason}: {why}"),
            Refusal::MustNotSend { why } => write!(f, "this endpoint must not send that: {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

impl State {
    /// Every state, *closed* once per [`Closure`], in the order of the figure.
    pub const ALL: [State; 10] = [
        State::Idle,
        State::ReservedLocal,
        State::ReservedRemote,
        State::Open,
        State::HalfClosedLocal,
        State::HalfClosedRemote,
        State::Closed(Closure::ResetByUs),
        State::Closed(Closure::ResetByPeer),
        State::Closed(Closure::Finished),
        State::Closed(Closure::Forgotten),
    ];

    /// Whether the stream is closed, however it got there.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Closed(_))
    }

    /// Whether the stream counts toward SETTINGS_MAX_CONCURRENT_STREAMS: "Streams that are in
    /// the open state or in either of the half-closed states count toward the maximum number
    /// of streams [...] Streams in either of the reserved states do not" (section 5.1.2).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Open | State::HalfClosedLocal | State::HalfClosedRemote
        )
    }

    /// Whether a PUSH_PROMISE may be sent on a stream in this state: "the stream MUST be in
    /// either the open or half-closed (remote) state with respect to the server" (section
    /// 8.4.1).
    pub fn may_carry_push_promise(self) -> bool {
        matches!(self, State::Open | State::HalfClosedRemote)
    }
}

impl Event {
    /// Every event: the received ones, then the sent ones.
    pub const ALL: [Event; 14] = [
        Event::RecvHeaders,
        Event::RecvData,
        Event::RecvEndStream,
        Event::RecvReset,
        Event::RecvPriority,
        Event::RecvWindowUpdate,
        Event::RecvPushPromise,
        Event::SendHeaders,
        Event::SendData,
        Event::SendEndStream,
        Event::SendReset,
        Event::SendPriority,
        Event::SendWindowUpdate,
        Event::SendPushPromise,
    ];
}

// ANCHOR: transition
/// The stream state table of section 5.1, from a server's point of view: what `event` does to
/// a stream in `state`. Rows are states; each row's sentence from the RFC is next to it.
pub fn transition(state: State, event: Event) -> Result<Outcome, Refusal> {
    use Closure::*;
    use Event::*;
    use State::*;
    match (state, event) {
        // "Note that PRIORITY can be sent and received in any stream state." (section 5.1);
        // RFC 9113 deprecates its signal (section 5.3.2), so it changes nothing.
        (_, RecvPriority | SendPriority) => Ok(Outcome::Next(state)),
        // "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE frame
        // as a connection error (Section 5.4.1) of type PROTOCOL_ERROR." (section 8.4)
        (_, RecvPushPromise) => Err(connection(PROTOCOL_ERROR, CLIENT_PUSHED)),

        // idle: "receiving a HEADERS frame as a server, causes the stream to become open"
        (Idle, RecvHeaders) => Ok(Outcome::Next(Open)),
        // "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be
        // treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        (Idle, RecvData | RecvEndStream | RecvReset | RecvWindowUpdate) => {
            Err(connection(PROTOCOL_ERROR, IDLE_FRAME))
        }
        // "Sending a PUSH_PROMISE frame on another stream reserves the idle stream [...]
        // Only a server may send PUSH_PROMISE frames."
        (Idle, SendPushPromise) => Ok(Outcome::Next(ReservedLocal)),
        // A server opens streams only by promising them; "RST_STREAM frames MUST NOT be sent
        // for a stream in the idle state" (section 6.4).
        (Idle, SendHeaders | SendData | SendEndStream | SendReset | SendWindowUpdate) => {
            Err(must_not("a server opens a stream only with PUSH_PROMISE"))
        }

        // reserved (local): "The endpoint can send a HEADERS frame. This causes the stream to
        // open in a half-closed (remote) state." "Either endpoint can send a RST_STREAM frame
        // to cause the stream to become closed."
        (ReservedLocal, SendHeaders) => Ok(Outcome::Next(HalfClosedRemote)),
        // The client never sends on a promised stream, so after our reset only its
        // WINDOW_UPDATE or RST_STREAM can still arrive.
        (ReservedLocal, SendReset) => Ok(Outcome::Next(Closed(Finished))),
        (ReservedLocal, RecvReset) => Ok(Outcome::Next(Closed(ResetByPeer))),
        // "A PRIORITY or WINDOW_UPDATE frame MAY be received in this state."
        (ReservedLocal, RecvWindowUpdate) => Ok(Outcome::Next(ReservedLocal)),
        // "Receiving any type of frame other than RST_STREAM, PRIORITY, or WINDOW_UPDATE on a
        // stream in this state MUST be treated as a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        (ReservedLocal, RecvHeaders | RecvData | RecvEndStream) => {
            Err(connection(PROTOCOL_ERROR, RESERVED_LOCAL_FRAME))
        }
        // "An endpoint MUST NOT send any type of frame other than HEADERS, RST_STREAM, or
        // PRIORITY in this state."
        (ReservedLocal, SendData | SendEndStream | SendWindowUpdate | SendPushPromise) => Err(
            must_not("only HEADERS, RST_STREAM or PRIORITY on a reserved (local) stream"),
        ),

        // reserved (remote): "Receiving a HEADERS frame causes the stream to transition to
        // half-closed (local)." Never reached by a server; kept so the table is the RFC's.
        (ReservedRemote, RecvHeaders) => Ok(Outcome::Next(HalfClosedLocal)),
        (ReservedRemote, RecvReset) => Ok(Outcome::Next(Closed(ResetByPeer))),
        (ReservedRemote, SendReset) => Ok(Outcome::Next(Closed(ResetByUs))),
        // "Receiving any type of frame other than HEADERS, RST_STREAM, or PRIORITY on a stream
        // in this state MUST be treated as a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        (ReservedRemote, RecvData | RecvEndStream | RecvWindowUpdate) => {
            Err(connection(PROTOCOL_ERROR, RESERVED_REMOTE_FRAME))
        }
        // "An endpoint MUST NOT send any type of frame other than RST_STREAM, WINDOW_UPDATE, or
        // PRIORITY in this state."
        (ReservedRemote, SendWindowUpdate) => Ok(Outcome::Next(ReservedRemote)),
        (ReservedRemote, SendHeaders | SendData | SendEndStream | SendPushPromise) => Err(
            must_not("only RST_STREAM, WINDOW_UPDATE or PRIORITY on a reserved (remote) stream"),
        ),

        // open: "may be used by both peers to send frames of any type". A second HEADERS from
        // the client is its trailers; section 8.1's rule that they end the stream is
        // checked by `semantics::trailers`, which sees the flag.
        (Open, RecvHeaders | RecvData | RecvWindowUpdate) => Ok(Outcome::Next(Open)),
        (Open, SendHeaders | SendData | SendWindowUpdate) => Ok(Outcome::Next(Open)),
        // "an endpoint receiving an END_STREAM flag causes the stream state to become
        // half-closed (remote)"; "An endpoint sending an END_STREAM flag causes the stream
        // state to become half-closed (local)".
        (Open, RecvEndStream) => Ok(Outcome::Next(HalfClosedRemote)),
        (Open, SendEndStream) => Ok(Outcome::Next(HalfClosedLocal)),
        // "Either endpoint can send a RST_STREAM frame from this state, causing it to
        // transition immediately to closed."
        (Open, RecvReset) => Ok(Outcome::Next(Closed(ResetByPeer))),
        (Open, SendReset) => Ok(Outcome::Next(Closed(ResetByUs))),

        // half-closed (local): "An endpoint can receive any type of frame in this state."
        (HalfClosedLocal, RecvHeaders | RecvData) => Ok(Outcome::Next(HalfClosedLocal)),
        // "A stream transitions from this state to closed when a frame is received with the
        // END_STREAM flag set or when either peer sends a RST_STREAM frame."
        (HalfClosedLocal, RecvEndStream) => Ok(Outcome::Next(Closed(Finished))),
        (HalfClosedLocal, RecvReset) => Ok(Outcome::Next(Closed(ResetByPeer))),
        (HalfClosedLocal, SendReset) => Ok(Outcome::Next(Closed(ResetByUs))),
        // "In this state, a receiver can ignore WINDOW_UPDATE frames, which might arrive for a
        // short period after a frame with the END_STREAM flag set is sent."
        (HalfClosedLocal, RecvWindowUpdate) => Ok(Outcome::Discard),
        // "Providing flow-control credit using WINDOW_UPDATE frames is necessary to continue
        // receiving flow-controlled frames."
        (HalfClosedLocal, SendWindowUpdate) => Ok(Outcome::Next(HalfClosedLocal)),
        // "cannot be used for sending frames other than WINDOW_UPDATE, PRIORITY, and
        // RST_STREAM."
        (HalfClosedLocal, SendHeaders | SendData | SendEndStream | SendPushPromise) => Err(
            must_not("only WINDOW_UPDATE, PRIORITY or RST_STREAM after ending our side"),
        ),

        // half-closed (remote): "If an endpoint receives additional frames, other than
        // WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in this state, it MUST
        // respond with a stream error (Section 5.4.2) of type STREAM_CLOSED."
        (HalfClosedRemote, RecvHeaders | RecvData | RecvEndStream) => {
            Err(stream(STREAM_CLOSED, HALF_CLOSED_REMOTE_FRAME))
        }
        // WINDOW_UPDATE "could [arrive] on a stream in a half-closed (remote) or closed state.
        // A receiver MUST NOT treat this as an error" (section 6.9): it is our send credit.
        (HalfClosedRemote, RecvWindowUpdate) => Ok(Outcome::Next(HalfClosedRemote)),
        (HalfClosedRemote, RecvReset) => Ok(Outcome::Next(Closed(ResetByPeer))),
        // "can be used by the endpoint to send frames of any type"
        (HalfClosedRemote, SendHeaders | SendData | SendWindowUpdate) => {
            Ok(Outcome::Next(HalfClosedRemote))
        }
        // "A stream can transition from this state to closed by sending a frame with the
        // END_STREAM flag set or when either peer sends a RST_STREAM frame." The client has
        // ended its side already, so either way only its stragglers can follow.
        (HalfClosedRemote, SendEndStream | SendReset) => Ok(Outcome::Next(Closed(Finished))),

        // closed, for every closure: "An endpoint MUST NOT send frames other than PRIORITY on
        // a closed stream."
        (Closed(_), SendHeaders | SendData | SendEndStream | SendReset | SendWindowUpdate) => {
            Err(must_not("only PRIORITY on a closed stream"))
        }

        // closed after our RST_STREAM: "An endpoint that sends a RST_STREAM frame on a stream
        // that is in the open or half-closed (local) state could receive any type of frame.
        // [...] An endpoint MUST minimally process and then discard any frames it receives in
        // this state."
        (
            Closed(ResetByUs),
            RecvHeaders | RecvData | RecvEndStream | RecvReset | RecvWindowUpdate,
        ) => Ok(Outcome::Discard),

        // closed otherwise: "An endpoint that sends a frame with the END_STREAM flag set or a
        // RST_STREAM frame might receive a WINDOW_UPDATE or RST_STREAM frame from its peer in
        // the time before the peer receives and processes the frame that closes the stream."
        // A WINDOW_UPDATE must never be an error (section 6.9), and answering a RST_STREAM
        // with an error would only echo it (section 5.4.2 forbids that for RST_STREAM).
        (Closed(_), RecvReset | RecvWindowUpdate) => Ok(Outcome::Discard),
        // "An endpoint MAY treat receipt of any other type of frame on a closed stream as a
        // connection error (Section 5.4.1) of type STREAM_CLOSED": the peer knows this
        // stream is over (it reset it, or ended its side), so more content is its bug.
        (Closed(ResetByPeer | Finished), RecvHeaders | RecvData | RecvEndStream) => {
            Err(connection(STREAM_CLOSED, CLOSED_FRAME))
        }
        // A stream the connection no longer holds may also be one the client skipped, and
        // HEADERS on it would open it: "The identifier of a newly established stream MUST be
        // numerically greater than all streams that the initiating endpoint has opened or
        // reserved. [...] An endpoint that receives an unexpected stream identifier MUST
        // respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        (Closed(Forgotten), RecvHeaders) => Err(connection(PROTOCOL_ERROR, REUSED_ID)),
        // Late DATA for a stream forgotten after our reset is the likely case: dropped, but
        // still counted against the connection window by the caller.
        (Closed(Forgotten), RecvData | RecvEndStream) => Ok(Outcome::Discard),
        // The promised stream must be idle.
        (Open | HalfClosedRemote | Closed(_), SendPushPromise) => {
            Err(must_not("only an idle stream can be promised"))
        }
    }
}
// ANCHOR_END: transition

// ANCHOR: stream_ids
/// The stream identifiers used so far on one connection, for the rules of section 5.1.1.
///
/// "Streams initiated by a client MUST use odd-numbered stream identifiers; those initiated by
/// the server MUST use even-numbered stream identifiers." Remembering the highest of each kind
/// is enough to know the state of any stream the connection keeps no entry for: above it,
/// idle; at or below it, closed (used and finished, or skipped, which "is immediately
/// closed").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamIds {
    /// The highest id the client has opened; 0 before the first.
    last_client: u32,
    /// The highest id this server has promised; 0 before the first.
    last_pushed: u32,
}
// ANCHOR_END: stream_ids

impl StreamIds {
    /// A connection on which no stream has been used.
    pub const fn new() -> StreamIds {
        StreamIds {
            last_client: 0,
            last_pushed: 0,
        }
    }

    /// The highest stream the client has opened (0 if none): the Last-Stream-ID of a GOAWAY,
    /// "the highest-numbered stream identifier for which the sender of the GOAWAY frame might
    /// have taken some action on" (section 6.8).
    pub fn last_client_stream(&self) -> u32 {
        self.last_client
    }

    /// The highest stream this server has promised (0 if none).
    pub fn last_pushed_stream(&self) -> u32 {
        self.last_pushed
    }

    /// The state of stream `id` when the connection holds no entry for it: never used yet
    /// (idle), or at or below the highest id of its kind, so used and forgotten or skipped
    /// ("When a stream transitions out of the idle state, all streams in the idle state that
    /// might have been opened by the peer with a lower-valued stream identifier immediately
    /// transition to closed."). Stream 0 is the connection itself; the frame layer refuses
    /// it where a stream is needed, and it is reported here as closed.
    pub fn untracked(&self, id: u32) -> State {
        let last = if is_client_initiated(id) {
            self.last_client
        } else {
            self.last_pushed
        };
        if id > last && id != 0 {
            State::Idle
        } else {
            State::Closed(Closure::Forgotten)
        }
    }

    /// Takes `id` for a stream the client opens with HEADERS, or says which rule of section
    /// 5.1.1 it breaks (each a connection error PROTOCOL_ERROR). Every idle client stream
    /// below `id` is closed by this, with nothing to do: [`untracked`](Self::untracked) now
    /// reports them closed.
    pub fn open_client_stream(&mut self, id: u32) -> Result<(), Error> {
        // "the stream identifier of zero cannot be used to establish a new stream"
        if id == 0 {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "stream 0 cannot be used to establish a new stream",
            ));
        }
        if id > MAX_STREAM_ID {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "stream identifiers are 31 bits",
            ));
        }
        // "Streams initiated by a client MUST use odd-numbered stream identifiers"; on the
        // idle state: "If this stream is initiated by the server [...] then receiving a
        // HEADERS frame MUST also be treated as a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        if !is_client_initiated(id) {
            return Err(Error::connection(
                Reason::PROTOCOL_ERROR,
                "a client must open odd-numbered streams",
            ));
        }
        // "The identifier of a newly established stream MUST be numerically greater than all
        // streams that the initiating endpoint has opened or reserved."
        if id <= self.last_client {
            return Err(Error::connection(Reason::PROTOCOL_ERROR, REUSED_ID));
        }
        self.last_client = id;
        Ok(())
    }

    /// The id for the next stream this server promises, or `None` once the 31-bit space is
    /// used up: "A server that is unable to establish a new stream identifier can send a
    /// GOAWAY frame so that the client is forced to open a new connection for new streams."
    pub fn reserve_push_stream(&mut self) -> Option<u32> {
        let next = self.last_pushed + 2;
        if next > MAX_STREAM_ID {
            return None;
        }
        self.last_pushed = next;
        Some(next)
    }
}

/// Whether the client opened (or would open) stream `id`: clients use odd identifiers.
pub fn is_client_initiated(id: u32) -> bool {
    id % 2 == 1
}

const CLIENT_PUSHED: &str = "a client cannot push: PUSH_PROMISE received by a server";
const IDLE_FRAME: &str = "only HEADERS or PRIORITY may arrive on an idle stream";
const RESERVED_LOCAL_FRAME: &str =
    "only RST_STREAM, PRIORITY or WINDOW_UPDATE may arrive on a reserved (local) stream";
const RESERVED_REMOTE_FRAME: &str =
    "only HEADERS, RST_STREAM or PRIORITY may arrive on a reserved (remote) stream";
const HALF_CLOSED_REMOTE_FRAME: &str =
    "the client already ended the stream: only WINDOW_UPDATE, PRIORITY or RST_STREAM may follow";
const CLOSED_FRAME: &str = "a frame arrived on a stream the peer had already ended or reset";
const REUSED_ID: &str = "a new stream's id must be greater than every stream the client opened";

const PROTOCOL_ERROR: Reason = Reason::PROTOCOL_ERROR;
const STREAM_CLOSED: Reason = Reason::STREAM_CLOSED;

fn connection(reason: Reason, why: &'static str) -> Refusal {
    Refusal::Connection { reason, why }
}

fn stream(reason: Reason, why: &'static str) -> Refusal {
    Refusal::Stream { reason, why }
}

fn must_not(why: &'static str) -> Refusal {
    Refusal::MustNotSend { why }
}

#[cfg(test)]
mod tests;
