//! The HTTP/1.1 server side of one connection, as a state machine with no I/O (RFC 9112).
//!
//! [`Machine`] is what [`crate::Connection`] runs for an HTTP/1.1 peer; drivers use
//! `Connection`, whose documentation gives the order of the calls. What is particular to
//! HTTP/1.1 is here:
//!
//! - requests arrive one after the other on one byte stream, so they are answered strictly in
//!   order: at most one request is out with the application at a time, and the next one is
//!   handed over only after the response to the previous one (that is how pipelined responses
//!   stay in request order, RFC 9112 section 9.3.2);
//! - every rule that keeps requests from being misread: the limits of [`Limits`], the
//!   body-framing rules of RFC 9112 section 6.3 (see [`head`]), strict chunked decoding (see
//!   [`chunked`]); after any error the connection closes, so that no byte after a bad request is
//!   ever parsed as a new one;
//! - the input buffer is the machine's own: the driver reads into [`Machine::read_buf`] and
//!   reports the count with [`Machine::handle_read`]. A request head is then frozen in place
//!   and the request's target and fields are views into it; a `Content-Length` body is split
//!   off the same buffer. Nothing is copied between the socket and the application.

mod body;
pub mod chunked;
pub mod error;
pub mod head;
mod input;
pub mod refusal;
mod response;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

pub use error::RequestError;

use crate::closing::Lifecycle;
use crate::connection::{Event, StreamId, Transmit};
use crate::limits::Limits;
use crate::message::{Method, Request, Response, Version};
use crate::sink::{BodySinks, Receiving, SinkError};
use chunked::{ChunkedDecoder, Progress};
use head::Framing;
use input::InputBuffer;
use response::ResponseWriter;

// ANCHOR: output_limits
/// How long a closing connection keeps reading what the client still sends after the server's
/// last response (`crate::closing`, shared with HTTP/2).
pub use crate::closing::LINGER_TIMEOUT;

/// Output that may wait unsent (in bytes) before the connection stops reading more requests:
/// a client that does not read its responses must not make the server buffer without bound.
pub const MAX_BUFFERED_OUTPUT: usize = 64 * 1024;
// ANCHOR_END: output_limits

/// Where the input side is within the current request.
#[derive(Debug)]
enum Reading {
    /// Waiting for (more of) a request head. `started` is when its first byte arrived.
    Head { started: Option<Instant> },
    /// Reading a body of known length into the input buffer, where it stays until it is
    /// complete and is split off as the request's body; `length` bytes in all.
    Body {
        request: Box<Request>,
        keep_alive: bool,
        length: usize,
        last_progress: Instant,
    },
    /// Reading a chunked body: the decoder copies chunk data out of the framing.
    Chunked {
        request: Box<Request>,
        keep_alive: bool,
        decoder: Box<ChunkedDecoder>,
        body: Vec<u8>,
        last_progress: Instant,
    },
    /// Streaming a body to the sink the body-sink hook gave for it (`crate::sink`): decoded
    /// bytes go to the sink as they arrive and leave the input buffer at once.
    Sinking {
        request: Box<Request>,
        keep_alive: bool,
        sink: Receiving,
        framing: SinkFraming,
        last_progress: Instant,
    },
    /// No more requests will be read on this connection (an error, `Connection: close`, EOF or
    /// shutdown); anything that still arrives is ignored.
    Stopped,
}

/// How a streamed body ends on the wire.
#[derive(Debug)]
enum SinkFraming {
    /// This many bytes of a Content-Length body are still to come.
    Length(u64),
    /// A chunked body: the decoder, and the data it decoded from the last input, passed on to
    /// the sink before the next input is decoded.
    Chunked {
        decoder: Box<ChunkedDecoder>,
        decoded: Vec<u8>,
    },
}

/// Room lent for each read while a body streams to a sink: large enough that a big upload
/// costs few system calls, small enough that it is all that is held of it.
pub const SINK_READ: usize = 64 * 1024;

/// How long a connection with nothing in progress waits, once the server is stopping, for a
/// request its client may be sending at that moment ([`Machine::handle_shutdown`]). Long enough
/// for a request already on its way over any sane network path, short enough not to delay the
/// stop: a kept-alive client in a loop sends its next request within a round trip.
pub const STOP_GRACE: Duration = Duration::from_millis(200);

/// One parsed item waiting to be handed to the application, in arrival order.
#[derive(Debug)]
// A request is the common event and a refusal the rare one: boxing the request to shrink the
// enum would cost an allocation per request to save bytes on the few refusals.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Request { request: Request, keep_alive: bool },
    Reject(RequestError),
}

