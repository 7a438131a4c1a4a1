//! Sending response bytes to a socket, telling the kernel when more output follows at once.
//!
//! A response to a file request is a head (bytes in memory) followed by the file (a region for
//! `sendfile`). Written one after the other, the head would leave alone in a TCP segment of its
//! own, and the file after it. `MSG_MORE` on the head's `send` tells the kernel that more follows
//! right away: the head waits in the socket, and the file's first bytes complete its segment.
//! nginx gets the same effect with `tcp_nopush` (`TCP_CORK`). The write that follows, without the
//! flag, pushes out what the flag held; so a driver sets it only when it is about to write again,
//! never on the last write before it waits.
//!
//! [`coalesce`] is the one rule both evented stages follow for when to set it, measured on
//! loopback: for a small file behind the head it saves a segment, and on loopback each segment is
//! also delivered to the client's socket inside the server's system call, so the server saves
//! that work too. For a large file it does not pay here: with the head in the file's first
//! segment, the client's receive window grows to megabytes and the whole file leaves inside the
//! server's `sendfile`, where with the head alone most of the file leaves later, sent from the
//! client's acknowledgements on the client's core. The work moves rather than shrinks, and
//! crossing cores makes it dearer: at 10 and 16 connections the rate fell by 14 to 32 % (stage
//! 04's chapter, "Where a large file's time goes", has the measurement). On a real network the
//! client's autotuning sees a real round trip and neither effect carries over.

use std::io;
use std::os::fd::AsFd;

use nix::libc;
use socket2::SockRef;

// ANCHOR: coalesce
/// Output behind a write up to which the write is sent with `MSG_MORE`: a small file's region,
/// or the next pipelined response. Beyond it (a large file) the flag moves work to the server
/// without saving any on loopback (see the module documentation).
pub const COALESCE_BELOW: u64 = 64 * 1024;

/// Whether a write with `behind` bytes of output queued after it should carry `MSG_MORE`:
/// something follows at once, and little enough that holding a partial segment for it pays.
pub fn coalesce(behind: u64) -> bool {
    (1..=COALESCE_BELOW).contains(&behind)
}
// ANCHOR_END: coalesce

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
    fn only_a_little_output_behind_a_write_is_worth_holding_a_segment_for() {
        assert!(!coalesce(0), "nothing follows: the last write must push");
        assert!(coalesce(1));
        assert!(coalesce(COALESCE_BELOW));
        assert!(!coalesce(COALESCE_BELOW + 1), "a large file goes without");
    }

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
