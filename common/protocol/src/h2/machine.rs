//! The HTTP/2 server side of one connection, as a state machine with no I/O (RFC 9113).
//!
//! [`Machine`] is what [`crate::Connection`] runs once a connection speaks HTTP/2, chosen by
//! ALPN (`h2`, [`crate::Connection::new_http2`]) or by the client's first bytes on plain TCP
//! (h2c "with prior knowledge", [`crate::Connection::new_cleartext`], section 3.3). It has the
//! same calls as [`crate::http1::Machine`], so a driver serves both through one type; what
//! differs for the driver:
//!
//! - many requests may be out with the application at once (up to [`MAX_CONCURRENT_STREAMS`]),
//!   each named by its stream id, and they may be answered in any order;
//! - a response for a stream the client has reset meanwhile is dropped without a word;
//! - a file body leaves as a 9-octet DATA frame header ([`Transmit::Bytes`]) followed by a
//!   region of the file ([`Transmit::File`]), one pair per frame, so `sendfile` still works;
//! - [`Machine::wants_write`] is false while everything left to send waits for the client's
//!   flow-control windows: the driver waits for the client's WINDOW_UPDATE (a read), not for
//!   the socket.
//!
//! The pieces it is built from each say what they leave to the connection; this module does
//! it: the preface (section 3.4), CONTINUATION sequencing and the HPACK context (section 4.3),
//! stream states and identifiers ([`crate::h2::stream`]), flow control ([`crate::h2::flow`]),
//! SETTINGS in order with their ACK (section 6.5.3), request semantics
//! ([`crate::h2::semantics`]), errors (section 5.4) and the defences of section 10.5 against
//! peers that make the server work or buffer for nothing (see [`guard`]).
//!
//! What one connection may make the server hold, at most: the input buffer (one frame of
//! 16 KiB, the SETTINGS_MAX_FRAME_SIZE we keep); one field block being assembled
//! (`guard::MAX_BLOCK_FACTOR` times `Limits::max_head_bytes`); [`MAX_CONCURRENT_STREAMS`]
//! streams, each with a request body of at most `Limits::max_body` (the body is copied out
//! of the DATA frames as they come and their credit given back, so the limit, not the window,
//! is what bounds it); [`MAX_BUFFERED_OUTPUT`] of framed output before reading stops, and
//! `guard::MAX_OWED_CONTROL_FRAMES` answers owed; `guard::CLOSED_REMEMBERED` closed stream ids.
//!
//! The HTTP/1.1 `Upgrade: h2c` handshake (RFC 7540 section 3.2) is not implemented: RFC 9113
//! section 3.1 deprecates it ("The 'h2c' string was previously used as a token for use in the
//! HTTP Upgrade mechanism [...] This usage was never widely deployed and is deprecated by this
//! document."). A cleartext client that wants HTTP/2 sends the preface straight away.
//!
//! The files: this one holds the machine's state and the calls a driver makes; `receive.rs`
//! acts on each frame the client sends; `send.rs` turns responses into frames and schedules
//! DATA within the windows; `timers.rs` keeps the deadlines; `guard.rs` counts what the
//! defences count.

pub mod guard;
mod receive;
mod send;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;

use super::error::{Error, Reason};
use super::flow::{ConnectionFlow, StreamFlow};
use super::frame::{self, GoAway, WindowUpdate};
use super::hpack::{Decoder, Encoder, DEFAULT_TABLE_SIZE};
use super::semantics::BodyCheck;
use super::settings::Settings;
use super::stream::{Closure, State, StreamIds};
use crate::closing::Lifecycle;
use crate::connection::{Event, StreamId, Transmit};
use crate::http1::RequestError;
use crate::limits::Limits;
use crate::message::{Request, Response};
use crate::sink::{BodySinks, Receiving};
use guard::Guard;
use send::{Output, Source};

// ANCHOR: preface
/// The client connection preface (section 3.4): "the connection preface starts with the string
/// PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n. This sequence MUST be followed by a SETTINGS frame".
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// ANCHOR_END: preface

/// The streams a client may have open at once, announced as SETTINGS_MAX_CONCURRENT_STREAMS:
/// "It is recommended that this value be no smaller than 100, so as to not unnecessarily limit
/// parallelism." (section 6.5.2)
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

