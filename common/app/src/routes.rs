//! The demo routes: each one shows something about the server that serves it.
//!
//! | route | shows |
//! |---|---|
//! | `GET /` | the home page, the bundled site's `index.html` |
//! | `POST /` | the site's form (`form.html`), received: the fields back, and the protocol they came by |
//! | `GET /hello/{name}` | a route parameter, percent-decoded |
//! | `POST /echo` | that request bodies arrive whole, however they were framed |
//! | `GET /api/info` | which stage is answering, as JSON |
//! | `GET /slow?ms=N` | a handler that blocks: who else waits while it sleeps? |
//! | `GET /plaintext` | the cost of the server itself, with a handler that costs nothing |
//! | `GET /healthz` | liveness, for load balancers |
//! | `GET /metrics` | counters in the Prometheus text format |
//!
//! Status codes follow RFC 9110 section 15: 400 for a request the handler cannot make sense of
//! (section 15.5.1), 500 only for the server's own failures.

use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use super::path::check_path;
use super::router::{Params, Route};
use super::{form, App};
use protocol::{Body, Request, Response, StatusCode};

/// The longest `/slow` will sleep, so that one request cannot hold a worker for minutes.
pub const MAX_SLOW_MS: u64 = 10_000;

/// The `/plaintext` body. A `static`, so it has one address that the test can check the
/// response points at.
static PLAINTEXT_BODY: &[u8] = b"Hello, World!";

// ANCHOR: route_table
/// The route table. Any GET or HEAD that no route takes is looked up as a static file.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/", home),
        Route::post("/", form_received),
        Route::get("/hello/{name}", hello),
        Route::post("/echo", echo),
        Route::get("/api/info", api_info),
        Route::get("/slow", slow).may_block(),
        Route::get("/plaintext", plaintext),
        Route::get("/healthz", healthz),
        Route::get("/metrics", metrics),
    ]
}
// ANCHOR_END: route_table

/// `GET /`: the home page, from the document root like any static file. A route of its own
/// because `POST /` is one: a path some route takes is answered by its routes only.
fn home(app: &App, request: &Request, _: &Params) -> Response {
    // "/" is absolute and holds nothing to decode, so the check cannot refuse it.
    let path = check_path("/").expect("/ is a valid path");
    app.static_files().serve(request, path)
}

/// `POST /`: what the site's form (`form.html`) sent, as a page that lists the fields (escaped) and the
/// protocol the request came by. An empty body is an empty form; a body of another type than
/// a form's is refused with 415 (RFC 9110 section 15.5.16).
fn form_received(_: &App, request: &Request, _: &Params) -> Response {
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
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Form received</title>\
         <link rel=\"stylesheet\" href=\"/style.css\"></head>\n<body><main>\n<h1>Form received</h1>\n",
    );
    // As in `metrics`, writing into a String cannot fail.
    let _ = writeln!(
        page,
        "<p>{} field(s), {} octets, by {}.</p>\n<dl>",
        fields.len(),
        request.body.len(),
        request.version.as_str()
    );
    for (name, value) in &fields {
        let _ = writeln!(
            page,
            "<dt>{}</dt><dd>{}</dd>",
            escape_html(name),
            escape_html(value)
        );
    }
    page.push_str(
        "</dl>\n<p><a href=\"/\">Back to the home page</a></p>\n</main></body>\n</html>\n",
    );
    Response::with_body(StatusCode::OK, "text/html; charset=utf-8", page)
}

/// Text made safe inside HTML elements and attribute values: the five characters that could
/// end or start markup, as character references.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `GET /hello/{name}`: plain text, so the name needs no HTML escaping.
fn hello(_: &App, _: &Request, params: &Params) -> Response {
    let name = params.get("name").unwrap_or("stranger");
    Response::text(StatusCode::OK, format!("Hello, {name}!"))
}

/// `POST /echo`: the body back, with the type it came with.
fn echo(_: &App, request: &Request, _: &Params) -> Response {
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
fn api_info(app: &App, request: &Request, _: &Params) -> Response {
    let info = Info {
        stage: app.info().stage,
        model: app.info().model,
        pid: std::process::id(),
        uptime_seconds: app.uptime().as_secs(),
        requests_served: app.requests_served(),
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
fn slow(_: &App, request: &Request, _: &Params) -> Response {
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
fn plaintext(_: &App, _: &Request, _: &Params) -> Response {
    Response::with_body(
        StatusCode::OK,
        "text/plain",
        Bytes::from_static(PLAINTEXT_BODY),
    )
}
// ANCHOR_END: plaintext

/// `GET /healthz`: the process is up and its application answers.
fn healthz(_: &App, _: &Request, _: &Params) -> Response {
    Response::with_body(StatusCode::OK, "text/plain; charset=utf-8", "ok")
}

/// `GET /metrics`: counters in the Prometheus text exposition format, version 0.0.4.
fn metrics(app: &App, _: &Request, _: &Params) -> Response {
    let mut text = String::new();
    // `write!` into a String cannot fail (String's fmt::Write never returns an error), so its
    // Result is ignored throughout.
    let _ = writeln!(
        text,
        "# HELP stagecraft_requests_total Requests answered, by status class.\n\
         # TYPE stagecraft_requests_total counter"
    );
    for (class, count) in app.responses_by_class() {
        let _ = writeln!(
            text,
            "stagecraft_requests_total{{class=\"{class}xx\"}} {count}"
        );
    }
    let _ = writeln!(
        text,
        "# HELP stagecraft_uptime_seconds Seconds since the server started.\n\
         # TYPE stagecraft_uptime_seconds gauge\n\
         stagecraft_uptime_seconds {:.3}",
        app.uptime().as_secs_f64()
    );
    let _ = writeln!(
        text,
        "# HELP stagecraft_info The stage serving, as labels; the value is always 1.\n\
         # TYPE stagecraft_info gauge\n\
         stagecraft_info{{stage=\"{}\",model=\"{}\"}} 1",
        label_value(app.info().stage),
        label_value(app.info().model)
    );
    Response::with_body(StatusCode::OK, "text/plain; version=0.0.4", text)
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
