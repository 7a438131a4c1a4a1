//! The demo routes: each one shows something about the server that serves it.
//!
//! | route | shows |
//! |---|---|
//! | `GET /` | the home page, the bundled site's `index.html` |
//! | `POST /` | the site's form (`form.html`), received: the fields back, and the protocol they came by |
//! | `GET /hello/{name}` | a route parameter, percent-decoded |
//! | `POST /echo` | that request bodies arrive whole, however they were framed |
//! | `POST /upload` | with `--upload-dir`: `multipart/form-data` files streamed to disk, never whole in memory ([`upload`]) |
//! | `GET /api/info` | which stage is answering, as JSON |
//! | `GET /slow?ms=N` | a handler that blocks: who else waits while it sleeps? |
//! | `GET /plaintext` | the cost of the server itself, with a handler that costs nothing |
//! | `GET /healthz` | liveness, for load balancers |
//! | `GET /panic` | a handler with a bug: one failed request is one 500, not a dead connection |
//! | `GET /metrics` | counters and the latency histogram in the Prometheus text format |
//! | `GET /server-status` | the same counters as a page with a live chart, or JSON (`?json`) |
//! | `GET /server-status.js` | the script that draws that chart (no inline script: the CSP) |
//!
//! Status codes follow RFC 9110 section 15: 400 for a request the handler cannot make sense of
//! (section 15.5.1), 500 only for the server's own failures.

use std::fmt::Write as _;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use super::access_log::AccessLog;
use super::allowed_hosts::AllowedHosts;
use super::basic_auth::{BasicAuth, Htpasswd};
use super::builder::AppBuilder;
use super::cors::Cors;
use super::error_pages::ErrorPages;
use super::path::check_path;
use super::rate_limit::RateLimit;
use super::root::DocumentRoot;
use super::router::Params;
use super::security_headers::SecurityHeaders;
use super::static_files::StaticFiles;
use super::stats::Stats;
use super::{form, status, templates, upload, AppError, AppInfo, SiteOptions};
use protocol::{Body, Request, Response, StatusCode};

/// The longest `/slow` will sleep, so that one request cannot hold a worker for minutes.
pub const MAX_SLOW_MS: u64 = 10_000;

/// The `/plaintext` body. A `static`, so it has one address that the test can check the
/// response points at.
static PLAINTEXT_BODY: &[u8] = b"Hello, World!";

