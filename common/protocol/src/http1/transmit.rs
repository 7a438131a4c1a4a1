//! What the driver writes next: bytes, a file region, or the end of the writing side.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

// ANCHOR: transmit
/// One write for the driver to perform, from [`Connection::poll_transmit`](super::Connection::poll_transmit).
#[derive(Debug)]
pub enum Transmit<'a> {
    /// Write these bytes (or as many as the socket takes), then `advance` by the count written.
    Bytes(&'a [u8]),
    /// Write `len` bytes of `file` from `offset`: with `sendfile` where the driver can (the
    /// bytes never enter user space), or by reading and writing them.
    File {
        file: &'a File,
        offset: u64,
        len: u64,
    },
    /// Everything is written and the connection is closing: shut down the writing side
    /// (`shutdown(SHUT_WR)`), then call `handle_write_closed`.
    CloseWrite,
}
// ANCHOR_END: transmit

/// How much of a file region one plain write sends, when the driver does not use `sendfile`.
pub const FILE_CHUNK: usize = 64 * 1024;

impl Transmit<'_> {
    /// Performs one write with ordinary `read`/`write` calls, for drivers without `sendfile`.
    /// Returns the number of bytes written, to pass to `advance`. `scratch` is a buffer the
    /// driver keeps between calls so that file regions do not allocate.
    ///
    /// `CloseWrite` is not a write: it returns `Ok(0)` and the driver must shut the socket down.
    pub fn write_to(&self, writer: &mut impl Write, scratch: &mut Vec<u8>) -> io::Result<usize> {
        match *self {
            Transmit::Bytes(bytes) => writer.write(bytes),
            Transmit::File { file, offset, len } => {
                let want = (len as usize).min(FILE_CHUNK);
                scratch.resize(want, 0);
                let read = file.read_at(&mut scratch[..want], offset)?;
                if read == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than the response said (was it truncated?)",
                    ));
                }
                writer.write(&scratch[..read])
            }
            Transmit::CloseWrite => Ok(0),
        }
    }
}
