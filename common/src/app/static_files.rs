//! Static files from a document root.
//!
//! What happens to `GET /chapters/` on its way to a file:
//!
//! 1. **Resolution** ([`resolve`]): the path is split into segments and each is decoded and
//!    checked (see `path`), then joined onto the root one segment at a time. The result is
//!    canonicalized (symlinks followed) and must still lie under the canonical root; a symlink
//!    that points outside is answered like a missing file, 404, so as not to tell a prober what
//!    exists. A directory is served through its `index.html`; a directory asked for without
//!    the trailing slash is redirected (301) to the slash form, so that relative links inside
//!    its page resolve against the directory. There are no directory listings.
//! 2. **Preconditions** (RFC 9110 section 13, in `conditional`): `If-None-Match` and
//!    `If-Modified-Since` can turn the answer into 304 Not Modified; `If-Match` and
//!    `If-Unmodified-Since` into 412.
//! 3. **Range** (section 14, in `range`): one byte range gives 206 with `Content-Range`; a range
//!    wholly past the end gives 416; several ranges, or an `If-Range` that no longer matches,
//!    give the whole file with 200.
//!
//! The body is never read here: the file is opened once and the response carries the open
//! file and the region to send, so that a driver can hand it to `sendfile`.
//!
//! Choices a reader may want to change:
//!
//! - *Dotfiles* (`.env`, `.git/`) are answered with 404: a document root is a directory people
//!   copy things into, and hidden files are the ones they forget about.
//! - An encoded slash (`%2F`) inside a segment is refused with 400: a file name cannot contain
//!   a slash, so the only thing such a request can do is confuse a path check.
//! - Between canonicalizing a path and opening it, someone with write access to the root could
//!   swap a directory for a symlink. Closing that race needs `openat2(RESOLVE_BENEATH)` on Linux;
//!   this server assumes the root is not writable by whoever sends it requests.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::conditional::{evaluate, if_range_allows, Precondition, Validators};
use super::path::{check_segment, decode_segment, raw_segments, PathError};
use super::range::{parse_range, RangeRequest};
use crate::message::{Body, FileRegion, Method, Request, Response, StatusCode};

/// The methods a static file answers.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Why a path does not lead to a file to serve.
#[derive(Debug)]
pub enum Refusal {
    /// The path breaks one of the rules of `path`: 400.
    BadPath(PathError),
    /// A segment holds an encoded `/`: 400.
    EncodedSlash,
    /// Nothing servable there (missing, hidden, outside the root, not a regular file): 404.
    NotFound,
    /// The file exists but the server may not read it: 403.
    Forbidden,
}

impl Refusal {
    /// The response that tells the client.
    pub fn response(&self) -> Response {
        match self {
            Refusal::BadPath(error) => Response::text(StatusCode::BAD_REQUEST, error.to_string()),
            Refusal::EncodedSlash => Response::text(
                StatusCode::BAD_REQUEST,
                "the path contains an encoded slash (%2F) inside a segment",
            ),
            Refusal::NotFound => Response::text(StatusCode::NOT_FOUND, "not found"),
            Refusal::Forbidden => Response::text(StatusCode::FORBIDDEN, "forbidden"),
        }
    }
}

impl From<io::Error> for Refusal {
    fn from(error: io::Error) -> Refusal {
        match error.kind() {
            io::ErrorKind::PermissionDenied => Refusal::Forbidden,
            // Not found, not a directory, a symlink loop, a name too long: from the outside all
            // of these are "there is no file at this path".
            _ => Refusal::NotFound,
        }
    }
}

/// Where a path leads.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file, opened.
    File(OpenFile),
    /// A directory asked for without its trailing slash.
    DirectoryWithoutSlash,
}

/// A file opened for serving, with what the response needs to know about it.
#[derive(Debug)]
pub struct OpenFile {
    pub file: File,
    pub len: u64,
    pub modified: SystemTime,
    /// The name the client asked for (for a directory, its `index.html`), which decides the
    /// media type; the canonical path may end in another name if a symlink was followed.
    pub requested_name: PathBuf,
}

