//! Tests of the parent module: the builder, groups, middleware order, error handlers, panics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::middleware::{after, around, before, Next};
use crate::{Json, Rejection};
use protocol::Body;

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "builder tests",
};

fn get(app: &App, target: &str) -> Response {
    app.handle(&Request::new(Method::Get, target))
}

fn text(response: &Response) -> String {
    match &response.body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).trim_end().to_owned(),
        Body::Empty => String::new(),
        other => panic!("expected bytes, got {other:?}"),
    }
}

#[test]
fn closures_capture_state_shared_by_every_request() {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&hits);
    let app = App::builder(INFO)
        .get("/count", move |_: &Request, _: &Params| {
            format!("{}", counter.fetch_add(1, Ordering::Relaxed) + 1)
        })
        .build();
    assert_eq!(text(&get(&app, "/count")), "1");
    assert_eq!(text(&get(&app, "/count")), "2");
    assert_eq!(hits.load(Ordering::Relaxed), 2);
}

#[test]
fn groups_prefix_their_routes_and_scope_their_middleware() {
    let app = App::builder(INFO)
        .get("/open", |_: &Request, _: &Params| "open")
        .group("/api", |api| {
            api.middleware(after(|_, response: &mut Response| {
                response.headers.set("x-group", "api");
            }))
            .get("/", |_: &Request, _: &Params| "api root")
            .get("/items/{id}", |_: &Request, params: &Params| {
                format!("item {}", params.get("id").unwrap_or("?"))
            })
            .group("/admin", |admin| {
                admin
                    .middleware(before(|_| {
                        Some(Response::text(StatusCode::FORBIDDEN, "admins only"))
                    }))
                    .get("/panel", |_: &Request, _: &Params| "panel")
            })
        })
        .build();
    let open = get(&app, "/open");
    assert_eq!(text(&open), "open");
    assert_eq!(open.headers.get_str("x-group"), None);
    let root = get(&app, "/api");
    assert_eq!(text(&root), "api root");
    assert_eq!(root.headers.get_str("x-group"), Some("api"));
    let item = get(&app, "/api/items/7");
    assert_eq!(text(&item), "item 7");
    // The inner group's check answers, inside the outer group's middleware.
    let panel = get(&app, "/api/admin/panel");
    assert_eq!(panel.status, StatusCode::FORBIDDEN);
    assert_eq!(panel.headers.get_str("x-group"), Some("api"));
    assert_eq!(get(&app, "/api/nothing").status, StatusCode::NOT_FOUND);
}

#[test]
fn middleware_runs_like_an_onion_and_can_short_circuit() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let (outer, inner) = (Arc::clone(&order), Arc::clone(&order));
    let app = App::builder(INFO)
        .middleware(around(move |request: &Request, next: Next<'_>| {
            outer.lock().unwrap().push("outer in");
            let response = next.run(request);
            outer.lock().unwrap().push("outer out");
            response
        }))
        .middleware(around(move |request: &Request, next: Next<'_>| {
            inner.lock().unwrap().push("inner in");
            if request.path() == "/blocked" {
                return Response::text(StatusCode::UNAUTHORIZED, "no");
            }
            let response = next.run(request);
            inner.lock().unwrap().push("inner out");
            response
        }))
        .get("/", |_: &Request, _: &Params| "home")
        .get("/blocked", |_: &Request, _: &Params| -> Response {
            panic!("short-circuited: never called")
        })
        .build();
    assert_eq!(text(&get(&app, "/")), "home");
    assert_eq!(
        *order.lock().unwrap(),
        ["outer in", "inner in", "inner out", "outer out"]
    );
    order.lock().unwrap().clear();
    assert_eq!(get(&app, "/blocked").status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        *order.lock().unwrap(),
        ["outer in", "inner in", "outer out"]
    );
}

#[test]
fn app_middleware_wraps_404s_and_405s_too() {
    let app = App::builder(INFO)
        .middleware(after(|_, response: &mut Response| {
            response.headers.set("x-seen", "yes");
        }))
        .post("/only-post", |_: &Request, _: &Params| "posted")
        .build();
    let missing = get(&app, "/missing");
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers.get_str("x-seen"), Some("yes"));
    let wrong = get(&app, "/only-post");
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers.get_str("allow"), Some("POST, OPTIONS"));
    assert_eq!(wrong.headers.get_str("x-seen"), Some("yes"));
}

