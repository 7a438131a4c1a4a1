//! What does the application cost per request, apart from any I/O model?
//!
//! Each benchmark does what an event-loop stage does with one parsed request: ask
//! [`App::may_block`], then call [`App::handle`] and drop the response (which, for a file, closes
//! it). No sockets: the numbers are the application's own work plus the system calls it makes to
//! find and open a file.
//!
//! - `plaintext`: `GET /plaintext`, a route whose handler costs nothing: routing and counting;
//! - `hello`: `GET /hello/reader`, a route with a captured parameter;
//! - `hello_encoded`: `GET /hello/J%C3%BCrgen`, the same with percent-decoding;
//! - `style_css`: `GET /style.css`, a small static file: path checks, opening the file under the
//!   document root, validators and headers;
//! - `index`: `GET /`, a directory served through its `index.html`;
//! - `not_found`: `GET /nope.html`, a static lookup that finds nothing;
//! - `may_block`: `App::may_block` alone on `GET /style.css`, the question every event-loop stage
//!   asks before it answers;
//! - `counters`: what `App::handle` spends on `/server-status`'s counters per request, alone:
//!   `Stats::request_started` then `InFlight::finish` (two clock reads, the latency histogram,
//!   the status class, the body octets), on one thread;
//! - `connection_opened`: a connection's open/close guard alone (per connection, not request).
//!
//! `cargo bench --bench app` takes about half a minute; `cargo bench --bench app -- --test` runs
//! each benchmark once (with the status checks below) as a smoke test.
//!
//! Times on a shared 2-core machine are noisy; instruction counts are not. To count them for one
//! benchmark, run the bench binary under callgrind in criterion's profiling mode and divide
//! `App::handle`'s inclusive count by its calls:
//!
//! ```text
//! valgrind --tool=callgrind target/release/deps/app-<hash> --bench --profile-time 2 app/style_css
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep App::handle
//! ```
//!
//! valgrind 3.19 (Debian 12's) does not know `openat2` and answers `ENOSYS`, so under it the
//! application opens files with its `canonicalize` fallback (and logs a warning saying so): the
//! file benchmarks' counts under callgrind are those of the fallback, an upper bound on the
//! `openat2` path's. To count system calls per request, use `strace -c -f` on a running stage
//! instead (see the stage 04 chapter's exercises).

use std::hint::black_box;
use std::time::{Duration, Instant};

use app::{default_site_root, App, AppInfo};
use criterion::{criterion_group, criterion_main, Criterion};
use protocol::{Method, Request, StatusCode};

const INFO: AppInfo = AppInfo {
    stage: "bench",
    model: "no I/O model: the application alone",
};

/// The requests, with the status each must get (checked once before measuring, so that a
/// benchmark cannot quietly measure a 404 or a 400).
const CASES: [(&str, &str, StatusCode); 6] = [
    ("plaintext", "/plaintext", StatusCode::OK),
    ("hello", "/hello/reader", StatusCode::OK),
    ("hello_encoded", "/hello/J%C3%BCrgen", StatusCode::OK),
    ("style_css", "/style.css", StatusCode::OK),
    ("index", "/", StatusCode::OK),
    ("not_found", "/nope.html", StatusCode::NOT_FOUND),
];

/// Short runs, like the parser bench's. Flags such as `--measurement-time` still override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

fn bench_all(c: &mut Criterion) {
    // The bundled site is part of the repository, so it is there whenever the bench builds.
    let app = App::new(&default_site_root(), INFO, Instant::now()).expect("the bundled site");
    let mut group = c.benchmark_group("app");
    for (name, target, status) in CASES {
        let request = Request::new(Method::Get, target);
        assert_eq!(answer(&app, &request), status, "{target}");
        group.bench_function(name, |b| b.iter(|| answer(&app, black_box(&request))));
    }
    let request = Request::new(Method::Get, "/style.css");
    group.bench_function("may_block", |b| {
        b.iter(|| app.may_block(black_box(&request)))
    });
    let stats = app.stats();
    let response = app.handle(&Request::new(Method::Get, "/plaintext"));
    group.bench_function("counters", |b| {
        b.iter(|| {
            stats
                .request_started()
                .finish(&Method::Get, 0, black_box(&response))
        })
    });
    group.bench_function("connection_opened", |b| {
        b.iter(|| drop(black_box(app.connection_opened())))
    });
    group.finish();
}

/// What an event-loop stage does with a request: may it block? No: answer it on the loop.
fn answer(app: &App, request: &Request) -> StatusCode {
    if app.may_block(request) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    // Dropping the response closes the file it holds, as a stage does once it is sent.
    app.handle(request).status
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_all
}
criterion_main!(benches);
