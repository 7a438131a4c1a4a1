//! The application every stage serves: a router, static files, and a few demo routes.
//!
//! [`App::handle`] turns a [`Request`] into a [`Response`] and does nothing else: no sockets,
//! no framing, no threads. Every stage calls the same function, so the differences between
//! stages are only in how they get requests to it and responses back.
//!
//! How a request is answered, in order:
//!
//! 1. an unknown method (or CONNECT: this server is no proxy) is 501 Not Implemented
//!    (RFC 9110 section 15.6.2);
//! 2. the path is checked, once: encoding, NUL, backslash, dot-segments ([`path`]), else 400.
//!    What comes out is a [`path::CheckedPath`], which the router and the static files take, so
//!    neither decodes nor validates again (and a path without `%` is never copied);
//! 3. the [`router`] looks for a route: its handler answers, or 405 with `Allow` when only the
//!    method is wrong (section 15.5.6), or 204 with `Allow` for OPTIONS (section 9.3.7);
//! 4. anything else is a [`static_files`] lookup under the document root: 200, 206, 301, 304,
//!    404, 405, 412 or 416.
//!
//! The modules, and the RFC sections they follow:
//!
//! - [`path`]: segments and percent-decoding (RFC 3986 sections 2.1, 3.3, 5.2.4);
//! - [`router`]: method + pattern routing, 404/405/`Allow` (RFC 9110 sections 9, 15.5);
//! - [`routes`]: the demo routes and the route table;
//! - [`static_files`]: path resolution and file responses;
//! - [`root`]: opening files beneath the document root (`openat2` with `RESOLVE_BENEATH`);
//! - [`conditional`]: validators and conditional requests (RFC 9110 sections 8.8 and 13);
//! - [`range`]: byte ranges (RFC 9110 section 14);
//! - [`compress`]: content codings, gzip and brotli (RFC 9110 section 12.5.3, RFC 1952, RFC 7932);
//! - [`cache_control`]: `Cache-Control` for static files (RFC 9111 section 5.2.2);
//! - [`cache`]: the in-memory cache of small hot files;
//! - [`vhost`]: virtual hosts, the document root chosen by `Host` (RFC 9110 section 7.2).

pub mod cache;
pub mod cache_control;
pub mod compress;
pub mod conditional;
pub mod form;
pub mod path;
pub mod range;
pub mod root;
pub mod router;
pub mod routes;
pub mod static_files;
pub mod vhost;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use protocol::{Method, Request, Response, StatusCode};
use root::DocumentRoot;
use router::{Lookup, Router};
use static_files::{StaticFiles, StaticOptions};
use vhost::VirtualHost;

/// What a stage says about itself in `/api/info` and `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppInfo {
    /// The package name, e.g. `stage01-blocking`.
    pub stage: &'static str,
    /// The I/O and concurrency model in a few words, e.g. `blocking, one connection at a time`.
    pub model: &'static str,
}

/// Why an [`App`] could not be built.
#[derive(Debug)]
pub enum AppError {
    /// The document root does not exist or cannot be read.
    RootUnreadable { path: PathBuf, source: io::Error },
    /// The document root exists but is not a directory.
    NotADirectory(PathBuf),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::RootUnreadable { path, source } => {
                write!(f, "cannot open document root {}: {source}", path.display())
            }
            AppError::NotADirectory(path) => {
                write!(f, "document root {} is not a directory", path.display())
            }
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::RootUnreadable { source, .. } => Some(source),
            AppError::NotADirectory(_) => None,
        }
    }
}

/// The bundled demo site, served when no `--root` is given.
pub fn default_site_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../site"))
}

/// The application. One value serves a whole stage: every thread, process or task holds it
/// through an `Arc`, so all its state is immutable or atomic.
pub struct App {
    /// The document roots (opened once: every file is opened relative to one, and never
    /// outside it), how files are sent, and the file cache.
    static_files: StaticFiles,
    info: AppInfo,
    started: Instant,
    router: Router,
    requests_served: AtomicU64,
    /// Responses by status class: index 0 counts 1xx, ..., index 4 counts 5xx.
    responses_by_class: [AtomicU64; 5],
}

