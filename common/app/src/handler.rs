//! What a route runs, and what it may return.
//!
//! A handler is any closure `Fn(&Request, &Params) -> R` where `R` turns into a response
//! ([`IntoResponse`]). It may capture state (an `Arc<Mutex<..>>` of notes, a counter), so it must
//! be `Send + Sync`: every thread, process or task of a stage calls the same handler. It is
//! synchronous on purpose, so that every model can call it: a thread, a process, an event loop's
//! worker pool, a tokio task's `spawn_blocking`.
//!
//! Returning `Result<T, E>` where both sides are [`IntoResponse`] lets a handler use `?` on the
//! extractors of [`crate::extract`], whose errors are 400s and 415s a client can read.

use std::sync::Arc;

use crate::router::Params;
use protocol::{Request, Response, StatusCode};

// ANCHOR: handler
/// A route's handler, boxed: what the router stores for every route.
pub type Handler = Arc<dyn Fn(&Request, &Params) -> Response + Send + Sync>;

/// Boxes a closure or function as a [`Handler`], turning what it returns into a response.
pub fn handler<F, R>(f: F) -> Handler
where
    F: Fn(&Request, &Params) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    Arc::new(move |request: &Request, params: &Params| f(request, params).into_response())
}
// ANCHOR_END: handler

/// Anything a handler may return.
pub trait IntoResponse {
    /// The response this value stands for.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

/// A bare status: an empty body with that status.
impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

/// Plain text, 200 (with a final newline, as [`Response::text`] writes it).
impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, self)
    }
}

/// Plain text, 200 (with a final newline, as [`Response::text`] writes it).
impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, self)
    }
}

/// Plain text with a status of the handler's choice.
impl IntoResponse for (StatusCode, String) {
    fn into_response(self) -> Response {
        Response::text(self.0, self.1)
    }
}

/// Plain text with a status of the handler's choice.
impl IntoResponse for (StatusCode, &'static str) {
    fn into_response(self) -> Response {
        Response::text(self.0, self.1)
    }
}

/// Either side, so that handlers can use `?`.
impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into_response(),
        }
    }
}

/// An HTML page the handler made (escaping is the handler's business).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html(pub String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        Response::with_body(StatusCode::OK, "text/html; charset=utf-8", self.0)
    }
}
