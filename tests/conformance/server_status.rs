//! `/server-status` and the counters behind it (`app::stats`, `app::status`), as a client of
//! each stage sees them: the JSON's numbers move with the requests sent and the connections
//! held open, the page has its parts with the stage's text escaped, and `/metrics` carries the
//! latency histogram in the Prometheus text format (every sample line `name{labels} value`,
//! buckets cumulative up to `+Inf`, which equals `_count`).
//!
//! Stage 03's workers count into one shared mapping, so a second connection, which another
//! worker may serve (a worker serves one request at a time), is counted in the answer of the
//! first worker: the case checks that for every concurrent stage.
//!
//! One more check runs for stage 01 only, since it looks at the page and not the model: headless
//! Chromium loads the page, its script fetches the JSON and draws the chart (the polyline gets
//! points), and a screenshot is checked (kept in `target/tmp/server-status/status.png`).

use std::path::Path;

use serde_json::Value;
use stagekit::peers::{self, CHROMIUM};
use stagekit::{Conn, Server, Stage};

use crate::support::*;

/// Requests sent between two readings of the JSON.
const N: u64 = 5;

/// `GET /server-status?json` on `conn`, parsed.
fn status(conn: &mut Conn) -> Value {
    let asked = get("/server-status?json");
    conn.send(&asked).or_fail("sending GET /server-status?json");
    let response = expect_status(conn, &asked, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{response}"
    );
    assert_eq!(
        response.header("cache-control"),
        Some("no-store"),
        "{response}"
    );
    serde_json::from_str(&response.text())
        .unwrap_or_else(|error| panic!("/server-status?json is not JSON ({error}): {response}"))
}

/// A count in the JSON, by its path of keys.
fn count(value: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(value, |value, key| &value[*key])
        .as_u64()
        .unwrap_or_else(|| panic!("{} must be a count: {value}", path.join(".")))
}

pub fn the_json_counts_requests_connections_and_latency(stage: &Stage) {
    let server = Server::start(stage, &[]);
    // One keep-alive connection for every reading, so that stage 03's answers come from one
    // worker (though its counters are the whole server's anyway).
    let mut conn = connect(&server);
    let before = status(&mut conn);
    assert_eq!(before["scope"], "server", "{before}");
    assert_eq!(before["stage"], stage.package, "{before}");
    assert!(count(&before, &["connections_open"]) >= 1, "{before}");
    assert!(count(&before, &["requests_in_flight"]) >= 1, "{before}");
    for _ in 0..N {
        conn.send(get("/plaintext"))
            .or_fail("sending GET /plaintext");
        expect_status(&mut conn, &get("/plaintext"), 200);
    }
    let after = status(&mut conn);
    let grew = |path: &[&str]| count(&after, path).saturating_sub(count(&before, path));
    // N requests and the second reading itself.
    assert!(grew(&["requests_served"]) > N, "{before}\n{after}");
    assert!(grew(&["responses", "2xx"]) >= N, "{before}\n{after}");
    // The first reading and the N requests are answered; the second is still in flight.
    assert!(grew(&["latency_seconds", "count"]) > N, "{before}\n{after}");
    assert!(grew(&["body_bytes_sent"]) >= N * 13, "{before}\n{after}");
    assert!(count(&after, &["connections_open"]) >= 1, "{after}");
    let latency = &after["latency_seconds"];
    let seconds = |field: &str| {
        latency[field]
            .as_f64()
            .unwrap_or_else(|| panic!("latency {field} must be seconds after requests: {after}"))
    };
    let (p50, p90, p99, max) = (
        seconds("p50"),
        seconds("p90"),
        seconds("p99"),
        seconds("max"),
    );
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max && max < 10.0,
        "percentiles out of order: {after}"
    );
    assert!(after["uptime_seconds"].as_f64().is_some(), "{after}");

    // Accept asks for JSON too (on the same connection: stage 01 would make a second one wait
    // for this one to close).
    let asked = request("GET", "/server-status", &["Accept: application/json"], b"");
    conn.send(&asked)
        .or_fail("sending GET /server-status with Accept");
    let by_accept = expect_status(&mut conn, &asked, 200);
    assert_eq!(by_accept.header("content-type"), Some("application/json"));
    assert!(by_accept.has_token("vary", "accept"), "{by_accept}");

    if stage.capabilities.concurrent {
        // A second connection held open beside the first: stage 03 gives it to another
        // worker, whose request the first worker's answer must count.
        let mut second = connect(&server);
        let seen = count(&status(&mut conn), &["requests_served"]);
        second
            .send(get("/plaintext"))
            .or_fail("sending on the second connection");
        expect_status(&mut second, &get("/plaintext"), 200);
        let both = status(&mut conn);
        assert!(count(&both, &["connections_open"]) >= 2, "{both}");
        assert!(
            count(&both, &["requests_served"]) >= seen + 2,
            "the second connection's request is not counted: {seen} then {both}"
        );
    }
}

