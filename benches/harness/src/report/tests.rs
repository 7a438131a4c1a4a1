use super::*;
use crate::scenario;

fn sample(requests: u64, cpu: f64) -> Sample {
    Sample {
        requests,
        seconds: 1.0,
        bytes: requests * 100,
        errors: 0,
        p50_us: 100.0,
        p99_us: 900.0,
        p999_us: 1500.0,
        max_us: 2000.0,
        cpu_seconds: Some(cpu),
        target_rate: None,
        lateness_p99_us: None,
        voluntary_switches: Some(requests),
        involuntary_switches: Some(requests / 10),
        resumed: None,
    }
}

fn measured(server: &str, scenario: &str, samples: Vec<Sample>) -> Row {
    Row {
        samples,
        peak_rss_bytes: Some(3 * 1024 * 1024),
        ..Row::without_numbers(server, scenario, Status::Ok)
    }
}

fn report(rows: Vec<Row>) -> Report {
    Report {
        machine: Machine {
            cpu_model: "Test CPU".into(),
            cores: 2,
            kernel: "6.1.0".into(),
            date: "2026-01-01T00:00:00Z".into(),
            load_before: "0.10 0.20 0.30".into(),
            load_after: "0.40 0.50 0.60".into(),
            tools: vec!["wrk 4.1.0".into()],
            commit: "abc1234".into(),
        },
        settings: Settings {
            mode: "quick".into(),
            duration_seconds: 1,
            warmup_seconds: 0,
            repetitions: 1,
            server_cpus: "0".into(),
            client_cpus: "1".into(),
            idle_connections: 100,
            open_loop_base: Some((NGINX.into(), 50_000.0)),
            command: "cargo bench --bench stages -- --quick".into(),
        },
        scenarios: scenario::all(),
        servers: vec![FLOOR.into(), NGINX.into(), "stage01-blocking".into()],
        rows,
        ceilings: vec![Ceiling {
            generator: "wrk, 1 thread, 50 connections".into(),
            requests_per_second: 120_000.0,
            server_cpu_use: Some(0.7),
        }],
        earlier: Vec::new(),
    }
}

#[test]
fn median_of_odd_even_and_empty() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    let spread = Spread::of(&[90.0, 100.0, 110.0]).expect("three values");
    assert_eq!(
        (spread.min, spread.median, spread.max),
        (90.0, 100.0, 110.0)
    );
    assert!((spread.relative_width() - 0.2).abs() < 1e-12);
}

#[test]
fn summary_takes_medians_and_cpu_per_request() {
    let row = measured(
        NGINX,
        "small-keepalive-50",
        vec![sample(1000, 0.02), sample(3000, 0.03), sample(2000, 0.03)],
    );
    let summary = row.summary();
    let rate = summary.requests_per_second.expect("samples exist");
    assert_eq!((rate.median, rate.min, rate.max), (2000.0, 1000.0, 3000.0));
    // 20, 10 and 15 µs per request: the median is 15.
    let cpu = summary.cpu_us_per_request.expect("cpu was measured");
    assert!((cpu - 15.0).abs() < 1e-9, "{cpu}");
    assert_eq!(summary.errors, 0);
}

/// The tables in `markdown`, each as its lines of trimmed cells (the header first, the
/// alignment line left out).
fn tables(markdown: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in markdown.lines().chain(std::iter::once("")) {
        if let Some(inner) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) {
            if !inner.starts_with("---") {
                current.push(
                    inner
                        .split('|')
                        .map(|cell| cell.trim().to_owned())
                        .collect(),
                );
            }
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    tables
}

/// The footnote labels `markdown` defines (`[^label]: text` at the start of a line).
fn footnote_definitions(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix("[^")?.split_once("]:"))
        .map(|(label, _)| label.to_owned())
        .collect()
}

/// The footnote labels `markdown` refers to from inside its tables.
fn footnote_references(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|line| line.starts_with('|'))
        .flat_map(|line| line.split("[^").skip(1))
        .filter_map(|rest| rest.split_once(']'))
        .map(|(label, _)| label.to_owned())
        .collect()
}

