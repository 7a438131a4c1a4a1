//! `/server-status`: the server's counters ([`Stats`]) as a page a person reads, with a chart
//! of requests per second that refreshes itself, or as JSON for a program (`?json`, or
//! `Accept: application/json`).
//!
//! The page is the template `server_status.html`, escaped like every generated page. Its chart
//! is drawn by `/server-status.js`, a script served by the application itself: the page's
//! `Content-Security-Policy` ([`templates::CONTENT_SECURITY_POLICY`]) allows scripts from this
//! origin only, never inline ones, and `fetch` to this origin only (`connect-src 'self'`). The
//! script asks for the JSON once a second, turns the change in `requests_served` into a rate,
//! and moves the points of an inline SVG polyline; without script the page still shows the
//! numbers of the moment it was made.
//!
//! Both answers carry `Cache-Control: no-store` (RFC 9111 section 5.2.2.5: every read must come
//! from the server) and `Vary: Accept` (RFC 9110 section 12.5.5: the same URL gives HTML or
//! JSON by that field).

use std::time::Duration;

use serde::Serialize;

use crate::stats::{Snapshot, Stats};
use crate::{templates, AppInfo};
use protocol::{Request, Response, StatusCode};

/// The script that draws the page's chart, served as `/server-status.js`.
pub const SCRIPT: &str = include_str!("../templates/server-status.js");

// ANCHOR: status_json
/// The document `/server-status?json` returns.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    /// `"server"`: the counts of the whole server (every thread, every forked worker);
    /// `"process"`: this process's only.
    pub scope: &'static str,
    pub stage: &'a str,
    pub model: &'a str,
    /// The process that answered (in stage 03, the worker).
    pub pid: u32,
    pub uptime_seconds: f64,
    /// Requests that reached the application, this one included.
    pub requests_served: u64,
    /// Requests the application is answering now, this one included.
    pub requests_in_flight: u64,
    pub connections_open: u64,
    pub connections_total: u64,
    /// Responses by status class: `1xx` ... `5xx`.
    pub responses: Classes,
    /// Time spent in the application per request, from its buckets.
    pub latency_seconds: Latency,
    pub body_bytes_received: u64,
    pub body_bytes_sent: u64,
}

/// Responses by status class.
#[derive(Debug, Default, Serialize)]
pub struct Classes {
    #[serde(rename = "1xx")]
    pub informational: u64,
    #[serde(rename = "2xx")]
    pub successful: u64,
    #[serde(rename = "3xx")]
    pub redirection: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
}

/// The latency histogram summed up: the percentiles are the upper bounds of their buckets
/// (at most 25% above the true value), `null` before the first request is answered.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub count: u64,
    pub sum: f64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}
// ANCHOR_END: status_json

