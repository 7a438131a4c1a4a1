//! Directory listings: the page a directory without `index.html` shows when the server runs with
//! `--dir-listing` (off by default; without it such a directory is 404, as before).
//!
//! A listing puts names that anyone who can write into the document root chose into a page and
//! into links, so it is where a server most easily becomes a cross-site-scripting hole. Two
//! different escapes are needed, and each comes from a library, not from this file:
//!
//! - the **text** of a name is HTML-escaped by the template (`listing.html`, through
//!   [`crate::templates`], where escaping is on by default): `<script>.txt` is shown, never run;
//! - the **link** is the name percent-encoded as one path segment (RFC 3986 section 3.3), every
//!   octet but the unreserved ones (`A-Z a-z 0-9 - . _ ~`, section 2.3) as `%XX`, with the
//!   `percent-encoding` crate: a `#` or `?` in a name would otherwise end the path, a `%` start
//!   an escape, a `:` make the link look like a scheme, a space or a quote break the attribute.
//!   An encoded link holds none of the characters HTML escaping changes, so the template's
//!   escaping leaves it as it is.
//!
//! What is listed, and how:
//!
//! - *hidden files* (names starting with `.`) are left out, as static files refuse to serve
//!   them; so are names a request could not reach (see `path::check_segment`) and entries that
//!   cannot be looked at beneath the root (a symlink leading outside: see `root`);
//! - *sorted* directories first, then by name compared case-insensitively (Unicode lowercase),
//!   ties broken by the exact name, so `a.txt`, `B.txt`, `b.txt` come in that order;
//! - *sizes* in bytes under 1 KiB, else in KiB, MiB or GiB with one decimal (the exact count is
//!   in the `<data value>`); *dates* are the modification time in UTC, `YYYY-MM-DD HH:MM`, with
//!   the full RFC 3339 time in `<time datetime>`;
//! - a *parent link* `../` everywhere but at the root;
//! - at most [`MAX_ENTRIES`] entries, so that a directory of a million files cannot make a page
//!   of a hundred megabytes; the page says how many more there are.
//!
//! The directory is opened beneath the root like every file (`DocumentRoot::read_dir`), and the
//! trailing-slash redirect of `static_files` comes first, so relative links resolve against
//! the directory.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::path::check_segment;
use super::root::{DirEntries, DirEntry, DocumentRoot};
use super::templates;
use protocol::{Response, StatusCode};

/// The most entries one listing shows.
pub const MAX_ENTRIES: usize = 10_000;

// ANCHOR: link_set
/// What is encoded in a link to an entry: everything but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
// ANCHOR_END: link_set

/// A directory, read and ready to show.
#[derive(Debug)]
pub struct Listing {
    /// The directory's path as the page shows it, decoded: `/`, `/a/b/`.
    path: String,
    read: DirEntries,
}

impl Listing {
    /// Reads the directory `relative` (decoded, `/`-separated, checked against the path rules;
    /// empty for the root) beneath `root`.
    pub fn read(root: &DocumentRoot, relative: &str) -> std::io::Result<Listing> {
        Listing::read_at_most(root, relative, MAX_ENTRIES)
    }

    fn read_at_most(root: &DocumentRoot, relative: &str, max: usize) -> std::io::Result<Listing> {
        let mut read = root.read_dir(relative, listed, max)?;
        read.entries.sort_by(order);
        let path = match relative {
            "" => "/".to_owned(),
            directory => format!("/{directory}/"),
        };
        Ok(Listing { path, read })
    }

    // ANCHOR: listing_response
    /// The listing's page, 200.
    pub fn response(&self) -> Response {
        let entries: Vec<EntryView<'_>> = self.read.entries.iter().map(EntryView::new).collect();
        templates::page(
            StatusCode::OK,
            "listing.html",
            templates::context! {
                path => &self.path,
                parent => self.path != "/",
                entries => entries,
                hidden_more => self.read.more,
            },
        )
    }
    // ANCHOR_END: listing_response
}