/// The row names the harness measures today, and the variants being added.
fn every_row_name() -> Vec<String> {
    // `servers` lists every variant, including those measured in a few scenarios only.
    crate::run::servers(&crate::options::STAGES)
        .into_iter()
        .map(|server| server.name)
        .collect()
}

#[test]
fn short_names_are_derived_from_the_row_name_and_unique() {
    let expected = [
        (FLOOR, "floor"),
        (NGINX, "nginx"),
        ("nginx-tuned", "nginx tuned"),
        ("hyper", "hyper"),
        ("stage01-blocking", "01"),
        ("stage02-threadpool", "02"),
        ("stage02-threadpool-rayon", "02 rayon"),
        ("stage02-threadpool-per-connection", "02 per-conn"),
        ("stage03-prefork", "03"),
        ("stage04-evented", "04"),
        ("stage05-async", "05"),
        ("stage02-threadpool-8", "02 ×8"),
        ("stage03-prefork-50-reuseport", "03 ×50 reuseport"),
    ];
    for (row, short) in expected {
        assert_eq!(short_name(row), short, "{row}");
    }
    let names = every_row_name();
    assert!(names.len() >= 15, "{names:?}");
    let legend = legend_markdown(&Report {
        servers: names.clone(),
        ..report(Vec::new())
    });
    for name in &names {
        let line = format!("- **{}** (`{name}`): ", short_name(name));
        assert!(
            legend.contains(&line),
            "{name} is not in the legend:\n{legend}"
        );
    }
    assert!(legend
        .contains("(`stage02-threadpool-8`): `stage02-threadpool` started with `--threads 8`."));
    assert!(legend.contains(
        "(`stage02-threadpool-rayon`): `stage02-threadpool` started with `--pool rayon`."
    ));
    let shorts: Vec<String> = names.iter().map(|name| short_name(name)).collect();
    for (i, short) in shorts.iter().enumerate() {
        assert!(
            !short.is_empty() && short.chars().count() <= 16,
            "{}: {short:?}",
            names[i]
        );
        assert!(
            shorts[i + 1..].iter().all(|other| other != short),
            "{} and another row are both {short:?}",
            names[i]
        );
    }
}

#[test]
fn a_closed_scenario_is_split_into_rate_latency_and_cost() {
    let mut failing = measured(
        "stage01-blocking",
        "small-keepalive-50",
        vec![sample(1000, 0.04)],
    );
    failing.status = Status::Errors;
    failing.samples[0].errors = 7;
    let report = report(vec![
        measured(FLOOR, "small-keepalive-50", vec![sample(4000, 0.02)]),
        measured(NGINX, "small-keepalive-50", vec![sample(2000, 0.03)]),
        failing,
        Row::without_numbers(
            "stage02-threadpool",
            "small-keepalive-50",
            Status::Unavailable("not implemented yet".into()),
        ),
    ]);
    let mut report = report;
    report.servers.push("stage02-threadpool".into());
    let scenario = scenario::find("small-keepalive-50").expect("a known scenario");
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    let headers: Vec<&Vec<String>> = found.iter().map(|table| &table[0]).collect();
    assert_eq!(
        headers,
        [
            &["server", "req/s", "spread", "×nginx", "×floor", "MB/s", "errors"]
                .map(String::from)
                .to_vec(),
            &["server", "p50", "p99", "p99.9"].map(String::from).to_vec(),
            &[
                "server",
                "CPU µs/req",
                "CPU ×nginx",
                "CPU ×floor",
                "switches/req",
                "peak RSS"
            ]
            .map(String::from)
            .to_vec(),
        ],
        "{markdown}"
    );
    for (caption, table) in ["*Rate*", "*Latency*", "*Cost*"].iter().zip(&found) {
        assert!(markdown.contains(caption), "{markdown}");
        // A line per server, each as wide as the header.
        assert_eq!(table.len(), 1 + 4, "{markdown}");
        assert!(
            table.iter().all(|line| line.len() == table[0].len()),
            "{markdown}"
        );
    }
    // nginx: half the floor's rate, at 15 µs against the floor's 5 µs per request.
    assert_eq!(
        found[0][2],
        ["nginx", "2000", "±0 %", "1.00×", "0.50×", "0", "0"]
    );
    assert_eq!(found[1][2], ["nginx", "100 µs", "900 µs", "1.50 ms"]);
    assert_eq!(
        found[2][2],
        ["nginx", "15.0", "1.00×", "3.00×", "1.10", "3.0 MiB"]
    );
    // The rows with something to say carry a footnote, labelled with the scenario's id.
    assert_eq!(found[0][3][0], "01[^small-keepalive-50-stage01-blocking]");
    assert_eq!(found[0][3][6], "7");
    assert_eq!(found[1][3][0], "01", "one mark per row is enough");
    assert_eq!(
        found[0][4][..2],
        ["02[^small-keepalive-50-stage02-threadpool]", "unavailable"]
    );
    assert!(
        markdown
            .contains("[^small-keepalive-50-stage01-blocking]: Did not survive without errors.\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "[^small-keepalive-50-stage02-threadpool]: Unavailable: not implemented yet.\n"
        ),
        "{markdown}"
    );
    let mut defined = footnote_definitions(&markdown);
    defined.sort();
    let mut referenced = footnote_references(&markdown);
    referenced.sort();
    assert_eq!(defined, referenced, "{markdown}");
}

