//! Sending response bytes to a socket, telling the kernel when more output follows at once.
//!
//! A response to a file request is a head (bytes in memory) followed by the file (a region for
//! `sendfile`). Written one after the other, the head would leave alone in a TCP segment of its
//! own, and the file after it. `MSG_MORE` on the head's `send` tells the kernel that more follows
//! right away: the head waits in the socket, and the file's first bytes complete its segment.
//! nginx gets the same effect with `tcp_nopush` (`TCP_CORK`). The write that follows, without the
//! flag, pushes out what the flag held; so a driver sets it only when it is about to write again
//! (more output is queued behind these bytes), and never on the last write before it waits.
//!
//! For a small file the gain is a segment (one packet less, and on loopback one less delivery
//! into the client's socket inside the server's system call). For a large file it is much more,
//! measured on loopback with the 1 MiB `/big.bin`: with the head alone in its first segment, the
//! client's receive window stayed small (Linux's receive-buffer autotuning took its round-trip
//! sample from that tiny segment), so most of each file left later, paced by the client's
//! acknowledgements, while the server sat idle. With the head and the file sharing segments the
//! window grows normally and the whole file leaves inside the server's `sendfile` calls. The
//! stage 04 chapter has the measurement.

use std::io;
use std::os::fd::AsFd;

use nix::libc;
use socket2::SockRef;

// ANCHOR: send_bytes
/// Sends what the socket takes of `bytes` and returns the count. With `more_follows`, the
/// kernel holds a partial segment back for the write that comes next (`MSG_MORE`); pass it only
/// when the caller writes again at once. `MSG_NOSIGNAL`: a peer that went away is an `EPIPE`
/// error for this connection, not a `SIGPIPE` for the process.
pub fn send_bytes(socket: impl AsFd, bytes: &[u8], more_follows: bool) -> io::Result<usize> {
    let flags = if more_follows {
        libc::MSG_NOSIGNAL | libc::MSG_MORE
    } else {
        libc::MSG_NOSIGNAL
    };
    SockRef::from(&socket).send_with_flags(bytes, flags)
}
// ANCHOR_END: send_bytes

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::tests::tcp_pair;

    #[test]
    fn bytes_sent_with_more_following_arrive_with_the_next_write() {
        let (server, mut client) = tcp_pair();
        assert_eq!(send_bytes(&server, b"head:", true).expect("sending"), 5);
        assert_eq!(send_bytes(&server, b"body", false).expect("sending"), 4);
        let mut received = [0u8; 9];
        client.read_exact(&mut received).expect("reading");
        assert_eq!(&received, b"head:body");
    }

    #[test]
    fn a_peer_that_went_away_is_an_error_not_a_signal() {
        let (server, client) = tcp_pair();
        drop(client);
        // The first send may still be taken (the kernel learns of the close from the reset it
        // provokes); a later one must fail with EPIPE or a reset, and the test process lives on.
        let mut failed = false;
        for _ in 0..50 {
            if send_bytes(&server, &[0u8; 1024], false).is_err() {
                failed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(failed, "sending to a closed peer never failed");
    }
}
