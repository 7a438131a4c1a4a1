//! The one connection type every driver drives, whatever protocol the peer speaks.
//!
//! A [`Connection`] has two sides, like a rustls connection: network bytes in and out on one
//! side, whole requests and responses on the other. It never touches a socket or a clock; the
//! driver (each stage) feeds it what happened and asks it what to do. Today it speaks HTTP/1.1
//! ([`crate::http1::Machine`]); stage 07 adds HTTP/2 behind the same calls, chosen by ALPN or by
//! the client's preface, so that a driver written against this type serves both.

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::http1::{self, RequestError};
use crate::limits::Limits;
use crate::message::{Request, Response};

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
}
// ANCHOR_END: call_order

/// The protocol machine behind a [`Connection`].
#[derive(Debug)]
enum Protocol {
    Http1(http1::Machine),
}

// ANCHOR: event
/// What the machine reports to the application side. Every event is answered with exactly one
/// [`Connection::send_response`] for its id.
#[derive(Debug)]
pub enum Event {
    /// A complete request.
    Request { id: StreamId, request: Request },
    /// A request was refused. Answer it with `error.response()`; the connection closes after.
    Rejected { id: StreamId, error: RequestError },
}

/// Which request a response answers. HTTP/1.1 numbers its requests 1, 2, 3... in arrival
/// order; HTTP/2 will use the stream identifier the client chose (RFC 9113 section 5.1.1).
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
        }
    }

    /// Room to read the peer's next bytes into; report the count with
    /// [`handle_read`](Self::handle_read). The room belongs to the connection, and parsed
    /// requests are views into it, so no byte is copied on the way to the application.
    pub fn read_buf(&mut self) -> &mut [u8] {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.read_buf(),
        }
    }

    /// Takes the `n` bytes just read into [`read_buf`](Self::read_buf). Call it only while
    /// [`wants_read`](Self::wants_read).
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_read(n, now),
        }
    }

    /// Takes bytes that are already in memory elsewhere (tests; a TLS layer that decrypted
    /// into a buffer of its own). It copies them, which `read_buf` avoids.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_input(bytes, now),
        }
    }

    /// Tells the machine that the peer will send nothing more.
    pub fn handle_eof(&mut self) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_eof(),
        }
    }

    /// Asks the connection to finish gracefully: answer the requests already received, then
    /// close. Used when the server shuts down.
    pub fn handle_shutdown(&mut self) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_shutdown(),
        }
    }

    /// The next request (or refusal) the application must answer, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.poll_event(),
        }
    }

    /// Answers the request `id`. `date` is the wall-clock time for the `Date` field.
    pub fn send_response(&mut self, id: StreamId, response: Response, date: SystemTime) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.send_response(id, response, date),
        }
    }

    /// The next bytes (or file region) to write, or the instruction to close the writing side.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.poll_transmit(),
        }
    }

    /// Reports that `n` bytes of the last [`Transmit`] were written.
    pub fn advance(&mut self, n: usize, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.advance(n, now),
        }
    }

    /// Reports that the driver closed the writing side after `Transmit::CloseWrite`.
    pub fn handle_write_closed(&mut self, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_write_closed(now),
        }
    }

    /// Whether the driver should read from the peer now.
    pub fn wants_read(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.wants_read(),
        }
    }

    /// Whether there is output waiting to be written.
    pub fn wants_write(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.wants_write(),
        }
    }

    /// Whether parsed requests wait for output to drain before `poll_event` hands them out (a
    /// driver that writes without waiting asks, to know whether to answer again before it
    /// waits).
    pub fn holds_back_requests(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.holds_back_requests(),
        }
    }

    /// Bytes of response waiting to be written, file regions counted by their length.
    pub fn queued_output(&self) -> u64 {
        match &self.protocol {
            Protocol::Http1(machine) => machine.queued_output(),
        }
    }

    /// Whether the connection is finished: the driver drops the socket.
    pub fn is_closed(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.is_closed(),
        }
    }

    /// Whether nothing is in progress: no partial request, nothing waiting to be answered and
    /// nothing left to write.
    pub fn is_idle(&self) -> bool {
        match &self.protocol {
            Protocol::Http1(machine) => machine.is_idle(),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.protocol {
            Protocol::Http1(machine) => machine.poll_timeout(),
        }
    }

    /// Acts on timeouts that have expired by `now`; go back to step 1 after it.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.protocol {
            Protocol::Http1(machine) => machine.handle_timeout(now),
        }
    }
}
