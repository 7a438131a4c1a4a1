//! The HPACK decoder: a header block in, the header fields out (RFC 7541 sections 3, 4 and 6).
//!
//! One [`Decoder`] per connection, fed every header block the peer sends, in the order it
//! sends them: the dynamic table carries state from one block to the next, so a block that is
//! skipped or decoded twice puts the two sides out of step for good. A block is decoded whole
//! (the connection layer joins a HEADERS frame and its CONTINUATION frames first), one
//! representation after the other, as section 3.2 says: "A decoder processes a header block
//! sequentially to reconstruct the original header list."
//!
//! Two limits keep a hostile peer's block from costing unbounded memory:
//!
//! - the dynamic table never holds more than the SETTINGS_HEADER_TABLE_SIZE we announced
//!   ([`Decoder::set_max_table_size`]);
//! - the decoded fields are counted as RFC 9113 counts SETTINGS_MAX_HEADER_LIST_SIZE ("the
//!   uncompressed size of field lines, including the length of the name and value in units of
//!   octets plus an overhead of 32 octets for each field line", section 6.5.2) while they are
//!   decoded, and none is kept once the total passes the caller's limit. That is the defence
//!   against the "HPACK bomb", a small block of one-octet references to a large table entry:
//!   references are reference-count clones of the entry, never copies, and past the limit they
//!   are dropped at once. The rest of the block is still decoded, so that the dynamic table
//!   stays in step and the connection can refuse the one request and go on.

use bytes::Bytes;

use super::error::DecodeError;
use super::table::{entry_size, Table};
use super::{huffman, integer};

/// A decoded header field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The name, as sent: HPACK does not check that it is lowercase or a token (RFC 9113
    /// section 8.2.1 does, and the connection layer checks it).
    pub name: Bytes,
    /// The value, as sent.
    pub value: Bytes,
    /// Sent as "never indexed" (section 6.2.3): a proxy that passes the field on must encode it
    /// the same way ("Intermediaries MUST use the same representation for encoding this header
    /// field").
    pub never_indexed: bool,
}

impl Field {
    /// A field that may be indexed.
    pub fn new(name: impl Into<Bytes>, value: impl Into<Bytes>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            never_indexed: false,
        }
    }

    /// Its size as RFC 7541 section 4.1 and SETTINGS_MAX_HEADER_LIST_SIZE count it:
    /// name + value + 32.
    pub fn size(&self) -> usize {
        entry_size(&self.name, &self.value)
    }
}

/// The decoding side of one connection's HPACK context.
///
/// The connection layer calls [`Decoder::decode`] for every complete header block, in order,
/// and [`Decoder::set_max_table_size`] each time the peer acknowledges a SETTINGS frame that
/// carried our SETTINGS_HEADER_TABLE_SIZE.
#[derive(Clone, Debug)]
pub struct Decoder {
    table: Table,
    /// The most the peer's encoder may make the table: our SETTINGS_HEADER_TABLE_SIZE, as
    /// acknowledged. Section 6.3: "In HTTP/2, this limit is the last value of the
    /// SETTINGS_HEADER_TABLE_SIZE parameter (see Section 6.5.2 of [HTTP2]) received from the
    /// decoder and acknowledged by the encoder."
    limit: usize,
    /// When our limit went below the table's maximum size since the last block: the smallest
    /// limit announced in that time, which the next block must start by going down to.
    required_update: Option<usize>,
    /// Where Huffman-coded strings are decoded before they are copied out at their exact size.
    scratch: Vec<u8>,
    /// A block failed: the table may be out of step with the peer's, so decoding stops here.
    failed: bool,
}

impl Decoder {
    /// A decoder whose table may grow to `max_table_size`, the SETTINGS_HEADER_TABLE_SIZE in
    /// force when the connection starts: 4096 ([`super::DEFAULT_TABLE_SIZE`]) in HTTP/2 until
    /// our own first SETTINGS is acknowledged.
    pub fn new(max_table_size: usize) -> Decoder {
        Decoder {
            table: Table::new(max_table_size),
            limit: max_table_size,
            required_update: None,
            scratch: Vec::new(),
            failed: false,
        }
    }

