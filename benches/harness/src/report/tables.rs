//! The markdown the book includes: the run's header, the generator ceilings, the legend, and the
//! tables of each scenario and of each stage.
//!
//! mdBook's text column is about 750 px wide, so no table here has more than [`MAX_COLUMNS`]
//! columns: a scenario is split into a rate table, a latency table and a cost table, with short
//! server names ([`short_name`]) that the legend ([`legend_markdown`]) spells out. What does not
//! fit in a cell (why a row has no numbers, that it had errors, that it fell behind) is a
//! footnote; the book includes every scenario's file in one chapter, so footnote labels start
//! with the scenario's id and stay unique there.

use std::fmt::Write as _;

use super::{Report, Row, Status, Summary, FLOOR, NGINX};
use crate::scenario::{Kind, Scenario, Transport, NOTES_SCENARIOS};
use crate::servers::PLAIN_BASELINE;

mod costs;
pub mod pageload;

/// The most columns any generated table has. Chosen from the book's layout: mdBook pads every
/// cell by 20 px on each side, so in a 750 px column seven columns leave about 65 px for each
/// cell's text, which holds `nginx tuned`, `154.9k` or `±13 %` at the default font without
/// wrapping; an eighth column would squeeze the server names onto two lines.
pub const MAX_COLUMNS: usize = 7;

/// A row's name as tables and charts show it, derived from the row name alone so that a row
/// added later gets one too: `stage02-threadpool-rayon` is `02 rayon` (the stage's number, then
/// what follows its package name), `nginx-tuned` is `nginx tuned`. In a variant's words
/// `connection` is shortened to `conn`, and a number `N` is written `×N`.
pub fn short_name(server: &str) -> String {
    let Some(rest) = server.strip_prefix("stage") else {
        return server.replace('-', " ");
    };
    let (number, package_and_variant) = rest.split_once('-').unwrap_or((rest, ""));
    // The first word after the number names the stage's model (`threadpool`); a variant's
    // words follow it.
    let variant = package_and_variant
        .split_once('-')
        .map_or("", |(_, variant)| variant);
    let mut short = number.to_owned();
    let mut words = variant
        .split('-')
        .filter(|word| !word.is_empty())
        .peekable();
    let mut separator = " ";
    while let Some(word) = words.next() {
        short.push_str(separator);
        if word.bytes().all(|b| b.is_ascii_digit()) {
            let _ = write!(short, "×{word}");
            separator = " ";
        } else {
            short.push_str(if word == "connection" { "conn" } else { word });
            // Words of one name stay joined (`per-conn`); a number stands apart.
            separator = match words.peek() {
                Some(next) if next.bytes().all(|b| b.is_ascii_digit()) => " ",
                _ => "-",
            };
        }
    }
    short
}

/// What a row is, for the legend.
fn description(server: &str) -> String {
    match server {
        FLOOR => "a server that counts request heads and answers without parsing them: \
                  the least a server can cost on this machine"
            .to_owned(),
        NGINX => "nginx with Debian's settings".to_owned(),
        "nginx-tuned" => "nginx with `open_file_cache` on".to_owned(),
        "hyper" => "a minimal hyper server (tokio, a task per connection; in the h2c scenarios \
             hyper's HTTP/2 server, a task per stream)"
            .to_owned(),
        _ => {
            let variant = crate::run::STAGE_VARIANTS
                .iter()
                .find(|variant| variant.name == server);
            match variant {
                Some(variant) => {
                    format!(
                        "`{}` started with `{}`",
                        variant.package,
                        variant.args.join(" ")
                    )
                }
                None if server.starts_with("stage") => {
                    // A stage's package is `stageNN-model`; anything after it names a variant.
                    let package: String =
                        server.splitn(3, '-').take(2).collect::<Vec<_>>().join("-");
                    if package != server {
                        return format!("a variant of `{package}`");
                    }
                    let model = match server {
                        "stage01-blocking" => "blocking, one connection at a time",
                        "stage02-threadpool" => "a thread pool",
                        "stage03-prefork" => "forked worker processes",
                        "stage04-evented" => "an event loop on epoll",
                        "stage05-async" => "tokio",
                        "stage06-tls" => {
                            "stage 05 with rustls (aws-lc-rs) between the socket \
                                          and the HTTP machine"
                        }
                        _ => "a stage",
                    };
                    format!("{model}, started without flags as a user would")
                }
                None => "a server of this run".to_owned(),
            }
        }
    }
}

