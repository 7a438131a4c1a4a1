//! The page the book includes: one line on how it was made, then one row per run.

use std::fmt::Write as _;
use std::time::Duration;

use crate::client::End;
use crate::rows::Row;

/// What `cargo run --example h2_attacks` writes to `book/src/results/h2-attacks.md`.
pub fn document(rows: &[Row]) -> String {
    let mut page = String::new();
    page.push_str(
        "<!-- written by `cargo run --example h2_attacks`: edit the program, not this page -->\n\n",
    );
    page.push_str(
        "Made by `cargo run --example h2_attacks`: each client drives its own \
         `Connection::new_http2` in memory, with stage 07's default limits and a virtual clock, \
         so every figure is a count, the same on every machine and every run. **frames** and \
         **octets read** are what the server read after the opening (a client that is no longer read \
         from may have written more, which waits in TCP); **most queued** is the most output the \
         server held unwritten (`queued_output`), **most body held** the most request body \
         (`held_request_bodies`); **after** is virtual time. A row marked ↳ is the client just \
         before, with the limit's trigger not reached.\n\n",
    );
    // Two tables, so that each fits the book's text column: how each attack ended, then what
    // it cost the server on the way.
    page.push_str("*How each attack ended*\n\n| attack | limit | frames | ended by |\n");
    page.push_str("|---|---|---:|---|\n");
    for row in rows {
        let _ = writeln!(
            page,
            "| {} | {} | {} | {} |",
            row.attack,
            row.limit,
            row.outcome.tally.frames,
            ended_by(&row.outcome.end),
        );
    }
    page.push_str(
        "\n*What it cost the server*\n\n| attack | octets read | after | most queued (bytes) | most body held (bytes) |\n",
    );
    page.push_str("|---|---:|---:|---:|---:|\n");
    for row in rows {
        let tally = &row.outcome.tally;
        let _ = writeln!(
            page,
            "| {} | {} | {} | {} | {} |",
            row.attack,
            tally.bytes,
            seconds(row.outcome.after),
            tally.most_queued,
            tally.most_body,
        );
    }
    page
}

fn ended_by(end: &End) -> String {
    match end {
        // The limit column names the limit; the machine's own words for it stay in its log.
        End::GoAway { reason, .. } => format!("GOAWAY {reason}"),
        End::Cut => "socket dropped at the deadline, no GOAWAY".into(),
        End::Refused(status) => format!("{status} on the stream, connection goes on"),
        End::Served => "not ended: all served".into(),
    }
}

fn seconds(after: Duration) -> String {
    format!("{} s", after.as_secs())
}
