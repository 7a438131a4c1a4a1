//! The record layer (RFC 8446 section 5.1): a ClientHello comes in one or more handshake
//! records, each a five-byte header and a fragment of at most 2^14 bytes; the fragments, put
//! end to end, hold the handshake message. [`records`] checks each header and puts the message
//! back together, and says where each fragment came from, so that every field can be shown at
//! its offset in the capture (see [`Reader`](super::reader::Reader)).

use super::Error;

/// The largest fragment a plaintext record may carry (RFC 8446 section 5.1).
const MAX_FRAGMENT: usize = 1 << 14;

/// Record content type of handshake messages.
pub(super) const HANDSHAKE: u8 = 0x16;

// ANCHOR: records
/// The handshake message put together from the records, where each fragment came from
/// (offset in the message, offset of its record header in the capture, length), and the end
/// of the last record needed.
pub(super) type Records = (Vec<u8>, Vec<(usize, usize, usize)>, usize);

pub(super) fn records(capture: &[u8]) -> Result<Records, Error> {
    let mut message = Vec::new();
    let mut segments = Vec::new();
    let mut at = 0;
    loop {
        if capture.len() < at + 5 {
            return Err(Error::Truncated {
                field: "a record header",
                at,
            });
        }
        if capture[at] != HANDSHAKE {
            return Err(Error::NotHandshake {
                content_type: capture[at],
                at,
            });
        }
        let len = usize::from(read_u16(capture, at + 3));
        if len > MAX_FRAGMENT {
            return Err(Error::RecordTooLong { length: len, at });
        }
        let fragment = capture.get(at + 5..at + 5 + len).ok_or(Error::Truncated {
            field: "a record",
            at,
        })?;
        segments.push((message.len(), at, len));
        message.extend_from_slice(fragment);
        at += 5 + len;
        if message.len() >= 4 {
            let body = usize::from(message[1]) << 16 | usize::from(read_u16(&message, 2));
            if message.len() >= 4 + body {
                return Ok((message, segments, at));
            }
        }
    }
}
// ANCHOR_END: records

/// Big-endian `u16` at `at`; the caller has checked the length.
pub(super) fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}