/// Serves `path` (raw, already checked by `path::check_path`) from the canonical `root`.
pub fn serve(root: &Path, request: &Request, path: &str) -> Response {
    let resolved = match resolve(root, path) {
        Ok(resolved) => resolved,
        Err(refusal) => return refusal.response(),
    };
    match request.method {
        Method::Get | Method::Head => {}
        Method::Options => return Response::new(StatusCode::NO_CONTENT).header("allow", ALLOW),
        _ => {
            return Response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "a static file can only be read: use GET or HEAD",
            )
            .header("allow", ALLOW)
        }
    }
    match resolved {
        Resolved::File(file) => respond_with_file(request, file),
        Resolved::DirectoryWithoutSlash => {
            let location = match request.query() {
                Some(query) => format!("{path}/?{query}"),
                None => format!("{path}/"),
            };
            Response::text(
                StatusCode::MOVED_PERMANENTLY,
                format!("moved to {location}"),
            )
            .header("location", location)
        }
    }
}

// ANCHOR: resolve
/// Maps a raw request path onto a file under the canonical `root`, or says why not.
pub fn resolve(root: &Path, path: &str) -> Result<Resolved, Refusal> {
    let mut candidate = root.to_path_buf();
    let mut segments = raw_segments(path).peekable();
    let mut trailing_slash = false;
    while let Some(raw) = segments.next() {
        let segment = decode_segment(raw).map_err(Refusal::BadPath)?;
        check_segment(&segment).map_err(Refusal::BadPath)?;
        if segment.contains('/') {
            return Err(Refusal::EncodedSlash);
        }
        if segment.is_empty() {
            // `a//b` is `a/b` on any file system; only a final empty segment means something.
            trailing_slash = segments.peek().is_none();
            continue;
        }
        if segment.starts_with('.') {
            return Err(Refusal::NotFound);
        }
        // One segment at a time, and never a string holding a `/`: `push` of an absolute path
        // would replace the root instead of extending it.
        candidate.push(&*segment);
    }

    let mut canonical = within_root(root, &candidate)?;
    if canonical.is_dir() {
        if !trailing_slash {
            return Ok(Resolved::DirectoryWithoutSlash);
        }
        candidate.push("index.html");
        // index.html may itself be a symlink, so it is checked like any other path.
        canonical = within_root(root, &candidate)?;
    } else if trailing_slash {
        // `/page.html/` names a directory that is not there.
        return Err(Refusal::NotFound);
    }

    let file = File::open(&canonical)?;
    // Size and time from the open file, not from the path: they describe the bytes we send.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(Resolved::File(OpenFile {
        file,
        len: metadata.len(),
        modified: metadata.modified()?,
        requested_name: candidate,
    }))
}

/// The canonical form of `candidate`, if it exists and lies under `root` (itself canonical).
fn within_root(root: &Path, candidate: &Path) -> Result<PathBuf, Refusal> {
    let canonical = candidate.canonicalize()?;
    // `starts_with` compares whole components: `/srv/site2` does not start with `/srv/site`.
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(Refusal::NotFound)
    }
}
// ANCHOR_END: resolve