/// Whether a name is shown: not hidden, and one a request could ask for.
fn listed(name: &str) -> bool {
    !name.starts_with('.') && check_segment(name).is_ok()
}

/// Directories first, then by name, case-insensitively, then exactly.
fn order(a: &DirEntry, b: &DirEntry) -> std::cmp::Ordering {
    b.is_dir
        .cmp(&a.is_dir)
        .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        .then_with(|| a.name.cmp(&b.name))
}

/// One row of the page, as the template sees it.
#[derive(Serialize)]
struct EntryView<'a> {
    /// Shown as text: the template escapes it.
    name: &'a str,
    /// The link, percent-encoded (the template adds the `/` of a directory).
    href: String,
    dir: bool,
    size: String,
    bytes: u64,
    modified: String,
    modified_iso: String,
}

impl<'a> EntryView<'a> {
    fn new(entry: &'a DirEntry) -> EntryView<'a> {
        let (modified, modified_iso) = utc(entry.modified);
        EntryView {
            name: &entry.name,
            href: utf8_percent_encode(&entry.name, SEGMENT).to_string(),
            dir: entry.is_dir,
            size: human_size(entry.len),
            bytes: entry.len,
            modified,
            modified_iso,
        }
    }
}

/// `512 B`, `1.5 KiB`, `3.0 MiB`, `2.1 GiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // f64 is exact enough for one decimal of any file size.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A time as `YYYY-MM-DD HH:MM` and as RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`), both UTC, to the
/// second. A time outside what the calendar code handles (a file dated in the year 10000) is
/// shown as `?`.
fn utc(time: SystemTime) -> (String, String) {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    };
    let Some(date) = seconds.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) else {
        return ("?".to_owned(), String::new());
    };
    let short = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute()
    );
    (short, date.format(&Rfc3339).unwrap_or_default())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use protocol::Body;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use crate::root::resolvers_to_test;

    /// A directory under the system temp dir, unique to one test, removed when dropped.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        pub(crate) fn new(name: &str) -> TempDir {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let unique = format!(
                "stagecraft-pages-{}-{}-{}",
                std::process::id(),
                name,
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(unique);
            std::fs::create_dir_all(&path).expect("temp dir is writable");
            TempDir(path.canonicalize().expect("just created"))
        }

        pub(crate) fn write(&self, relative: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::write(&path, contents).expect("writing a test file");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The names that tried to break the page or its links.
    pub(crate) const HOSTILE: [&str; 8] = [
        "<script>.txt",
        "a&b",
        "\"q\"",
        "with space.txt",
        "hash#tag",
        "ask?me",
        "100%",
        "café ☕.txt",
    ];

    fn page(listing: &Listing) -> String {
        let response = listing.response();
        assert_eq!(response.status, StatusCode::OK);
        match &response.body {
            Body::Bytes(bytes) => String::from_utf8(bytes.to_vec()).expect("UTF-8"),
            other => panic!("an in-memory page, not {other:?}"),
        }
    }

    fn hostile_dir() -> TempDir {
        let dir = TempDir::new("hostile");
        for name in HOSTILE {
            dir.write(name, name.as_bytes());
        }
        dir
    }

    #[test]
    fn hostile_names_are_escaped_in_text_and_encoded_in_links() {
        let dir = hostile_dir();
        for resolver in resolvers_to_test() {
            let root = DocumentRoot::with_resolver(&dir.0, resolver);
            let html = page(&Listing::read(&root, "").expect("reads"));
            assert!(!html.contains("<script>"), "{html}");
            for (text, link) in [
                ("&lt;script&gt;.txt", "%3Cscript%3E.txt"),
                ("a&amp;b", "a%26b"),
                ("&quot;q&quot;", "%22q%22"),
                ("with space.txt", "with%20space.txt"),
                ("hash#tag", "hash%23tag"),
                ("ask?me", "ask%3Fme"),
                ("100%", "100%25"),
                ("café ☕.txt", "caf%C3%A9%20%E2%98%95.txt"),
            ] {
                let row = format!("<a href=\"{link}\">{text}</a>");
                assert!(html.contains(&row), "{resolver:?}: no {row} in\n{html}");
            }
        }
    }

    #[test]
    fn a_link_decodes_back_to_the_name_it_was_made_from() {
        for name in HOSTILE {
            let link = utf8_percent_encode(name, SEGMENT).to_string();
            assert!(
                link.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                "{link}"
            );
            let back = percent_encoding::percent_decode_str(&link).decode_utf8();
            assert_eq!(back.as_deref(), Ok(name));
        }
    }

    #[test]
    fn directories_come_first_then_names_case_insensitively() {
        let dir = TempDir::new("sorted");
        for name in ["b.txt", "B.txt", "a.txt", "C.txt"] {
            dir.write(name, b"x");
        }
        for name in ["zeta", "Alpha"] {
            std::fs::create_dir(dir.0.join(name)).expect("mkdir");
        }
        let root = DocumentRoot::open(&dir.0).expect("opens");
        let listing = Listing::read(&root, "").expect("reads");
        let names: Vec<&str> = listing
            .read
            .entries
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["Alpha", "zeta", "a.txt", "B.txt", "b.txt", "C.txt"]);
        let html = page(&listing);
        assert!(html.contains("<a href=\"Alpha/\">Alpha/</a>"), "{html}");
    }

    #[test]
    fn hidden_files_and_unreachable_names_are_left_out() {
        let dir = TempDir::new("hidden");
        dir.write(".env", b"SECRET=1");
        dir.write("back\\slash", b"x");
        std::fs::create_dir(dir.0.join(".git")).expect("mkdir");
        dir.write("shown.txt", b"x");
        let root = DocumentRoot::open(&dir.0).expect("opens");
        let html = page(&Listing::read(&root, "").expect("reads"));
        assert!(html.contains("shown.txt"), "{html}");
        for hidden in [".env", ".git", "slash"] {
            assert!(!html.contains(hidden), "{hidden} shown:\n{html}");
        }
        assert!(html.contains("1 entry."), "{html}");
    }

    #[test]
    fn a_symlink_that_leaves_the_root_is_not_listed() {
        let outside = TempDir::new("outside");
        outside.write("secret.txt", b"1234567");
        let dir = TempDir::new("links");
        dir.write("inside.txt", b"abc");
        std::os::unix::fs::symlink(outside.0.join("secret.txt"), dir.0.join("escape"))
            .expect("symlink");
        std::os::unix::fs::symlink("inside.txt", dir.0.join("alias")).expect("symlink");
        std::os::unix::fs::symlink("nowhere", dir.0.join("dangling")).expect("symlink");
        for resolver in resolvers_to_test() {
            let root = DocumentRoot::with_resolver(&dir.0, resolver);
            let listing = Listing::read(&root, "").expect("reads");
            let names: Vec<&str> = listing
                .read
                .entries
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            assert_eq!(names, ["alias", "inside.txt"], "{resolver:?}");
            assert!(listing.read.entries.iter().all(|e| e.len == 3));
        }
    }

    #[test]
    fn the_parent_link_is_there_except_at_the_root() {
        let dir = TempDir::new("parent");
        std::fs::create_dir_all(dir.0.join("sub/deeper")).expect("mkdir");
        let root = DocumentRoot::open(&dir.0).expect("opens");
        let top = page(&Listing::read(&root, "").expect("reads"));
        assert!(!top.contains("href=\"../\""), "{top}");
        assert!(top.contains("<title>Index of &#x2f;</title>"), "{top}");
        let sub = page(&Listing::read(&root, "sub/deeper").expect("reads"));
        assert!(sub.contains("<a href=\"../\">../</a>"), "{sub}");
        assert!(
            sub.contains("<h1>Index of &#x2f;sub&#x2f;deeper&#x2f;</h1>"),
            "{sub}"
        );
    }

    #[test]
    fn sizes_and_dates_are_shown_in_utc() {
        let dir = TempDir::new("sizes");
        let file = dir.write("big.bin", &vec![0; 1536]);
        let when = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");
        let root = DocumentRoot::open(&dir.0).expect("opens");
        let html = page(&Listing::read(&root, "").expect("reads"));
        assert!(
            html.contains("<data value=\"1536\">1.5 KiB</data>"),
            "{html}"
        );
        assert!(
            html.contains("<time datetime=\"2023-11-14T22:13:20Z\">2023-11-14 22:13</time>"),
            "{html}"
        );
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(
            utc(UNIX_EPOCH - Duration::from_secs(60)).0,
            "1969-12-31 23:59"
        );
    }

    #[test]
    fn a_huge_directory_is_cut_at_the_cap_and_says_so() {
        let dir = TempDir::new("cap");
        for index in 0..5 {
            dir.write(&format!("f{index}"), b"");
        }
        dir.write(".hidden", b"");
        let root = DocumentRoot::open(&dir.0).expect("opens");
        let listing = Listing::read_at_most(&root, "", 3).expect("reads");
        assert_eq!(listing.read.entries.len(), 3);
        assert_eq!(listing.read.more, 2);
        assert!(page(&listing).contains("3 entries, and 2 more not shown."));
    }

    #[test]
    fn the_app_lists_a_directory_without_index_only_when_asked() {
        use crate::{App, AppInfo};
        use protocol::{Method, Request};
        let dir = hostile_dir();
        std::fs::create_dir(dir.0.join("sub")).expect("mkdir");
        std::fs::create_dir(dir.0.join("indexed")).expect("mkdir");
        dir.write("indexed/index.html", b"the index");
        let info = AppInfo {
            stage: "stage00-test",
            model: "unit tests",
        };
        let get = |app: &App, target: &str| app.handle(&Request::new(Method::Get, target));
        let off = App::new(&dir.0, info, std::time::Instant::now()).expect("opens");
        assert_eq!(get(&off, "/").status, StatusCode::NOT_FOUND);
        assert_eq!(get(&off, "/sub/").status, StatusCode::NOT_FOUND);

        let options = crate::SiteOptions {
            dir_listing: true,
            ..crate::SiteOptions::new(&dir.0)
        };
        let on = App::site(&options, info, std::time::Instant::now()).expect("opens");
        let top = get(&on, "/");
        assert_eq!(top.status, StatusCode::OK);
        assert!(top.headers.contains("content-security-policy"));
        assert_eq!(get(&on, "/sub/").status, StatusCode::OK);
        // The redirect to the slash form comes first, so relative links resolve inside.
        let redirect = get(&on, "/sub?x=1");
        assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(redirect.headers.get_str("location"), Some("/sub/?x=1"));
        // A directory with an index still serves it; a file or nothing is still 404.
        let indexed = get(&on, "/indexed/");
        assert!(matches!(&indexed.body, Body::Bytes(b) if &b[..] == b"the index"));
        assert_eq!(get(&on, "/a&b/").status, StatusCode::NOT_FOUND);
        assert_eq!(get(&on, "/nope/").status, StatusCode::NOT_FOUND);
        assert_eq!(get(&on, "/.git/").status, StatusCode::NOT_FOUND);
        let post = on.handle(&Request::new(Method::Delete, "/sub/"));
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn a_missing_directory_or_a_file_is_an_error_not_a_page() {
        let dir = TempDir::new("errors");
        dir.write("file.txt", b"x");
        let root = DocumentRoot::open(&dir.0).expect("opens");
        assert!(Listing::read(&root, "nope").is_err());
        assert!(Listing::read(&root, "file.txt").is_err());
        assert!(Path::new(&dir.0).is_dir());
    }
}