pub fn the_page_has_its_parts_and_escapes_the_model(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let info: Value = serde_json::from_str(&exchange(&server, &get("/api/info")).text())
        .or_fail("/api/info is JSON");
    let model = info["model"]
        .as_str()
        .unwrap_or_else(|| panic!("/api/info names the model: {info}"));
    let asked = request(
        "GET",
        "/server-status",
        &["Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
        b"",
    );
    let response = exchange(&server, &asked);
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{response}"
    );
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("the page has a CSP: {response}"));
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = response.text();
    assert!(
        page.contains(&format!("<title>Server status: {}</title>", stage.package)),
        "{page}"
    );
    // minijinja's escaping (& < > " ' /): stage 04's model has a slash.
    let escaped = model
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;");
    assert!(page.contains(&escaped), "{escaped} not in {page}");
    assert!(
        page.contains("<script src=\"/server-status.js\" defer></script>"),
        "{page}"
    );
    assert_eq!(
        page.matches("<script").count(),
        1,
        "an inline script: {page}"
    );
    for part in [
        "<svg id=\"rate-chart\"",
        "<polyline id=\"rate-line\"",
        "data-field=\"requests_served\"",
        "data-field=\"connections_open\"",
        "data-field=\"p99\"",
        "data-scope=\"server\"",
    ] {
        assert!(page.contains(part), "{part} not in {page}");
    }

    let script = exchange(&server, &get("/server-status.js"));
    assert_eq!(script.status, 200, "{script}");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8"),
        "{script}"
    );
    assert!(script.text().contains("/server-status?json"), "{script}");
}

/// A sample line's metric name, labels (name, unescaped value) and value.
type Sample<'a> = (&'a str, Vec<(String, String)>, f64);

/// Splits a sample line `name{labels} value` (labels optional), checking each part's grammar
/// (the text exposition format: names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label values quoted with
/// `\\`, `\"` and `\n` escapes, the value a float, `+Inf`, `-Inf` or `NaN`).
fn parse_sample(line: &str) -> Result<Sample<'_>, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !name_ok {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut inside) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inside.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = inside.split_once("=\"").ok_or("a label without =\"")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = after.chars();
            loop {
                match chars.next().ok_or("unterminated label value")? {
                    '"' => break,
                    '\\' => match chars.next().ok_or("a dangling escape")? {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    c => value.push(c),
                }
            }
            labels.push((key.to_owned(), value));
            inside = chars.as_str();
            inside = inside.strip_prefix(',').unwrap_or(inside);
        }
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse::<f64>()
            .map_err(|_| format!("bad value {other:?}"))?,
    };
    Ok((name, labels, value))
}

