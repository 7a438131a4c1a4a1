//! Tests of the parent module.

use super::*;
use protocol::StatusCode;

fn ok(_: &Request, _: &Params) -> Response {
    Response::new(StatusCode::OK)
}

fn created(_: &Request, _: &Params) -> Response {
    Response::new(StatusCode::CREATED)
}

/// Looks `path` up as the application does: checked first.
fn lookup<'r>(router: &'r Router, method: &Method, path: &str) -> Lookup<'r> {
    router.lookup(method, check_path(path).expect("a valid test path"))
}

fn router() -> Router {
    Router::new(vec![
        Route::get("/hello/{name}", ok),
        Route::get("/a/{x}/b/{y}", ok),
        Route::get("/items", ok),
        Route::post("/items", created),
        Route::get("/", ok),
    ])
}

#[test]
fn captures_are_decoded_by_name() {
    let router = router();
    let Lookup::Found(route, params) = lookup(&router, &Method::Get, "/hello/J%C3%BCrgen") else {
        panic!("no match");
    };
    assert_eq!(route.pattern(), "/hello/{name}");
    assert_eq!(params.get("name"), Some("Jürgen"));
    assert_eq!(params.get("other"), None);

    let Lookup::Found(_, params) = lookup(&router, &Method::Get, "/a/1/b/two%2Fthree") else {
        panic!("no match");
    };
    assert_eq!(params.get("x"), Some("1"));
    assert_eq!(params.get("y"), Some("two/three"));
}

#[test]
fn literal_segments_compare_decoded() {
    // %65 is "e": RFC 3986 section 6.2.2.2 makes the two spellings equivalent.
    assert!(matches!(
        lookup(&router(), &Method::Get, "/h%65llo/x"),
        Lookup::Found(..)
    ));
}

#[test]
fn wrong_shape_is_not_found() {
    let router = router();
    for path in [
        "/hello",
        "/hello/",
        "/hello/a/b",
        "/nope",
        "/items/1",
        "/a/1/b",
    ] {
        assert!(
            matches!(lookup(&router, &Method::Get, path), Lookup::NotFound),
            "{path}"
        );
    }
}

#[test]
fn method_picks_the_route_and_head_follows_get() {
    let router = router();
    let Lookup::Found(route, _) = lookup(&router, &Method::Post, "/items") else {
        panic!("no match");
    };
    assert_eq!(route.method, Method::Post);
    assert!(matches!(
        lookup(&router, &Method::Head, "/items"),
        Lookup::Found(..)
    ));
}

#[test]
fn wrong_method_lists_the_allowed_ones() {
    let router = router();
    match lookup(&router, &Method::Delete, "/items") {
        Lookup::MethodNotAllowed(allow) => assert_eq!(allow, "GET, HEAD, POST, OPTIONS"),
        other => panic!("expected 405, got {other:?}"),
    }
    match lookup(&router, &Method::Post, "/hello/x") {
        Lookup::MethodNotAllowed(allow) => assert_eq!(allow, "GET, HEAD, OPTIONS"),
        other => panic!("expected 405, got {other:?}"),
    }
}

fn sleeps(_: &Request, _: &Params) -> Response {
    Response::new(StatusCode::OK)
}

#[test]
fn may_block_looks_only_at_blocking_routes_and_respects_order() {
    let router = Router::new(vec![
        Route::get("/fast/{x}", ok),
        Route::get("/fast/slow", sleeps).may_block(),
        Route::get("/slow/{x}", sleeps).may_block(),
        Route::get("/other", ok),
    ]);
    assert_eq!(router.blocking, [1, 2]);
    assert!(router.may_block(&Method::Get, "/slow/1"));
    assert!(router.may_block(&Method::Head, "/slow/%31"));
    // The method must match too, and a POST has no blocking route at all.
    assert!(!router.may_block(&Method::Post, "/slow/1"));
    // `/fast/{x}` comes first in the table and takes `/fast/slow`: the blocking route never
    // runs, so the request does not block.
    assert!(!router.may_block(&Method::Get, "/fast/slow"));
    for path in [
        "/other",
        "/slow",
        "/slow/1/2",
        "/slow/",
        "/slow/%zz",
        "/slow/..",
    ] {
        assert!(!router.may_block(&Method::Get, path), "{path}");
    }
    assert!(!Router::new(vec![Route::get("/", ok)]).may_block(&Method::Get, "/"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

    /// The quick answer is always the one the whole lookup gives.
    #[test]
    fn may_block_agrees_with_the_lookup(
        path in "(/(slow|fast|%73low|sl%6Fw|%zz|%FF|\\.\\.|x)?){0,3}/?",
        method in proptest::sample::select(&[Method::Get, Method::Head, Method::Post][..]),
    ) {
        let router = Router::new(vec![
            Route::get("/fast/{x}", ok),
            Route::get("/fast/slow", sleeps).may_block(),
            Route::get("/slow/{x}", sleeps).may_block(),
            Route::get("/slow", sleeps).may_block(),
        ]);
        let expected = check_path(&path).is_ok_and(|checked| {
            matches!(router.lookup(&method, checked), Lookup::Found(route, _) if route.blocks())
        });
        proptest::prop_assert_eq!(router.may_block(&method, &path), expected, "{}", path);
    }
}
