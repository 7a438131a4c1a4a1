//! curl, over both ports and both protocols: `--http2` over TLS (ALPN `h2`),
//! `--http2-prior-knowledge` on the h2c port, and `--http1.1` on each, which must still get
//! HTTP/1.1 from the same server.

use stagekit::peers::CURL;
use stagekit::scratch::TempDir;

use crate::support::*;

/// One curl run that saves the body and prints `STATUS VERSION`; returns that line and the body.
fn fetch(
    curl: &std::path::Path,
    server: &H2Server,
    flags: &[&str],
    url: &str,
) -> (String, Vec<u8>) {
    let dir = TempDir::new("h2-curl");
    let body = dir.join("body");
    let body_arg = body.to_string_lossy().into_owned();
    let cacert = server.cacert_arg();
    let mut args = vec![
        "-sS",
        "--max-time",
        "20",
        "--cacert",
        &cacert,
        "-o",
        &body_arg,
    ];
    args.extend_from_slice(flags);
    args.extend(["-w", "%{http_code} %{http_version}", url]);
    let ran = run(curl, &args, b"", PEER_WITHIN);
    assert!(ran.succeeded(), "{}", ran.report());
    let got = std::fs::read(&body).or_fail("reading curl's output");
    (ran.stdout, got)
}

#[test]
fn curl_gets_http2_over_tls_and_h2c_and_http1_on_both() {
    let Some(curl) = require(CURL, "curl::http2_and_http1_on_both_ports") else {
        return;
    };
    let server = H2Server::start(&[]);
    let index = site_file("index.html");
    let cases: [(&[&str], String, &str); 4] = [
        (&["--http2"], server.https("/"), "200 2"),
        (&["--http2-prior-knowledge"], server.http("/"), "200 2"),
        (&["--http1.1"], server.https("/"), "200 1.1"),
        (&["--http1.1"], server.http("/"), "200 1.1"),
    ];
    for (flags, url, expected) in cases {
        let (line, body) = fetch(&curl, &server, flags, &url);
        assert_eq!(line, expected, "curl {flags:?} {url}");
        assert!(
            body == index,
            "curl {flags:?} {url}: the body is not the site's index.html ({} bytes)",
            body.len()
        );
    }
}

/// `curl -i` shows the status line as `HTTP/2 200`, and `/api/info` names the protocol the
/// request came by.
#[test]
fn curl_sees_http2_200_and_api_info_says_http2() {
    let Some(curl) = require(CURL, "curl::api_info_says_http2") else {
        return;
    };
    let server = H2Server::start(&[]);
    for (flag, url) in [
        ("--http2", server.https("/api/info")),
        ("--http2-prior-knowledge", server.http("/api/info")),
    ] {
        let cacert = server.cacert_arg();
        let args = [
            "-sS",
            "-i",
            "--max-time",
            "20",
            "--cacert",
            &cacert,
            flag,
            &url,
        ];
        let ran = run(&curl, &args, b"", PEER_WITHIN);
        assert!(ran.succeeded(), "{}", ran.report());
        assert!(ran.stdout.starts_with("HTTP/2 200"), "{}", ran.report());
        assert!(
            ran.stdout.contains("\"protocol\":\"HTTP/2\""),
            "{}",
            ran.report()
        );
    }
}