/// The legend the book includes once above all the tables and charts: every short name of this
/// run's rows, and every column. A list rather than a table: the descriptions are long, and in a
/// table they would squeeze the names onto two lines.
pub fn legend_markdown(report: &Report) -> String {
    let mut out = String::from("The tables and charts name the servers by short names:\n\n");
    for server in &report.servers {
        let _ = writeln!(
            out,
            "- **{}** (`{server}`): {}.",
            short_name(server),
            description(server)
        );
    }
    out.push_str(
        "\nThe columns:\n\n\
         - **req/s**: complete responses per second, the median of the repetitions; \
         **spread**: half the range of the repetitions, relative to the median.\n\
         - **×nginx**, **×floor**: the row's value divided by nginx's or the floor's in the same \
         scenario of the same run (above 1 is more requests, or more CPU); in the TLS scenarios \
         **×plain** and **CPU ×plain** divide by stage 05's over plain HTTP instead, in the same \
         scenario (stage 06 is stage 05 with TLS added, so this is what TLS costs); in the \
         notes API's scenarios, which no reference server runs, **×05** and **CPU ×05** divide \
         by the notes API on stage 05 over plain HTTP.\n\
         - **MB/s**: response bytes received per second; **errors**: socket errors, timeouts and \
         responses of status 400 or more, over all repetitions.\n\
         - Slow clients (64 slowloris connections held beside wrk's, each sending a byte of a \
         request head a second, replaced when the server cuts it; every server with a 2 s \
         header timeout): **cut** the slow connections the server cut (answered 408, or \
         closed) in a measured window, the median of the repetitions; **p99 ×nginx** the row's \
         p99 divided by nginx's (above 1 is slower).\n\
         - **p50**, **p99**, **p99.9**, **max**: latency percentiles (open loop: measured from \
         when each request was due, so a server that falls behind is charged for it).\n\
         - **CPU µs/req**: the CPU time (user + system) of all the server's processes, divided \
         by the requests it answered, and **CPU ×nginx**, **CPU ×floor** its ratios; \
         **switches/req**: the context switches of all its threads (a thread blocked, or the \
         scheduler took its core) per request answered; **peak RSS**: the largest resident \
         memory of those processes during the row.\n\
         - Handshake loads (the harness's TLS client; each connection is a connect, a \
         handshake, one small request and a close): **handshakes/s** completed connections per \
         second, **resumed** the share of their handshakes that resumed a session, **CPU \
         µs/handshake** the server's CPU time per connection; **p50** and **p99** from connect \
         to the answer's last byte.\n\
         - Instructions per handshake (callgrind, in the server, per full TLS 1.3 handshake and \
         its one request): **X25519** with the client offering X25519 alone, \
         **X25519MLKEM768** with the client offering the post-quantum hybrid first, \
         **hybrid ×X25519** the second divided by the first, and **handshakes** how many the \
         difference of the two callgrind runs was divided by.\n\
         - Open loop: **target** is the rate asked for, **achieved** the rate answered, \
         **lateness p99** how late the generator itself was in sending.\n\
         - HTTP/2 loads (h2load, `-m` requests in flight on each connection, over TLS or h2c \
         with prior knowledge): **req/s** the 2xx answers per second of the measured window; \
         **p50**, **p99**, **p99.9**, **max** from h2load's per-request log over those answers \
         (its own summary prints only the min, max, mean and spread of a request's time, no \
         percentiles); **errors** the requests h2load counts as failed (errored, timed out, or \
         answered with a status other than 2xx).\n\
         - Page loads (the page and its 30 files on new TLS connections, through the relay): \
         **pages** loaded, **p50** and **p99** the page time from first connect to last byte, \
         **p50 ×nginx** that p50 over nginx's, **CPU µs/page** and **switches/page** the \
         server's per page; **errors** the page loads that failed.\n\
         - Idle connections: **tried** counts the connections opened, **held** those answered \
         and then held open; **RSS before** and **RSS after** are the server's memory before and \
         after, **per connection** the difference divided by the connections held; **time to \
         open** is from the first connect to the last of their answers, **a new request** one \
         request on a new connection while they are held, **100 reused** the time for a hundred \
         of the held connections to send one more request each and be answered.\n\
         - System calls (counted by `strace -c -f` while wrk ran): **requests** answered while \
         traced, **calls/req** every system call of every thread per request, then per request \
         by name: **read, recvfrom**, **write, sendto, writev**, **sendfile**, **openat**, \
         **statx, fstat**, **close**, **epoll_wait**, **epoll_ctl**, **accept4**, **futex**, \
         **setsockopt** (each with its close relatives: `recvmsg`, `openat2`, `epoll_pwait`, \
         ...), and **other**, the calls in none of those.\n\
         - Counts from ten thousand up are rounded, with `k` for thousands and `M` for \
         millions. A small number after a name leads to a note under the tables; `-` marks a \
         value that was not measured.\n",
    );
    out
}