/// Builds the 200, 206, 304, 412 or 416 for an opened file.
fn respond_with_file(request: &Request, open: OpenFile) -> Response {
    let validators = Validators::new(open.len, open.modified);
    let last_modified = validators.last_modified_http();
    let validated = |status| {
        Response::new(status)
            .header("etag", &validators.etag)
            .header("last-modified", &last_modified)
    };

    match evaluate(&request.method, &request.headers, &validators) {
        Precondition::Proceed => {}
        // A 304 carries the validators so the client can refresh what it stored (section 15.4.5).
        Precondition::NotModified => return validated(StatusCode::NOT_MODIFIED),
        Precondition::Failed => {
            return Response::text(StatusCode::PRECONDITION_FAILED, "precondition failed")
        }
    }

    // ANCHOR: range_decision
    // Range applies to GET only (section 14.2), and only while If-Range, if sent, still matches.
    let range = match request.headers.get_str("range") {
        Some(value)
            if request.method == Method::Get
                && request
                    .headers
                    .get_str("if-range")
                    .is_none_or(|if_range| if_range_allows(if_range, &validators)) =>
        {
            parse_range(value, open.len)
        }
        _ => RangeRequest::Full,
    };
    // ANCHOR_END: range_decision

    let total = open.len;
    let content_type = content_type(&open.requested_name);
    let region = |offset, len| {
        Body::File(FileRegion {
            file: Arc::new(open.file),
            offset,
            len,
        })
    };
    let (status, body) = match range {
        RangeRequest::Full => (StatusCode::OK, region(0, total)),
        RangeRequest::Partial { start, len } => (StatusCode::PARTIAL_CONTENT, region(start, len)),
        RangeRequest::Unsatisfiable => {
            return Response::text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
                .header("content-range", format!("bytes */{total}"))
                .header("accept-ranges", "bytes");
        }
    };
    let mut response = validated(status)
        .header("content-type", &*content_type)
        .header("accept-ranges", "bytes");
    if let RangeRequest::Partial { start, len } = range {
        response = response.header(
            "content-range",
            RangeRequest::content_range(start, len, total),
        );
    }
    response.body = body;
    response
}

/// The media type for a file name, by extension, with `charset=utf-8` where the type is text a
/// browser would otherwise have to guess the encoding of.
pub fn content_type(name: &Path) -> Cow<'static, str> {
    let Some(essence) = mime_guess::from_path(name).first_raw() else {
        return Cow::Borrowed("application/octet-stream");
    };
    if essence.starts_with("text/") || essence.ends_with("javascript") || essence.ends_with("json")
    {
        Cow::Owned(format!("{essence}; charset=utf-8"))
    } else {
        Cow::Borrowed(essence)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, SeekFrom};
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::app::default_site_root;

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
        let path = request.path();
        match crate::app::path::check_path(path) {
            Ok(()) => serve(root, request, path),
            Err(error) => Refusal::BadPath(error).response(),
        }
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
                let mut file = region
                    .file
                    .try_clone()
                    .expect("a file handle can be cloned");
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
        assert!(matches!(response.body, Body::File(_)));
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
        // The static-file module must be safe even if a caller forgets `check_path`.
        for path in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/..%2fCargo.toml",
            "/a%00",
        ] {
            assert!(
                matches!(
                    resolve(&site(), path),
                    Err(Refusal::BadPath(_) | Refusal::EncodedSlash)
                ),
                "{path}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_404_and_inside_are_served() {
        use std::os::unix::fs::symlink;

        let outside = TempDir::new("outside");
        std::fs::write(outside.0.join("secret.txt"), "secret").expect("write");
        let root = TempDir::new("root");
        std::fs::write(root.0.join("page.txt"), "page").expect("write");
        symlink(outside.0.join("secret.txt"), root.0.join("leak.txt")).expect("symlink");
        symlink(&outside.0, root.0.join("leakdir")).expect("symlink");
        symlink(root.0.join("page.txt"), root.0.join("alias.txt")).expect("symlink");
        std::fs::create_dir(root.0.join("sub")).expect("mkdir");
        symlink(outside.0.join("secret.txt"), root.0.join("sub/index.html")).expect("symlink");

        for path in ["/leak.txt", "/leakdir/secret.txt", "/leakdir/", "/sub/"] {
            let response = serve_checked(&root.0, &Request::new(Method::Get, path));
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        }
        let alias = serve_checked(&root.0, &Request::new(Method::Get, "/alias.txt"));
        assert_eq!(alias.status, StatusCode::OK);
        assert_eq!(body(&alias), b"page");
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
    fn the_body_is_a_region_of_the_open_file_not_a_copy() {
        let response = get("/big.bin", &[("range", "bytes=10-19")]);
        match &response.body {
            Body::File(region) => {
                assert_eq!((region.offset, region.len), (10, 10));
            }
            other => panic!("expected a file region, got {other:?}"),
        }
    }
}
