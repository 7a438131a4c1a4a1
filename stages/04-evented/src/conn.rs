//! One connection: a non-blocking socket, the `protocol::http1` machine, and what the loop knows
//! about the socket's readiness.
//!
//! Stage 01's `serve_connection` was a loop that owned a thread: answer, write, read, and
//! *block* in the read. Here the same three steps run inside [`Conn::drive`], but nothing
//! blocks: a read or write that would wait returns `WouldBlock` instead, `drive` returns to the
//! loop, and the loop calls it again when epoll reports that the socket is ready. Everything a
//! blocked thread kept on its stack (where it was, what it was waiting for) is kept in this
//! struct: that is the hand-written state machine an `async fn` will write for us in stage 05.
//!
//! mio registers sockets *edge-triggered*: epoll reports a socket when it becomes ready, not
//! while it stays ready. So the connection must remember readiness itself (`Conn::readable`,
//! `Conn::writable`) and may only forget it when the kernel said so (`WouldBlock`, or a read
//! or write shorter than asked, see `Conn::read`). Forgetting it too early loses the
//! connection: no new event comes for bytes that are already there.

use std::io::{self, Read};
use std::net::Shutdown as Direction;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use app::{App, ConnectionGuard};
use driver::send::{coalesce, send_bytes};
use driver::sendfile;
use mio::event::Event as Readiness;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use protocol::{BodySinks, Connection, Event, Limits, StreamId, Transmit};
use tracing::debug;

use crate::pool::{self, Job, Mailbox, Pool, ReplyTo};
use crate::timers::{Armed, Timers};

/// Reads per [`Conn::drive`] call while the socket stays readable. A client that sends faster
/// than we answer must not keep the loop to itself: past this, the connection goes to the back
/// of the line (the loop's `ready_again` list) and the other connections get their turn.
const READS_PER_TURN: usize = 16;

// ANCHOR: conn
/// The state of one connection between two events.
pub struct Conn {
    /// Never reused (unlike the slab key), so a late pool reply finds only its own connection.
    pub id: u64,
    socket: TcpStream,
    machine: Connection,
    /// The kernel may hold bytes we have not read. Set by a readable event; cleared only when
    /// the kernel says the socket is drained.
    readable: bool,
    /// The peer has closed its side (the event said so): read on until `read` returns 0, even
    /// after a short read.
    read_closed: bool,
    /// The kernel may take more bytes. True from the start; cleared when a write comes up short.
    writable: bool,
    /// Whether WRITABLE is in the epoll interest set now (READABLE always is).
    write_interest: bool,
    /// This connection's live entry in the loop's timer heap.
    pub timer: Option<Armed>,
    /// The request a pool worker is answering, whose response comes back through the mailbox.
    with_pool: Option<StreamId>,
    /// Counts the connection open in /server-status until the `Conn` is dropped.
    _open: ConnectionGuard,
}
// ANCHOR_END: conn

/// Everything of the loop that [`Conn::drive`] borrows for one call.
pub struct Context<'a> {
    pub token: Token,
    pub now: Instant,
    /// Wall-clock time for `Date`, read once per loop turn rather than once per response.
    pub date: SystemTime,
    pub app: &'a App,
    pub registry: &'a Registry,
    pub timers: &'a mut Timers,
    pub pool: &'a Pool,
    pub mailbox: &'a Arc<Mailbox>,
    /// The loop's buffer for file bytes when `sendfile` is not available.
    pub file_scratch: &'a mut Vec<u8>,
}

/// What the loop does with the connection after [`Conn::drive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Waiting for the next event, a timer or a pool reply.
    Waiting,
    /// Still readable after its turn: drive it again after the others.
    Yielded,
    /// Finished: drop it (closing the socket removes it from epoll).
    Closed,
}