/// The receive window each stream starts with once our SETTINGS are acknowledged (our
/// SETTINGS_INITIAL_WINDOW_SIZE), unless `Limits::max_body` is smaller: 1 MiB lets a request
/// body arrive without a round trip per 64 KiB, while the body limit still bounds what one
/// stream may make us hold. With a smaller body limit the window is that limit plus one
/// octet, so that a body past the limit can still arrive far enough to be answered 413 rather
/// than stall against the window.
pub const STREAM_WINDOW: u32 = 1 << 20;

/// The connection's receive window, raised from 65,535 by a WINDOW_UPDATE in our preface:
/// room for several streams' bodies at once.
pub const CONNECTION_WINDOW: u32 = 4 << 20;

/// Request bodies one connection may hold at once, summed over its streams, as a multiple of
/// `Limits::max_body`. Each stream's body is bounded by `max_body`, but a hundred streams at
/// once would be a hundred bodies; past this budget the machine stops giving flow-control
/// credit back, so the client's uploads wait (TCP-like back-pressure, no error) until bodies
/// are handed to the application or dropped. What is held then stays under the budget plus
/// one connection window. Uploads that together pass the budget and all stall waiting for it
/// are ended one by one by the body timeout (`Limits::header_timeout`, answered 408), which
/// frees the budget for the rest.
pub const BODY_BUDGET_FACTOR: u64 = 2;

/// How long the client has to acknowledge our SETTINGS: "If the sender of a SETTINGS frame
/// does not receive an acknowledgment within a reasonable amount of time, it MAY issue a
/// connection error (Section 5.4.1) of type SETTINGS_TIMEOUT." (section 6.5.3)
pub const SETTINGS_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closed connection keeps reading and discarding after its last frame, as HTTP/1.1
/// does (`crate::closing`): a reset by the kernel could destroy a GOAWAY the client has not
/// read yet.
pub use crate::closing::LINGER_TIMEOUT;

/// Unwritten output (in memory) past which the connection stops reading: a client that does
/// not read what it asked for is pushed back on through TCP instead of making us buffer.
pub const MAX_BUFFERED_OUTPUT: usize = 64 * 1024;

/// Room offered to each read: one frame of the largest size we accept, with its header.
const READ_ROOM: usize = frame::DEFAULT_MAX_FRAME_SIZE as usize + frame::HEADER_LEN;

/// Where the input side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// Matching the client preface; `matched` octets of it have arrived. `started` is when
    /// the first one did (the header timeout runs from then).
    Preface {
        matched: usize,
        started: Option<Instant>,
    },
    /// The preface is in; the next frame must be SETTINGS (section 3.4).
    FirstSettings { started: Instant },
    /// Reading frames.
    Frames,
    /// Nothing more is read (an error, EOF, or the end of the connection).
    Stopped,
}

/// A field block being assembled from HEADERS and CONTINUATION frames (section 4.3).
#[derive(Debug)]
struct PartialBlock {
    stream: u32,
    end_stream: bool,
    /// The HEADERS frame's priority check, made once the block is decoded.
    priority: Result<(), Error>,
    fragments: BytesMut,
    continuations: usize,
    started: Instant,
}

/// What the machine knows of the request side of a stream.
#[derive(Debug)]
enum Inbound {
    /// HEADERS arrived; DATA (and maybe trailers) are still coming.
    Receiving {
        request: Box<Request>,
        check: BodyCheck,
        body: Vec<u8>,
        /// The sink the body-sink hook gave for this request: DATA goes to it, not to `body`.
        sink: Option<Receiving>,
        last_progress: Instant,
    },
    /// The request (or its refusal) is complete: queued for `poll_event`, or with the
    /// application. Anything the client still sends on the stream is counted and dropped.
    Complete,
}

/// What the machine knows of the response side of a stream.
#[derive(Debug)]
enum Outbound {
    /// No response yet.
    Waiting,
    /// HEADERS are queued; this body is still to send as DATA.
    Body(Source),
    /// END_STREAM has been queued.
    Done,
}

/// One stream the connection holds.
#[derive(Debug)]
struct Stream {
    state: State,
    flow: StreamFlow,
    inbound: Inbound,
    outbound: Outbound,
    /// Whether the request was HEAD (its response carries no content).
    is_head: bool,
    /// Whether the request has been handed to the application (so a response is expected).
    with_app: bool,
}

/// An item for `poll_event`, in completion order.
#[derive(Debug)]
// A request is the common event and a refusal the rare one: boxing the request to shrink the
// enum would cost an allocation per request to save bytes on the few refusals.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Request(u32, Request),
    Reject(u32, RequestError),
}

