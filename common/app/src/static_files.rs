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
//!    resolve against the directory. A directory without `index.html` is 404, or its listing
//!    (`listing`) when the root lists directories (`--dir-listing`). With `--cache-size`, a
//!    small file the `cache` holds fresh is taken from memory instead, with no open at all.
//! 2. **Representation** (`representation`): the content coding the client accepts (gzip,
//!    brotli or none, `compress`), and where its bytes come from: the file, a precompressed
//!    `.gz` / `.br` sibling, or the file compressed now; and `Cache-Control` by type
//!    (`cache_control`). Each coding has its own validators.
//! 3. **Preconditions** (RFC 9110 section 13, in `conditional`): `If-None-Match` and
//!    `If-Modified-Since` can turn the answer into 304 Not Modified; `If-Match` and
//!    `If-Unmodified-Since` into 412.
//! 4. **Range** (section 14, in `range`): one byte range gives 206 with `Content-Range`; a range
//!    wholly past the end gives 416; several ranges, or an `If-Range` that no longer matches,
//!    give the whole file with 200.
//!
//! A large body is never read here: the file is opened once and the response carries the open
//! file and the region to send, so that a driver can hand it to `sendfile` (or, coded on the
//! fly, a stream that reads and compresses it piece by piece). Small files, up to
//! [`SMALL_FILE_IN_MEMORY`], are read and sent with their head.
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
use std::time::{Instant, SystemTime};

use bytes::Bytes;

use super::cache::{Cached, FileCache, FileFacts, Key, Lookup};
use super::cache_control::CacheControl;
use super::compress::{
    self, add_vary, encoded_etag, negotiate, CompressOptions, CompressedStream, Encoding,
    Encodings, Negotiated,
};
use super::conditional::{evaluate, if_range_allows, Precondition, Validators};
use super::listing::Listing;
use super::path::{check_segment, CheckedPath, PathError};
use super::range::{parse_range, RangeRequest};
use super::root::DocumentRoot;
use super::vhost::{self, VirtualHost};
use super::AppError;
use protocol::{Body, FileRegion, Headers, Method, Request, Response, StatusCode};
use representation::{representation, Representation, RepresentationBody};

/// Files (or ranges) up to this size are read into memory and sent with their head; larger ones
/// are sent as a file region, which a driver may hand to `sendfile`.
pub const SMALL_FILE_IN_MEMORY: u64 = 16 * 1024;

/// The methods a static file answers.
const ALLOW: &str = "GET, HEAD, OPTIONS";

// ANCHOR: static_options
/// How static files are served, beyond where they are. `Default` is what a stage does
/// without flags: compression on, `Cache-Control` by type, the file cache off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticOptions {
    /// gzip and brotli (see `compress`).
    pub compress: CompressOptions,
    /// `Cache-Control` by media type (see `cache_control`).
    pub cache_control: CacheControl,
    /// The in-memory cache of small files (see `cache`).
    pub cache: super::cache::CacheOptions,
}
// ANCHOR_END: static_options

// ANCHOR: static_files
/// The static files of an application: the document roots (the default one, and one per
/// virtual host), how files are sent, and the cache they share.
#[derive(Debug)]
pub struct StaticFiles {
    /// Index 0 is the default root; index `i + 1` is `hosts[i]`'s.
    roots: Vec<DocumentRoot>,
    hosts: Vec<VirtualHost>,
    options: StaticOptions,
    cache: FileCache,
}
// ANCHOR_END: static_files

impl StaticFiles {
    /// Static files from `root` alone.
    pub fn new(root: DocumentRoot, options: StaticOptions) -> StaticFiles {
        StaticFiles {
            roots: vec![root],
            hosts: Vec::new(),
            cache: FileCache::new(options.cache.clone()),
            options,
        }
    }

    /// Static files from `root`, and from each virtual host's root for requests to its name.
    /// Every root must be an existing directory; a name given twice is served by the first.
    pub fn with_virtual_hosts(
        root: DocumentRoot,
        hosts: &[VirtualHost],
        options: StaticOptions,
    ) -> Result<StaticFiles, AppError> {
        let lists_directories = root.lists_directories();
        let mut files = StaticFiles::new(root, options);
        for host in hosts {
            // A virtual host lists its directories when the default root does.
            let mut host_root = DocumentRoot::open(&host.root)?;
            host_root.set_lists_directories(lists_directories);
            files.roots.push(host_root);
            files.hosts.push(host.clone());
        }
        Ok(files)
    }

