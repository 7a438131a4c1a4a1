//! Tests of the parent module.

use super::*;
use bytes::Bytes;
use protocol::Body;

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "unit tests",
};

fn app() -> App {
    App::new(&default_site_root(), INFO, Instant::now()).expect("the bundled site exists")
}

fn handle(app: &App, method: Method, target: &str) -> Response {
    app.handle(&Request::new(method, target))
}

#[test]
fn app_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<App>();
}

#[test]
fn root_must_be_an_existing_directory() {
    let missing = App::new(Path::new("/no/such/dir/here"), INFO, Instant::now());
    let error = missing.expect_err("a missing root is an error");
    assert!(error
        .to_string()
        .starts_with("cannot open document root /no/such/dir/here: "));

    let file = default_site_root().join("index.html");
    let error = App::new(&file, INFO, Instant::now()).expect_err("a file is not a root");
    assert_eq!(
        error.to_string(),
        format!("document root {} is not a directory", file.display())
    );
}

#[test]
fn unknown_methods_and_connect_are_501() {
    let app = app();
    let response = handle(&app, Method::Other("BREW".into()), "/");
    assert_eq!(response.status, StatusCode::NOT_IMPLEMENTED);
    let response = handle(&app, Method::Connect, "example.com:443");
    assert_eq!(response.status, StatusCode::NOT_IMPLEMENTED);
}

#[test]
fn wrong_method_on_a_route_is_405_with_allow() {
    let app = app();
    let response = handle(&app, Method::Get, "/echo");
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers.get_str("allow"), Some("POST, OPTIONS"));
    let response = handle(&app, Method::Delete, "/hello/x");
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers.get_str("allow"),
        Some("GET, HEAD, OPTIONS")
    );
}

#[test]
fn options_lists_methods() {
    let app = app();
    let response = handle(&app, Method::Options, "/echo");
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(response.headers.get_str("allow"), Some("POST, OPTIONS"));
    let response = handle(&app, Method::Options, "*");
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.headers.contains("allow"));
}

#[test]
fn head_is_answered_by_the_get_handler() {
    let response = handle(&app(), Method::Head, "/plaintext");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body.len(), Some(13));
}

#[test]
fn unrouted_paths_fall_through_to_static_files() {
    let app = app();
    assert_eq!(handle(&app, Method::Get, "/").status, StatusCode::OK);
    assert_eq!(
        handle(&app, Method::Get, "/missing").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        handle(&app, Method::Get, "/%2e%2e/Cargo.toml").status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        handle(&app, Method::Get, "http://example.com/style.css").status,
        StatusCode::OK
    );
    let response = handle(&app, Method::Get, "/hello/%zz");
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(matches!(response.body, Body::Bytes(_)));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Whatever path and validator fields a peer sends, the application answers without
    /// panicking, and never with a server error.
    #[test]
    fn any_request_gets_an_answer(
        // Real prefixes so that files and routes are reached; no letters in the suffix, so
        // that `/slow?ms=9999` cannot come up and stall the test.
        prefix in proptest::sample::select(
            &["/", "/big.bin", "/style.css", "/chapters", "/hello/", "/api/info", "/x"][..],
        ),
        suffix in "[0-9%./\\\\{}?=&-]{0,30}",
        range in "(bytes|x)?=?[0-9, -]{0,16}",
        tag in "(W/)?\"?[a-z0-9,\" *]{0,12}",
    ) {
        let app = app();
        let mut request = Request::new(Method::Get, format!("{prefix}{suffix}"));
        request.headers.append("range", &range);
        request.headers.append("if-none-match", &tag);
        request.headers.append("if-range", &tag);
        let response = app.handle(&request);
        proptest::prop_assert!(response.status.as_u16() < 500, "{:?}", response.status);
    }
}

#[test]
fn refusals_are_counted_by_reason_and_requests_by_protocol() {
    let app = app();
    for error in [
        protocol::RequestError::Timeout,
        protocol::RequestError::BodyTooLarge,
        protocol::RequestError::HeadTooLarge,
        protocol::RequestError::MissingHost,
    ] {
        let response = app.refuse(&error);
        assert_eq!(response.status, error.status());
    }
    app.stats().count_refusal(Refusal::MaxConnections);
    let counts: Vec<(&str, u64)> = app
        .stats()
        .refusals()
        .map(|(reason, count)| (reason.as_str(), count))
        .collect();
    assert_eq!(
        counts,
        [
            ("max_connections", 1),
            ("timeout", 1),
            ("too_large", 2),
            ("malformed", 1),
            ("rate_limit", 0),
            ("connections_per_client", 0)
        ]
    );
    let mut http10 = Request::new(Method::Get, "/healthz");
    http10.version = protocol::Version::Http10;
    app.handle(&http10);
    handle(&app, Method::Get, "/healthz");
    let by_protocol: Vec<u64> = app.stats().requests_by_protocol().map(|(_, n)| n).collect();
    assert_eq!(by_protocol, [1, 1, 0]);
}

