//! The generated pages, as a client of each stage sees them: the site's own `404.html` from
//! `--root`, the generated error page for a browser (and plain text for everyone else), and
//! `--dir-listing` (off by default; on, a directory of hostile names listed with every name
//! escaped and every link leading back to its file). The module `app::templates` makes the
//! pages, `app::error_pages` and `app::listing` decide what they say.
//!
//! One more check runs for stage 01 only, since what it looks at is the page and not the model:
//! headless Chromium draws a listing, and the screenshot is checked (kept in
//! `target/tmp/pages/listing.png` for people to look at).

use std::path::Path;

use stagekit::peers::{self, CHROMIUM};
use stagekit::scratch::TempDir;
use stagekit::{Server, Stage};

use crate::support::*;

/// What Chromium sends: it prefers HTML to anything else.
const BROWSER_ACCEPT: &str =
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The names that try to break a listing: markup, entity and attribute characters, and the
/// characters that end or start something in a URL.
const HOSTILE: [&str; 8] = [
    "<script>alert(1)<%2Fscript>.txt",
    "a&b.txt",
    "\"q\" 'x'.txt",
    "with space.txt",
    "hash#tag.txt",
    "ask?me.txt",
    "100%.txt",
    "café ☕.txt",
];

/// A document root with the hostile names (each file holds its own name), a subdirectory, a
/// hidden file, the site's stylesheet, and no `index.html`.
fn hostile_root() -> TempDir {
    let root = TempDir::new("pages-root");
    for name in HOSTILE {
        std::fs::write(root.join(name), name).or_fail("writing a hostile file");
    }
    std::fs::create_dir(root.join("sub dir")).or_fail("making a subdirectory");
    std::fs::write(root.join("sub dir").join("inner.txt"), "inner").or_fail("writing");
    std::fs::write(root.join(".secret"), "do not list").or_fail("writing");
    std::fs::write(root.join("style.css"), site_file("style.css")).or_fail("copying style.css");
    root
}

fn root_arg(root: &TempDir) -> String {
    root.path().to_string_lossy().into_owned()
}

/// The values of `href="..."` in a page, in order.
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(href, _)| href.to_owned()))
        .collect()
}

pub fn the_roots_404_html_is_sent_for_a_missing_file(stage: &Stage) {
    let root = TempDir::new("pages-404");
    let page = b"<!doctype html><title>Lost</title><h1>Lost in the wings</h1>\n";
    std::fs::write(root.join("404.html"), page).or_fail("writing 404.html");
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let mut conn = connect(&server);
    for accept in [BROWSER_ACCEPT, "Accept: */*"] {
        let sent = request("GET", "/no/such/page.html", &[accept], b"");
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 404);
        assert!(response.body == page, "not the root's 404.html: {response}");
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
    }
    // HEAD: the same length and no body (the next response must parse right after the head).
    conn.send(b"HEAD /missing HTTP/1.1\r\nHost: test\r\n\r\n")
        .or_fail("sending HEAD");
    let headed = conn
        .read_response_to_head()
        .or_fail("reading HEAD's answer");
    assert_eq!(headed.status, 404, "{headed}");
    assert_eq!(headed.content_length(), Some(page.len() as u64), "{headed}");
    conn.send(get("/404.html")).or_fail("sending after HEAD");
    let direct = expect_status(&mut conn, &get("/404.html"), 200);
    assert!(direct.body == page);
}