    /// The default document root.
    pub fn root(&self) -> &DocumentRoot {
        &self.roots[0]
    }

    /// The virtual hosts, in the order given.
    pub fn virtual_hosts(&self) -> &[VirtualHost] {
        &self.hosts
    }

    /// The options.
    pub fn options(&self) -> &StaticOptions {
        &self.options
    }

    /// The file cache (for its counters).
    pub fn cache(&self) -> &FileCache {
        &self.cache
    }

    /// Serves `path` from the root the request's host selects.
    pub fn serve(&self, request: &Request, path: CheckedPath<'_>) -> Response {
        let index = vhost::select(&self.hosts, request).map_or(0, |i| i + 1);
        // `select` returns a position in `hosts`, and `roots` holds one more: in bounds.
        let root = &self.roots[index];
        serve_with(
            &Context {
                root,
                root_index: index,
                options: &self.options,
                cache: &self.cache,
            },
            request,
            path,
        )
    }
}

/// Serves `path` from `root` with the default options and no cache.
pub fn serve(root: &DocumentRoot, request: &Request, path: CheckedPath<'_>) -> Response {
    let options = StaticOptions::default();
    let cache = FileCache::new(options.cache.clone());
    serve_with(
        &Context {
            root,
            root_index: 0,
            options: &options,
            cache: &cache,
        },
        request,
        path,
    )
}

/// Everything a request for a static file is answered with.
struct Context<'a> {
    root: &'a DocumentRoot,
    root_index: usize,
    options: &'a StaticOptions,
    cache: &'a FileCache,
}

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
    /// A directory without `index.html`, read for its listing (only when the root lists
    /// directories).
    Listing(Listing),
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
    /// Size, time, inode and device: what the cache checks to see the file changed.
    pub facts: FileFacts,
}

/// Serves a request for a static file.
fn serve_with(context: &Context<'_>, request: &Request, path: CheckedPath<'_>) -> Response {
    match request.method {
        Method::Get | Method::Head => {}
        // The file must exist for its methods to be listed, or a write refused.
        _ => {
            if let Err(refusal) = resolve(context.root, path) {
                return refusal.response();
            }
            if request.method == Method::Options {
                return Response::new(StatusCode::NO_CONTENT).header("allow", ALLOW);
            }
            return Response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "a static file can only be read: use GET or HEAD",
            )
            .header("allow", ALLOW);
        }
    }
    let wanted = match wanted(path) {
        Ok(wanted) => wanted,
        Err(refusal) => return refusal.response(),
    };
    let now = Instant::now();
    let original = match original(context, request, &wanted, now) {
        Ok(Found::File(original)) => original,
        Ok(Found::Listing(listing)) => return listing.response(),
        Ok(Found::DirectoryWithoutSlash) => {
            let path = path.as_str();
            let location = match request.query() {
                Some(query) => format!("{path}/?{query}"),
                None => format!("{path}/"),
            };
            return Response::text(
                StatusCode::MOVED_PERMANENTLY,
                format!("moved to {location}"),
            )
            .header("location", location);
        }
        Err(refusal) => return refusal.response(),
    };
    let representation = match representation(context, request, original, now) {
        Ok(representation) => representation,
        Err(not_acceptable) => return not_acceptable,
    };
    respond(request, representation, context.options)
}

/// The file a request names, before any coding: from the cache when it holds it fresh, else
/// opened (and then cached when it fits); or a directory without its slash, or a listing.
struct Original {
    /// The path opened beneath the root (for a directory, its `index.html`).
    path: String,
    facts: FileFacts,
    content_type: Cow<'static, str>,
    source: Source,
    /// The precompressed siblings, when the cache remembered them.
    siblings: Option<Encodings>,
    /// Whether this came from (or went into) the cache, so that what is derived from it can
    /// be cached too.
    cached: bool,
}

/// Where the bytes of a representation are.
enum Source {
    Memory(Bytes),
    Disk(File),
}