// ANCHOR: route_table
/// The demo site, written with the same builder a reader's app uses: its routes, then static
/// files from `root` for any GET or HEAD that no route takes.
pub fn demo_site(app: AppBuilder, options: &SiteOptions) -> Result<AppBuilder, AppError> {
    let info = app.info();
    let stats = app.stats();
    let metrics_stats = Arc::clone(&stats);
    let status_stats = Arc::clone(&stats);
    let health_stats = Arc::clone(&stats);
    let mut root = DocumentRoot::open(&options.root)?;
    root.set_lists_directories(options.dir_listing);
    let root = Arc::new(StaticFiles::with_virtual_hosts(
        root,
        &options.vhosts,
        options.static_files.clone(),
    )?);
    let error_pages = ErrorPages::open(&options.root)?;
    let home_root = Arc::clone(&root);
    // The access log first, so that it wraps everything else and logs what the client got.
    let mut app = app.middleware(AccessLog {
        format: options.access_log,
    });
    // ANCHOR: guards
    // The guards, outermost first. The security headers only add fields and never refuse, so
    // they go right inside the log, where they cover every answer, the guards' 421 and 401
    // included. Then the host check, which refuses a foreign Host before anything else looks at
    // the request; then CORS, whose preflights carry no credentials (Fetch section 4.8) and so
    // must be answered before authentication asks for some; then authentication, last, around
    // the routes and static files it protects.
    // The rate limit inside the log (a 429 is logged) and before any other work: a client over
    // its limit costs a map lookup, not a handler.
    if let Some(rate) = options.rate_limit {
        app = app.middleware(RateLimit::new(rate, Arc::clone(&stats)));
    }
    if options.security_headers {
        app = app.middleware(SecurityHeaders::new(
            &options.referrer_policy,
            options.content_security_policy.as_deref(),
        ));
    }
    if !options.allowed_hosts.is_empty() {
        app = app.middleware(AllowedHosts::new(options.allowed_hosts.clone()));
    }
    if !options.cors_origins.is_empty() {
        app = app.middleware(
            Cors::new(options.cors_origins.clone()).allow_credentials(options.cors_credentials),
        );
    }
    for (prefix, file) in &options.basic_auth {
        let users = Htpasswd::open(file).map_err(AppError::Htpasswd)?;
        app = app.middleware(BasicAuth::new(prefix, users).map_err(AppError::AuthPrefix)?);
    }
    // ANCHOR_END: guards
    let app = app
        .get("/", move |request: &Request, _: &Params| {
            home(&home_root, request)
        })
        .post("/", form_received)
        .get("/hello/{name}", hello)
        .post("/echo", echo)
        .get("/api/info", move |request: &Request, _: &Params| {
            api_info(info, &stats, request)
        })
        .get("/slow", slow)
        .may_block()
        .get("/plaintext", plaintext)
        .get("/healthz", move |_: &Request, _: &Params| {
            healthz(&health_stats)
        })
        .get("/panic", panics)
        .get("/metrics", move |_: &Request, _: &Params| {
            metrics(info, &metrics_stats)
        })
        .get("/server-status", move |request: &Request, _: &Params| {
            status::server_status(&info, &status_stats, request)
        })
        .get("/server-status.js", status::script)
        .static_root(root)
        .middleware(error_pages);
    let app = match &options.upload {
        Some(upload) => {
            upload::check_dir(&upload.dir)?;
            app.post(upload::UPLOAD_PATH, upload::upload_received)
                .body_sinks(upload::body_sinks(upload))
        }
        None => app,
    };
    Ok(app)
}
// ANCHOR_END: route_table

/// `GET /`: the home page, from the document root like any static file. A route of its own
/// because `POST /` is one: a path some route takes is answered by its routes only.
fn home(files: &StaticFiles, request: &Request) -> Response {
    // "/" is absolute and holds nothing to decode, so the check cannot refuse it.
    let path = check_path("/").expect("/ is a valid path");
    files.serve(request, path)
}

/// `POST /`: what the site's form (`form.html`) sent, as a page that lists the fields (escaped) and the
/// protocol the request came by. An empty body is an empty form; a body of another type than
/// a form's is refused with 415 (RFC 9110 section 15.5.16).
fn form_received(request: &Request, _: &Params) -> Response {
    let content_type = request.headers.get("content-type");
    if !request.body.is_empty() && !content_type.is_some_and(form::is_urlencoded) {
        return Response::text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "POST / takes the form of /form.html ({}); send other bodies to /echo",
                form::URLENCODED
            ),
        )
        .header("accept-post", form::URLENCODED);
    }
    let fields = form::parse_urlencoded(&request.body);
    templates::form_received_page(&fields, request.body.len(), request.version.as_str())
}

/// `GET /hello/{name}`: plain text, so the name needs no HTML escaping.
fn hello(_: &Request, params: &Params) -> Response {
    let name = params.get("name").unwrap_or("stranger");
    Response::text(StatusCode::OK, format!("Hello, {name}!"))
}

/// `POST /echo`: the body back, with the type it came with.
fn echo(request: &Request, _: &Params) -> Response {
    let content_type = request
        .headers
        .get("content-type")
        .unwrap_or(b"application/octet-stream");
    let mut response = Response::new(StatusCode::OK);
    response.headers.append("content-type", content_type);
    // A copy: the request is borrowed, and echo is not a route anyone benchmarks.
    response.body = Body::from(request.body.clone());
    response
}

/// The document `/api/info` returns.
#[derive(Serialize)]
struct Info<'a> {
    stage: &'a str,
    model: &'a str,
    pid: u32,
    uptime_seconds: u64,
    requests_served: u64,
    /// The protocol this request came by (`HTTP/1.1`, `HTTP/2`): the same stage 07 server
    /// speaks both, and a browser's request shows which one ALPN chose.
    protocol: &'static str,
}