/// What the machine remembers about the request the application is answering.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    id: StreamId,
    is_head: bool,
    version: Version,
    keep_alive: bool,
}

// ANCHOR: connection
/// The server side of one HTTP/1.1 connection.
#[derive(Debug)]
pub struct Machine {
    /// Shared by every connection of a server (they all have the same limits).
    limits: Arc<Limits>,
    /// Received bytes not yet parsed, and the room the driver reads into.
    input: InputBuffer,
    reading: Reading,
    pending: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    /// The id the next request is handed out with.
    next_id: u32,
    /// Whether `100 Continue` is still owed to the request whose body is being read.
    continue_owed: bool,
    responses_sent: u32,
    output: ResponseWriter,
    lifecycle: Lifecycle,
    /// Last time the peer sent something or the server wrote something: idle time counts from it.
    last_activity: Instant,
    /// Last time a write made progress, for the unread-response timeout.
    last_write: Instant,
    saw_eof: bool,
    /// The application's hook for bodies that stream to a sink, if it gave one.
    sinks: Option<BodySinks>,
    /// Set by [`handle_shutdown`](Machine::handle_shutdown): until when an idle connection
    /// waits for a request that may be on its way.
    stop_grace_until: Option<Instant>,
}
// ANCHOR_END: connection

impl Machine {
    /// A new connection, accepted at `now`.
    pub fn new(limits: Arc<Limits>, now: Instant) -> Machine {
        Machine {
            limits,
            input: InputBuffer::new(),
            reading: Reading::Head { started: None },
            pending: VecDeque::new(),
            in_flight: None,
            next_id: 1,
            continue_owed: false,
            responses_sent: 0,
            output: ResponseWriter::new(),
            lifecycle: Lifecycle::Open,
            last_activity: now,
            last_write: now,
            saw_eof: false,
            sinks: None,
            stop_grace_until: None,
        }
    }

    /// Asks `sinks` about every request with a body from now on (see [`crate::sink`]).
    pub fn set_body_sinks(&mut self, sinks: Option<BodySinks>) {
        self.sinks = sinks;
    }

    /// The hook given to [`set_body_sinks`](Self::set_body_sinks).
    pub fn body_sinks(&self) -> Option<&BodySinks> {
        self.sinks.as_ref()
    }

    // ANCHOR: read_buf
    /// Room for the driver to read into: at least 1 KiB, more while a body
    /// of known length is expected (so that it arrives where it will stay). Report what was
    /// read with [`handle_read`](Self::handle_read).
    pub fn read_buf(&mut self) -> &mut [u8] {
        let wanted = match &self.reading {
            Reading::Body { length, .. } => length.saturating_sub(self.input.filled()),
            Reading::Sinking { .. } => SINK_READ,
            _ => 0,
        };
        self.input.room(wanted)
    }

