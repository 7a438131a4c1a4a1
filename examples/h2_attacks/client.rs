//! An in-memory HTTP/2 client, the server's driver loop around one [`Connection`], and the
//! quantities the table reports.
//!
//! The loop is the one every stage runs (`protocol::Connection`'s call order), with the socket
//! replaced by two byte buffers and the clock by a field that moves only when told:
//!
//! 1. the client writes one *unit* of frames (a HEADERS and its RST_STREAM, one PING, ...);
//! 2. if the connection `wants_read`, the driver reads the unit through `read_buf` /
//!    `handle_read`, as a socket read would hand it over (every unit fits in one read's room,
//!    so a unit is never cut in two);
//! 3. every request is answered at once, then everything the connection wants to write is
//!    written, *if the client reads*: a client that never reads has a full socket, and the
//!    driver's writes find no room.
//!
//! The kernel's socket buffers are left out: what a client that never reads makes the server
//! hold is counted from the first byte, not after some hundreds of KiB the kernel would have
//! absorbed. And frames the client writes while the driver has stopped reading stay in TCP,
//! not in the server: they are not counted as read.

use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use protocol::h2::frame::{self, flags, Frame, Kind, Role, SettingId};
use protocol::h2::hpack::Encoder;
use protocol::h2::machine::PREFACE;
use protocol::h2::Reason;
use protocol::{Connection, Event, Limits, Request, Response, Transmit};

/// How the client, and the server's driver, treat what the server writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Reads everything the server writes, as soon as it is written.
    Reads,
    /// Reads the server's preface, then nothing; the driver reads only while `wants_read`.
    NeverReads,
    /// Never reads, and the driver hands every unit to the connection whatever `wants_read`
    /// says: a driver that skips the call order, which is what `MAX_OWED_CONTROL_FRAMES` is
    /// there for.
    NeverReadsFedAnyway,
}

/// What one run measured, from the end of the opening on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Frames the server read (the preface and the opening SETTINGS not counted).
    pub frames: u64,
    /// Their octets.
    pub bytes: u64,
    /// The most `Connection::queued_output` was at any point.
    pub most_queued: u64,
    /// The most `Connection::held_request_bodies` was at any point.
    pub most_body: u64,
    /// The status of every response the application gave (refusals included), with its
    /// stream, in order.
    pub answers: Vec<(u32, u16)>,
    /// DATA octets the client read.
    pub data_read: u64,
    /// The reason of the GOAWAY the client read, if it read one.
    pub goaway: Option<Reason>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// A connection error: GOAWAY with `reason`; `why` is the machine's sentence for the log.
    GoAway { reason: Reason, why: &'static str },
    /// Closed without a connection error: the slow-read deadline, which drops the socket
    /// (there is no graceful way to leave a client that reads nothing).
    Cut,
    /// A request was refused with this status, and the connection went on.
    Refused(u16),
    /// Not ended: every request answered, the connection still open.
    Served,
}

/// The limits stage 07 runs with by default: the protocol's defaults, with the idle timeout of
/// the stages that hold many connections (`--idle-timeout`, 60 s from stage 04 on).
pub fn stage07_limits() -> Limits {
    Limits {
        idle_timeout: Limits::DEFAULT_IDLE_TIMEOUT_EVENTED,
        ..Limits::default()
    }
}

/// One client on one in-memory connection.
pub struct Client {
    conn: Connection,
    peer: Peer,
    app: fn(&Request) -> Response,
    encoder: Encoder,
    now: Instant,
    /// When the opening was over: the runs' durations count from here.
    started: Instant,
    /// What the server wrote and the client has not split into frames yet.
    from_server: BytesMut,
    pub tally: Tally,
}

impl Client {
    /// A connection after the opening both ways: the client's preface, a SETTINGS frame with
    /// `settings` and the ACK of the server's, all read by the server, and the server's
    /// preface read by the client (whatever `peer` does afterwards). `app` answers requests.
    pub fn open(
        peer: Peer,
        settings: &[(SettingId, u32)],
        app: fn(&Request) -> Response,
    ) -> Result<Client, String> {
        // Any instant will do: the connection only ever subtracts them.
        let start = Instant::now();
        let mut client = Client {
            conn: Connection::new_http2(stage07_limits(), start),
            peer: Peer::Reads,
            app,
            encoder: Encoder::new(),
            now: start,
            started: start,
            from_server: BytesMut::new(),
            tally: Tally::default(),
        };
        let mut opening = BytesMut::new();
        opening.extend_from_slice(PREFACE);
        Frame::Settings(frame::Settings {
            ack: false,
            parameters: settings.to_vec(),
        })
        .encode(&mut opening);
        Frame::Settings(frame::Settings::acknowledgement()).encode(&mut opening);
        client.deliver(&opening);
        client.step()?;
        if let Some(error) = client.conn.connection_error() {
            return Err(format!("the server refused the opening: {error}"));
        }
        client.peer = peer;
        client.tally = Tally::default();
        Ok(client)
    }

    /// The client writes one unit of `frames` frames. Returns false, and the unit stays with
    /// the client, when the server has stopped reading or the connection has ended.
    pub fn write(&mut self, unit: &[u8], frames: u64) -> Result<bool, String> {
        if self.ended().is_some() || !self.takes_input() {
            return Ok(false);
        }
        self.deliver(unit);
        self.tally.frames += frames;
        self.tally.bytes += unit.len() as u64;
        self.step()?;
        Ok(true)
    }

    /// Moves the clock on by `by`; the connection acts on its deadlines.
    pub fn sleep(&mut self, by: Duration) -> Result<(), String> {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.step()
    }