    /// Sets the limit on the table's size to `limit`: call it when the peer acknowledges a
    /// SETTINGS frame carrying SETTINGS_HEADER_TABLE_SIZE = `limit`, once per acknowledged
    /// frame and in order.
    ///
    /// Raising the limit only allows larger size updates. Lowering it below the size the peer's
    /// encoder uses obliges the encoder to say it has shrunk its table: RFC 9113 section 4.3.1,
    /// "An endpoint MUST treat a field block that follows an acknowledgment of the reduction to
    /// the maximum dynamic table size as a connection error (Section 5.4.1) of type
    /// COMPRESSION_ERROR if it does not start with a conformant Dynamic Table Size Update
    /// instruction." When the limit goes down and up again before the next block, the update
    /// must reach the lowest of them (RFC 7541 section 4.2: "the smallest maximum table size
    /// that occurs in that interval MUST be signaled in a dynamic table size update").
    pub fn set_max_table_size(&mut self, limit: usize) {
        self.limit = limit;
        if limit < self.table.max_size() {
            let smallest = self.required_update.map_or(limit, |known| known.min(limit));
            self.required_update = Some(smallest);
        }
    }

    /// The limit set by [`Decoder::new`] or [`Decoder::set_max_table_size`].
    pub fn max_table_size(&self) -> usize {
        self.limit
    }

    /// The static and dynamic tables, as the blocks decoded so far have left them.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Decodes one complete header block, appending its fields to `fields` in order.
    ///
    /// `max_list_size` bounds the decoded fields, name + value + 32 each (our
    /// SETTINGS_MAX_HEADER_LIST_SIZE, or any lower limit of our own). Past it the error is
    /// [`DecodeError::ListTooLarge`], after the whole block has been decoded so that the
    /// decoder stays usable. Every other error leaves the decoder failed: the dynamic table may
    /// no longer match the encoder's, and later calls return [`DecodeError::EarlierFailure`]
    /// (the connection must end with COMPRESSION_ERROR anyway). On any error `fields` is left
    /// as it was before the call.
    pub fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        fields: &mut Vec<Field>,
    ) -> Result<(), DecodeError> {
        if self.failed {
            return Err(DecodeError::EarlierFailure);
        }
        let kept = fields.len();
        let result = self.decode_block(block, max_list_size, fields);
        if self.scratch.capacity() > SCRATCH_KEPT {
            self.scratch = Vec::new();
        }
        if let Err(error) = result {
            fields.truncate(kept);
            if !matches!(error, DecodeError::ListTooLarge { .. }) {
                self.failed = true;
            }
        }
        result
    }

    // ANCHOR: decode_block
    fn decode_block(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        fields: &mut Vec<Field>,
    ) -> Result<(), DecodeError> {
        let mut input = block;
        let mut at_start = true;
        let mut required_update = self.required_update.take();
        let mut list = ListSize::new(max_list_size, fields.len());
        while let Some(&first) = input.first() {
            // The first bits of a representation say which one it is (section 6).
            let field = match first {
                // 1xxxxxxx: indexed header field (section 6.1).
                0x80..=0xff => {
                    let index = integer::decode(&mut input, 7)?;
                    let (name, value) = self.table.get(index)?;
                    Field::new(name, value)
                }
                // 01xxxxxx: literal header field with incremental indexing (section 6.2.1).
                0x40..=0x7f => {
                    let (name, value) = self.literal(&mut input, 6)?;
                    // Section 4.4 warns that the name may belong to an entry this insertion
                    // evicts; `name` is a handle of its own, so the eviction cannot free it.
                    self.table.insert(name.clone(), value.clone());
                    Field::new(name, value)
                }
                // 001xxxxx: dynamic table size update (section 6.3).
                0x20..=0x3f => {
                    self.size_update(&mut input, at_start, &mut required_update)?;
                    continue;
                }
                // 0001xxxx: literal header field never indexed (section 6.2.3).
                0x10..=0x1f => {
                    let (name, value) = self.literal(&mut input, 4)?;
                    Field {
                        name,
                        value,
                        never_indexed: true,
                    }
                }
                // 0000xxxx: literal header field without indexing (section 6.2.2).
                0x00..=0x0f => {
                    let (name, value) = self.literal(&mut input, 4)?;
                    Field::new(name, value)
                }
            };
            if let Some(limit) = required_update {
                return Err(DecodeError::SizeUpdateMissing { limit });
            }
            at_start = false;
            list.add(field, fields);
        }
        // A block with no field at all must still carry the update.
        if let Some(limit) = required_update {
            return Err(DecodeError::SizeUpdateMissing { limit });
        }
        list.result()
    }
    // ANCHOR_END: decode_block

    /// Reads a dynamic table size update and applies it.
    fn size_update(
        &mut self,
        input: &mut &[u8],
        at_start: bool,
        required_update: &mut Option<usize>,
    ) -> Result<(), DecodeError> {
        // Section 4.2: "This dynamic table size update MUST occur at the beginning of the first
        // header block following the change to the dynamic table size."
        if !at_start {
            return Err(DecodeError::SizeUpdateNotAtStart);
        }
        let size = integer::decode(input, 5)?;
        // Section 6.3: "The new maximum size MUST be lower than or equal to the limit
        // determined by the protocol using HPACK. A value that exceeds this limit MUST be
        // treated as a decoding error."
        if size > self.limit {
            return Err(DecodeError::SizeUpdateTooLarge {
                size,
                limit: self.limit,
            });
        }
        if required_update.is_some_and(|required| size <= required) {
            *required_update = None;
        }
        self.table.set_max_size(size);
        Ok(())
    }

    /// Reads the name (an index, or a string when the index is 0) and the value of a literal
    /// representation whose index has a `prefix_bits`-bit prefix (section 6.2).
    fn literal(
        &mut self,
        input: &mut &[u8],
        prefix_bits: u8,
    ) -> Result<(Bytes, Bytes), DecodeError> {
        let index = integer::decode(input, prefix_bits)?;
        let name = if index == 0 {
            self.string(input)?
        } else {
            self.table.get(index)?.0
        };
        let value = self.string(input)?;
        Ok((name, value))
    }

    /// Reads a string literal (section 5.2): an H bit, a 7-bit-prefix length, the octets.
    fn string(&mut self, input: &mut &[u8]) -> Result<Bytes, DecodeError> {
        let huffman_coded = input.first().is_some_and(|&first| first & 0x80 != 0);
        let length = integer::decode(input, 7)?;
        // Checked before anything is allocated: a length cannot make the decoder reserve more
        // than the block it came in.
        let (octets, rest) = input
            .split_at_checked(length)
            .ok_or(DecodeError::Truncated)?;
        *input = rest;
        if !huffman_coded {
            return Ok(Bytes::copy_from_slice(octets));
        }
        self.scratch.clear();
        huffman::decode(octets, &mut self.scratch)?;
        Ok(Bytes::copy_from_slice(&self.scratch))
    }
}