impl Conn {
    /// A connection accepted at `now`. The caller registers `socket` for READABLE.
    /// `sinks` is the app's body-sink hook: an upload's disk writes then run on this loop,
    /// inside `handle_read`, and every connection of the loop waits for each of them.
    pub fn new(
        id: u64,
        socket: TcpStream,
        limits: &Arc<Limits>,
        sinks: Option<BodySinks>,
        now: Instant,
        open: ConnectionGuard,
    ) -> Conn {
        let peer = socket.peer_addr().ok();
        Conn {
            id,
            socket,
            // One copy of the limits for the whole loop, shared.
            machine: Connection::new(Arc::clone(limits), now)
                .with_peer(peer)
                .with_body_sinks(sinks),
            // Nothing is known until epoll reports the socket: registering an already readable
            // socket reports it at once.
            readable: false,
            read_closed: false,
            // A new socket's send buffer is empty.
            writable: true,
            write_interest: false,
            timer: None,
            with_pool: None,
            _open: open,
        }
    }

    /// The socket, for (de)registration.
    pub fn socket_mut(&mut self) -> &mut TcpStream {
        &mut self.socket
    }

    /// Arms the first deadline (the idle timeout of a connection that has sent nothing yet).
    pub fn arm_timer(&mut self, timers: &mut Timers, key: usize) {
        if let Some(deadline) = self.machine.poll_timeout() {
            timers.arm(&mut self.timer, key, deadline);
        }
    }

    // ANCHOR: on_event
    /// Records what epoll reported. The work happens in [`drive`](Self::drive).
    pub fn on_event(&mut self, event: &Readiness) {
        // An error or hang-up is reported as readable and writable too: the next read or write
        // returns the error, which is how the connection learns about it.
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
        if event.is_read_closed() {
            self.read_closed = true;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.writable = true;
        }
    }
    // ANCHOR_END: on_event

    /// Tells the machine that the server is stopping.
    pub fn handle_shutdown(&mut self, now: Instant) {
        self.machine.handle_shutdown(now);
    }

