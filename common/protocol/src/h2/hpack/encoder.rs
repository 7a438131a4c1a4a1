//! The HPACK encoder: header fields in, a header block out (RFC 7541 sections 4, 6 and 7).
//!
//! One [`Encoder`] per connection, for every header block we send, sent in the order they were
//! encoded. The decisions a decoder cannot see, and the ones made here:
//!
//! - **Which fields to index.** A field found whole in the static or dynamic table is sent as
//!   its index. Any other field is added to the dynamic table (a literal with incremental
//!   indexing), so that it is one octet the next time, except:
//!   - *sensitive* fields, sent as "never indexed" (section 6.2.3) so that neither we nor any
//!     proxy after us puts them in a table, where a peer who can add guesses to the same
//!     connection could confirm a value by the size of its own requests (section 7.1):
//!     `authorization`, `proxy-authorization`, `set-cookie`, and `cookie` values shorter than
//!     20 octets (a long cookie is too random to guess whole, and HPACK only ever matches
//!     whole values; section 7.1.3 names Cookie and Authorization as the examples); also any
//!     [`Field`] whose `never_indexed` is set, as section 6.2.3 asks of intermediaries;
//!   - fields whose values rarely come back soon (`:path`, `content-length`, `etag`,
//!     `last-modified`, the conditional request fields, ...), sent without indexing, so they
//!     do not push out entries that do repeat;
//!   - fields larger than three quarters of the table, which would empty it for one entry.
//! - **Huffman or not.** By default a string is Huffman-coded when that is strictly shorter
//!   ([`Huffman::WhenShorter`]).
//! - **How big a table.** At most what the peer allows (its SETTINGS_HEADER_TABLE_SIZE) and at
//!   most our own cap, 4096 by default: section 4.2, "An encoder can choose to use less
//!   capacity than this maximum size". The table is searched linearly, and at 4096 octets it
//!   holds at most 128 entries, so a peer announcing a huge table cannot make encoding slow.
//!
//! When the size changes between two blocks, the next block starts with the size update(s)
//! section 4.2 asks for: the smallest size since the last block, then the final one.

use bytes::Bytes;

use super::decoder::Field;
use super::table::{entry_size, Found, Table};
use super::{huffman, integer, DEFAULT_TABLE_SIZE};

/// When the encoder Huffman-codes a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Huffman {
    /// When the coded string is strictly shorter than the raw one.
    #[default]
    WhenShorter,
    /// Never (as in RFC 7541 Appendix C.3 and C.5).
    Never,
    /// Always, even when longer.
    Always,
}

/// The encoding side of one connection's HPACK context.
#[derive(Clone, Debug)]
pub struct Encoder {
    table: Table,
    /// Our own cap on the table size.
    own_max: usize,
    /// The peer's SETTINGS_HEADER_TABLE_SIZE.
    peer_limit: usize,
    /// The smallest size the table should have had since the last block, when the size has
    /// changed since then: the next block must start by announcing it.
    smallest_pending: Option<usize>,
    huffman: Huffman,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new()
    }
}

impl Encoder {
    /// An encoder with HTTP/2's initial table size of 4096 and our default cap of 4096.
    pub fn new() -> Encoder {
        Encoder::with_max_table_size(DEFAULT_TABLE_SIZE)
    }

    /// An encoder that never makes its table larger than `own_max`, whatever the peer allows.
    ///
    /// Every field not found whole is looked for in the dynamic table entry by entry, so a
    /// larger cap buys compression at the price of time per field: at least 32 octets per
    /// entry means at most `own_max / 32` entries to compare.
    pub fn with_max_table_size(own_max: usize) -> Encoder {
        // Both sides start from the initial SETTINGS_HEADER_TABLE_SIZE; a cap below it is
        // announced in the first block.
        let mut encoder = Encoder {
            table: Table::new(DEFAULT_TABLE_SIZE),
            own_max,
            peer_limit: DEFAULT_TABLE_SIZE,
            smallest_pending: None,
            huffman: Huffman::default(),
        };
        encoder.note_size_change();
        encoder
    }

    /// Takes the peer's SETTINGS_HEADER_TABLE_SIZE: call it when processing the peer's SETTINGS
    /// frame, at the point where the ACK is queued. The change is announced at the start of the
    /// next block encoded, and the peer's decoder expects it in the first block after the ACK,
    /// so the ACK must go out after every block encoded before this call and before every
    /// block encoded after it (one output queue in encoding order does that).
    pub fn set_peer_max_table_size(&mut self, limit: usize) {
        self.peer_limit = limit;
        self.note_size_change();
    }

    /// Changes our own cap on the table size (announced at the start of the next block).
    pub fn set_max_table_size(&mut self, own_max: usize) {
        self.own_max = own_max;
        self.note_size_change();
    }

    /// Chooses when strings are Huffman-coded.
    pub fn set_huffman(&mut self, huffman: Huffman) {
        self.huffman = huffman;
    }

