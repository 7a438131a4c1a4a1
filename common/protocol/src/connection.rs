//! The one connection type every driver drives, whatever protocol the peer speaks.
//!
//! A [`Connection`] has two sides, like a rustls connection: network bytes in and out on one
//! side, whole requests and responses on the other. It never touches a socket or a clock; the
//! driver (each stage) feeds it what happened and asks it what to do. It speaks HTTP/1.1
//! ([`crate::http1::Machine`]) or HTTP/2 ([`crate::h2::machine::Machine`]) behind the same
//! calls, so that a driver written against this type serves both. Which one is the driver's
//! choice at accept time:
//!
//! - [`Connection::new`]: HTTP/1.1 (a TLS connection whose ALPN chose `http/1.1` or nothing,
//!   or a plain-TCP server that serves HTTP/1.1 only);
//! - [`Connection::new_http2`]: HTTP/2, for a TLS connection whose ALPN chose `h2` (RFC 9113
//!   section 3.2); the client must start with the connection preface;
//! - [`Connection::new_cleartext`]: plain TCP serving both: HTTP/2 "with prior knowledge"
//!   (section 3.3) if the first 24 octets are the preface, HTTP/1.1 otherwise. The HTTP/1.1
//!   `Upgrade: h2c` mechanism is not implemented: RFC 9113 section 3.1 deprecates it.

// The client's address is a value the driver hands in, not a socket: `core::net` has the type
// without any of std's networking.
use core::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::h2::machine::{self as h2_machine, PREFACE};
use crate::http1::{self, RequestError};
use crate::limits::Limits;
use crate::message::{Request, Response, Version};
use crate::sink::BodySinks;

// ANCHOR: call_order
/// The server side of one connection.
///
/// ```text
///             network side                          application side
///   read into  read_buf() ---> handle_read(n, now)
///   EOF        ---> handle_eof()
///                   poll_event() -------------------> Event::Request { id, request }
///                   send_response(id, response, date) <-- Response from the app
///   write(...) <--- poll_transmit() + advance(n, now)
///   shutdown   <--- Transmit::CloseWrite, then handle_write_closed(now)
///   timer      <--> poll_timeout() / handle_timeout(now)
/// ```
///
/// The order a driver calls them in, each time it wakes up (stage 01's loop is exactly this):
///
/// 1. `poll_event` until `None`; answer each event with `send_response` for its id. An HTTP/1.1
///    connection hands out one request at a time and the next only after the response to the
///    previous one, which keeps pipelined responses in order; the driver may answer later (from
///    another thread, for example), but never for an id it was not given.
/// 2. `poll_transmit` until `None`, writing what it returns and reporting each write with
///    `advance`; on `Transmit::CloseWrite`, shut the writing side and call
///    `handle_write_closed`.
/// 3. Stop if `is_closed`. Otherwise, if `wants_read`, read into `read_buf` and report the count
///    with `handle_read` (or `handle_eof` at the end of the stream); wait no longer than
///    `poll_timeout`, and call `handle_timeout` when it has passed.
///
/// `handle_shutdown` asks for a graceful end (answer what was received, then close) and may
/// come at any time. Every call is cheap and none blocks; `now` and `date` are the driver's
/// clocks, read once per wake-up.
#[derive(Debug)]
pub struct Connection {
    protocol: Protocol,
    /// The client's address, copied into every request (see [`Connection::with_peer`]).
    peer: Option<SocketAddr>,
}
// ANCHOR_END: call_order

/// The protocol machine behind a [`Connection`].
// The HTTP/1.1 machine is the large variant and the common one: it stays inline, so that an
// HTTP/1.1 connection costs no allocation more than it did before HTTP/2 existed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Protocol {
    Http1(http1::Machine),
    /// Boxed: the HTTP/2 machine is several times the size of the HTTP/1.1 one.
    Http2(Box<h2_machine::Machine>),
    /// A cleartext connection whose first octets have not yet said which protocol it speaks.
    Detecting(Detect),
}