// ANCHOR: original
fn original(
    context: &Context<'_>,
    request: &Request,
    wanted: &Wanted<'_>,
    now: Instant,
) -> Result<Found, Refusal> {
    let opened_path = opened_path(wanted);
    let cache = context.cache;
    let key = |path: &str| Key {
        root: context.root_index,
        path: path.to_owned(),
        encoding: Encoding::Identity,
    };
    let from_cache = |cached: &Cached, path: Cow<'_, str>| Original {
        path: path.into_owned(),
        facts: cached.facts,
        content_type: cached.content_type.clone(),
        source: Source::Memory(cached.content.clone()),
        siblings: cached.siblings,
        cached: true,
    };
    let stale = match cache.lookup(&key(&opened_path), now) {
        // A hit: no open, no stat, no read.
        Lookup::Fresh(cached) => return Ok(Found::File(from_cache(&cached, opened_path))),
        Lookup::Stale(cached) => Some(cached),
        Lookup::Missing => None,
    };
    let open = match open_wanted(context.root, wanted) {
        Ok(Resolved::File(open)) => open,
        Ok(Resolved::DirectoryWithoutSlash) => return Ok(Found::DirectoryWithoutSlash),
        Ok(Resolved::Listing(listing)) => return Ok(Found::Listing(listing)),
        Err(refusal) => {
            if stale.is_some() {
                cache.remove(&key(&opened_path));
            }
            return Err(refusal);
        }
    };
    if let Some(cached) = stale {
        if cached.facts == open.facts {
            // Unchanged since it was cached: trust it for another `max_age`.
            cache.refresh(&key(&opened_path), now);
            return Ok(Found::File(from_cache(&cached, opened_path)));
        }
    }
    let mut original = Original {
        path: opened_path.into_owned(),
        facts: open.facts,
        content_type: open.content_type,
        source: Source::Disk(open.file),
        siblings: None,
        cached: false,
    };
    // A GET for a file the cache takes reads it whole now, once; a HEAD needs no content.
    if request.method == Method::Get && cache.admits(original.facts.len) {
        if let Source::Disk(file) = &original.source {
            let mut content = vec![0; original.facts.len as usize];
            if file.read_exact_at(&mut content, 0).is_ok() {
                let content = Bytes::from(content);
                cache.insert(
                    key(&original.path),
                    Arc::new(Cached {
                        content: content.clone(),
                        facts: original.facts,
                        content_type: original.content_type.clone(),
                        siblings: None,
                    }),
                    now,
                );
                original.source = Source::Memory(content);
                original.cached = true;
            }
        }
    }
    Ok(Found::File(original))
}
// ANCHOR_END: original

/// What a request for a static path finds.
enum Found {
    File(Original),
    /// A directory asked for without its trailing slash.
    DirectoryWithoutSlash,
    /// A directory without `index.html`, when the root lists directories.
    Listing(Listing),
}

/// The path opened beneath the root for what a request wants.
fn opened_path<'a>(wanted: &'a Wanted<'a>) -> Cow<'a, str> {
    if wanted.trailing_slash {
        match wanted.relative.as_ref() {
            "" => Cow::Borrowed("index.html"),
            directory => Cow::Owned(format!("{directory}/index.html")),
        }
    } else {
        Cow::Borrowed(wanted.relative.as_ref())
    }
}

// ANCHOR: resolve
/// Maps a checked request path onto a file under `root`, or says why not.
pub fn resolve(root: &DocumentRoot, path: CheckedPath<'_>) -> Result<Resolved, Refusal> {
    open_wanted(root, &wanted(path)?)
}

