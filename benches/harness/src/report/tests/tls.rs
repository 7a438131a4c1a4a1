//! The tables of the system-call, handshake, instruction-count and TLS scenarios, and the TLS
//! goals: the rows that are not wrk's rates and latencies.

use super::*;

#[test]
fn system_calls_are_three_narrow_tables_with_every_server_in_each() {
    let scenario = scenario::find("syscalls-keepalive").expect("the keep-alive syscall scenario");
    let mut measured = Row::without_numbers("stage04-evented", scenario.id, Status::Ok);
    measured.syscalls = Some(crate::syscalls::tests::counts());
    let missing = Row::without_numbers(
        NGINX,
        scenario.id,
        Status::Unavailable("strace is not installed".into()),
    );
    let report = Report {
        servers: vec![NGINX.into(), "stage04-evented".into()],
        ..report(vec![missing, measured])
    };
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    assert_eq!(found.len(), 3, "{markdown}");
    // Requests, the total, then read/recvfrom (2.5: the two share a column), writes, sendfile.
    assert_eq!(found[0][2], ["04", "1000", "5.00", "2.50", "1.00", "0.00"]);
    // The last table ends with the calls in no column: madvise's 0.5 per request.
    assert_eq!(found[2][2].last().map(String::as_str), Some("0.50"));
    assert_eq!(found[2][2][1], "1.00", "epoll_wait: {markdown}");
    for table in &found {
        assert!(table[0].len() <= MAX_COLUMNS, "{markdown}");
        assert_eq!(table[1][1], "unavailable", "{markdown}");
    }
    assert!(markdown.contains("strace is not installed"), "{markdown}");
}

fn handshake_row(server: &str, scenario: &str, completed: u64, resumed: u64, cpu: f64) -> Row {
    let mut sample = sample(completed, cpu);
    sample.bytes = 0;
    sample.resumed = Some(resumed);
    measured(server, scenario, vec![sample])
}

#[test]
fn handshake_tables_give_the_rate_the_resumed_share_and_the_cost_per_handshake() {
    let scenario = scenario::find("tls-handshakes-resumed-13").expect("known");
    let nginx = handshake_row(NGINX, scenario.id, 4000, 4000, 0.4);
    // 3 of 5000 handshakes were full: 100 % once rounded, and the note says so.
    let mut stage = handshake_row("stage06-tls", scenario.id, 5000, 4997, 0.25);
    stage.note = "3 of 5000 handshakes were full, not resumed".into();
    let ring = Row::without_numbers(
        "stage06-tls-ring",
        scenario.id,
        Status::Failed("the session store was not filled".into()),
    );
    let report = Report {
        servers: vec![
            NGINX.into(),
            "stage06-tls".into(),
            "stage06-tls-ring".into(),
        ],
        ..report(vec![nginx, stage, ring])
    };
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    assert_eq!(found.len(), 2, "{markdown}");
    assert_eq!(
        found[0][0],
        [
            "server",
            "handshakes/s[^tls-handshakes-resumed-13-client]",
            "spread",
            "×nginx",
            "resumed",
            "errors"
        ]
    );
    assert_eq!(
        found[0][1],
        ["nginx", "4000", "±0 %", "1.00×", "100 %", "0"]
    );
    assert_eq!(found[0][2][1..], ["5000", "±0 %", "1.25×", "100 %", "0"]);
    assert!(found[0][2][0].starts_with("06[^"), "{markdown}");
    assert_eq!(found[0][3][1], "failed");
    // 50 µs against nginx's 100: the CPU per handshake, beside the rate.
    assert_eq!(found[1][0][1], "CPU µs/handshake");
    assert_eq!(found[1][2][1..3], ["50.0", "0.50×"]);
    // The footnote on the rate says why the CPU figure is the fairer one; the row's own note
    // is there too.
    assert!(markdown.contains("[^tls-handshakes-resumed-13-client]: The client, the harness's own"));
    assert!(markdown.contains("3 of 5000 handshakes were full, not resumed."));
    for table in &found {
        assert!(table[0].len() <= MAX_COLUMNS);
    }
}

