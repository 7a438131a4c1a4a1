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
//!    404, 405, 412 or 416 (or a directory's [`listing`], with `--dir-listing`);
//! 5. the demo site's middleware then dresses an error of its own (plain text, 4xx or 5xx) with
//!    [`error_pages`]: the site's `NNN.html`, or a generated page for a browser, or the same
//!    plain text.
//!
//! The modules, and the RFC sections they follow:
//!
//! - [`builder`], [`handler`], [`middleware`], [`extract`]: how an application is written
//!   (the demo site too): routes, groups, middleware, error handlers, typed input;
//! - [`path`]: segments and percent-decoding (RFC 3986 sections 2.1, 3.3, 5.2.4);
//! - [`router`]: method + pattern routing, 404/405/`Allow` (RFC 9110 sections 9, 15.5);
//! - [`routes`]: the demo routes and the route table;
//! - [`static_files`]: path resolution and file responses;
//! - [`root`]: opening files beneath the document root (`openat2` with `RESOLVE_BENEATH`);
//! - [`conditional`]: validators and conditional requests (RFC 9110 sections 8.8 and 13);
//! - [`range`]: byte ranges (RFC 9110 section 14);
//! - [`templates`]: every generated HTML page, through minijinja, escaped by default;
//! - [`error_pages`]: `NNN.html` from the root or a generated page (RFC 9110 sections 12.5.1, 15);
//! - [`multipart`], [`upload`]: `POST /upload`, `multipart/form-data` (RFC 7578, RFC 2046
//!   section 5.1.1) streamed to disk through the protocol crate's body-sink hook;
//! - [`stats`]: the counters (atomics in a shared mapping), the latency histogram;
//! - [`draining`]: the first step of a stop, `/healthz` answering 503 for `--drain-delay`;
//! - [`status`]: `/server-status`, those counters as a page or JSON;
//! - [`rate_limit`]: `--rate-limit`, a token bucket per client address and `429` past it;
//! - [`trace_context`]: the access log's request id, W3C Trace Context's `traceparent`;
//! - [`listing`]: directory listings, names escaped and links percent-encoded (RFC 3986 section 2);
//! - [`site`]: the options of the demo site, which the command line sets;
//! - [`compress`]: content codings, gzip and brotli (RFC 9110 section 12.5.3, RFC 1952, RFC 7932);
//! - [`cache_control`]: `Cache-Control` for static files (RFC 9111 section 5.2.2);
//! - [`cache`]: the in-memory cache of small hot files;
//! - [`vhost`]: virtual hosts, the document root chosen by `Host` (RFC 9110 section 7.2);
//! - the guards, middleware the demo site installs from its options: [`security_headers`]
//!   (`nosniff`, `Referrer-Policy`), [`cors`] (the Fetch standard's CORS protocol),
//!   [`allowed_hosts`] (421 for a foreign `Host`, RFC 9110 section 15.5.20) and [`basic_auth`]
//!   (RFC 7617, against an htpasswd file of bcrypt hashes).

pub mod access_log;
pub mod allowed_hosts;
pub mod basic_auth;
pub mod builder;
pub mod cache;
pub mod cache_control;
pub mod compress;
pub mod conditional;
pub mod cors;
pub mod draining;
pub mod error_pages;
pub mod extract;
pub mod form;
pub mod handler;
pub mod listing;
pub mod middleware;
pub mod multipart;
pub mod path;
pub mod range;
pub mod rate_limit;
pub mod root;
pub mod router;
pub mod routes;
pub mod security_headers;
pub mod site;
pub mod static_files;
pub mod stats;
pub mod status;
pub mod templates;
pub mod trace_context;
pub mod upload;
pub mod vhost;

use std::any::Any;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::{BodySinks, Method, Request, Response, StatusCode};
use router::{Lookup, Router};
use static_files::StaticFiles;

pub use builder::{AppBuilder, Group};
pub use draining::Drain;
pub use extract::{Json, Rejection};
pub use handler::{Handler, Html, IntoResponse};
pub use middleware::{Middleware, Next};
pub use router::{Params, Route};
pub use site::SiteOptions;
pub use stats::{ConnectionGuard, Refusal, Stats};

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
    /// `--upload-dir` is not a directory this process can create files in.
    UploadDirUnusable { path: PathBuf, source: io::Error },
    /// A `--basic-auth` file is missing, unreadable or not `user:bcrypt-hash` lines.
    Htpasswd(basic_auth::HtpasswdError),
    /// A `--basic-auth` prefix is not a plain absolute path.
    AuthPrefix(basic_auth::PrefixError),
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
            AppError::UploadDirUnusable { path, source } => {
                write!(f, "cannot store uploads in {}: {source}", path.display())
            }
            AppError::Htpasswd(error) => error.fmt(f),
            AppError::AuthPrefix(error) => write!(f, "--basic-auth: {error}"),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::RootUnreadable { source, .. }
            | AppError::UploadDirUnusable { source, .. } => Some(source),
            AppError::Htpasswd(error) => error.source(),
            AppError::NotADirectory(_) | AppError::AuthPrefix(_) => None,
        }
    }
}