// ANCHOR: machine
/// The server side of one HTTP/2 connection.
#[derive(Debug)]
pub struct Machine {
    limits: Arc<Limits>,
    /// Received bytes not yet read as frames; DATA and field blocks leave it as views.
    input: BytesMut,
    /// Where the room lent by `read_buf` starts in `input`, while it is lent.
    lent: Option<usize>,
    reading: Reading,
    lifecycle: Lifecycle,
    /// The settings we announced (in force once acknowledged) and the client's.
    local: Settings,
    peer: Settings,
    /// Our SETTINGS frames not yet acknowledged, with when the oldest was sent.
    unacknowledged: usize,
    settings_sent: Instant,
    decoder: Decoder,
    encoder: Encoder,
    flow: ConnectionFlow,
    ids: StreamIds,
    streams: HashMap<u32, Stream>,
    /// Streams closed lately, by id and how, oldest first, at most `guard::CLOSED_REMEMBERED`:
    /// late frames on them are judged by how they closed. Older ones are forgotten by count,
    /// not by time ("Endpoints SHOULD NOT use timers for this purpose", section 5.1).
    closed: VecDeque<(u32, Closure)>,
    block: Option<PartialBlock>,
    pending: VecDeque<Pending>,
    output: Output,
    guard: Guard,
    /// Our GOAWAY, once sent for a graceful end: no new stream is accepted after it.
    going_away: bool,
    /// The client's GOAWAY arrived: finish what is open, then close.
    peer_going_away: bool,
    /// The connection error that ended the connection, for logs and tests.
    error: Option<Error>,
    saw_eof: bool,
    /// The latest `now` any call brought.
    clock: Instant,
    /// Last time the client sent anything.
    last_read: Instant,
    /// Last time output made progress (or, when output starts waiting, the time it started).
    last_write: Instant,
    /// Last time a DATA frame was framed (or a body started waiting): the slow-read clock for
    /// bodies that wait on the client's windows, which PINGs and their answers do not reset.
    last_body_progress: Instant,
    /// The application's hook for bodies that stream to a sink, if it gave one.
    sinks: Option<BodySinks>,
}
// ANCHOR_END: machine

impl Machine {
    /// A connection whose client is expected to start with the preface, accepted at `now`. Our
    /// own preface, SETTINGS and a connection WINDOW_UPDATE, is queued at once: "The server
    /// connection preface consists of a potentially empty SETTINGS frame (Section 6.5) that
    /// MUST be the first frame the server sends in the HTTP/2 connection." (section 3.4)
    pub fn new(limits: Arc<Limits>, now: Instant) -> Machine {
        let local = local_settings(&limits);
        let mut machine = Machine {
            limits,
            input: BytesMut::new(),
            lent: None,
            reading: Reading::Preface {
                matched: 0,
                started: None,
            },
            lifecycle: Lifecycle::Open,
            local,
            peer: Settings::default(),
            unacknowledged: 1,
            settings_sent: now,
            decoder: Decoder::new(DEFAULT_TABLE_SIZE),
            encoder: Encoder::new(),
            flow: ConnectionFlow::new(),
            ids: StreamIds::new(),
            streams: HashMap::new(),
            closed: VecDeque::new(),
            block: None,
            pending: VecDeque::new(),
            output: Output::new(),
            guard: Guard::default(),
            going_away: false,
            peer_going_away: false,
            error: None,
            saw_eof: false,
            clock: now,
            last_read: now,
            last_write: now,
            last_body_progress: now,
            sinks: None,
        };
        machine.local.to_frame().encode(machine.output.frames());
        machine.flow.grow_connection_window(CONNECTION_WINDOW);
        if let Some(increment) = machine.flow.take_connection_update() {
            frame::WindowUpdate::new(0, increment).encode(machine.output.frames());
        }
        machine
    }

    /// Asks `sinks` about every request with a body from now on (see [`crate::sink`]).
    pub fn set_body_sinks(&mut self, sinks: Option<BodySinks>) {
        self.sinks = sinks;
    }

    /// The hook given to [`set_body_sinks`](Self::set_body_sinks).
    pub fn body_sinks(&self) -> Option<&BodySinks> {
        self.sinks.as_ref()
    }

