//! curl as a real client: what the raw-bytes cases check by hand, a client that millions of
//! scripts rely on must also get. Without curl these cases are skipped with a line on stderr
//! saying so; under `CI=true` they fail instead (see `stagekit::peers`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use stagekit::peers::{self, CURL};
use stagekit::server::run_to_exit;
use stagekit::{Server, Stage};

use crate::support::*;

/// Bounds every curl run; curl's own `--max-time` is a little shorter so it reports first.
const CURL_WITHIN: Duration = Duration::from_secs(30);

/// curl's path, or `None` after reporting the skip.
pub(crate) fn find_curl(stage: &Stage, case: &str) -> Option<PathBuf> {
    peers::require(CURL, &format!("{}::curl::{case}", stage.package))
}

/// Runs curl quietly (errors still shown) with `args` against `server`; returns stdout and
/// stderr, and fails the test when curl fails. For a TLS stage curl trusts the server's
/// self-signed certificate with `--cacert FILE`, as the stage's log tells a user to do, and
/// checks it against the IP address of the URL.
pub(crate) fn run(curl: &Path, server: &Server, args: &[&str]) -> (String, String) {
    let ca_file = server
        .ca_file()
        .map(|path| path.to_string_lossy().into_owned());
    // `--http1.1`: these are HTTP/1.1 cases, and over TLS curl would take `h2` from a stage
    // that offers it (stage 07); a later `--http1.0` in `args` still wins.
    let mut all = vec!["-sS", "--max-time", "20", "--http1.1"];
    if let Some(ca_file) = &ca_file {
        all.extend(["--cacert", ca_file.as_str()]);
    }
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run_to_exit(curl, &all, CURL_WITHIN).or_fail("running curl");
    match status {
        Some(status) if status.success() => (stdout, stderr),
        _ => panic!("`curl {}` failed ({status:?}):\n{stderr}", all.join(" ")),
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).or_fail(&format!("reading {}", path.display()))
}

pub fn curl_get_root(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_get_root") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let out = TempFile::with_contents("curl-get-root.out", b"");
    let (stdout, _) = run(
        &curl,
        &server,
        &[
            "-o",
            &out.path.to_string_lossy(),
            "-w",
            "%{http_code} %{content_type}",
            &server.url("/"),
        ],
    );
    assert!(stdout.starts_with("200 text/html"), "curl saw: {stdout}");
    assert!(read(&out.path) == site_file("index.html"));
}

pub fn curl_head(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_head") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let (stdout, _) = run(&curl, &server, &["-I", &server.url("/big.bin")]);
    let lower = stdout.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "curl -I saw:\n{stdout}");
    assert!(
        lower.contains("content-length: 1048576"),
        "curl -I saw:\n{stdout}"
    );
}

pub fn curl_post_data(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_post_data") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let (stdout, _) = run(
        &curl,
        &server,
        &["-d", "greeting=hello&from=curl", &server.url("/echo")],
    );
    assert_eq!(stdout, "greeting=hello&from=curl");
}

pub fn curl_chunked_upload(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_chunked_upload") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let body = pattern(300 * 1024);
    let upload = TempFile::with_contents("curl-chunked.in", &body);
    let out = TempFile::with_contents("curl-chunked.out", b"");
    let (_, stderr) = run(
        &curl,
        &server,
        &[
            "-v",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &format!("@{}", upload.path.display()),
            "-o",
            &out.path.to_string_lossy(),
            &server.url("/echo"),
        ],
    );
    assert!(
        stderr.contains("> Transfer-Encoding: chunked"),
        "curl did not send chunked:\n{stderr}"
    );
    assert!(
        read(&out.path) == body,
        "the echo of a chunked upload differs"
    );
}

pub fn curl_range(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_range") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let out = TempFile::with_contents("curl-range.out", b"");
    let (stdout, _) = run(
        &curl,
        &server,
        &[
            "--range",
            "100-199",
            "-o",
            &out.path.to_string_lossy(),
            "-w",
            "%{http_code}",
            &server.url("/big.bin"),
        ],
    );
    assert_eq!(stdout, "206");
    assert!(read(&out.path) == site_file("big.bin")[100..200]);
}

pub fn curl_http10(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_http10") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let (stdout, _) = run(&curl, &server, &["--http1.0", &server.url("/plaintext")]);
    assert_eq!(stdout, "Hello, World!");
}

/// Two URLs on one command line: curl keeps the connection and says so.
pub fn curl_reuses_the_connection(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_reuses_the_connection") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let (stdout, stderr) = run(
        &curl,
        &server,
        &[
            "-v",
            &server.url("/hello/first"),
            &server.url("/hello/second"),
        ],
    );
    assert!(
        stdout.contains("first") && stdout.contains("second"),
        "curl saw: {stdout}"
    );
    let lower = stderr.to_ascii_lowercase();
    assert!(
        lower.contains("re-using existing connection") || lower.contains("reusing existing"),
        "curl did not reuse the connection:\n{stderr}"
    );
    assert_eq!(
        stderr.matches("Connected to").count(),
        1,
        "curl connected more than once:\n{stderr}"
    );
}

pub fn curl_expect_100_continue_upload(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_expect_100_continue_upload") else {
        return;
    };
    let server = Server::start(stage, &[]);
    let body = pattern(2 * 1024 * 1024);
    let upload = TempFile::with_contents("curl-expect.in", &body);
    let out = TempFile::with_contents("curl-expect.out", b"");
    let (stdout, stderr) = run(
        &curl,
        &server,
        &[
            "-v",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            &format!("@{}", upload.path.display()),
            "-o",
            &out.path.to_string_lossy(),
            "-w",
            "%{http_code}",
            &server.url("/echo"),
        ],
    );
    assert!(
        stderr.contains("< HTTP/1.1 100 Continue"),
        "the server did not send 100 Continue:\n{stderr}"
    );
    assert_eq!(stdout, "200");
    assert!(read(&out.path) == body, "the echo of the upload differs");
}
