//! Tests of the parent module: the file, the credentials, the prefix and the 401.
//!
//! Hashes are made at bcrypt's lowest cost (4), so that each check takes about a millisecond
//! instead of the tens that a real file's cost 10 or more would.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::*;
use crate::{App, AppInfo, Params};
use protocol::Method;

const INFO: AppInfo = AppInfo {
    stage: "stage00-test",
    model: "basic auth tests",
};

/// `alice` with password `wonder land` and `bob` with `p:w`, at cost 4.
fn users() -> Htpasswd {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        let alice = bcrypt::hash("wonder land", 4).expect("hashes");
        let bob = bcrypt::hash("p:w", 4).expect("hashes");
        // bcrypt writes $2b$; htpasswd writes $2y$: the same algorithm, both read.
        format!(
            "alice:{alice}\n\nbob:{}\r\n",
            bob.replacen("$2b$", "$2y$", 1)
        )
    });
    Htpasswd::parse(text, Path::new("test.htpasswd")).expect("parses")
}

fn app(prefix: &str) -> App {
    App::builder(INFO)
        .middleware(BasicAuth::new(prefix, users()).expect("a good prefix"))
        .get("/private/{file}", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "secret")
        })
        .get("/privateer", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "public")
        })
        .get("/", |_: &Request, _: &Params| {
            Response::text(StatusCode::OK, "home")
        })
        .build()
}

fn get(app: &App, target: &str, authorization: Option<&[u8]>) -> Response {
    let mut request = Request::new(Method::Get, target);
    if let Some(value) = authorization {
        request.headers.append("authorization", value);
    }
    app.handle(&request)
}

fn basic(user_and_password: &[u8]) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(user_and_password)).into_bytes()
}

#[test]
fn the_right_password_gets_in() {
    let app = app("/private");
    let response = get(&app, "/private/a", Some(&basic(b"alice:wonder land")));
    assert_eq!(response.status, StatusCode::OK);
    // The password may hold colons: the split is at the first one.
    let response = get(&app, "/private/a", Some(&basic(b"bob:p:w")));
    assert_eq!(response.status, StatusCode::OK);
    // The scheme is case-insensitive, and more than one space may follow it.
    let value = format!("bAsIc   {}", STANDARD.encode("alice:wonder land"));
    let response = get(&app, "/private/a", Some(value.as_bytes()));
    assert_eq!(response.status, StatusCode::OK);
}

#[test]
fn no_or_wrong_credentials_get_401_with_the_challenge() {
    let app = app("/private");
    let cases: [Option<Vec<u8>>; 5] = [
        None,
        Some(basic(b"alice:wrong")),
        Some(basic(b"alice:wonder land ")),
        Some(basic(b"mallory:wonder land")),
        Some(basic(b"alice:")),
    ];
    for authorization in cases {
        let response = get(&app, "/private/a", authorization.as_deref());
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert_eq!(
            response.headers.get_str("www-authenticate"),
            Some("Basic realm=\"/private\", charset=\"UTF-8\"")
        );
    }
}

#[test]
fn garbage_authorization_is_401_and_says_why() {
    let app = app("/private");
    let long = basic(format!("alice:{}", "x".repeat(100)).as_bytes());
    let cases: [&[u8]; 9] = [
        b"Bearer abc",
        b"Basic",
        b"Basic ",
        b"Basic !!!not-base64!!!",
        b"Basic YWxpY2U6d29uZGVy", // alice:wonder, a wrong password
        &basic(b"alice"),
        &basic(b"alice:\xff\xfe"),
        b"Basic \xff",
        &long,
    ];
    for value in cases {
        let response = get(&app, "/private/a", Some(value));
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            String::from_utf8_lossy(value)
        );
        assert!(response.headers.contains("www-authenticate"));
    }
    let why = |value: &[u8]| {
        let mut request = Request::new(Method::Get, "/");
        request.headers.append("authorization", value);
        basic_credentials(&request)
    };
    assert_eq!(why(b"Bearer abc"), Err(CredentialsError::NotBasic));
    assert_eq!(why(b"Basic ####"), Err(CredentialsError::NotBase64));
    assert_eq!(why(&basic(b"no colon")), Err(CredentialsError::NoColon));
    assert_eq!(why(&basic(b"\xc3\x28:pw")), Err(CredentialsError::NotUtf8));
    assert_eq!(
        why(&basic(b"alice:wonder land")),
        Ok(("alice".to_owned(), "wonder land".to_owned()))
    );
    assert_eq!(
        basic_credentials(&Request::new(Method::Get, "/")),
        Err(CredentialsError::Missing)
    );
    // Over bcrypt's 72 bytes: refused, not cut short to a prefix that might match.
    assert!(!users().verify("alice", &"x".repeat(100)));
}