/// The bundled demo site, served when no `--root` is given.
pub fn default_site_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../site"))
}

/// What answers an error the framework made: gets the request and the plain response.
pub type ErrorHandler = Arc<dyn Fn(&Request, Response) -> Response + Send + Sync>;

/// What answers a request that no route takes.
enum Fallback {
    /// 404.
    NotFound,
    /// A static file lookup under the document root the request's host selects (each root
    /// opened once: every file is opened relative to it, and never outside it).
    StaticFiles(Arc<StaticFiles>),
    /// A handler of the application's own.
    Handler(Handler),
}

/// The application. One value serves a whole stage: every thread, process or task holds it
/// through an `Arc`, so all its state is immutable or atomic (or behind the locks of the state
/// its handlers captured). Built with [`App::builder`]; [`App::new`] builds the demo site.
pub struct App {
    info: AppInfo,
    stats: Arc<Stats>,
    router: Router,
    /// App-wide middleware, outermost first.
    middleware: Vec<Arc<dyn Middleware>>,
    error_handlers: Vec<(StatusCode, ErrorHandler)>,
    fallback: Fallback,
    /// The hook that streams chosen request bodies to sinks (uploads), if the app has one.
    body_sinks: Option<BodySinks>,
}

impl App {
    /// A builder for an application of your own (see [`builder`]).
    pub fn builder(info: AppInfo) -> AppBuilder {
        AppBuilder::new(info)
    }

    /// The demo site every stage serves, with its static files from `root` (an existing
    /// directory) and every other option at its default: [`routes::demo_site`].
    pub fn new(root: &Path, info: AppInfo, started: Instant) -> Result<App, AppError> {
        App::site(&SiteOptions::new(root), info, started)
    }

    /// The demo site with the options the command line asked for.
    pub fn site(options: &SiteOptions, info: AppInfo, started: Instant) -> Result<App, AppError> {
        Ok(routes::demo_site(AppBuilder::started_at(info, started), options)?.build())
    }

    // ANCHOR: handle
    /// Answers one request. Never panics, never fails: every problem is a status code, a
    /// panicking handler or middleware included (500, and the connection goes on).
    pub fn handle(&self, request: &Request) -> Response {
        // Counted in flight until the guard drops, even if something below unwinds.
        let in_flight = self.stats.request_started();
        self.stats.count_protocol(request.version);
        let response = match catch_unwind(AssertUnwindSafe(|| self.run_middleware(request))) {
            Ok(response) => response,
            Err(panic) => self.handler_panicked(request, "a middleware", panic),
        };
        in_flight.finish(&request.method, request.body.len(), &response);
        response
    }
    // ANCHOR_END: handle

    /// The app-wide middleware, around [`App::respond`].
    fn run_middleware(&self, request: &Request) -> Response {
        if self.middleware.is_empty() {
            return self.respond(request);
        }
        let endpoint = |request: &Request| self.respond(request);
        Next::new(&self.middleware, &endpoint).run(request)
    }

