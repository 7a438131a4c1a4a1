//! The Huffman code of HPACK (RFC 7541 section 5.2 and Appendix B): encoding, and decoding
//! with a state table built at compile time.
//!
//! # How decoding works, and why this way
//!
//! The code (Appendix B, in [`code`]) gives 257 symbols codes of 5 to 30 bits. Decoding bit by
//! bit, walking the code tree, costs a branch per bit. Instead the decoder reads four bits (a
//! nibble) at a time through a table: the *state* is the tree node the bits read so far have
//! reached (one of the tree's 256 inner nodes, the root being "between two symbols"), and
//! `DECODE[state][nibble]` says which node the next four bits lead to and whether a symbol was
//! completed on the way. As the shortest code is 5 bits, four bits complete at most one
//! symbol, so one entry holds at most one output octet. A byte of input is two lookups, with no
//! branch on the bits themselves.
//!
//! Memory: 256 states x 16 nibbles x 3 octets (next state, symbol, flags) = 12 KiB, which sits
//! in the L1 data cache of any current CPU next to the rest of the decoder. The alternative of
//! a byte at a time would need 256 x 256 entries that may each emit two symbols: about 256 KiB,
//! which no longer fits in L1 (and barely in L2), so its cache misses would cost more than the
//! second lookup it saves. Both tables are computed from the code list by a `const fn` when the
//! crate compiles, so there is no generated file to keep in step with the appendix, and a code
//! list that is not a prefix code would stop the build.
//!
//! # The rules of section 5.2 at the end of a string
//!
//! "Upon decoding, an incomplete code at the end of the encoded data is to be considered as
//! padding and discarded. A padding strictly longer than 7 bits MUST be treated as a decoding
//! error. A padding not corresponding to the most significant bits of the code for the EOS
//! symbol MUST be treated as a decoding error. A Huffman-encoded string literal containing the
//! EOS symbol MUST be treated as a decoding error." The EOS code is thirty 1 bits, so valid
//! padding is 0 to 7 one bits: the state at the end must be on the all-ones path from the root
//! and at most 7 deep (`TRAILING_BITS` records that per state).

pub mod code;

use super::error::DecodeError;
use code::{CODE, EOS};

