//! Tests of the parent module: parsing the list, finding a request's host, and the 421.

use super::*;
use crate::{App, AppInfo, Params};
use protocol::{Method, Version};

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "allowed hosts tests",
};

fn list(hosts: &[&str]) -> AllowedHosts {
    AllowedHosts::new(
        hosts
            .iter()
            .map(|host| host.parse().expect("a valid host"))
            .collect(),
    )
}

fn app(hosts: &[&str]) -> App {
    App::builder(INFO)
        .middleware(list(hosts))
        .get("/", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "hi")
        })
        .build()
}

fn with_host(target: &str, host: Option<&str>) -> Request {
    let mut request = Request::new(Method::Get, target);
    if let Some(host) = host {
        request.headers.append("host", host);
    }
    request
}

#[test]
fn allowed_hosts_are_parsed_and_normalised() {
    let parse = |text: &str| text.parse::<AllowedHost>();
    assert_eq!(
        parse("Example.COM."),
        Ok(AllowedHost::Name("example.com".into()))
    );
    assert_eq!(
        parse("127.0.0.1"),
        Ok(AllowedHost::Name("127.0.0.1".into()))
    );
    assert_eq!(parse("[::1]"), Ok(AllowedHost::Ipv6(Ipv6Addr::LOCALHOST)));
    assert_eq!(parse("::1"), Ok(AllowedHost::Ipv6(Ipv6Addr::LOCALHOST)));
    assert_eq!(parse("[::1]").unwrap().to_string(), "[::1]");
    assert_eq!(parse(""), Err(HostError::Empty));
    assert_eq!(parse("."), Err(HostError::Empty));
    assert!(matches!(
        parse("example.com:8080"),
        Err(HostError::NotJustAName(_))
    ));
    assert!(matches!(
        parse("http://example.com"),
        Err(HostError::NotJustAName(_))
    ));
    assert!(matches!(parse("[nope]"), Err(HostError::BadIpLiteral(_))));
    assert!(matches!(parse("[::1"), Err(HostError::BadIpLiteral(_))));
    let error = parse("exa mple.com").unwrap_err();
    assert!(error.to_string().contains("' '"), "{error}");
}

#[test]
fn the_host_comes_without_its_port_and_from_an_absolute_target_first() {
    let host = |target: &str, field: Option<&str>| {
        request_host(&with_host(target, field)).map(str::to_owned)
    };
    assert_eq!(
        host("/", Some("example.com:8080")).as_deref(),
        Some("example.com")
    );
    assert_eq!(host("/", Some("[::1]:8080")).as_deref(), Some("[::1]"));
    assert_eq!(host("/", Some("[::1]")).as_deref(), Some("[::1]"));
    assert_eq!(host("/", None), None);
    assert_eq!(
        host("http://Other.example:81/p?q", Some("example.com")).as_deref(),
        Some("Other.example")
    );
    // A path that holds "://" is origin-form, so Host still decides.
    assert_eq!(
        host("/redirect?to=http://evil.example/", Some("example.com")).as_deref(),
        Some("example.com")
    );
}

#[test]
fn a_listed_host_is_served_whatever_its_case_port_or_final_dot() {
    let app = app(&["example.com", "127.0.0.1", "::1"]);
    for host in [
        "example.com",
        "EXAMPLE.com:8080",
        "example.com.",
        "127.0.0.1:1234",
        "[::1]:8080",
        "[0:0::1]",
    ] {
        let response = app.handle(&with_host("/", Some(host)));
        assert_eq!(response.status, StatusCode::OK, "{host}");
    }
}

#[test]
fn another_host_is_misdirected() {
    let app = app(&["example.com"]);
    for host in [
        Some("evil.example"),
        Some("example.com.evil.example"),
        Some("[::1]:8080"),
        Some("[not-an-address]"),
        Some("127.0.0.1"),
        Some(""),
        None,
    ] {
        let response = app.handle(&with_host("/", host));
        assert_eq!(response.status, StatusCode::MISDIRECTED_REQUEST, "{host:?}");
    }
    // An absolute-form target names the host even when Host says otherwise.
    let response = app.handle(&with_host("http://evil.example/", Some("example.com")));
    assert_eq!(response.status, StatusCode::MISDIRECTED_REQUEST);
}

#[test]
fn an_http2_request_is_checked_by_the_host_its_authority_became() {
    let app = app(&["example.com"]);
    let mut request = with_host("/", Some("example.com:443"));
    request.version = Version::Http2;
    assert_eq!(app.handle(&request).status, StatusCode::OK);
}
