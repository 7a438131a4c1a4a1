use super::*;

/// What wrk 4.1 prints with the harness's script: its own report, then the result line.
const OUTPUT: &str = "Running 5s test @ http://127.0.0.1:41000/index.html\n\
    \x20 1 threads and 50 connections\n\
    \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
    \x20   Latency   812.33us  120.10us   4.20ms   90.12%\n\
    \x20   Req/Sec    61.20k     1.10k   63.00k    80.00%\n\
    \x20 304512 requests in 5.00s, 1.23GB read\n\
    STAGECRAFT-WRK {\"requests\":304512,\"duration_us\":5000123,\"bytes\":1320000000,\
    \"errors\":{\"connect\":0,\"read\":2,\"write\":0,\"status\":7,\"timeout\":1},\
    \"latency_us\":{\"p50\":790,\"p99\":1210,\"p999\":3900,\"max\":4200}}\n\
    Requests/sec:  60902.19\n\
    Transfer/sec:    251.00MB\n";

#[test]
fn reads_the_result_line_among_wrks_report() {
    let measured = parse_output(OUTPUT).expect("the sample holds a result line");
    assert_eq!(measured.requests, 304_512);
    assert!((measured.seconds - 5.000_123).abs() < 1e-9);
    assert_eq!(measured.bytes, 1_320_000_000);
    assert_eq!(
        measured.errors,
        Errors {
            connect: 0,
            read: 2,
            write: 0,
            status: 7,
            timeout: 1
        }
    );
    assert_eq!(measured.errors.total(), 10);
    assert_eq!(
        (
            measured.p50_us,
            measured.p99_us,
            measured.p999_us,
            measured.max_us
        ),
        (790.0, 1210.0, 3900.0, 4200.0)
    );
}

#[test]
fn a_run_that_died_has_no_result() {
    let output = "unable to connect to 127.0.0.1:1 Connection refused\n";
    assert_eq!(parse_output(output), Err(WrkError::NoResult));
}

#[test]
fn a_truncated_result_line_is_malformed() {
    let output = "STAGECRAFT-WRK {\"requests\":12,\"duration_us\":1000000}\n";
    assert!(matches!(
        parse_output(output),
        Err(WrkError::Malformed { reason, .. }) if reason.contains("/bytes")
    ));
}

#[test]
fn plain_load_needs_no_request_function() {
    let load = Load {
        path: "/index.html".into(),
        connections: 50,
        pipeline: 1,
        close: false,
        slow_every: None,
        accept_encoding: None,
        write: None,
        slow_clients: None,
    };
    let lua = script(&load);
    assert!(!lua.contains("request = function"));
    assert!(!lua.contains("Connection"));
    assert!(lua.contains("done = function"));
    assert!(lua.contains("latency:percentile(99.9)"));
}

#[test]
fn pipelined_and_mixed_loads_build_their_batches() {
    let pipelined = Load {
        path: "/plaintext".into(),
        connections: 256,
        pipeline: 16,
        close: false,
        slow_every: None,
        accept_encoding: None,
        write: None,
        slow_clients: None,
    };
    let lua = script(&pipelined);
    assert!(lua.contains("string.rep(wrk.format(\"GET\", \"/plaintext\"), 16)"));
    assert!(lua.contains("local slow_every = 0"));

    let mix = Load {
        slow_every: Some(10),
        close: true,
        ..pipelined
    };
    let lua = script(&mix);
    assert!(lua.contains("local slow_every = 10"));
    assert!(lua.contains("/slow?ms=20"));
    assert!(lua.contains("wrk.headers[\"Connection\"] = \"close\""));
}

#[test]
fn arguments_keep_at_least_one_connection_per_thread() {
    let load = Load {
        path: "/".into(),
        connections: 1,
        pipeline: 1,
        close: false,
        slow_every: None,
        accept_encoding: None,
        write: None,
        slow_clients: None,
    };
    let args = arguments(&load, "http://127.0.0.1:1", "/tmp/x.lua", 2, 3);
    assert_eq!(args[1], "1");
    assert_eq!(args[5], "3s");
    assert_eq!(args.last().map(String::as_str), Some("http://127.0.0.1:1/"));
}

#[test]
fn a_writing_load_sets_method_body_and_headers() {
    let load = Load {
        path: "/notes/1".into(),
        connections: 16,
        pipeline: 1,
        close: false,
        slow_every: None,
        accept_encoding: None,
        write: Some(WriteRequest {
            method: "PUT",
            content_type: "application/json",
            body: r#"{"title":"t","body":"b"}"#,
            authorization: Some("Bearer secret"),
        }),
        slow_clients: None,
    };
    let lua = script(&load);
    assert!(lua.contains("wrk.method = \"PUT\""));
    // Lua reads the escaped quotes of a Rust debug string as the same characters.
    assert!(lua.contains(r#"wrk.body = "{\"title\":\"t\",\"body\":\"b\"}""#));
    assert!(lua.contains("wrk.headers[\"Content-Type\"] = \"application/json\""));
    assert!(lua.contains("wrk.headers[\"Authorization\"] = \"Bearer secret\""));
    assert!(!lua.contains("request = function"));
    let reading = Load {
        write: None,
        ..load
    };
    assert!(!script(&reading).contains("wrk.method"));
}
