//! The checked cursor every field is read with: [`Reader`] stands on a part of the handshake
//! message, checks a length before every read (a field that runs past what holds it is an
//! [`Error::BadLength`], never a panic), reads TLS's vectors with their one- or two-byte length
//! prefixes (`<0..2^8-1>`, `<0..2^16-1>`), and knows where each byte was in the capture, past
//! the record headers, for the table's **at** column.

use super::{ClientHello, Error, Row};

/// A row of the table: the field at capture offset `at`, `len` bytes long.
pub(super) fn row(at: usize, len: usize, field: &str, value: String) -> Row {
    Row {
        at,
        len,
        field: field.into(),
        value,
    }
}

/// A cursor over a part of the handshake message (`pos..end`) that checks every length before
/// it reads, and knows where each byte was in the capture.
pub(super) struct Reader<'a> {
    message: &'a [u8],
    /// The message offset of the next byte to read (where a field starts, for its row).
    pub(super) pos: usize,
    end: usize,
    segments: &'a [(usize, usize, usize)],
}

impl<'a> Reader<'a> {
    /// A reader of the whole `message`, which [`records`](super::records::records) put together
    /// from the fragments that `segments` locate in the capture.
    pub(super) fn new(message: &'a [u8], segments: &'a [(usize, usize, usize)]) -> Reader<'a> {
        Reader {
            message,
            pos: 0,
            end: message.len(),
            segments,
        }
    }

    /// Where message offset `at` was in the capture: past the record headers before it.
    fn capture_offset(&self, at: usize) -> usize {
        let (start, header, _) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= at)
            .copied()
            .unwrap_or_default();
        header + 5 + (at - start)
    }

    /// Where this reader stands, in the capture (for errors).
    pub(super) fn at(&self) -> usize {
        self.capture_offset(self.pos)
    }

    /// A row for the field from message offset `start` to here.
    pub(super) fn row(&self, start: usize, len: usize, field: &str, value: String) -> Row {
        row(self.capture_offset(start), len, field, value)
    }

    pub(super) fn push(&self, hello: &mut ClientHello, start: usize, field: &str, value: String) {
        let len = self.pos - start;
        hello.rows.push(self.row(start, len, field, value));
    }

    pub(super) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            // The whole message has arrived (`records` saw to it), so a field that runs past
            // its end, or past the list that holds it, has a length that lies.
            return Err(Error::BadLength {
                field,
                at: self.at(),
            });
        }
        let taken = &self.message[self.pos..self.pos + n];
        self.pos += n;
        Ok(taken)
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.take(1, field)?[0])
    }

    pub(super) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        let bytes = self.take(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub(super) fn u24(&mut self, field: &'static str) -> Result<usize, Error> {
        let b = self.take(3, field)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// The next `n` bytes, as a reader of their own.
    pub(super) fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, Error> {
        let start = self.pos;
        self.take(n, field)?;
        Ok(Reader {
            message: self.message,
            pos: start,
            end: start + n,
            segments: self.segments,
        })
    }

    /// A vector with a one-byte length prefix (`<0..2^8-1>`).
    pub(super) fn vec8(&mut self, field: &'static str) -> Result<Reader<'a>, Error> {
        let n = usize::from(self.u8(field)?);
        self.sub(n, field)
    }

    /// A vector with a two-byte length prefix (`<0..2^16-1>`).
    pub(super) fn vec16(&mut self, field: &'static str) -> Result<Reader<'a>, Error> {
        let n = usize::from(self.u16(field)?);
        self.sub(n, field)
    }

    /// All that is left, as two-byte values.
    pub(super) fn u16_list(&mut self, field: &'static str) -> Result<Vec<u16>, Error> {
        if self.remaining() % 2 != 0 {
            return Err(Error::BadLength {
                field,
                at: self.at(),
            });
        }
        let mut list = Vec::new();
        while !self.done() {
            list.push(self.u16(field)?);
        }
        Ok(list)
    }

    /// All that is left, without reading it.
    pub(super) fn rest(&self) -> &'a [u8] {
        &self.message[self.pos..self.end]
    }

    pub(super) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.end
    }
}
