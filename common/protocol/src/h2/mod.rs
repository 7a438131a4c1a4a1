//! HTTP/2 (RFC 9113) and its header compression, HPACK (RFC 7541), written from the RFCs.
//!
//! The same sans-IO shape as [`crate::http1`]: bytes in, frames and requests out, no socket and
//! no clock. Modules, from the wire up:
//!
//! - [`error`]: error codes ([`Reason`]) and the two classes of error, stream and connection.
//! - [`frame`]: the frame layout of section 4 and the ten frame types of section 6, one file
//!   each with a `load` / `encode` pair.
//! - [`hpack`]: header compression: the static and dynamic tables, Huffman, the decoder and
//!   the encoder.
//! - [`stream`]: the stream states of section 5.1, as a table.
//! - [`flow`]: flow-control windows (section 5.2).
//! - [`semantics`]: HTTP requests and responses as field lists (section 8).
//! - [`settings`]: the SETTINGS values each side announces (section 6.5.2).
//! - [`machine`]: the server side of a connection, built from all of the above.

pub mod error;
pub mod flow;
pub mod frame;
pub mod hpack;
pub mod machine;
pub mod semantics;
pub mod settings;
pub mod stream;
// Test data from other projects, outside the crate's source because it reads files.
#[cfg(test)]
#[path = "../../tests/support/testdata.rs"]
mod testdata;

pub use error::{Error, Reason};
