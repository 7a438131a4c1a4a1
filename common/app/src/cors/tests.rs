//! Tests of the parent module: origins parsed, simple requests, preflights, refusals.

use super::*;
use crate::{App, AppInfo, Params};

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "cors tests",
};

fn origins(list: &[&str]) -> Vec<AllowedOrigin> {
    list.iter()
        .map(|origin| origin.parse().expect("a valid origin"))
        .collect()
}

fn app(cors: Cors) -> App {
    App::builder(INFO)
        .middleware(cors)
        .get("/data", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "data")
        })
        .put("/data", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "stored")
        })
        .get("/vary", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "v").header("vary", "accept-encoding")
        })
        .build()
}

fn request(method: Method, target: &str, fields: &[(&str, &str)]) -> Request {
    let mut request = Request::new(method, target);
    for (name, value) in fields {
        request.headers.append(name, value);
    }
    request
}

fn preflight(origin: &str, method: &str) -> Request {
    request(
        Method::Options,
        "/data",
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            ("access-control-request-headers", "x-token, content-type"),
        ],
    )
}

fn field<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers.get_str(name)
}

#[test]
fn origins_are_parsed_and_normalised() {
    let parse = |text: &str| text.parse::<AllowedOrigin>();
    assert_eq!(parse("*"), Ok(AllowedOrigin::Any));
    assert_eq!(
        parse("HTTPS://App.Example:443/"),
        Ok(AllowedOrigin::Origin("https://app.example".into()))
    );
    assert_eq!(
        parse("http://localhost:3000"),
        Ok(AllowedOrigin::Origin("http://localhost:3000".into()))
    );
    assert_eq!(
        parse("http://[::1]:80"),
        Ok(AllowedOrigin::Origin("http://[::1]".into()))
    );
    assert!(matches!(parse("null"), Err(OriginError::Null(_))));
    for bad in [
        "",
        "app.example",
        "https://",
        "https://app.example/path",
        "https://user@app.example",
        "https://app.example:",
        "https://app.example:99999x",
        "https://[nope]",
        "1http://app.example",
    ] {
        let error = parse(bad).unwrap_err();
        assert!(
            error.to_string().contains("scheme://host"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn a_simple_request_from_an_allowed_origin_gets_it_echoed_with_vary() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    let response = app.handle(&request(
        Method::Get,
        "/data",
        &[("origin", "https://app.example")],
    ));
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        field(&response, "access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(field(&response, "vary"), Some("Origin"));
    assert!(!response
        .headers
        .contains("access-control-allow-credentials"));
}

#[test]
fn vary_is_added_to_the_handlers_own_not_in_place_of_it() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    let response = app.handle(&request(
        Method::Get,
        "/vary",
        &[("origin", "https://app.example")],
    ));
    let vary: Vec<_> = response.headers.get_all("vary").collect();
    assert_eq!(vary, [&b"accept-encoding"[..], b"Origin"]);
}

#[test]
fn a_disallowed_or_malformed_origin_gets_no_cors_fields_but_is_still_answered() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    for origin in [
        "https://evil.example",
        "https://app.example.evil.example",
        "https://APP.example",
        "https://app.example/",
        "null",
        "garbage",
        "",
    ] {
        let response = app.handle(&request(Method::Get, "/data", &[("origin", origin)]));
        assert_eq!(response.status, StatusCode::OK, "{origin}");
        assert!(
            !response.headers.contains("access-control-allow-origin"),
            "{origin}"
        );
        assert_eq!(field(&response, "vary"), Some("Origin"), "{origin}");
    }
    let mut not_utf8 = Request::new(Method::Get, "/data");
    not_utf8.headers.append("origin", b"https://\xff.example");
    let response = app.handle(&not_utf8);
    assert!(!response.headers.contains("access-control-allow-origin"));
}

#[test]
fn a_request_without_origin_is_left_alone_but_for_vary() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    let response = app.handle(&request(Method::Get, "/data", &[]));
    assert!(!response.headers.contains("access-control-allow-origin"));
    assert_eq!(field(&response, "vary"), Some("Origin"));
}

#[test]
fn an_allowed_preflight_is_answered_before_the_router_with_the_paths_methods() {
    let app = app(Cors::new(origins(&["https://app.example"])).max_age(60));
    let response = app.handle(&preflight("https://app.example", "PUT"));
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(
        field(&response, "access-control-allow-origin"),
        Some("https://app.example")
    );
    let methods = field(&response, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("PUT") && methods.contains("GET"),
        "{methods}"
    );
    assert_eq!(
        field(&response, "access-control-allow-headers"),
        Some("x-token, content-type")
    );
    assert_eq!(field(&response, "access-control-max-age"), Some("60"));
    assert!(
        !response.headers.contains("allow"),
        "not the router's answer"
    );
    let vary: Vec<_> = response.headers.get_all("vary").collect();
    assert!(vary.contains(&&b"Origin"[..]), "{vary:?}");
}

#[test]
fn a_path_the_router_will_not_describe_gets_the_fallback_methods() {
    let app = App::builder(INFO)
        .middleware(Cors::new(origins(&["*"])))
        .middleware(crate::middleware::before(|_: &Request| {
            Some(Response::new(StatusCode::UNAUTHORIZED))
        }))
        .build();
    let response = app.handle(&preflight("https://app.example", "GET"));
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(
        field(&response, "access-control-allow-methods"),
        Some(FALLBACK_METHODS)
    );
}

#[test]
fn a_refused_preflight_gets_the_plain_options_answer() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    for origin in ["https://evil.example", "null", "not an origin"] {
        let response = app.handle(&preflight(origin, "PUT"));
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{origin}");
        assert!(response.headers.contains("allow"), "the router's answer");
        assert!(!response.headers.contains("access-control-allow-origin"));
        assert!(!response.headers.contains("access-control-allow-methods"));
    }
}

