//! Middleware: code that runs around handlers, for every route of an app or of a group.
//!
//! A middleware gets the request and [`Next`], the rest of the chain. It may answer at once
//! without calling `next` (short-circuit: an auth check's 401, a CORS preflight), call
//! `next.run(request)` and look at or change the response (a header, compression, a log line
//! with the time it took), or call `next.run` with a request of its own making. That one shape
//! covers "before", "after" and "around"; [`before`] and [`after`] are adapters for the first two,
//! so that the common cases read as what they are.
//!
//! Order: middleware added first runs first on the way in and last on the way out, like the
//! layers of an onion (tower and axum call these layers; hyper has none, it leaves this to the
//! application). App-wide middleware wraps everything the app answers, static files and 404s
//! included; a group's middleware wraps only the routes of that group.

use std::sync::Arc;

use protocol::{Request, Response};

// ANCHOR: middleware
/// Code that runs around the handlers it wraps.
pub trait Middleware: Send + Sync + 'static {
    /// Answers `request`, usually by calling `next.run(request)` and returning (or changing) what
    /// it returns.
    fn call(&self, request: &Request, next: Next<'_>) -> Response;
}

/// The rest of the chain after one middleware: more middleware, then the endpoint (the router,
/// or a route's handler).
pub struct Next<'a> {
    chain: &'a [Arc<dyn Middleware>],
    endpoint: &'a (dyn Fn(&Request) -> Response + Sync),
}

impl<'a> Next<'a> {
    /// A chain of `chain`, ending in `endpoint`.
    pub fn new(
        chain: &'a [Arc<dyn Middleware>],
        endpoint: &'a (dyn Fn(&Request) -> Response + Sync),
    ) -> Next<'a> {
        Next { chain, endpoint }
    }

    /// Runs the rest of the chain on `request`.
    pub fn run(self, request: &Request) -> Response {
        match self.chain.split_first() {
            Some((first, rest)) => first.call(
                request,
                Next {
                    chain: rest,
                    endpoint: self.endpoint,
                },
            ),
            None => (self.endpoint)(request),
        }
    }
}
// ANCHOR_END: middleware

/// A closure `Fn(&Request, Next) -> Response` is a middleware.
impl<F> Middleware for F
where
    F: Fn(&Request, Next<'_>) -> Response + Send + Sync + 'static,
{
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        self(request, next)
    }
}

/// Wraps a closure as a middleware (the same as passing the closure, but it helps the compiler
/// infer the closure's argument types).
pub fn around<F>(f: F) -> F
where
    F: Fn(&Request, Next<'_>) -> Response + Send + Sync + 'static,
{
    f
}

// ANCHOR: before_after
/// A middleware that runs `check` before the handler: `Some(response)` answers at once and the
/// handler never runs (short-circuit), `None` goes on.
pub fn before<F>(check: F) -> Before<F>
where
    F: Fn(&Request) -> Option<Response> + Send + Sync + 'static,
{
    Before(check)
}

/// See [`before`].
pub struct Before<F>(F);

impl<F> Middleware for Before<F>
where
    F: Fn(&Request) -> Option<Response> + Send + Sync + 'static,
{
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        match (self.0)(request) {
            Some(response) => response,
            None => next.run(request),
        }
    }
}

/// A middleware that runs `change` on every response after the handler made it.
pub fn after<F>(change: F) -> After<F>
where
    F: Fn(&Request, &mut Response) + Send + Sync + 'static,
{
    After(change)
}

/// See [`after`].
pub struct After<F>(F);

impl<F> Middleware for After<F>
where
    F: Fn(&Request, &mut Response) + Send + Sync + 'static,
{
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        let mut response = next.run(request);
        (self.0)(request, &mut response);
        response
    }
}
// ANCHOR_END: before_after
