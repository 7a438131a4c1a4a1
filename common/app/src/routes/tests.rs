//! Tests of the parent module.

use std::time::Instant;

use super::*;
use crate::{default_site_root, App, AppInfo};
use protocol::Method;

fn app() -> App {
    App::new(
        &default_site_root(),
        AppInfo {
            stage: "stage00-test",
            model: "unit tests, \"no\" server",
        },
        Instant::now(),
    )
    .expect("the bundled site is a directory")
}

fn text(response: &Response) -> String {
    match &response.body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Body::Empty => String::new(),
        other => panic!("expected bytes, got {other:?}"),
    }
}

fn get(app: &App, target: &str) -> Response {
    app.handle(&Request::new(Method::Get, target))
}

#[test]
fn hello_greets_the_decoded_name() {
    let app = app();
    let response = get(&app, "/hello/reader");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(text(&response), "Hello, reader!\n");
    assert_eq!(
        text(&get(&app, "/hello/J%C3%BCrgen%20K")),
        "Hello, Jürgen K!\n"
    );
}

#[test]
fn echo_returns_body_and_type() {
    let app = app();
    let mut request = Request::new(Method::Post, "/echo");
    request.body = bytes::Bytes::from_static(b"{\"a\":1}");
    request.headers.append("Content-Type", "application/json");
    let response = app.handle(&request);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.headers.get_str("content-type"),
        Some("application/json")
    );
    assert_eq!(text(&response), "{\"a\":1}");

    request.headers = Default::default();
    let response = app.handle(&request);
    assert_eq!(
        response.headers.get_str("content-type"),
        Some("application/octet-stream")
    );
}

#[test]
fn api_info_is_json_naming_the_stage() {
    let app = app();
    let response = get(&app, "/api/info");
    assert_eq!(
        response.headers.get_str("content-type"),
        Some("application/json")
    );
    let info: serde_json::Value = serde_json::from_str(&text(&response)).expect("valid JSON");
    assert_eq!(info["stage"], "stage00-test");
    assert_eq!(info["model"], "unit tests, \"no\" server");
    assert_eq!(info["pid"], std::process::id());
    assert!(info["uptime_seconds"].is_u64());
    assert_eq!(info["requests_served"], 1);
    assert_eq!(info["protocol"], "HTTP/1.1");
}

#[test]
fn slow_sleeps_and_says_so() {
    let app = app();
    let started = Instant::now();
    let response = get(&app, "/slow?ms=30");
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(text(&response), "slept 30 ms\n");
    assert!(app.may_block(&Request::new(Method::Get, "/slow?ms=30")));
    assert!(!app.may_block(&Request::new(Method::Get, "/plaintext")));
    assert!(!app.may_block(&Request::new(Method::Post, "/slow")));
}

#[test]
fn slow_refuses_bad_or_missing_ms() {
    let app = app();
    for target in [
        "/slow",
        "/slow?ms=",
        "/slow?ms=abc",
        "/slow?ms=-5",
        "/slow?ms=1.5",
    ] {
        let response = get(&app, target);
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{target}");
        assert!(text(&response).contains("ms"), "{target}");
    }
}

#[test]
fn plaintext_is_the_static_hello_world() {
    let response = get(&app(), "/plaintext");
    assert_eq!(response.headers.get_str("content-type"), Some("text/plain"));
    match &response.body {
        Body::Bytes(bytes) => {
            assert_eq!(&bytes[..], b"Hello, World!");
            // `from_static` keeps pointing at the constant: no copy was made.
            assert_eq!(bytes.as_ptr(), PLAINTEXT_BODY.as_ptr());
        }
        other => panic!("expected bytes, got {other:?}"),
    }
}

#[test]
fn healthz_is_ok() {
    let response = get(&app(), "/healthz");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(text(&response), "ok");
}

#[test]
fn metrics_count_by_status_class() {
    let app = app();
    get(&app, "/healthz");
    get(&app, "/nope");
    get(&app, "/nope");
    let response = get(&app, "/metrics");
    assert_eq!(
        response.headers.get_str("content-type"),
        Some("text/plain; version=0.0.4")
    );
    let body = text(&response);
    assert!(
        body.contains("stagecraft_requests_total{class=\"2xx\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("stagecraft_requests_total{class=\"4xx\"} 2\n"),
        "{body}"
    );
    assert!(body.contains("stagecraft_uptime_seconds "), "{body}");
    assert!(
        body.contains("model=\"unit tests, \\\"no\\\" server\"} 1\n"),
        "{body}"
    );
}

#[test]
fn metrics_have_the_latency_histogram_cumulative_up_to_inf() {
    let app = app();
    for _ in 0..3 {
        get(&app, "/plaintext");
    }
    let body = text(&get(&app, "/metrics"));
    let buckets: Vec<(&str, u64)> = body
        .lines()
        .filter_map(|line| line.strip_prefix("stagecraft_request_duration_seconds_bucket{le=\""))
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").expect("le=\"...\"} count");
            (le, count.parse().expect("a count"))
        })
        .collect();
    assert_eq!(buckets.len(), crate::stats::BUCKETS, "{body}");
    assert_eq!(buckets.first().map(|(le, _)| *le), Some("0.000001024"));
    assert_eq!(buckets.get(1).map(|(le, _)| *le), Some("0.00000128"));
    assert_eq!(buckets.last(), Some(&("+Inf", 3)), "{body}");
    assert!(
        buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "buckets are cumulative: {body}"
    );
    // The three /plaintext requests are counted; /metrics is still in flight.
    assert!(
        body.contains("\nstagecraft_request_duration_seconds_count 3\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE stagecraft_request_duration_seconds histogram\n"),
        "{body}"
    );
}

#[test]
fn decimal_seconds_are_exact() {
    assert_eq!(decimal_seconds(0), "0");
    assert_eq!(decimal_seconds(1_280), "0.00000128");
    assert_eq!(decimal_seconds(1 << 34), "17.179869184");
    assert_eq!(decimal_seconds(2_000_000_000), "2");
}

#[test]
fn server_status_is_served_as_a_page_and_as_json() {
    let app = app();
    let page = get(&app, "/server-status");
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers.get_str("content-type"), Some(templates::HTML));
    let script = get(&app, "/server-status.js");
    assert_eq!(script.status, StatusCode::OK);
    let json = get(&app, "/server-status?json");
    let value: serde_json::Value = serde_json::from_str(&text(&json)).expect("JSON");
    // The page, the script and this request itself.
    assert_eq!(value["requests_served"], 3, "{value}");
    assert_eq!(value["requests_in_flight"], 1, "{value}");
    assert_eq!(value["responses"]["2xx"], 2, "{value}");
}