#[test]
fn open_and_idle_scenarios_have_their_own_tables() {
    let mut idle = measured(FLOOR, "idle-connections", Vec::new());
    idle.idle = Some(Idle {
        attempted: 100,
        held: 100,
        rss_before: 1024 * 1024,
        rss_after: 1024 * 1024 + 100 * 2048,
        open_seconds: Some(0.25),
        new_request_us: Some(180.0),
        reused_asked: 100,
        reused_answered: 100,
        reuse_seconds: Some(0.0042),
    });
    let mut open = measured(NGINX, "open-loop-50", vec![sample(25_000, 0.3)]);
    open.samples[0].target_rate = Some(25_000.0);
    open.samples[0].lateness_p99_us = Some(12.0);
    open.note = "50 % of nginx's 50.0k".into();
    let mut behind = measured(FLOOR, "open-loop-50", vec![sample(20_000, 0.3)]);
    behind.samples[0].target_rate = Some(25_000.0);
    behind.note = "50 % of nginx's 50.0k; fell behind the schedule".into();
    let report = report(vec![idle, open, behind]);

    let idle_scenario = scenario::find("idle-connections").expect("known");
    let markdown = scenario_markdown(&report, &idle_scenario);
    let found = tables(&markdown);
    assert_eq!(found.len(), 2, "{markdown}");
    assert_eq!(
        found[0][1],
        ["floor", "100", "100", "250.00 ms", "180 µs", "4.20 ms"]
    );
    assert_eq!(found[1][1], ["floor", "1.0 MiB", "1.2 MiB", "2.0 KiB"]);

    let open_scenario = scenario::find("open-loop-50").expect("known");
    let markdown = scenario_markdown(&report, &open_scenario);
    let found = tables(&markdown);
    assert_eq!(found.len(), 2, "{markdown}");
    assert_eq!(
        found[0][0],
        [
            "server",
            "target",
            "achieved",
            "errors",
            "CPU µs/req",
            "lateness p99"
        ]
    );
    assert_eq!(
        found[0][2],
        ["nginx", "25.0k", "25.0k", "0", "12.0", "12 µs"]
    );
    assert_eq!(
        found[1][2],
        ["nginx", "100 µs", "900 µs", "1.50 ms", "2.00 ms"]
    );
    // What every row shares is said once; what only one row has is its footnote.
    assert!(
        markdown.contains("Every row: 50 % of nginx's 50.0k.\n"),
        "{markdown}"
    );
    assert_eq!(found[0][1][0], "floor[^open-loop-50-floor]");
    assert!(
        markdown.contains("[^open-loop-50-floor]: Fell behind the schedule.\n"),
        "{markdown}"
    );
    assert_eq!(footnote_definitions(&markdown), ["open-loop-50-floor"]);
}

