//! Caching, as each stage does it for static files: `Cache-Control` by media type (and by
//! `--cache-control`), the same value on a 304 (RFC 9111 section 5.2.2, RFC 9110 section
//! 15.4.5), and the in-memory cache of `--cache-size` (`app::cache`): a file it holds is served
//! without touching the disk for at most its age bound (1 s), and a changed or removed file is
//! seen once that bound has passed.

use std::time::{Duration, Instant};

use stagekit::scratch::TempDir;
use stagekit::{Conn, Response, Server, Stage};

use crate::support::*;

/// The file cache's age bound (`app::cache::CacheOptions::default().max_age`).
const MAX_AGE: Duration = Duration::from_secs(1);

fn get_on(conn: &mut Conn, path: &str, fields: &[&str], status: u16) -> Response {
    let sent = request("GET", path, fields, b"");
    conn.send(&sent).or_fail("sending");
    expect_status(conn, &sent, status)
}

pub fn cache_control_follows_the_media_type(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let page = get_on(&mut conn, "/index.html", &[], 200);
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let style = get_on(&mut conn, "/style.css", &[], 200);
    assert_eq!(style.header("cache-control"), Some("public, max-age=3600"));
    let image = get_on(&mut conn, "/stagecraft.png", &[], 200);
    assert_eq!(image.header("cache-control"), Some("public, max-age=86400"));
    // A 304 carries the Cache-Control the 200 would have (RFC 9110 section 15.4.5).
    let etag = style.header("etag").or_fail("an ETag on style.css");
    let not_modified = get_on(
        &mut conn,
        "/style.css",
        &[&format!("If-None-Match: {etag}")],
        304,
    );
    assert_eq!(
        not_modified.header("cache-control"),
        Some("public, max-age=3600")
    );
}

pub fn cache_control_rules_from_the_command_line_come_first(stage: &Stage) {
    let server = Server::start(stage, &["--cache-control", "text/css=public, max-age=60"]);
    let mut conn = connect(&server);
    let style = get_on(&mut conn, "/style.css", &[], 200);
    assert_eq!(style.header("cache-control"), Some("public, max-age=60"));
    let page = get_on(&mut conn, "/index.html", &[], 200);
    assert_eq!(
        page.header("cache-control"),
        Some("no-cache"),
        "others keep theirs"
    );
}

pub fn a_bad_cache_control_rule_is_refused_at_start(stage: &Stage) {
    expect_refused(
        stage,
        &["--cache-control", "nonsense"],
        &["--cache-control"],
    );
    expect_refused(stage, &["--cache-size", "8MB"], &["--cache-size"]);
}

pub fn the_file_cache_serves_from_memory_within_its_age_bound(stage: &Stage) {
    let root = TempDir::new("cache-root");
    let first = b"first version of the file\n".repeat(10);
    std::fs::write(root.join("hot.txt"), &first).or_fail("writing hot.txt");
    let root_arg = root.path().to_string_lossy().into_owned();
    let server = Server::start(stage, &["--root", &root_arg, "--cache-size", "1MiB"]);
    let mut conn = connect(&server);
    let cached_at = Instant::now();
    let response = get_on(&mut conn, "/hot.txt", &[], 200);
    assert!(response.body == first);
    // Gone from the disk, but held in memory: served from the cache while the bound lasts.
    std::fs::remove_file(root.join("hot.txt")).or_fail("removing hot.txt");
    let sent = get("/hot.txt");
    conn.send(&sent).or_fail("sending");
    let response = conn.read_response().or_fail("reading the answer");
    if cached_at.elapsed() < MAX_AGE * 9 / 10 {
        assert_eq!(response.status, 200, "not from the cache: {response}");
        assert!(response.body == first);
    } else {
        eprintln!("the machine was too slow to see a cache hit within {MAX_AGE:?}");
    }
    // Past the bound the cache checks the disk again: the file is gone, and a new one is seen.
    std::thread::sleep(MAX_AGE + Duration::from_millis(300));
    get_on(&mut conn, "/hot.txt", &[], 404);
    let second = b"second, longer version of the file\n".repeat(10);
    std::fs::write(root.join("hot.txt"), &second).or_fail("writing hot.txt again");
    let response = get_on(&mut conn, "/hot.txt", &[], 200);
    assert!(
        response.body == second,
        "an old version after the bound: {response}"
    );
}

pub fn the_file_cache_sees_a_change_after_its_age_bound(stage: &Stage) {
    let root = TempDir::new("cache-change");
    std::fs::write(root.join("page.txt"), "one").or_fail("writing page.txt");
    let root_arg = root.path().to_string_lossy().into_owned();
    let server = Server::start(stage, &["--root", &root_arg, "--cache-size", "64KiB"]);
    let mut conn = connect(&server);
    assert_eq!(get_on(&mut conn, "/page.txt", &[], 200).body, b"one");
    std::fs::write(root.join("page.txt"), "two, changed").or_fail("changing page.txt");
    std::thread::sleep(MAX_AGE + Duration::from_millis(300));
    let response = get_on(&mut conn, "/page.txt", &[], 200);
    assert_eq!(response.body, b"two, changed", "stale past the bound");
    // And the new version's validators are the new file's: its old ETag no longer matches.
    let etag = response.header("etag").or_fail("an ETag").to_owned();
    get_on(
        &mut conn,
        "/page.txt",
        &[&format!("If-None-Match: {etag}")],
        304,
    );
}
