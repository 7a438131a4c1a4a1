//! Sending a region of an open file to a socket: with `sendfile(2)` where the kernel can, through
//! a buffer in user space where it cannot, with one rule for what the count returned means.
//!
//! Every response body that is a file ([`protocol::Body::File`]) leaves through here. The
//! functions take the socket and the file as [`AsFd`], not as a socket type, so the same code
//! serves a blocking `std::net::TcpStream` (stages 01 to 03), a `mio::net::TcpStream` (stage 04)
//! and a tokio `TcpStream` inside its `try_io` (stage 05): the kernel only sees descriptors.
//!
//! # What the count means: one rule
//!
//! A call sends at most `len` bytes (and at most [`MAX_PER_CALL`]) and returns how many it sent.
//! The count may be *less* than asked for two reasons, which one call cannot tell apart:
//!
//! 1. the socket's send buffer filled up (a non-blocking socket), or
//! 2. the file ends before the region does: it shrank since the response's head was written.
//!
//! The caller does not need to tell them apart either. It advances by the count and calls again,
//! and the next call says which it was: `WouldBlock` (the buffer is still full: wait until the
//! socket is writable), more bytes, or the error [`RegionError::FileShrank`]. A short count is
//! therefore never a reason to stop writing by itself, and this module never returns `Ok(0)`
//! when bytes were asked for: the kernel's 0 means "end of file", which here means the file is
//! shorter than the `Content-Length` already sent, and a caller that took it for "nothing
//! written, try again" would loop forever. The only honest end is to close the connection, so
//! it is an error.
//!
//! # When `sendfile` is not available
//!
//! Some file systems and kernels refuse `sendfile` (`EINVAL`, `ENOSYS`, `EOPNOTSUPP`; see
//! [`is_unsupported`]). [`send_file`] then copies the region through user space: `pread` into a
//! scratch buffer the caller keeps between calls (so a connection allocates it once, and only if
//! it is ever needed), then one `send`. [`copy_file`] is that path on its own, which stage 01
//! takes on purpose: its chapter counts the system calls of the plain way first.

use std::fmt;
use std::io;
use std::os::fd::AsFd;

use nix::libc::off_t;
use protocol::Transmit;
use socket2::SockRef;

/// The most one `sendfile` call sends on Linux, whatever it is asked for (`MAX_RW_COUNT`, the
/// largest page-aligned count below 2 GiB). Asking for more is not an error, but clamping here
/// keeps the count in `usize` and `off_t` arithmetic everywhere.
pub const MAX_PER_CALL: usize = 0x7fff_f000;

/// How much of a file region one copy through user space reads and sends. 64 KiB: a socket's
/// send buffer takes about that much at once, and a larger buffer would only be sent in pieces.
pub const COPY_CHUNK: usize = 64 * 1024;

/// Why a file region cannot be sent. Wrapped in an [`io::Error`] (kinds `InvalidInput` and
/// `UnexpectedEof`), because the callers' write loops speak `io::Result`, and `WouldBlock` must
/// stay an `io::Error` for tokio's `try_io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionError {
    /// The offset does not fit in the kernel's file offset type (`off_t`).
    OffsetTooLarge { offset: u64 },
    /// The file ended at `offset`, before the region did: it was truncated after the response
    /// was framed, and the bytes the client was promised no longer exist.
    FileShrank { offset: u64 },
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::OffsetTooLarge { offset } => {
                write!(f, "file offset {offset} is beyond what the kernel takes")
            }
            RegionError::FileShrank { offset } => write!(
                f,
                "the file ended at byte {offset}, before the response did (was it truncated?)"
            ),
        }
    }
}

impl std::error::Error for RegionError {}

impl From<RegionError> for io::Error {
    fn from(error: RegionError) -> io::Error {
        let kind = match error {
            RegionError::OffsetTooLarge { .. } => io::ErrorKind::InvalidInput,
            RegionError::FileShrank { .. } => io::ErrorKind::UnexpectedEof,
        };
        io::Error::new(kind, error)
    }
}

