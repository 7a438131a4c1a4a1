//! Turning responses into HTTP/1.1 bytes (RFC 9112 sections 4, 6 and 7), and the queue of
//! what is still to be written.
//!
//! The writer adds what the application must not have to think about: the status line, `Date`,
//! the framing (`Content-Length`, or chunked for a body of unknown length), and `Connection`.
//! Heads and small bodies are copied into one buffer so that a typical response leaves in one
//! `write`; large bodies stay where they are (shared `Bytes`, or a file region for `sendfile`).

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsFd;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::chunked::{encode_chunk, LAST_CHUNK};
use crate::connection::Transmit;
use crate::message::{Body, ChunkStream, FileRegion, Response, Version};

/// Bodies up to this size are copied behind their head so both go out in one write; larger
/// ones are written from where they are, without a copy.
const COPY_BODY_BELOW: usize = 16 * 1024;

/// The largest written-out buffer kept for the next response: room for a head and a small body
/// (`/plaintext`, a 1 KiB stylesheet), which is what most responses need. A larger one (a small
/// file copied behind its head) is given back once written, so that an idle connection holds at
/// most this much output buffer, not the size of the largest response it ever sent.
pub const SPARE_KEPT: usize = 2 * 1024;

/// Fields the writer sets itself; a handler's values for them are dropped, because a wrong
/// framing field would desynchronise the connection.
const FRAMING_FIELDS: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
    "keep-alive",
];

/// One piece of output, in order.
pub(super) enum Outgoing {
    /// Serialized heads and small bodies; writing starts at `ResponseWriter::front_offset`.
    Buffer(Vec<u8>),
    /// A large in-memory body.
    Shared(Bytes),
    /// A file region; its offset and length shrink as it is written.
    File(FileRegion),
    /// A streamed body, framed as chunks (HTTP/1.1) or sent raw until close (HTTP/1.0).
    Stream { stream: ChunkStream, chunked: bool },
}

/// The output queue of one connection.
pub(super) struct ResponseWriter {
    queue: VecDeque<Outgoing>,
    /// How much of the front `Buffer` or `Shared` item has been written.
    front_offset: usize,
    /// Bytes queued in `Buffer` and `Shared` items (files and streams are not held in memory).
    buffered: usize,
    /// A written-out buffer kept for the next response, so that steady-state serving does not
    /// allocate for heads (at most [`SPARE_KEPT`] of it).
    spare: Vec<u8>,
    date: DateCache,
}

impl std::fmt::Debug for ResponseWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseWriter")
            .field("items", &self.queue.len())
            .field("buffered", &self.buffered)
            .finish()
    }
}

impl ResponseWriter {
    pub fn new() -> ResponseWriter {
        ResponseWriter {
            queue: VecDeque::new(),
            front_offset: 0,
            buffered: 0,
            spare: Vec::new(),
            date: DateCache::default(),
        }
    }

    /// The capacity of the buffer kept for the next response (for tests of [`SPARE_KEPT`]).
    #[cfg(test)]
    pub fn spare_capacity(&self) -> usize {
        self.spare.capacity()
    }

    /// Whether everything has been written.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes waiting in memory.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Bytes waiting to be written wherever they are: in memory, or in files still to send. A
    /// streamed body, whose length is unknown, counts as `stream_weight`.
    pub fn queued_bytes(&self, stream_weight: u64) -> u64 {
        let elsewhere: u64 = self
            .queue
            .iter()
            .map(|item| match item {
                Outgoing::File(region) => region.len,
                Outgoing::Stream { .. } => stream_weight,
                Outgoing::Buffer(_) | Outgoing::Shared(_) => 0,
            })
            .sum();
        self.buffered as u64 + elsewhere
    }

    /// Queues `100 Continue`: the client may send the body now (RFC 9110 section 15.2.1).
    pub fn write_continue(&mut self) {
        self.buffer()
            .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        self.buffered += 25;
    }