/// Decodes arbitrary input as a run of blocks, for a fuzz target (common/fuzz) and the
/// proptests: the first octet says where the first block ends. Checks that the decoder never
/// panics, and that it keeps to its limits whatever the input.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (first, second) = rest.split_at(usize::from(split).min(rest.len()));
    let mut decoder = Decoder::new(256);
    let mut fields = Vec::new();
    for block in [first, second] {
        let before = fields.len();
        match decoder.decode(block, 1024, &mut fields) {
            Ok(()) => {
                let size: usize = fields.iter().skip(before).map(Field::size).sum();
                assert!(size <= 1024, "kept {size} bytes of fields past the limit");
            }
            Err(_) => assert_eq!(fields.len(), before, "fields kept after an error"),
        }
        assert!(decoder.table().size() <= decoder.table().max_size());
        assert!(decoder.table().max_size() <= 256);
    }
}

/// The scratch buffer is given back after a block that made it larger than this.
const SCRATCH_KEPT: usize = 4096;

/// The running size of a block's decoded fields, against the caller's limit.
struct ListSize {
    size: usize,
    limit: usize,
    /// `fields.len()` before the block: what to cut back to when the limit is passed.
    kept: usize,
    exceeded: bool,
}

impl ListSize {
    fn new(limit: usize, kept: usize) -> ListSize {
        ListSize {
            size: 0,
            limit,
            kept,
            exceeded: false,
        }
    }

    /// Counts `field` and keeps it in `fields`, unless the limit is passed: from then on the
    /// fields of this block are dropped as soon as they are decoded, so memory stays bounded by
    /// the limit whatever the block expands to.
    fn add(&mut self, field: Field, fields: &mut Vec<Field>) {
        self.size = self.size.saturating_add(field.size());
        if self.size > self.limit {
            if !self.exceeded {
                self.exceeded = true;
                fields.truncate(self.kept);
            }
            return;
        }
        fields.push(field);
    }

    fn result(&self) -> Result<(), DecodeError> {
        if self.exceeded {
            return Err(DecodeError::ListTooLarge { limit: self.limit });
        }
        Ok(())
    }
}

/// Also used by the encoder's tests, for the Appendix C examples.
#[cfg(test)]
pub(crate) mod tests;
