//! curl trusts the certificate the server made at start, as the log tells a user to:
//! `curl --cacert FILE https://localhost:PORT/`.

use stagekit::peers::CURL;

use crate::support::*;

/// By name and by address (the certificate holds `localhost`, `127.0.0.1` and `::1`): the
/// site's index, byte for byte, over HTTP/1.1 (the only protocol ALPN offers).
#[test]
fn curl_trusts_the_generated_certificate_by_name_and_by_address() {
    let Some(curl) = require(CURL, "curl::trusts_the_generated_certificate") else {
        return;
    };
    let server = TlsServer::start(&[]);
    let dir = stagekit::scratch::TempDir::new("tls-curl");
    for host in ["localhost", "127.0.0.1"] {
        let body = dir.join(format!("{host}.html"));
        let body_arg = body.to_string_lossy().into_owned();
        let url = server.url(host, "/");
        let ran = run(
            &curl,
            &[
                "-sS",
                "--max-time",
                "20",
                "--cacert",
                &server.cacert_arg(),
                "-o",
                &body_arg,
                "-w",
                "%{http_code} %{http_version} %{ssl_verify_result}",
                &url,
            ],
            b"",
            PEER_WITHIN,
        );
        assert!(ran.succeeded(), "{}", ran.report());
        assert_eq!(ran.stdout, "200 1.1 0", "{}", ran.report());
        let got = std::fs::read(&body).or_fail("reading curl's output");
        assert!(
            got == site_file("index.html"),
            "{url}: the body is not the site's index.html ({} bytes)",
            got.len()
        );
    }
}