/// A report with a row for every server the harness measures in every scenario: measured, with
/// errors, and each kind of row without numbers.
fn every_row() -> Report {
    let names = every_row_name();
    let mut rows = Vec::new();
    for (s, scenario) in scenario::all().iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let mut row = measured(name, scenario.id, vec![sample(1000 + i as u64, 0.01)]);
            row.samples[0].target_rate = Some(900.0);
            row.idle = Some(Idle {
                attempted: 10_000,
                held: 10_000 / (1 + i % 3),
                rss_before: 1 << 20,
                rss_after: 1 << 24,
                open_seconds: Some(2.5),
                new_request_us: Some(430.0),
                reused_asked: 100,
                reused_answered: 100 - i % 2,
                reuse_seconds: Some(0.0049),
            });
            if matches!(scenario.kind, scenario::Kind::Syscalls(_)) {
                row.syscalls = Some(crate::syscalls::tests::counts());
            }
            row.status = match (s + i) % 5 {
                0 => Status::Errors,
                1 => Status::NotApplicable("a fixed answer has no /slow route".into()),
                2 => Status::Unavailable("not built: (exit status: 101)".into()),
                3 => Status::Failed("the server died".into()),
                _ => Status::Ok,
            };
            if i % 2 == 0 {
                row.note = format!("{} % of nginx's 106.2k; fell behind the schedule", 25);
            }
            rows.push(row);
        }
    }
    let mut report = report(rows);
    report.servers = names;
    report
}

#[test]
fn every_generated_table_fits_the_text_column() {
    let report = every_row();
    let mut files: Vec<(String, String)> = vec![
        ("legend".into(), legend_markdown(&report)),
        ("generators".into(), ceilings_markdown(&report)),
        ("goals".into(), goals_markdown(&report, None)),
    ];
    for scenario in &report.scenarios {
        files.push((scenario.id.into(), scenario_markdown(&report, scenario)));
    }
    for server in &report.servers {
        files.push((server.clone(), server_markdown(&report, server)));
    }
    let mut widest = 0;
    for (name, markdown) in &files {
        for table in tables(markdown) {
            let columns = table[0].len();
            widest = widest.max(columns);
            assert!(
                columns <= MAX_COLUMNS,
                "{name} has {columns} columns:\n{markdown}"
            );
            assert!(
                table.iter().all(|line| line.len() == columns),
                "{name}: a line is not as wide as its header:\n{markdown}"
            );
        }
    }
    assert_eq!(widest, MAX_COLUMNS, "the rate table is the widest");
}

#[test]
fn the_legend_explains_every_column() {
    let report = every_row();
    let legend = legend_markdown(&report);
    let mut markdown: Vec<String> = report
        .scenarios
        .iter()
        .map(|scenario| scenario_markdown(&report, scenario))
        .collect();
    markdown.extend(
        report
            .servers
            .iter()
            .map(|server| server_markdown(&report, server)),
    );
    let mut explained = 0;
    for table in markdown.iter().flat_map(|text| tables(text)) {
        for column in &table[0][1..] {
            // A footnote's mark on a heading is not part of its name.
            let column = column.split("[^").next().unwrap_or_default();
            assert!(
                legend.contains(&format!("**{column}**")),
                "{column} is not in the legend:\n{legend}"
            );
            explained += 1;
        }
    }
    assert!(explained > 20);
}

