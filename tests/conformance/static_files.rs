//! Static files from the document root: content and type, validators and conditional requests
//! (RFC 9110 section 13), byte ranges (RFC 9110 section 14), a root that cannot be escaped, and
//! small files on a kept-alive connection that nothing holds back.

use std::path::Path;
use std::time::{Duration, Instant};

use stagekit::wire::show;
use stagekit::{Response, Server, Stage};

use crate::support::*;

const BIG_BIN_LEN: usize = 1024 * 1024;

/// Every file of the bundled site, walked from disk, comes back byte for byte with the type its
/// extension calls for.
pub fn every_site_file_is_served_with_its_type(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let site = stagekit::site_dir();
    let mut files = Vec::new();
    collect_files(&site, &mut files);
    assert!(
        files.len() >= 4,
        "the bundled site should hold several files: {files:?}"
    );
    let mut conn = connect(&server);
    for file in files {
        let relative = file
            .strip_prefix(&site)
            .expect("collect_files only returns paths under the site dir")
            .to_string_lossy()
            .replace('\\', "/");
        let sent = get(&format!("/{relative}"));
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 200);
        assert!(
            response.body == site_file(&relative),
            "/{relative} differs from the file on disk"
        );
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if let Some(expected) = expected_type(extension) {
            let content_type = response.header("content-type").unwrap_or("");
            assert!(
                content_type.starts_with(expected),
                "/{relative}: Content-Type {content_type:?}, expected {expected}"
            );
        }
    }
}

pub fn directory_serves_its_index(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/chapters/"));
    assert_eq!(response.status, 200, "{response}");
    assert!(response.body == site_file("chapters/index.html"));
}

pub fn big_bin_is_exactly_one_mebibyte(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(&server, &get("/big.bin"));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.content_length(), Some(BIG_BIN_LEN as u64));
    assert_eq!(response.body.len(), BIG_BIN_LEN);
    assert!(response.body == site_file("big.bin"));
}

/// RFC 9110 section 13.1.2: `If-None-Match` uses the weak comparison, and `*` matches any
/// current representation; a match on GET gives 304 with the `ETag` and no body.
pub fn if_none_match_gives_304(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let first = exchange(&server, &get("/style.css"));
    let etag = first
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag on a static file: {first}"))
        .to_owned();
    let opaque = etag.trim_start_matches("W/").to_owned();
    let mut conn = connect(&server);
    for (condition, status) in [
        (etag.clone(), 304),
        (format!("W/{opaque}"), 304),
        (format!("\"other\", {etag}"), 304),
        ("*".to_owned(), 304),
        ("\"other\"".to_owned(), 200),
    ] {
        let sent = request(
            "GET",
            "/style.css",
            &[&format!("If-None-Match: {condition}")],
            b"",
        );
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, status);
        if status == 304 {
            assert!(response.body.is_empty());
            assert_eq!(response.header("etag"), Some(etag.as_str()), "{response}");
        } else {
            assert!(response.body == first.body);
        }
    }
}

/// RFC 9110 section 13.1.3: not modified since the `Last-Modified` date gives 304.
pub fn if_modified_since_gives_304(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let first = exchange(&server, &get("/index.html"));
    let last_modified = first
        .header("last-modified")
        .unwrap_or_else(|| panic!("no Last-Modified on a static file: {first}"))
        .to_owned();
    let mut conn = connect(&server);
    for (since, status) in [
        (last_modified.as_str(), 304),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 200),
    ] {
        let sent = request(
            "GET",
            "/index.html",
            &[&format!("If-Modified-Since: {since}")],
            b"",
        );
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, status);
        assert_eq!(response.body.is_empty(), status == 304, "{response}");
    }
}

/// RFC 9110 section 13.1.3: `If-Modified-Since` is ignored when `If-None-Match` is present.
pub fn if_none_match_takes_precedence_over_if_modified_since(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let first = exchange(&server, &get("/index.html"));
    let last_modified = first.header("last-modified").unwrap_or("").to_owned();
    let sent = request(
        "GET",
        "/index.html",
        &[
            "If-None-Match: \"does-not-match\"",
            &format!("If-Modified-Since: {last_modified}"),
        ],
        b"",
    );
    let mut conn = connect(&server);
    conn.send(&sent).or_fail("sending");
    expect_status(&mut conn, &sent, 200);
}