/// The report header in markdown: when, where, how, and how loaded the machine was.
pub fn header_markdown(report: &Report) -> String {
    let machine = &report.machine;
    let settings = &report.settings;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} on {} ({} cores), Linux {}, commit `{}`.",
        machine.date, machine.cpu_model, machine.cores, machine.kernel, machine.commit
    );
    let _ = writeln!(
        out,
        "Load average before / after: {} / {} (other work on the machine shows here).",
        machine.load_before, machine.load_after
    );
    let _ = writeln!(
        out,
        "Mode `{}`: {} repetition(s) of {} s after a {} s warm-up; server pinned to CPU {}, \
         load generator to CPU {} (the `-2cores` scenarios run both unpinned); {}.",
        settings.mode,
        settings.repetitions,
        settings.duration_seconds,
        settings.warmup_seconds,
        settings.server_cpus,
        settings.client_cpus,
        machine.tools.join(", ")
    );
    let _ = writeln!(out, "Reproduce with `{}`.", settings.command);
    for earlier in &report.earlier {
        let _ = writeln!(out, "{}", earlier.sentence());
    }
    out
}

/// The generator ceilings as a markdown table.
pub fn ceilings_markdown(report: &Report) -> String {
    let mut out = String::from(
        "| generator and load (against the floor server) | req/s | floor's CPU use |\n|---|---:|---:|\n",
    );
    for ceiling in &report.ceilings {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            ceiling.generator,
            count(ceiling.requests_per_second),
            ceiling
                .server_cpu_use
                .map_or("-".to_owned(), |use_| format!("{:.0} %", use_ * 100.0)),
        );
    }
    out
}

// ANCHOR: table
/// The markdown tables of one scenario, one line per server in the report's server order, with
/// the notes as footnotes below them.
pub fn scenario_markdown(report: &Report, scenario: &Scenario) -> String {
    let rows: Vec<&Row> = report
        .servers
        .iter()
        .filter_map(|server| report.row(server, scenario.id))
        .collect();
    let notes = Notes::of(scenario.id, &rows);
    let tables = match scenario.kind {
        Kind::Idle => idle_tables(&rows, &notes),
        Kind::Open { .. } => open_tables(&rows, &notes),
        Kind::Closed(_) | Kind::H2load(_) => closed_tables(report, scenario, &rows, &notes),
        Kind::Syscalls(_) => costs::syscall_tables(&rows, &notes),
        Kind::Handshakes(_) => costs::handshake_tables(report, scenario, &rows, &notes),
        Kind::HandshakeInstructions => costs::instruction_tables(report, scenario, &rows, &notes),
        Kind::PageLoad(_) => pageload::page_tables(report, scenario, &rows, &notes),
    };
    tables + &notes.markdown()
}
// ANCHOR_END: table

/// One table: a caption, the header cells (the first column left-aligned, the others right) and
/// the lines.
struct Table {
    out: String,
}

