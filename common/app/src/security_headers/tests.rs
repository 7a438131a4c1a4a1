//! Tests of the parent module: which fields are added, and that a handler's own are kept.

use super::*;
use crate::{App, AppInfo};
use protocol::{Method, StatusCode};

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "security headers tests",
};

fn app(headers: SecurityHeaders) -> App {
    App::builder(INFO)
        .middleware(headers)
        .get("/plain", |_: &Request, _: &crate::Params| {
            Response::text(StatusCode::OK, "plain")
        })
        .get("/own", |_: &Request, _: &crate::Params| {
            Response::text(StatusCode::OK, "own")
                .header("referrer-policy", "no-referrer")
                .header("content-security-policy", "default-src 'self'")
        })
        .build()
}

fn get(app: &App, target: &str) -> Response {
    app.handle(&Request::new(Method::Get, target))
}

#[test]
fn every_response_gets_nosniff_and_the_referrer_policy_but_no_csp_by_default() {
    let app = app(SecurityHeaders::default());
    for target in ["/plain", "/missing"] {
        let response = get(&app, target);
        assert_eq!(
            response.headers.get_str("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
        assert_eq!(
            response.headers.get_str("referrer-policy"),
            Some(DEFAULT_REFERRER_POLICY),
            "{target}"
        );
        assert!(!response.headers.contains("content-security-policy"));
    }
}

#[test]
fn a_configured_csp_goes_on_every_response() {
    let app = app(SecurityHeaders::new(
        "no-referrer",
        Some("default-src 'self'"),
    ));
    let response = get(&app, "/plain");
    assert_eq!(
        response.headers.get_str("referrer-policy"),
        Some("no-referrer")
    );
    assert_eq!(
        response.headers.get_str("content-security-policy"),
        Some("default-src 'self'")
    );
}

#[test]
fn a_field_the_handler_set_is_kept_and_not_doubled() {
    let app = app(SecurityHeaders::new(
        "unsafe-url",
        Some("default-src 'none'"),
    ));
    let response = get(&app, "/own");
    assert_eq!(response.headers.get_all("referrer-policy").count(), 1);
    assert_eq!(
        response.headers.get_str("referrer-policy"),
        Some("no-referrer")
    );
    assert_eq!(
        response.headers.get_str("content-security-policy"),
        Some("default-src 'self'")
    );
    assert_eq!(
        response.headers.get_str("x-content-type-options"),
        Some("nosniff")
    );
}

#[test]
fn referrer_policies_are_checked() {
    assert_eq!(
        parse_referrer_policy("Same-Origin").as_deref(),
        Ok("same-origin")
    );
    for bad in ["", "none", "no-referrer, origin", "origin\r\nx: y"] {
        let error = parse_referrer_policy(bad).unwrap_err();
        assert!(error.contains("strict-origin-when-cross-origin"), "{error}");
    }
}

#[test]
fn a_csp_must_be_one_line_of_ascii() {
    assert_eq!(
        parse_content_security_policy(" default-src 'self' ").as_deref(),
        Ok("default-src 'self'")
    );
    assert!(parse_content_security_policy("").is_err());
    assert!(parse_content_security_policy("default-src 'self'\r\nx-evil: 1").is_err());
    assert!(parse_content_security_policy("default-src 'sélf'").is_err());
}