#[test]
fn garbage_in_the_request_fields_is_not_echoed() {
    let app = app(Cors::new(origins(&["https://app.example"])));
    let mut bad_headers = preflight("https://app.example", "PUT");
    bad_headers
        .headers
        .set("access-control-request-headers", "x-a, (bad)");
    let response = app.handle(&bad_headers);
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(!response.headers.contains("access-control-allow-headers"));
    // A request method that is not a token makes it no preflight at all.
    let response = app.handle(&preflight("https://app.example", "P UT"));
    assert!(!response.headers.contains("access-control-allow-methods"));
    assert!(response.headers.contains("allow"));
}

#[test]
fn any_origin_without_credentials_is_a_star_for_everyone() {
    let app = app(Cors::new(origins(&["*"])));
    let response = app.handle(&request(
        Method::Get,
        "/data",
        &[("origin", "https://whoever.example")],
    ));
    assert_eq!(field(&response, "access-control-allow-origin"), Some("*"));
    assert!(!response.headers.contains("vary"));
    let response = app.handle(&preflight("https://whoever.example", "PUT"));
    assert_eq!(field(&response, "access-control-allow-origin"), Some("*"));
}

#[test]
fn credentials_never_go_with_a_star() {
    let app = app(Cors::new(origins(&["*"])).allow_credentials(true));
    let response = app.handle(&request(
        Method::Get,
        "/data",
        &[("origin", "https://whoever.example")],
    ));
    assert_eq!(
        field(&response, "access-control-allow-origin"),
        Some("https://whoever.example")
    );
    assert_eq!(
        field(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(field(&response, "vary"), Some("Origin"));
    // The opaque origin is never echoed with credentials.
    let response = app.handle(&request(Method::Get, "/data", &[("origin", "null")]));
    assert!(!response.headers.contains("access-control-allow-origin"));
    let response = app.handle(&preflight("https://whoever.example", "PUT"));
    assert_eq!(
        field(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        field(&response, "access-control-allow-origin"),
        Some("https://whoever.example")
    );
}
