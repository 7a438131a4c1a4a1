//! The tables of what one unit of work costs, apart from wrk's rates and latencies: TLS
//! handshakes (rate, resumed share, CPU per handshake), instructions per handshake under
//! callgrind, and system calls per request. A child module of `tables.rs`, so that it uses the
//! same [`Table`] and [`Notes`].

use super::*;

/// The handshake loads: the rate, with a footnote on the client's share of the machine, and the
/// server's cost per handshake. Where stage 05 over plain HTTP is a row too (a new connection
/// per request), each connection is counted as the request it carries, and `×plain` divides by
/// stage 05's.
pub(super) fn handshake_tables(
    report: &Report,
    scenario: &Scenario,
    rows: &[&Row],
    notes: &Notes,
) -> String {
    let nginx = report.reference(NGINX, scenario.id);
    let plain = crate::servers::PLAIN_BASELINE_SCENARIOS
        .contains(&scenario.id)
        .then(|| report.reference(PLAIN_BASELINE, scenario.id));
    let rate_of = |s: Option<Summary>| s.and_then(|s| s.requests_per_second.map(|r| r.median));
    let cpu_of = |s: Option<Summary>| s.and_then(|s| s.cpu_us_per_request);
    let client_bound = format!("{}-client", scenario.id);
    let (per, cpu_heading) = match plain {
        Some(_) => ("req/s", "CPU µs/req"),
        None => ("handshakes/s", "CPU µs/handshake"),
    };
    let rate_heading = format!("{per}[^{client_bound}]");
    let mut rate_columns = vec![rate_heading.as_str(), "spread", "×nginx"];
    let mut cost_columns = vec![cpu_heading, "CPU ×nginx"];
    if plain.is_some() {
        rate_columns.push("×plain");
        cost_columns.push("CPU ×plain");
    }
    rate_columns.extend(["resumed", "errors"]);
    cost_columns.extend(["p50", "p99", "peak RSS"]);
    let mut rate = Table::new("Rate", "server", &rate_columns);
    let mut cost = Table::new("Cost", "server", &cost_columns);
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        if !row.status.measured() {
            rate.without_numbers(&marked, &row.status, rate_columns.len());
            cost.without_numbers(&short, &row.status, cost_columns.len());
            continue;
        }
        let summary = row.summary();
        let median = summary.requests_per_second.map(|r| r.median);
        let cpu = summary.cpu_us_per_request;
        let completed: u64 = row.samples.iter().map(|sample| sample.requests).sum();
        let resumed: Option<u64> = row.samples.iter().map(|sample| sample.resumed).sum();
        let mut rate_cells = vec![
            median.map_or("-".into(), count),
            summary.requests_per_second.map_or("-".into(), |r| {
                format!("±{:.0} %", r.relative_width() * 50.0)
            }),
            ratio(median, rate_of(nginx)),
        ];
        let mut cost_cells = vec![
            cpu.map_or("-".into(), |cpu| format!("{cpu:.1}")),
            ratio(cpu, cpu_of(nginx)),
        ];
        if let Some(plain) = plain {
            rate_cells.push(ratio(median, rate_of(plain)));
            cost_cells.push(ratio(cpu, cpu_of(plain)));
        }
        rate_cells.push(match resumed {
            Some(resumed) if completed > 0 => {
                format!("{:.0} %", resumed as f64 * 100.0 / completed as f64)
            }
            _ => "-".into(),
        });
        rate_cells.push(count(summary.errors as f64));
        cost_cells.extend([
            micros(summary.p50_us),
            micros(summary.p99_us),
            row.peak_rss_bytes.map_or("-".into(), mebibytes),
        ]);
        rate.line(&marked, &rate_cells);
        cost.line(&short, &cost_cells);
    }
    let footnote = format!(
        "[^{client_bound}]: The client, the harness's own, runs on the other core of this \
         two-core machine and does its half of every connection's work there, its half of the \
         handshake's cryptography included, so the rate can be the client's limit rather than \
         the server's. The server's CPU time per connection does not depend on how fast the \
         client is: it is the fairer figure to compare servers by.\n\n"
    );
    rate.finish() + &cost.finish() + &footnote
}

/// The callgrind counts: instructions per full handshake with X25519, against nginx's, and with
/// the hybrid offered first.
pub(super) fn instruction_tables(
    report: &Report,
    scenario: &Scenario,
    rows: &[&Row],
    notes: &Notes,
) -> String {
    let nginx = report
        .row(NGINX, scenario.id)
        .filter(|row| row.status.measured())
        .and_then(|row| row.instructions)
        .and_then(|counts| counts.x25519);
    let mut table = Table::new(
        "Instructions per handshake",
        "server",
        &[
            "X25519",
            "×nginx",
            "X25519MLKEM768",
            "hybrid ×X25519",
            "handshakes",
        ],
    );
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        match (&row.instructions, row.status.measured()) {
            (Some(counts), true) => table.line(
                &marked,
                &[
                    counts.x25519.map_or("-".into(), count),
                    ratio(counts.x25519, nginx),
                    counts.hybrid.map_or("-".into(), count),
                    ratio(counts.hybrid, counts.x25519),
                    counts.handshakes.to_string(),
                ],
            ),
            _ => table.without_numbers(&marked, &row.status, 5),
        }
    }
    table.finish()
}

/// The system-call scenarios: calls per request in total and by name, in three tables narrow
/// enough for the book (the names are [`crate::syscalls::COLUMNS`], in that order).
pub(super) fn syscall_tables(rows: &[&Row], notes: &Notes) -> String {
    use crate::syscalls::COLUMNS;
    // Which of COLUMNS each table shows; the first also has the requests and the total.
    let groups: [(&str, std::ops::Range<usize>); 3] = [
        ("Moving bytes", 0..3),
        ("Files and connections", 3..6),
        ("Waiting, and the rest", 6..COLUMNS.len()),
    ];
    let per = |value: Option<f64>| value.map_or("-".to_owned(), |value| format!("{value:.2}"));
    let mut out = String::new();
    for (index, (caption, range)) in groups.into_iter().enumerate() {
        let mut names: Vec<&str> = Vec::new();
        if index == 0 {
            names.extend(["requests", "calls/req"]);
        }
        names.extend(COLUMNS[range.clone()].iter().map(|(name, _)| *name));
        let last = index == 2;
        if last {
            names.push("other");
        }
        let mut table = Table::new(caption, "server", &names);
        for row in rows {
            let short = short_name(&row.server);
            let first = if index == 0 {
                notes.name(&row.server, &short)
            } else {
                short
            };
            match (&row.syscalls, row.status.measured()) {
                (Some(counts), true) => {
                    let mut cells = Vec::new();
                    if index == 0 {
                        cells.push(count(counts.requests as f64));
                        cells.push(per(counts.total_per_request()));
                    }
                    cells.extend(
                        COLUMNS[range.clone()]
                            .iter()
                            .map(|(_, calls)| per(counts.per_request(calls))),
                    );
                    if last {
                        cells.push(per(counts.other_per_request()));
                    }
                    table.line(&first, &cells);
                }
                (_, _) => table.without_numbers(&first, &row.status, names.len()),
            }
        }
        out.push_str(&table.finish());
    }
    out
}
