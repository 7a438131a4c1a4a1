//! The static table (RFC 7541 Appendix A), the dynamic table (section 4) and the index address
//! space that joins them (section 2.3.3).
//!
//! ```text
//!   <----------  Index Address Space ---------->
//!   <-- Static  Table -->  <-- Dynamic Table -->
//!   +---+-----------+---+  +---+-----------+---+
//!   | 1 |    ...    | s |  |s+1|    ...    |s+k|
//!   +---+-----------+---+  +---+-----------+---+
//!                          ^                   |
//!                          |                   V
//!                   Insertion Point      Dropping Point
//! ```
//!
//! The dynamic table is first-in, first-out: a new entry gets index 62 and pushes the others
//! one index up; the oldest leave from the end when the table would grow past its maximum
//! size. Sizes are counted as section 4.1 counts them, not in bytes of memory: "The size of an
//! entry is the sum of its name's length in octets (as defined in Section 5.2), its value's
//! length in octets, and 32." Entries are [`Bytes`], so handing a field out of the table to
//! the application is a reference-count increment, never a copy.

use std::collections::VecDeque;

use bytes::Bytes;

use super::error::DecodeError;

/// The per-entry overhead of section 4.1, added to the name and value lengths.
pub const ENTRY_OVERHEAD: usize = 32;

/// The number of entries in the static table; dynamic indexes start after it.
pub const STATIC_LEN: usize = 61;

// ANCHOR: static_table
/// The static table, RFC 7541 Appendix A: `STATIC_TABLE[i - 1]` is the entry of index `i`.
pub static STATIC_TABLE: [(&[u8], &[u8]); STATIC_LEN] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];
// ANCHOR_END: static_table

/// The size of an entry as section 4.1 defines it.
pub fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len()
        .saturating_add(value.len())
        .saturating_add(ENTRY_OVERHEAD)
}

/// Where a field was found by [`Table::find`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// An entry with this name and this value: the field is one index.
    Field(usize),
    /// An entry with this name (but another value): the name is one index.
    Name(usize),
    /// Neither.
    Nothing,
}

/// The static table and one dynamic table, addressed as one index space.
#[derive(Clone, Debug)]
pub struct Table {
    /// Newest first: `entries[0]` has index `STATIC_LEN + 1`.
    entries: VecDeque<(Bytes, Bytes)>,
    /// The sum of [`entry_size`] over `entries`.
    size: usize,
    /// The most `size` may be, as the last size update (or the start) set it.
    max_size: usize,
}