/// Sends up to `len` bytes of `file`, from `offset`, to `socket`: with `sendfile(2)`, or through
/// `scratch` when the kernel refuses `sendfile` for this file or socket. Returns the count sent;
/// see the [module documentation](self) for what a short count means.
pub fn send_file(
    socket: impl AsFd,
    file: impl AsFd,
    offset: u64,
    len: u64,
    scratch: &mut Vec<u8>,
) -> io::Result<usize> {
    match sendfile(&socket, &file, offset, len) {
        Err(error) if is_unsupported(&error) => copy_file(socket, file, offset, len, scratch),
        result => result,
    }
}

// ANCHOR: send_file
/// `sendfile(2)`: the kernel copies up to `len` bytes of `file` from `offset` straight from the
/// page cache into the socket's send buffer; they never pass through this process. Returns the
/// count sent (see the [module documentation](self) for what a short one means).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn sendfile(socket: impl AsFd, file: impl AsFd, offset: u64, len: u64) -> io::Result<usize> {
    let mut position = kernel_offset(offset)?;
    let count = clamp(len, MAX_PER_CALL);
    // The kernel advances `position`; the region's own offset is advanced by the caller, with
    // the count, so the local copy is all that needs to change.
    let sent =
        nix::sys::sendfile::sendfile(socket.as_fd(), file.as_fd(), Some(&mut position), count)?;
    if sent == 0 && count > 0 {
        return Err(RegionError::FileShrank { offset }.into());
    }
    Ok(sent)
}
// ANCHOR_END: send_file

/// Where the kernel has no Linux-style `sendfile`, every region goes through user space: this
/// says "unsupported", and [`send_file`] falls back.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn sendfile(
    _socket: impl AsFd,
    _file: impl AsFd,
    _offset: u64,
    _len: u64,
) -> io::Result<usize> {
    Err(io::Error::from(nix::errno::Errno::ENOSYS))
}

/// Whether `error` from [`sendfile`] means "not for this file or socket" (some file systems, a
/// kernel without it), after which the bytes should go through user space instead.
pub fn is_unsupported(error: &io::Error) -> bool {
    use nix::errno::Errno;
    let unsupported = [Errno::EINVAL, Errno::ENOSYS, Errno::EOPNOTSUPP];
    error
        .raw_os_error()
        .is_some_and(|code| unsupported.iter().any(|errno| *errno as i32 == code))
}

// ANCHOR: copy_file
/// Sends up to `len` bytes of `file` from `offset` the plain way: `pread` up to [`COPY_CHUNK`]
/// bytes into `scratch`, then one `send` of what was read. Returns the count the socket took,
/// which may be less than what was read; the rest is read again on the next call, which costs a
/// `pread` of bytes already in the page cache and saves keeping them between calls.
pub fn copy_file(
    socket: impl AsFd,
    file: impl AsFd,
    offset: u64,
    len: u64,
    scratch: &mut Vec<u8>,
) -> io::Result<usize> {
    let want = clamp(len, COPY_CHUNK);
    if want == 0 {
        return Ok(0);
    }
    scratch.resize(want, 0);
    let read = read_region(file, offset, len, &mut scratch[..want])?;
    send(socket, &scratch[..read])
}
// ANCHOR_END: copy_file

// ANCHOR: read_region
/// Reads up to `len` bytes of `file` from `offset` into `buffer` (as many as fit) with one
/// `pread`, for a driver that must change the bytes before they leave: TLS encrypts them, so a
/// file cannot go from the page cache to the socket as with `sendfile`. Returns the count read;
/// a file that ends before the region does (it shrank since the response was made) is an error,
/// never a zero-length read a caller could loop on.
pub fn read_region(file: impl AsFd, offset: u64, len: u64, buffer: &mut [u8]) -> io::Result<usize> {
    let want = clamp(len, buffer.len());
    if want == 0 {
        return Ok(0);
    }
    let read = nix::sys::uio::pread(file.as_fd(), &mut buffer[..want], kernel_offset(offset)?)?;
    if read == 0 {
        return Err(RegionError::FileShrank { offset }.into());
    }
    Ok(read)
}
// ANCHOR_END: read_region

/// Performs one write of `transmit` the plain way, for drivers that copy files through user
/// space (stage 01, and stages 02 and 03 that run its driver): `send` for bytes, [`copy_file`]
/// for a file region. Returns the count to pass to `advance`.
///
/// `CloseWrite` is not a write: it returns `Ok(0)`, and the driver shuts the socket down itself.
pub fn write_plain(
    transmit: &Transmit<'_>,
    socket: impl AsFd,
    scratch: &mut Vec<u8>,
) -> io::Result<usize> {
    match *transmit {
        Transmit::Bytes(bytes) => send(socket, bytes),
        Transmit::File { file, offset, len } => copy_file(socket, file, offset, len, scratch),
        Transmit::CloseWrite => Ok(0),
    }
}