// ANCHOR: event
/// What the machine reports to the application side. Every event is answered with exactly one
/// [`Connection::send_response`] for its id.
#[derive(Debug)]
// A request is the common event and a refusal the rare one: boxing the request to shrink the
// enum would cost an allocation per request to save bytes on the few refusals.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A complete request.
    Request { id: StreamId, request: Request },
    /// A request was refused. Answer it with `error.response()`. HTTP/1.1 closes the
    /// connection after it; HTTP/2 ends only that stream (a request too large for the limits,
    /// or whose body stalled, is answered this way; malformed ones are reset without an event).
    Rejected { id: StreamId, error: RequestError },
}

/// Which request a response answers. HTTP/1.1 numbers its requests 1, 2, 3... in arrival
/// order; HTTP/2 uses the stream identifier the client chose (RFC 9113 section 5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId(pub u32);
// ANCHOR_END: event

// ANCHOR: transmit
/// One write for the driver to perform, from [`Connection::poll_transmit`].
#[derive(Debug)]
pub enum Transmit<'a> {
    /// Write these bytes (or as many as the socket takes), then `advance` by the count written.
    Bytes(&'a [u8]),
    /// Write `len` bytes of the open file `file` from `offset`: with `sendfile` where the driver
    /// can (the bytes never enter user space), or by reading and writing them.
    File {
        file: BorrowedFd<'a>,
        offset: u64,
        len: u64,
    },
    /// Everything is written and the connection is closing: shut down the writing side
    /// (`shutdown(SHUT_WR)`), then call `handle_write_closed`.
    CloseWrite,
}
// ANCHOR_END: transmit

impl Connection {
    /// A new HTTP/1.1 connection, accepted at `now`. `limits` may be shared (`Arc<Limits>`):
    /// a server holding ten thousand connections then keeps one copy of them, not ten thousand.
    pub fn new(limits: impl Into<Arc<Limits>>, now: Instant) -> Connection {
        Connection {
            protocol: Protocol::Http1(http1::Machine::new(limits.into(), now)),
            peer: None,
        }
    }

    // ANCHOR: constructors
    /// A new HTTP/2 connection, accepted at `now`: TLS whose ALPN chose `h2`. The client must
    /// start with the 24-octet preface and a SETTINGS frame; anything else ends the connection
    /// with GOAWAY PROTOCOL_ERROR. Our SETTINGS are queued at once, so the driver may write
    /// before its first read.
    pub fn new_http2(limits: impl Into<Arc<Limits>>, now: Instant) -> Connection {
        Connection {
            protocol: Protocol::Http2(Box::new(h2_machine::Machine::new(limits.into(), now))),
            peer: None,
        }
    }

    /// A new plain-TCP connection, accepted at `now`, that serves HTTP/1.1 or HTTP/2 with
    /// prior knowledge, as its first octets decide: while they are a prefix of the HTTP/2
    /// preface it waits (under the same timeouts as an HTTP/1.1 head); once they are the whole
    /// preface it becomes HTTP/2; at the first octet that differs it becomes HTTP/1.1, which
    /// is handed the octets already read. [`version`](Self::version) says which, once known.
    pub fn new_cleartext(limits: impl Into<Arc<Limits>>, now: Instant) -> Connection {
        Connection {
            protocol: Protocol::Detecting(Detect {
                limits: limits.into(),
                accepted: now,
                received: Vec::with_capacity(PREFACE.len()),
                room: [0; PREFACE.len()],
                first_byte: None,
                closed: false,
                sinks: None,
            }),
            peer: None,
        }
    }
    // ANCHOR_END: constructors

    // ANCHOR: with_peer
    /// The same connection, whose requests carry `peer` as [`Request::peer`]: the driver says
    /// who it accepted, once, where it makes the connection (`None` when the socket could not
    /// tell, which a connection reset before it was served can do).
    pub fn with_peer(mut self, peer: Option<SocketAddr>) -> Connection {
        self.peer = peer;
        self
    }

    /// The client's address given to [`with_peer`](Self::with_peer), for a driver that replaces
    /// the machine (ALPN choosing `h2`) and keeps the peer.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
    // ANCHOR_END: with_peer

