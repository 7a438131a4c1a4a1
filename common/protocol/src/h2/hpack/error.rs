//! Why a header block could not be decoded (RFC 7541), and what HTTP/2 does about it.
//!
//! RFC 9113 section 4.3: "A decoding error in a field block MUST be treated as a connection
//! error (Section 5.4.1) of type COMPRESSION_ERROR." Every variant of [`DecodeError`] is such
//! a decoding error except one, [`DecodeError::ListTooLarge`]: that one is not a fault of the
//! compression at all (the block was decoded completely and the dynamic table is still in step
//! with the peer's encoder), only a field section larger than we said we accept. The connection
//! layer decides what to do with it (a 431 response, or RST_STREAM, or ENHANCE_YOUR_CALM when a
//! peer keeps doing it); [`DecodeError::connection_error`] draws the line in one place.

use std::fmt;

use crate::h2::error::{Error, Reason};

/// A header block that breaks RFC 7541, or a decoded field list over the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends in the middle of a representation: an integer with its continuation
    /// octets cut off, or a string shorter than its length says.
    Truncated,
    /// An integer whose value does not fit in 32 bits (section 5.1).
    IntegerOverflow,
    /// An integer with more continuation octets than a 32-bit value needs (section 5.1): a
    /// run of zero-valued octets that only wastes the decoder's time.
    IntegerTooLong,
    /// An indexed header field with index 0 (section 6.1).
    IndexZero,
    /// An index past the end of the static and dynamic tables together (section 2.3.3).
    IndexOutOfRange { index: usize, table_len: usize },
    /// A Huffman-coded string that contains the EOS symbol (section 5.2).
    HuffmanEos,
    /// A Huffman-coded string whose padding is longer than 7 bits (section 5.2).
    HuffmanPaddingTooLong,
    /// A Huffman-coded string whose padding is not a prefix of the EOS code, i.e. not all
    /// ones (section 5.2).
    HuffmanPaddingNotEos,
    /// A dynamic table size update above the limit our SETTINGS_HEADER_TABLE_SIZE allows
    /// (section 6.3).
    SizeUpdateTooLarge { size: usize, limit: usize },
    /// A dynamic table size update after a field representation in the same block
    /// (section 4.2).
    SizeUpdateNotAtStart,
    /// Our limit went down below the table's size and the block does not start with a size
    /// update to at most `limit` (section 4.2; RFC 9113 section 4.3.1).
    SizeUpdateMissing { limit: usize },
    /// The decoded fields add up (name + value + 32 each) to more than the caller's limit.
    /// The whole block was still decoded, so the dynamic table is in step and the decoder can
    /// go on with the next block; only this field section is refused.
    ListTooLarge { limit: usize },
    /// An earlier block failed to decode, so the dynamic table may no longer match the peer's:
    /// nothing this decoder produces can be trusted any more.
    EarlierFailure,
}

impl DecodeError {
    /// What HTTP/2 does about this error: a connection error of type COMPRESSION_ERROR, for
    /// every variant but [`DecodeError::ListTooLarge`], for which it is `None` because the
    /// connection is still sound and the caller chooses the answer.
    pub fn connection_error(&self) -> Option<Error> {
        match self {
            DecodeError::ListTooLarge { .. } => None,
            _ => Some(Error::connection(Reason::COMPRESSION_ERROR, self.why())),
        }
    }

    /// A short fixed sentence for logs and [`Error`]'s `why` (the numbers are in `Display`).
    pub fn why(&self) -> &'static str {
        use DecodeError::*;
        match self {
            Truncated => "HPACK: the header block ends inside a representation",
            IntegerOverflow => "HPACK: an integer does not fit in 32 bits",
            IntegerTooLong => "HPACK: an integer has too many continuation octets",
            IndexZero => "HPACK: index 0 in an indexed header field",
            IndexOutOfRange { .. } => "HPACK: an index past the end of the tables",
            HuffmanEos => "HPACK: a Huffman-coded string contains EOS",
            HuffmanPaddingTooLong => "HPACK: Huffman padding longer than 7 bits",
            HuffmanPaddingNotEos => "HPACK: Huffman padding is not a prefix of EOS",
            SizeUpdateTooLarge { .. } => {
                "HPACK: a table size update above SETTINGS_HEADER_TABLE_SIZE"
            }
            SizeUpdateNotAtStart => "HPACK: a table size update after the start of the block",
            SizeUpdateMissing { .. } => "HPACK: no table size update after our limit went down",
            ListTooLarge { .. } => "HPACK: the field section is larger than the limit",
            EarlierFailure => "HPACK: the decoder failed on an earlier block",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match self {
            IndexOutOfRange { index, table_len } => write!(
                f,
                "HPACK: index {index} is past the end of the tables ({table_len} entries)"
            ),
            SizeUpdateTooLarge { size, limit } => write!(
                f,
                "HPACK: a table size update to {size} is above our limit of {limit}"
            ),
            SizeUpdateMissing { limit } => write!(
                f,
                "HPACK: our table size limit went down to {limit}, but the block does not start \
                 with a size update to at most that"
            ),
            ListTooLarge { limit } => write!(
                f,
                "HPACK: the decoded fields are larger than the limit of {limit} bytes \
                 (name + value + 32 each)"
            ),
            _ => f.write_str(self.why()),
        }
    }
}

impl std::error::Error for DecodeError {}
