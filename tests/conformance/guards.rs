//! The guards (issue 12; `app::security_headers`, `app::cors`, `app::allowed_hosts`,
//! `app::basic_auth`): what each adds or refuses, through a started server of every stage.
//!
//! CORS preflights and Basic authentication are driven by curl, the client a user would test
//! them with (`curl -X OPTIONS -H 'Origin: ...'`, `curl -u user:pass`); without curl those cases
//! are skipped with a message (a failure under `CI=true`). The password file is
//! `tests/data/htpasswd`: `reader` with the password `stagecraft`, made once by
//! `htpasswd -B -C 5` (cost 5, so that each check is quick). One case makes a file with the
//! installed htpasswd (Debian's apache2-utils) and checks that the server takes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stagekit::peers::{self, CURL, HTPASSWD};
use stagekit::scratch::TempDir;
use stagekit::server::run_to_exit;
use stagekit::{build, Server, Stage};

use crate::support::*;

/// Bounds every curl and htpasswd run, and a start that must be refused.
const PEER_WITHIN: Duration = Duration::from_secs(30);

/// `tests/data/htpasswd`.
fn test_htpasswd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/htpasswd")
}

/// `Basic` credentials of `reader:stagecraft` (base64 of those 17 octets).
const READER: &str = "Basic cmVhZGVyOnN0YWdlY3JhZnQ=";

/// `Basic` credentials of `reader:wrong`.
const READER_WRONG: &str = "Basic cmVhZGVyOndyb25n";

/// Runs curl with `args` against `server` (trusting its certificate when it speaks TLS) and
/// returns what `-i` printed: the status line, the fields and the body.
fn curl(curl: &Path, server: &Server, args: &[&str]) -> String {
    let ca_file = server
        .ca_file()
        .map(|path| path.to_string_lossy().into_owned());
    let mut all = vec!["-sS", "-i", "--max-time", "20", "--http1.1"];
    if let Some(ca_file) = &ca_file {
        all.extend(["--cacert", ca_file.as_str()]);
    }
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run_to_exit(curl, &all, PEER_WITHIN).or_fail("running curl");
    match status {
        Some(status) if status.success() => stdout,
        _ => panic!("`curl {}` failed ({status:?}):\n{stderr}", all.join(" ")),
    }
}

/// The status code on curl's first line, and the field lines in lower case.
fn status_and_fields(output: &str) -> (u16, Vec<String>) {
    let mut lines = output.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in curl's output:\n{output}"));
    let fields = lines
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_ascii_lowercase())
        .collect();
    (status, fields)
}

fn has_field(fields: &[String], line: &str) -> bool {
    fields.iter().any(|field| field == line)
}

pub fn every_response_is_nosniff_with_a_referrer_policy(stage: &Stage) {
    let server = Server::start(stage, &[]);
    for target in ["/", "/style.css", "/no-such-file", "/healthz"] {
        let response = exchange(&server, &get(target));
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
        assert_eq!(
            response.header("referrer-policy"),
            Some("strict-origin-when-cross-origin"),
            "{target}"
        );
    }
    // A static file gets no CSP unless one is configured; a generated page has its own.
    let file = exchange(&server, &get("/"));
    assert_eq!(file.header("content-security-policy"), None);
    let page = exchange(&server, &request("POST", "/", &[], b""));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.starts_with("default-src 'none'")));
}