/// Opens what `wanted` names beneath `root`.
fn open_wanted(root: &DocumentRoot, wanted: &Wanted<'_>) -> Result<Resolved, Refusal> {
    if wanted.trailing_slash {
        // A directory's page. One open of `dir/index.html`: if `dir` is a file, or has no
        // index.html, this fails, and either way there is nothing to serve.
        // ANCHOR: no_index
        let (file, metadata) = match open_and_stat(root, &opened_path(wanted)) {
            // No index.html: the directory's listing, if the root has them on. Reading it fails
            // as opening the index did when `dir` is a file or missing, and gives the same 404.
            Err(Refusal::NotFound) if root.lists_directories() => {
                return Ok(Resolved::Listing(Listing::read(root, &wanted.relative)?));
            }
            opened => opened?,
        };
        // ANCHOR_END: no_index
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
    let facts = FileFacts::of(&metadata)?;
    Ok(Resolved::File(OpenFile {
        file,
        len: facts.len,
        modified: facts.modified,
        content_type: content_type(name),
        facts,
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

/// Builds the 200, 206, 304, 412 or 416 for a representation. A 304 carries what RFC 9110
/// section 15.4.5 asks (the validators, `Cache-Control`, `Vary`); a HEAD gets every field the
/// GET would, since it is answered by the same code and only its body is dropped.
fn respond(request: &Request, rep: Representation, options: &StaticOptions) -> Response {
    let validators = &rep.validators;
    let last_modified = validators.last_modified_http();
    let cache_control = options.cache_control.for_type(&rep.content_type);
    let validated = |status| {
        // Room for the fields a 206 carries (a 200 has one fewer), so that adding them never
        // reallocates.
        let mut response = Response {
            status,
            headers: Headers::with_capacity(9, 288),
            body: Body::Empty,
        }
        .header("etag", &validators.etag)
        .header("last-modified", &last_modified);
        if let Some(value) = cache_control {
            response.headers.append("cache-control", value);
        }
        if rep.varies {
            response.headers.append("vary", "accept-encoding");
        }
        response
    };

    match evaluate(&request.method, &request.headers, validators) {
        Precondition::Proceed => {}
        // A 304 carries the validators so the client can refresh what it stored (section 15.4.5).
        Precondition::NotModified => return validated(StatusCode::NOT_MODIFIED),
        Precondition::Failed => {
            return Response::text(StatusCode::PRECONDITION_FAILED, "precondition failed")
        }
    }

    // ANCHOR: range_decision
    // Range applies to GET only (section 14.2), only while If-Range, if sent, still matches,
    // and only to bytes that exist before they are sent (not to a body compressed on the fly).
    let range = match request.headers.get_str("range") {
        Some(value)
            if request.method == Method::Get
                && rep.ranges
                && request
                    .headers
                    .get_str("if-range")
                    .is_none_or(|if_range| if_range_allows(if_range, validators)) =>
        {
            parse_range(value, rep.len)
        }
        _ => RangeRequest::Full,
    };
    // ANCHOR_END: range_decision

    let total = rep.len;
    let is_get = request.method == Method::Get;
    let encoding = rep.encoding;
    let body = rep.body;
    let region = |offset: u64, len: u64| match body {
        RepresentationBody::Memory(bytes) => {
            // In bounds: `parse_range` keeps a range within `total`, the length of `bytes`.
            Body::Bytes(bytes.slice(offset as usize..(offset + len) as usize))
        }
        RepresentationBody::Disk(file) => {
            // ANCHOR: small_files
            // A small file is read into memory: one `pread` here, and the head and the content
            // then leave in one write and one packet. `sendfile` saves a copy, but for a few
            // KiB the copy is cheaper than a second system call and a second packet the client
            // must wait for.
            if is_get && len <= SMALL_FILE_IN_MEMORY {
                let mut content = vec![0; len as usize];
                if file.read_exact_at(&mut content, offset).is_ok() {
                    return Body::Bytes(content.into());
                }
                // A file that shrank under us: let the driver find out while sending the region.
            }
            // ANCHOR_END: small_files
            Body::File(FileRegion {
                file: Arc::new(std::os::fd::OwnedFd::from(file)),
                offset,
                len,
            })
        }
        RepresentationBody::Stream(file) => Body::Stream(Box::new(CompressedStream::new(
            Arc::new(file),
            offset,
            len,
            encoding,
            &options.compress,
        ))),
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
    let mut response = validated(status).header("content-type", &*rep.content_type);
    if encoding != Encoding::Identity {
        response
            .headers
            .append("content-encoding", encoding.token());
    }
    if rep.ranges {
        response.headers.append("accept-ranges", "bytes");
    }
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

mod representation;

#[cfg(test)]
mod tests;
