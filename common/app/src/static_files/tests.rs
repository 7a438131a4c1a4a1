//! Tests of the parent module.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU32, Ordering};

use std::path::PathBuf;

use super::*;
use crate::default_site_root;
use crate::root::resolvers_to_test;

/// A directory under the system temp dir, unique to one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "stagecraft-app-{}-{}-{}",
            std::process::id(),
            name,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path.canonicalize().expect("just created"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn site() -> PathBuf {
    default_site_root()
        .canonicalize()
        .expect("the bundled site exists")
}

fn get(path: &str, fields: &[(&str, &str)]) -> Response {
    request(Method::Get, path, fields)
}

fn request(method: Method, target: &str, fields: &[(&str, &str)]) -> Response {
    let mut request = Request::new(method, target);
    for (name, value) in fields {
        request.headers.append(name, value);
    }
    serve_checked(&site(), &request)
}

/// What the application does: check the path, then serve.
fn serve_checked(root: &Path, request: &Request) -> Response {
    let root = DocumentRoot::open(root).expect("a test root is a directory");
    serve_from(&root, request)
}

fn serve_from(root: &DocumentRoot, request: &Request) -> Response {
    match crate::path::check_path(request.path()) {
        Ok(path) => serve(root, request, path),
        Err(error) => Refusal::BadPath(error).response(),
    }
}

fn get_from(root: &DocumentRoot, path: &str) -> Response {
    serve_from(root, &Request::new(Method::Get, path))
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers.get_str(name)
}

/// The bytes of the response body, reading the file region for a file body.
fn body(response: &Response) -> Vec<u8> {
    match &response.body {
        Body::Empty => Vec::new(),
        Body::Bytes(bytes) => bytes.to_vec(),
        Body::File(region) => {
            let mut file = std::fs::File::from(
                region
                    .file
                    .try_clone()
                    .expect("a file handle can be cloned"),
            );
            file.seek(SeekFrom::Start(region.offset)).expect("seekable");
            let mut bytes = Vec::new();
            file.take(region.len)
                .read_to_end(&mut bytes)
                .expect("readable");
            bytes
        }
        Body::Stream(_) => panic!("static files are never streamed"),
    }
}

fn site_file(name: &str) -> Vec<u8> {
    std::fs::read(site().join(name)).expect("bundled file exists")
}

#[test]
fn index_html_is_served_for_the_root() {
    let response = get("/", &[]);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&response, "accept-ranges"), Some("bytes"));
    assert!(header(&response, "etag").is_some_and(|tag| tag.starts_with('"')));
    assert!(header(&response, "last-modified").is_some_and(|d| d.ends_with(" GMT")));
    assert!(
        matches!(response.body, Body::Bytes(_)),
        "a 4 KiB page is read into memory and sent with its head"
    );
    assert_eq!(body(&response), site_file("index.html"));
}

#[test]
fn media_types_follow_the_extension() {
    let css = get("/style.css", &[]);
    assert_eq!(
        header(&css, "content-type"),
        Some("text/css; charset=utf-8")
    );
    let png = get("/stagecraft.png", &[]);
    assert_eq!(header(&png, "content-type"), Some("image/png"));
    assert_eq!(&body(&png)[..8], b"\x89PNG\r\n\x1a\n");
    let big = get("/big.bin", &[]);
    assert_eq!(
        header(&big, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(big.body.len(), Some(1024 * 1024));
    assert_eq!(
        content_type(Path::new("app.js")),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        content_type(Path::new("a.json")),
        "application/json; charset=utf-8"
    );
    assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
}

#[test]
fn directories_redirect_to_the_slash_form_then_serve_their_index() {
    let response = get("/chapters?x=1", &[]);
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&response, "location"), Some("/chapters/?x=1"));
    let response = get("/chapters/", &[]);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(body(&response), site_file("chapters/index.html"));
    assert_eq!(get("//chapters//", &[]).status, StatusCode::OK);
}