pub fn security_headers_are_configurable_and_can_be_turned_off(stage: &Stage) {
    let server = Server::start(
        stage,
        &[
            "--referrer-policy",
            "no-referrer",
            "--content-security-policy",
            "default-src 'self'",
        ],
    );
    let response = exchange(&server, &get("/"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(
        response.header("content-security-policy"),
        Some("default-src 'self'")
    );
    drop(server);
    let server = Server::start(stage, &["--no-security-headers"]);
    let response = exchange(&server, &get("/"));
    assert_eq!(response.header("x-content-type-options"), None);
    assert_eq!(response.header("referrer-policy"), None);
}

pub fn a_cors_preflight_is_answered_for_an_allowed_origin_only(stage: &Stage) {
    let Some(curl_path) = peers::require(CURL, &format!("{}::guards::cors", stage.package)) else {
        return;
    };
    let server = Server::start(stage, &["--cors-origin", "https://app.example"]);
    let preflight = |origin: &str| {
        curl(
            &curl_path,
            &server,
            &[
                "-X",
                "OPTIONS",
                "-H",
                &format!("Origin: {origin}"),
                "-H",
                "Access-Control-Request-Method: PUT",
                "-H",
                "Access-Control-Request-Headers: x-token",
                &server.url("/echo"),
            ],
        )
    };
    let output = preflight("https://app.example");
    let (status, fields) = status_and_fields(&output);
    assert_eq!(status, 204, "{output}");
    assert!(
        has_field(&fields, "access-control-allow-origin: https://app.example"),
        "{output}"
    );
    assert!(
        has_field(&fields, "access-control-allow-methods: post, options"),
        "the route table's methods for /echo:\n{output}"
    );
    assert!(
        has_field(&fields, "access-control-allow-headers: x-token"),
        "{output}"
    );
    assert!(
        fields
            .iter()
            .any(|field| field.starts_with("access-control-max-age: ")),
        "{output}"
    );
    // Another origin gets the router's plain OPTIONS answer, without a CORS field.
    let output = preflight("https://evil.example");
    let (status, fields) = status_and_fields(&output);
    assert_eq!(status, 204, "{output}");
    assert!(has_field(&fields, "allow: post, options"), "{output}");
    assert!(
        !fields
            .iter()
            .any(|field| field.starts_with("access-control-")),
        "{output}"
    );
}

pub fn a_simple_cors_request_gets_its_origin_and_credentials_never_a_star(stage: &Stage) {
    let server = Server::start(stage, &["--cors-origin", "*", "--cors-credentials"]);
    let response = exchange(
        &server,
        &request("GET", "/healthz", &["Origin: https://app.example"], b""),
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        response.has_token("vary", "origin"),
        "{:?}",
        response.headers
    );
    drop(server);
    let server = Server::start(stage, &["--cors-origin", "*"]);
    let response = exchange(
        &server,
        &request("GET", "/healthz", &["Origin: https://app.example"], b""),
    );
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    // Without --cors-origin there is no CORS at all.
    drop(server);
    let server = Server::start(stage, &[]);
    let response = exchange(
        &server,
        &request("GET", "/healthz", &["Origin: https://app.example"], b""),
    );
    assert_eq!(response.header("access-control-allow-origin"), None);
}

pub fn a_foreign_host_is_misdirected(stage: &Stage) {
    let server = Server::start(
        stage,
        &["--allowed-host", "localhost", "--allowed-host", "[::1]"],
    );
    let with_host = |host: &str| format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    for host in ["localhost", "LOCALHOST:8080", "[::1]:443"] {
        let response = exchange(&server, with_host(host).as_bytes());
        assert_eq!(response.status, 200, "Host: {host}");
    }
    for host in ["evil.example", "localhost.evil.example", "127.0.0.1"] {
        let response = exchange(&server, with_host(host).as_bytes());
        assert_eq!(response.status, 421, "Host: {host}");
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "the refusal is covered by the security headers too"
        );
    }
}

/// The same check through curl. Over TLS curl is asked for HTTP/2: stage 07 takes it, and the
/// host is then the `:authority` pseudo-header (curl puts a `Host` given with `-H` there); stage
/// 06 answers HTTP/1.1. Over plain HTTP it is HTTP/1.1 (curl's `--http2` would ask for h2c by
/// `Upgrade`, which is not what this checks).
pub fn a_foreign_authority_is_misdirected_with_curl(stage: &Stage) {
    let Some(curl_path) = peers::require(CURL, &format!("{}::guards::allowed_host", stage.package))
    else {
        return;
    };
    let server = Server::start(stage, &["--allowed-host", "127.0.0.1"]);
    let version = if server.ca_file().is_some() {
        "--http2"
    } else {
        "--http1.1"
    };
    let url = server.url("/healthz");
    let output = curl(&curl_path, &server, &[version, &url]);
    assert_eq!(status_and_fields(&output).0, 200, "{output}");
    let output = curl(
        &curl_path,
        &server,
        &[version, "-H", "Host: evil.example", &url],
    );
    assert_eq!(status_and_fields(&output).0, 421, "{output}");
    if stage.package == "stage07-http2" {
        assert!(output.starts_with("HTTP/2 421"), "{output}");
    }
}

pub fn basic_auth_asks_for_and_checks_the_password(stage: &Stage) {
    let Some(curl_path) = peers::require(CURL, &format!("{}::guards::basic_auth", stage.package))
    else {
        return;
    };
    let auth = format!("/hello={}", test_htpasswd().display());
    let server = Server::start(stage, &["--basic-auth", &auth]);
    let url = server.url("/hello/reader");
    let output = curl(&curl_path, &server, &[&url]);
    let (status, fields) = status_and_fields(&output);
    assert_eq!(status, 401, "{output}");
    assert!(
        has_field(
            &fields,
            "www-authenticate: basic realm=\"/hello\", charset=\"utf-8\""
        ),
        "{output}"
    );
    let output = curl(&curl_path, &server, &["-u", "reader:stagecraft", &url]);
    assert_eq!(status_and_fields(&output).0, 200, "{output}");
    assert!(output.ends_with("Hello, reader!\n"), "{output}");
    let output = curl(&curl_path, &server, &["-u", "reader:Stagecraft", &url]);
    assert_eq!(status_and_fields(&output).0, 401, "{output}");
    // Outside the prefix nothing is asked.
    let output = curl(&curl_path, &server, &[&server.url("/healthz")]);
    assert_eq!(status_and_fields(&output).0, 200, "{output}");
    // Garbage credentials are a 401 too, and the connection goes on.
    let mut conn = connect(&server);
    let mut ask = |authorization: &str, status: u16| {
        let field = format!("Authorization: {authorization}");
        let sent = request("GET", "/hello/x", &[&field], b"");
        conn.send(&sent).or_fail("sending a request");
        expect_status(&mut conn, &sent, status);
    };
    for authorization in ["Basic !!!", "Basic /w==", "Bearer x", READER_WRONG] {
        ask(authorization, 401);
    }
    ask(READER, 200);
}

pub fn a_file_made_by_htpasswd_is_accepted(stage: &Stage) {
    let Some(htpasswd) = peers::require(HTPASSWD, &format!("{}::guards::htpasswd", stage.package))
    else {
        return;
    };
    let dir = TempDir::new("htpasswd");
    let file = dir.join("users");
    let (status, _, stderr) = run_to_exit(
        &htpasswd,
        &[
            "-B",
            "-C",
            "5",
            "-b",
            "-c",
            path_str(&file),
            "ada",
            "lovelace",
        ],
        PEER_WITHIN,
    )
    .or_fail("running htpasswd");
    assert!(status.is_some_and(|status| status.success()), "{stderr}");
    let auth = format!("/={}", file.display());
    let server = Server::start(stage, &["--basic-auth", &auth]);
    let ada = "Authorization: Basic YWRhOmxvdmVsYWNl"; // ada:lovelace
    let response = exchange(&server, &request("GET", "/healthz", &[ada], b""));
    assert_eq!(response.status, 200);
    let response = exchange(&server, &get("/healthz"));
    assert_eq!(response.status, 401);
}

pub fn a_bad_password_file_is_refused_naming_its_line(stage: &Stage) {
    let dir = TempDir::new("htpasswd");
    let file = dir.join("users");
    std::fs::write(
        &file,
        "reader:$2y$05$EgstkT8.mvSCzyWbKpLxwOzfaFQcBF9JuGjiS2mQhqFK4IHMbgyQW\nno-colon-here\n",
    )
    .or_fail("writing the file");
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let auth = format!("/private={}", file.display());
    let (status, _, stderr) = run_to_exit(
        &binary,
        &["--addr", "127.0.0.1:0", "--basic-auth", &auth],
        PEER_WITHIN,
    )
    .or_fail("running the stage");
    assert_eq!(status.and_then(|status| status.code()), Some(1), "{stderr}");
    let expected = format!("htpasswd file {} line 2: not user:hash", file.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let missing = dir.join("missing");
    let auth = format!("/private={}", missing.display());
    let (status, _, stderr) = run_to_exit(
        &binary,
        &["--addr", "127.0.0.1:0", "--basic-auth", &auth],
        PEER_WITHIN,
    )
    .or_fail("running the stage");
    assert_eq!(status.and_then(|status| status.code()), Some(1), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}

pub fn bad_guard_flags_are_refused(stage: &Stage) {
    expect_refused(stage, &["--cors-origin", "null"], &["null"]);
    expect_refused(
        stage,
        &["--allowed-host", "a.example:80"],
        &["a.example:80"],
    );
    expect_refused(stage, &["--basic-auth", "/private"], &["PREFIX=FILE"]);
    expect_refused(stage, &["--referrer-policy", "sometimes"], &["sometimes"]);
}

/// The repeatable flags are arrays in the config file.
pub fn the_guards_read_from_a_config_file(stage: &Stage) {
    let dir = TempDir::new("config");
    let config = dir.join("guards.toml");
    std::fs::write(
        &config,
        format!(
            "allowed_host = [\"localhost\", \"test\"]\ncors_origin = [\"https://app.example\"]\n\
             basic_auth = [\"/hello={}\"]\n",
            test_htpasswd().display()
        ),
    )
    .or_fail("writing the config file");
    let server = Server::start(stage, &["--config", path_str(&config)]);
    let foreign = exchange(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    );
    assert_eq!(foreign.status, 421);
    let cors = exchange(
        &server,
        &request("GET", "/healthz", &["Origin: https://app.example"], b""),
    );
    assert_eq!(
        cors.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let locked = exchange(&server, &get("/hello/x"));
    assert_eq!(locked.status, 401);
}

fn path_str(path: &Path) -> &str {
    // The kit makes scratch paths under the temporary directory, from ASCII names.
    path.to_str().expect("a UTF-8 scratch path")
}

/// `--rate-limit 5`: a client gets its burst of five, then `429` with `Retry-After` on the same
/// kept-alive connection (which stays usable), and is served again once a token is back;
/// `/metrics` counts the refusals (`reason="rate_limit"`). Requests are sent until the first 429,
/// at most twenty, so a slow machine that refills a token between two requests cannot fail it.
pub fn a_rate_limit_is_hit_and_recovered(stage: &Stage) {
    let server = Server::start(stage, &["--rate-limit", "5"]);
    let mut conn = connect(&server);
    let mut allowed = 0;
    let refused = loop {
        conn.send(get("/plaintext"))
            .or_fail("sending GET /plaintext");
        let response = conn.read_response().or_fail("reading a response");
        match response.status {
            200 => allowed += 1,
            429 => break response,
            other => panic!("unexpected {other}: {response}"),
        }
        assert!(allowed < 20, "twenty requests at once were never limited");
    };
    assert!(allowed >= 5, "only {allowed} requests before the 429");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a 429 has Retry-After in whole seconds: {refused}"));
    assert!((1..=2).contains(&retry_after), "{refused}");
    std::thread::sleep(std::time::Duration::from_secs(retry_after));
    conn.send(get("/metrics")).or_fail("sending GET /metrics");
    let metrics = expect_status(&mut conn, &get("/metrics"), 200).text();
    assert!(
        metrics.lines().any(|line| line
            .starts_with("stagecraft_refusals_total{reason=\"rate_limit\"} ")
            && !line.ends_with(" 0")),
        "the 429 is counted:\n{metrics}"
    );
}
