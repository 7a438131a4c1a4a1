//! A router over method and path pattern, with `{param}` captures.
//!
//! A route is a method, a pattern such as `/hello/{name}`, and a [`Handler`]. Looking a
//! request up gives one of three answers, and each maps onto a status code of RFC 9110:
//!
//! - a route matches path and method: call its handler;
//! - routes match the path but none the method: 405 Method Not Allowed, with an `Allow` field
//!   listing the methods that would have worked (section 15.5.6 requires it);
//! - no route matches the path: the router has nothing to say (the application then tries a
//!   static file, and answers 404 if there is none).
//!
//! HEAD is allowed wherever GET is (section 9.3.2: HEAD is GET without the content), and the
//! HTTP/1 layer drops the body, so a GET handler answers HEAD too.
//!
//! Lookup is a scan over the table in order, comparing segment by segment: with a handful of
//! routes that is faster than anything cleverer, and it reads like the table it walks. Routers for
//! hundreds of routes (matchit, used by axum) build a radix tree instead. The first route that
//! matches wins, so put literal routes before parameter routes that overlap them.
//!
//! [`Router::lookup`] takes paths that `path::check_path` accepted ([`CheckedPath`]), so it
//! validates nothing again; and when a path holds no `%`, comparing a segment is comparing two
//! slices, with nothing decoded or copied. An event-loop stage asks, for every request, whether its handler may
//! block ([`Router::may_block`]); the router keeps the few routes marked so apart, so the
//! question costs a glance at those routes, not a second lookup.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::handler::{handler, Handler, IntoResponse};
use super::middleware::{Middleware, Next};
use super::path::{check_path, decode_lossy, raw_segments, CheckedPath};
use protocol::{Method, Request, Response};

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternSegment {
    /// Must equal the request's (decoded) segment.
    Literal(String),
    /// Matches any non-empty segment and captures it, decoded, under this name.
    Param(Arc<str>),
}

/// One line of the route table.
#[derive(Clone)]
pub struct Route {
    method: Method,
    pattern: String,
    segments: Vec<PatternSegment>,
    handler: Handler,
    /// The middleware of the groups this route was declared in, outermost first.
    middleware: Vec<Arc<dyn Middleware>>,
    may_block: bool,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("pattern", &self.pattern)
            .field("middleware", &self.middleware.len())
            .field("may_block", &self.may_block)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// A route for `method` on `pattern` (which begins with `/`; `{name}` captures a segment).
    pub fn new<F, R>(method: Method, pattern: impl Into<String>, f: F) -> Route
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        Route::with_handler(method, pattern.into(), handler(f))
    }

    /// A route for an already boxed handler.
    pub fn with_handler(method: Method, pattern: String, handler: Handler) -> Route {
        let segments = raw_segments(&pattern)
            .map(|segment| {
                match segment
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(name) => PatternSegment::Param(name.into()),
                    None => PatternSegment::Literal(segment.to_owned()),
                }
            })
            .collect();
        Route {
            method,
            pattern,
            segments,
            handler,
            middleware: Vec::new(),
            may_block: false,
        }
    }

    /// A GET route (which also answers HEAD).
    pub fn get<F, R>(pattern: impl Into<String>, f: F) -> Route
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        Route::new(Method::Get, pattern, f)
    }

    /// A POST route.
    pub fn post<F, R>(pattern: impl Into<String>, f: F) -> Route
    where
        F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        Route::new(Method::Post, pattern, f)
    }

    /// The same route under `prefix` (a group's), wrapped in `middleware` (the group's, which
    /// runs outside any the route already has).
    pub(crate) fn nest(self, prefix: &str, middleware: &[Arc<dyn Middleware>]) -> Route {
        let pattern = match (prefix.trim_end_matches('/'), self.pattern.as_str()) {
            (prefix, "/") if !prefix.is_empty() => prefix.to_owned(),
            (prefix, pattern) => format!("{prefix}{pattern}"),
        };
        let mut nested = Route::with_handler(self.method, pattern, self.handler);
        nested.middleware = middleware.iter().cloned().chain(self.middleware).collect();
        nested.may_block = self.may_block;
        nested
    }

    /// Runs the route's middleware (if any) and its handler.
    pub fn call(&self, request: &Request, params: &Params) -> Response {
        if self.middleware.is_empty() {
            return (self.handler)(request, params);
        }
        let endpoint = |request: &Request| (self.handler)(request, params);
        Next::new(&self.middleware, &endpoint).run(request)
    }

    /// Marks the handler as one that may block for long, so that an event-loop stage runs it on a
    /// worker pool instead of on the loop.
    pub fn may_block(mut self) -> Route {
        self.may_block = true;
        self
    }

    /// The handler this route runs (without its group's middleware: see [`Route::call`]).
    pub fn handler(&self) -> &Handler {
        &self.handler
    }

    /// The method this route answers.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Whether the handler may block for long.
    pub fn blocks(&self) -> bool {
        self.may_block
    }

    /// The pattern as written, for logs.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether this route answers `method` (HEAD rides along with GET).
    fn answers(&self, method: &Method) -> bool {
        self.method == *method || (*method == Method::Head && self.method == Method::Get)
    }

    /// Matches the pattern against a path and returns the captures, or `None`.
    fn match_path(&self, path: CheckedPath<'_>) -> Option<Params> {
        let mut params = Params::default();
        self.walk(path.segments(), |name, value| {
            params.captures.push((Arc::clone(name), value.into_owned()));
        })
        .then_some(params)
    }

    /// Compares the pattern with a path's decoded segments, handing each capture to `capture`.
    /// Segments are decoded as the comparison reaches them, so a mismatch in the first segment
    /// decodes nothing else.
    fn walk<'p>(
        &self,
        mut request_segments: impl Iterator<Item = Cow<'p, str>>,
        mut capture: impl FnMut(&Arc<str>, Cow<'p, str>),
    ) -> bool {
        for pattern_segment in &self.segments {
            let Some(segment) = request_segments.next() else {
                return false;
            };
            match pattern_segment {
                PatternSegment::Literal(literal) if segment == literal.as_str() => {}
                PatternSegment::Param(name) if !segment.is_empty() => capture(name, segment),
                _ => return false,
            }
        }
        // The path must not have segments left over: `/hello/a/b` is not `/hello/{name}`.
        request_segments.next().is_none()
    }
}