#[test]
fn only_the_prefix_is_protected_by_whole_segments_and_decoded() {
    let app = app("/private");
    assert_eq!(get(&app, "/", None).status, StatusCode::OK);
    assert_eq!(get(&app, "/privateer", None).status, StatusCode::OK);
    for sneaky in ["/private/a", "/%70rivate/a", "//private/a", "/private//a"] {
        assert_eq!(
            get(&app, sneaky, None).status,
            StatusCode::UNAUTHORIZED,
            "{sneaky}"
        );
    }
    let everything = self::app("/");
    assert_eq!(get(&everything, "/", None).status, StatusCode::UNAUTHORIZED);
}

#[test]
fn bad_prefixes_are_refused() {
    for bad in ["private", "/a\"b", "/a\\b", "/%70", "/a/../b", "/a\nb"] {
        assert!(check_prefix(bad).is_err(), "{bad:?}");
    }
    assert_eq!(check_prefix("/private/").as_deref(), Ok("/private/"));
}

#[test]
fn bad_files_are_refused_with_their_line() {
    let path = Path::new("users.htpasswd");
    let good = bcrypt::hash("pw", 4).expect("hashes");
    let parse = |text: &str| Htpasswd::parse(text, path).unwrap_err().to_string();
    let error = parse(&format!("alice:{good}\nbob\n"));
    assert!(
        error.contains("users.htpasswd line 2: not user:hash"),
        "{error}"
    );
    let error = parse(&format!(":{good}\n"));
    assert!(error.contains("line 1"), "{error}");
    let error = parse("alice:\n");
    assert!(error.contains("line 1: not user:hash"), "{error}");
    let error = parse("carol:$apr1$abcdefgh$0123456789abcdefghijkl\n");
    assert!(
        error.contains("line 1") && error.contains("htpasswd -B"),
        "{error}"
    );
    let error = parse("dave:$2y$10$tooshort\n");
    assert!(error.contains("not bcrypt"), "{error}");
    let error = parse(&format!("alice:{good}\nalice:{good}\n"));
    assert!(
        error.contains("line 2") && error.contains("twice"),
        "{error}"
    );
    let error = parse("\n\n");
    assert!(error.contains("no users"), "{error}");
}

#[test]
fn a_missing_or_binary_file_is_an_error_that_names_it() {
    let missing = Path::new("/nonexistent/stagecraft.htpasswd");
    let error = Htpasswd::open(missing).unwrap_err().to_string();
    assert!(
        error.contains("/nonexistent/stagecraft.htpasswd"),
        "{error}"
    );
    let dir = std::env::temp_dir().join(format!("stagecraft-htpasswd-{}", std::process::id()));
    std::fs::write(&dir, b"alice:\xff\n").expect("writes");
    let error = Htpasswd::open(&dir).unwrap_err().to_string();
    assert!(error.contains("not UTF-8"), "{error}");
    std::fs::remove_file(&dir).expect("removes");
}

#[test]
fn the_test_file_made_by_htpasswd_is_read() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/htpasswd"
    ));
    let users = Htpasswd::open(path).expect("tests/data/htpasswd parses");
    assert!(users.verify("reader", "stagecraft"));
    assert!(users.verify("writer", "pass:with:colons"));
    assert!(!users.verify("reader", "Stagecraft"));
}
