//! The builder a reader uses to write an application, and the demo site uses too.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use app::{middleware, App, AppInfo, Json};
//! use protocol::{Method, Request, StatusCode};
//!
//! let visits = Arc::new(AtomicU64::new(0));
//! let app = App::builder(AppInfo { stage: "doc", model: "a doctest" })
//!     .get("/hello/{name}", |_: &Request, params: &app::Params| {
//!         format!("Hello, {}!", params.get("name").unwrap_or("stranger"))
//!     })
//!     .group("/api", |api| {
//!         api.middleware(middleware::after(|_, response| {
//!             response.headers.set("cache-control", "no-store");
//!         }))
//!         .get("/visits", move |_: &Request, _: &app::Params| {
//!             Json(visits.fetch_add(1, Ordering::Relaxed) + 1)
//!         })
//!     })
//!     .build();
//! let response = app.handle(&Request::new(Method::Get, "/api/visits"));
//! assert_eq!(response.status, StatusCode::OK);
//! assert_eq!(response.headers.get_str("cache-control"), Some("no-store"));
//! ```
//!
//! What a builder holds becomes an [`App`], which is immutable: every thread, process or task
//! of a stage shares it, and the state a handler changes is the state its closure captured
//! (behind a `Mutex` or atomics, since many threads call it at once).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::handler::{handler, IntoResponse};
use crate::middleware::Middleware;
use crate::root::DocumentRoot;
use crate::router::{Params, Route, Router};
use crate::static_files::{StaticFiles, StaticOptions};
use crate::stats::Stats;
use crate::{App, AppError, AppInfo, ErrorHandler, Fallback};
use protocol::{BodySinks, Method, Request, Response, StatusCode};

// ANCHOR: builder
/// An application under construction: routes, groups, middleware, error handlers, and what to
/// do with a path no route takes.
pub struct AppBuilder {
    info: AppInfo,
    stats: Arc<Stats>,
    routes: Vec<Route>,
    middleware: Vec<Arc<dyn Middleware>>,
    error_handlers: Vec<(StatusCode, ErrorHandler)>,
    fallback: Fallback,
    body_sinks: Option<BodySinks>,
}

impl AppBuilder {
    /// An empty application: every path is 404 until routes are added.
    pub fn new(info: AppInfo) -> AppBuilder {
        AppBuilder::started_at(info, Instant::now())
    }

    /// An empty application whose uptime counts from `started`.
    pub fn started_at(info: AppInfo, started: Instant) -> AppBuilder {
        AppBuilder {
            info,
            stats: Arc::new(Stats::new(started)),
            routes: Vec::new(),
            middleware: Vec::new(),
            error_handlers: Vec::new(),
            fallback: Fallback::NotFound,
            body_sinks: None,
        }
    }

    /// The counters the application will keep, for handlers that report them (`/metrics`).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// What the stage says about itself.
    pub fn info(&self) -> AppInfo {
        self.info
    }

    /// Adds a route for `method` on `pattern` (`{name}` captures a path segment).
    pub fn route<F, R>(mut self, method: Method, pattern: &str, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.routes.push(Route::new(method, pattern, f));
        self
    }