    // ANCHOR: with_body_sinks
    /// The same connection, asking `sinks` about every request with a body whether to stream
    /// that body to a sink instead of collecting it in memory ([`crate::sink`]). The driver
    /// passes on what the application offers (`app::App::body_sinks`); `None` keeps every
    /// body in memory.
    pub fn with_body_sinks(mut self, sinks: Option<BodySinks>) -> Connection {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.set_body_sinks(sinks),
            Protocol::Http2(machine) => machine.set_body_sinks(sinks),
            Protocol::Detecting(detect) => detect.sinks = sinks,
        }
        self
    }

    /// The hook given to [`with_body_sinks`](Self::with_body_sinks), for a driver that
    /// replaces the machine (ALPN choosing `h2`) and keeps it.
    pub fn body_sinks(&self) -> Option<BodySinks> {
        match &self.protocol {
            Protocol::Http1(machine) => machine.body_sinks().cloned(),
            Protocol::Http2(machine) => machine.body_sinks().cloned(),
            Protocol::Detecting(detect) => detect.sinks.clone(),
        }
    }
    // ANCHOR_END: with_body_sinks

    /// The protocol the connection speaks: `Http11` for HTTP/1.x, `Http2`, or `None` while a
    /// cleartext connection has not yet said.
    pub fn version(&self) -> Option<Version> {
        match &self.protocol {
            Protocol::Http1(_) => Some(Version::Http11),
            Protocol::Http2(_) => Some(Version::Http2),
            Protocol::Detecting(_) => None,
        }
    }

    /// Why an HTTP/2 connection ended with a connection error (the GOAWAY it sent), for the
    /// log; `None` for HTTP/1.1 and for an HTTP/2 connection that has not failed.
    pub fn connection_error(&self) -> Option<crate::h2::Error> {
        match &self.protocol {
            Protocol::Http2(machine) => machine.connection_error(),
            Protocol::Http1(_) | Protocol::Detecting(_) => None,
        }
    }

    /// Room to read the peer's next bytes into; report the count with
    /// [`handle_read`](Self::handle_read). The room belongs to the connection, and parsed
    /// requests are views into it, so no byte is copied on the way to the application.
    pub fn read_buf(&mut self) -> &mut [u8] {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.read_buf(),
            Protocol::Http2(machine) => machine.read_buf(),
            Protocol::Detecting(detect) => detect.read_buf(),
        }
    }

    /// Takes the `n` bytes just read into [`read_buf`](Self::read_buf). Call it only while
    /// [`wants_read`](Self::wants_read).
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_read(n, now),
            Protocol::Http2(machine) => machine.handle_read(n, now),
            Protocol::Detecting(detect) => {
                if let Some(decided) = detect.handle_read(n, now) {
                    self.protocol = decided;
                }
            }
        }
    }

    /// Takes bytes that are already in memory elsewhere (tests; a TLS layer that decrypted
    /// into a buffer of its own). It copies them, which `read_buf` avoids.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_input(bytes, now),
            Protocol::Http2(machine) => machine.handle_input(bytes, now),
            Protocol::Detecting(detect) => {
                if let Some(decided) = detect.take(bytes, now) {
                    self.protocol = decided;
                }
            }
        }
    }

    /// Tells the machine that the peer will send nothing more.
    pub fn handle_eof(&mut self) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_eof(),
            Protocol::Http2(machine) => machine.handle_eof(),
            Protocol::Detecting(detect) => detect.handle_eof(),
        }
    }

    /// Asks the connection to finish gracefully: answer the requests already received (over
    /// HTTP/1.1, also one on its way within [`http1::STOP_GRACE`]), then close. Used when the
    /// server shuts down.
    pub fn handle_shutdown(&mut self, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_shutdown(now),
            Protocol::Http2(machine) => machine.handle_shutdown(),
            Protocol::Detecting(detect) => detect.handle_shutdown(),
        }
    }

    /// The next request (or refusal) the application must answer, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let mut event = match &mut self.protocol {
            Protocol::Http1(machine) => machine.poll_event(),
            Protocol::Http2(machine) => machine.poll_event(),
            Protocol::Detecting(detect) => detect.poll_event(),
        };
        if let Some(Event::Request { request, .. }) = &mut event {
            request.peer = self.peer;
        }
        event
    }

    /// Answers the request `id`. `date` is the wall-clock time for the `Date` field.
    pub fn send_response(&mut self, id: StreamId, response: Response, date: SystemTime) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.send_response(id, response, date),
            Protocol::Http2(machine) => machine.send_response(id, response, date),
            Protocol::Detecting(detect) => detect.send_response(id, response, date),
        }
    }

    /// The next bytes (or file region) to write, or the instruction to close the writing side.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.poll_transmit(),
            Protocol::Http2(machine) => machine.poll_transmit(),
            Protocol::Detecting(detect) => detect.poll_transmit(),
        }
    }

    /// Reports that `n` bytes of the last [`Transmit`] were written.
    pub fn advance(&mut self, n: usize, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.advance(n, now),
            Protocol::Http2(machine) => machine.advance(n, now),
            Protocol::Detecting(detect) => detect.advance(n, now),
        }
    }

    /// Reports that the driver closed the writing side after `Transmit::CloseWrite`.
    pub fn handle_write_closed(&mut self, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_write_closed(now),
            Protocol::Http2(machine) => machine.handle_write_closed(now),
            Protocol::Detecting(detect) => detect.handle_write_closed(now),
        }
    }

    /// Whether the driver should read from the peer now.
    pub fn wants_read(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.wants_read(),
            Protocol::Http2(machine) => machine.wants_read(),
            Protocol::Detecting(detect) => detect.wants_read(),
        }
    }

    /// Whether there is output waiting to be written.
    pub fn wants_write(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.wants_write(),
            Protocol::Http2(machine) => machine.wants_write(),
            Protocol::Detecting(detect) => detect.wants_write(),
        }
    }

    /// Whether parsed requests wait for output to drain before `poll_event` hands them out (a
    /// driver that writes without waiting asks, to know whether to answer again before it
    /// waits).
    pub fn holds_back_requests(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.holds_back_requests(),
            Protocol::Http2(machine) => machine.holds_back_requests(),
            Protocol::Detecting(detect) => detect.holds_back_requests(),
        }
    }

    /// Bytes of response waiting to be written, file regions counted by their length.
    pub fn queued_output(&self) -> u64 {
        match &self.protocol {
            Protocol::Http1(machine) => machine.queued_output(),
            Protocol::Http2(machine) => machine.queued_output(),
            Protocol::Detecting(detect) => detect.queued_output(),
        }
    }

    /// [`Connection::queued_output`] as the next [`Connection::poll_transmit`] will leave it: a
    /// streamed body at the front is asked for its next piece first (which `poll_transmit` would
    /// do anyway), so a stream that has just ended counts nothing. A driver that sets `MSG_MORE`
    /// when more output is queued behind a write asks this, not `queued_output`: counted before
    /// the stream said it was done, the stream's weight would make the last chunk of a response
    /// go with `MSG_MORE`, and the kernel would hold it for 200 ms waiting for more.
    pub fn queued_output_before_transmit(&mut self) -> u64 {
        let _ = self.poll_transmit();
        self.queued_output()
    }

    /// Request-body octets an HTTP/2 connection holds for streams whose request has not all
    /// arrived, summed over them; `None` for HTTP/1.1 (one body at a time, bounded by
    /// `Limits::max_body`) and before a cleartext connection has chosen. For measurements.
    pub fn held_request_bodies(&self) -> Option<u64> {
        match &self.protocol {
            Protocol::Http2(machine) => Some(machine.held_request_bodies()),
            Protocol::Http1(_) | Protocol::Detecting(_) => None,
        }
    }

    /// Whether the connection is finished: the driver drops the socket.
    pub fn is_closed(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.is_closed(),
            Protocol::Http2(machine) => machine.is_closed(),
            Protocol::Detecting(detect) => detect.is_closed(),
        }
    }

    /// Whether nothing is in progress: no partial request, nothing waiting to be answered and
    /// nothing left to write.
    pub fn is_idle(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.is_idle(),
            Protocol::Http2(machine) => machine.is_idle(),
            Protocol::Detecting(detect) => detect.is_idle(),
        }
    }

    /// Whether nothing can happen until the client sends more or a timeout is due (HTTP/1.1
    /// only; an HTTP/2 or undecided connection always answers `false`). See
    /// [`http1::Machine::waits_for_client`](crate::http1::Machine::waits_for_client).
    pub fn waits_for_client(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.waits_for_client(),
            Protocol::Http2(_) | Protocol::Detecting(_) => false,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.protocol {
            Protocol::Http1(machine) => machine.poll_timeout(),
            Protocol::Http2(machine) => machine.poll_timeout(),
            Protocol::Detecting(detect) => detect.poll_timeout(),
        }
    }

    /// Acts on timeouts that have expired by `now`; go back to step 1 after it.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_timeout(now),
            Protocol::Http2(machine) => machine.handle_timeout(now),
            Protocol::Detecting(detect) => detect.handle_timeout(now),
        }
    }
}