    /// Room for the driver to read into; report what was read with
    /// [`handle_read`](Self::handle_read).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.take_back_room();
        let start = self.input.len();
        self.input.resize(start + READ_ROOM, 0);
        self.lent = Some(start);
        &mut self.input[start..]
    }

    /// Takes the `n` bytes the driver read into [`read_buf`](Self::read_buf).
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        if let Some(start) = self.lent.take() {
            let end = start.saturating_add(n).min(self.input.len());
            self.input.truncate(end);
        }
        self.received(now);
    }

    /// Takes bytes that are already in memory (a test, or a TLS layer's plaintext).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.take_back_room();
        self.input.extend_from_slice(bytes);
        self.received(now);
    }

    /// Tells the machine that the client will send nothing more. Streams already complete are
    /// still answered (the client may be reading); half-received ones can never complete and
    /// are dropped.
    pub fn handle_eof(&mut self) {
        self.saw_eof = true;
        if self.lifecycle.peer_closed() {
            self.reading = Reading::Stopped;
            self.input.clear();
            self.block = None;
            self.streams
                .retain(|_, stream| matches!(stream.inbound, Inbound::Complete));
            if self.streams.is_empty() && self.output.is_empty() {
                // Nothing owed and nobody to tell: no GOAWAY, no lingering.
                self.lifecycle = Lifecycle::Closed;
            } else {
                self.going_away = true;
                self.close_when_done();
            }
        }
    }

    // ANCHOR: shutdown
    /// Asks the connection to finish gracefully: GOAWAY with NO_ERROR and the last stream we
    /// took, then the streams already opened are served and the connection closes. "A server
    /// that is attempting to gracefully shut down a connection SHOULD send an initial GOAWAY
    /// frame with the last stream identifier set to 2^31-1 and a NO_ERROR code." is not
    /// followed: the two-step GOAWAY guards against requests in flight, which a server that
    /// stops accepting cannot honour anyway, so the one GOAWAY names the real last stream.
    pub fn handle_shutdown(&mut self) {
        if self.lifecycle != Lifecycle::Open || self.going_away {
            return;
        }
        if !matches!(self.reading, Reading::Frames) {
            // Not yet speaking HTTP/2 with the client: nothing to tell it.
            self.reading = Reading::Stopped;
            self.lifecycle = if self.output.is_empty() {
                Lifecycle::Closed
            } else {
                Lifecycle::Closing
            };
            return;
        }
        self.going_away = true;
        GoAway::new(self.ids.last_client_stream(), Reason::NO_ERROR).encode(self.output.frames());
        self.close_when_done();
    }
    // ANCHOR_END: shutdown

    // ANCHOR: poll_event
    /// The next request (or refusal) the application must answer, if any. Unlike HTTP/1.1,
    /// every complete request is handed out at once, however many are already with the
    /// application: the client's concurrency is bounded by [`MAX_CONCURRENT_STREAMS`], and
    /// each is answered with [`send_response`](Self::send_response) in any order.
    pub fn poll_event(&mut self) -> Option<Event> {
        while let Some(item) = self.pending.pop_front() {
            let id = match &item {
                Pending::Request(id, _) | Pending::Reject(id, _) => *id,
            };
            // A stream the client reset while its request waited is gone: skip it.
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.with_app = true;
            return Some(match item {
                Pending::Request(_, request) => Event::Request {
                    id: StreamId(id),
                    request,
                },
                Pending::Reject(_, error) => Event::Rejected {
                    id: StreamId(id),
                    error,
                },
            });
        }
        None
    }
    // ANCHOR_END: poll_event

    /// Answers the request on stream `id`. A response for a stream that is gone (the client
    /// reset it, or the connection ended) is dropped: that is the normal fate of a response
    /// nobody waits for any more, not a driver bug.
    pub fn send_response(&mut self, id: StreamId, response: Response, date: SystemTime) {
        if self.lifecycle != Lifecycle::Open {
            return;
        }
        self.respond(id.0, response, date);
    }

    /// The next bytes (or file region) to write, or the instruction to close the writing side.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if matches!(
            self.lifecycle,
            Lifecycle::Closed | Lifecycle::Lingering { .. }
        ) {
            return None;
        }
        if self.output.is_empty() && self.lifecycle == Lifecycle::Open {
            self.schedule_data();
            self.finish_if_done();
        }
        if self.output.is_empty() {
            return self.lifecycle.after_output(self.saw_eof);
        }
        self.output.front()
    }

    /// Reports that `n` bytes of the last [`Transmit`] were written.
    pub fn advance(&mut self, n: usize, now: Instant) {
        self.clock = now;
        if n > 0 {
            self.last_write = now;
        }
        self.output.advance(n);
        if self.output.is_empty() {
            // Everything owed has reached the socket: the client is reading.
            self.guard.output_drained();
        }
    }

    /// Reports that the driver closed the writing side after `Transmit::CloseWrite`.
    pub fn handle_write_closed(&mut self, now: Instant) {
        self.lifecycle.write_closed(self.saw_eof, now);
    }

    /// Whether the driver should read from the client now.
    pub fn wants_read(&self) -> bool {
        match self.lifecycle {
            Lifecycle::Lingering { .. } => true,
            Lifecycle::Closing | Lifecycle::Closed => false,
            Lifecycle::Open => {
                self.reading != Reading::Stopped
                    && self.output.buffered_bytes() < MAX_BUFFERED_OUTPUT
            }
        }
    }

    /// Whether there is output the socket could take now. False while what is left waits for
    /// the client's flow-control windows: a WINDOW_UPDATE (a read) must come first.
    pub fn wants_write(&self) -> bool {
        match self.lifecycle {
            Lifecycle::Closed | Lifecycle::Lingering { .. } => false,
            Lifecycle::Closing => true,
            Lifecycle::Open => !self.output.is_empty() || self.has_sendable_data(),
        }
    }

    /// Always false: [`poll_event`](Self::poll_event) never holds a complete request back.
    /// HTTP/1.1 holds back pipelined requests while output drains; HTTP/2 bounds the work a
    /// client can ask for with its stream limit instead, so a driver never has to come back
    /// for requests it was refused.
    pub fn holds_back_requests(&self) -> bool {
        false
    }

    /// Bytes of response waiting to be written: queued frames, file regions by their length,
    /// the rest of every body not yet framed (a streamed body counts as
    /// [`MAX_BUFFERED_OUTPUT`]).
    pub fn queued_output(&self) -> u64 {
        let bodies: u64 = self
            .streams
            .values()
            .map(|stream| match &stream.outbound {
                Outbound::Body(source) => source.remaining(MAX_BUFFERED_OUTPUT as u64),
                Outbound::Waiting | Outbound::Done => 0,
            })
            .sum();
        self.output.queued_bytes() + bodies
    }

    /// Request-body octets held for streams whose request has not all arrived, summed over
    /// the connection: the memory [`BODY_BUDGET_FACTOR`] bounds. For measurements (the book's
    /// table of attacks, `examples/h2_attacks`); no driver needs it.
    pub fn held_request_bodies(&self) -> u64 {
        self.buffered_bodies()
    }

    /// Whether the connection is finished: the driver drops the socket.
    pub fn is_closed(&self) -> bool {
        self.lifecycle == Lifecycle::Closed
    }

    /// Whether nothing is in progress: no stream open, no partial frame or field block, no
    /// request waiting to be answered and nothing left to write.
    pub fn is_idle(&self) -> bool {
        self.streams.is_empty()
            && self.pending.is_empty()
            && self.block.is_none()
            && self.input.len() - self.lent_len() == 0
            && self.output.is_empty()
    }

    /// The connection error that ended the connection, if one did (for logs and tests; the
    /// client was told only the reason, in GOAWAY).
    pub fn connection_error(&self) -> Option<Error> {
        self.error
    }

    /// Ends the connection for `error` (section 5.4.1): "An endpoint that encounters a
    /// connection error SHOULD first send a GOAWAY frame (Section 6.8) with the stream
    /// identifier of the last stream that it successfully received from its peer." Then
    /// nothing more is read, what is queued is flushed, and the writing side is closed.
    fn fail(&mut self, error: Error) {
        if self.lifecycle != Lifecycle::Open {
            return;
        }
        self.error = Some(error);
        self.reading = Reading::Stopped;
        self.input.clear();
        self.lent = None;
        self.block = None;
        self.streams.clear();
        self.pending.clear();
        self.output.drop_scheduling();
        GoAway::new(self.ids.last_client_stream(), error.reason()).encode(self.output.frames());
        self.lifecycle = Lifecycle::Closing;
    }

    /// After a GOAWAY (ours or the client's) or EOF: close once no stream is left.
    fn close_when_done(&mut self) {
        self.finish_if_done();
    }

    /// Closes the connection if it is going away and nothing is left to serve.
    ///
    /// Only our own GOAWAY closes it. The client's says it will open no more streams, not
    /// that it is done with the connection: it may still send PING or SETTINGS, and
    /// "Unknown or unsupported error codes MUST NOT trigger any special behavior" (section 7),
    /// so the connection stays until the client closes it or the idle timeout ends it.
    fn finish_if_done(&mut self) {
        if self.lifecycle == Lifecycle::Open
            && self.going_away
            && self.streams.is_empty()
            && self.pending.is_empty()
        {
            self.reading = Reading::Stopped;
            self.lifecycle = Lifecycle::Closing;
        }
    }

    /// Gives back the room lent by `read_buf` that was never reported as read.
    fn take_back_room(&mut self) {
        if let Some(start) = self.lent.take() {
            self.input.truncate(start);
        }
    }

    fn lent_len(&self) -> usize {
        self.lent.map_or(0, |start| self.input.len() - start)
    }

    fn received(&mut self, now: Instant) {
        self.clock = now;
        self.last_read = now;
        match self.lifecycle {
            Lifecycle::Open => {}
            Lifecycle::Closing | Lifecycle::Lingering { .. } | Lifecycle::Closed => {
                self.input.clear();
                return;
            }
        }
        if self.reading == Reading::Stopped {
            self.input.clear();
            return;
        }
        self.read_frames(now);
        self.finish_if_done();
    }

    /// The state of stream `id`, held or not.
    fn state_of(&self, id: u32) -> State {
        if let Some(stream) = self.streams.get(&id) {
            return stream.state;
        }
        if let Some(&(_, closure)) = self.closed.iter().find(|(closed, _)| *closed == id) {
            return State::Closed(closure);
        }
        self.ids.untracked(id)
    }

    /// Request-body octets held for streams still receiving, summed over the connection.
    fn buffered_bodies(&self) -> u64 {
        self.streams
            .values()
            .map(|stream| match &stream.inbound {
                Inbound::Receiving { body, .. } => body.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// The most [`buffered_bodies`](Self::buffered_bodies) may reach before credit is withheld
    /// ([`BODY_BUDGET_FACTOR`]); never less than one connection window.
    fn body_budget(&self) -> u64 {
        self.limits
            .max_body
            .saturating_mul(BODY_BUDGET_FACTOR)
            .max(u64::from(CONNECTION_WINDOW))
    }

    /// Gives the client back the flow-control credit of the DATA it sent, stream by stream,
    /// unless the bodies held are over the budget: then the credit waits, and the client with
    /// it, until a body leaves (handed out, refused or reset).
    fn release_credit(&mut self) {
        if self.buffered_bodies() > self.body_budget() {
            return;
        }
        for (&id, stream) in self.streams.iter_mut() {
            let unreleased = stream.flow.recv_window().unreleased();
            if unreleased == 0 {
                continue;
            }
            self.flow.release(&mut stream.flow, unreleased);
            // A stream the client has finished sending on needs no more window.
            if matches!(stream.inbound, Inbound::Receiving { .. }) {
                if let Some(increment) = stream.flow.take_update() {
                    WindowUpdate::new(id, increment).encode(self.output.frames());
                }
            }
        }
        if let Some(increment) = self.flow.take_connection_update() {
            WindowUpdate::new(0, increment).encode(self.output.frames());
        }
    }

    /// Forgets stream `id`, remembering how it closed (by count, see `closed`).
    fn remove_stream(&mut self, id: u32, closure: Closure) {
        let unreleased = self
            .streams
            .get(&id)
            .map_or(0, |stream| stream.flow.recv_window().unreleased());
        if let Some(mut stream) = self.streams.remove(&id) {
            // Its held credit goes back to the connection: nothing of it is buffered any more.
            self.flow.release(&mut stream.flow, unreleased);
        }
        self.release_credit();
        self.output.unschedule(id);
        if self.closed.len() >= guard::CLOSED_REMEMBERED {
            self.closed.pop_front();
        }
        self.closed.push_back((id, closure));
    }
}

/// The settings this server announces, from its limits (section 6.5.2).
fn local_settings(limits: &Limits) -> Settings {
    let window = u64::from(STREAM_WINDOW).min(limits.max_body.saturating_add(1));
    Settings {
        max_concurrent_streams: Some(MAX_CONCURRENT_STREAMS),
        // At most STREAM_WINDOW, so the conversion cannot fail; the fallback is never used.
        initial_window_size: u32::try_from(window).unwrap_or(STREAM_WINDOW),
        max_header_list_size: Some(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX)),
        // "For a server, this initial value has no effect, and is equivalent to the value 0":
        // the server does not announce it (`to_frame` sends ENABLE_PUSH only when false).
        enable_push: true,
        ..Settings::default()
    }
}

#[cfg(test)]
mod tests;