impl Table {
    /// An empty dynamic table whose size may reach `max_size`.
    pub fn new(max_size: usize) -> Table {
        Table {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// The entry at `index` of the joint address space (section 2.3.3): 1 to 61 in the static
    /// table, from 62 in the dynamic one, newest first.
    pub fn get(&self, index: usize) -> Result<(Bytes, Bytes), DecodeError> {
        if index == 0 {
            // Section 6.1: "The index value of 0 is not used. It MUST be treated as a decoding
            // error if found in an indexed header field representation."
            return Err(DecodeError::IndexZero);
        }
        if let Some(&(name, value)) = STATIC_TABLE.get(index - 1) {
            return Ok((Bytes::from_static(name), Bytes::from_static(value)));
        }
        // Section 2.3.3: "Indices strictly greater than the sum of the lengths of both tables
        // MUST be treated as a decoding error."
        self.entries
            .get(index - 1 - STATIC_LEN)
            .map(|(name, value)| (name.clone(), value.clone()))
            .ok_or(DecodeError::IndexOutOfRange {
                index,
                table_len: STATIC_LEN + self.entries.len(),
            })
    }

    // ANCHOR: table_insert
    /// Adds an entry at the front of the dynamic table, evicting from the back to make room
    /// (section 4.4).
    pub fn insert(&mut self, name: Bytes, value: Bytes) {
        let size = entry_size(&name, &value);
        // "Before a new entry is added to the dynamic table, entries are evicted from the end
        // of the dynamic table until the size of the dynamic table is less than or equal to
        // (maximum size - new entry size) or until the table is empty."
        self.evict_down_to(self.max_size.saturating_sub(size));
        // "If the size of the new entry is less than or equal to the maximum size, that entry
        // is added to the table. It is not an error to attempt to add an entry that is larger
        // than the maximum size; an attempt to add an entry larger than the maximum size causes
        // the table to be emptied of all existing entries and results in an empty table."
        if size <= self.max_size {
            self.size += size;
            self.entries.push_front((name, value));
        } else {
            self.evict_down_to(0);
        }
    }
    // ANCHOR_END: table_insert

    /// Changes the maximum size (a size update, section 6.3), evicting what no longer fits.
    pub fn set_max_size(&mut self, max_size: usize) {
        // Section 4.3: "Whenever the maximum size for the dynamic table is reduced, entries are
        // evicted from the end of the dynamic table until the size of the dynamic table is less
        // than or equal to the maximum size."
        self.max_size = max_size;
        self.evict_down_to(max_size);
    }

    /// Finds `name: value` in the static table, then the dynamic one: the whole field if
    /// possible, else the name (preferring the static table, whose indexes never move).
    pub fn find(&self, name: &[u8], value: &[u8]) -> Found {
        let mut name_index = None;
        if let Some(range) = static_name_range(name) {
            for index in range.clone() {
                if STATIC_TABLE
                    .get(index - 1)
                    .is_some_and(|entry| entry.1 == value)
                {
                    return Found::Field(index);
                }
            }
            name_index = Some(range.start);
        }
        for (position, (entry_name, entry_value)) in self.entries.iter().enumerate() {
            if entry_name.as_ref() == name {
                let index = STATIC_LEN + 1 + position;
                if entry_value.as_ref() == value {
                    return Found::Field(index);
                }
                if name_index.is_none() {
                    name_index = Some(index);
                }
            }
        }
        match name_index {
            Some(index) => Found::Name(index),
            None => Found::Nothing,
        }
    }

    /// The sum of the entry sizes (section 4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The maximum size in force.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The number of entries in the dynamic table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dynamic table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The dynamic entries, newest (index 62) first.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    }

    /// Drops the oldest entries until the size is at most `size`.
    fn evict_down_to(&mut self, size: usize) {
        while self.size > size {
            match self.entries.pop_back() {
                Some((name, value)) => self.size -= entry_size(&name, &value),
                None => {
                    // Unreachable while `size` sums the entries; recover rather than loop.
                    self.size = 0;
                }
            }
        }
    }
}

/// The indexes (`first..end`) of the static entries named `name`, for the encoder's search.
/// The test `static_name_ranges_match_the_table` checks this against [`STATIC_TABLE`].
fn static_name_range(name: &[u8]) -> Option<std::ops::Range<usize>> {
    let (first, count) = match name {
        b":authority" => (1, 1),
        b":method" => (2, 2),
        b":path" => (4, 2),
        b":scheme" => (6, 2),
        b":status" => (8, 7),
        b"accept-charset" => (15, 1),
        b"accept-encoding" => (16, 1),
        b"accept-language" => (17, 1),
        b"accept-ranges" => (18, 1),
        b"accept" => (19, 1),
        b"access-control-allow-origin" => (20, 1),
        b"age" => (21, 1),
        b"allow" => (22, 1),
        b"authorization" => (23, 1),
        b"cache-control" => (24, 1),
        b"content-disposition" => (25, 1),
        b"content-encoding" => (26, 1),
        b"content-language" => (27, 1),
        b"content-length" => (28, 1),
        b"content-location" => (29, 1),
        b"content-range" => (30, 1),
        b"content-type" => (31, 1),
        b"cookie" => (32, 1),
        b"date" => (33, 1),
        b"etag" => (34, 1),
        b"expect" => (35, 1),
        b"expires" => (36, 1),
        b"from" => (37, 1),
        b"host" => (38, 1),
        b"if-match" => (39, 1),
        b"if-modified-since" => (40, 1),
        b"if-none-match" => (41, 1),
        b"if-range" => (42, 1),
        b"if-unmodified-since" => (43, 1),
        b"last-modified" => (44, 1),
        b"link" => (45, 1),
        b"location" => (46, 1),
        b"max-forwards" => (47, 1),
        b"proxy-authenticate" => (48, 1),
        b"proxy-authorization" => (49, 1),
        b"range" => (50, 1),
        b"referer" => (51, 1),
        b"refresh" => (52, 1),
        b"retry-after" => (53, 1),
        b"server" => (54, 1),
        b"set-cookie" => (55, 1),
        b"strict-transport-security" => (56, 1),
        b"transfer-encoding" => (57, 1),
        b"user-agent" => (58, 1),
        b"vary" => (59, 1),
        b"via" => (60, 1),
        b"www-authenticate" => (61, 1),
        _ => return None,
    };
    Some(first..first + count)
}

#[cfg(test)]
mod tests;
