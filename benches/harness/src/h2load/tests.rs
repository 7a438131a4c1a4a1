use super::*;

/// h2load 1.52's output against nginx h2c, with a few streams cut off by the end of the window.
const OUTPUT: &str = "\
starting benchmark...
spawning thread #0: 10 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Application protocol: h2c
Process Request Failure:2

finished in 2.00s, 5000.00 req/s, 625.32KB/s
requests: 10037 total, 10090 started, 10037 done, 10000 succeeded, 37 failed, 37 errored, 0 timeout
status codes: 10000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.22MB (1280660) total, 1015.63KB (1040000) headers (space savings 39.88%), 58.59KB (60000) data
                     min         max         mean         sd        +/- sd
time for request:      319us     20.01ms      7.41ms      2.67ms    68.28%
time for connect:     1.06ms      1.32ms      1.20ms        82us    60.00%
time to 1st byte:    10.26ms     11.09ms     10.68ms       268us    60.00%
req/s           :    1202.42     1297.99     1238.20       40.35    70.00%
";

#[test]
fn the_summary_is_read() {
    let measured = parse_output(OUTPUT).expect("parses");
    assert_eq!(measured.succeeded, 10_000);
    assert_eq!(
        (measured.failed, measured.errored, measured.timeout),
        (37, 37, 0)
    );
    assert_eq!(measured.not_2xx, 0);
    assert_eq!(measured.bytes, 1_280_660);
    assert!((measured.seconds - 2.0).abs() < 1e-9);
    assert!((measured.max_us - 20_010.0).abs() < 1e-6);
    assert!((measured.mean_us - 7_410.0).abs() < 1e-6);
    // The errored requests are among the failed ones: counted once.
    assert_eq!(measured.errors(), 37);
}

#[test]
fn non_2xx_answers_are_errors_once() {
    let output = OUTPUT
        .replace(
            "10000 succeeded, 37 failed, 37 errored",
            "0 succeeded, 2000 failed, 0 errored",
        )
        .replace("10000 2xx, 0 3xx, 0 4xx", "0 2xx, 0 3xx, 2000 4xx");
    let measured = parse_output(&output).expect("parses");
    assert_eq!(measured.succeeded, 0);
    assert_eq!(measured.errors(), 2000);
}

#[test]
fn a_missing_line_is_named() {
    let output = OUTPUT.replace("finished in", "ended in");
    assert_eq!(
        parse_output(&output),
        Err(ParseError::Missing("finished in"))
    );
    assert!(parse_output("").is_err());
    let output = OUTPUT.replace("319us     20.01ms", "319us     20.01parsecs");
    assert!(matches!(
        parse_output(&output),
        Err(ParseError::BadNumber { .. })
    ));
}

#[test]
fn durations_in_every_unit() {
    assert_eq!(duration_us("212us"), Some(212.0));
    assert_eq!(duration_us("11.5ms"), Some(11_500.0));
    assert_eq!(duration_us("2.00s"), Some(2_000_000.0));
    assert_eq!(duration_us("2.00"), None);
}

#[test]
fn percentiles_come_from_the_2xx_lines_of_the_log() {
    let mut log = String::new();
    for micros in 1..=1000 {
        log.push_str(&format!("1796182122427016\t200\t{micros}\n"));
    }
    // A failed request (status -1) and a 404 are not in the latency.
    log.push_str("1796182122427016\t-1\t999999\n1796182122427016\t404\t999999\n");
    let percentiles = parse_log(&log).expect("has lines");
    assert_eq!(percentiles.requests, 1000);
    assert_eq!(percentiles.p50_us, 500.0);
    assert_eq!(percentiles.p99_us, 990.0);
    assert_eq!(percentiles.p999_us, 999.0);
    assert_eq!(percentiles.max_us, 1000.0);
    assert_eq!(parse_log(""), None);
    assert_eq!(parse_log("garbage\n\t\t\n"), None);
}

#[test]
fn arguments_are_one_thread_for_a_duration() {
    let load = H2Load {
        path: "/index.html",
        connections: 50,
        streams: 10,
    };
    let args = arguments(&load, "https://127.0.0.1:8443", 5, Some("/tmp/log.tsv"));
    assert_eq!(
        args.join(" "),
        "-t 1 -c 50 -m 10 -D 5 --log-file=/tmp/log.tsv https://127.0.0.1:8443/index.html"
    );
}