#[test]
fn error_handlers_answer_the_frameworks_errors_but_not_a_handlers_own() {
    let app = App::builder(INFO)
        .get("/notes/{id}", |_: &Request, _: &Params| {
            Response::with_body(
                StatusCode::NOT_FOUND,
                "application/json",
                "{\"error\":\"no note\"}",
            )
        })
        .on_error(StatusCode::NOT_FOUND, |request, mut response| {
            response.body = Body::from(format!("custom 404 for {}", request.path()));
            response
        })
        .on_error(StatusCode::METHOD_NOT_ALLOWED, |_, mut response| {
            response.headers.set("x-custom", "405");
            response
        })
        .build();
    assert_eq!(text(&get(&app, "/nowhere")), "custom 404 for /nowhere");
    let own = get(&app, "/notes/1");
    assert_eq!(own.status, StatusCode::NOT_FOUND);
    assert_eq!(text(&own), "{\"error\":\"no note\"}");
    let wrong = app.handle(&Request::new(Method::Delete, "/notes/1"));
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers.get_str("x-custom"), Some("405"));
}

#[test]
fn a_panicking_handler_is_a_500_and_the_app_goes_on() {
    let app = App::builder(INFO)
        .get("/panic", |_: &Request, _: &Params| -> Response {
            panic!("boom")
        })
        .get("/fine", |_: &Request, _: &Params| "fine")
        .middleware(around(|request: &Request, next: Next<'_>| {
            if request.path() == "/middleware-panics" {
                panic!("a middleware bug");
            }
            next.run(request)
        }))
        .on_error(StatusCode::INTERNAL_SERVER_ERROR, |_, mut response| {
            response.headers.set("x-error-page", "500");
            response
        })
        .build();
    let response = get(&app, "/panic");
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers.get_str("x-error-page"), Some("500"));
    assert!(
        !text(&response).contains("boom"),
        "the panic message is logged, not sent"
    );
    let response = get(&app, "/middleware-panics");
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(text(&get(&app, "/fine")), "fine");
    let classes: Vec<_> = app.responses_by_class().collect();
    assert_eq!(classes[1], (2, 1));
    assert_eq!(classes[4], (5, 2));
}

#[test]
fn may_block_marks_the_route_added_last() {
    let app = App::builder(INFO)
        .get("/fast", |_: &Request, _: &Params| "fast")
        .get("/waits", |_: &Request, _: &Params| "waited")
        .may_block()
        .group("/g", |g| g.get("/x", |_: &Request, _: &Params| "x"))
        .build();
    assert!(app.may_block(&Request::new(Method::Get, "/waits")));
    assert!(!app.may_block(&Request::new(Method::Get, "/fast")));
    assert!(!app.may_block(&Request::new(Method::Get, "/g/x")));
}

#[test]
fn a_fallback_answers_what_no_route_takes() {
    let app = App::builder(INFO)
        .get("/a", |_: &Request, _: &Params| "a")
        .fallback(|request: &Request, _: &Params| format!("fallback {}", request.path()))
        .build();
    assert_eq!(text(&get(&app, "/zzz")), "fallback /zzz");
    assert_eq!(app.root(), None);
}

#[test]
fn handlers_return_results_so_extractors_can_use_the_question_mark() {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct Sum {
        a: i64,
        b: i64,
    }
    let app = App::builder(INFO)
        .post(
            "/sum",
            |request: &Request, _: &Params| -> Result<Json<i64>, Rejection> {
                let Json(sum) = Json::<Sum>::from_request(request)?;
                Ok(Json(sum.a + sum.b))
            },
        )
        .build();
    let mut request = Request::new(Method::Post, "/sum");
    request.headers.append("content-type", "application/json");
    request.body = bytes::Bytes::from_static(br#"{"a":2,"b":40}"#);
    assert_eq!(text(&app.handle(&request)), "42");
    request.body = bytes::Bytes::from_static(br#"{"a":2}"#);
    assert_eq!(app.handle(&request).status, StatusCode::BAD_REQUEST);
}
