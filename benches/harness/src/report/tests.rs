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

#[test]
fn closed_table_has_ratios_to_nginx_and_floor_and_a_line_per_server() {
    let report = report(vec![
        measured(FLOOR, "small-keepalive-50", vec![sample(4000, 0.02)]),
        measured(NGINX, "small-keepalive-50", vec![sample(2000, 0.03)]),
        Row::without_numbers(
            "stage01-blocking",
            "small-keepalive-50",
            Status::Unavailable("not implemented yet".into()),
        ),
    ]);
    let scenario = scenario::find("small-keepalive-50").expect("a known scenario");
    let table = scenario_markdown(&report, &scenario);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + 3, "{table}");
    // nginx: half the floor's rate, at 15 µs against the floor's 5 µs per request.
    assert!(
        lines[3].starts_with("| nginx | 2000 | ±0 % | 1.00× | 0.50× |"),
        "{table}"
    );
    assert!(
        lines[3].contains("| 15.0 | 1.00× | 3.00× | 3.0 MiB |"),
        "{table}"
    );
    assert!(lines[4].contains("unavailable"), "{table}");
    assert!(lines[4].contains("not implemented yet"), "{table}");
    // Every line has the same number of cells as the header.
    let cells = |line: &str| line.matches('|').count();
    assert!(
        lines.iter().all(|line| cells(line) == cells(lines[0])),
        "{table}"
    );
}

#[test]
fn idle_and_open_tables_show_their_own_measures() {
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
    let report = report(vec![idle, open]);

    let idle_scenario = scenario::find("idle-connections").expect("known");
    let table = scenario_markdown(&report, &idle_scenario);
    assert!(
        table.contains(
            "| floor | 100 / 100 | 1.0 MiB | 1.2 MiB | 2.0 KiB | 250.00 ms | 180 µs | 4.20 ms |"
        ),
        "{table}"
    );

    let open_scenario = scenario::find("open-loop-50").expect("known");
    let table = scenario_markdown(&report, &open_scenario);
    assert!(
        table.contains("| nginx | 25.0k | 25.0k | 100 µs | 900 µs | 1.50 ms |"),
        "{table}"
    );
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
            "| stage05-async memory per idle connection: at most 3.1 KiB | 10.0 KiB | **not met** |"
        ),
        "{goals}"
    );
    assert!(goals.contains("| stage 05 CPU per request, small file, 50 connections: at most 0.8× nginx's | - | not measured in this run |"), "{goals}");
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
