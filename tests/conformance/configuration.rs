//! Configuration from three sources, the log file, the banner and IPv6 (issue 12; `cli::config`,
//! `cli::logging`, `driver::announce`, `driver::listener`).
//!
//! The file and the command line are tested through a started server; the environment through
//! a refused start (`env STAGECRAFT_...=... STAGE`), since the kit starts servers with the test's
//! own environment; `cli::config`'s unit tests hold the whole precedence table, environment
//! included. The IPv6 cases bind `[::1]:0`, and one (`dual_stack_answers_both_families`) binds
//! `[::]:0`, every interface, because a dual-stack listener cannot be tested otherwise: it is
//! asked one request per family over loopback and stopped. Without `::1` on the machine they are
//! skipped with a message (a failure under `CI=true`).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use stagekit::scratch::TempDir;
use stagekit::server::run_to_exit;
use stagekit::wire::Connector;
use stagekit::{build, Server, Signal, Stage};

use crate::support::*;

/// A refused configuration is refused at once; this only bounds a server that starts instead.
const REFUSE_WITHIN: Duration = Duration::from_secs(10);

/// How long a log line may take to reach stderr or the log file.
const LOG_WITHIN: Duration = Duration::from_secs(5);

/// The file says one port (held by this test, so binding it would fail) and a small body limit;
/// the command line (the kit's `--addr 127.0.0.1:0`) wins for the port, the file holds for the
/// limit.
pub fn the_config_file_is_read_and_the_command_line_wins(stage: &Stage) {
    let holder = TcpListener::bind("127.0.0.1:0").or_fail("binding a port to hold");
    let held = holder.local_addr().or_fail("the held address");
    let dir = TempDir::new("config");
    let config = dir.join("stagecraft.toml");
    std::fs::write(
        &config,
        format!("# what the command line overrides\naddr = \"{held}\"\nmax_body = 100\n"),
    )
    .or_fail("writing the config file");
    let server = Server::start(stage, &["--config", path_str(&config)]);
    assert_ne!(server.addr(), held, "the command line's --addr wins");
    let small = exchange(&server, &request("POST", "/echo", &[], &pattern(50)));
    assert_eq!(small.status, 200);
    let large = exchange(&server, &request("POST", "/echo", &[], &pattern(200)));
    assert_eq!(large.status, 413, "the file's max_body holds");
    drop(holder);
}

