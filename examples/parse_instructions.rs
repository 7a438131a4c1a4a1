//! The workload of the instruction-count benchmark (`scripts/parse-instructions.sh`): parse one
//! request head N times with one contender, and nothing else, so that running it under
//! callgrind twice (N = 1 and N = 1001) and subtracting gives the instructions of 1000 parses,
//! start-up and exit cancelled out exactly.
//!
//! Instruction counts do not move with the machine's load, its frequency or its neighbours, so a
//! regression of a few percent shows here even on the shared 2-core machines where times do not.
//!
//! ```text
//! parse_instructions CONTENDER INPUT ITERATIONS
//!   CONTENDER: httparse | parse_head | machine | hpack_decode | hpack_encode
//!   INPUT:     curl | plaintext16 (hpack_*: curl only)
//! ```
//!
//! - `httparse`: the bare grammar parse into 100 field slots;
//! - `parse_head`: `protocol::http1::head::parse_head`, httparse plus the limits, the `Host` and
//!   framing rules, and the `Request` made as views of the input;
//! - `machine`: a kept-alive `protocol::Connection`, driven by the protocol crate's `Pump`,
//!   reading the input through `read_buf` and answering every request with an empty `200 OK`
//!   (so it includes writing the responses);
//! - `hpack_decode`: the HPACK decoder of `protocol::h2::hpack` on the field block of curl's
//!   first HTTP/2 request (from the capture the HTTP/2 chapter shows), a fresh decoder each
//!   time, as on a new connection;
//! - `hpack_encode`: the HPACK encoder on the fields of a `/plaintext` response head, a fresh
//!   encoder each time.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use protocol::h2::hpack::{Decoder, Encoder, DEFAULT_TABLE_SIZE};
use protocol::http1::head::parse_head;
use protocol::pump::Pump;
use protocol::{Limits, Request, Response, StatusCode};

/// `curl http://localhost:8080/` (curl 7.88).
const CURL: &[u8] =
    b"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

/// The HEADERS field block of curl 7.88's first request over h2c, `GET /hello/reader`
/// (`tests/data/h2-opening-curl.hex`): six fields, four of them literals, three Huffman-coded.
const CURL_H2_BLOCK: &str =
    "82048a6272d141d8b0a390b67f86418b089d5c0b8170dc6597841f7a8825b650c3abbcf2e153032a2f2a";

/// The fields of a `/plaintext` response head over HTTP/2, as the machine would encode them.
const PLAINTEXT_RESPONSE: [(&[u8], &[u8]); 4] = [
    (b":status", b"200"),
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"date", b"Wed, 02 Dec 2026 02:00:00 GMT"),
    (b"content-length", b"13"),
];

/// One request of wrk's pipelined plaintext load; the input is 16 of them back to back.
const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [contender, input, iterations] = args.as_slice() else {
        eprintln!(
            "usage: parse_instructions httparse|parse_head|machine|hpack_decode|hpack_encode \
             curl|plaintext16 ITERATIONS"
        );
        return ExitCode::from(2);
    };
    let input = match input.as_str() {
        "curl" => Bytes::from_static(CURL),
        "plaintext16" => Bytes::from(PLAINTEXT.repeat(16)),
        other => {
            eprintln!("unknown input {other:?}");
            return ExitCode::from(2);
        }
    };
    let Ok(iterations) = iterations.parse::<u64>() else {
        eprintln!("ITERATIONS must be a number");
        return ExitCode::from(2);
    };
    let expected = if input.len() > CURL.len() * 2 { 16 } else { 1 };
    let parsed = match contender.as_str() {
        "httparse" => (0..iterations)
            .map(|_| httparse_all(black_box(&input)))
            .sum::<usize>(),
        "parse_head" => (0..iterations)
            .map(|_| parse_head_all(black_box(&input)))
            .sum(),
        "hpack_decode" => {
            let block = hex(CURL_H2_BLOCK);
            let mut fields = Vec::new();
            (0..iterations)
                .map(|_| {
                    let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
                    fields.clear();
                    match decoder.decode(black_box(&block), usize::MAX, &mut fields) {
                        Ok(()) if fields.len() == 6 => 1,
                        _ => 0,
                    }
                })
                .sum()
        }
        "hpack_encode" => {
            let mut block = Vec::new();
            (0..iterations)
                .map(|_| {
                    let mut encoder = Encoder::new();
                    block.clear();
                    encoder.encode(black_box(PLAINTEXT_RESPONSE), &mut block);
                    usize::from(!black_box(&block).is_empty())
                })
                .sum()
        }
        "machine" => {
            let limits = Limits {
                max_requests_per_connection: u32::MAX,
                ..Limits::default()
            };
            let mut pump = Pump::counting(limits, Instant::now());
            for _ in 0..iterations {
                pump.feed_reads(black_box(&input), &mut empty_ok);
            }
            pump.answered
        }
        other => {
            eprintln!("unknown contender {other:?}");
            return ExitCode::from(2);
        }
    };
    // A contender that silently parsed less would report a flattering count.
    if parsed as u64 != iterations * expected {
        eprintln!(
            "{contender} parsed {parsed} requests, expected {}",
            iterations * expected
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn httparse_all(mut input: &[u8]) -> usize {
    let mut parsed = 0;
    while !input.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 100];
        let mut request = httparse::Request::new(&mut fields);
        let Ok(httparse::Status::Complete(used)) = request.parse(input) else {
            return parsed;
        };
        black_box(&request);
        input = &input[used..];
        parsed += 1;
    }
    parsed
}

fn parse_head_all(input: &Bytes) -> usize {
    let limits = Limits::default();
    let mut parsed = 0;
    let mut at = 0;
    while at < input.len() {
        let Ok(Some((head, used))) = parse_head(&input[at..], &limits) else {
            return parsed;
        };
        black_box(head.into_request(input.slice(at..at + used)));
        at += used;
        parsed += 1;
    }
    parsed
}

fn empty_ok(request: &Request) -> Response {
    black_box(request);
    Response::new(StatusCode::OK)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}