/// The segments a pattern captured, by name, percent-decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    captures: Vec<(Arc<str>, String)>,
}

impl Params {
    /// The decoded value captured for `{name}`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.captures
            .iter()
            .find(|(key, _)| &**key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The router's answer for one request.
#[derive(Debug)]
pub enum Lookup<'r> {
    /// A route matches path and method.
    Found(&'r Route, Params),
    /// Routes match the path, but not the method. The value is the `Allow` field.
    MethodNotAllowed(String),
    /// No route matches the path.
    NotFound,
}

/// The route table.
#[derive(Clone, Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    /// Where the routes marked `may_block` are in `routes`: the only ones `may_block` looks at.
    blocking: Vec<usize>,
}

impl Router {
    /// A router over `routes`, tried in order.
    pub fn new(routes: Vec<Route>) -> Router {
        let blocking = (0..routes.len())
            .filter(|&index| routes[index].may_block)
            .collect();
        Router { routes, blocking }
    }

    // ANCHOR: router_lookup
    /// Finds the route for `method` on `path`.
    pub fn lookup(&self, method: &Method, path: CheckedPath<'_>) -> Lookup<'_> {
        let mut allowed: Vec<&Method> = Vec::new();
        for route in &self.routes {
            let Some(params) = route.match_path(path) else {
                continue;
            };
            if route.answers(method) {
                return Lookup::Found(route, params);
            }
            allowed.push(&route.method);
        }
        if allowed.is_empty() {
            Lookup::NotFound
        } else {
            Lookup::MethodNotAllowed(allow_field(&allowed))
        }
    }
    // ANCHOR_END: router_lookup

    /// Whether the route for `method` on the raw, unchecked `path` is one marked `may_block`.
    ///
    /// Event-loop stages ask this of every request before [`App::handle`](crate::App::handle) runs, so it is kept
    /// cheap: it compares the path with the blocking routes only (today one), and only when one
    /// of them matches does it check the path and run the real lookup. Most requests are
    /// answered by a mismatch in the first segment.
    pub fn may_block(&self, method: &Method, path: &str) -> bool {
        // A quick comparison, before the path is checked: leniently decoded, so a bad escape
        // cannot fail it. A path that matches only because of that leniency fails the check
        // below, and is answered 400 at once, which never blocks.
        let some_blocking_route_matches = self.blocking.iter().any(|&index| {
            let route = &self.routes[index];
            route.answers(method) && route.walk(raw_segments(path).map(decode_lossy), |_, _| {})
        });
        if !some_blocking_route_matches {
            return false;
        }
        let Ok(path) = check_path(path) else {
            return false;
        };
        // A blocking route matching is not yet the answer: an earlier route in the table could
        // take the same path first. That is rare, so only then is the whole lookup run.
        matches!(self.lookup(method, path), Lookup::Found(route, _) if route.blocks())
    }
}

/// The `Allow` value for the methods routes take on a path: each once, HEAD after GET, and
/// OPTIONS, which the application answers for every known path.
fn allow_field(methods: &[&Method]) -> String {
    let mut allow: Vec<&str> = Vec::new();
    for method in methods {
        let names: &[&str] = match method {
            Method::Get => &["GET", "HEAD"],
            other => &[other.as_str()],
        };
        for name in names {
            if !allow.contains(name) {
                allow.push(name);
            }
        }
    }
    if !allow.contains(&"OPTIONS") {
        allow.push("OPTIONS");
    }
    allow.join(", ")
}

#[cfg(test)]
mod tests;