#[test]
fn missing_hidden_and_misshapen_paths_are_404() {
    for path in [
        "/nope.html",
        "/index.html/",
        "/chapters/nope",
        "/.hidden",
        "/x/.git/config",
    ] {
        assert_eq!(get(path, &[]).status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn a_directory_without_index_is_404_not_a_listing() {
    let dir = TempDir::new("no-index");
    std::fs::create_dir(dir.0.join("empty")).expect("create");
    let request = Request::new(Method::Get, "/empty/");
    assert_eq!(
        serve_checked(&dir.0, &request).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn traversal_attempts_are_400() {
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/x",
        "/a/%2E%2E/%2e%2e/x",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/..\\..\\etc\\passwd",
        "/a%5c..%5cb",
        "/index.html%00.png",
        "/%zz",
        "/chapters/..",
    ] {
        assert_eq!(
            get(path, &[]).status,
            StatusCode::BAD_REQUEST,
            "{path} was not refused"
        );
    }
}

#[test]
fn traversal_is_refused_by_resolve_alone_too() {
    // The static-file module must be safe even if a caller got a `CheckedPath` some other
    // way than `check_path` (only tests can).
    let root = DocumentRoot::open(&site()).expect("the bundled site");
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/a%00",
        "/a\\..\\b",
    ] {
        assert!(
            matches!(
                resolve(&root, CheckedPath::unchecked(path)),
                Err(Refusal::BadPath(_) | Refusal::EncodedSlash)
            ),
            "{path}"
        );
    }
}

/// A root with symlinks of every kind, beside a directory outside it with a secret.
struct SymlinkFarm {
    root: TempDir,
    _outside: TempDir,
}

impl SymlinkFarm {
    fn new() -> SymlinkFarm {
        use std::os::unix::fs::symlink;

        let outside = TempDir::new("outside");
        let out = &outside.0;
        std::fs::write(out.join("secret.txt"), "secret").expect("write");
        let root = TempDir::new("root");
        let r = &root.0;
        std::fs::write(r.join("page.txt"), "page").expect("write");
        std::fs::create_dir(r.join("sub")).expect("mkdir");
        std::fs::write(r.join("sub/inner.css"), "inner").expect("write");
        std::fs::create_dir(r.join("docs")).expect("mkdir");
        std::fs::write(r.join("docs/index.html"), "docs").expect("write");
        std::fs::create_dir(r.join("linked-index")).expect("mkdir");
        std::fs::create_dir(r.join("leaky-index")).expect("mkdir");
        let links: [(&Path, &str); 10] = [
            // Inside, pointing inside: relative, absolute, to a directory, and climbing up
            // with `..` without leaving.
            (Path::new("page.txt"), "relative.txt"),
            (&r.join("page.txt"), "absolute.txt"),
            (Path::new("docs"), "docs-link"),
            (Path::new("../page.txt"), "linked-index/index.html"),
            // Inside, pointing outside: to a file, to a directory, climbing out with `..`,
            // and an index.html that leaks.
            (&out.join("secret.txt"), "leak.txt"),
            (out, "leakdir"),
            (
                Path::new("../../../../../../../../../../etc/passwd"),
                "climb.txt",
            ),
            (&out.join("secret.txt"), "leaky-index/index.html"),
            // A magic link: the server's own open files.
            (Path::new("/proc/self/fd/0"), "magic"),
            // A link to itself.
            (Path::new("loop"), "loop"),
        ];
        for (target, name) in links {
            symlink(target, r.join(name)).expect("symlink");
        }
        SymlinkFarm {
            root,
            _outside: outside,
        }
    }
}

#[test]
fn symlinks_inside_the_root_are_served() {
    let farm = SymlinkFarm::new();
    for resolver in resolvers_to_test() {
        let root = DocumentRoot::with_resolver(&farm.root.0, resolver);
        for (path, expected) in [
            ("/relative.txt", &b"page"[..]),
            ("/absolute.txt", b"page"),
            ("/docs-link/", b"docs"),
            ("/docs-link/index.html", b"docs"),
            ("/linked-index/", b"page"),
        ] {
            let response = get_from(&root, path);
            assert_eq!(response.status, StatusCode::OK, "{path} {resolver:?}");
            assert_eq!(body(&response), expected, "{path} {resolver:?}");
        }
        // The media type comes from the name asked for, not the link's target.
        let alias = get_from(&root, "/relative.txt");
        assert_eq!(
            header(&alias, "content-type"),
            Some("text/plain; charset=utf-8")
        );
        let redirect = get_from(&root, "/docs-link");
        assert_eq!(
            redirect.status,
            StatusCode::MOVED_PERMANENTLY,
            "{resolver:?}"
        );
    }
}

#[test]
fn symlinks_out_of_the_root_are_404() {
    let farm = SymlinkFarm::new();
    for resolver in resolvers_to_test() {
        let root = DocumentRoot::with_resolver(&farm.root.0, resolver);
        for path in [
            "/leak.txt",
            "/leakdir",
            "/leakdir/",
            "/leakdir/secret.txt",
            "/climb.txt",
            "/leaky-index/",
            "/magic",
            "/loop",
        ] {
            let response = get_from(&root, path);
            assert_eq!(
                response.status,
                StatusCode::NOT_FOUND,
                "{path} {resolver:?}"
            );
            assert_ne!(body(&response), b"secret", "{path} {resolver:?}");
        }
    }
}

#[test]
fn a_symlink_swapped_in_after_start_cannot_lead_out() {
    // What the check-then-open race would exploit: the root changes under a running server.
    // With openat2 there is no window; here the swap happens between two requests, which
    // every resolver must see.
    let farm = SymlinkFarm::new();
    for resolver in resolvers_to_test() {
        let root = DocumentRoot::with_resolver(&farm.root.0, resolver);
        let sub = farm.root.0.join("sub");
        assert_eq!(get_from(&root, "/sub/inner.css").status, StatusCode::OK);
        let moved = farm.root.0.join(format!("sub-{resolver:?}"));
        std::fs::rename(&sub, &moved).expect("rename");
        std::os::unix::fs::symlink(&farm._outside.0, &sub).expect("symlink");
        std::fs::write(farm._outside.0.join("inner.css"), "secret").expect("write");
        let response = get_from(&root, "/sub/inner.css");
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{resolver:?}");
        std::fs::remove_file(&sub).expect("unlink");
        std::fs::rename(&moved, &sub).expect("rename back");
    }
}

#[test]
fn the_fallback_serves_the_site_like_openat2() {
    let site = site();
    for resolver in resolvers_to_test() {
        let root = DocumentRoot::with_resolver(&site, resolver);
        assert_eq!(root.resolver(), resolver);
        for (path, status) in [
            ("/", StatusCode::OK),
            ("/style.css", StatusCode::OK),
            ("/chapters", StatusCode::MOVED_PERMANENTLY),
            ("/chapters/", StatusCode::OK),
            ("//chapters//index.html", StatusCode::OK),
            ("/%73tyle.css", StatusCode::OK),
            ("/nope", StatusCode::NOT_FOUND),
            ("/style.css/", StatusCode::NOT_FOUND),
        ] {
            assert_eq!(get_from(&root, path).status, status, "{path} {resolver:?}");
        }
    }
}

#[test]
fn a_fifo_in_the_root_is_404_without_waiting_for_a_writer() {
    let dir = TempDir::new("fifo");
    let fifo = dir.0.join("pipe.txt");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    for resolver in resolvers_to_test() {
        let root = DocumentRoot::with_resolver(&dir.0, resolver);
        // Without O_NONBLOCK this open would wait for a writer, and the test would hang.
        let response = get_from(&root, "/pipe.txt");
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{resolver:?}");
    }
}

#[test]
fn plain_requests_resolve_without_copying_the_path() {
    let path = crate::path::check_path("/chapters/index.html").expect("valid");
    let asked = wanted(path).expect("servable");
    assert!(matches!(
        asked.relative,
        Cow::Borrowed("chapters/index.html")
    ));
    assert_eq!(asked.name, "index.html");
    assert!(!asked.trailing_slash);
    let path = crate::path::check_path("/chapters/").expect("valid");
    let asked = wanted(path).expect("servable");
    assert!(matches!(asked.relative, Cow::Borrowed("chapters")));
    assert!(asked.trailing_slash);
    let path = crate::path::check_path("//a/%62//c.css").expect("valid");
    let asked = wanted(path).expect("servable");
    assert_eq!(asked.relative, "a/b/c.css");
    assert_eq!(asked.name, "c.css");
    assert!(!asked.trailing_slash);
}

#[test]
fn a_root_that_is_a_prefix_of_a_sibling_does_not_leak_it() {
    let parent = TempDir::new("prefix");
    std::fs::create_dir(parent.0.join("site")).expect("mkdir");
    std::fs::create_dir(parent.0.join("site2")).expect("mkdir");
    std::fs::write(parent.0.join("site2/x.txt"), "x").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(parent.0.join("site2/x.txt"), parent.0.join("site/x.txt"))
        .expect("symlink");
    let root = parent.0.join("site");
    let response = serve_checked(&root, &Request::new(Method::Get, "/x.txt"));
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

#[test]
fn writes_to_a_static_path_are_405_and_options_lists_methods() {
    for method in [Method::Post, Method::Put, Method::Delete] {
        let response = request(method, "/index.html", &[]);
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(&response, "allow"), Some(ALLOW));
    }
    let options = request(Method::Options, "/style.css", &[]);
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(header(&options, "allow"), Some(ALLOW));
    assert_eq!(
        request(Method::Post, "/nope", &[]).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn head_gets_the_get_headers() {
    let response = request(Method::Head, "/style.css", &[("range", "bytes=0-1")]);
    // Range is defined for GET only: HEAD describes the whole file.
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.body.len(),
        Some(site_file("style.css").len() as u64)
    );
}

fn etag_and_date(path: &str) -> (String, String) {
    let response = get(path, &[]);
    let etag = header(&response, "etag").expect("etag").to_owned();
    let date = header(&response, "last-modified").expect("date").to_owned();
    (etag, date)
}

#[test]
fn if_none_match_gives_304_with_validators() {
    let (etag, date) = etag_and_date("/style.css");
    for value in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let response = get("/style.css", &[("if-none-match", &value)]);
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{value}");
        assert_eq!(header(&response, "etag"), Some(etag.as_str()));
        assert_eq!(header(&response, "last-modified"), Some(date.as_str()));
        assert!(response.body.is_empty());
    }
    let stale = get("/style.css", &[("if-none-match", "\"stale\"")]);
    assert_eq!(stale.status, StatusCode::OK);
}

#[test]
fn if_modified_since_gives_304_only_without_if_none_match() {
    let (_, date) = etag_and_date("/style.css");
    let response = get("/style.css", &[("if-modified-since", &date)]);
    assert_eq!(response.status, StatusCode::NOT_MODIFIED);
    let old = get(
        "/style.css",
        &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
    );
    assert_eq!(old.status, StatusCode::OK);
    let both = get(
        "/style.css",
        &[("if-none-match", "\"stale\""), ("if-modified-since", &date)],
    );
    assert_eq!(both.status, StatusCode::OK);
}

#[test]
fn if_match_failure_is_412() {
    let response = get("/style.css", &[("if-match", "\"stale\"")]);
    assert_eq!(response.status, StatusCode::PRECONDITION_FAILED);
}

#[test]
fn each_range_form_gives_206_with_content_range() {
    let big = site_file("big.bin");
    let total = big.len();
    let cases = [
        ("bytes=0-99", 0, 100),
        ("bytes=1048000-", 1_048_000, total - 1_048_000),
        ("bytes=-10", total - 10, 10),
        ("bytes=1048570-2000000", 1_048_570, 6),
    ];
    for (range, start, len) in cases {
        let response = get("/big.bin", &[("range", range)]);
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            Some(format!("bytes {}-{}/{}", start, start + len - 1, total).as_str())
        );
        assert!(header(&response, "etag").is_some());
        assert!(header(&response, "last-modified").is_some());
        assert_eq!(body(&response), &big[start..start + len], "{range}");
    }
}

#[test]
fn unsatisfiable_range_is_416_with_the_length() {
    let response = get("/big.bin", &[("range", "bytes=1048576-")]);
    assert_eq!(response.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&response, "content-range"), Some("bytes */1048576"));
}

#[test]
fn several_ranges_or_nonsense_give_the_whole_file() {
    for range in ["bytes=0-1,4-5", "bytes=oops", "lines=1-2"] {
        let response = get("/big.bin", &[("range", range)]);
        assert_eq!(response.status, StatusCode::OK, "{range}");
        assert_eq!(response.body.len(), Some(1024 * 1024));
    }
}

#[test]
fn if_range_sends_the_range_only_while_the_validator_matches() {
    let (etag, date) = etag_and_date("/big.bin");
    let ranged = |if_range: &str| {
        get(
            "/big.bin",
            &[("range", "bytes=0-9"), ("if-range", if_range)],
        )
        .status
    };
    assert_eq!(ranged(&etag), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged(&date), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged("\"stale\""), StatusCode::OK);
    assert_eq!(ranged(&format!("W/{etag}")), StatusCode::OK);
    assert_eq!(ranged("Thu, 01 Jan 1970 00:00:00 GMT"), StatusCode::OK);
}

#[test]
fn large_bodies_are_regions_of_the_open_file_and_small_ones_are_read() {
    let response = get("/big.bin", &[("range", "bytes=100000-199999")]);
    match &response.body {
        Body::File(region) => {
            assert_eq!((region.offset, region.len), (100_000, 100_000));
        }
        other => panic!("expected a file region, got {other:?}"),
    }
    let whole = get("/big.bin", &[]);
    assert!(matches!(&whole.body, Body::File(region) if region.len == 1 << 20));

    let small = get("/big.bin", &[("range", "bytes=10-19")]);
    match &small.body {
        Body::Bytes(bytes) => assert_eq!(&bytes[..], &site_file("big.bin")[10..20]),
        other => panic!("a 10-byte range is read into memory, got {other:?}"),
    }
}