    // ANCHOR: respond
    fn respond(&self, request: &Request) -> Response {
        match &request.method {
            Method::Other(_) | Method::Connect => {
                return self.framework_error(
                    request,
                    Response::text(
                        StatusCode::NOT_IMPLEMENTED,
                        format!("this server does not implement {}", request.method),
                    ),
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
            Err(error) => {
                let refusal = Response::text(StatusCode::BAD_REQUEST, error.to_string());
                return self.framework_error(request, refusal);
            }
        };
        match self.router.lookup(&request.method, path) {
            Lookup::Found(route, params) => {
                match catch_unwind(AssertUnwindSafe(|| route.call(request, &params))) {
                    Ok(response) => response,
                    Err(panic) => self.handler_panicked(request, route.pattern(), panic),
                }
            }
            Lookup::MethodNotAllowed(allow) if request.method == Method::Options => {
                Response::new(StatusCode::NO_CONTENT).header("allow", allow)
            }
            Lookup::MethodNotAllowed(allow) => {
                let refusal = Response::text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("{} is not allowed here; try {allow}", request.method),
                )
                .header("allow", allow);
                self.framework_error(request, refusal)
            }
            Lookup::NotFound => match &self.fallback {
                Fallback::StaticFiles(files) => {
                    let response = files.serve(request, path);
                    if response.status.as_u16() >= 400 {
                        self.framework_error(request, response)
                    } else {
                        response
                    }
                }
                Fallback::Handler(handler) => handler(request, &Params::default()),
                Fallback::NotFound => self.framework_error(
                    request,
                    Response::text(StatusCode::NOT_FOUND, "nothing here"),
                ),
            },
        }
    }
    // ANCHOR_END: respond

    // ANCHOR: framework_error
    /// An error the framework made (not a handler): the app's error handler for its status
    /// answers, if it has one.
    fn framework_error(&self, request: &Request, response: Response) -> Response {
        match self
            .error_handlers
            .iter()
            .find(|(status, _)| *status == response.status)
        {
            Some((_, handle)) => handle(request, response),
            None => response,
        }
    }

    /// A handler (or middleware) panicked: 500, through the error handler for 500. The panic
    /// unwound only the handler's own stack, so the connection, its thread and every other
    /// request go on.
    fn handler_panicked(
        &self,
        request: &Request,
        what: &str,
        panic: Box<dyn Any + Send>,
    ) -> Response {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(handler = what, path = request.path(), %message, "handler panicked");
        let response = Response::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to answer this request; the failure is logged",
        );
        self.framework_error(request, response)
    }
    // ANCHOR_END: framework_error

    /// Whether the handler for `request` may block for long (today: `/slow`), so that an
    /// event-loop stage can run it on a worker pool instead of on the loop.
    ///
    /// Asked of every request before [`App::handle`], so it is cheap: it looks only at the routes
    /// marked `may_block` (see [`Router::may_block`]).
    pub fn may_block(&self, request: &Request) -> bool {
        self.router.may_block(&request.method, request.path())
    }

    // ANCHOR: app_body_sinks
    /// The hook a stage gives every connection it makes
    /// (`protocol::Connection::with_body_sinks`), so that the bodies this app streams (the
    /// demo site's `POST /upload`, with `--upload-dir`) go to its sinks as they arrive.
    pub fn body_sinks(&self) -> Option<BodySinks> {
        self.body_sinks.clone()
    }
    // ANCHOR_END: app_body_sinks

    /// Requests handled since the start, including any in progress.
    pub fn requests_served(&self) -> u64 {
        self.stats.requests_served()
    }

    /// What the stage says about itself.
    pub fn info(&self) -> AppInfo {
        self.info
    }

    /// The document root static files come from, if the app serves any.
    pub fn root(&self) -> Option<&Path> {
        match &self.fallback {
            Fallback::StaticFiles(files) => Some(files.root().path()),
            _ => None,
        }
    }

    /// Time since the stage started.
    pub fn uptime(&self) -> Duration {
        self.stats.uptime()
    }

    /// The application's counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    // ANCHOR: connection_opened
    /// A stage has accepted a connection: it is counted open (in `/server-status`) until the
    /// guard is dropped. Every stage calls this once per connection and keeps the guard for
    /// the connection's life.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.stats.connection_opened()
    }
    // ANCHOR_END: connection_opened

    /// A stage has accepted a connection from `peer`: as
    /// [`connection_opened`](Self::connection_opened), unless `limits` cap the connections of
    /// one client (`--max-connections-per-client`) and `peer`'s client holds that many already;
    /// then `Err` with the cap, counted as a refusal, for the stage's `429`
    /// (`driver::refusal::client_response`). Without a cap, or without a peer address, never
    /// refused.
    pub fn connection_opened_from(
        &self,
        peer: Option<SocketAddr>,
        limits: &protocol::Limits,
    ) -> Result<ConnectionGuard, u32> {
        match (limits.max_connections_per_client, peer) {
            (Some(max), Some(peer)) => self
                .stats
                .connection_opened_from(peer.ip(), max.get())
                .ok_or(max.get()),
            _ => Ok(self.connection_opened()),
        }
    }

    // ANCHOR: refuse
    /// The answer to a request the protocol machine refused (`Event::Rejected`): its error
    /// response, counted in `/metrics` by reason. The stages answer every refusal through here.
    pub fn refuse(&self, error: &protocol::RequestError) -> Response {
        self.stats.count_refusal(Refusal::of(error));
        error.response()
    }
    // ANCHOR_END: refuse

    /// Responses sent so far by status class, as (1, count) ... (5, count).
    pub fn responses_by_class(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.stats.responses_by_class()
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("root", &self.root())
            .field("info", &self.info)
            .field("middleware", &self.middleware.len())
            .field("requests_served", &self.requests_served())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
