//! The HTTP/1.1 server side of one connection, as a state machine with no I/O (RFC 9112).
//!
//! A [`Connection`] has two sides, like a rustls connection: network bytes in and out on one
//! side, whole requests and responses on the other. It never touches a socket or a clock; the
//! driver (each stage) feeds it what happened and asks it what to do:
//!
//! ```text
//!             network side                          application side
//!   bytes read ---> handle_input(bytes, now)
//!   EOF        ---> handle_eof()
//!                   poll_event() -------------------> Event::Request(Request)
//!                   send_response(response, date) <-- Response from the app
//!   write(...) <--- poll_transmit() + advance(n, now)
//!   shutdown   <--- Transmit::CloseWrite, then handle_write_closed(now)
//!   timer      <--> poll_timeout() / handle_timeout(now)
//! ```
//!
//! The order a driver calls them in, each time it wakes up (stage 01's loop is exactly this):
//!
//! 1. `poll_event` until `None`; answer each `Request` with `send_response`, in order. At most
//!    one request is out at a time: the next one is handed over only after the response to the
//!    previous one, which is how pipelined responses stay in request order.
//! 2. `poll_transmit` until `None`, writing what it returns and reporting each write with
//!    `advance`.
//! 3. Stop if `is_closed`. Otherwise, if `wants_read`, read and pass the bytes to `handle_input`
//!    (or `handle_eof`); wait no longer than `poll_timeout`, and call `handle_timeout` when it
//!    has passed.
//!
//! The machine enforces every rule that keeps requests from being misread: the limits of
//! [`Limits`], the body-framing rules of RFC 9112 section 6.3 (see [`head`]), strict chunked
//! decoding (see [`chunked`]), and it closes the connection after any error so that no byte after
//! a bad request is ever parsed as a new one.

pub mod chunked;
pub mod error;
pub mod head;
pub mod refusal;
mod response;
mod transmit;

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

pub use error::RequestError;
pub use transmit::Transmit;

use crate::limits::Limits;
use crate::message::{Method, Request, Response, Version};
use chunked::{ChunkedDecoder, Progress};
use head::{Framing, ParsedHead};
use response::ResponseWriter;

// ANCHOR: output_limits
/// How long a closing connection keeps reading (and throwing away) what the client still sends
/// after the server's last response, so that the kernel does not answer that data with a reset
/// that could destroy the response before the client reads it (Apache's "lingering close").
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Output that may wait unsent (in bytes) before the connection stops reading more requests:
/// a client that does not read its responses must not make the server buffer without bound.
pub const MAX_BUFFERED_OUTPUT: usize = 64 * 1024;
// ANCHOR_END: output_limits

/// What the machine reports to the application side.
#[derive(Debug)]
pub enum Event {
    /// A complete request. Answer it with [`Connection::send_response`].
    Request(Request),
    /// A request was refused. Answer it with `error.response()`; the connection closes after.
    Rejected(RequestError),
}

/// Where the input side is within the current request.
#[derive(Debug)]
enum Reading {
    /// Waiting for (more of) a request head. `started` is when its first byte arrived.
    Head { started: Option<Instant> },
    /// Reading a body of known length; `remaining` bytes to go.
    Body {
        head: Box<ParsedHead>,
        remaining: u64,
        last_progress: Instant,
    },
    /// Reading a chunked body.
    Chunked {
        head: Box<ParsedHead>,
        decoder: Box<ChunkedDecoder>,
        last_progress: Instant,
    },
    /// No more requests will be read on this connection (an error, `Connection: close`, EOF or
    /// shutdown); anything that still arrives is ignored.
    Stopped,
}

/// One parsed item waiting to be handed to the application, in arrival order.
#[derive(Debug)]
enum Pending {
    Request { request: Request, keep_alive: bool },
    Reject(RequestError),
}

/// What the machine remembers about the request the application is answering.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    is_head: bool,
    version: Version,
    keep_alive: bool,
}