#[test]
fn footnotes_are_unique_in_a_chapter_and_each_is_referred_to() {
    let report = every_row();
    // measuring.md includes every scenario's file, so labels must be unique across all of them.
    let chapter: String = report
        .scenarios
        .iter()
        .map(|scenario| scenario_markdown(&report, scenario))
        .collect();
    let defined = footnote_definitions(&chapter);
    assert!(defined.len() > report.scenarios.len(), "{chapter}");
    for (i, label) in defined.iter().enumerate() {
        assert!(!defined[i + 1..].contains(label), "{label} twice");
        // mdBook's footnote labels: no spaces, nothing to escape.
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{label}"
        );
    }
    let mut referenced = footnote_references(&chapter);
    referenced.sort();
    referenced.dedup();
    let mut sorted = defined.clone();
    sorted.sort();
    assert_eq!(referenced, sorted);
    for server in &report.servers {
        let own = server_markdown(&report, server);
        let defined = footnote_definitions(&own);
        assert!(!defined.is_empty(), "{own}");
        assert!(defined
            .iter()
            .all(|label| label.starts_with(server.as_str())));
        let mut referenced = footnote_references(&own);
        referenced.dedup();
        assert!(referenced.iter().all(|label| defined.contains(label)));
        assert!(defined.iter().all(|label| referenced.contains(label)));
    }
}

#[test]
fn statuses_are_written_in_words() {
    assert_eq!(
        Status::NotApplicable("stock nginx has no handler that blocks".into()).words(),
        "not applicable: stock nginx has no handler that blocks"
    );
    assert_eq!(Status::Failed(String::new()).words(), "failed");
    assert_eq!(Status::Errors.words(), "errors");
    let report = every_row();
    let debug_names = ["NotApplicable", "Unavailable(", "Failed(", "Errors", "Ok"];
    for scenario in &report.scenarios {
        let markdown = scenario_markdown(&report, scenario);
        for line in markdown.lines() {
            for debug in debug_names {
                assert!(!line.contains(debug), "{debug} in {line}");
            }
            // The only brackets are the footnote marks and those inside the reasons themselves.
            let without_reasons = line.replace("(exit status: 101)", "");
            assert!(!without_reasons.contains('('), "{line}");
        }
        for words in ["not applicable", "unavailable", "failed"] {
            assert!(markdown.contains(&format!("| {words} |")), "{markdown}");
        }
    }
}

