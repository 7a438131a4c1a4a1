//! `--redirect-http ADDR` and `--hsts SECONDS`, driven by curl: plain HTTP is sent to the https
//! URL with `308` (RFC 9110 section 15.4.9: the method and body are kept), and https responses
//! tell the browser to stay on https (RFC 6797), which plain HTTP responses must not (section
//! 7.2: a browser ignores it there, and a network attacker could forge it).

use std::path::Path;

use stagekit::peers::CURL;
use stagekit::scratch::TempDir;

use crate::support::*;

/// `curl -sS --max-time 20 ARGS`, which must succeed; its stdout.
fn curl(curl: &Path, args: &[&str]) -> String {
    let mut all = vec!["-sS", "--max-time", "20"];
    all.extend_from_slice(args);
    let ran = run(curl, &all, b"", PEER_WITHIN);
    assert!(ran.succeeded(), "{}", ran.report());
    ran.stdout
}

/// The address after `prefix` on a line of stdout.
fn address(line: &str, prefix: &str) -> String {
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected `{prefix}ADDR`, got {line:?}"))
        .trim()
        .to_owned()
}

#[test]
fn redirect_http_answers_308_to_the_https_url_and_hsts_is_sent_over_https_only() {
    let Some(curl_path) = require(CURL, "redirect::redirect_and_hsts") else {
        return;
    };
    let dir = TempDir::new("tls-redirect");
    let cacert = dir.join("cert.pem").to_string_lossy().into_owned();
    let server = Spawned::start(&[
        "--self-signed-cert",
        &cacert,
        "--redirect-http",
        "127.0.0.1:0",
        "--hsts",
        "600",
    ]);
    let https = address(&server.line(), "listening on https://");
    let http = address(&server.line(), "redirecting http://");
    let https_port = https.rsplit(':').next().unwrap_or_default().to_owned();
    let http_port = http.rsplit(':').next().unwrap_or_default().to_owned();

    // The 308 keeps the host the client named, the path and the query; only scheme and port
    // change. Its head is printed (-D -) to check that it carries no HSTS.
    for host in ["localhost", "127.0.0.1"] {
        let out = curl(
            &curl_path,
            &[
                "-D",
                "-",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{redirect_url}",
                &format!("http://{host}:{http_port}/hello/there?x=1&y=2"),
            ],
        );
        let summary = out.lines().last().unwrap_or_default();
        assert_eq!(
            summary,
            format!("308 https://{host}:{https_port}/hello/there?x=1&y=2"),
            "{out}"
        );
        assert!(
            !out.to_ascii_lowercase()
                .contains("strict-transport-security"),
            "HSTS over plain HTTP:\n{out}"
        );
    }

    // Followed by curl, trusting the generated certificate: the site, over https, after one
    // redirect, with HSTS on the https response.
    let body = dir.join("index.html");
    let out = curl(
        &curl_path,
        &[
            "-L",
            "--cacert",
            &cacert,
            "-D",
            "-",
            "-o",
            &body.to_string_lossy(),
            "-w",
            "%{num_redirects} %{url_effective}",
            &format!("http://localhost:{http_port}/"),
        ],
    );
    let summary = out.lines().last().unwrap_or_default();
    assert_eq!(
        summary,
        format!("1 https://localhost:{https_port}/"),
        "{out}"
    );
    assert!(std::fs::read(&body).or_fail("reading the body") == site_file("index.html"));
    let last_head = out.rsplit("HTTP/1.1 ").next().unwrap_or_default();
    assert!(
        last_head
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=600\r\n"),
        "no HSTS on the https response:\n{out}"
    );

    // 308 keeps the method and the body: a POST stays a POST on the https side.
    let out = curl(
        &curl_path,
        &[
            "-L",
            "--cacert",
            &cacert,
            "-d",
            "greeting=hello&over=https",
            &format!("http://localhost:{http_port}/echo"),
        ],
    );
    assert_eq!(out, "greeting=hello&over=https");
}