// ANCHOR: detect
/// A cleartext connection before its first octets have shown which protocol it speaks.
///
/// It reads no more than the preface's 24 octets, so the decision falls exactly on them:
/// "the connection preface starts with the string PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
/// (RFC 9113 section 3.4), which no valid HTTP/1.1 request starts with ("PRI" is not a
/// method anyone serves, and "HTTP/2.0" not an HTTP/1.x version).
#[derive(Debug)]
struct Detect {
    limits: Arc<Limits>,
    accepted: Instant,
    /// The octets read so far, all a prefix of the preface.
    received: Vec<u8>,
    /// Room for the driver's reads.
    room: [u8; PREFACE.len()],
    /// When the first octet arrived: the header timeout runs from then.
    first_byte: Option<Instant>,
    closed: bool,
    /// The body-sink hook, for whichever machine the octets choose.
    sinks: Option<BodySinks>,
}
// ANCHOR_END: detect

impl Detect {
    fn read_buf(&mut self) -> &mut [u8] {
        let wanted = PREFACE.len().saturating_sub(self.received.len()).max(1);
        &mut self.room[..wanted]
    }

    fn handle_read(&mut self, n: usize, now: Instant) -> Option<Protocol> {
        let room = self.room;
        let read = room.get(..n).unwrap_or(&room[..]);
        self.take(read, now)
    }