#[test]
fn json_keeps_every_sample_and_the_header() {
    let report = report(vec![measured(
        NGINX,
        "small-keepalive-50",
        vec![sample(1000, 0.01), sample(1100, 0.01)],
    )]);
    let json = to_json(&report);
    assert_eq!(json["machine"]["cpu"], "Test CPU");
    assert_eq!(json["settings"]["open_loop_base"]["server"], NGINX);
    assert_eq!(json["rows"][0]["samples"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["rows"][0]["status"], "ok");
    assert_eq!(
        json["rows"][0]["summary"]["requests_per_second"]["median"],
        1050.0
    );
    assert_eq!(
        json["generator_ceilings"][0]["requests_per_second"],
        120_000.0
    );
    let header = header_markdown(&report);
    assert!(header.contains("Test CPU (2 cores)"), "{header}");
    assert!(
        header.contains("cargo bench --bench stages -- --quick"),
        "{header}"
    );
}

#[test]
fn goals_are_judged_against_the_references_of_the_same_run() {
    let row = |server: &str, requests, cpu| {
        measured(server, "small-keepalive-50", vec![sample(requests, cpu)])
    };
    let mut rows = vec![
        row(NGINX, 2000, 0.03),
        row(FLOOR, 4000, 0.02),
        // 12 µs per request: 0.8× nginx's 15, 2.4× the floor's 5.
        row("stage04-evented", 2500, 0.03),
    ];
    let mut idle = Row::without_numbers("stage05-async", "idle-connections", Status::Ok);
    idle.idle = Some(Idle {
        attempted: 10,
        held: 10,
        rss_before: 0,
        rss_after: 10 * 10 * 1024,
        ..Idle::default()
    });
    rows.push(idle);
    let counts = instruction_counts_from_json(
        r#"{"httparse/curl": 1000, "parse_head/curl": 1250, "machine/curl": 2500}"#,
    )
    .expect("valid counts");
    let goals = goals_markdown(&report(rows), Some(&counts));
    assert!(goals.contains("| instructions per request, `parse_head`, a curl request: at most 1.3× a bare httparse parse | 1.25× | met |"), "{goals}");
    assert!(goals.contains("| instructions per request, the whole machine answering, a curl request: at most 2× a bare httparse parse | 2.50× | **not met** |"), "{goals}");
    assert!(goals.contains("| instructions per request, `parse_head`, 16 pipelined requests: at most 1.3× a bare httparse parse | - | not measured in this run |"), "{goals}");
    assert!(goals.contains("| stage 04 CPU per request, small file, 50 connections: at most 0.7× nginx's | 0.80× | **not met** |"), "{goals}");
    assert!(goals.contains("| stage 04 requests/s, small file, 50 connections: at least 1× nginx's | 1.25× | met |"), "{goals}");
    assert!(
        goals.contains(
            "| stage05-async memory per idle connection: at most 3.1 KiB | 10.0 KiB (10240 bytes) | **not met** |"
        ),
        "{goals}"
    );
    assert!(goals.contains("| stage 05 CPU per request, small file, 50 connections: at most 0.8× nginx's | - | not measured in this run |"), "{goals}");
}

#[test]
fn http2_goals_compare_stage_07_with_nginx_and_hyper() {
    let row = |server: &str, scenario: &str, requests, cpu| {
        measured(server, scenario, vec![sample(requests, cpu)])
    };
    let rows = vec![
        row(NGINX, "h2-tls-m10", 2000, 0.04),
        row("stage07-http2", "h2-tls-m10", 2500, 0.04),
        row(NGINX, "h2c-m10", 3000, 0.03),
        row("stage07-http2", "h2c-m10", 2400, 0.03),
    ];
    let goals = goals_markdown(&report(rows), None);
    assert!(goals.contains("| stage 07 HTTP/2 requests/s with h2load -m 10 over TLS: at least nginx's | 1.25× | met |"), "{goals}");
    // 16 µs per request against nginx's 20.
    assert!(
        goals.contains(
            "| stage 07 CPU per request, h2load -m 10 over TLS: at most nginx's | 0.80× | met |"
        ),
        "{goals}"
    );
    assert!(
        goals.contains(
            "| stage 07 h2c requests/s -m 10: at least 1.0× nginx h2c | 0.80× | **not met** |"
        ),
        "{goals}"
    );
    assert!(goals.contains("| stage 07 h2c requests/s -m 10: at least 0.8× hyper h2c | - | not measured in this run |"), "{goals}");
    assert!(!goals.contains("not measured yet"), "{goals}");
}

#[test]
fn json_reads_back_into_the_same_report() {
    let mut unavailable = Row::without_numbers(
        "stage01-blocking",
        "small-keepalive-50",
        Status::Unavailable("did not start".into()),
    );
    unavailable.note = "a note".into();
    let mut idle = measured(FLOOR, "idle-connections", Vec::new());
    idle.idle = Some(Idle {
        attempted: 5,
        held: 4,
        rss_before: 10,
        rss_after: 20,
        open_seconds: Some(1.5),
        new_request_us: None,
        reused_asked: 4,
        reused_answered: 3,
        reuse_seconds: Some(0.01),
    });
    idle.status = Status::Errors;
    let mut open = measured(NGINX, "open-loop-50", vec![sample(100, 0.5)]);
    open.samples[0].target_rate = Some(100.0);
    open.samples[0].lateness_p99_us = Some(3.0);
    let mut traced = Row::without_numbers(NGINX, "syscalls-keepalive", Status::Ok);
    traced.syscalls = Some(crate::syscalls::Counts {
        requests: 10,
        calls: vec![crate::syscalls::Call {
            name: "epoll_wait".into(),
            calls: 12,
            errors: 0,
        }],
    });
    let original = report(vec![
        measured(NGINX, "small-keepalive-50", vec![sample(1000, 0.01)]),
        unavailable,
        idle,
        open,
        traced,
    ]);
    let read = from_json(&to_json(&original)).expect("reads back");
    assert_eq!(read.rows, original.rows);
    assert_eq!(read.machine, original.machine);
    assert_eq!(read.settings, original.settings);
    assert_eq!(read.ceilings, original.ceilings);
    assert_eq!(read.scenarios, original.scenarios);
    assert_eq!(read.servers, original.servers);
}

#[test]
fn an_older_file_without_a_server_list_gets_the_harness_order_back() {
    // A variant measured in one later scenario only, and its stage, in the order rows are written.
    let rows = vec![
        measured(
            "stage02-threadpool",
            "small-keepalive-1",
            vec![sample(1000, 0.01)],
        ),
        measured(
            "stage04-evented",
            "small-keepalive-1",
            vec![sample(1000, 0.01)],
        ),
        measured(
            "stage02-threadpool-8",
            "small-keepalive-50",
            vec![sample(1000, 0.01)],
        ),
    ];
    let mut json = to_json(&report(rows));
    json.as_object_mut().expect("an object").remove("servers");
    let read = from_json(&json).expect("reads back");
    assert_eq!(
        read.servers,
        [
            "stage02-threadpool",
            "stage02-threadpool-8",
            "stage04-evented"
        ]
    );
}

#[test]
fn context_switches_are_per_request_and_optional_in_older_results() {
    let row = measured(NGINX, "small-keepalive-50", vec![sample(1000, 0.01)]);
    // 1000 voluntary and 100 involuntary over 1000 requests.
    assert_eq!(row.summary().context_switches_per_request, Some(1.1));
    let mut json = to_json(&report(vec![row]));
    assert_eq!(
        json["rows"][0]["summary"]["context_switches_per_request"],
        1.1
    );
    // A results.json from before the harness read switches and timed the idle connections.
    let sample = json["rows"][0]["samples"][0]
        .as_object_mut()
        .expect("a sample object");
    sample.remove("voluntary_switches");
    sample.remove("involuntary_switches");
    json["rows"][0]["idle"] = serde_json::json!({
        "attempted": 10, "held": 10, "rss_before_bytes": 1, "rss_after_bytes": 2,
    });
    let read = from_json(&json).expect("older results read");
    assert_eq!(read.rows[0].samples[0].voluntary_switches, None);
    assert_eq!(read.rows[0].summary().context_switches_per_request, None);
    let idle = read.rows[0].idle.expect("idle read");
    assert_eq!(
        (idle.held, idle.open_seconds, idle.reuse_seconds),
        (10, None, None)
    );
    assert_eq!(read.rows[0].syscalls, None);
}

#[test]
fn a_lost_tail_percentile_is_shown_as_missing() {
    let mut lost = sample(1000, 0.01);
    lost.p99_us = 0.0;
    lost.p999_us = 0.0;
    let row = measured(FLOOR, "plaintext-pipelined", vec![lost]);
    let summary = row.summary();
    assert_eq!(summary.p50_us, Some(100.0));
    assert_eq!((summary.p99_us, summary.p999_us), (None, None));
    assert_eq!(micros(summary.p99_us), "-");
}

#[test]
fn numbers_read_well() {
    assert_eq!(count(1_440_000.0), "1.44M");
    assert_eq!(count(65_432.0), "65.4k");
    assert_eq!(count(950.4), "950");
    assert_eq!(micros(Some(812.0)), "812 µs");
    assert_eq!(micros(Some(21_500.0)), "21.50 ms");
    assert_eq!(micros(Some(2_500_000.0)), "2.50 s");
    assert_eq!(ratio(Some(3.0), Some(4.0)), "0.75×");
    assert_eq!(ratio(Some(3.0), None), "-");
}

#[test]
fn the_slow_clients_table_has_the_cut_connections_and_the_p99_beside_nginxs() {
    let scenario = scenario::find("slow-clients").expect("known");
    let slow = |cut: Vec<u64>| {
        Some(SlowClients {
            connections: 64,
            cut,
            answered: 0,
            fewest_connected: 64,
            failed_connects: 0,
        })
    };
    let mut nginx = measured(NGINX, scenario.id, vec![sample(2000, 0.02)]);
    nginx.slow_clients = slow(vec![150]);
    let mut stage02 = measured(
        "stage02-threadpool",
        scenario.id,
        vec![Sample {
            p99_us: 1800.0,
            ..sample(1000, 0.02)
        }],
    );
    stage02.slow_clients = slow(vec![140, 160, 150]);
    // Nothing answered: 0 req/s and no latencies, not a failure.
    let mut stage01 = measured(
        "stage01-blocking",
        scenario.id,
        vec![Sample {
            p50_us: 0.0,
            p99_us: 0.0,
            p999_us: 0.0,
            max_us: 0.0,
            errors: 50,
            ..sample(0, 0.0)
        }],
    );
    stage01.status = Status::Errors;
    stage01.slow_clients = slow(vec![3]);
    let mut report = report(vec![nginx, stage01, stage02]);
    report.servers = vec![
        NGINX.into(),
        "stage01-blocking".into(),
        "stage02-threadpool".into(),
    ];
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    assert_eq!(
        found[0][0],
        ["server", "req/s", "spread", "×nginx", "MB/s", "errors", "cut"]
    );
    assert_eq!(found[0][1][6], "150");
    assert_eq!(
        found[0][2][..4],
        ["01[^slow-clients-stage01-blocking]", "0", "±0 %", "0.00×"]
    );
    assert_eq!(found[0][2][6], "3");
    assert_eq!(found[0][3][3], "0.50×");
    assert_eq!(found[1][0], ["server", "p50", "p99", "p99 ×nginx", "p99.9"]);
    assert_eq!(found[1][1][2..4], ["900 µs", "1.00×"]);
    assert_eq!(found[1][2][1..], ["-", "-", "-", "-"]);
    assert_eq!(found[1][3][2..4], ["1.80 ms", "2.00×"]);
    assert_eq!(
        found[2][0],
        [
            "server",
            "CPU µs/req",
            "CPU ×nginx",
            "switches/req",
            "peak RSS"
        ]
    );
    // The counts survive results.json.
    let back = from_json(&to_json(&report)).expect("reads back");
    assert_eq!(back.rows, report.rows);
    // Every other closed-loop table is as it was: no cut column, the floor's ratios.
    let everyday = scenario::find("small-keepalive-50").expect("known");
    let other = tables(&scenario_markdown(&report, &everyday));
    assert!(other.is_empty() || !other[0][0].contains(&"cut".to_owned()));
}

#[test]
fn rows_with_the_same_note_share_one_footnote() {
    let failing = |server: &str| Row {
        status: Status::Errors,
        ..measured(server, "small-keepalive-1000", vec![sample(100, 0.01)])
    };
    let mut report = report(vec![
        measured(NGINX, "small-keepalive-1000", vec![sample(100, 0.01)]),
        failing("stage01-blocking"),
        failing("stage02-threadpool"),
        Row::without_numbers(
            "stage03-prefork",
            "small-keepalive-1000",
            Status::Failed("the server died".into()),
        ),
    ]);
    report.servers = vec![
        NGINX.into(),
        "stage01-blocking".into(),
        "stage02-threadpool".into(),
        "stage03-prefork".into(),
    ];
    let scenario = scenario::find("small-keepalive-1000").expect("known");
    let markdown = scenario_markdown(&report, &scenario);
    assert_eq!(
        footnote_definitions(&markdown),
        [
            "small-keepalive-1000-stage01-blocking",
            "small-keepalive-1000-stage03-prefork"
        ],
        "{markdown}"
    );
    let rate = &tables(&markdown)[0];
    assert_eq!(rate[1][0], "nginx");
    assert_eq!(rate[2][0], "01[^small-keepalive-1000-stage01-blocking]");
    assert_eq!(rate[3][0], "02[^small-keepalive-1000-stage01-blocking]");
    assert_eq!(
        rate[4][..2],
        ["03[^small-keepalive-1000-stage03-prefork]", "failed"]
    );
    assert!(
        markdown.contains("[^small-keepalive-1000-stage03-prefork]: Failed: the server died.\n")
    );
}

mod tls;
