//! The sending side of the HTTP/2 machine: responses as HEADERS and DATA frames, the output
//! queue, and the scheduler that shares the client's flow-control windows between streams
//! (RFC 9113 sections 5.2, 6.1, 6.2 and 8.1).
//!
//! A response's HEADERS are encoded the moment the application answers, so that field blocks
//! leave in the order the one HPACK encoder made them (section 4.3.1). DATA is framed later, on
//! demand, when the queue has run dry: a round of frames, one per stream in turn and at most
//! [`DATA_QUANTUM`] octets each, within the stream's window, the connection's window and the
//! client's SETTINGS_MAX_FRAME_SIZE. Framing late keeps the queue short, which keeps a stream
//! answered later from waiting behind all of an earlier one's body.

use std::collections::VecDeque;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::{Lifecycle, Machine, Outbound};
use crate::connection::Transmit;
use crate::h2::error::Reason;
use crate::h2::frame::{self, Data, Headers, RstStream};
use crate::h2::semantics::response_head;
use crate::h2::stream::{transition, Closure, Event, Outcome, State};
use crate::message::{Body, ChunkStream, Response};

// ANCHOR: quantum
/// The most DATA one stream sends per turn of the round robin (and per frame): 2^14, the
/// frame size every client accepts, so a turn is one frame and streams interleave finely.
pub const DATA_QUANTUM: u32 = frame::DEFAULT_MAX_FRAME_SIZE;

/// DATA is framed until this much output waits in memory, then framing pauses until the
/// socket has taken it.
pub const FILL_TARGET: usize = 64 * 1024;

/// Data pieces at least this long are sent from where they are (a view of the body) rather
/// than copied behind their frame header.
const VIEW_FROM: usize = 4 * 1024;
// ANCHOR_END: quantum

/// What is left to send of one response body.
pub(super) enum Source {
    Bytes(Bytes),
    File {
        file: Arc<OwnedFd>,
        offset: u64,
        len: u64,
    },
    /// A streamed body: the chunk being sent, and whether the stream has no more.
    Stream {
        chunks: ChunkStream,
        held: Bytes,
        ended: bool,
    },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            Source::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            Source::Stream { held, ended, .. } => write!(f, "Stream({}, {ended})", held.len()),
        }
    }
}

impl Source {
    fn new(body: Body) -> Source {
        match body {
            Body::Empty => Source::Bytes(Bytes::new()),
            Body::Bytes(bytes) => Source::Bytes(bytes),
            Body::File(region) => Source::File {
                file: region.file,
                offset: region.offset,
                len: region.len,
            },
            Body::Stream(chunks) => Source::Stream {
                chunks,
                held: Bytes::new(),
                ended: false,
            },
        }
    }

    /// Octets left, a streamed body counting as `stream_weight` until it has ended.
    pub(super) fn remaining(&self, stream_weight: u64) -> u64 {
        match self {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::File { len, .. } => *len,
            Source::Stream {
                ended: true, held, ..
            } => held.len() as u64,
            Source::Stream { .. } => stream_weight,
        }
    }

    /// Octets ready to frame now.
    fn ready(&self) -> u64 {
        match self {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::File { len, .. } => *len,
            Source::Stream { held, .. } => held.len() as u64,
        }
    }

    /// Whether nothing more will come after what is ready.
    fn is_last(&self) -> bool {
        match self {
            Source::Bytes(_) | Source::File { .. } => true,
            Source::Stream { ended, .. } => *ended,
        }
    }

    /// Pulls chunks from a streamed body until one has data or the stream ends (a bounded
    /// number of empty chunks per call, so that a stream of empty chunks cannot spin us).
    /// `Err` when the stream failed.
    fn fill(&mut self) -> Result<(), ()> {
        if let Source::Stream {
            chunks,
            held,
            ended,
        } = self
        {
            for _ in 0..16 {
                if !held.is_empty() || *ended {
                    break;
                }
                match chunks.next() {
                    Some(Ok(chunk)) => *held = chunk,
                    Some(Err(_)) => return Err(()),
                    None => *ended = true,
                }
            }
        }
        Ok(())
    }

