//! Tests of the parent module.

use serde::Deserialize;

use super::*;
use protocol::{Method, Request};

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Note {
    title: String,
    stars: u8,
}

fn with_body(content_type: Option<&str>, body: &'static [u8]) -> Request {
    let mut request = Request::new(Method::Post, "/notes");
    if let Some(content_type) = content_type {
        request.headers.append("content-type", content_type);
    }
    request.body = bytes::Bytes::from_static(body);
    request
}

#[test]
fn json_bodies_decode_into_the_type_asked_for() {
    let request = with_body(
        Some("application/json; charset=utf-8"),
        br#"{"title":"a","stars":3}"#,
    );
    let Json(note) = Json::<Note>::from_request(&request).expect("valid JSON");
    assert_eq!(
        note,
        Note {
            title: "a".into(),
            stars: 3
        }
    );
    let vendor = with_body(
        Some("application/vnd.x+json"),
        br#"{"title":"b","stars":0}"#,
    );
    assert!(Json::<Note>::from_request(&vendor).is_ok());
}

#[test]
fn a_body_of_another_type_is_415_with_accept_post() {
    for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
        let request = with_body(content_type, br#"{"title":"a","stars":3}"#);
        let rejection = Json::<Note>::from_request(&request).unwrap_err();
        assert_eq!(rejection.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let response = rejection.into_response();
        assert_eq!(response.headers.get_str("accept-post"), Some(JSON));
    }
}

#[test]
fn bad_json_is_400_naming_the_problem() {
    for body in [
        &b"{"[..],
        br#"{"title":"a"}"#,
        br#"{"title":"a","stars":300}"#,
        b"[]",
    ] {
        let request = with_body(Some(JSON), body);
        let rejection = Json::<Note>::from_request(&request).unwrap_err();
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST, "{rejection}");
        assert!(rejection
            .to_string()
            .starts_with("the body is not the JSON expected"));
    }
}

#[test]
fn forms_and_queries_decode_with_clear_400s() {
    let request = with_body(Some(form::URLENCODED), b"title=a%20b&stars=5");
    let note: Note = super::form(&request).expect("a valid form");
    assert_eq!(note.title, "a b");
    let request = with_body(Some(form::URLENCODED), b"title=a&stars=many");
    assert_eq!(
        super::form::<Note>(&request).unwrap_err().status(),
        StatusCode::BAD_REQUEST
    );
    let request = with_body(Some(JSON), b"title=a&stars=1");
    assert_eq!(
        super::form::<Note>(&request).unwrap_err().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let request = Request::new(Method::Get, "/notes?title=x&stars=2");
    assert_eq!(query::<Note>(&request).unwrap().stars, 2);
    let request = Request::new(Method::Get, "/notes?title=x");
    let rejection = query::<Note>(&request).unwrap_err();
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    assert!(rejection.to_string().contains("stars"), "{rejection}");
}

#[test]
fn params_parse_or_name_the_bad_value() {
    let router = crate::router::Router::new(vec![crate::router::Route::get(
        "/notes/{id}",
        |_: &Request, _: &Params| StatusCode::OK,
    )]);
    let path = crate::path::check_path("/notes/12").unwrap();
    let crate::router::Lookup::Found(_, params) = router.lookup(&Method::Get, path) else {
        panic!("no match");
    };
    assert_eq!(param::<u64>(&params, "id"), Ok(12));
    assert_eq!(
        param::<u8>(&params, "id").map_err(|error| error.status()),
        Ok(12)
    );
    assert_eq!(
        param::<u64>(&params, "nope").unwrap_err().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let path = crate::path::check_path("/notes/twelve").unwrap();
    let crate::router::Lookup::Found(_, params) = router.lookup(&Method::Get, path) else {
        panic!("no match");
    };
    let rejection = param::<u64>(&params, "id").unwrap_err();
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    assert_eq!(rejection.to_string(), "\"twelve\" is not a valid id");
}

#[test]
fn json_responses_carry_their_type_and_status() {
    let response = (StatusCode::CREATED, Json(vec![1, 2])).into_response();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.headers.get_str("content-type"), Some(JSON));
    // A map with non-string keys cannot be JSON: a 500 that says so, never a panic.
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 1);
    let response = Json(map).into_response();
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
}