pub fn single_byte_ranges_give_206(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let file = site_file("big.bin");
    let total = file.len();
    let mut conn = connect(&server);
    for (range, first, last) in [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=-5", total - 5, total - 1),
        ("bytes=1048570-", total - 6, total - 1),
        ("bytes=1048000-9999999", 1048000, total - 1),
    ] {
        let sent = request("GET", "/big.bin", &[&format!("Range: {range}")], b"");
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 206);
        assert_eq!(
            response.header("content-range"),
            Some(format!("bytes {first}-{last}/{total}").as_str()),
            "{range}: {response}"
        );
        assert!(
            response.body == file[first..=last],
            "{range}: wrong bytes: {}",
            show(&response.body)
        );
    }
}

/// RFC 9110 section 15.5.17: an unsatisfiable range gives 416 with `Content-Range: bytes */LEN`.
pub fn unsatisfiable_range_gives_416(stage: &Stage) {
    let server = Server::start(stage, &[]);
    for range in ["bytes=2000000-", "bytes=1048576-1048577"] {
        let sent = request("GET", "/big.bin", &[&format!("Range: {range}")], b"");
        let mut conn = connect(&server);
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 416);
        assert_eq!(
            response.header("content-range"),
            Some("bytes */1048576"),
            "{response}"
        );
    }
}

/// RFC 9110 section 14.2: a server must ignore a range unit it does not understand.
pub fn unknown_range_unit_is_ignored(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let response = exchange(
        &server,
        &request("GET", "/style.css", &["Range: lines=0-5"], b""),
    );
    assert_eq!(response.status, 200, "{response}");
    assert!(response.body == site_file("style.css"));
}

/// Attempts to read files outside the document root (the workspace's own Cargo.toml, one and
/// two levels up from common/site/) by dot segments, percent-encoded dot segments and slashes,
/// backslashes and absolute paths. None may return the file; 400 or 404 are both fine.
pub fn traversal_never_escapes_the_root(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let workspace = stagekit::workspace_dir();
    let absolute = workspace.join("Cargo.toml").to_string_lossy().into_owned();
    let targets = [
        "/../Cargo.toml".to_owned(),
        "/../../Cargo.toml".to_owned(),
        "/chapters/../../../Cargo.toml".to_owned(),
        "/%2e%2e/%2e%2e/Cargo.toml".to_owned(),
        "/%2E%2E/%2E%2E/Cargo.toml".to_owned(),
        "/.%2e/.%2e/Cargo.toml".to_owned(),
        "/%2e%2e%2f%2e%2e%2fCargo.toml".to_owned(),
        "/..%2f..%2fCargo.toml".to_owned(),
        "/..%5c..%5cCargo.toml".to_owned(),
        "/..\\..\\Cargo.toml".to_owned(),
        "/%252e%252e/%252e%252e/Cargo.toml".to_owned(),
        format!("/{absolute}"),
        format!("/{}", absolute.replace('/', "%2f")),
        "/%2fetc%2fpasswd".to_owned(),
        "//etc/passwd".to_owned(),
    ];
    for target in targets {
        let sent = get(&target);
        let response = exchange(&server, &sent);
        assert!(
            matches!(response.status, 400 | 404),
            "{target}: expected 400 or 404, got {response}"
        );
        assert_no_leak(&target, &response);
    }
}

fn assert_no_leak(target: &str, response: &Response) {
    let text = response.text();
    for secret in ["[package]", "[workspace]", "root:x:0:0"] {
        assert!(
            !text.contains(secret),
            "{target} leaked a file outside the root: {response}"
        );
    }
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).or_fail(&format!("listing {}", dir.display()));
    for entry in entries {
        let path = entry.or_fail("reading a directory entry").path();
        if path.is_dir() {
            collect_files(&path, files);
        } else {
            files.push(path);
        }
    }
    files.sort();
}

/// The media type a file with this extension must be served as (RFC 9110 section 8.3).
fn expected_type(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" => "text/javascript",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        "json" => "application/json",
        "bin" => "application/octet-stream",
        _ => return None,
    })
}

/// A driver may send a small file's head with `MSG_MORE` (stage 05) or cork the socket, so that
/// head and file leave in one segment; if the flag were ever left on the last write, the kernel
/// would hold the response back for its 200 ms cork timeout (as Nagle's algorithm beside delayed
/// ACKs does to a response written in pieces). Forty exchanges must take milliseconds, not
/// seconds.
pub fn small_files_on_a_kept_alive_connection_are_not_held_back(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let started = Instant::now();
    for path in ["/style.css", "/index.html", "/stagecraft.png", "/plaintext"].repeat(10) {
        conn.send(get(path)).or_fail("sending");
        expect_status(&mut conn, &get(path), 200);
    }
    let took = started.elapsed();
    eprintln!("40 small responses on one connection: {took:?}");
    assert!(
        took < Duration::from_millis(500),
        "40 small responses on one connection took {took:?}: something holds them back"
    );
}
