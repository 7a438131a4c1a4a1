//! An in-memory driver for a [`Connection`], with a virtual clock: the one test kit of the
//! protocol crate, shared by its unit tests, the fuzz targets (`common/fuzz`), the criterion
//! benchmarks and the instruction-count example.
//!
//! A [`Pump`] is stage 01's loop with the socket replaced by two byte vectors and the clock by
//! a field: bytes go in through the same [`Connection::read_buf`] / [`Connection::handle_read`]
//! calls a stage makes, every request is answered by a closure, and every byte the connection
//! writes is appended to [`Pump::wire`]. Time moves only when a test says so
//! ([`Pump::advance_clock`]), so a ten-second timeout takes no time to test.

use std::time::{Duration, Instant, SystemTime};

use crate::connection::{Connection, Event, Transmit};
use crate::http1::RequestError;
use crate::limits::Limits;
use crate::message::{Request, Response, StatusCode};

/// A connection, its peer's view of the wire, and a clock that moves only when told.
pub struct Pump {
    pub conn: Connection,
    /// The virtual time: the start the caller gave, plus every `advance_clock`.
    pub now: Instant,
    /// Everything the connection wrote, in order.
    pub wire: Vec<u8>,
    /// Requests the application saw, in order.
    pub seen: Vec<Request>,
    /// Refusals, in order.
    pub refused: Vec<RequestError>,
    /// Whether the connection asked to shut its writing side.
    pub write_closed: bool,
    /// File regions the connection asked to write, as (offset, length): the pump does no I/O,
    /// so it records them and reports them written.
    pub file_regions: Vec<(u64, u64)>,
    /// Requests answered (and refusals sent), counted even when nothing is recorded.
    pub answered: usize,
    /// Whether `wire`, `seen` and `refused` are kept. Benchmarks turn it off, so that what
    /// they measure is the connection, not the pump's own copies.
    record: bool,
}

impl Pump {
    /// A pump with the default limits, starting at `start` (any instant: only differences
    /// between instants matter to the connection).
    pub fn new(start: Instant) -> Pump {
        Pump::with_limits(Limits::default(), start)
    }

    /// A pump whose connection has `limits`.
    pub fn with_limits(limits: Limits, start: Instant) -> Pump {
        Pump {
            conn: Connection::new(limits, start),
            now: start,
            wire: Vec::new(),
            seen: Vec::new(),
            refused: Vec::new(),
            write_closed: false,
            file_regions: Vec::new(),
            answered: 0,
            record: true,
        }
    }

    /// A pump whose connection is a plain-TCP one that serves HTTP/1.1 or HTTP/2 with prior
    /// knowledge (`Connection::new_cleartext`), decided by the first bytes fed.
    pub fn cleartext(limits: Limits, start: Instant) -> Pump {
        Pump {
            conn: Connection::new_cleartext(limits, start),
            ..Pump::with_limits(Limits::default(), start)
        }
    }

    /// A pump that only counts: what the connection writes is reported written and dropped,
    /// requests are answered and dropped. For benchmarks.
    pub fn counting(limits: Limits, start: Instant) -> Pump {
        Pump {
            record: false,
            ..Pump::with_limits(limits, start)
        }
    }

    /// Hands `bytes` to the connection in one piece if it wants to read (like a driver whose
    /// read returned all of them at once), then answers and writes with [`pump`](Self::pump).
    pub fn feed(&mut self, bytes: &[u8]) -> &mut Pump {
        if self.conn.wants_read() {
            self.conn.handle_input(bytes, self.now);
        }
        self.pump()
    }

    /// The path a socket takes: `bytes` are copied into the room the connection lends
    /// ([`Connection::read_buf`]), as many per read as the room holds, and each read is
    /// reported with [`Connection::handle_read`]; after every read the requests are answered
    /// with `app` and the output written. Stops reading when the connection stops wanting to;
    /// returns how many bytes it took.
    pub fn feed_reads(
        &mut self,
        bytes: &[u8],
        app: &mut impl FnMut(&Request) -> Response,
    ) -> usize {
        let mut taken = 0;
        while taken < bytes.len() && self.conn.wants_read() {
            let room = self.conn.read_buf();
            let n = room.len().min(bytes.len() - taken);
            room[..n].copy_from_slice(&bytes[taken..taken + n]);
            taken += n;
            self.conn.handle_read(n, self.now);
            self.pump_with(&mut *app);
        }
        taken
    }

    /// The answer and write steps: every request gets `200` with `METHOD TARGET BODY` as body.
    pub fn pump(&mut self) -> &mut Pump {
        self.pump_with(echo)
    }