/// The lifecycle of the connection as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lifecycle {
    /// Serving requests.
    Open,
    /// The last response is queued; once it is written, half-close (`Transmit::CloseWrite`).
    Closing,
    /// Written side closed; reading and discarding until EOF or the linger deadline.
    Lingering { until: Instant },
    /// Done: the driver drops the socket.
    Closed,
}

// ANCHOR: connection
/// The server side of one HTTP/1.1 connection.
#[derive(Debug)]
pub struct Connection {
    limits: Limits,
    /// Received bytes not yet parsed: `input[input_start..]`.
    input: Vec<u8>,
    input_start: usize,
    reading: Reading,
    pending: VecDeque<Pending>,
    in_flight: Option<InFlight>,
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
}
// ANCHOR_END: connection

impl Connection {
    /// A new connection, accepted at `now`.
    pub fn new(limits: Limits, now: Instant) -> Connection {
        Connection {
            limits,
            input: Vec::new(),
            input_start: 0,
            reading: Reading::Head { started: None },
            pending: VecDeque::new(),
            in_flight: None,
            continue_owed: false,
            responses_sent: 0,
            output: ResponseWriter::new(),
            lifecycle: Lifecycle::Open,
            last_activity: now,
            last_write: now,
            saw_eof: false,
        }
    }