    /// Takes octets; returns the protocol machine once they have decided it, already fed
    /// with them.
    fn take(&mut self, bytes: &[u8], now: Instant) -> Option<Protocol> {
        if bytes.is_empty() || self.closed {
            return None;
        }
        self.first_byte.get_or_insert(now);
        self.received.extend_from_slice(bytes);
        let compared = self.received.len().min(PREFACE.len());
        let still_prefix = self.received.get(..compared) == PREFACE.get(..compared);
        if still_prefix && compared < PREFACE.len() {
            return None;
        }
        let limits = Arc::clone(&self.limits);
        Some(if still_prefix {
            let mut machine = h2_machine::Machine::new(limits, self.accepted);
            machine.set_body_sinks(self.sinks.take());
            machine.handle_input(&self.received, now);
            Protocol::Http2(Box::new(machine))
        } else {
            let mut machine = http1::Machine::new(limits, self.accepted);
            machine.set_body_sinks(self.sinks.take());
            machine.handle_input(&self.received, now);
            Protocol::Http1(machine)
        })
    }

    /// EOF before the protocol was known: a partial preface (or nothing) is no request.
    fn handle_eof(&mut self) {
        self.closed = true;
    }

    fn handle_shutdown(&mut self) {
        self.closed = true;
    }

    fn poll_event(&mut self) -> Option<Event> {
        None
    }

    fn send_response(&mut self, id: StreamId, _response: Response, _date: SystemTime) {
        debug_assert!(false, "response for {id:?} before any request");
    }

    fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        None
    }

    fn advance(&mut self, _n: usize, _now: Instant) {}

    fn handle_write_closed(&mut self, _now: Instant) {}

    fn wants_read(&self) -> bool {
        !self.closed
    }

    fn wants_write(&self) -> bool {
        false
    }

    fn holds_back_requests(&self) -> bool {
        false
    }

    fn queued_output(&self) -> u64 {
        0
    }

    fn is_closed(&self) -> bool {
        self.closed
    }

    fn is_idle(&self) -> bool {
        self.received.is_empty()
    }

    /// The idle timeout before the first octet, the header timeout after it, as for an
    /// HTTP/1.1 head.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        Some(match self.first_byte {
            None => self.accepted + self.limits.idle_timeout,
            Some(first) => first + self.limits.header_timeout,
        })
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.closed = true;
        }
    }
}