    /// Takes the `n` bytes the driver read into [`read_buf`](Self::read_buf).
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        self.input.filled_by_read(n);
        self.received(now);
        // A read that did not fill the room it was given found the socket empty. If every byte
        // was parsed and no request is half-read, the buffer can go back until the next one:
        // an idle keep-alive connection then holds no input buffer at all.
        if self.input.is_empty() && matches!(self.reading, Reading::Head { started: None }) {
            self.input.release_if_drained();
        }
    }
    // ANCHOR_END: read_buf

    /// Takes bytes that are already in memory (a test, or a TLS layer that decrypted into a
    /// buffer of its own). Costs one copy, which [`read_buf`](Self::read_buf) avoids.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.input.extend_from_slice(bytes);
        self.received(now);
    }

    fn received(&mut self, now: Instant) {
        self.last_activity = now;
        match self.lifecycle {
            Lifecycle::Open => {}
            // Lingering: the bytes are read only so that they are not left in the kernel.
            Lifecycle::Closing | Lifecycle::Lingering { .. } | Lifecycle::Closed => {
                self.input.clear();
                return;
            }
        }
        if matches!(self.reading, Reading::Stopped) {
            self.input.clear();
            return;
        }
        self.parse(now);
    }

    /// Tells the machine that the peer will send nothing more.
    pub fn handle_eof(&mut self) {
        self.saw_eof = true;
        if self.lifecycle.peer_closed() {
            // A half-received request can never complete: drop it without an answer (the
            // client is not malformed, it went away). Requests already received are still
            // answered: a client may half-close after sending them.
            self.reading = Reading::Stopped;
            self.close_when_done();
        }
    }

    // ANCHOR: handle_shutdown
    /// Asks the connection to finish gracefully, because the server is stopping: the request
    /// being answered or received is the last, its response says `Connection: close`, and the
    /// connection closes after it.
    ///
    /// A connection between requests is the delicate case. Its client may have sent the next
    /// request already (a kept-alive client in a loop sends it the moment the last response
    /// arrived), and closing now would meet those bytes with a reset: a request lost. So an idle
    /// connection waits [`STOP_GRACE`] for a request on its way, answers it as the last, and
    /// closes quietly if none comes. A client that sends exactly as the grace runs out can still
    /// meet a closed connection; RFC 9112 section 9.3.1 lets it retry, since nothing was answered.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if self.lifecycle != Lifecycle::Open || self.stop_grace_until.is_some() {
            return;
        }
        self.stop_grace_until = Some(now + STOP_GRACE);
        let between_requests =
            matches!(self.reading, Reading::Head { started: None }) && self.input.is_empty();
        if between_requests && (self.in_flight.is_some() || !self.pending.is_empty()) {
            // Answer what was received; nothing of a next request has arrived.
            self.reading = Reading::Stopped;
            self.close_when_done();
        }
        // Otherwise a request is arriving (it becomes the last, see `finish_request`), or none
        // is: `poll_timeout` then includes the grace.
    }
    // ANCHOR_END: handle_shutdown

    // ANCHOR: poll_event
    /// The next thing the application must answer, if any. Every event, a request or a
    /// refusal, is answered with exactly one [`send_response`](Self::send_response).
    ///
    /// While a response's worth of output ([`MAX_BUFFERED_OUTPUT`], counting file regions)
    /// waits unwritten, no further request is handed out: a client that pipelines requests for
    /// a large file and never reads must not make the server open that file again and again.
    /// Call it again after `advance`.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.in_flight.is_some() || self.lifecycle != Lifecycle::Open {
            return None;
        }
        if self.queued_output() >= MAX_BUFFERED_OUTPUT as u64 {
            return None;
        }
        let was_full = self.pending.len() >= self.limits.max_pipelined;
        let id = StreamId(self.next_id);
        let event = match self.pending.pop_front()? {
            Pending::Request {
                request,
                keep_alive,
            } => {
                self.in_flight = Some(InFlight {
                    id,
                    is_head: request.method == Method::Head,
                    version: request.version,
                    keep_alive,
                });
                Event::Request { id, request }
            }
            Pending::Reject(error) => {
                // Nothing after a refused request is trusted, so the connection closes after
                // this response, whatever the driver sends.
                self.in_flight = Some(InFlight {
                    id,
                    is_head: false,
                    version: Version::Http11,
                    keep_alive: false,
                });
                Event::Rejected { id, error }
            }
        };
        self.next_id = self.next_id.wrapping_add(1);
        if was_full {
            // Parsing stopped at the pipelining limit; there is room again.
            self.parse(self.last_activity);
        }
        Some(event)
    }
    // ANCHOR_END: poll_event

    // ANCHOR: send_response
    /// Answers the request `id`, the one last returned by [`poll_event`](Self::poll_event).
    /// `date` is the wall-clock time for the `Date` field.
    ///
    /// A response for any other id is a bug in the driver, not bad input: it is dropped (and
    /// panics in debug builds), and the request in flight stays unanswered.
    pub fn send_response(&mut self, id: StreamId, response: Response, date: SystemTime) {
        let in_flight = match self.in_flight {
            Some(in_flight) if in_flight.id == id => in_flight,
            other => {
                debug_assert!(false, "response for {id:?}, but {other:?} is in flight");
                return;
            }
        };
        self.in_flight = None;
        self.responses_sent += 1;
        let last_allowed = self.responses_sent >= self.limits.max_requests_per_connection;
        let stopping = matches!(self.reading, Reading::Stopped) && self.pending.is_empty();
        let keep_alive = in_flight.keep_alive && !last_allowed && !stopping;
        let keep_alive = self.output.write_response(
            response,
            in_flight.version,
            in_flight.is_head,
            keep_alive,
            date,
        );
        if !keep_alive {
            self.reading = Reading::Stopped;
            self.pending.clear();
            self.input.clear();
            self.lifecycle = Lifecycle::Closing;
        }
        self.owe_continue_if_due();
    }
    // ANCHOR_END: send_response

    // ANCHOR: poll_transmit
    /// The next bytes (or file region) to write to the peer, or the instruction to close the
    /// writing side.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if self.lifecycle == Lifecycle::Closed {
            return None;
        }
        if self.output.is_empty() {
            return self.lifecycle.after_output(self.saw_eof);
        }
        match self.output.front() {
            Ok(transmit) => transmit,
            Err(_stream_failed) => {
                // A streamed body failed midway. The head is gone already, so the only honest
                // signal left is to close without the final chunk.
                self.lifecycle = Lifecycle::Closed;
                None
            }
        }
    }
    // ANCHOR_END: poll_transmit

    /// Reports that `n` bytes of the last [`Transmit`] were written.
    pub fn advance(&mut self, n: usize, now: Instant) {
        if n > 0 {
            self.last_write = now;
            self.last_activity = now;
        }
        self.output.advance(n);
    }

    /// Reports that the driver closed the writing side after `Transmit::CloseWrite`.
    pub fn handle_write_closed(&mut self, now: Instant) {
        self.lifecycle.write_closed(self.saw_eof, now);
    }

    // ANCHOR: wants_read
    /// Whether the driver should read from the peer now.
    pub fn wants_read(&self) -> bool {
        match self.lifecycle {
            Lifecycle::Lingering { .. } => true,
            Lifecycle::Closing | Lifecycle::Closed => false,
            Lifecycle::Open => {
                let input_bound = match &self.reading {
                    // A body of known length is read whole into the buffer (the limit on its
                    // size was checked before the first byte of it was accepted).
                    Reading::Body { length, .. } => self.input.filled() < *length,
                    _ => self.input.filled() <= self.limits.max_head_bytes,
                };
                !matches!(self.reading, Reading::Stopped)
                    && self.pending.len() < self.limits.max_pipelined
                    && self.output.buffered_bytes() < MAX_BUFFERED_OUTPUT
                    && input_bound
            }
        }
    }
    // ANCHOR_END: wants_read

    /// Bytes of response waiting to be written, counting file regions by their length (which
    /// [`MAX_BUFFERED_OUTPUT`] and `wants_read` do not, as they are not in memory) and a
    /// streamed body as `MAX_BUFFERED_OUTPUT`.
    ///
    /// [`poll_event`](Self::poll_event) hands out no request while this is at or above
    /// `MAX_BUFFERED_OUTPUT`: otherwise a client that pipelines requests for a file and never
    /// reads would make the server open that file once per queued response.
    pub fn queued_output(&self) -> u64 {
        self.output.queued_bytes(MAX_BUFFERED_OUTPUT as u64)
    }

    /// Whether parsed requests wait while output drains: [`poll_event`](Self::poll_event)
    /// returns `None` because of [`MAX_BUFFERED_OUTPUT`], not because nothing is ready. A driver
    /// that writes without waiting (stage 05) asks before and after its writes whether to go
    /// back to answering before it waits.
    pub fn holds_back_requests(&self) -> bool {
        self.in_flight.is_none()
            && self.lifecycle == Lifecycle::Open
            && !self.pending.is_empty()
            && self.queued_output() >= MAX_BUFFERED_OUTPUT as u64
    }

    /// Whether there is output waiting to be written.
    pub fn wants_write(&self) -> bool {
        !self.output.is_empty() || self.lifecycle == Lifecycle::Closing
    }

    /// Whether the connection is finished: the driver drops the socket.
    pub fn is_closed(&self) -> bool {
        self.lifecycle == Lifecycle::Closed
    }

    /// Whether nothing is in progress: no partial request, nothing waiting to be answered and
    /// nothing left to write. Only idle connections are closed at once on shutdown.
    pub fn is_idle(&self) -> bool {
        matches!(self.reading, Reading::Head { started: None })
            && self.input.is_empty()
            && self.pending.is_empty()
            && self.in_flight.is_none()
            && self.output.is_empty()
    }

    // ANCHOR: waits_for_client
    /// Whether the machine can do nothing until the client sends more (or a timeout is due):
    /// open and waiting for (more of) a request head, with no request waiting to be answered
    /// or being answered and nothing to write; or lingering after its last response, reading
    /// only to throw away what the client still sends. A driver that keeps its workers for
    /// connections with work (stages 02 and 03 hand the others to a watcher, `driver::lobby`)
    /// asks this.
    pub fn waits_for_client(&self) -> bool {
        match self.lifecycle {
            Lifecycle::Lingering { .. } => true,
            Lifecycle::Open => {
                matches!(self.reading, Reading::Head { .. })
                    && self.pending.is_empty()
                    && self.in_flight.is_none()
                    && self.output.is_empty()
            }
            Lifecycle::Closing | Lifecycle::Closed => false,
        }
    }
    // ANCHOR_END: waits_for_client

    // ANCHOR: poll_timeout
    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limits = &self.limits;
        match self.lifecycle {
            Lifecycle::Closed => None,
            Lifecycle::Lingering { until } => Some(until),
            Lifecycle::Closing => Some(self.last_write + limits.idle_timeout),
            Lifecycle::Open if !self.output.is_empty() => {
                Some(self.last_write + limits.idle_timeout)
            }
            // The application is working on a request: its time is not the client's fault.
            Lifecycle::Open if self.in_flight.is_some() || !self.pending.is_empty() => None,
            Lifecycle::Open => match &self.reading {
                Reading::Head { started: None } => {
                    let idle = self.last_activity + limits.idle_timeout;
                    Some(self.stop_grace_until.map_or(idle, |grace| grace.min(idle)))
                }
                Reading::Head {
                    started: Some(started),
                } => Some(*started + limits.header_timeout),
                Reading::Body { last_progress, .. }
                | Reading::Chunked { last_progress, .. }
                | Reading::Sinking { last_progress, .. } => {
                    Some(*last_progress + limits.header_timeout)
                }
                Reading::Stopped => None,
            },
        }
    }
    // ANCHOR_END: poll_timeout

    // ANCHOR: handle_timeout
    /// Acts on timeouts that have expired by `now`. A header or body timeout queues a refusal
    /// (408) for [`poll_event`](Self::poll_event), so go back to step 1 of the driver loop after
    /// calling this.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.lifecycle {
            Lifecycle::Open if self.output.is_empty() => {
                if matches!(self.reading, Reading::Head { started: None }) {
                    // Idle between requests (or through a stop's grace): close quietly, as
                    // every server does.
                    self.lifecycle = Lifecycle::Closed;
                } else {
                    // Slowloris: part of a request, then silence.
                    self.reading = Reading::Stopped;
                    self.input.clear();
                    self.pending
                        .push_back(Pending::Reject(RequestError::Timeout));
                }
            }
            // Lingering over, or the client does not read what we write: give up.
            _ => self.lifecycle = Lifecycle::Closed,
        }
    }
    // ANCHOR_END: handle_timeout

    /// Parses as many requests as the buffered input holds (up to the pipelining limit).
    fn parse(&mut self, now: Instant) {
        loop {
            let progressed = match &mut self.reading {
                Reading::Stopped => return,
                Reading::Head { .. } => self.parse_head(now),
                Reading::Body { .. } => self.read_body(now),
                Reading::Chunked { .. } => self.read_chunked(now),
                Reading::Sinking { .. } => self.read_sinking(now),
            };
            if !progressed {
                break;
            }
        }
    }

    // ANCHOR: parse_head_step
    /// Tries to complete a request head. Returns whether anything changed.
    fn parse_head(&mut self, now: Instant) -> bool {
        if self.pending.len() >= self.limits.max_pipelined {
            return false;
        }
        // Empty lines before a request line are skipped (RFC 9112 section 2.2).
        let blank = self
            .input
            .unparsed()
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.input.discard(blank);
        let unparsed = self.input.unparsed();
        if unparsed.is_empty() {
            return false;
        }
        if let Reading::Head {
            started: started @ None,
        } = &mut self.reading
        {
            *started = Some(now);
        }
        if !head::may_contain_head_end(unparsed) && unparsed.len() <= self.limits.max_request_line {
            return false;
        }
        // With a body-sink hook, the declared length is checked below, against the limit of
        // the sink the hook gives (or `max_body` when it gives none).
        let max_body = match self.sinks {
            Some(_) => u64::MAX,
            None => self.limits.max_body,
        };
        match head::parse_head_with_body_limit(unparsed, &self.limits, max_body) {
            Ok(None) => false,
            Err(error) => {
                self.reject(error);
                true
            }
            Ok(Some((head, used))) => {
                // The head's bytes leave the buffer as a frozen view; the request's target and
                // fields point into them.
                let (framing, keep_alive, expect_continue) =
                    (head.framing, head.keep_alive, head.expect_continue);
                let request = head.into_request(self.input.split_off_front(used));
                let nothing_more = self.input.is_empty();
                let sinking = match (&self.sinks, framing) {
                    (Some(sinks), Framing::Length(_) | Framing::Chunked) => {
                        sinks.sink_for(&request)
                    }
                    _ => None,
                };
                let body_limit = sinking
                    .as_ref()
                    .map_or(self.limits.max_body, |sinking| sinking.limit);
                if matches!(framing, Framing::Length(length) if length > body_limit) {
                    // The sink (dropped here, before any byte reached it) aborts.
                    self.reject(RequestError::BodyTooLarge);
                    return true;
                }
                if let Some(sinking) = sinking {
                    self.continue_owed = expect_continue && nothing_more;
                    let framing = match framing {
                        Framing::Length(length) => SinkFraming::Length(length),
                        _ => {
                            let limits = &self.limits;
                            SinkFraming::Chunked {
                                decoder: Box::new(ChunkedDecoder::new(
                                    body_limit,
                                    limits.max_chunk_extensions,
                                    limits.max_trailer_bytes,
                                    limits.max_headers.clamp(1, head::MAX_HEADERS_CEILING),
                                )),
                                decoded: Vec::new(),
                            }
                        }
                    };
                    self.reading = Reading::Sinking {
                        request: Box::new(request),
                        keep_alive,
                        sink: Receiving::new(sinking),
                        framing,
                        last_progress: now,
                    };
                    self.owe_continue_if_due();
                    return true;
                }
                match framing {
                    Framing::Empty => self.finish_request(request, keep_alive),
                    Framing::Length(length) => {
                        self.continue_owed = expect_continue && nothing_more;
                        self.reading = Reading::Body {
                            request: Box::new(request),
                            keep_alive,
                            // Bounded by max_body (checked by body_framing), which is a usize
                            // on every platform this runs on; saturate rather than wrap if not.
                            length: usize::try_from(length).unwrap_or(usize::MAX),
                            last_progress: now,
                        };
                    }
                    Framing::Chunked => {
                        self.continue_owed = expect_continue && nothing_more;
                        let limits = &self.limits;
                        let decoder = ChunkedDecoder::new(
                            limits.max_body,
                            limits.max_chunk_extensions,
                            limits.max_trailer_bytes,
                            limits.max_headers.clamp(1, head::MAX_HEADERS_CEILING),
                        );
                        self.reading = Reading::Chunked {
                            request: Box::new(request),
                            keep_alive,
                            decoder: Box::new(decoder),
                            body: Vec::new(),
                            last_progress: now,
                        };
                    }
                }
                self.owe_continue_if_due();
                true
            }
        }
    }
    // ANCHOR_END: parse_head_step

    fn finish_request(&mut self, request: Request, keep_alive: bool) {
        self.pending.push_back(Pending::Request {
            request,
            keep_alive,
        });
        // After a request that closes the connection, nothing more is read: bytes that follow
        // it are not requests this server will answer. Once the server is stopping, this
        // request is the last.
        self.reading = if keep_alive && self.stop_grace_until.is_none() {
            Reading::Head { started: None }
        } else {
            self.input.clear();
            Reading::Stopped
        };
    }

    /// Refuses the request being parsed: its error response follows the responses already owed.
    fn reject(&mut self, error: RequestError) {
        self.reading = Reading::Stopped;
        self.continue_owed = false;
        self.pending.push_back(Pending::Reject(error));
        self.input.clear();
    }

    // ANCHOR: expect_continue
    /// Sends `100 Continue` for the request whose body is being read, once it is that request's
    /// turn: an interim response must not overtake the final responses of earlier pipelined
    /// requests.
    fn owe_continue_if_due(&mut self) {
        if self.continue_owed
            && self.lifecycle == Lifecycle::Open
            && self.in_flight.is_none()
            && self.pending.is_empty()
        {
            self.continue_owed = false;
            self.output.write_continue();
        }
    }
    // ANCHOR_END: expect_continue

    /// Closes now if nothing is owed to the client; otherwise the last response will close.
    fn close_when_done(&mut self) {
        self.input.clear();
        if self.in_flight.is_none() && self.pending.is_empty() {
            // With no final response to protect, there is nothing to half-close or linger for.
            self.lifecycle = if self.output.is_empty() {
                Lifecycle::Closed
            } else {
                Lifecycle::Closing
            };
        }
    }
}

impl RequestError {
    /// The response that tells the client why its request was refused.
    pub fn response(&self) -> Response {
        let status = self.status();
        Response::text(status, format!("{status}: {self}"))
    }
}

#[cfg(test)]
mod tests;