    // ANCHOR: handle_input
    /// Takes bytes read from the peer. Call it only while [`wants_read`](Self::wants_read).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.last_activity = now;
        match self.lifecycle {
            Lifecycle::Open => {}
            // Lingering: the bytes are read only so that they are not left in the kernel.
            Lifecycle::Closing | Lifecycle::Lingering { .. } | Lifecycle::Closed => return,
        }
        if matches!(self.reading, Reading::Stopped) {
            return;
        }
        if self.input_start == self.input.len() {
            self.input.clear();
            self.input_start = 0;
        }
        self.input.extend_from_slice(bytes);
        self.parse(now);
    }
    // ANCHOR_END: handle_input

    /// Tells the machine that the peer will send nothing more.
    pub fn handle_eof(&mut self) {
        self.saw_eof = true;
        match self.lifecycle {
            Lifecycle::Lingering { .. } => self.lifecycle = Lifecycle::Closed,
            Lifecycle::Closing | Lifecycle::Closed => {}
            Lifecycle::Open => {
                // A half-received request can never complete: drop it without an answer (the
                // client is not malformed, it went away). Requests already received are still
                // answered: a client may half-close after sending them.
                self.reading = Reading::Stopped;
                self.close_when_done();
            }
        }
    }

    /// Asks the connection to finish gracefully: answer the requests already received, then
    /// close. Used when the server shuts down.
    pub fn handle_shutdown(&mut self) {
        if self.lifecycle == Lifecycle::Open {
            self.reading = Reading::Stopped;
            self.close_when_done();
        }
    }

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
        let event = match self.pending.pop_front()? {
            Pending::Request {
                request,
                keep_alive,
            } => {
                self.in_flight = Some(InFlight {
                    is_head: request.method == Method::Head,
                    version: request.version,
                    keep_alive,
                });
                Event::Request(request)
            }
            Pending::Reject(error) => {
                // Nothing after a refused request is trusted, so the connection closes after
                // this response, whatever the driver sends.
                self.in_flight = Some(InFlight {
                    is_head: false,
                    version: Version::Http11,
                    keep_alive: false,
                });
                Event::Rejected(error)
            }
        };
        if was_full {
            // Parsing stopped at the pipelining limit; there is room again.
            self.parse(self.last_activity);
        }
        Some(event)
    }
    // ANCHOR_END: poll_event

    // ANCHOR: send_response
    /// Answers the request last returned by [`poll_event`](Self::poll_event). `date` is the
    /// wall-clock time for the `Date` field.
    ///
    /// # Panics
    /// If no request is waiting for a response: that is a bug in the driver, not bad input.
    pub fn send_response(&mut self, response: Response, date: SystemTime) {
        let in_flight = self
            .in_flight
            .take()
            .expect("send_response called with no request in flight");
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
        if self.output.is_empty() && self.lifecycle == Lifecycle::Closing {
            if self.saw_eof {
                self.lifecycle = Lifecycle::Closed;
                return None;
            }
            return Some(Transmit::CloseWrite);
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
        if self.lifecycle == Lifecycle::Closing {
            self.lifecycle = if self.saw_eof {
                Lifecycle::Closed
            } else {
                Lifecycle::Lingering {
                    until: now + LINGER_TIMEOUT,
                }
            };
        }
    }

    // ANCHOR: wants_read
    /// Whether the driver should read from the peer now.
    pub fn wants_read(&self) -> bool {
        match self.lifecycle {
            Lifecycle::Lingering { .. } => true,
            Lifecycle::Closing | Lifecycle::Closed => false,
            Lifecycle::Open => {
                !matches!(self.reading, Reading::Stopped)
                    && self.pending.len() < self.limits.max_pipelined
                    && self.output.buffered_bytes() < MAX_BUFFERED_OUTPUT
                    && self.input.len() - self.input_start <= self.limits.max_head_bytes
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
            && self.pending.is_empty()
            && self.in_flight.is_none()
            && self.output.is_empty()
    }

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
                Reading::Head { started: None } => Some(self.last_activity + limits.idle_timeout),
                Reading::Head {
                    started: Some(started),
                } => Some(*started + limits.header_timeout),
                Reading::Body { last_progress, .. } | Reading::Chunked { last_progress, .. } => {
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
                    // Idle between requests: close quietly, as every server does.
                    self.lifecycle = Lifecycle::Closed;
                } else {
                    // Slowloris: part of a request, then silence.
                    self.reading = Reading::Stopped;
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
            };
            if !progressed {
                break;
            }
        }
        // Compact once most of the buffer has been consumed, so it does not grow with every
        // pipelined request.
        if self.input_start > 0 && self.input_start * 2 >= self.input.len() {
            self.input.drain(..self.input_start);
            self.input_start = 0;
        }
    }

    // ANCHOR: parse_head_step
    /// Tries to complete a request head. Returns whether anything changed.
    fn parse_head(&mut self, now: Instant) -> bool {
        if self.pending.len() >= self.limits.max_pipelined {
            return false;
        }
        // Empty lines before a request line are skipped (RFC 9112 section 2.2).
        let unparsed = &self.input[self.input_start..];
        let blank = unparsed
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.input_start += blank;
        let unparsed = &self.input[self.input_start..];
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
        match head::parse_head(unparsed, &self.limits) {
            Ok(None) => false,
            Err(error) => {
                self.reject(error);
                true
            }
            Ok(Some((head, used))) => {
                self.input_start += used;
                match head.framing {
                    Framing::Empty => self.finish_request(head, Vec::new()),
                    Framing::Length(length) => {
                        self.continue_owed =
                            head.expect_continue && self.input_start == self.input.len();
                        self.reading = Reading::Body {
                            head: Box::new(head),
                            remaining: length,
                            last_progress: now,
                        };
                    }
                    Framing::Chunked => {
                        self.continue_owed =
                            head.expect_continue && self.input_start == self.input.len();
                        let limits = &self.limits;
                        let decoder = ChunkedDecoder::new(
                            limits.max_body,
                            limits.max_chunk_extensions,
                            limits.max_trailer_bytes,
                            limits.max_headers.clamp(1, head::MAX_HEADERS_CEILING),
                        );
                        self.reading = Reading::Chunked {
                            head: Box::new(head),
                            decoder: Box::new(decoder),
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

    /// Moves body bytes of a Content-Length body from the input into the request.
    fn read_body(&mut self, now: Instant) -> bool {
        let Reading::Body {
            head,
            remaining,
            last_progress,
        } = &mut self.reading
        else {
            return false;
        };
        let available = &self.input[self.input_start..];
        if available.is_empty() {
            return false;
        }
        let take = (*remaining).min(available.len() as u64) as usize;
        if head.request.body.is_empty() {
            // Bounded by max_body: the declared length was checked against it.
            head.request.body.reserve_exact(*remaining as usize);
        }
        head.request.body.extend_from_slice(&available[..take]);
        self.input_start += take;
        *remaining -= take as u64;
        *last_progress = now;
        self.continue_owed = false;
        if *remaining == 0 {
            let Reading::Body { head, .. } =
                std::mem::replace(&mut self.reading, Reading::Head { started: None })
            else {
                unreachable!("matched Reading::Body above")
            };
            let mut head = *head;
            let body = std::mem::take(&mut head.request.body);
            self.finish_request(head, body);
        }
        true
    }

    /// Feeds chunked body bytes to the decoder.
    fn read_chunked(&mut self, now: Instant) -> bool {
        let Reading::Chunked {
            head,
            decoder,
            last_progress,
        } = &mut self.reading
        else {
            return false;
        };
        let available = &self.input[self.input_start..];
        if available.is_empty() {
            return false;
        }
        *last_progress = now;
        self.continue_owed = false;
        match decoder.decode(available, &mut head.request.body) {
            Err(error) => {
                self.reject(error);
                true
            }
            Ok(Progress::NeedMore) => {
                self.input_start = self.input.len();
                false
            }
            Ok(Progress::Done(used)) => {
                self.input_start += used;
                let Reading::Chunked {
                    head, mut decoder, ..
                } = std::mem::replace(&mut self.reading, Reading::Head { started: None })
                else {
                    unreachable!("matched Reading::Chunked above")
                };
                let mut head = *head;
                head.request.trailers = decoder.take_trailers();
                let body = std::mem::take(&mut head.request.body);
                self.finish_request(head, body);
                true
            }
        }
    }

    fn finish_request(&mut self, head: ParsedHead, body: Vec<u8>) {
        let ParsedHead {
            mut request,
            keep_alive,
            ..
        } = head;
        request.body = body;
        self.pending.push_back(Pending::Request {
            request,
            keep_alive,
        });
        // After a request that closes the connection, nothing more is read: bytes that follow
        // it are not requests this server will answer.
        self.reading = if keep_alive {
            Reading::Head { started: None }
        } else {
            Reading::Stopped
        };
    }

    /// Refuses the request being parsed: its error response follows the responses already owed.
    fn reject(&mut self, error: RequestError) {
        self.reading = Reading::Stopped;
        self.continue_owed = false;
        self.pending.push_back(Pending::Reject(error));
        self.input_start = self.input.len();
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

/// Drives a connection with arbitrary input, for the fuzz target `connection` (common/fuzz).
/// The first byte of `data` sets the size of the pieces the rest is fed in; every request is
/// answered; the checks are that nothing panics and that the connection ends after EOF.
#[doc(hidden)]
pub fn fuzz_connection(data: &[u8]) {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    let mut scratch = Vec::new();
    let mut sink = Vec::new();
    let mut drive = |conn: &mut Connection| {
        while let Some(event) = conn.poll_event() {
            let response = match event {
                Event::Request(request) => Response::text(crate::StatusCode::OK, request.target),
                Event::Rejected(error) => error.response(),
            };
            conn.send_response(response, SystemTime::UNIX_EPOCH);
        }
        while let Some(transmit) = conn.poll_transmit() {
            if let Transmit::CloseWrite = transmit {
                conn.handle_write_closed(start);
                continue;
            }
            sink.clear();
            // Writing into a Vec cannot fail; a file region cannot occur (no file bodies here).
            let written = transmit.write_to(&mut sink, &mut scratch).unwrap_or(0);
            conn.advance(written, start);
        }
    };
    for bytes in rest.chunks(piece) {
        if conn.wants_read() {
            conn.handle_input(bytes, start);
        }
        drive(&mut conn);
    }
    conn.handle_eof();
    drive(&mut conn);
    conn.handle_timeout(start + Duration::from_secs(3600));
    drive(&mut conn);
    assert!(
        conn.is_closed(),
        "a connection must end after EOF and every timeout"
    );
}

#[cfg(test)]
mod tests;
