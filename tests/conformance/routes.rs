//! The demo routes of the application every stage serves (design.md, "The application").

use std::time::{Duration, Instant};

use stagekit::{Server, Stage};

use crate::support::*;

pub fn hello_echoes_the_name(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/hello/stagecraft"));
    assert_eq!(response.status, 200, "{response}");
    assert!(response.text().contains("stagecraft"), "{response}");
}

/// A route parameter comes from the client: reflected into HTML unescaped it is an XSS hole.
pub fn hello_does_not_reflect_markup_into_html(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/hello/%3Cscript%3Ealert(1)%3C%2Fscript%3E"));
    let is_html = response
        .header("content-type")
        .is_some_and(|value| value.contains("html"));
    if is_html {
        assert!(
            !response.text().contains("<script>"),
            "markup from the URL reached an HTML page unescaped: {response}"
        );
    }
    assert!(
        matches!(response.status, 200 | 400 | 404),
        "unexpected status: {response}"
    );
}

/// The TechEmpower plaintext test: a fixed body and type.
pub fn plaintext_is_hello_world(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/plaintext"));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.text(), "Hello, World!");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "{response}"
    );
}

pub fn healthz_is_ok(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/healthz"));
    assert_eq!(response.status, 200, "{response}");
}

/// `/api/info` describes the process that answered: the PID is the server's own (or, for a
/// stage with worker processes, one of its children), and the request counter goes up.
pub fn api_info_is_json_about_this_process(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let mut served = Vec::new();
    for _ in 0..2 {
        conn.send(get("/api/info")).or_fail("sending");
        let response = expect_status(&mut conn, &get("/api/info"), 200);
        assert!(
            response
                .header("content-type")
                .is_some_and(|value| value.starts_with("application/json")),
            "{response}"
        );
        let info: serde_json::Value =
            serde_json::from_slice(&response.body).or_fail("parsing /api/info as JSON");
        for field in ["stage", "model"] {
            assert!(
                info[field].as_str().is_some_and(|text| !text.is_empty()),
                "{field} must be a non-empty string: {info}"
            );
        }
        let pid = info["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("pid must be a number: {info}"));
        assert!(
            pid == u64::from(server.pid()) || parent_of(pid) == Some(u64::from(server.pid())),
            "pid {pid} is neither the server ({}) nor one of its children",
            server.pid()
        );
        assert!(
            info["uptime_seconds"].as_f64().is_some_and(|up| up >= 0.0),
            "uptime_seconds must be a non-negative number: {info}"
        );
        // The suite's connections speak HTTP/1.1 (over TLS too: its ALPN offers only that).
        assert_eq!(
            info["protocol"], "HTTP/1.1",
            "protocol must name the version the request came by: {info}"
        );
        served.push(
            info["requests_served"]
                .as_u64()
                .unwrap_or_else(|| panic!("requests_served must be a count: {info}")),
        );
    }
    assert!(
        served[1] > served[0],
        "requests_served did not grow: {served:?}"
    );
}

pub fn slow_waits_the_requested_time(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let started = Instant::now();
    let response = exchange(&server, &get("/slow?ms=300"));
    let took = started.elapsed();
    assert_eq!(response.status, 200, "{response}");
    assert!(
        took >= Duration::from_millis(300),
        "/slow?ms=300 answered after {took:?}"
    );
    assert!(took < Duration::from_secs(3), "/slow?ms=300 took {took:?}");
}

/// Prometheus text exposition format: `# HELP` / `# TYPE` comments and `name value` samples.
pub fn metrics_are_prometheus_text(stage: &Stage) {
    let server = Server::start(stage, &[]);
    exchange(&server, &get("/plaintext"));
    let response = exchange(&server, &get("/metrics"));
    assert_eq!(response.status, 200, "{response}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "{response}"
    );
    let text = response.text();
    let samples: Vec<&str> = text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert!(!samples.is_empty(), "no samples in /metrics:\n{text}");
    for sample in samples {
        let value = sample.rsplit(' ').next().unwrap_or("");
        assert!(
            value.parse::<f64>().is_ok(),
            "sample {sample:?} does not end in a number"
        );
    }
}

/// The parent PID of `pid`, from /proc (Linux).
fn parent_of(pid: u64) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may contain spaces, so count fields after its `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// A handler that panics is one 500, and the same connection is answered again after it.
pub fn a_panicking_handler_is_a_500_and_the_connection_goes_on(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    conn.send(get("/panic")).or_fail("sending GET /panic");
    let failed = expect_status(&mut conn, &get("/panic"), 500);
    assert!(
        !failed.text().contains("on purpose"),
        "the panic message is for the log, not the client: {failed}"
    );
    conn.send(get("/plaintext"))
        .or_fail("sending GET /plaintext");
    expect_status(&mut conn, &get("/plaintext"), 200);
    // On the same connection, so that stage 03's answer comes from the worker that counted it.
    conn.send(get("/metrics")).or_fail("sending GET /metrics");
    let metrics = expect_status(&mut conn, &get("/metrics"), 200);
    assert!(
        metrics
            .text()
            .contains("stagecraft_requests_total{class=\"5xx\"} 1"),
        "{metrics}"
    );
}
