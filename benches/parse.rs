//! What does our HTTP/1.1 request parsing cost on top of httparse?
//!
//! Three realistic request heads (a curl request, a browser navigation, 16 pipelined
//! `/plaintext` requests) go through each of:
//!
//! - `httparse`: the bare grammar parse into a stack array of 100 field slots, nothing else;
//! - `parse_head`: [`protocol::http1::head::parse_head`], which is httparse plus the limits, the
//!   `Host` and body-framing rules of RFC 9112, then the [`protocol::Request`] made as views of
//!   the input (`ParsedHead::into_request`), as the connection makes it;
//! - `machine_new_connection`: a fresh [`Connection`], `handle_input` with the whole buffer,
//!   `poll_event` until `None`, and dropping the connection. The connection parses every
//!   pipelined request in `handle_input` (up to `Limits::max_pipelined`, which is 16), but hands
//!   out only the first until it is answered, so the others are parsed and then dropped;
//! - `machine_reused_with_response`: one long-lived connection, driven by the protocol crate's
//!   own [`Pump`], that reads the batch through `read_buf`, answers every request with an empty
//!   `200 OK` and drains the output. This is the steady state of a
//!   keep-alive connection, and it INCLUDES serializing the responses: it is an upper bound on
//!   the per-request cost of the machine, not a parse-only number.
//!
//! Every group reports throughput in requests, so criterion's "elem/s" figures compare
//! directly across inputs. The project's goal: the machine at most 1.3x bare httparse.
//!
//! `cargo bench --bench parse` takes about a minute; `cargo bench --bench parse -- --test` runs
//! each benchmark once (with the correctness checks below) as a smoke test.
//!
//! On a noisy machine, instruction counts tell more than times. To see where one contender
//! spends them, run the bench binary under callgrind in criterion's profiling mode, which
//! repeats one benchmark without measuring it:
//!
//! ```text
//! valgrind --tool=callgrind target/release/deps/parse-<hash> --bench --profile-time 2 browser/parse_head
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::http1::head::parse_head;
use protocol::pump::Pump;
use protocol::{Connection, Limits, Request, Response, StatusCode};

// ANCHOR: inputs
/// What `curl http://localhost:8080/` sends (curl 7.88.1, the version in Debian 12): the
/// smallest head a real client sends.
const CURL: &[u8] = b"GET / HTTP/1.1\r\n\
Host: localhost:8080\r\n\
User-Agent: curl/7.88.1\r\n\
Accept: */*\r\n\
\r\n";

/// A top-level navigation by a Chromium-based browser on Linux (the field order and values of
/// Chrome 120), with a small session cookie: 16 fields, about 700 bytes, the typical head a
/// server sees from people.
const BROWSER: &[u8] = b"GET /index.html HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-User: ?1\r\n\
Sec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=5f2b8c1e9a7d4e3f8b6a0c2d1e4f7a9b; theme=dark\r\n\
\r\n";

/// One request of the TechEmpower plaintext test as wrk sends it with its pipelining script:
/// the request line, `Host`, and the `Accept` and `Connection` fields the test adds.
const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\
\r\n";

/// The pipelining depth of that test (`-- 16` to wrk's script); it is also the default
/// `Limits::max_pipelined`, so the machine parses the whole batch in one `handle_input`.
const PIPELINE_DEPTH: usize = 16;
// ANCHOR_END: inputs

/// The field slots of the bare httparse parse, as many as `Limits::DEFAULT_MAX_HEADERS`.
const HTTPARSE_SLOTS: usize = 100;

/// Short runs: the whole bench finishes in about a minute on a 2-core machine. Flags such as
/// `--measurement-time` still override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

fn bench_all(c: &mut Criterion) {
    let pipelined = PLAINTEXT.repeat(PIPELINE_DEPTH);
    let inputs: [(&str, &[u8], usize); 3] = [
        ("curl", CURL, 1),
        ("browser", BROWSER, 1),
        ("pipelined_16", &pipelined, PIPELINE_DEPTH),
    ];
    for (name, input, requests) in inputs {
        check_contenders_agree(name, input, requests);
        bench_input(c, name, input, requests);
    }
}