    /// Takes the next `len` octets (at most what is ready).
    fn take(&mut self, len: u32) -> Piece {
        match self {
            Source::Bytes(bytes) | Source::Stream { held: bytes, .. } => {
                let len = (len as usize).min(bytes.len());
                Piece::Bytes(bytes.split_to(len))
            }
            Source::File {
                file,
                offset,
                len: left,
            } => {
                let len = u64::from(len).min(*left);
                let piece = Piece::File {
                    file: Arc::clone(file),
                    offset: *offset,
                    len,
                };
                *offset += len;
                *left -= len;
                piece
            }
        }
    }
}

/// One frame's worth of data.
enum Piece {
    Bytes(Bytes),
    File {
        file: Arc<OwnedFd>,
        offset: u64,
        len: u64,
    },
}

/// One item of the output queue.
enum Item {
    Bytes(Bytes),
    File {
        file: Arc<OwnedFd>,
        offset: u64,
        len: u64,
    },
}

// ANCHOR: output
/// The output of one connection: frames queued in order, and the streams whose bodies wait
/// to be framed.
pub(super) struct Output {
    queue: VecDeque<Item>,
    /// How much of the front `Bytes` item has been written.
    front_offset: usize,
    /// Frames being assembled; they follow everything in `queue`.
    frames: BytesMut,
    /// Streams with body to send and window to send it, in round-robin order.
    sending: VecDeque<u32>,
    /// Streams with body to send whose own window is spent: they wait for WINDOW_UPDATE.
    blocked: Vec<u32>,
}
// ANCHOR_END: output

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("items", &self.queue.len())
            .field("frames", &self.frames.len())
            .field("sending", &self.sending)
            .field("blocked", &self.blocked)
            .finish()
    }
}

impl Output {
    pub(super) fn new() -> Output {
        Output {
            queue: VecDeque::new(),
            front_offset: 0,
            frames: BytesMut::new(),
            sending: VecDeque::new(),
            blocked: Vec::new(),
        }
    }

    /// Where to append the next frame.
    pub(super) fn frames(&mut self) -> &mut BytesMut {
        &mut self.frames
    }

    /// Whether nothing is queued (bodies not yet framed aside).
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.frames.is_empty()
    }

    /// Octets queued in memory.
    pub(super) fn buffered_bytes(&self) -> usize {
        let queued: usize = self
            .queue
            .iter()
            .map(|item| match item {
                Item::Bytes(bytes) => bytes.len(),
                Item::File { .. } => 0,
            })
            .sum();
        queued - self.front_offset.min(queued) + self.frames.len()
    }

    /// Octets queued, file regions included.
    pub(super) fn queued_bytes(&self) -> u64 {
        let files: u64 = self
            .queue
            .iter()
            .map(|item| match item {
                Item::Bytes(_) => 0,
                Item::File { len, .. } => *len,
            })
            .sum();
        self.buffered_bytes() as u64 + files
    }

    /// The next write.
    pub(super) fn front(&mut self) -> Option<Transmit<'_>> {
        if self.queue.is_empty() {
            self.flush_frames();
        }
        match self.queue.front()? {
            Item::Bytes(bytes) => Some(Transmit::Bytes(bytes.get(self.front_offset..)?)),
            Item::File { file, offset, len } => Some(Transmit::File {
                file: file.as_fd(),
                offset: *offset,
                len: *len,
            }),
        }
    }

    /// `n` octets of the front item were written.
    pub(super) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            match self.queue.front_mut() {
                None => return,
                Some(Item::Bytes(bytes)) => {
                    let left = bytes.len() - self.front_offset;
                    let taken = n.min(left);
                    self.front_offset += taken;
                    n -= taken;
                    if self.front_offset == bytes.len() {
                        self.queue.pop_front();
                        self.front_offset = 0;
                    }
                }
                Some(Item::File { offset, len, .. }) => {
                    let taken = (n as u64).min(*len);
                    *offset += taken;
                    *len -= taken;
                    // At most `n`, so it fits a usize.
                    n -= taken as usize;
                    if *len == 0 {
                        self.queue.pop_front();
                    }
                }
            }
        }
    }

    /// Takes stream `id` out of the scheduling (it was reset or finished).
    pub(super) fn unschedule(&mut self, id: u32) {
        self.sending.retain(|&other| other != id);
        self.blocked.retain(|&other| other != id);
    }

    /// Every stream leaves the scheduling (the connection is ending).
    pub(super) fn drop_scheduling(&mut self) {
        self.sending.clear();
        self.blocked.clear();
    }

    /// Stream `id` got window: schedule it again if it was waiting for that.
    pub(super) fn unblock(&mut self, id: u32) {
        if let Some(at) = self.blocked.iter().position(|&other| other == id) {
            self.blocked.swap_remove(at);
            self.sending.push_back(id);
        }
    }

    /// Every stream's window changed: schedule them all again.
    pub(super) fn unblock_all(&mut self) {
        self.sending.extend(self.blocked.drain(..));
    }

    /// Whether any body is still to frame.
    pub(super) fn has_bodies(&self) -> bool {
        !self.sending.is_empty() || !self.blocked.is_empty()
    }

    /// Moves the frames assembled so far into the queue, behind what is there.
    fn flush_frames(&mut self) {
        if !self.frames.is_empty() {
            self.queue
                .push_back(Item::Bytes(self.frames.split().freeze()));
        }
    }

    fn push(&mut self, item: Item) {
        self.flush_frames();
        self.queue.push_back(item);
    }
}