    /// The answer and write steps with `app` answering, until neither makes progress.
    pub fn pump_with(&mut self, mut app: impl FnMut(&Request) -> Response) -> &mut Pump {
        loop {
            let mut progressed = false;
            while let Some(event) = self.conn.poll_event() {
                progressed = true;
                self.answered += 1;
                let (id, response) = match event {
                    Event::Request { id, request } => {
                        let response = app(&request);
                        if self.record {
                            self.seen.push(request);
                        }
                        (id, response)
                    }
                    Event::Rejected { id, error } => {
                        let response = error.response();
                        if self.record {
                            self.refused.push(error);
                        }
                        (id, response)
                    }
                };
                self.conn
                    .send_response(id, response, SystemTime::UNIX_EPOCH);
            }
            while let Some(transmit) = self.conn.poll_transmit() {
                progressed = true;
                let written = match transmit {
                    Transmit::CloseWrite => {
                        self.write_closed = true;
                        self.conn.handle_write_closed(self.now);
                        continue;
                    }
                    Transmit::Bytes(bytes) => {
                        if self.record {
                            self.wire.extend_from_slice(bytes);
                        }
                        bytes.len()
                    }
                    Transmit::File { offset, len, .. } => {
                        self.file_regions.push((offset, len));
                        // Reported as written whole; a region longer than usize cannot be
                        // queued on a platform where usize is narrower than u64 anyway.
                        usize::try_from(len).unwrap_or(usize::MAX)
                    }
                };
                self.conn.advance(written, self.now);
            }
            if !progressed {
                return self;
            }
        }
    }

    /// Moves the clock on, lets the connection act on its timeouts, then pumps.
    pub fn advance_clock(&mut self, by: Duration) -> &mut Pump {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.pump()
    }

    /// The wire as text (lossy), for assertions.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }

    /// The status codes of every response on the wire, in order.
    pub fn statuses(&self) -> Vec<u16> {
        let text = self.output();
        text.match_indices("HTTP/1.1 ")
            .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
            .collect()
    }
}

/// The pump's default application: `200` with `METHOD TARGET BODY` as the body.
pub fn echo(request: &Request) -> Response {
    let mut body = format!("{} {} ", request.method, request.target).into_bytes();
    body.extend_from_slice(&request.body);
    Response::with_body(StatusCode::OK, "text/plain", body)
}

/// Drives an HTTP/2 connection with arbitrary frames, for the fuzz target `h2_connection`
/// (common/fuzz): a cleartext connection is given the client preface, then `data` as in
/// [`fuzz_connection`] (the first byte sets the size of the pieces). The whole HTTP/2 machine
/// is behind it: frames, HPACK, streams, flow control, the defences. The checks are that
/// nothing panics and that the connection ends after EOF and every timeout.
#[doc(hidden)]
pub fn fuzz_http2_connection(data: &[u8], start: Instant) {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    let mut pump = Pump::cleartext(Limits::default(), start);
    let mut app = |request: &Request| Response::text(StatusCode::OK, request.target.as_str());
    pump.feed_reads(crate::h2::machine::PREFACE, &mut app);
    for bytes in rest.chunks(piece) {
        pump.feed_reads(bytes, &mut app);
    }
    pump.conn.handle_eof();
    pump.pump_with(&mut app);
    for _ in 0..3 {
        pump.now += Duration::from_secs(3600);
        pump.conn.handle_timeout(pump.now);
        pump.pump_with(&mut app);
    }
    assert!(
        pump.conn.is_closed(),
        "a connection must end after EOF and every timeout"
    );
}

/// Drives a connection with arbitrary input, for the fuzz target `connection` (common/fuzz).
/// The first byte of `data` sets the size of the pieces the rest is fed in (through
/// `read_buf`, as a socket would); every request is answered; the checks are that nothing
/// panics and that the connection ends after EOF and every timeout.
#[doc(hidden)]
pub fn fuzz_connection(data: &[u8], start: Instant) {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    let mut pump = Pump::new(start);
    let mut app = |request: &Request| Response::text(StatusCode::OK, request.target.as_str());
    for bytes in rest.chunks(piece) {
        pump.feed_reads(bytes, &mut app);
    }
    pump.conn.handle_eof();
    pump.pump_with(&mut app);
    pump.now += Duration::from_secs(3600);
    pump.conn.handle_timeout(pump.now);
    pump.pump_with(&mut app);
    assert!(
        pump.conn.is_closed(),
        "a connection must end after EOF and every timeout"
    );
}
