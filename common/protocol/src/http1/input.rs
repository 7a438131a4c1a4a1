//! The machine's own input buffer: the driver reads straight into it, and parsed requests leave
//! it as frozen views rather than copies.
//!
//! ```text
//!   bytes: [ received, not yet parsed | room lent to the driver's next read ]
//!          0                     filled                               len
//! ```
//!
//! The room is part of `bytes`' length, already initialised (zeroed when it was added, or bytes
//! of earlier requests), which is what lets it be lent as a plain `&mut [u8]` to `read(2)`,
//! `TcpStream::read` or rustls's plaintext reader. A parsed head leaves with
//! [`split_off_front`](InputBuffer::split_off_front): `BytesMut::split_to` hands out the front
//! of the same allocation, reference-counted, so the request's target and fields point into the
//! bytes the kernel wrote. Once every such view is dropped, the next `reserve` finds the
//! allocation unshared and reuses it from its start.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

/// The least room lent for one read. Smaller reads would cost a system call per few bytes.
pub const MIN_READ: usize = 1024;

/// The size of a connection's first buffer: room for a typical request head (wrk's is 50 bytes,
/// curl's 80, a browser's 0.5 to 1.5 KiB) or a batch of 16 pipelined small ones. A larger head
/// fills the room, and the next `room` call grows it. Small on purpose: a keep-alive connection
/// allocates it anew for each request (see `release_if_drained`), zeroed, so it must be cheap.
pub const FIRST_BUFFER: usize = 1024;

/// Received bytes not yet parsed, and room for the next read.
pub struct InputBuffer {
    /// `bytes[..filled]` is received input; `bytes[filled..]` is room.
    bytes: BytesMut,
    filled: usize,
    /// How much room the last [`room`](Self::room) lent.
    lent: usize,
    /// Whether the last read filled less than the room it was lent (so the socket had no more).
    last_read_short: bool,
}

impl InputBuffer {
    /// An empty buffer that holds no memory until the first read.
    pub fn new() -> InputBuffer {
        InputBuffer {
            bytes: BytesMut::new(),
            filled: 0,
            lent: 0,
            last_read_short: false,
        }
    }

    /// Room for at least `wanted` (and at least [`MIN_READ`]) more bytes.
    pub fn room(&mut self, wanted: usize) -> &mut [u8] {
        let wanted = wanted.max(MIN_READ);
        if self.bytes.len() - self.filled < wanted {
            // Keep only received bytes, so that moving them (to a new allocation, or to the
            // start of this one once no view shares it) copies nothing else.
            self.bytes.truncate(self.filled);
            let room = wanted.max(FIRST_BUFFER);
            self.bytes.reserve(room);
            self.bytes.resize(self.filled + room, 0);
        }
        self.lent = self.bytes.len() - self.filled;
        &mut self.bytes[self.filled..]
    }

    /// Records that a read put `n` bytes at the start of the room last lent.
    pub fn filled_by_read(&mut self, n: usize) {
        let n = n.min(self.bytes.len() - self.filled);
        self.filled += n;
        self.last_read_short = n < self.lent;
        self.lent = 0;
    }

    /// Copies bytes that are already in memory in.
    pub fn extend_from_slice(&mut self, input: &[u8]) {
        self.room(input.len())[..input.len()].copy_from_slice(input);
        self.filled += input.len();
        self.last_read_short = false;
    }

    /// Gives the memory back if everything received was parsed and the last read found the
    /// socket empty: the connection waits for its next request without a buffer.
    pub fn release_if_drained(&mut self) {
        if self.filled == 0 && self.last_read_short {
            self.bytes = BytesMut::new();
        }
    }

    /// The received bytes not yet parsed.
    pub fn unparsed(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    /// How many received bytes are not yet parsed.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Whether every received byte has been parsed.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Drops the first `n` received bytes (blank lines, chunk framing, ignored input).
    pub fn discard(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.bytes.advance(n);
        self.filled -= n;
    }

    /// Drops every received byte.
    pub fn clear(&mut self) {
        self.discard(self.filled);
    }

    /// The first `n` received bytes, frozen: a view that shares this buffer's memory.
    pub fn split_off_front(&mut self, n: usize) -> Bytes {
        let n = n.min(self.filled);
        self.filled -= n;
        self.bytes.split_to(n).freeze()
    }
}

impl fmt::Debug for InputBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputBuffer")
            .field("filled", &self.filled)
            .field("room", &(self.bytes.len() - self.filled))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_land_in_place_and_leave_as_views_of_the_same_memory() {
        let mut input = InputBuffer::new();
        let room = input.room(0);
        assert!(room.len() >= FIRST_BUFFER);
        room[..11].copy_from_slice(b"hello world");
        let start = room.as_ptr();
        input.filled_by_read(11);
        assert_eq!(input.unparsed(), b"hello world");
        let hello = input.split_off_front(5);
        assert_eq!(&hello[..], b"hello");
        assert_eq!(hello.as_ptr(), start, "a view, not a copy");
        input.discard(1);
        assert_eq!(input.unparsed(), b"world");
    }

    #[test]
    fn room_grows_for_a_large_expected_body_and_keeps_what_was_received() {
        let mut input = InputBuffer::new();
        input.extend_from_slice(b"abc");
        let room = input.room(100_000);
        assert!(room.len() >= 100_000);
        assert_eq!(input.unparsed(), b"abc");
    }

    #[test]
    fn a_drained_buffer_is_given_back_after_a_short_read_and_not_before() {
        let mut input = InputBuffer::new();
        input.room(0);
        input.filled_by_read(3);
        input.release_if_drained();
        assert_eq!(input.unparsed().len(), 3, "unparsed bytes are kept");
        assert!(input.bytes.capacity() > 0);
        input.clear();
        input.release_if_drained();
        assert_eq!(input.bytes.capacity(), 0, "nothing held while waiting");
        assert!(
            input.room(0).len() >= FIRST_BUFFER,
            "and room again on demand"
        );
    }
}