impl Machine {
    // ANCHOR: respond
    /// Queues the response to stream `id`: its HEADERS (and CONTINUATIONs) now, its body for
    /// the scheduler.
    pub(super) fn respond(&mut self, id: u32, response: Response, date: SystemTime) {
        let Some(stream) = self.streams.get_mut(&id) else {
            // Reset meanwhile: nobody waits for this response.
            return;
        };
        if !stream.with_app || !matches!(stream.outbound, Outbound::Waiting) {
            debug_assert!(
                false,
                "response for stream {id}, which is not waiting for one"
            );
            return;
        }
        let was_quiet = self.output.is_empty() && !self.output.has_bodies();
        let head = response_head(&response, stream.is_head, date);
        let has_body = head.has_body;
        let mut block = Vec::new();
        self.encoder.encode(
            head.fields
                .iter()
                .map(|(name, value)| (name.as_ref(), value.as_ref())),
            &mut block,
        );
        drop(head);
        // "An HTTP request/response exchange fully consumes a single stream. [...] the server
        // sends a response on the same stream" as HEADERS, then DATA (section 8.1).
        if let Ok(Outcome::Next(next)) = transition(stream.state, Event::SendHeaders) {
            stream.state = next;
        }
        Headers::encode_block(
            id,
            Bytes::from(block),
            !has_body,
            self.peer.max_frame_size,
            self.output.frames(),
        );
        if was_quiet {
            // The slow-read clocks start when output starts waiting.
            self.last_write = self.clock;
            self.last_body_progress = self.clock;
        }
        if has_body {
            stream.outbound = Outbound::Body(Source::new(response.body));
            self.output.sending.push_back(id);
        } else {
            self.sent_end_stream(id);
        }
    }
    // ANCHOR_END: respond