pub fn a_browser_gets_a_generated_error_page_and_curl_plain_text(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let mut conn = connect(&server);
    let sent = request("GET", "/missing%3Cb%3E", &[BROWSER_ACCEPT], b"");
    conn.send(&sent).or_fail("sending");
    let html = expect_status(&mut conn, &sent, 404);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = html.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'none'"), "{html}");
    let text = html.text();
    assert!(text.contains("<title>404 Not Found</title>"), "{text}");
    assert!(text.contains("<h1>404 Not Found</h1>"), "{text}");
    assert!(text.contains("href=\"/style.css\""), "{text}");

    // A 405 keeps its Allow field when it becomes a page.
    let sent = request("DELETE", "/style.css", &[BROWSER_ACCEPT], b"");
    conn.send(&sent).or_fail("sending");
    let not_allowed = expect_status(&mut conn, &sent, 405);
    assert!(not_allowed.header("allow").is_some(), "{not_allowed}");
    assert!(not_allowed
        .text()
        .contains("<h1>405 Method Not Allowed</h1>"));

    for accept in [&[][..], &["Accept: */*"][..]] {
        let sent = request("GET", "/missing", accept, b"");
        conn.send(&sent).or_fail("sending");
        let plain = expect_status(&mut conn, &sent, 404);
        assert_eq!(
            plain.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(plain.text(), "not found\n");
    }
}

pub fn a_directory_without_index_is_404_without_dir_listing(stage: &Stage) {
    let root = hostile_root();
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let response = exchange(&server, &get("/"));
    assert_eq!(response.status, 404, "{response}");
    let response = exchange(&server, &get("/sub%20dir/"));
    assert_eq!(response.status, 404, "{response}");
}

pub fn dir_listing_escapes_names_and_every_link_leads_to_its_file(stage: &Stage) {
    let root = hostile_root();
    let server = Server::start(stage, &["--root", &root_arg(&root), "--dir-listing"]);
    let mut conn = connect(&server);
    let sent = request("GET", "/", &[BROWSER_ACCEPT], b"");
    conn.send(&sent).or_fail("sending");
    let listing = expect_status(&mut conn, &sent, 200);
    assert_eq!(
        listing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = listing.text();
    assert!(!page.contains("<script>"), "markup got through:\n{page}");
    assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
    assert!(page.contains("a&amp;b.txt"), "{page}");
    assert!(
        !page.contains(".secret"),
        "a hidden file is listed:\n{page}"
    );
    assert!(
        !page.contains("href=\"../\""),
        "a parent link at the root:\n{page}"
    );
    // Directories first.
    let links: Vec<String> = hrefs(&page)
        .into_iter()
        .filter(|href| href != "/style.css")
        .collect();
    assert_eq!(
        links.first().map(String::as_str),
        Some("sub%20dir/"),
        "{page}"
    );
    assert_eq!(links.len(), HOSTILE.len() + 2, "{links:?}");

    // Every link, followed as a browser resolves it against `/`, gives the file it names.
    for link in &links {
        let target = format!("/{link}");
        let sent = get(&target);
        conn.send(&sent).or_fail("sending");
        let response = expect_status(&mut conn, &sent, 200);
        if let Some(name) = HOSTILE.iter().find(|name| response.body == name.as_bytes()) {
            assert!(
                !link.contains(['#', '?', ' ', '"', '<']),
                "{link} for {name}"
            );
        } else if link == "style.css" {
            assert!(response.body == site_file("style.css"));
        } else {
            assert_eq!(link, "sub%20dir/");
            let inner = response.text();
            assert!(inner.contains("<a href=\"../\">../</a>"), "{inner}");
            assert!(
                inner.contains("<a href=\"inner.txt\">inner.txt</a>"),
                "{inner}"
            );
        }
    }

    // HEAD of a listing: the length GET sends, no body.
    let sent = get("/sub%20dir/");
    conn.send(&sent).or_fail("sending");
    let got = expect_status(&mut conn, &sent, 200);
    conn.send(b"HEAD /sub%20dir/ HTTP/1.1\r\nHost: test\r\n\r\n")
        .or_fail("sending HEAD");
    let headed = conn
        .read_response_to_head()
        .or_fail("reading HEAD's answer");
    assert_eq!(headed.status, 200, "{headed}");
    assert_eq!(headed.content_length(), Some(got.body.len() as u64));
    // Without the slash: redirected to it, so the relative links resolve inside.
    conn.send(get("/sub%20dir")).or_fail("sending after HEAD");
    let moved = expect_status(&mut conn, &get("/sub%20dir"), 301);
    assert_eq!(moved.header("location"), Some("/sub%20dir/"));
}

/// The Chromium check: stage 01 only (the page is the same from every stage).
mod stage01 {
    use super::*;

    const WIDTH: u32 = 1024;
    const HEIGHT: u32 = 768;
    /// The site's colours (common/site/style.css): the page's background and the heading's red.
    const PAPER: [u8; 3] = [0xfb, 0xf8, 0xf1];
    const CURTAIN: [u8; 3] = [0xa8, 0x14, 0x2a];

    #[test]
    fn chromium_draws_a_directory_listing() {
        let Some(program) = peers::require(CHROMIUM, "pages::chromium_draws_a_directory_listing")
        else {
            return;
        };
        let root = hostile_root();
        let server = Server::start(
            &crate::stage01_blocking::STAGE,
            &["--root", &root_arg(&root), "--dir-listing"],
        );
        let url = server.url("/");

        let ran = chromium(&program, &["--dump-dom"], &url);
        assert!(ran.0, "chromium --dump-dom failed:\n{}", ran.2);
        let dom = &ran.1;
        assert!(dom.contains("<title>Index of /</title>"), "{dom}");
        assert!(dom.contains("<h1>Index of /</h1>"), "{dom}");
        assert!(dom.contains("café ☕.txt</a>"), "{dom}");
        assert!(!dom.contains("<script>alert"), "{dom}");

        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages");
        std::fs::create_dir_all(&dir).or_fail("making target/tmp/pages");
        let shot = dir.join("listing.png");
        // A screenshot left by an earlier run must not pass for this one.
        let _ = std::fs::remove_file(&shot);
        let screenshot = format!("--screenshot={}", shot.display());
        let window = format!("--window-size={WIDTH},{HEIGHT}");
        let ran = chromium(&program, &[&screenshot, &window], &url);
        assert!(ran.0, "chromium --screenshot failed:\n{}", ran.2);
        check_screenshot(&shot);
    }

    /// A PNG of the window's size, mostly the site's background (the stylesheet was applied),
    /// some of the heading's red, and enough other colours for text: a drawn listing, not a
    /// blank page nor Chromium's error page.
    fn check_screenshot(path: &Path) {
        let rgb = screenshot_pixels(path, WIDTH, HEIGHT);
        let near = |pixel: &[u8; 3], colour: &[u8; 3]| {
            pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(*b) <= 8)
        };
        let total = rgb.len();
        let paper = rgb.iter().filter(|pixel| near(pixel, &PAPER)).count();
        let curtain = rgb.iter().filter(|pixel| near(pixel, &CURTAIN)).count();
        let mut colours = rgb.clone();
        colours.sort_unstable();
        colours.dedup();
        let shown = format!(
            "{}: {paper} of {total} pixels the page's background, {curtain} the red of the \
             heading and links, {} colours",
            path.display(),
            colours.len()
        );
        assert!(paper > total / 2, "not the styled page: {shown}");
        assert!(curtain > 500, "no heading or links drawn: {shown}");
        assert!(colours.len() > 20, "too few colours for text: {shown}");
    }
}
