//! nghttp2's tools: `nghttp -nas` (the site and the assets its page links, each stream's
//! status in the summary) and `h2load` (a bounded load: every request must be answered).

use std::time::Duration;

use crate::support::*;

/// h2load's bound: 2000 requests take a second or two here.
const H2LOAD_WITHIN: Duration = Duration::from_secs(120);

/// `nghttp -nas URL`: fetch `/` and its assets (`-a`), print the summary (`-s`), discard the
/// bodies (`-n`). Every stream of the summary must be a 200, and there must be the page and at
/// least its stylesheet.
fn site_with_assets(nghttp: &std::path::Path, url: &str) {
    let ran = run(nghttp, &["-nas", "-t", "20", url], b"", PEER_WITHIN);
    assert!(ran.succeeded(), "{}", ran.report());
    // The summary's rows: `id  responseEnd requestStart  process code size request path`.
    let codes: Vec<(&str, &str)> = ran
        .stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let path = fields.last()?;
            let code = fields.get(fields.len().checked_sub(3)?)?;
            (path.starts_with('/') && code.parse::<u16>().is_ok()).then_some((*code, *path))
        })
        .collect();
    assert!(
        codes.iter().any(|(_, path)| *path == "/")
            && codes.iter().any(|(_, path)| *path == "/style.css"),
        "the page and its stylesheet should both be fetched:\n{}",
        ran.report()
    );
    assert!(
        codes.iter().all(|(code, _)| *code == "200"),
        "every stream should be a 200: {codes:?}\n{}",
        ran.report()
    );
}

#[test]
fn nghttp_fetches_the_site_with_its_assets_over_tls_and_h2c() {
    let Some(nghttp) = require(NGHTTP, "nghttp::site_with_assets") else {
        return;
    };
    let server = H2Server::start(&[]);
    // nghttp checks no certificate; the TLS port's ALPN must still agree on h2, or it fails.
    site_with_assets(&nghttp, &server.https("/"));
    site_with_assets(&nghttp, &server.http("/"));
}

/// h2load's "requests: N total, N started, N done, N succeeded, ..." line: the succeeded count.
fn succeeded(report: &str) -> Option<u64> {
    let line = report.lines().find(|line| line.starts_with("requests:"))?;
    let part = line
        .split(',')
        .find(|part| part.trim_end().ends_with("succeeded"))?;
    part.split_whitespace().next()?.parse().ok()
}

#[test]
fn h2load_has_every_request_answered_over_tls_and_h2c() {
    let Some(h2load) = require(H2LOAD, "h2load::every_request_answered") else {
        return;
    };
    let server = H2Server::start(&[]);
    for url in [server.https("/plaintext"), server.http("/plaintext")] {
        let ran = run(
            &h2load,
            &["-n", "2000", "-c", "4", "-m", "10", "-T", "30", &url],
            b"",
            H2LOAD_WITHIN,
        );
        assert!(ran.succeeded(), "{}", ran.report());
        assert_eq!(
            succeeded(&ran.stdout),
            Some(2000),
            "{url}: {}",
            ran.report()
        );
    }
}

#[test]
fn h2load_report_parses() {
    let report = "finished in 1.2s\nrequests: 2000 total, 2000 started, 2000 done, 1999 succeeded, 1 failed, 0 errored, 0 timeout\n";
    assert_eq!(succeeded(report), Some(1999));
    assert_eq!(succeeded("no such line"), None);
}