    // ANCHOR: schedule
    /// Frames DATA for the streams that have body and window, one [`DATA_QUANTUM`] per stream
    /// per turn, until [`FILL_TARGET`] octets wait or nothing more may be sent.
    pub(super) fn schedule_data(&mut self) {
        let max_piece = self.peer.max_frame_size.min(DATA_QUANTUM);
        // Every turn frames data, ends a stream, or takes a stream out of the rotation, but a
        // stream of empty chunks can stay in it; the bound keeps that from spinning.
        let mut turns = self.output.sending.len() * 4 + 16;
        while self.output.buffered_bytes() < FILL_TARGET && turns > 0 {
            turns -= 1;
            let Some(id) = self.output.sending.pop_front() else {
                break;
            };
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            let Outbound::Body(source) = &mut stream.outbound else {
                continue;
            };
            if source.fill().is_err() {
                // The body failed midway: the stream cannot be completed honestly.
                self.reset(id, Reason::INTERNAL_ERROR, false);
                continue;
            }
            let ready = source.ready();
            if ready == 0 && !source.is_last() {
                // A streamed body with nothing yet: its turn comes round again.
                self.output.sending.push_back(id);
                continue;
            }
            let wanted = u32::try_from(ready).unwrap_or(u32::MAX).min(max_piece);
            // "A zero-length DATA frame with END_STREAM needs no credit" is what section 6.9.1
            // implies: "Frames with zero length with the END_STREAM flag set (that is, an
            // empty DATA frame) MAY be sent if there is no available space in either
            // flow-control window."
            let granted = if wanted == 0 {
                0
            } else {
                self.flow.take_send_credit(&mut stream.flow, wanted)
            };
            if wanted > 0 && granted == 0 {
                if self.flow.send_window().available() == 0 {
                    // The connection's window is spent: nobody can send; keep the order.
                    self.output.sending.push_front(id);
                    break;
                }
                self.output.blocked.push(id);
                continue;
            }
            let piece = source.take(granted);
            if source.ready() == 0 && source.fill().is_err() {
                self.reset(id, Reason::INTERNAL_ERROR, false);
                continue;
            }
            let end_stream = source.ready() == 0 && source.is_last();
            let stream_window_spent = stream.flow.send_window().available() == 0;
            if let Ok(Outcome::Next(next)) = transition(stream.state, Event::SendData) {
                stream.state = next;
            }
            self.last_body_progress = self.clock;
            let header = Data::header_for(id, granted, end_stream);
            match piece {
                Piece::Bytes(bytes) if bytes.len() < VIEW_FROM => {
                    header.encode(self.output.frames());
                    self.output.frames().extend_from_slice(&bytes);
                }
                Piece::Bytes(bytes) => {
                    header.encode(self.output.frames());
                    self.output.push(Item::Bytes(bytes));
                }
                Piece::File { file, offset, len } => {
                    header.encode(self.output.frames());
                    self.output.push(Item::File { file, offset, len });
                }
            }
            if end_stream {
                self.sent_end_stream(id);
            } else if stream_window_spent {
                self.output.blocked.push(id);
            } else {
                self.output.sending.push_back(id);
            }
        }
    }
    // ANCHOR_END: schedule

    /// Whether DATA could be framed now (some stream has body, and window or nothing left
    /// but END_STREAM).
    pub(super) fn has_sendable_data(&self) -> bool {
        if self.output.sending.is_empty() {
            return false;
        }
        self.flow.send_window().available() > 0
            || self.output.sending.iter().any(|id| {
                self.streams
                    .get(id)
                    .is_some_and(|stream| match &stream.outbound {
                        Outbound::Body(source) => source.ready() == 0,
                        Outbound::Waiting | Outbound::Done => false,
                    })
            })
    }

    /// Whether any body waits to be framed, sendable now or not.
    pub(super) fn has_unsent_data(&self) -> bool {
        self.output.has_bodies()
    }

    /// Resets stream `id` with `reason` (section 5.4.2): "An endpoint that detects a stream
    /// error sends a RST_STREAM frame (Section 6.4) that contains the stream identifier of
    /// the stream where the error occurred and an error code that indicates the error type."
    /// `provoked`: the client's frames caused it (counted for MadeYouReset, see `guard`).
    pub(super) fn reset(&mut self, id: u32, reason: Reason, provoked: bool) {
        if self.lifecycle != Lifecycle::Open {
            return;
        }
        RstStream::new(id, reason).encode(self.output.frames());
        self.remove_stream(id, Closure::ResetByUs);
        if let Err(error) = self.guard.control_owed() {
            return self.fail(error);
        }
        if provoked {
            if let Err(error) = self.guard.provoked_reset() {
                self.fail(error);
            }
        }
    }

    /// END_STREAM is queued on stream `id`: the response is complete.
    fn sent_end_stream(&mut self, id: u32) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.outbound = Outbound::Done;
        let next = match transition(stream.state, Event::SendEndStream) {
            Ok(Outcome::Next(next)) => next,
            _ => stream.state,
        };
        stream.state = next;
        match next {
            State::Closed(closure) => self.remove_stream(id, closure),
            // The client has not finished sending (its request was refused before its body
            // was in): "a server MAY request that the client abort transmission of a request
            // without error by sending a RST_STREAM with an error code of NO_ERROR after
            // sending a complete response" (section 8.1).
            _ => self.reset(id, Reason::NO_ERROR, false),
        }
    }
}