#[test]
fn every_request_is_counted() {
    let app = app();
    for target in ["/healthz", "/nope", "/slow", "/"] {
        handle(&app, Method::Get, target);
    }
    handle(&app, Method::Other("X".into()), "/");
    assert_eq!(app.requests_served(), 5);
    let by_class: Vec<(u8, u64)> = app.responses_by_class().collect();
    assert_eq!(by_class, [(1, 0), (2, 2), (3, 0), (4, 2), (5, 1)]);
}

fn post_root(content_type: Option<&str>, body: &'static [u8]) -> Response {
    let mut request = Request::new(Method::Post, "/");
    if let Some(content_type) = content_type {
        request.headers.append("content-type", content_type);
    }
    request.body = Bytes::from_static(body);
    app().handle(&request)
}

fn body_text(response: &Response) -> String {
    match &response.body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("expected an in-memory body, got {other:?}"),
    }
}

#[test]
fn the_site_form_is_received_and_its_fields_escaped() {
    let response = post_root(
        Some("application/x-www-form-urlencoded"),
        b"name=Ada+%3Cb%3E&note=a%26b",
    );
    assert_eq!(response.status, StatusCode::OK);
    let page = body_text(&response);
    assert!(
        page.contains("<dt>name</dt><dd>Ada &lt;b&gt;</dd>"),
        "{page}"
    );
    assert!(page.contains("<dd>a&amp;b</dd>"), "{page}");
    assert!(page.contains("2 field(s)"), "{page}");
}

#[test]
fn an_empty_post_to_root_is_an_empty_form() {
    let response = post_root(None, b"");
    assert_eq!(response.status, StatusCode::OK);
    assert!(body_text(&response).contains("0 field(s)"));
}

#[test]
fn a_post_to_root_that_is_not_a_form_is_415() {
    let response = post_root(Some("application/json"), b"{}");
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        response.headers.get_str("accept-post"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        post_root(None, b"x=1").status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[test]
fn the_home_page_is_still_the_index_file_and_lists_its_methods() {
    let app = app();
    let response = handle(&app, Method::Get, "/");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.headers.get_str("content-type"),
        Some("text/html; charset=utf-8")
    );
    let response = handle(&app, Method::Delete, "/");
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers.get_str("allow"),
        Some("GET, HEAD, POST, OPTIONS")
    );
}

#[test]
fn the_demo_site_streams_uploads_only_with_an_upload_dir() {
    assert!(app().body_sinks().is_none(), "no --upload-dir, no sinks");
    let dir = std::env::temp_dir().join(format!("stagecraft-app-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let options = SiteOptions {
        upload: Some(upload::UploadOptions {
            dir: dir.clone(),
            max_upload: 10,
        }),
        ..SiteOptions::new(&default_site_root())
    };
    let app = App::site(&options, INFO, Instant::now()).expect("the site builds");
    let mut request = Request::new(Method::Post, "/upload");
    request
        .headers
        .append("content-type", "multipart/form-data; boundary=b");
    let sinking = app
        .body_sinks()
        .and_then(|sinks| sinks.sink_for(&request))
        .expect("POST /upload streams");
    assert_eq!(sinking.limit, 10);
    drop(sinking);
    // What did not stream reaches the route, which says why it is not an upload.
    request.headers = protocol::Headers::new();
    request.headers.append("content-type", "text/plain");
    assert_eq!(
        app.handle(&request).status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    std::fs::remove_dir_all(&dir).expect("cleans up");

    let missing = SiteOptions {
        upload: Some(upload::UploadOptions {
            dir: PathBuf::from("/no/such/upload/dir"),
            max_upload: 10,
        }),
        ..SiteOptions::new(&default_site_root())
    };
    let error = App::site(&missing, INFO, Instant::now()).expect_err("refused at start");
    assert!(error
        .to_string()
        .starts_with("cannot store uploads in /no/such/upload/dir: "));
}