    // ANCHOR: write_response
    /// Queues a response to a request of `version`. Returns whether the connection can stay
    /// open after it: a body whose end only the close can mark forces a close.
    pub fn write_response(
        &mut self,
        response: Response,
        version: Version,
        is_head: bool,
        keep_alive: bool,
        date: SystemTime,
    ) -> bool {
        let Response {
            status,
            headers,
            body,
        } = response;
        // RFC 9112 section 6.3, rules 1-2: these responses end at the end of the head.
        let no_body = is_head || status.forbids_body();
        let known_length = body.len();
        // A body of unknown length is chunked for HTTP/1.1; an HTTP/1.0 client cannot decode
        // chunks, so the body runs until the connection closes.
        let chunked = known_length.is_none() && version == Version::Http11;
        let keep_alive = keep_alive && (known_length.is_some() || chunked || no_body);

        let date = self.date.format(date);
        let buffer = self.buffer();
        let start = buffer.len();
        buffer.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(buffer, u64::from(status.as_u16()));
        buffer.push(b' ');
        buffer.extend_from_slice(status.reason().as_bytes());
        buffer.extend_from_slice(b"\r\n");
        for (name, value) in headers.iter() {
            if FRAMING_FIELDS
                .iter()
                .any(|field| field.eq_ignore_ascii_case(name))
            {
                continue;
            }
            buffer.extend_from_slice(name.as_bytes());
            buffer.extend_from_slice(b": ");
            buffer.extend_from_slice(value);
            buffer.extend_from_slice(b"\r\n");
        }
        buffer.extend_from_slice(b"date: ");
        buffer.extend_from_slice(&date);
        buffer.extend_from_slice(b"\r\n");
        // 1xx and 204 must not carry Content-Length (RFC 9110 section 8.6); 304 need not.
        match known_length {
            _ if status.forbids_body() => {}
            Some(length) => {
                buffer.extend_from_slice(b"content-length: ");
                push_decimal(buffer, length);
                buffer.extend_from_slice(b"\r\n");
            }
            None if chunked && !is_head => {
                buffer.extend_from_slice(b"transfer-encoding: chunked\r\n")
            }
            None => {}
        }
        match (keep_alive, version) {
            (false, _) => buffer.extend_from_slice(b"connection: close\r\n"),
            // An HTTP/1.0 client keeps the connection only when told so.
            (true, Version::Http10) => buffer.extend_from_slice(b"connection: keep-alive\r\n"),
            (true, _) => {}
        }
        buffer.extend_from_slice(b"\r\n");

        // Small bodies travel in the head's buffer; large ones are queued as they are.
        let mut separate = None;
        if !no_body {
            match body {
                Body::Empty => {}
                Body::Bytes(bytes) if bytes.len() < COPY_BODY_BELOW => {
                    buffer.extend_from_slice(&bytes)
                }
                Body::Bytes(bytes) => separate = Some(Outgoing::Shared(bytes)),
                Body::File(region) if region.len == 0 => {}
                Body::File(region) => separate = Some(Outgoing::File(region)),
                Body::Stream(stream) => separate = Some(Outgoing::Stream { stream, chunked }),
            }
        }
        self.buffered += buffer.len() - start;
        if let Some(item) = separate {
            if let Outgoing::Shared(bytes) = &item {
                self.buffered += bytes.len();
            }
            self.queue.push_back(item);
        }
        keep_alive
    }
    // ANCHOR_END: write_response

    /// The buffer at the back of the queue, created (from the spare) if the back is not one.
    fn buffer(&mut self) -> &mut Vec<u8> {
        if !matches!(self.queue.back(), Some(Outgoing::Buffer(_))) {
            let buffer = std::mem::take(&mut self.spare);
            self.queue.push_back(Outgoing::Buffer(buffer));
        }
        match self.queue.back_mut() {
            Some(Outgoing::Buffer(buffer)) => buffer,
            // Pushed just above when the back was not a buffer.
            _ => unreachable!("the back of the queue is a buffer"),
        }
    }