/// One `send(2)` of `bytes`, never raising SIGPIPE. Rust's runtime ignores SIGPIPE already, but a
/// library should not depend on how the program that links it set up its signals: with
/// `MSG_NOSIGNAL` a peer that went away is the error `EPIPE` whatever the signal's disposition.
pub(crate) fn send(socket: impl AsFd, bytes: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = nix::libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = 0;
    SockRef::from(&socket).send_with_flags(bytes, flags)
}

/// `offset` as the kernel's file offset type.
fn kernel_offset(offset: u64) -> Result<off_t, RegionError> {
    off_t::try_from(offset).map_err(|_| RegionError::OffsetTooLarge { offset })
}

/// `len`, but at most `cap`, as a `usize`.
fn clamp(len: u64, cap: usize) -> usize {
    usize::try_from(len).map_or(cap, |len| len.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::tcp_pair;
    use std::fs::File;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::path::PathBuf;

    /// A file with `len` known bytes in a directory of its own, removed on drop.
    struct TempFile {
        dir: PathBuf,
        path: PathBuf,
    }

    impl TempFile {
        fn new(name: &str, len: usize) -> TempFile {
            let dir =
                std::env::temp_dir().join(format!("driver-sendfile-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("creating a temporary directory");
            let path = dir.join("region.bin");
            std::fs::write(&path, pattern(len)).expect("writing the test file");
            TempFile { dir, path }
        }

        fn open(&self) -> File {
            File::open(&self.path).expect("opening the test file")
        }

        fn truncate(&self, len: u64) {
            let file = File::options()
                .write(true)
                .open(&self.path)
                .expect("opening the test file for writing");
            file.set_len(len).expect("truncating the test file");
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Bytes that differ by position, so an offset off by one shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|index| (index % 251) as u8).collect()
    }

    /// Sends the whole region with `send_one` (advancing by each count, as a driver does) and
    /// returns what the peer received.
    fn send_all(
        len: u64,
        mut send_one: impl FnMut(u64, u64) -> io::Result<usize>,
        peer: &mut impl Read,
    ) -> Vec<u8> {
        let mut offset = 0;
        let mut received = Vec::new();
        while offset < len {
            let sent = send_one(offset, len - offset).expect("sending a piece of the region");
            assert!(sent > 0, "a call that returns Ok sent something");
            offset += sent as u64;
            let mut piece = vec![0; sent];
            peer.read_exact(&mut piece)
                .expect("the peer receives the piece");
            received.extend_from_slice(&piece);
        }
        received
    }

    #[test]
    fn sendfile_sends_a_region_from_its_offset_over_tcp() {
        let file = TempFile::new("tcp", 300_000);
        let opened = file.open();
        let (server, mut client) = tcp_pair();
        let received = send_all(
            200_000,
            |offset, len| sendfile(&server, &opened, 1000 + offset, len),
            &mut client,
        );
        assert_eq!(received, pattern(300_000)[1000..201_000]);
    }

    #[test]
    fn copy_sends_the_same_bytes_in_chunks_over_a_socketpair() {
        let file = TempFile::new("copy", 150_000);
        let opened = file.open();
        let (server, mut client) = UnixStream::pair().expect("a socketpair");
        let mut scratch = Vec::new();
        let received = send_all(
            149_990,
            |offset, len| {
                let sent = copy_file(&server, &opened, 10 + offset, len, &mut scratch)?;
                assert!(sent <= COPY_CHUNK);
                Ok(sent)
            },
            &mut client,
        );
        assert_eq!(received, pattern(150_000)[10..]);
        assert!(
            scratch.capacity() <= 2 * COPY_CHUNK,
            "the scratch stays one chunk"
        );
    }

    #[test]
    fn a_file_shorter_than_its_region_is_an_error_not_a_zero() {
        let file = TempFile::new("short", 10_000);
        let opened = file.open();
        let (server, mut client) = tcp_pair();
        // The response promised 10 000 bytes; the file shrinks to 4 000 before they are sent.
        file.truncate(4_000);
        let first = sendfile(&server, &opened, 0, 10_000).expect("the bytes that exist go out");
        assert_eq!(first, 4_000, "a short count: the file ends here");
        let error = sendfile(&server, &opened, 4_000, 6_000).expect_err("nothing is left");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("truncated"), "{error}");

        let mut scratch = Vec::new();
        let error = copy_file(&server, &opened, 4_000, 6_000, &mut scratch)
            .expect_err("the copy sees the same end");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        let mut received = vec![0; 4_000];
        client
            .read_exact(&mut received)
            .expect("the 4 000 bytes arrive");
        assert_eq!(received, pattern(4_000));
    }

    #[test]
    fn a_full_send_buffer_is_would_block_not_an_error() {
        // More than a loopback connection buffers (a few MiB with autotuning at most).
        const LEN: u64 = 16 * 1024 * 1024;
        let file = TempFile::new("full", LEN as usize);
        let opened = file.open();
        let (server, _client) = tcp_pair();
        server.set_nonblocking(true).expect("a non-blocking socket");
        let mut offset = 0;
        // The client never reads: the buffers fill and the kernel says so.
        let error = loop {
            assert!(offset < LEN, "16 MiB went into a peer that reads nothing");
            match sendfile(&server, &opened, offset, LEN - offset) {
                Ok(sent) => offset += sent as u64,
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock, "{error}");
        assert!(!is_unsupported(&error));
    }

    #[test]
    fn send_file_falls_back_where_sendfile_is_refused() {
        let file = TempFile::new("fallback", 5000);
        let opened = file.open();
        // sendfile(2) refuses an output opened for appending with EINVAL, the same answer some
        // file systems give for their files. So a file in append mode stands in for a socket
        // the kernel will not sendfile to: the refusal is seen as "unsupported", the fallback
        // runs, and its `send` is what fails, because this descriptor is not a socket.
        let appending = File::options()
            .append(true)
            .open(&file.path)
            .expect("opening the test file to append");
        let error = sendfile(&appending, &opened, 0, 10).expect_err("sendfile refuses O_APPEND");
        assert!(is_unsupported(&error), "{error}");
        let mut scratch = Vec::new();
        let error = send_file(&appending, &opened, 0, 10, &mut scratch)
            .expect_err("the fallback's send needs a socket");
        assert_eq!(
            error.raw_os_error(),
            Some(nix::errno::Errno::ENOTSOCK as i32)
        );
        assert_eq!(
            scratch.len(),
            10,
            "the fallback read the region into the scratch"
        );

        // A real socket goes through whichever path the kernel allows, with the same bytes.
        let (server, mut client) = UnixStream::pair().expect("a socketpair");
        let received = send_all(
            5000,
            |offset, len| send_file(&server, &opened, offset, len, &mut scratch),
            &mut client,
        );
        assert_eq!(received, pattern(5000));
    }

    #[test]
    fn write_plain_writes_bytes_and_file_regions() {
        let file = TempFile::new("plain", 100);
        let opened = file.open();
        let (server, mut client) = UnixStream::pair().expect("a socketpair");
        let mut scratch = Vec::new();
        let bytes =
            write_plain(&Transmit::Bytes(b"head:"), &server, &mut scratch).expect("writing bytes");
        let region = Transmit::File {
            file: std::os::fd::AsFd::as_fd(&opened),
            offset: 90,
            len: 10,
        };
        let from_file = write_plain(&region, &server, &mut scratch).expect("writing the region");
        assert_eq!(
            write_plain(&Transmit::CloseWrite, &server, &mut scratch).expect("not a write"),
            0
        );
        assert_eq!((bytes, from_file), (5, 10));
        let mut received = vec![0; 15];
        client.read_exact(&mut received).expect("reading both");
        assert_eq!(&received[..5], b"head:");
        assert_eq!(&received[5..], &pattern(100)[90..]);
    }

    #[test]
    fn offsets_beyond_off_t_are_refused_before_any_call() {
        let file = TempFile::new("offset", 10);
        let opened = file.open();
        let (server, _client) = UnixStream::pair().expect("a socketpair");
        let error = sendfile(&server, &opened, u64::MAX, 1).expect_err("too far");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(!is_unsupported(&error), "no fallback for a bad offset");
    }
}