#[test]
fn instruction_counts_are_a_table_of_their_own_against_nginx() {
    let scenario = scenario::find("tls-handshake-instructions").expect("known");
    let counts = |x25519, hybrid| crate::callgrind::HandshakeInstructions {
        handshakes: 200,
        x25519: Some(x25519),
        hybrid,
    };
    let mut nginx = Row::without_numbers(NGINX, scenario.id, Status::Ok);
    nginx.instructions = Some(counts(2_000_000.0, None));
    let mut stage = Row::without_numbers("stage06-tls", scenario.id, Status::Ok);
    stage.instructions = Some(counts(1_500_000.0, Some(1_800_000.0)));
    let report = Report {
        servers: vec![NGINX.into(), "stage06-tls".into()],
        ..report(vec![nginx, stage])
    };
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    assert_eq!(found.len(), 1, "{markdown}");
    assert_eq!(found[0][1], ["nginx", "2.00M", "1.00×", "-", "-", "200"]);
    assert_eq!(
        found[0][2],
        ["06", "1.50M", "0.75×", "1.80M", "1.20×", "200"]
    );
    // Not a stage's own rate or cost: its own table leaves the counts out.
    assert!(!server_markdown(&report, "stage06-tls").contains(scenario.id));
}

#[test]
fn tls_goals_are_judged_against_nginx_over_tls() {
    let small = "tls-small-keepalive-50";
    let full = "tls-handshakes-full-13";
    let mut rows = vec![
        measured(NGINX, small, vec![sample(2000, 0.04)]),
        measured("stage06-tls", small, vec![sample(2200, 0.033)]),
        handshake_row(NGINX, full, 1000, 0, 0.5),
        handshake_row("stage06-tls", full, 1200, 0, 0.3),
    ];
    let mut idle = Row::without_numbers("stage06-tls", "tls-idle-connections", Status::Ok);
    idle.idle = Some(Idle {
        attempted: 10_000,
        held: 10_000,
        rss_before: 0,
        rss_after: 10_000 * 12 * 1024,
        ..Idle::default()
    });
    rows.push(idle);
    let goals = goals_markdown(&report(rows), None);
    for line in [
        "| stage 06 requests/s over TLS, small file, 50 connections: at least 1× nginx's | 1.10× | met |",
        // 15 µs against nginx's 20.
        "| stage 06 CPU per request over TLS, small file, 50 connections: at most 1× nginx's | 0.75× | met |",
        "| stage 06 new full handshakes/s, TLS 1.3, ECDSA P-256, X25519: at least 1.5× nginx's | 1.20× | **not met** |",
        "| stage 06 memory per idle TLS connection: at most 20 KiB | 12.0 KiB, 10000 held | met |",
        "| stage 06 resumed handshakes/s, TLS 1.3: reported against nginx's | - | not measured in this run |",
        "| stage 06 throughput over TLS, 1 MiB file: at least 1× nginx's | - | not measured in this run |",
    ] {
        assert!(goals.contains(line), "{line}\n{goals}");
    }
    assert!(goals.contains("CPU per full handshake"), "{goals}");
    assert!(goals.contains("| 0.50× | reported, no goal |"), "{goals}");
}

#[test]
fn a_new_connection_per_request_over_tls_is_set_beside_plain_http() {
    let scenario = scenario::find("tls-connection-per-request").expect("known");
    let nginx = handshake_row(NGINX, scenario.id, 1000, 0, 0.8);
    let mut plain = measured("stage05-async", scenario.id, vec![sample(8000, 0.8)]);
    plain.note = "over plain HTTP, without TLS: the baseline".into();
    let stage = handshake_row("stage06-tls", scenario.id, 2000, 0, 1.0);
    let report = Report {
        servers: vec![NGINX.into(), "stage05-async".into(), "stage06-tls".into()],
        ..report(vec![nginx, plain, stage])
    };
    let markdown = scenario_markdown(&report, &scenario);
    let found = tables(&markdown);
    assert_eq!(found[0][0][1], "req/s[^tls-connection-per-request-client]");
    assert_eq!(found[0][0][4], "×plain");
    // 2000 of 8000 plain requests; 500 µs against plain's 100: a handshake costs four more.
    assert_eq!(
        found[0][3][1..],
        ["2000", "±0 %", "2.00×", "0.25×", "0 %", "0"]
    );
    assert_eq!(
        found[1][0][1..4],
        ["CPU µs/req", "CPU ×nginx", "CPU ×plain"]
    );
    assert_eq!(found[1][3][1..4], ["500.0", "0.62×", "5.00×"]);
    // The plain row resumes nothing: it has no handshake.
    assert_eq!(found[0][2][5], "-");
    for table in &found {
        assert!(table[0].len() <= MAX_COLUMNS);
    }
}