/// `GET /api/info`: which stage this is, as JSON.
fn api_info(info: AppInfo, stats: &Stats, request: &Request) -> Response {
    let info = Info {
        stage: info.stage,
        model: info.model,
        pid: std::process::id(),
        uptime_seconds: stats.uptime().as_secs(),
        requests_served: stats.requests_served(),
        protocol: request.version.as_str(),
    };
    match serde_json::to_vec(&info) {
        Ok(json) => Response::with_body(StatusCode::OK, "application/json", json),
        // Serializing plain strings and numbers cannot fail, but if it ever did the client
        // deserves a 500, not a dropped connection.
        Err(error) => Response::text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

// ANCHOR: slow
/// `GET /slow?ms=N`: sleeps N milliseconds (at most [`MAX_SLOW_MS`]) on the calling thread.
fn slow(request: &Request, _: &Params) -> Response {
    let Some(raw) = request.query_param("ms") else {
        return Response::text(
            StatusCode::BAD_REQUEST,
            "missing ms: ask for /slow?ms=500 to sleep half a second",
        );
    };
    let asked: u64 = match raw.parse() {
        Ok(ms) => ms,
        Err(_) => {
            return Response::text(
                StatusCode::BAD_REQUEST,
                format!("ms must be a whole number of milliseconds, not {raw:?}"),
            )
        }
    };
    let ms = asked.min(MAX_SLOW_MS);
    thread::sleep(Duration::from_millis(ms));
    if ms < asked {
        Response::text(
            StatusCode::OK,
            format!("slept {ms} ms (asked for {asked}, the cap is {MAX_SLOW_MS})"),
        )
    } else {
        Response::text(StatusCode::OK, format!("slept {ms} ms"))
    }
}
// ANCHOR_END: slow

// ANCHOR: plaintext
/// `GET /plaintext`: TechEmpower's plaintext test. The body is a `&'static` slice wrapped without
/// a copy, so the handler allocates nothing for it.
fn plaintext(_: &Request, _: &Params) -> Response {
    Response::with_body(
        StatusCode::OK,
        "text/plain",
        Bytes::from_static(PLAINTEXT_BODY),
    )
}
// ANCHOR_END: plaintext

// ANCHOR: panics
/// `GET /panic`: a handler with a bug. The application catches the panic and answers 500; the
/// connection, the thread (or process, or task) and every other request go on.
fn panics(_: &Request, _: &Params) -> Response {
    panic!("GET /panic panics on purpose, to show that a bug in one handler costs one 500")
}
// ANCHOR_END: panics

// ANCHOR: healthz
/// `GET /healthz`: the process is up and its application answers: `200 ok`; or, once the
/// server is stopping ([`crate::draining`]), `503 draining`, the cue for a load balancer's
/// health check to send no more clients here.
fn healthz(stats: &Stats) -> Response {
    if stats.is_draining() {
        return Response::with_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "draining",
        );
    }
    Response::with_body(StatusCode::OK, "text/plain; charset=utf-8", "ok")
}
// ANCHOR_END: healthz

/// One counter family `stagecraft_{name}` with a sample per value of the label `label`.
fn labelled_counter(
    text: &mut String,
    name: &str,
    help: &str,
    label: &str,
    samples: impl Iterator<Item = (String, u64)>,
) {
    let _ = writeln!(
        text,
        "# HELP stagecraft_{name} {help}\n# TYPE stagecraft_{name} counter"
    );
    for (value, count) in samples {
        let _ = writeln!(
            text,
            "stagecraft_{name}{{{label}=\"{}\"}} {count}",
            label_value(&value)
        );
    }
}

/// `GET /metrics`: counters in the Prometheus text exposition format, version 0.0.4.
fn metrics(info: AppInfo, stats: &Stats) -> Response {
    let mut text = String::new();
    // `write!` into a String cannot fail (String's fmt::Write never returns an error), so its
    // Result is ignored throughout.
    labelled_counter(
        &mut text,
        "requests_total",
        "Requests answered, by status class.",
        "class",
        stats
            .responses_by_class()
            .map(|(class, count)| (format!("{class}xx"), count)),
    );
    labelled_counter(
        &mut text,
        "requests_by_protocol_total",
        "Requests answered, by protocol.",
        "protocol",
        stats
            .requests_by_protocol()
            .map(|(version, count)| (version.as_str().to_owned(), count)),
    );
    labelled_counter(
        &mut text,
        "refusals_total",
        "Requests and connections refused before the application saw them, by reason.",
        "reason",
        stats
            .refusals()
            .map(|(reason, count)| (reason.as_str().to_owned(), count)),
    );
    latency_histogram(&mut text, stats);
    let gauges_and_counters = [
        (
            "requests_in_flight",
            "gauge",
            "Requests the application is answering now.",
            stats.requests_in_flight(),
        ),
        (
            "connections_open",
            "gauge",
            "Connections open now.",
            stats.connections_open(),
        ),
        (
            "connections_total",
            "counter",
            "Connections accepted since the start.",
            stats.connections_total(),
        ),
        (
            "request_body_bytes_total",
            "counter",
            "Octets of request bodies received.",
            stats.body_bytes_received(),
        ),
        (
            "response_body_bytes_total",
            "counter",
            "Octets of response bodies sent (of known length).",
            stats.body_bytes_sent(),
        ),
        (
            "draining",
            "gauge",
            "1 while the server is stopping (/healthz answers 503), else 0.",
            u64::from(stats.is_draining()),
        ),
    ];
    for (name, kind, help, value) in gauges_and_counters {
        let _ = writeln!(
            text,
            "# HELP stagecraft_{name} {help}\n# TYPE stagecraft_{name} {kind}\nstagecraft_{name} {value}"
        );
    }
    let _ = writeln!(
        text,
        "# HELP stagecraft_uptime_seconds Seconds since the server started.\n\
         # TYPE stagecraft_uptime_seconds gauge\n\
         stagecraft_uptime_seconds {:.3}",
        stats.uptime().as_secs_f64()
    );
    let _ = writeln!(
        text,
        "# HELP stagecraft_info The stage serving, as labels; the value is always 1.\n\
         # TYPE stagecraft_info gauge\n\
         stagecraft_info{{stage=\"{}\",model=\"{}\"}} 1",
        label_value(info.stage),
        label_value(info.model)
    );
    Response::with_body(StatusCode::OK, "text/plain; version=0.0.4", text)
}

// ANCHOR: latency_histogram
/// The latency histogram as a Prometheus histogram: one cumulative `_bucket` line per bound
/// (`le` is "less than or equal", as the buckets' bounds are), `+Inf`, then `_sum` and `_count`.
fn latency_histogram(text: &mut String, stats: &Stats) {
    let snapshot = stats.latency().snapshot();
    let _ = writeln!(
        text,
        "# HELP stagecraft_request_duration_seconds Time in the application per request.\n\
         # TYPE stagecraft_request_duration_seconds histogram"
    );
    let mut cumulative = 0;
    for (upper, count) in snapshot.buckets() {
        cumulative += count;
        let le = upper.map_or_else(|| "+Inf".to_owned(), decimal_seconds);
        let _ = writeln!(
            text,
            "stagecraft_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        text,
        "stagecraft_request_duration_seconds_sum {}\n\
         stagecraft_request_duration_seconds_count {cumulative}",
        decimal_seconds(u64::try_from(snapshot.sum().as_nanos()).unwrap_or(u64::MAX))
    );
}
// ANCHOR_END: latency_histogram

/// Nanoseconds as decimal seconds, exactly (`0.00000128`, `17.179869184`): from the integer,
/// so no float rounding changes a bucket's bound from one scrape to the next.
fn decimal_seconds(nanos: u64) -> String {
    let whole = nanos / 1_000_000_000;
    let fraction = nanos % 1_000_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Escapes a Prometheus label value: backslash, double quote and newline.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests;