/// The number of octets the Huffman coding of `bytes` takes, padding included.
pub fn encoded_len(bytes: &[u8]) -> usize {
    let bits: usize = bytes
        .iter()
        .map(|&byte| usize::from(CODE[usize::from(byte)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the Huffman coding of `bytes` to `out`, padded to a whole octet with the most
/// significant bits of EOS (all ones), as section 5.2 asks.
pub fn encode(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(bytes));
    // Codes enter at the bottom of `pending`; whole octets leave from its top. At most 7 bits
    // wait between symbols and a code is at most 30 bits, so 37 bits fit in the u64; the bits
    // already written are shifted out of the top and are of no further interest.
    let mut pending: u64 = 0;
    let mut pending_bits: u32 = 0;
    for &byte in bytes {
        let (code, length) = CODE[usize::from(byte)];
        pending = (pending << length) | u64::from(code);
        pending_bits += u32::from(length);
        while pending_bits >= 8 {
            pending_bits -= 8;
            // Keeps the octet's 8 bits: the cast drops only bits already written.
            out.push((pending >> pending_bits) as u8);
        }
    }
    if pending_bits > 0 {
        let padding = 8 - pending_bits;
        out.push(((pending << padding) | ((1 << padding) - 1)) as u8);
    }
}

// ANCHOR: huffman_decode
/// Decodes the Huffman-coded `encoded` and appends the octets to `out`.
///
/// On an error, `out` may hold part of the string.
pub fn decode(encoded: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    // Every code is at least 5 bits, so this is the most octets that can come out.
    out.reserve(encoded.len() * 8 / 5);
    let mut state = 0u8;
    for &byte in encoded {
        for nibble in [byte >> 4, byte & 0x0f] {
            // `state` is a u8 and `nibble` at most 0x0f: both are in range of the 256 x 16
            // table, so these lookups cannot panic.
            let step = DECODE[usize::from(state)][usize::from(nibble)];
            if step.flags & REACHED_EOS != 0 {
                return Err(DecodeError::HuffmanEos);
            }
            if step.flags & EMITS != 0 {
                out.push(step.symbol);
            }
            state = step.next_state;
        }
    }
    match TRAILING_BITS[usize::from(state)] {
        Trailing::EosPrefix(bits) if bits <= 7 => Ok(()),
        Trailing::EosPrefix(_) => Err(DecodeError::HuffmanPaddingTooLong),
        Trailing::NotEosPrefix => Err(DecodeError::HuffmanPaddingNotEos),
    }
}
// ANCHOR_END: huffman_decode

/// One entry of the decoding table: where four more bits lead from a state.
#[derive(Clone, Copy)]
struct Step {
    /// The state after the four bits (0, the root, when they ended on a symbol).
    next_state: u8,
    /// The symbol completed by the four bits, if [`EMITS`] is set.
    symbol: u8,
    /// [`EMITS`] and [`REACHED_EOS`].
    flags: u8,
}

/// The four bits completed a symbol, in [`Step::symbol`].
const EMITS: u8 = 0x1;
/// The four bits completed the EOS code: an error inside a string.
const REACHED_EOS: u8 = 0x2;

/// What the bits read since the last symbol are, when a string ends in a given state.
#[derive(Clone, Copy)]
enum Trailing {
    /// This many 1 bits: a prefix of the EOS code (0 at the root).
    EosPrefix(u8),
    /// Some bits that are not all ones.
    NotEosPrefix,
}

/// The code tree has 257 leaves, so 256 inner nodes: the decoder's states.
const STATES: usize = 256;

/// A child in the tree under construction: 0 is "none yet" (the root is nobody's child), a
/// value with [`LEAF`] set is the symbol in its low bits, any other an inner node's number.
const NO_CHILD: u16 = 0;
const LEAF: u16 = 0x8000;

/// The code tree, built from [`CODE`]: two children per inner node, and for each node how it
/// was reached (for [`TRAILING_BITS`]).
struct Tree {
    children: [[u16; 2]; STATES],
    depth: [u8; STATES],
    all_ones: [bool; STATES],
}

static DECODE: [[Step; 16]; STATES] = build_decode_table(&build_tree());
static TRAILING_BITS: [Trailing; STATES] = build_trailing_bits(&build_tree());

/// Inserts every code of [`CODE`] into a tree, numbering inner nodes as they are created.
/// Panics (at compile time, as it runs in a `const`) if the codes do not form a complete
/// prefix code.
const fn build_tree() -> Tree {
    let mut tree = Tree {
        children: [[NO_CHILD; 2]; STATES],
        depth: [0; STATES],
        all_ones: [false; STATES],
    };
    tree.all_ones[0] = true;
    let mut nodes = 1;
    let mut symbol = 0;
    while symbol < CODE.len() {
        let (code, length) = CODE[symbol];
        let mut node = 0;
        let mut bit_index = length;
        while bit_index > 0 {
            bit_index -= 1;
            let bit = ((code >> bit_index) & 1) as usize;
            let child = tree.children[node][bit];
            if bit_index == 0 {
                assert!(child == NO_CHILD, "a code is a prefix of another");
                tree.children[node][bit] = LEAF | symbol as u16;
            } else if child == NO_CHILD {
                assert!(nodes < STATES, "more inner nodes than a 257-leaf tree has");
                tree.children[node][bit] = nodes as u16;
                tree.depth[nodes] = tree.depth[node] + 1;
                tree.all_ones[nodes] = tree.all_ones[node] && bit == 1;
                node = nodes;
                nodes += 1;
            } else {
                assert!(child & LEAF == 0, "a code is a prefix of another");
                node = child as usize;
            }
        }
        symbol += 1;
    }
    assert!(nodes == STATES, "the code is not complete");
    tree
}

/// For each state and nibble, follows the four bits down the tree.
const fn build_decode_table(tree: &Tree) -> [[Step; 16]; STATES] {
    let mut table = [[Step {
        next_state: 0,
        symbol: 0,
        flags: 0,
    }; 16]; STATES];
    let mut state = 0;
    while state < STATES {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut step = Step {
                next_state: 0,
                symbol: 0,
                flags: 0,
            };
            let mut bit_index = 4;
            while bit_index > 0 {
                bit_index -= 1;
                let child = tree.children[node][(nibble >> bit_index) & 1];
                if child & LEAF == 0 {
                    node = child as usize;
                } else if (child & !LEAF) as usize == EOS {
                    step.flags |= REACHED_EOS;
                    break;
                } else {
                    assert!(step.flags & EMITS == 0, "two symbols in four bits");
                    step.flags |= EMITS;
                    step.symbol = (child & !LEAF) as u8;
                    node = 0;
                }
            }
            step.next_state = node as u8;
            table[state][nibble] = step;
            nibble += 1;
        }
        state += 1;
    }
    table
}

/// For each state, whether ending a string there leaves valid padding.
const fn build_trailing_bits(tree: &Tree) -> [Trailing; STATES] {
    let mut trailing = [Trailing::NotEosPrefix; STATES];
    let mut state = 0;
    while state < STATES {
        if tree.all_ones[state] {
            trailing[state] = Trailing::EosPrefix(tree.depth[state]);
        }
        state += 1;
    }
    trailing
}

#[cfg(test)]
mod tests;