impl App {
    /// An application serving `root`, which must be an existing directory.
    pub fn new(root: &Path, info: AppInfo, started: Instant) -> Result<App, AppError> {
        App::with_static_files(root, &[], StaticOptions::default(), info, started)
    }

    /// An application serving `root`, and each virtual host's root to requests for its name,
    /// with `options` for compression, `Cache-Control` and the file cache.
    pub fn with_static_files(
        root: &Path,
        hosts: &[VirtualHost],
        options: StaticOptions,
        info: AppInfo,
        started: Instant,
    ) -> Result<App, AppError> {
        Ok(App {
            static_files: StaticFiles::with_virtual_hosts(
                DocumentRoot::open(root)?,
                hosts,
                options,
            )?,
            info,
            started,
            router: Router::new(routes::routes()),
            requests_served: AtomicU64::new(0),
            responses_by_class: Default::default(),
        })
    }

    // ANCHOR: handle
    /// Answers one request. Never panics, never fails: every problem is a status code.
    pub fn handle(&self, request: &Request) -> Response {
        // Relaxed: the counters order nothing else in memory. Each increment is still atomic,
        // so none is lost; a reader just sees a value that may be a moment old.
        self.requests_served.fetch_add(1, Ordering::Relaxed);
        let response = self.respond(request);
        if let Some(counter) = (response.status.as_u16() / 100)
            .checked_sub(1)
            .and_then(|class| self.responses_by_class.get(usize::from(class)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        response
    }
    // ANCHOR_END: handle

    // ANCHOR: respond
    fn respond(&self, request: &Request) -> Response {
        match &request.method {
            Method::Other(_) | Method::Connect => {
                return Response::text(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("this server does not implement {}", request.method),
                )
            }
            Method::Options if request.target == "*" => {
                // `OPTIONS *` asks about the server as a whole (RFC 9110 section 9.3.7).
                return Response::new(StatusCode::NO_CONTENT)
                    .header("allow", "GET, HEAD, POST, OPTIONS");
            }
            _ => {}
        }
        let path = match path::check_path(request.path()) {
            Ok(path) => path,
            Err(error) => return Response::text(StatusCode::BAD_REQUEST, error.to_string()),
        };
        match self.router.lookup(&request.method, path) {
            Lookup::Found(route, params) => (route.handler())(self, request, &params),
            Lookup::MethodNotAllowed(allow) if request.method == Method::Options => {
                Response::new(StatusCode::NO_CONTENT).header("allow", allow)
            }
            Lookup::MethodNotAllowed(allow) => Response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed here; try {allow}", request.method),
            )
            .header("allow", allow),
            Lookup::NotFound => self.static_files.serve(request, path),
        }
    }
    // ANCHOR_END: respond

    /// Whether the handler for `request` may block for long (today: `/slow`), so that an
    /// event-loop stage can run it on a worker pool instead of on the loop.
    ///
    /// Asked of every request before [`App::handle`], so it is cheap: it looks only at the routes
    /// marked `may_block` (see [`Router::may_block`]).
    pub fn may_block(&self, request: &Request) -> bool {
        self.router.may_block(&request.method, request.path())
    }

    /// Requests handled since the start, including any in progress.
    pub fn requests_served(&self) -> u64 {
        self.requests_served.load(Ordering::Relaxed)
    }

    /// What the stage says about itself.
    pub fn info(&self) -> AppInfo {
        self.info
    }

    /// The canonical document root.
    pub fn root(&self) -> &Path {
        self.static_files.root().path()
    }

    /// The static files: roots, options and cache.
    pub fn static_files(&self) -> &StaticFiles {
        &self.static_files
    }

    /// Time since the stage started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Responses sent so far by status class, as (1, count) ... (5, count).
    pub fn responses_by_class(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (1u8..).zip(
            self.responses_by_class
                .iter()
                .map(|counter| counter.load(Ordering::Relaxed)),
        )
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("root", &self.static_files.root().path())
            .field("resolver", &self.static_files.root().resolver())
            .field("info", &self.info)
            .field("requests_served", &self.requests_served())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