    /// Adds a GET route (it answers HEAD too).
    pub fn get<F, R>(self, pattern: &str, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Get, pattern, f)
    }

    /// Adds a POST route.
    pub fn post<F, R>(self, pattern: &str, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Post, pattern, f)
    }

    /// Adds a PUT route.
    pub fn put<F, R>(self, pattern: &str, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Put, pattern, f)
    }

    /// Adds a DELETE route.
    pub fn delete<F, R>(self, pattern: &str, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Delete, pattern, f)
    }

    /// Marks the route added last as one whose handler may block for long (it sleeps, or waits
    /// on a disk or another server), so that an event-loop stage runs it on a worker pool
    /// instead of on the loop.
    pub fn may_block(mut self) -> AppBuilder {
        if let Some(last) = self.routes.pop() {
            self.routes.push(last.may_block());
        }
        self
    }

    /// Routes under `prefix`, declared by `declare` on a builder of their own, with middleware
    /// of their own that wraps only them (an auth check for `/api`, say).
    pub fn group(mut self, prefix: &str, declare: impl FnOnce(Group) -> Group) -> AppBuilder {
        let group = declare(Group {
            routes: Vec::new(),
            middleware: Vec::new(),
        });
        self.routes.extend(
            group
                .routes
                .into_iter()
                .map(|route| route.nest(prefix, &group.middleware)),
        );
        self
    }

    /// Adds middleware around everything the application answers. The first added runs first.
    pub fn middleware(mut self, middleware: impl Middleware) -> AppBuilder {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// What answers the errors the framework itself makes with `status` (404 for a path nothing
    /// takes, 405, 500 for a handler that panicked, 400 for a bad path): `handle` gets the
    /// request and the plain response, and returns the one to send. Responses a handler made
    /// itself (a JSON 404 from an API) are left as they are.
    pub fn on_error<F>(mut self, status: StatusCode, handle: F) -> AppBuilder
    where
        F: Fn(&Request, Response) -> Response + Send + Sync + 'static,
    {
        self.error_handlers.retain(|(known, _)| *known != status);
        self.error_handlers.push((status, Arc::new(handle)));
        self
    }

    /// Serves files from `root` for any GET or HEAD that no route takes, with the default
    /// [`StaticOptions`] (compression on, `Cache-Control` by type, no file cache).
    pub fn static_files(self, root: &Path) -> Result<AppBuilder, AppError> {
        let files = StaticFiles::new(DocumentRoot::open(root)?, StaticOptions::default());
        Ok(self.static_root(Arc::new(files)))
    }

    /// Serves static files already set up (their roots, virtual hosts, options and cache),
    /// shared with a route that serves one of their files, as the demo site's `GET /` does.
    pub fn static_root(mut self, files: Arc<StaticFiles>) -> AppBuilder {
        self.fallback = Fallback::StaticFiles(files);
        self
    }

    /// Answers any request no route takes with `f` (instead of 404 or static files).
    pub fn fallback<F, R>(mut self, f: F) -> AppBuilder
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.fallback = Fallback::Handler(handler(f));
        self
    }

    /// Streams the bodies `sinks` chooses to its sinks instead of collecting them in memory
    /// (an upload to disk: [`crate::upload::body_sinks`]); the stages hand it to every
    /// connection they make ([`App::body_sinks`]).
    pub fn body_sinks(mut self, sinks: BodySinks) -> AppBuilder {
        self.body_sinks = Some(sinks);
        self
    }

    /// The application, ready to be shared by a stage's threads.
    pub fn build(self) -> App {
        App {
            info: self.info,
            stats: self.stats,
            router: Router::new(self.routes),
            middleware: self.middleware,
            error_handlers: self.error_handlers,
            fallback: self.fallback,
            body_sinks: self.body_sinks,
        }
    }
}
// ANCHOR_END: builder

/// Routes declared under a prefix, with middleware that wraps only them.
pub struct Group {
    routes: Vec<Route>,
    middleware: Vec<Arc<dyn Middleware>>,
}

impl Group {
    /// Adds a route for `method` on `pattern`, relative to the group's prefix.
    pub fn route<F, R>(mut self, method: Method, pattern: &str, f: F) -> Group
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.routes.push(Route::new(method, pattern, f));
        self
    }

    /// Adds a GET route (it answers HEAD too).
    pub fn get<F, R>(self, pattern: &str, f: F) -> Group
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Get, pattern, f)
    }

    /// Adds a POST route.
    pub fn post<F, R>(self, pattern: &str, f: F) -> Group
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Post, pattern, f)
    }

    /// Adds a PUT route.
    pub fn put<F, R>(self, pattern: &str, f: F) -> Group
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Put, pattern, f)
    }

    /// Adds a DELETE route.
    pub fn delete<F, R>(self, pattern: &str, f: F) -> Group
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Delete, pattern, f)
    }

    /// Adds middleware around the group's routes (all of them, whenever they were added).
    pub fn middleware(mut self, middleware: impl Middleware) -> Group {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// A group inside this one.
    pub fn group(mut self, prefix: &str, declare: impl FnOnce(Group) -> Group) -> Group {
        let inner = declare(Group {
            routes: Vec::new(),
            middleware: Vec::new(),
        });
        self.routes.extend(
            inner
                .routes
                .into_iter()
                .map(|route| route.nest(prefix, &inner.middleware)),
        );
        self
    }
}

#[cfg(test)]
mod tests;
