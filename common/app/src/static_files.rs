//! Static files from a document root.
//!
//! What happens to `GET /chapters/` on its way to a file:
//!
//! 1. **Resolution** ([`resolve`]): the segments, decoded once by `path::check_path`, are
//!    checked against the rules below and joined into a path relative to the root (without a
//!    copy when the request holds no `%` or `//`). The file is then opened *beneath* the root
//!    (see `root`: `openat2` with `RESOLVE_BENEATH` on Linux), so that a symlink which leads
//!    outside fails in the kernel and is answered like a missing file, 404, so as not to tell a
//!    prober what exists. One `statx` of the open file gives its size, time and type. A
//!    directory is served through its `index.html`; a directory asked for without the trailing
//!    slash is redirected (301) to the slash form, so that relative links inside its page
//!    resolve against the directory. There are no directory listings.
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
//! - Symlinks are followed as long as they stay inside the root, so a site can be assembled from
//!   links. Checking and opening are one kernel call, so there is no race between them for
//!   someone who can write into the root to win, except where `openat2` is missing (Linux
//!   before 5.6, or a system-call filter that does not know it): there `root` falls back to
//!   canonicalize-then-open, and says so when the server starts.
//! - A path with a trailing slash is opened as `path/index.html` straight away: if `path` is a
//!   file, or a directory without an index, that fails, and either way the answer is 404.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::conditional::{evaluate, if_range_allows, Precondition, Validators};
use super::path::{check_segment, CheckedPath, PathError};
use super::range::{parse_range, RangeRequest};
use super::root::DocumentRoot;
use protocol::{Body, FileRegion, Headers, Method, Request, Response, StatusCode};

/// Files (or ranges) up to this size are read into memory and sent with their head; larger ones
/// are sent as a file region, which a driver may hand to `sendfile`.
pub const SMALL_FILE_IN_MEMORY: u64 = 16 * 1024;

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
    /// The media type, from the name the client asked for (for a directory, its `index.html`),
    /// not from where a symlink may have led.
    pub content_type: Cow<'static, str>,
}

/// Serves `path` from `root`.
pub fn serve(root: &DocumentRoot, request: &Request, path: CheckedPath<'_>) -> Response {
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
            let path = path.as_str();
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
/// Maps a checked request path onto a file under `root`, or says why not.
pub fn resolve(root: &DocumentRoot, path: CheckedPath<'_>) -> Result<Resolved, Refusal> {
    let wanted = wanted(path)?;
    if wanted.trailing_slash {
        // A directory's page. One open of `dir/index.html`: if `dir` is a file, or has no
        // index.html, this fails, and either way there is nothing to serve.
        let index = match wanted.relative.as_ref() {
            "" => Cow::Borrowed("index.html"),
            directory => Cow::Owned(format!("{directory}/index.html")),
        };
        let (file, metadata) = open_and_stat(root, &index)?;
        return regular_file(file, metadata, Path::new("index.html"));
    }
    let (file, metadata) = open_and_stat(root, &wanted.relative)?;
    if metadata.is_dir() {
        return Ok(Resolved::DirectoryWithoutSlash);
    }
    regular_file(file, metadata, Path::new(wanted.name.as_ref()))
}

/// Opens `relative` beneath the root, and `stat`s the open file: size, time and type come from
/// the file we will send, not from a path that could change in between.
fn open_and_stat(
    root: &DocumentRoot,
    relative: &str,
) -> Result<(File, std::fs::Metadata), Refusal> {
    let file = root.open_file(relative)?;
    let metadata = file.metadata()?;
    Ok((file, metadata))
}

/// The response's view of an opened file, if it is a regular file (not a directory, a FIFO, a
/// device: none of those is content to serve).
fn regular_file(file: File, metadata: std::fs::Metadata, name: &Path) -> Result<Resolved, Refusal> {
    if !metadata.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(Resolved::File(OpenFile {
        file,
        len: metadata.len(),
        modified: metadata.modified()?,
        content_type: content_type(name),
    }))
}

/// What a request path asks for under the root.
struct Wanted<'a> {
    /// Relative to the root, `/`-separated, no empty segments; empty for the root itself.
    relative: Cow<'a, str>,
    /// The last segment, decoded: its extension decides the media type.
    name: Cow<'a, str>,
    /// The path ends in `/`: the client wants a directory's page.
    trailing_slash: bool,
}

/// Checks the segments against the static-file rules and joins them into a relative path.
fn wanted(path: CheckedPath<'_>) -> Result<Wanted<'_>, Refusal> {
    let mut segments = path.segments().peekable();
    let mut trailing_slash = false;
    // Built only when the request's own text will not do: escapes to decode, or `//` to drop.
    let mut joined: Option<String> = None;
    let mut name = Cow::Borrowed("");
    let needs_copy = path.is_encoded() || path.as_str().contains("//");
    while let Some(segment) = segments.next() {
        // `check_path` has refused all of these already; checking again is cheap, and keeps
        // this module safe on its own.
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
        if needs_copy {
            let joined = joined.get_or_insert_with(String::new);
            if !joined.is_empty() {
                joined.push('/');
            }
            joined.push_str(&segment);
        }
        name = segment;
    }
    // Without escapes or `//`, the path minus its leading and trailing slash is the answer.
    let raw = path.as_str();
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    let relative = match joined {
        Some(joined) => Cow::Owned(joined),
        None if needs_copy => Cow::Borrowed(""),
        None => Cow::Borrowed(raw),
    };
    Ok(Wanted {
        relative,
        name,
        trailing_slash,
    })
}
// ANCHOR_END: resolve

/// Builds the 200, 206, 304, 412 or 416 for an opened file.
fn respond_with_file(request: &Request, open: OpenFile) -> Response {
    let validators = Validators::new(open.len, open.modified);
    let last_modified = validators.last_modified_http();
    let validated = |status| {
        // Room for the fields a 206 carries (a 200 has one fewer), so that adding them never
        // reallocates.
        Response {
            status,
            headers: Headers::with_capacity(6, 192),
            body: Body::Empty,
        }
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
    let is_get = request.method == Method::Get;
    let region = |offset, len| {
        // ANCHOR: small_files
        // A small file is read into memory: one `pread` here, and the head and the content then
        // leave in one write and one packet. `sendfile` saves a copy, but for a few KiB the
        // copy is cheaper than a second system call and a second packet the client must wait for.
        if is_get && len <= SMALL_FILE_IN_MEMORY {
            let mut content = vec![0; len as usize];
            if open.file.read_exact_at(&mut content, offset).is_ok() {
                return Body::Bytes(content.into());
            }
            // A file that shrank under us: let the driver find out while sending the region.
        }
        // ANCHOR_END: small_files
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
        .header("content-type", &*open.content_type)
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
    // The types of most of a site, spelled out so that serving them allocates nothing.
    const COMMON_TEXT: [&str; 4] = [
        "text/html; charset=utf-8",
        "text/css; charset=utf-8",
        "text/javascript; charset=utf-8",
        "text/plain; charset=utf-8",
    ];
    if let Some(full) = COMMON_TEXT
        .iter()
        .find(|full| full.strip_suffix("; charset=utf-8") == Some(essence))
    {
        return Cow::Borrowed(full);
    }
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
}