    // ANCHOR: front
    /// What to write next. Pulls the next piece of a streamed body when it reaches the front.
    pub fn front(&mut self) -> io::Result<Option<Transmit<'_>>> {
        loop {
            match self.queue.front_mut() {
                None => return Ok(None),
                Some(Outgoing::Stream { stream, chunked }) => {
                    let chunked = *chunked;
                    match stream.next() {
                        Some(Ok(piece)) if piece.is_empty() => continue,
                        Some(Ok(piece)) => {
                            let mut framed = std::mem::take(&mut self.spare);
                            if chunked {
                                encode_chunk(&piece, &mut framed);
                            } else {
                                framed.extend_from_slice(&piece);
                            }
                            self.buffered += framed.len();
                            self.queue.push_front(Outgoing::Buffer(framed));
                        }
                        Some(Err(error)) => return Err(error),
                        None => {
                            self.queue.pop_front();
                            if chunked {
                                let mut last = std::mem::take(&mut self.spare);
                                last.extend_from_slice(LAST_CHUNK);
                                self.buffered += LAST_CHUNK.len();
                                self.queue.push_front(Outgoing::Buffer(last));
                            }
                        }
                    }
                }
                Some(_) => break,
            }
        }
        let offset = self.front_offset;
        Ok(match self.queue.front() {
            Some(Outgoing::Buffer(buffer)) => Some(Transmit::Bytes(&buffer[offset..])),
            Some(Outgoing::Shared(bytes)) => Some(Transmit::Bytes(&bytes[offset..])),
            Some(Outgoing::File(region)) => Some(Transmit::File {
                file: region.file.as_fd(),
                offset: region.offset,
                len: region.len,
            }),
            Some(Outgoing::Stream { .. }) | None => None,
        })
    }
    // ANCHOR_END: front

    /// Records that `n` bytes of the front item were written.
    pub fn advance(&mut self, n: usize) {
        let finished = match self.queue.front_mut() {
            None => return,
            Some(Outgoing::Buffer(buffer)) => {
                self.front_offset += n;
                self.buffered -= n;
                self.front_offset >= buffer.len()
            }
            Some(Outgoing::Shared(bytes)) => {
                self.front_offset += n;
                self.buffered -= n;
                self.front_offset >= bytes.len()
            }
            Some(Outgoing::File(region)) => {
                region.offset += n as u64;
                region.len -= n as u64;
                region.len == 0
            }
            Some(Outgoing::Stream { .. }) => false,
        };
        if finished {
            self.front_offset = 0;
            if let Some(Outgoing::Buffer(mut buffer)) = self.queue.pop_front() {
                if buffer.capacity() <= SPARE_KEPT {
                    buffer.clear();
                    self.spare = buffer;
                }
            }
        }
        // An empty file region (a zero-length range) has nothing to write: drop it now.
        while let Some(Outgoing::File(region)) = self.queue.front() {
            if region.len > 0 {
                break;
            }
            self.queue.pop_front();
        }
    }
}

/// Appends `n` in decimal. `write!` would do it through the formatting machinery, which costs
/// more than the rest of a small response's head together (measured under callgrind).
fn push_decimal(buffer: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buffer.extend_from_slice(&digits[at..]);
}

/// The `Date` field value, formatted once per second rather than once per response.
#[derive(Default)]
struct DateCache {
    second: u64,
    /// IMF-fixdate is always 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
    text: [u8; 29],
}

impl DateCache {
    fn format(&mut self, now: SystemTime) -> [u8; 29] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        if self.text[0] == 0 || second != self.second {
            self.second = second;
            let formatted = httpdate::fmt_http_date(now);
            let len = formatted.len().min(29);
            self.text[..len].copy_from_slice(&formatted.as_bytes()[..len]);
        }
        self.text
    }
}
