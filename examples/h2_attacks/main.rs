//! Measures what each HTTP/2 attack of the book's "Defences" section does to stage 07's
//! protocol machine, and writes the table the chapter includes.
//!
//! ```console
//! $ cargo run --example h2_attacks    # writes book/src/results/h2-attacks.md
//! ```
//!
//! Each attack (rapid reset, MadeYouReset, CONTINUATION floods, the HPACK bomb, PING and
//! SETTINGS floods from a client that does not read, empty and one-octet DATA frames, a client
//! that never opens its window) is a client of its own on a `protocol::Connection` in memory:
//! no socket, no wall clock, so what is measured is counts (frames and octets the server read
//! before it ended the connection, the most it held) that come out the same on every run.
//! Wall-clock costs would measure the machine running the example, not the defence.
//!
//! The modules: `client` is the in-memory client and the driver loop, with the measurements;
//! `units` the frames the attacks write; `attacks` the attacks, the limit that must stop each
//! and where; `rows` a row of the table and its check; `table` the page.
//! `tests/h2_attacks.rs` checks that the committed page is what this makes today and that
//! every attack ended where its limit says; so does this program, before it writes anything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod attacks;
mod client;
mod rows;
mod table;
mod units;

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("usage: h2_attacks (it takes no arguments)");
        return ExitCode::from(2);
    }
    match measure_and_write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("h2_attacks: {error}");
            ExitCode::FAILURE
        }
    }
}

fn measure_and_write() -> Result<(), String> {
    let rows = attacks::all()?;
    // A table that shows an attack not stopped is a bug to fix, not a page to publish.
    for row in &rows {
        row.check()?;
    }
    let path = page_path();
    std::fs::write(&path, table::document(&rows))
        .map_err(|error| format!("{}: {error}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn page_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/results/h2-attacks.md")
}