    /// The dynamic table as the blocks encoded so far have left it (the peer's decoder holds
    /// the same entries once it has decoded them).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Encodes one header block carrying `fields`, in order, appending it to `out`.
    ///
    /// The block must be sent whole, as one HEADERS (or PUSH_PROMISE) frame and its
    /// CONTINUATION frames, and blocks must be sent in the order they were encoded.
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        out: &mut Vec<u8>,
    ) {
        self.start_block(out);
        for (name, value) in fields {
            self.field(name, value, false, out);
        }
    }

    /// [`Encoder::encode`] for decoded fields: a field that arrived "never indexed" is sent
    /// the same way (section 6.2.3), as a proxy must.
    pub fn encode_fields<'a>(
        &mut self,
        fields: impl IntoIterator<Item = &'a Field>,
        out: &mut Vec<u8>,
    ) {
        self.start_block(out);
        for field in fields {
            self.field(&field.name, &field.value, field.never_indexed, out);
        }
    }

    /// The size the table should have now.
    fn target_size(&self) -> usize {
        self.own_max.min(self.peer_limit)
    }

    /// Records a change of [`Encoder::target_size`] for the next block.
    fn note_size_change(&mut self) {
        let target = self.target_size();
        if target != self.table.max_size() || self.smallest_pending.is_some() {
            let smallest = self
                .smallest_pending
                .map_or(target, |known| known.min(target));
            self.smallest_pending = Some(smallest);
        }
    }

    // ANCHOR: start_block
    /// Emits the size updates the block must start with, if the size changed.
    fn start_block(&mut self, out: &mut Vec<u8>) {
        let Some(smallest) = self.smallest_pending.take() else {
            return;
        };
        // Section 4.2: "In the case that this size is changed more than once in this
        // interval, the smallest maximum table size that occurs in that interval MUST be
        // signaled in a dynamic table size update. The final maximum size is always signaled,
        // resulting in at most two dynamic table size updates."
        let last = self.target_size();
        if smallest < last {
            integer::encode(smallest, 5, 0x20, out);
            self.table.set_max_size(smallest);
        }
        integer::encode(last, 5, 0x20, out);
        self.table.set_max_size(last);
    }
    // ANCHOR_END: start_block

    /// Encodes one field, choosing its representation.
    fn field(&mut self, name: &[u8], value: &[u8], never_indexed: bool, out: &mut Vec<u8>) {
        let found = self.table.find(name, value);
        if never_indexed || is_sensitive(name, value) {
            let name_index = match found {
                Found::Field(index) | Found::Name(index) => index,
                Found::Nothing => 0,
            };
            self.literal(0x10, 4, name_index, name, value, out);
            return;
        }
        let name_index = match found {
            Found::Field(index) => {
                integer::encode(index, 7, 0x80, out);
                return;
            }
            Found::Name(index) => index,
            Found::Nothing => 0,
        };
        if self.worth_indexing(name, value) {
            self.literal(0x40, 6, name_index, name, value, out);
            self.table
                .insert(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        } else {
            self.literal(0x00, 4, name_index, name, value, out);
        }
    }

    /// Whether a field not found in the tables should be added to the dynamic table.
    fn worth_indexing(&self, name: &[u8], value: &[u8]) -> bool {
        let size = entry_size(name, value);
        let room = self.table.max_size() / 4 * 3;
        size <= room && !rarely_repeats(name)
    }

    /// A literal representation: `pattern` with a `prefix_bits`-bit name index (0 for a new
    /// name, which then follows as a string), and the value.
    fn literal(
        &self,
        pattern: u8,
        prefix_bits: u8,
        name_index: usize,
        name: &[u8],
        value: &[u8],
        out: &mut Vec<u8>,
    ) {
        integer::encode(name_index, prefix_bits, pattern, out);
        if name_index == 0 {
            self.string(name, out);
        }
        self.string(value, out);
    }

    /// A string literal (section 5.2), Huffman-coded as [`Encoder::set_huffman`] chose.
    fn string(&self, bytes: &[u8], out: &mut Vec<u8>) {
        let coded_len = match self.huffman {
            Huffman::Never => None,
            Huffman::Always => Some(huffman::encoded_len(bytes)),
            Huffman::WhenShorter => {
                Some(huffman::encoded_len(bytes)).filter(|&coded| coded < bytes.len())
            }
        };
        match coded_len {
            Some(coded_len) => {
                integer::encode(coded_len, 7, 0x80, out);
                huffman::encode(bytes, out);
            }
            None => {
                integer::encode(bytes.len(), 7, 0x00, out);
                out.extend_from_slice(bytes);
            }
        }
    }
}

/// Fields sent "never indexed" whatever the caller says (see the module documentation).
fn is_sensitive(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" | b"set-cookie" => true,
        b"cookie" => value.len() < 20,
        _ => false,
    }
}

/// Fields whose values name one resource or one moment: sent without indexing.
fn rarely_repeats(name: &[u8]) -> bool {
    matches!(
        name,
        b":path"
            | b"age"
            | b"content-length"
            | b"content-range"
            | b"etag"
            | b"if-modified-since"
            | b"if-none-match"
            | b"if-range"
            | b"if-unmodified-since"
            | b"last-modified"
            | b"range"
    )
}

#[cfg(test)]
mod tests;