impl Table {
    fn new(caption: &str, first: &str, columns: &[&str]) -> Table {
        let mut out = format!("*{caption}*\n\n| {first} |");
        for column in columns {
            let _ = write!(out, " {column} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(columns.len()));
        out.push('\n');
        Table { out }
    }

    fn line(&mut self, first: &str, cells: &[String]) {
        let _ = write!(self.out, "| {first} |");
        for cell in cells {
            let _ = write!(self.out, " {cell} |");
        }
        self.out.push('\n');
    }

    /// A row without numbers: what happened to it in words, the other cells empty.
    fn without_numbers(&mut self, first: &str, status: &Status, columns: usize) {
        let mut cells = vec![String::new(); columns];
        if let Some(cell) = cells.first_mut() {
            *cell = status.label().to_owned();
        }
        self.line(first, &cells);
    }

    fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }
}

/// The notes of one table's rows as footnotes: what every row shares is said once, under the
/// tables; the rest is a footnote on the row's name, one footnote for all the rows with the
/// same text (forty copies of "did not survive without errors" would bury the rare note that
/// says something else).
struct Notes {
    prefix: String,
    shared: Vec<String>,
    footnotes: Vec<Footnote>,
}

struct Footnote {
    /// The rows (servers, or scenarios in a stage's own table) it is on, in table order; its
    /// label is the first one's.
    keys: Vec<String>,
    text: String,
}

impl Notes {
    /// `rows`' notes, for footnote labels that start with `prefix` (a scenario's id, or a
    /// server's name for its own table).
    fn of(prefix: &str, rows: &[&Row]) -> Notes {
        Notes::from_texts(
            prefix,
            rows.iter()
                .map(|row| (row.server.clone(), row.status.measured(), note_parts(row)))
                .collect(),
        )
    }

