//! Typed input for handlers: JSON and form bodies, query strings, route parameters.
//!
//! Each extractor either gives the handler a value of the type it asked for or a [`Rejection`],
//! which is a response: 415 Unsupported Media Type when the body is not of the type the handler
//! takes (RFC 9110 section 15.5.16), 400 Bad Request naming what was wrong otherwise (section
//! 15.5.1). So a handler that returns `Result<_, Rejection>` can use `?` and never answers a bad
//! body with a 500 or a panic.
//!
//! serde does the decoding (serde_json for JSON, serde_urlencoded for forms and query strings):
//! parsing JSON by hand teaches nothing about servers.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::form;
use crate::handler::IntoResponse;
use crate::router::Params;
use protocol::{Request, Response, StatusCode};

/// Why a request's input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The body's `Content-Type` is not the one the handler takes.
    WrongContentType { expected: &'static str },
    /// The body is not JSON of the expected shape.
    BadJson(String),
    /// The body is not a form of the expected shape.
    BadForm(String),
    /// The query string is not of the expected shape.
    BadQuery(String),
    /// A route parameter could not be parsed as the type asked for.
    BadParam { name: String, value: String },
    /// A route parameter the handler asked for is not in the route's pattern.
    MissingParam(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::WrongContentType { expected } => {
                write!(f, "this route takes a body of type {expected}")
            }
            Rejection::BadJson(error) => write!(f, "the body is not the JSON expected: {error}"),
            Rejection::BadForm(error) => write!(f, "the form is not the one expected: {error}"),
            Rejection::BadQuery(error) => {
                write!(f, "the query string is not the one expected: {error}")
            }
            Rejection::BadParam { name, value } => {
                write!(f, "{value:?} is not a valid {name}")
            }
            Rejection::MissingParam(name) => write!(f, "the route has no parameter {name}"),
        }
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// The status this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::WrongContentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // A handler asking for a parameter its pattern lacks is the server's bug.
            Rejection::MissingParam(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let response = Response::text(self.status(), self.to_string());
        match self {
            Rejection::WrongContentType { expected } => response.header("accept-post", expected),
            _ => response,
        }
    }
}

/// The media type of JSON bodies.
pub const JSON: &str = "application/json";

// ANCHOR: json
/// A JSON body, in a request (`Json::<T>::from_request`) or in a response (returned by a handler).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Json<T> {
    /// Decodes the request's body as JSON: 415 unless it says `application/json` (or
    /// `application/something+json`), 400 if it does not decode into `T`.
    pub fn from_request(request: &Request) -> Result<Json<T>, Rejection> {
        let is_json = request
            .headers
            .get_str("content-type")
            .map(media_type)
            .is_some_and(|media| media == JSON || media.ends_with("+json"));
        if !is_json {
            return Err(Rejection::WrongContentType { expected: JSON });
        }
        serde_json::from_slice(&request.body)
            .map(Json)
            .map_err(|error| Rejection::BadJson(error.to_string()))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(json) => Response::with_body(StatusCode::OK, JSON, json),
            // A map with non-string keys, say: the handler's bug, so a 500 that says so.
            Err(error) => Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the response could not be written as JSON: {error}"),
            ),
        }
    }
}
// ANCHOR_END: json

/// A JSON body with a status other than 200 (`(StatusCode::CREATED, Json(note))`).
impl<T: Serialize> IntoResponse for (StatusCode, Json<T>) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        if response.status == StatusCode::OK {
            response.status = self.0;
        }
        response
    }
}

/// The request's form body (`application/x-www-form-urlencoded`), decoded into `T`.
pub fn form<T: DeserializeOwned>(request: &Request) -> Result<T, Rejection> {
    let is_form = request
        .headers
        .get("content-type")
        .is_some_and(form::is_urlencoded);
    if !is_form {
        return Err(Rejection::WrongContentType {
            expected: form::URLENCODED,
        });
    }
    serde_urlencoded::from_bytes(&request.body)
        .map_err(|error| Rejection::BadForm(error.to_string()))
}

/// The request's query string decoded into `T` (an absent query is an empty one).
pub fn query<T: DeserializeOwned>(request: &Request) -> Result<T, Rejection> {
    serde_urlencoded::from_str(request.query().unwrap_or(""))
        .map_err(|error| Rejection::BadQuery(error.to_string()))
}

/// Route parameter `name` parsed as `T`: 400 naming the value when it does not parse.
pub fn param<T: FromStr>(params: &Params, name: &str) -> Result<T, Rejection> {
    let value = params
        .get(name)
        .ok_or_else(|| Rejection::MissingParam(name.to_owned()))?;
    value.parse().map_err(|_| Rejection::BadParam {
        name: name.to_owned(),
        value: value.to_owned(),
    })
}

/// The media type of a `Content-Type` value: before any `;`, trimmed, lower-case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests;