impl<'a> Status<'a> {
    /// The counters as they are now.
    pub fn now(info: &'a AppInfo, stats: &Stats) -> Status<'a> {
        let mut responses = Classes::default();
        for (class, count) in stats.responses_by_class() {
            let slot = match class {
                1 => &mut responses.informational,
                2 => &mut responses.successful,
                3 => &mut responses.redirection,
                4 => &mut responses.client_error,
                _ => &mut responses.server_error,
            };
            *slot = count;
        }
        Status {
            scope: stats.scope().as_str(),
            stage: info.stage,
            model: info.model,
            pid: std::process::id(),
            uptime_seconds: stats.uptime().as_secs_f64(),
            requests_served: stats.requests_served(),
            requests_in_flight: stats.requests_in_flight(),
            connections_open: stats.connections_open(),
            connections_total: stats.connections_total(),
            responses,
            latency_seconds: Latency::of(&stats.latency().snapshot()),
            body_bytes_received: stats.body_bytes_received(),
            body_bytes_sent: stats.body_bytes_sent(),
        }
    }
}

impl Latency {
    fn of(snapshot: &Snapshot) -> Latency {
        let count = snapshot.count();
        let seconds = |duration: Option<Duration>| duration.map(|d| d.as_secs_f64());
        Latency {
            count,
            sum: snapshot.sum().as_secs_f64(),
            p50: seconds(snapshot.percentile(0.5)),
            p90: seconds(snapshot.percentile(0.9)),
            p99: seconds(snapshot.percentile(0.99)),
            max: seconds((count > 0).then(|| snapshot.max())),
        }
    }
}

// ANCHOR: server_status
/// `GET /server-status`: the page, or the JSON when the query has `json` or the client accepts
/// `application/json` (and not HTML first: a browser's `Accept` names `text/html`).
pub fn server_status(info: &AppInfo, stats: &Stats, request: &Request) -> Response {
    let status = Status::now(info, stats);
    let response = if wants_json(request) {
        match serde_json::to_vec(&status) {
            Ok(json) => Response::with_body(StatusCode::OK, "application/json", json),
            // Serializing strings and numbers cannot fail; if it did, a 500 says so.
            Err(error) => Response::text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        }
    } else {
        page(&status)
    };
    response
        .header("cache-control", "no-store")
        .header("vary", "accept")
}
// ANCHOR_END: server_status

/// `GET /server-status.js`: the chart's script.
pub fn script(_: &Request, _: &crate::Params) -> Response {
    Response::with_body(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT)
}

fn wants_json(request: &Request) -> bool {
    if request.query_param("json").is_some() {
        return true;
    }
    let accept = request.headers.get_str("accept").unwrap_or("");
    let position = |media: &str| accept.find(media);
    match (position("application/json"), position("text/html")) {
        (Some(_), None) => true,
        (Some(json), Some(html)) => json < html,
        _ => false,
    }
}

/// One row of the page's tables: a label, a value as text, and the JSON field the script
/// updates it from.
#[derive(Serialize)]
struct Row {
    label: &'static str,
    value: String,
    field: &'static str,
}

fn page(status: &Status<'_>) -> Response {
    let counters = vec![
        row("Uptime", seconds(status.uptime_seconds), "uptime_seconds"),
        row(
            "Requests served",
            status.requests_served.to_string(),
            "requests_served",
        ),
        row(
            "Requests in flight",
            status.requests_in_flight.to_string(),
            "requests_in_flight",
        ),
        row(
            "Open connections",
            status.connections_open.to_string(),
            "connections_open",
        ),
        row(
            "Connections accepted",
            status.connections_total.to_string(),
            "connections_total",
        ),
        row(
            "Body octets received",
            status.body_bytes_received.to_string(),
            "body_bytes_received",
        ),
        row(
            "Body octets sent",
            status.body_bytes_sent.to_string(),
            "body_bytes_sent",
        ),
    ];
    let responses = vec![
        row("1xx", status.responses.informational.to_string(), "1xx"),
        row("2xx", status.responses.successful.to_string(), "2xx"),
        row("3xx", status.responses.redirection.to_string(), "3xx"),
        row("4xx", status.responses.client_error.to_string(), "4xx"),
        row("5xx", status.responses.server_error.to_string(), "5xx"),
    ];
    let latency = &status.latency_seconds;
    let latency = vec![
        row("Answered", latency.count.to_string(), "count"),
        row("p50", optional_seconds(latency.p50), "p50"),
        row("p90", optional_seconds(latency.p90), "p90"),
        row("p99", optional_seconds(latency.p99), "p99"),
        row("max", optional_seconds(latency.max), "max"),
    ];
    templates::page(
        StatusCode::OK,
        "server_status.html",
        templates::context! {
            stage => status.stage,
            model => status.model,
            pid => status.pid,
            scope => status.scope,
            counters => counters,
            responses => responses,
            latency => latency,
        },
    )
}

fn row(label: &'static str, value: String, field: &'static str) -> Row {
    Row {
        label,
        value,
        field,
    }
}

/// A duration for people: µs below a millisecond, ms below a second, else seconds. The script
/// formats the same way (`format` in server-status.js).
fn seconds(value: f64) -> String {
    if value < 0.001 {
        format!("{:.0} µs", value * 1e6)
    } else if value < 1.0 {
        format!("{:.2} ms", value * 1e3)
    } else {
        format!("{value:.1} s")
    }
}

fn optional_seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Body, Method};
    use std::time::Instant;

    const INFO: AppInfo = AppInfo {
        stage: "test-stage",
        model: "a <b>model</b> & \"quotes\"",
    };

    fn text(response: &Response) -> String {
        match &response.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("expected an in-memory body, got {other:?}"),
        }
    }

    fn json(stats: &Stats) -> serde_json::Value {
        let response = server_status(
            &INFO,
            stats,
            &Request::new(Method::Get, "/server-status?json"),
        );
        assert_eq!(
            response.headers.get_str("content-type"),
            Some("application/json")
        );
        serde_json::from_str(&text(&response)).expect("the JSON parses")
    }

    #[test]
    fn the_json_has_every_field_with_its_type() {
        let stats = Stats::new(Instant::now());
        let value = json(&stats);
        assert_eq!(value["scope"], "server");
        assert_eq!(value["stage"], "test-stage");
        assert_eq!(value["model"], INFO.model);
        assert!(value["pid"].is_u64());
        assert!(value["uptime_seconds"].is_f64());
        for field in [
            "requests_served",
            "requests_in_flight",
            "connections_open",
            "connections_total",
            "body_bytes_received",
            "body_bytes_sent",
        ] {
            assert_eq!(value[field], 0, "{field}: {value}");
        }
        for class in ["1xx", "2xx", "3xx", "4xx", "5xx"] {
            assert_eq!(value["responses"][class], 0, "{class}: {value}");
        }
        let latency = &value["latency_seconds"];
        assert_eq!(latency["count"], 0);
        assert_eq!(latency["sum"], 0.0);
        for field in ["p50", "p90", "p99", "max"] {
            assert!(
                latency[field].is_null(),
                "{field} before any request: {value}"
            );
        }
    }

    #[test]
    fn the_json_moves_with_requests() {
        let stats = Stats::new(Instant::now());
        let ok = Response::with_body(StatusCode::OK, "text/plain", "hello");
        for _ in 0..3 {
            stats.request_started().finish(&Method::Get, 0, &ok);
        }
        let _held = stats.request_started();
        let value = json(&stats);
        assert_eq!(value["requests_served"], 4);
        assert_eq!(value["requests_in_flight"], 1);
        assert_eq!(value["responses"]["2xx"], 3);
        assert_eq!(value["body_bytes_sent"], 15);
        let latency = &value["latency_seconds"];
        assert_eq!(latency["count"], 3);
        let (p50, max) = (latency["p50"].as_f64(), latency["max"].as_f64());
        assert!(
            p50.is_some_and(|p50| max.is_some_and(|max| p50 <= max)),
            "{value}"
        );
    }

    #[test]
    fn accept_chooses_json_unless_html_comes_first() {
        let with_accept = |accept: &str| {
            let mut request = Request::new(Method::Get, "/server-status");
            request.headers.append("accept", accept);
            wants_json(&request)
        };
        assert!(with_accept("application/json"));
        assert!(with_accept("application/json, text/html;q=0.5"));
        assert!(!with_accept("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!with_accept("*/*"));
        assert!(!wants_json(&Request::new(Method::Get, "/server-status")));
        assert!(wants_json(&Request::new(
            Method::Get,
            "/server-status?x=1&json"
        )));
    }

    #[test]
    fn the_page_escapes_and_has_its_parts() {
        let stats = Stats::new(Instant::now());
        let response = server_status(&INFO, &stats, &Request::new(Method::Get, "/server-status"));
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.headers.get_str("content-type"),
            Some(templates::HTML)
        );
        assert_eq!(response.headers.get_str("cache-control"), Some("no-store"));
        assert_eq!(
            response.headers.get_str("content-security-policy"),
            Some(templates::CONTENT_SECURITY_POLICY)
        );
        let page = text(&response);
        assert!(
            page.contains("<title>Server status: test-stage</title>"),
            "{page}"
        );
        assert!(
            page.contains("a &lt;b&gt;model&lt;&#x2f;b&gt; &amp; &quot;quotes&quot;"),
            "{page}"
        );
        assert!(!page.contains("<b>model"), "{page}");
        assert!(
            page.contains("<script src=\"/server-status.js\" defer></script>"),
            "{page}"
        );
        // The one script tag is the external one: nothing inline for the CSP to refuse.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(page.contains("<svg id=\"rate-chart\""), "{page}");
        assert!(page.contains("<polyline id=\"rate-line\""), "{page}");
        assert!(page.contains("data-field=\"requests_served\""), "{page}");
        assert!(page.contains("data-field=\"p99\""), "{page}");
        assert!(!page.contains("style="), "{page}");
    }

    #[test]
    fn the_script_is_javascript_fetching_the_json() {
        let response = script(
            &Request::new(Method::Get, "/server-status.js"),
            &crate::Params::default(),
        );
        assert_eq!(
            response.headers.get_str("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        let body = text(&response);
        assert!(body.contains("/server-status?json"), "{body}");
        assert!(body.contains("rate-line"), "{body}");
    }

    #[test]
    fn durations_read_in_the_unit_that_suits_them() {
        assert_eq!(seconds(0.000_042), "42 µs");
        assert_eq!(seconds(0.0125), "12.50 ms");
        assert_eq!(seconds(75.0), "75.0 s");
        assert_eq!(optional_seconds(None), "-");
    }
}
