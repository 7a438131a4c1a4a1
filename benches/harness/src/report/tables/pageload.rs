//! The page-load tables: each scenario's own (the page time at p50 and p99, and the server's
//! cost per page), and the comparison the stage 07 chapter includes ([`comparison_markdown`]):
//! HTTP/1.1 beside HTTP/2 for each server, without a delay and over the relay's round trip,
//! with HTTP/2's page time as a fraction of HTTP/1.1's.
//!
//! Kept apart from the other tables (`tables.rs` is long enough), as a child module so that it
//! uses the same [`Table`] and [`Notes`].

use std::fmt::Write as _;

use super::{count, mebibytes, micros, ratio, short_name, switches, Notes, Table};
use crate::pageload::Protocol;
use crate::report::{Report, Row, Summary, NGINX};
use crate::scenario::{Kind, Scenario};

/// One page-load scenario: pages loaded and the page time (first connect to last byte of the
/// thirty files), then the server's CPU time per page.
pub(super) fn page_tables(
    report: &Report,
    scenario: &Scenario,
    rows: &[&Row],
    notes: &Notes,
) -> String {
    let nginx = report.reference(NGINX, scenario.id);
    let p50_of = |s: Option<Summary>| s.and_then(|s| s.p50_us);
    let cpu_of = |s: Option<Summary>| s.and_then(|s| s.cpu_us_per_request);
    let mut time = Table::new(
        "Page time",
        "server",
        &["pages", "p50", "p99", "p50 ×nginx", "errors"],
    );
    let mut cost = Table::new(
        "Cost",
        "server",
        &["CPU µs/page", "CPU ×nginx", "switches/page", "peak RSS"],
    );
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        if !row.status.measured() {
            time.without_numbers(&marked, &row.status, 5);
            cost.without_numbers(&short, &row.status, 4);
            continue;
        }
        let summary = row.summary();
        let pages: u64 = row.samples.iter().map(|sample| sample.requests).sum();
        time.line(
            &marked,
            &[
                count(pages as f64),
                micros(summary.p50_us),
                micros(summary.p99_us),
                ratio(summary.p50_us, p50_of(nginx)),
                count(summary.errors as f64),
            ],
        );
        cost.line(
            &short,
            &[
                summary
                    .cpu_us_per_request
                    .map_or("-".into(), |cpu| format!("{cpu:.0}")),
                ratio(summary.cpu_us_per_request, cpu_of(nginx)),
                switches(summary.context_switches_per_request),
                row.peak_rss_bytes.map_or("-".into(), mebibytes),
            ],
        );
    }
    time.finish() + &cost.finish()
}

/// The page-load comparison: for each delay the run measured, one table of every server's page
/// time over HTTP/1.1 and over HTTP/2 (p50 and p99), and `h2 ÷ h1`, HTTP/2's p50 over
/// HTTP/1.1's (below 1 is HTTP/2 faster). Empty when the run has no page-load scenario.
pub fn comparison_markdown(report: &Report) -> String {
    let mut delays: Vec<u32> = Vec::new();
    for scenario in &report.scenarios {
        if let Kind::PageLoad(load) = scenario.kind {
            if !delays.contains(&load.one_way_ms) {
                delays.push(load.one_way_ms);
            }
        }
    }
    let mut out = String::new();
    for one_way_ms in delays {
        let find = |protocol| {
            report.scenarios.iter().find(|scenario| {
                matches!(scenario.kind, Kind::PageLoad(load)
                    if load.protocol == protocol && load.one_way_ms == one_way_ms)
            })
        };
        let (h1, h2) = (find(Protocol::Http1), find(Protocol::Http2));
        let caption = match one_way_ms {
            0 => "No delay (loopback)".to_owned(),
            ms => format!("Round trip {} ms (the relay's {ms} ms each way)", ms * 2),
        };
        let mut table = Table::new(
            &caption,
            "server",
            &[
                "HTTP/1.1 p50",
                "HTTP/1.1 p99",
                "HTTP/2 p50",
                "HTTP/2 p99",
                "h2 ÷ h1",
            ],
        );
        let summary = |scenario: Option<&Scenario>, server: &str| {
            scenario.and_then(|scenario| report.reference(server, scenario.id))
        };
        for server in &report.servers {
            let measured = |scenario: Option<&Scenario>| {
                scenario.is_some_and(|scenario| report.row(server, scenario.id).is_some())
            };
            if !measured(h1) && !measured(h2) {
                continue;
            }
            let (one, two) = (summary(h1, server), summary(h2, server));
            let p50 = |s: Option<Summary>| s.and_then(|s| s.p50_us);
            let p99 = |s: Option<Summary>| s.and_then(|s| s.p99_us);
            table.line(
                &short_name(server),
                &[
                    micros(p50(one)),
                    micros(p99(one)),
                    micros(p50(two)),
                    micros(p99(two)),
                    ratio(p50(two), p50(one)),
                ],
            );
        }
        out.push_str(&table.finish());
    }
    if !out.is_empty() {
        let _ = writeln!(
            out,
            "A page load is the page and its 30 files on new connections (TCP, then a full TLS \
             handshake), from the first connect to the last byte; `-` where a row has no \
             numbers (its own table says why)."
        );
    }
    out
}