pub fn an_unknown_config_key_exits_2_naming_the_file(stage: &Stage) {
    let dir = TempDir::new("config");
    let config = dir.join("typo.toml");
    std::fs::write(&config, "adress = \"127.0.0.1:0\"\n").or_fail("writing the config file");
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let (status, _, stderr) = run_to_exit(&binary, &["--config", path_str(&config)], REFUSE_WITHIN)
        .or_fail("running the stage");
    assert_eq!(status.and_then(|status| status.code()), Some(2), "{stderr}");
    let expected = format!(
        "error: config file {}: unknown key \"adress\" (known: addr, root,",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

pub fn a_bad_environment_value_exits_2_naming_the_variable(stage: &Stage) {
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let (status, _, stderr) = run_to_exit(
        Path::new("/usr/bin/env"),
        &[
            "STAGECRAFT_MAX_BODY=ten",
            path_str(&binary),
            "--addr",
            "127.0.0.1:0",
        ],
        REFUSE_WITHIN,
    )
    .or_fail("running the stage under env");
    assert_eq!(status.and_then(|status| status.code()), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: environment STAGECRAFT_MAX_BODY: invalid value \"ten\":"),
        "{stderr}"
    );
}

/// The banner on stderr lists the loopback URLs; the first stdout line is still the listening
/// line (the kit found the port by it).
pub fn the_banner_lists_the_urls(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let port = server.addr().port();
    let scheme = server.scheme();
    for host in ["localhost", "127.0.0.1"] {
        let line = format!("reachable at {scheme}://{host}:{port}/");
        wait_for_stderr(&server, &line);
    }
}

pub fn ipv6_loopback_serves(stage: &Stage) {
    if !has_ipv6_loopback() {
        return;
    }
    let server = Server::start(stage, &["--addr", "[::1]:0"]);
    assert!(server.addr().is_ipv6(), "{}", server.addr());
    let response = exchange(&server, &get("/healthz"));
    assert_eq!(response.status, 200);
    wait_for_stderr(
        &server,
        &format!(
            "reachable at {}://[::1]:{}/",
            server.scheme(),
            server.addr().port()
        ),
    );
}

/// The one case that binds `[::]` (see the module documentation).
pub fn dual_stack_answers_both_families(stage: &Stage) {
    if !has_ipv6_loopback() {
        return;
    }
    let server = Server::start(stage, &["--addr", "[::]:0"]);
    let port = server.addr().port();
    for addr in [
        SocketAddr::from(([127, 0, 0, 1], port)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
    ] {
        let connector = match server.tls_client() {
            Some(tls) => Connector::tls(addr, tls.clone()),
            None => Connector::tcp(addr),
        };
        let response = exchange_at(&connector, &get("/healthz"));
        assert_eq!(response.status, 200, "over {addr}");
    }
}

/// `--log-file` takes the server's log (its start-up line) instead of stderr.
pub fn the_log_file_gets_the_log(stage: &Stage) {
    let dir = TempDir::new("log");
    let log = dir.join("server.log");
    let server = Server::start(stage, &["--log-file", path_str(&log)]);
    assert_eq!(exchange(&server, &get("/healthz")).status, 200);
    // The access line of that request, in the combined log format.
    let access_line = "\"GET /healthz HTTP/1.1\" 200 2 \"-\" \"-\"";
    let deadline = Instant::now() + LOG_WITHIN;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("INFO") && text.contains(access_line) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing logged in {} within {LOG_WITHIN:?}: {text:?}; stderr: {}",
            log.display(),
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !server.stderr().contains(" INFO "),
        "with --log-file the log leaves stderr: {}",
        server.stderr()
    );
}

/// `--log-format json`: one JSON object per request in the access log, whose `trace_id` is the
/// incoming `traceparent`'s (W3C Trace Context) with the caller's span as `parent_id`; a request
/// without one (or with a malformed one) gets a new random trace id of its own.
pub fn json_access_lines_carry_the_trace_id(stage: &Stage) {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let dir = TempDir::new("json-log");
    let log = dir.join("server.log");
    let server = Server::start(
        stage,
        &["--log-file", path_str(&log), "--log-format", "json"],
    );
    let traced = format!(
        "GET /healthz?traced HTTP/1.1\r\nHost: test\r\ntraceparent: 00-{TRACE}-00f067aa0ba902b7-01\r\n\r\n"
    );
    assert_eq!(exchange(&server, traced.as_bytes()).status, 200);
    assert_eq!(exchange(&server, &get("/healthz?untraced")).status, 200);
    let malformed = "GET /healthz?malformed HTTP/1.1\r\nHost: test\r\ntraceparent: 00-XYZ\r\n\r\n";
    assert_eq!(exchange(&server, malformed.as_bytes()).status, 200);
    let deadline = Instant::now() + LOG_WITHIN;
    let lines: Vec<serde_json::Value> = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|value| {
                value["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("/healthz?"))
            })
            .collect();
        if lines.len() == 3 {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "three JSON access lines within {LOG_WITHIN:?}: {text}"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let by_target = |target: &str| {
        lines
            .iter()
            .find(|line| line["target"] == target)
            .unwrap_or_else(|| panic!("no access line for {target}: {lines:?}"))
    };
    let traced = by_target("/healthz?traced");
    assert_eq!(traced["trace_id"], TRACE, "{traced}");
    assert_eq!(traced["parent_id"], "00f067aa0ba902b7", "{traced}");
    let is_id = |value: &serde_json::Value, len: usize| {
        value.as_str().is_some_and(|id| {
            id.len() == len
                && id
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
    };
    assert!(is_id(&traced["span_id"], 16), "{traced}");
    let untraced = by_target("/healthz?untraced");
    let malformed = by_target("/healthz?malformed");
    for line in [untraced, malformed] {
        assert!(is_id(&line["trace_id"], 32), "{line}");
        assert_ne!(line["trace_id"], TRACE, "{line}");
        assert_eq!(line["parent_id"], serde_json::Value::Null, "{line}");
    }
    assert_ne!(
        untraced["trace_id"], malformed["trace_id"],
        "each new trace has its own id"
    );
}

/// SIGHUP reads the config file again: a level changed from `warn` to `debug` is in force after
/// it (the re-read says so at its new level), and the server still serves.
pub fn sighup_rereads_the_log_level(stage: &Stage) {
    let dir = TempDir::new("config");
    let config = dir.join("stagecraft.toml");
    std::fs::write(&config, "log_level = \"warn\"\n").or_fail("writing the config file");
    let mut server = Server::start(stage, &["--config", path_str(&config)]);
    assert!(
        !server.stderr().contains(" INFO "),
        "at warn, no info lines: {}",
        server.stderr()
    );
    std::fs::write(&config, "log_level = \"debug\"\n").or_fail("rewriting the config file");
    server.signal(Signal::Hup).or_fail("sending SIGHUP");
    wait_for_stderr(&server, "SIGHUP: configuration read again level=debug");
    assert_eq!(exchange(&server, &get("/healthz")).status, 200);
}

fn wait_for_stderr(server: &Server, wanted: &str) {
    let deadline = Instant::now() + LOG_WITHIN;
    while !server.stderr().contains(wanted) {
        assert!(
            Instant::now() < deadline,
            "stderr has no {wanted:?} within {LOG_WITHIN:?}:\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `::1` can be bound here; if not, says so, and fails under `CI=true`.
fn has_ipv6_loopback() -> bool {
    if TcpListener::bind("[::1]:0").is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this machine has no ::1, and CI=true makes that a failure"
    );
    eprintln!("skipped: no IPv6 loopback (::1) on this machine");
    false
}

fn path_str(path: &Path) -> &str {
    // The kit makes scratch paths under the temporary directory, from ASCII names.
    path.to_str().expect("a UTF-8 scratch path")
}
