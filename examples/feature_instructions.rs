//! The workload of the feature-cost benchmark (`scripts/feature-instructions.sh`): the shared
//! application answers one request N times with one feature on, and nothing else, so that
//! running it under callgrind twice (N = 1 and N = 1 + M) and subtracting gives the instructions
//! of M answers, start-up and exit cancelled out exactly. Compared case by case, the counts say
//! what each feature of the real-site chapter adds to a request.
//!
//! ```text
//! feature_instructions CASE ITERATIONS
//! ```
//!
//! Each answer is what a stage does with a parsed request, minus the I/O: `App::handle`, then
//! the body drained as a driver would send it (a stream is pulled to its end, which is where
//! on-the-fly compression happens; a file is left to `sendfile`, as the stages do). The cases:
//!
//! - `plaintext_bare`: `GET /plaintext` with `--no-security-headers`, the floor of the table;
//! - `plaintext`: the same with the default security headers (`nosniff`, `Referrer-Policy`);
//! - `allowed_host`: with `--allowed-host localhost`, the request's `Host` checked;
//! - `cors`: with `--cors-origin https://app.example`, a request from that origin;
//! - `cors_preflight`: the preflight `OPTIONS` a browser sends before a `PUT` from there;
//! - `basic_auth`: `/plaintext` behind `--basic-auth /plaintext=tests/data/htpasswd`, right
//!   credentials: one bcrypt check at cost 5, what `htpasswd -B` makes;
//! - `basic_auth_cost10`: the same against a cost-10 hash (`htpasswd -B -C 10`), 32 times the
//!   rounds;
//! - `counters`: `/server-status`'s counters alone (`Stats::request_started`, then `finish`);
//! - `index`: `GET /index.html` (4 KiB), as it is;
//! - `index_gzip`: the same with `Accept-Encoding: gzip`, compressed on the fly at level 4;
//! - `index_gzip_cached`: the same with `--cache-size 8MiB`, the gzip form kept in memory;
//! - `vhost`: `GET /index.html` for `Host: gallery.example`, with
//!   `--vhost gallery.example=SITE/gallery`: the root picked by name, then that root's page;
//! - `not_found`: `GET /nope.html` from curl (no `Accept`): the plain-text 404;
//! - `not_found_page`: the same from a browser (`Accept: text/html,...`): the 404 page rendered
//!   from its minijinja template;
//! - `dir_listing`: `GET /gallery/img/` with `--dir-listing`: seventeen entries read, sorted,
//!   escaped and rendered.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use app::{default_site_root, App, AppInfo, SiteOptions};
use protocol::{Body, Method, Request, Response, StatusCode};

const INFO: AppInfo = AppInfo {
    stage: "bench",
    model: "no I/O model: the application alone",
};

/// The cases, in the order the table shows them.
pub const CASES: [&str; 16] = [
    "plaintext_bare",
    "plaintext",
    "allowed_host",
    "cors",
    "cors_preflight",
    "basic_auth",
    "basic_auth_cost10",
    "counters",
    "index",
    "index_gzip",
    "index_gzip_cached",
    "vhost",
    "not_found",
    "not_found_page",
    "dir_listing",
    "rate_limit",
];

/// The origin the CORS cases allow and send.
const ORIGIN: &str = "https://app.example";

/// What Chromium sends in `Accept` for a page.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// `reader:stagecraft`, base64 (RFC 7617 section 2), the user of both htpasswd files.
const READER: &str = "Basic cmVhZGVyOnN0YWdlY3JhZnQ=";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [case, iterations] = args.as_slice() else {
        eprintln!(
            "usage: feature_instructions CASE ITERATIONS\n  CASE: {}",
            CASES.join(" | ")
        );
        return ExitCode::from(2);
    };
    let Ok(iterations) = iterations.parse::<u64>() else {
        eprintln!("ITERATIONS must be a whole number, not {iterations:?}");
        return ExitCode::from(2);
    };
    match run(case, iterations) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("feature_instructions: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(case: &str, iterations: u64) -> Result<(), String> {
    if !CASES.contains(&case) {
        return Err(format!("unknown case {case:?}: {}", CASES.join(", ")));
    }
    let root = default_site_root();
    let mut options = SiteOptions::new(&root);
    let mut request = Request::new(Method::Get, "/plaintext");
    request.headers.append("host", "localhost");
    match case {
        "plaintext_bare" => options.security_headers = false,
        "allowed_host" => options.allowed_hosts = vec![parse("localhost")?],
        "rate_limit" => {
            // A limit no answer reaches: every request takes a token from one client's bucket.
            options.rate_limit = std::num::NonZeroU32::new(u32::MAX);
            request.peer = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
        }
        "cors" | "cors_preflight" => {
            options.cors_origins = vec![parse(ORIGIN)?];
            request.headers.append("origin", ORIGIN);
            if case == "cors_preflight" {
                request.method = Method::Options;
                request
                    .headers
                    .append("access-control-request-method", "PUT");
                request
                    .headers
                    .append("access-control-request-headers", "content-type");
            }
        }
        "basic_auth" | "basic_auth_cost10" => {
            let file = if case == "basic_auth" {
                "htpasswd"
            } else {
                "htpasswd-cost10"
            };
            options.basic_auth = vec![("/plaintext".to_owned(), test_data(file))];
            request.headers.append("authorization", READER);
        }
        "index" | "index_gzip" | "index_gzip_cached" => {
            request = Request::new(Method::Get, "/index.html");
            request.headers.append("host", "localhost");
            if case != "index" {
                request.headers.append("accept-encoding", "gzip");
            }
            if case == "index_gzip_cached" {
                options.static_files.cache.max_bytes = 8 << 20;
            }
        }
        "vhost" => {
            options.vhosts = vec![parse(&format!(
                "gallery.example={}",
                root.join("gallery").display()
            ))?];
            request = Request::new(Method::Get, "/index.html");
            request.headers.append("host", "gallery.example");
        }
        "not_found" | "not_found_page" => {
            request = Request::new(Method::Get, "/nope.html");
            request.headers.append("host", "localhost");
            if case == "not_found_page" {
                request.headers.append("accept", BROWSER_ACCEPT);
            }
        }
        "dir_listing" => {
            options.dir_listing = true;
            request = Request::new(Method::Get, "/gallery/img/");
            request.headers.append("host", "localhost");
        }
        _ => {}
    }
    let app = App::site(&options, INFO, Instant::now()).map_err(|error| error.to_string())?;
    // Checked once, outside the count's difference: a case must not quietly measure a refusal.
    let expected = match case {
        "cors_preflight" => StatusCode::NO_CONTENT,
        "not_found" | "not_found_page" => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    if case == "counters" {
        let stats = app.stats();
        let response = app.handle(&request);
        for _ in 0..iterations {
            stats
                .request_started()
                .finish(&Method::Get, 0, std::hint::black_box(&response));
        }
        return Ok(());
    }
    for _ in 0..iterations {
        let response = app.handle(std::hint::black_box(&request));
        if response.status != expected {
            return Err(format!(
                "{case}: {} {} was answered {}, not {}",
                request.method.as_str(),
                request.target.as_str(),
                response.status.as_u16(),
                expected.as_u16()
            ));
        }
        drain(response)?;
    }
    Ok(())
}

/// What a driver does with the body, short of writing it: a stream is pulled to its end.
fn drain(response: Response) -> Result<(), String> {
    if let Body::Stream(chunks) = response.body {
        for chunk in chunks {
            std::hint::black_box(chunk.map_err(|error| error.to_string())?);
        }
    }
    Ok(())
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|error| format!("{text:?} does not parse: {error}"))
}

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