    /// Lets time pass from deadline to deadline until the connection closes (or has none
    /// left): what happens to a client the server no longer reads from.
    pub fn wait_out(&mut self) -> Result<(), String> {
        // Each deadline acted on either closes the connection or moves it on a step
        // (closing, lingering): a handful is plenty.
        for _ in 0..16 {
            if self.conn.is_closed() {
                break;
            }
            let Some(deadline) = self.conn.poll_timeout() else {
                break;
            };
            self.now = self.now.max(deadline);
            self.conn.handle_timeout(self.now);
            self.step()?;
        }
        Ok(())
    }

    /// How the connection has ended, if it has: a connection error, or closed without one.
    pub fn ended(&self) -> Option<End> {
        if let Some(error) = self.conn.connection_error() {
            let why = match error {
                protocol::h2::Error::Connection { why, .. }
                | protocol::h2::Error::Stream { why, .. } => why,
            };
            return Some(End::GoAway {
                reason: error.reason(),
                why,
            });
        }
        self.conn.is_closed().then_some(End::Cut)
    }

    /// How long the run has lasted on the virtual clock.
    pub fn elapsed(&self) -> Duration {
        self.now - self.started
    }

    /// A field block asking for `method path`, from the client's own HPACK encoder.
    pub fn request_block(&mut self, method: &str, path: &str) -> Vec<u8> {
        let fields: [(&[u8], &[u8]); 4] = [
            (b":method", method.as_bytes()),
            (b":scheme", b"https"),
            (b":authority", b"attack.test"),
            (b":path", path.as_bytes()),
        ];
        let mut block = Vec::new();
        self.encoder.encode(fields, &mut block);
        block
    }

    /// A whole request head: HEADERS with END_HEADERS, and END_STREAM when `end_stream`.
    pub fn request(&mut self, stream: u32, method: &str, path: &str, end_stream: bool) -> Vec<u8> {
        let block = self.request_block(method, path);
        let end = if end_stream { flags::END_STREAM } else { 0 };
        raw(Kind::HEADERS, flags::END_HEADERS | end, stream, &block)
    }

    /// Whether the driver hands the client's next unit to the connection.
    fn takes_input(&self) -> bool {
        match self.peer {
            Peer::NeverReadsFedAnyway => true,
            Peer::Reads | Peer::NeverReads => self.conn.wants_read(),
        }
    }

    /// The driver's read of one unit.
    fn deliver(&mut self, unit: &[u8]) {
        if self.peer == Peer::NeverReadsFedAnyway {
            self.conn.handle_input(unit, self.now);
            return self.sample();
        }
        // As a socket read would: into the room the connection lends. The loop runs once for
        // every unit this example writes (none is larger than the room).
        let mut taken = 0;
        while taken < unit.len() {
            let room = self.conn.read_buf();
            let n = room.len().min(unit.len() - taken);
            room[..n].copy_from_slice(&unit[taken..taken + n]);
            taken += n;
            self.conn.handle_read(n, self.now);
            self.sample();
        }
    }

    /// Answers every request, then writes out what the server has, if the client reads.
    fn step(&mut self) -> Result<(), String> {
        while let Some(event) = self.conn.poll_event() {
            let (id, response) = match event {
                Event::Request { id, request } => (id, (self.app)(&request)),
                Event::Rejected { id, error } => (id, error.response()),
            };
            self.tally.answers.push((id.0, response.status.as_u16()));
            self.conn
                .send_response(id, response, SystemTime::UNIX_EPOCH);
        }
        // The peak is before the writes, which empty the queue again for a client that reads.
        self.sample();
        if self.peer != Peer::Reads {
            return Ok(());
        }
        // Bounded: each pass writes a frame or more, and no run queues millions of them.
        for _ in 0..1_000_000 {
            let written = match self.conn.poll_transmit() {
                None => break,
                Some(Transmit::Bytes(bytes)) => {
                    self.from_server.extend_from_slice(bytes);
                    bytes.len()
                }
                Some(Transmit::File { len, .. }) => {
                    return Err(format!(
                        "a file region of {len} octets: no route here sends files"
                    ))
                }
                Some(Transmit::CloseWrite) => {
                    self.conn.handle_write_closed(self.now);
                    break;
                }
            };
            self.conn.advance(written, self.now);
        }
        self.read_frames()
    }

    /// Splits what the server wrote into frames and keeps what the table needs of them.
    fn read_frames(&mut self) -> Result<(), String> {
        loop {
            let frame = frame::split_frame_as(
                Role::Client,
                &mut self.from_server,
                frame::LARGEST_FRAME_SIZE,
            )
            .map_err(|error| {
                format!("the server wrote a frame its own decoder refuses: {error}")
            })?;
            match frame {
                None => return Ok(()),
                Some(Frame::GoAway(goaway)) => self.tally.goaway = Some(goaway.reason),
                Some(Frame::Data(data)) => self.tally.data_read += data.data.len() as u64,
                Some(_) => {}
            }
        }
    }

    fn sample(&mut self) {
        let tally = &mut self.tally;
        tally.most_queued = tally.most_queued.max(self.conn.queued_output());
        let body = self.conn.held_request_bodies().unwrap_or(0);
        tally.most_body = tally.most_body.max(body);
    }
}

/// One frame as octets: a header saying `kind`, `flags` and `stream`, then `payload`, whatever
/// they mean together (a WINDOW_UPDATE of 0 must be expressible).
pub fn raw(kind: Kind, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = BytesMut::with_capacity(frame::HEADER_LEN + payload.len());
    frame::Header {
        // Every payload here is at most one frame of the default size (16 KiB).
        length: u32::try_from(payload.len()).unwrap_or(u32::MAX),
        kind,
        flags,
        stream,
    }
    .encode(&mut bytes);
    bytes.extend_from_slice(payload);
    bytes.to_vec()
}