    fn from_texts(prefix: &str, rows: Vec<(String, bool, Vec<String>)>) -> Notes {
        // A part every measured row has (the open loop's "50 % of nginx's 106.2k") says
        // something about the scenario, not the row.
        let measured: Vec<&Vec<String>> = rows
            .iter()
            .filter(|(_, measured, _)| *measured)
            .map(|(_, _, parts)| parts)
            .collect();
        let shared: Vec<String> = match measured.split_first() {
            Some((first, others)) if !others.is_empty() => first
                .iter()
                .filter(|part| others.iter().all(|parts| parts.contains(part)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let mut footnotes: Vec<Footnote> = Vec::new();
        for (key, _, parts) in rows {
            let own: Vec<String> = parts
                .into_iter()
                .filter(|part| !shared.contains(part))
                .collect();
            if own.is_empty() {
                continue;
            }
            let text = sentence(&own.join("; "));
            match footnotes.iter_mut().find(|footnote| footnote.text == text) {
                Some(footnote) => footnote.keys.push(key),
                None => footnotes.push(Footnote {
                    keys: vec![key],
                    text,
                }),
            }
        }
        Notes {
            prefix: prefix.to_owned(),
            shared,
            footnotes,
        }
    }

    fn label(&self, footnote: &Footnote) -> String {
        // Every footnote has the key it was made for.
        format!("{}-{}", self.prefix, footnote.keys[0])
    }

    /// The name to show in a table's first column, with the mark of the row's footnote.
    fn name(&self, key: &str, shown: &str) -> String {
        match self
            .footnotes
            .iter()
            .find(|footnote| footnote.keys.iter().any(|own| own == key))
        {
            Some(footnote) => format!("{shown}[^{}]", self.label(footnote)),
            None => shown.to_owned(),
        }
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        if !self.shared.is_empty() {
            let _ = writeln!(out, "Every row: {}\n", sentence(&self.shared.join("; ")));
        }
        for footnote in &self.footnotes {
            let _ = writeln!(out, "[^{}]: {}", self.label(footnote), footnote.text);
        }
        if !self.footnotes.is_empty() {
            out.push('\n');
        }
        out
    }
}

/// What a reader needs to know about a row beyond its numbers, in parts: that it had errors,
/// why it has no numbers, and the note the harness left.
fn note_parts(row: &Row) -> Vec<String> {
    let mut parts = Vec::new();
    match &row.status {
        Status::Errors => parts.push("did not survive without errors".to_owned()),
        status if status.reason().is_some() => parts.push(status.words()),
        _ => {}
    }
    parts.extend(
        row.note
            .split("; ")
            .filter(|part| !part.is_empty())
            .map(str::to_owned),
    );
    parts
}

/// `text` with a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The notes rows' reference: the notes API on stage 05 over plain HTTP (in `notes-api`), the
/// stage the other scenarios' TLS rows are compared with too.
const NOTES_BASELINE: (&str, &str) = ("stage05-async-notes", "notes-api");

fn closed_tables(report: &Report, scenario: &Scenario, rows: &[&Row], notes: &Notes) -> String {
    // The references the ratio columns divide by: nginx, and the floor (over TLS, the same
    // stage without TLS). The notes API runs on no reference server: its rows are compared
    // with the API on stage 05 over plain HTTP, one column.
    // The slow clients' rows are nginx and the stages: nginx is the one reference, and the
    // cut slow connections and the p99 beside nginx's get the columns the floor's would have.
    let slow = scenario.slow_clients().is_some();
    let references: Vec<(Option<Summary>, &str, &str)> = if NOTES_SCENARIOS.contains(&scenario.id) {
        let (server, id) = NOTES_BASELINE;
        vec![(report.reference(server, id), "×05", "CPU ×05")]
    } else if slow {
        vec![(report.reference(NGINX, scenario.id), "×nginx", "CPU ×nginx")]
    } else {
        let second = match scenario.transport {
            Transport::Plain => (report.reference(FLOOR, scenario.id), "×floor", "CPU ×floor"),
            Transport::Tls => (
                report.reference(PLAIN_BASELINE, scenario.id),
                "×plain",
                "CPU ×plain",
            ),
        };
        vec![
            (report.reference(NGINX, scenario.id), "×nginx", "CPU ×nginx"),
            second,
        ]
    };
    let rate_of = |s: Option<Summary>| s.and_then(|s| s.requests_per_second.map(|r| r.median));
    let cpu_of = |s: Option<Summary>| s.and_then(|s| s.cpu_us_per_request);
    let mut rate_columns = vec!["req/s", "spread"];
    rate_columns.extend(references.iter().map(|(_, by, _)| *by));
    rate_columns.extend(["MB/s", "errors"]);
    let mut latency_columns = vec!["p50", "p99", "p99.9"];
    if slow {
        rate_columns.push("cut");
        latency_columns.insert(2, "p99 ×nginx");
    }
    let nginx_p99 = report
        .reference(NGINX, scenario.id)
        .and_then(|nginx| nginx.p99_us);
    let mut cost_columns = vec!["CPU µs/req"];
    cost_columns.extend(references.iter().map(|(_, _, cpu_by)| *cpu_by));
    cost_columns.extend(["switches/req", "peak RSS"]);
    let mut rate = Table::new("Rate", "server", &rate_columns);
    let mut latency = Table::new("Latency", "server", &latency_columns);
    let mut cost = Table::new("Cost", "server", &cost_columns);
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        if !row.status.measured() {
            rate.without_numbers(&marked, &row.status, rate_columns.len());
            latency.without_numbers(&short, &row.status, latency_columns.len());
            cost.without_numbers(&short, &row.status, cost_columns.len());
            continue;
        }
        let summary = row.summary();
        let median = summary.requests_per_second.map(|r| r.median);
        let cpu = summary.cpu_us_per_request;
        let mut rate_cells = vec![
            median.map_or("-".into(), count),
            summary.requests_per_second.map_or("-".into(), |r| {
                format!("±{:.0} %", r.relative_width() * 50.0)
            }),
        ];
        rate_cells.extend(
            references
                .iter()
                .map(|(reference, _, _)| ratio(median, rate_of(*reference))),
        );
        rate_cells.extend([
            summary
                .megabytes_per_second
                .map_or("-".into(), |mb| format!("{mb:.0}")),
            count(summary.errors as f64),
        ]);
        let mut latency_cells = vec![
            micros(summary.p50_us),
            micros(summary.p99_us),
            micros(summary.p999_us),
        ];
        if slow {
            rate_cells.push(
                row.slow_clients
                    .as_ref()
                    .and_then(super::SlowClients::cut_per_window)
                    .map_or("-".into(), count),
            );
            latency_cells.insert(2, ratio(summary.p99_us, nginx_p99));
        }
        rate.line(&marked, &rate_cells);
        latency.line(&short, &latency_cells);
        let mut cost_cells = vec![cpu.map_or("-".into(), |cpu| format!("{cpu:.1}"))];
        cost_cells.extend(
            references
                .iter()
                .map(|(reference, _, _)| ratio(cpu, cpu_of(*reference))),
        );
        cost_cells.extend([
            switches(summary.context_switches_per_request),
            row.peak_rss_bytes.map_or("-".into(), mebibytes),
        ]);
        cost.line(&short, &cost_cells);
    }
    rate.finish() + &latency.finish() + &cost.finish()
}

/// Context switches per request: two decimals, three below a tenth (an event loop's are
/// a few per thousand requests, and "0.00" would say none).
fn switches(per_request: Option<f64>) -> String {
    match per_request {
        None => "-".into(),
        Some(value) if value >= 10.0 => format!("{value:.0}"),
        Some(value) if value >= 0.1 => format!("{value:.2}"),
        Some(value) => format!("{value:.3}"),
    }
}

fn open_tables(rows: &[&Row], notes: &Notes) -> String {
    let mut rate = Table::new(
        "Rate",
        "server",
        &["target", "achieved", "errors", "CPU µs/req", "lateness p99"],
    );
    let mut latency = Table::new("Latency", "server", &["p50", "p99", "p99.9", "max"]);
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        if !row.status.measured() {
            rate.without_numbers(&marked, &row.status, 5);
            latency.without_numbers(&short, &row.status, 4);
            continue;
        }
        let summary = row.summary();
        rate.line(
            &marked,
            &[
                summary.target_rate.map_or("-".into(), count),
                summary
                    .requests_per_second
                    .map_or("-".into(), |r| count(r.median)),
                count(summary.errors as f64),
                summary
                    .cpu_us_per_request
                    .map_or("-".into(), |cpu| format!("{cpu:.1}")),
                micros(summary.lateness_p99_us),
            ],
        );
        latency.line(
            &short,
            &[
                micros(summary.p50_us),
                micros(summary.p99_us),
                micros(summary.p999_us),
                micros(summary.max_us),
            ],
        );
    }
    rate.finish() + &latency.finish()
}

/// Two tables: the connections (how many were held; the place for how long they took) and the
/// memory they cost.
fn idle_tables(rows: &[&Row], notes: &Notes) -> String {
    let mut held = Table::new(
        "Connections",
        "server",
        &[
            "held",
            "tried",
            "time to open",
            "a new request",
            "100 reused",
        ],
    );
    let mut memory = Table::new(
        "Memory",
        "server",
        &["RSS before", "RSS after", "per connection"],
    );
    for row in rows {
        let short = short_name(&row.server);
        let marked = notes.name(&row.server, &short);
        match (&row.status, row.idle) {
            (status, Some(idle)) if status.measured() => {
                // The 100 held connections asked again: the time for all of them, or how many
                // of those asked were answered when some were not.
                let reused = match idle.reuse_seconds {
                    // A server that held fewer than a hundred could be asked only on those.
                    Some(seconds)
                        if idle.reused_answered == idle.reused_asked
                            && idle.reused_asked < crate::idle::REUSED =>
                    {
                        format!(
                            "{} ({} held)",
                            micros(Some(seconds * 1e6)),
                            idle.reused_asked
                        )
                    }
                    Some(seconds) if idle.reused_answered == idle.reused_asked => {
                        micros(Some(seconds * 1e6))
                    }
                    Some(_) => format!("{} of {}", idle.reused_answered, idle.reused_asked),
                    None => "-".into(),
                };
                held.line(
                    &marked,
                    &[
                        idle.held.to_string(),
                        idle.attempted.to_string(),
                        micros(idle.open_seconds.map(|seconds| seconds * 1e6)),
                        micros(idle.new_request_us),
                        reused,
                    ],
                );
                // Marked here too: a server that held one connection has a per-connection
                // figure that is one connection's noise, and its note says so.
                memory.line(
                    &marked,
                    &[
                        mebibytes(idle.rss_before),
                        mebibytes(idle.rss_after),
                        idle.bytes_per_connection()
                            .map_or("-".into(), |bytes| format!("{:.1} KiB", bytes / 1024.0)),
                    ],
                );
            }
            (status, _) => {
                held.without_numbers(&marked, status, 5);
                memory.without_numbers(&marked, status, 3);
            }
        }
    }
    held.finish() + &memory.finish()
}

/// One server's rows across every scenario, with nginx's and the floor's ratios beside them: what
/// a stage's chapter includes. Footnote labels start with the server's name.
pub fn server_markdown(report: &Report, server: &str) -> String {
    // The system-call scenarios count calls under strace, which slows a server down many times:
    // they have no rate or cost to show here (their own table is syscalls.md).
    let rows: Vec<&Row> = report
        .scenarios
        .iter()
        .filter(|scenario| {
            !matches!(
                scenario.kind,
                Kind::Syscalls(_) | Kind::HandshakeInstructions
            )
        })
        .filter_map(|scenario| report.row(server, scenario.id))
        .collect();
    // Keyed by scenario, not by server: each line of these tables is a scenario.
    let notes = Notes::from_texts(
        server,
        rows.iter()
            .map(|row| {
                let mut parts = note_parts(row);
                if let Some(bytes) = row.idle.and_then(|idle| idle.bytes_per_connection()) {
                    parts.insert(0, format!("{:.1} KiB per idle connection", bytes / 1024.0));
                }
                // Every part counts as the row's own: a stage's own table has nothing to share.
                (row.scenario.clone(), false, parts)
            })
            .collect(),
    );
    let mut rate = Table::new(
        "Rate and latency",
        "scenario",
        &["req/s", "×nginx", "×floor", "p99", "errors"],
    );
    let mut cost = Table::new(
        "Cost",
        "scenario",
        &["CPU µs/req", "CPU ×nginx", "CPU ×floor", "peak RSS"],
    );
    for row in rows {
        let marked = notes.name(&row.scenario, &row.scenario);
        if !row.status.measured() {
            rate.without_numbers(&marked, &row.status, 5);
            cost.without_numbers(&row.scenario, &row.status, 4);
            continue;
        }
        let summary = row.summary();
        let nginx = report.reference(NGINX, &row.scenario);
        let floor = report.reference(FLOOR, &row.scenario);
        let rate_of = |s: Option<Summary>| s.and_then(|s| s.requests_per_second.map(|r| r.median));
        let cpu_of = |s: Option<Summary>| s.and_then(|s| s.cpu_us_per_request);
        let median = summary.requests_per_second.map(|r| r.median);
        let cpu = summary.cpu_us_per_request;
        rate.line(
            &marked,
            &[
                median.map_or("-".into(), count),
                ratio(median, rate_of(nginx)),
                ratio(median, rate_of(floor)),
                micros(summary.p99_us),
                count(summary.errors as f64),
            ],
        );
        cost.line(
            &row.scenario,
            &[
                cpu.map_or("-".into(), |cpu| format!("{cpu:.1}")),
                ratio(cpu, cpu_of(nginx)),
                ratio(cpu, cpu_of(floor)),
                row.peak_rss_bytes.map_or("-".into(), mebibytes),
            ],
        );
    }
    rate.finish() + &cost.finish() + &notes.markdown()
}

/// `own / reference` as `0.85×`, or `-` when either is missing.
pub fn ratio(own: Option<f64>, reference: Option<f64>) -> String {
    match (own, reference) {
        (Some(own), Some(reference)) if reference > 0.0 => format!("{:.2}×", own / reference),
        _ => "-".to_owned(),
    }
}

/// A count with thousands shown as `k` and millions as `M`, three significant digits.
pub fn count(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Microseconds as `µs`, `ms` or `s`, whichever reads best.
pub fn micros(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(us) if us >= 1e6 => format!("{:.2} s", us / 1e6),
        Some(us) if us >= 1e3 => format!("{:.2} ms", us / 1e3),
        Some(us) => format!("{us:.0} µs"),
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