pub fn metrics_have_the_latency_histogram(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    for _ in 0..N {
        conn.send(get("/plaintext"))
            .or_fail("sending GET /plaintext");
        expect_status(&mut conn, &get("/plaintext"), 200);
    }
    conn.send(get("/metrics")).or_fail("sending GET /metrics");
    let text = expect_status(&mut conn, &get("/metrics"), 200).text();
    let mut buckets = Vec::new();
    let (mut sum, mut count) = (None, None);
    for line in text.lines().filter(|line| !line.is_empty()) {
        if line.starts_with('#') {
            continue;
        }
        let (name, labels, value) =
            parse_sample(line).unwrap_or_else(|error| panic!("{line:?}: {error}\n{text}"));
        match name {
            "stagecraft_request_duration_seconds_bucket" => {
                let [(key, le)] = labels.as_slice() else {
                    panic!("a bucket has one label, le: {line:?}");
                };
                assert_eq!(key, "le", "{line:?}");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse::<f64>().or_fail("le is a number")
                };
                buckets.push((le, value));
            }
            "stagecraft_request_duration_seconds_sum" => sum = Some(value),
            "stagecraft_request_duration_seconds_count" => count = Some(value),
            _ => {}
        }
    }
    assert!(
        text.contains("# TYPE stagecraft_request_duration_seconds histogram\n"),
        "{text}"
    );
    assert!(buckets.len() > 10, "too few buckets:\n{text}");
    assert!(
        buckets
            .windows(2)
            .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1),
        "buckets must rise in le and be cumulative:\n{text}"
    );
    let (last_le, last_count) = buckets[buckets.len() - 1];
    assert_eq!(last_le, f64::INFINITY, "the last bucket is +Inf:\n{text}");
    let count = count.unwrap_or_else(|| panic!("no _count line:\n{text}"));
    assert_eq!(count, last_count, "_count equals the +Inf bucket:\n{text}");
    assert!(count >= N as f64, "{N} requests, {count} counted:\n{text}");
    assert!(sum.is_some_and(|sum| sum > 0.0), "_sum:\n{text}");
}

/// The Chromium check: stage 01 only (the page and its script are the same from every stage).
mod stage01 {
    use super::*;

    const WIDTH: u32 = 800;
    const HEIGHT: u32 = 900;
    /// The chart's line (common/app/templates/server_status.html).
    const LINE: [u8; 3] = [0x1d, 0x5f, 0xa8];

    #[test]
    fn chromium_draws_the_chart() {
        let Some(program) = peers::require(CHROMIUM, "server_status::chromium_draws_the_chart")
        else {
            return;
        };
        let server = Server::start(&crate::stage01_blocking::STAGE, &[]);
        let url = server.url("/server-status");

        // Virtual time: the page's timers run three seconds' worth, waiting on its fetches.
        let budget = "--virtual-time-budget=3500";
        let ran = chromium(&program, &[budget, "--dump-dom"], &url);
        assert!(ran.0, "chromium --dump-dom failed:\n{}", ran.2);
        let dom = &ran.1;
        assert!(dom.contains("<h1>Server status</h1>"), "{dom}");
        let points = dom
            .split("id=\"rate-line\"")
            .nth(1)
            .and_then(|after| after.split("points=\"").nth(1))
            .and_then(|after| after.split('"').next())
            .unwrap_or_else(|| panic!("no polyline points in the DOM:\n{dom}"));
        let drawn = points.split_whitespace().count();
        assert!(
            drawn >= 2,
            "the script drew {drawn} point(s) ({points:?}): did it run, did the CSP refuse it?\n{dom}"
        );
        assert!(dom.contains(" requests/s"), "the chart's labels: {dom}");

        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("server-status");
        std::fs::create_dir_all(&dir).or_fail("making target/tmp/server-status");
        let shot = dir.join("status.png");
        // A screenshot left by an earlier run must not pass for this one.
        let _ = std::fs::remove_file(&shot);
        let screenshot = format!("--screenshot={}", shot.display());
        let window = format!("--window-size={WIDTH},{HEIGHT}");
        let ran = chromium(&program, &[budget, &screenshot, &window], &url);
        assert!(ran.0, "chromium --screenshot failed:\n{}", ran.2);
        let rgb = screenshot_pixels(&shot, WIDTH, HEIGHT);
        let near = |pixel: &[u8; 3], colour: &[u8; 3]| {
            pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(*b) <= 24)
        };
        let line = rgb.iter().filter(|pixel| near(pixel, &LINE)).count();
        let mut colours = rgb.clone();
        colours.sort_unstable();
        colours.dedup();
        let shown = format!(
            "{}: {line} pixels of the chart's line, {} colours",
            shot.display(),
            colours.len()
        );
        assert!(line > 100, "no line drawn: {shown}");
        assert!(
            colours.len() > 20,
            "too few colours for a page of text: {shown}"
        );
    }
}

