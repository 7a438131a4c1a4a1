//! The book's table of HTTP/2 attacks (`examples/h2_attacks`, included by
//! `book/src/stage07.md`, "Defences"), checked two ways:
//!
//! - `book/src/results/h2-attacks.md` is exactly what the example makes today, so the page
//!   cannot drift from the protocol machine or from its limits;
//! - every attack ended where and how its limit says (GOAWAY ENHANCE_YOUR_CALM at the frame the
//!   limit allows one past, a 431 with the connection going on, or the socket dropped at the
//!   slow-read deadline), and every contrast row was served. A row whose attack was not stopped
//!   fails here, whatever the page says.
//!
//! Everything runs in memory with a virtual clock: no socket, no stage binary, no timing.

use std::time::Duration;

#[path = "../examples/h2_attacks/attacks.rs"]
mod attacks;
#[path = "../examples/h2_attacks/client.rs"]
mod client;
#[path = "../examples/h2_attacks/rows.rs"]
mod rows;
#[path = "../examples/h2_attacks/table.rs"]
mod table;
#[path = "../examples/h2_attacks/units.rs"]
mod units;

use client::{End, Tally};
use rows::{Expect, Outcome, Row};

fn rows() -> Vec<Row> {
    attacks::all().unwrap_or_else(|error| panic!("the attacks could not run: {error}"))
}

#[test]
fn the_page_is_what_the_example_makes_today() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/results/h2-attacks.md");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(
        committed,
        table::document(&rows()),
        "the page differs from what the machine does today: run `cargo run --example h2_attacks`"
    );
}

#[test]
fn every_attack_ends_where_its_limit_says() {
    let rows = rows();
    let failures: Vec<String> = rows.iter().filter_map(|row| row.check().err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for row in &rows {
        // An attack row (one with a limit) may never be expected to be served: that would be
        // a table that shows an attack getting through and calls it fine.
        assert!(
            row.limit.is_empty() || !matches!(row.expect, Expect::Served { .. }),
            "{}: an attack must be stopped",
            row.attack
        );
    }
    assert!(rows.iter().filter(|row| !row.limit.is_empty()).count() >= 9);
}

#[test]
fn a_row_whose_attack_was_not_stopped_fails_its_check() {
    let not_stopped = Row {
        attack: "an attack nobody stopped".into(),
        limit: "`SOME_LIMIT` (1)".into(),
        expect: Expect::Calm { frames: 2 },
        outcome: Outcome {
            tally: Tally {
                frames: 2,
                ..Tally::default()
            },
            end: End::Served,
            after: Duration::ZERO,
        },
    };
    assert!(not_stopped.check().is_err());
    // Stopped, but one frame late: the limit is off by one, which is a failure too.
    let late = Row {
        outcome: Outcome {
            tally: Tally {
                frames: 3,
                ..Tally::default()
            },
            end: End::GoAway {
                reason: protocol::h2::Reason::ENHANCE_YOUR_CALM,
                why: "late",
            },
            after: Duration::ZERO,
        },
        ..not_stopped
    };
    assert!(late.check().is_err());
}