    /// Tells the machine that its deadline may have passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.machine.handle_timeout(now);
    }

    /// Hands over the response a pool worker produced for the request in flight.
    pub fn handle_pool_response(&mut self, response: protocol::Response, date: SystemTime) {
        if let Some(id) = self.with_pool.take() {
            self.machine.send_response(id, response, date);
        }
    }

    /// Whether nothing is in progress (used for the shutdown log line).
    pub fn is_idle(&self) -> bool {
        self.machine.is_idle()
    }

    // ANCHOR: drive
    /// Does everything the connection can do without waiting: stage 01's three steps (answer,
    /// write, read), repeated while any of them makes progress. Then makes sure the loop will
    /// call again: write interest if output is stuck, a timer for the machine's next deadline.
    pub fn drive(&mut self, cx: &mut Context<'_>) -> io::Result<Progress> {
        let mut reads_left = READS_PER_TURN;
        loop {
            // 1. Answer every request the machine has ready (or send it to the pool).
            let answered = self.answer(cx);
            // 2. Write while the socket takes bytes.
            let wrote = self.write(cx)?;
            if self.machine.is_closed() {
                return Ok(Progress::Closed);
            }
            // 3. Read while the kernel has bytes and the machine wants them.
            if self.readable && self.machine.wants_read() {
                if reads_left == 0 {
                    self.update_interest(cx)?;
                    return Ok(Progress::Yielded);
                }
                reads_left -= 1;
                self.read(cx)?;
                continue;
            }
            if !answered && !wrote {
                break;
            }
        }
        self.update_interest(cx)?;
        if let Some(deadline) = self.machine.poll_timeout() {
            cx.timers.arm(&mut self.timer, cx.token.0, deadline);
        }
        Ok(Progress::Waiting)
    }
    // ANCHOR_END: drive

    // ANCHOR: answer
    /// Step 1: hands every ready request to the application. Returns whether it answered any.
    ///
    /// The machine hands out nothing while a response's worth of output (64 KiB, file regions
    /// counted by their length) waits unwritten: that is the back-pressure against a client
    /// that pipelines requests and never reads. The loop of `drive` comes back here after every
    /// write that made progress.
    fn answer(&mut self, cx: &mut Context<'_>) -> bool {
        let mut answered = false;
        while let Some(event) = self.machine.poll_event() {
            let (id, response) = match event {
                Event::Request { id, request } if cx.app.may_block(&request) => {
                    let job = Job {
                        request,
                        reply_to: ReplyTo {
                            mailbox: Arc::clone(cx.mailbox),
                            token: cx.token,
                            conn_id: self.id,
                        },
                    };
                    match cx.pool.submit(job) {
                        // The response comes back through the mailbox; until then the machine
                        // hands out nothing more (one request in flight at a time).
                        Ok(()) => {
                            self.with_pool = Some(id);
                            return answered;
                        }
                        Err(_job) => (id, pool::overloaded()),
                    }
                }
                Event::Request { id, request } => {
                    let response = cx.app.handle(&request);
                    debug!(method = %request.method, target = %request.target, status = response.status.as_u16());
                    (id, response)
                }
                Event::Rejected { id, error } => {
                    debug!(%error, "refused a request");
                    (id, cx.app.refuse(&error))
                }
            };
            self.machine.send_response(id, response, cx.date);
            answered = true;
        }
        answered
    }
    // ANCHOR_END: answer

    // ANCHOR: write
    /// Step 2: writes queued output until it is all written or the socket is full. Returns
    /// whether anything was written.
    fn write(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        let mut wrote = false;
        while self.writable {
            // Everything queued, files included: what is behind this write decides whether the
            // kernel may hold a partial segment for it (`driver::send::coalesce`).
            let queued = self.machine.queued_output_before_transmit();
            let Some(transmit) = self.machine.poll_transmit() else {
                break;
            };
            let (result, asked) = match &transmit {
                Transmit::CloseWrite => {
                    // Half-close: the client reads our last response, then sees the end. The
                    // machine keeps reading (and discarding) for a moment: see LINGER_TIMEOUT.
                    match self.socket.shutdown(Direction::Write) {
                        Ok(()) => {}
                        // The peer is gone already; there is nothing left to half-close.
                        Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
                        Err(error) => return Err(error),
                    }
                    self.machine.handle_write_closed(cx.now);
                    continue;
                }
                Transmit::Bytes(bytes) => {
                    let behind = queued.saturating_sub(bytes.len() as u64);
                    (
                        send_bytes(&self.socket, bytes, coalesce(behind)),
                        bytes.len(),
                    )
                }
                Transmit::File { file, offset, len } => {
                    // The kit's rule for file regions (`driver::sendfile`): a short count may be
                    // a full socket or a file that ends early, and only the next call can tell,
                    // so it says nothing about writability. Count what was sent as all that was
                    // asked; `WouldBlock` is what clears `writable`.
                    let result =
                        sendfile::send_file(&self.socket, file, *offset, *len, cx.file_scratch);
                    let sent = result.as_ref().map_or(0, |&sent| sent);
                    (result, sent)
                }
            };
            match result {
                Ok(0) if asked > 0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket took no bytes",
                    ))
                }
                Ok(written) => {
                    self.machine.advance(written, cx.now);
                    wrote |= written > 0;
                    if written < asked {
                        // A short write of bytes means the send buffer filled up: the next write
                        // would return WouldBlock, so save the system call. The kernel reports
                        // the socket writable again once the peer has acknowledged enough.
                        self.writable = false;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(wrote)
    }
    // ANCHOR_END: write

    // ANCHOR: read
    /// Step 3: one read, straight into the room the machine lends (no copy on the way in).
    fn read(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let room = self.machine.read_buf();
        let lent = room.len();
        match self.socket.read(room) {
            Ok(0) => {
                self.readable = false;
                self.machine.handle_eof();
            }
            Ok(n) => {
                // A read that did not fill the buffer emptied the socket: the next read would
                // return WouldBlock, so skip it (one system call less per request). Bytes that
                // arrive later raise a new edge. A pending end of stream raises none, hence
                // the `read_closed` exception.
                if n < lent && !self.read_closed {
                    self.readable = false;
                }
                self.machine.handle_read(n, cx.now);
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.readable = false,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
        Ok(())
    }
    // ANCHOR_END: read

    // ANCHOR: update_interest
    /// Asks epoll for WRITABLE only while output is stuck behind a full send buffer, and drops
    /// it as soon as the output is gone. Most responses are written in full at once and never
    /// touch the interest set: no `epoll_ctl` per request.
    fn update_interest(&mut self, cx: &Context<'_>) -> io::Result<()> {
        let want_write = !self.writable && self.machine.wants_write();
        if want_write != self.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            cx.registry
                .reregister(&mut self.socket, cx.token, interest)?;
            self.write_interest = want_write;
        }
        Ok(())
    }
    // ANCHOR_END: update_interest
}
