//! HPACK, the header compression of HTTP/2 (RFC 7541), written from the RFC.
//!
//! A header block is a sequence of *representations*, each telling the decoder to emit a field
//! and maybe to add it to the dynamic table. Both ends keep the same two tables: the static
//! table of 61 common fields (Appendix A) and a dynamic table of recent ones, bounded in size
//! by the decoder's SETTINGS_HEADER_TABLE_SIZE. The modules, from the bits up:
//!
//! - [`integer`]: prefix-coded integers (section 5.1);
//! - [`huffman`]: the static Huffman code for string literals (section 5.2, Appendix B);
//! - [`table`]: the static and dynamic tables and their index space (sections 2.3 and 4);
//! - [`decoder`]: [`Decoder`], one header block in, [`Field`]s out (sections 3 and 6);
//! - [`encoder`]: [`Encoder`], fields in, one header block out;
//! - [`error`]: [`DecodeError`], and which errors end the connection.
//!
//! # The representations (section 6)
//!
//! The first bits of a representation say which one it is; then come integers with a prefix of
//! the remaining bits (`N+` below is an integer with an `N`-bit prefix, section 5.1) and string
//! literals. Each box is one octet unless it says otherwise.
//!
//! ```text
//!   Indexed header field (6.1): the field at Index, index 0 being an error.
//!     0   1   2   3   4   5   6   7
//!   +---+---+---+---+---+---+---+---+
//!   | 1 |        Index (7+)         |
//!   +---+---------------------------+
//!
//!   Literal header field (6.2): the name by index, or (Index = 0) as a string, then the value.
//!     0   1   2   3   4   5   6   7
//!   +---+---+---+---+---+---+---+---+
//!   | 0 | 1 |      Index (6+)       |   with incremental indexing (6.2.1): added to the table
//!   +---+---+---+---+---------------+
//!   | 0 | 0 | 0 | 0 |  Index (4+)   |   without indexing (6.2.2): not added
//!   +---+---+---+---+---------------+
//!   | 0 | 0 | 0 | 1 |  Index (4+)   |   never indexed (6.2.3): not added, here or by any proxy
//!   +---+---+---+---+---------------+
//!   | H |     Name Length (7+)      |   } only when Index = 0
//!   +---+---------------------------+   }
//!   |  Name String (Length octets)  |   }
//!   +---+---------------------------+
//!   | H |     Value Length (7+)     |
//!   +---+---------------------------+
//!   | Value String (Length octets)  |
//!   +-------------------------------+
//!
//!   Dynamic table size update (6.3): only at the start of a block.
//!     0   1   2   3   4   5   6   7
//!   +---+---+---+---+---+---+---+---+
//!   | 0 | 0 | 1 |   Max size (5+)   |
//!   +---+---+---+-------------------+
//! ```
//!
//! `H` says whether the string is Huffman-coded (1) or raw octets (0).
//!
//! # What the connection layer must do
//!
//! HPACK keeps state across blocks, so the rules that tie it to HTTP/2 belong to the caller:
//!
//! - decode every header block of the connection, in order, with one [`Decoder`], even blocks
//!   of streams it is going to refuse or reset. RFC 9113 section 4.3.1: "Field compression is
//!   stateful. Each endpoint has an HPACK encoder context and an HPACK decoder context that
//!   are used for encoding and decoding all field blocks on a connection." And section 4.3: "A
//!   receiver MUST terminate the connection with a connection error (Section 5.4.1) of type
//!   COMPRESSION_ERROR if it does not decompress a field block." Join a HEADERS or
//!   PUSH_PROMISE frame with its CONTINUATION frames (bounded in total) before decoding: "A
//!   receiving endpoint reassembles the field block by concatenating its fragments and then
//!   decompresses the block to reconstruct the field section.";
//! - map every [`DecodeError`] but [`DecodeError::ListTooLarge`] to a connection error of type
//!   COMPRESSION_ERROR ([`DecodeError::connection_error`]); answer `ListTooLarge` itself (431,
//!   or RST_STREAM; the decoder is still usable);
//! - call [`Decoder::set_max_table_size`] when the peer acknowledges our
//!   SETTINGS_HEADER_TABLE_SIZE, and [`Encoder::set_peer_max_table_size`] when it processes
//!   the peer's and queues the ACK, keeping the ACK between the blocks encoded before and after
//!   the call;
//! - send each encoded block whole and in the order encoded (no other frame between a HEADERS
//!   and its CONTINUATIONs);
//! - check what HPACK does not: lowercase field names, pseudo-header rules, forbidden
//!   connection-specific fields (RFC 9113 section 8.2), all stream errors.

pub mod decoder;
pub mod encoder;
pub mod error;
pub mod huffman;
pub mod integer;
pub mod table;

pub use decoder::{Decoder, Field};
pub use encoder::{Encoder, Huffman};
pub use error::DecodeError;
pub use table::{Table, ENTRY_OVERHEAD, STATIC_TABLE};

/// The initial SETTINGS_HEADER_TABLE_SIZE of HTTP/2 (RFC 9113 section 6.5.2): the table size
/// both sides assume until the decoder's side says otherwise.
pub const DEFAULT_TABLE_SIZE: usize = 4096;

#[cfg(test)]
mod tests;