/// `/metrics` read by the Prometheus client library's own parser (`prometheus_client`, through
/// `tests/conformance/scripts/parse_metrics.py`): it accepts the page, and finds every family
/// with its type and the values this case caused: requests by status class and by protocol, a
/// refusal of a malformed request, the open connection this case reads on, the body octets
/// received, and a histogram whose `+Inf` bucket equals its count.
pub fn metrics_parse_with_the_prometheus_parser(stage: &Stage) {
    let check = format!("{}: /metrics through prometheus_client", stage.package);
    let Some(python) =
        peers::require_python_module("prometheus_client", "prometheus-client", &check)
    else {
        return;
    };
    let server = Server::start(stage, &[]);
    // A refusal first, on its own connection (the machine closes it after the 400).
    let refused = exchange(&server, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_eq!(refused.status, 400, "{refused}");
    let mut conn = connect(&server);
    let echo = request("POST", "/echo", &[], b"twelve bytes");
    conn.send(&echo).or_fail("sending POST /echo");
    expect_status(&mut conn, &echo, 200);
    conn.send(get("/metrics")).or_fail("sending GET /metrics");
    let text = expect_status(&mut conn, &get("/metrics"), 200).text();

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/scripts/parse_metrics.py");
    let mut child = std::process::Command::new(python)
        .arg("-B")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .or_fail("running the parser");
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes()).or_fail("writing the page");
    }
    let output = child.wait_with_output().or_fail("waiting for the parser");
    assert!(
        output.status.success(),
        "{check}: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let families: Value = serde_json::from_slice(&output.stdout).or_fail("the parser's JSON");
    // The value of `sample` (a full sample name) with `labels`, in `family`.
    let value = |family: &str, sample: &str, labels: &[(&str, &str)]| -> f64 {
        let samples = families[family]["samples"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        samples
            .iter()
            .find(|entry| {
                entry[0] == sample
                    && labels
                        .iter()
                        .all(|(key, wanted)| entry[1][*key].as_str() == Some(*wanted))
            })
            .and_then(|entry| entry[2].as_f64())
            .unwrap_or_else(|| panic!("{check}: no {sample} {labels:?} in the parsed page\n{text}"))
    };
    for (family, kind) in [
        ("stagecraft_requests", "counter"),
        ("stagecraft_requests_by_protocol", "counter"),
        ("stagecraft_refusals", "counter"),
        ("stagecraft_request_duration_seconds", "histogram"),
        ("stagecraft_requests_in_flight", "gauge"),
        ("stagecraft_connections_open", "gauge"),
        ("stagecraft_connections", "counter"),
        ("stagecraft_request_body_bytes", "counter"),
        ("stagecraft_response_body_bytes", "counter"),
        ("stagecraft_draining", "gauge"),
        ("stagecraft_uptime_seconds", "gauge"),
        ("stagecraft_info", "gauge"),
    ] {
        assert_eq!(
            families[family]["type"].as_str(),
            Some(kind),
            "{check}: family {family}\n{text}"
        );
    }
    assert!(
        value(
            "stagecraft_requests",
            "stagecraft_requests_total",
            &[("class", "2xx")]
        ) >= 1.0
    );
    assert!(
        value(
            "stagecraft_requests_by_protocol",
            "stagecraft_requests_by_protocol_total",
            &[("protocol", "HTTP/1.1")]
        ) >= 1.0
    );
    assert_eq!(
        value(
            "stagecraft_refusals",
            "stagecraft_refusals_total",
            &[("reason", "malformed")]
        ),
        1.0,
        "{check}: the duplicate Host is one malformed refusal\n{text}"
    );
    assert!(
        value(
            "stagecraft_connections_open",
            "stagecraft_connections_open",
            &[]
        ) >= 1.0
    );
    assert!(
        value(
            "stagecraft_request_body_bytes",
            "stagecraft_request_body_bytes_total",
            &[]
        ) >= 12.0
    );
    assert_eq!(
        value("stagecraft_draining", "stagecraft_draining", &[]),
        0.0
    );
    let histogram = "stagecraft_request_duration_seconds";
    assert_eq!(
        value(histogram, &format!("{histogram}_bucket"), &[("le", "+Inf")]),
        value(histogram, &format!("{histogram}_count"), &[]),
        "{check}: the +Inf bucket counts every request\n{text}"
    );
}