/// Before timing anything, checks that every contender really parses all `requests` of
/// `input`: a benchmark that quietly stopped early would report a flattering number.
fn check_contenders_agree(name: &str, input: &[u8], requests: usize) {
    assert_eq!(httparse_all(input), requests, "httparse on {name}");
    let bytes = Bytes::copy_from_slice(input);
    assert_eq!(parse_head_all(&bytes), requests, "parse_head on {name}");
    let mut pump = Pump::counting(reuse_limits(), Instant::now());
    assert_eq!(
        answer_batch(&mut pump, input),
        requests,
        "the machine on {name}"
    );
    // The reused connection must still be open and reading, or later iterations would parse
    // nothing.
    assert!(pump.conn.wants_read(), "the machine closed on {name}");
    assert_eq!(
        answer_batch(&mut pump, input),
        requests,
        "the machine's second batch on {name}"
    );
}

// ANCHOR: bench_input
fn bench_input(c: &mut Criterion, name: &str, input: &[u8], requests: usize) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(requests as u64));

    group.bench_function("httparse", |b| b.iter(|| httparse_all(black_box(input))));

    let bytes = Bytes::copy_from_slice(input);
    group.bench_function("parse_head", |b| {
        b.iter(|| parse_head_all(black_box(&bytes)))
    });

    let limits = Limits::default();
    let now = Instant::now();
    group.bench_function("machine_new_connection", |b| {
        b.iter(|| {
            let mut connection = Connection::new(limits.clone(), now);
            connection.handle_input(black_box(input), now);
            while let Some(event) = connection.poll_event() {
                black_box(&event);
            }
        })
    });

    let mut pump = Pump::counting(reuse_limits(), now);
    group.bench_function("machine_reused_with_response", |b| {
        b.iter(|| answer_batch(&mut pump, black_box(input)))
    });

    group.finish();
}
// ANCHOR_END: bench_input

/// The default limits, except that one connection may serve any number of requests: with the
/// default 1000, the reused connection would close partway through a measurement.
fn reuse_limits() -> Limits {
    Limits {
        max_requests_per_connection: u32::MAX,
        ..Limits::default()
    }
}

/// Parses every request in `input` with httparse alone, one after the other. Returns how many.
fn httparse_all(mut input: &[u8]) -> usize {
    let mut parsed = 0;
    while !input.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; HTTPARSE_SLOTS];
        let mut request = httparse::Request::new(&mut fields);
        let Ok(httparse::Status::Complete(used)) = request.parse(input) else {
            panic!("the benchmark inputs are complete, valid requests");
        };
        black_box(&request);
        input = &input[used..];
        parsed += 1;
    }
    parsed
}

/// Parses every request in `input` with `parse_head` and makes each a `Request` of views into
/// `input`, one after the other. Returns how many.
fn parse_head_all(input: &Bytes) -> usize {
    let limits = Limits::default();
    let mut parsed = 0;
    let mut at = 0;
    while at < input.len() {
        let Ok(Some((head, used))) = parse_head(&input[at..], &limits) else {
            panic!("the benchmark inputs are complete, valid requests");
        };
        black_box(head.into_request(input.slice(at..at + used)));
        at += used;
        parsed += 1;
    }
    parsed
}

// ANCHOR: answer_batch
/// Reads `input` into a kept-alive connection through the pump (`read_buf`, as a socket read
/// would), answers each request with an empty `200 OK` and drains the output as if the socket
/// took everything. Returns how many requests were answered.
fn answer_batch(pump: &mut Pump, input: &[u8]) -> usize {
    let before = pump.answered;
    pump.feed_reads(input, &mut empty_ok);
    pump.answered - before
}

fn empty_ok(request: &Request) -> Response {
    black_box(request);
    Response::new(StatusCode::OK)
}
// ANCHOR_END: answer_batch

criterion_group! {
    name = benches;
    config = config();
    targets = bench_all
}
criterion_main!(benches);
