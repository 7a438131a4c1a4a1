//! Every rule of section 8 as a row of a table (valid and malformed field lists), the limits,
//! the body check, trailers and the response side, then properties: no field list panics,
//! and a built response never carries an uppercase or connection-specific field.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::message::Body;

fn to_fields(list: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
    list.iter()
        .map(|(name, value)| {
            (
                Bytes::copy_from_slice(name.as_bytes()),
                Bytes::copy_from_slice(value.as_bytes()),
            )
        })
        .collect()
}

/// The pseudo-header fields of a plain GET, followed by `rest`.
fn get_with(rest: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut list = vec![
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/"),
    ];
    list.extend_from_slice(rest);
    list
}

/// What a row expects: a request, or a malformed one whose `why` contains the text.
#[derive(Debug)]
enum Expect {
    Valid,
    Malformed(&'static str),
}

/// The pseudo-header fields of a GET with `path`, and no others.
fn get_path(path: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", path),
    ]
}

/// A request with these pseudo-header values (`None` leaves the field out) and nothing else.
fn pseudo(
    method: Option<&'static str>,
    scheme: Option<&'static str>,
    authority: Option<&'static str>,
    path: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    [
        (":method", method),
        (":scheme", scheme),
        (":authority", authority),
        (":path", path),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| (name, value)))
    .collect()
}

/// A field list written as text.
type List = Vec<(&'static str, &'static str)>;

#[rustfmt::skip]
fn rows() -> Vec<(&'static str, List, Expect)> {
    use Expect::*;
    let (get, https, a, root) = (Some("GET"), Some("https"), Some("a"), Some("/"));
    vec![
        // Valid requests.
        ("a plain GET", get_with(&[]), Valid),
        ("OPTIONS *", pseudo(Some("OPTIONS"), https, a, Some("*")), Valid),
        ("CONNECT with :authority only", pseudo(Some("CONNECT"), None, Some("a:443"), None), Valid),
        ("host instead of :authority", [pseudo(get, https, None, root), vec![("host", "a")]].concat(), Valid),
        ("host equal to :authority but for case", get_with(&[("host", "EXAMPLE.com")]), Valid),
        ("a scheme without a mandatory authority", pseudo(get, Some("foo"), None, root), Valid),
        ("te: trailers", get_with(&[("te", "trailers")]), Valid),
        ("content-length repeated, one value", get_with(&[("content-length", "0"), ("content-length", "0, 0")]), Valid),
        ("an empty value", get_with(&[("x-empty", "")]), Valid),
        ("every token character in a name", get_with(&[("x-!#$%&'*+-.^_`|~09az", "v")]), Valid),
        ("inner whitespace and obs-text in a value", get_with(&[("x-v", "a \t b\u{e9}")]), Valid),
        // Section 8.3.1: the pseudo-header fields a request must have, and their values.
        (":method missing", pseudo(None, https, a, root), Malformed(":method is missing")),
        (":scheme missing", pseudo(get, None, a, root), Malformed(":scheme is missing")),
        (":path missing", pseudo(get, https, a, None), Malformed(":path is missing")),
        (":path empty", get_path(""), Malformed(":path is empty")),
        (":path '*' for GET", get_path("*"), Malformed("other than OPTIONS")),
        (":path not starting with '/'", get_path("index.html"), Malformed("start with '/'")),
        (":path with a space", get_path("/a b"), Malformed("a URI cannot contain")),
        (":path with a non-ASCII byte", get_path("/\u{e9}"), Malformed("a URI cannot contain")),
        (":method not a token", pseudo(Some("GE T"), https, a, root), Malformed(":method is not a token")),
        (":method empty", pseudo(Some(""), https, a, root), Malformed(":method is not a token")),
        (":scheme not a scheme", pseudo(get, Some("1http"), a, root), Malformed(":scheme is not")),
        ("neither :authority nor host", pseudo(get, https, None, root), Malformed("neither :authority nor host")),
        (":authority with userinfo", pseudo(get, https, Some("u@a"), root), Malformed(":authority is not host[:port]")),
        (":authority empty", pseudo(get, https, Some(""), root), Malformed(":authority is not host[:port]")),
        ("host differs from :authority", get_with(&[("host", "example.org")]), Malformed("differs from :authority")),
        ("two host fields", [pseudo(get, https, None, root), vec![("host", "a"), ("host", "a")]].concat(), Malformed("more than one host")),
        ("a host that is not host[:port]", get_with(&[("host", "a/b")]), Malformed("not host[:port]")),
        // Section 8.5: CONNECT.
        ("CONNECT with :path", pseudo(Some("CONNECT"), None, Some("a:443"), root), Malformed("CONNECT request with :scheme or :path")),
        ("CONNECT with :scheme", pseudo(Some("CONNECT"), https, Some("a:443"), None), Malformed("CONNECT request with :scheme or :path")),
        ("CONNECT without :authority", pseudo(Some("CONNECT"), None, None, None), Malformed("without :authority")),
        ("CONNECT without a port", pseudo(Some("CONNECT"), None, a, None), Malformed("without a port")),
        // Section 8.3: where pseudo-header fields may be, and which.
        ("a pseudo-header field after a regular one",
            vec![(":method", "GET"), (":scheme", "https"), ("accept", "*/*"), (":authority", "a"), (":path", "/")],
            Malformed("after a regular field")),
        ("a pseudo-header field repeated", [get_path("/"), vec![(":path", "/")]].concat(), Malformed("repeated")),
        ("an undefined pseudo-header field", [vec![(":protocol", "websocket")], get_path("/")].concat(), Malformed("undefined pseudo-header")),
        (":status in a request", vec![(":status", "200")], Malformed(":status is a response pseudo-header")),
        ("a pseudo-header value with CR", vec![(":method", "GET\r")], Malformed("NUL, CR or LF in a field value")),
        // Section 8.2.1: names.
        ("an uppercase name", get_with(&[("Accept", "*/*")]), Malformed("uppercase")),
        ("an empty name", get_with(&[("", "v")]), Malformed("empty field name")),
        ("a space in a name", get_with(&[("x y", "v")]), Malformed("token set")),
        ("a NUL in a name", get_with(&[("x\0y", "v")]), Malformed("NUL, CR or LF in a field name")),
        ("a CR in a name", get_with(&[("x\ry", "v")]), Malformed("NUL, CR or LF in a field name")),
        ("a LF in a name", get_with(&[("x\ny", "v")]), Malformed("NUL, CR or LF in a field name")),
        ("a colon inside a name", get_with(&[("x:y", "v")]), Malformed("colon")),
        ("a non-ASCII name", get_with(&[("\u{e9}", "v")]), Malformed("token set")),
        ("a separator in a name", get_with(&[("x(y)", "v")]), Malformed("token set")),
        // Section 8.2.1: values.
        ("a CR in a value", get_with(&[("x", "a\rb")]), Malformed("NUL, CR or LF in a field value")),
        ("a LF in a value", get_with(&[("x", "a\nb")]), Malformed("NUL, CR or LF in a field value")),
        ("a NUL in a value", get_with(&[("x", "a\0b")]), Malformed("NUL, CR or LF in a field value")),
        ("a value starting with a space", get_with(&[("x", " a")]), Malformed("whitespace")),
        ("a value ending with a tab", get_with(&[("x", "a\t")]), Malformed("whitespace")),
        // Section 8.2.2: connection-specific fields and te.
        ("connection", get_with(&[("connection", "keep-alive")]), Malformed("connection-specific")),
        ("proxy-connection", get_with(&[("proxy-connection", "x")]), Malformed("connection-specific")),
        ("keep-alive", get_with(&[("keep-alive", "5")]), Malformed("connection-specific")),
        ("transfer-encoding", get_with(&[("transfer-encoding", "chunked")]), Malformed("connection-specific")),
        ("upgrade", get_with(&[("upgrade", "h2c")]), Malformed("connection-specific")),
        ("te: gzip", get_with(&[("te", "gzip")]), Malformed("te with")),
        ("te: trailers, gzip", get_with(&[("te", "trailers, gzip")]), Malformed("te with")),
        // Section 8.1.1 and RFC 9110 section 8.6: content-length.
        ("content-length not a number", get_with(&[("content-length", "abc")]), Malformed("not a number")),
        ("content-length negative", get_with(&[("content-length", "-1")]), Malformed("not a number")),
        ("content-length empty", get_with(&[("content-length", "")]), Malformed("not a number")),
        ("content-length past 64 bits", get_with(&[("content-length", "99999999999999999999")]), Malformed("too large to represent")),
        ("content-length values that differ", get_with(&[("content-length", "5"), ("content-length", "6")]), Malformed("differ")),
        ("a content-length list that differs", get_with(&[("content-length", "5, 6")]), Malformed("differ")),
    ]
}

#[test]
fn every_rule_of_section_8_in_a_table() {
    let limits = Limits::default();
    for (name, list, expect) in rows() {
        let result = request(9, to_fields(&list), &limits);
        match (&expect, &result) {
            (Expect::Valid, Ok(_)) => {}
            (
                Expect::Malformed(text),
                Err(RequestError::Malformed(Error::Stream {
                    stream: 9,
                    reason: Reason::PROTOCOL_ERROR,
                    why,
                })),
            ) if why.contains(text) => {}
            _ => panic!("{name}: expected {expect:?}, got {result:?}"),
        }
    }
}

#[test]
fn a_request_carries_what_its_fields_say() {
    let list = get_with(&[
        ("accept", "*/*"),
        ("cookie", "a=b"),
        ("x-one", "1"),
        ("cookie", "c=d"),
        ("content-length", "3"),
    ]);
    let head = request(1, to_fields(&list), &Limits::default()).unwrap();
    let request = head.request;
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.target, "/");
    assert_eq!(request.version, Version::Http2);
    // :authority became host; the cookies became one field; no pseudo-header is a field.
    assert_eq!(request.headers.get_str("host"), Some("example.com"));
    assert_eq!(
        request.headers.get_all("cookie").collect::<Vec<_>>(),
        [b"a=b; c=d"]
    );
    assert!(request
        .headers
        .iter()
        .all(|(name, _)| !name.starts_with(':')));
    assert_eq!(request.headers.len(), 5);
    assert_eq!(head.body.declared(), Some(3));

    let connect = [(":method", "CONNECT"), (":authority", "example.com:443")];
    let request = request_of(&connect);
    assert_eq!(request.method, Method::Connect);
    assert_eq!(request.target, "example.com:443");
}

fn request_of(list: &[(&str, &str)]) -> Request {
    request(1, to_fields(list), &Limits::default())
        .unwrap()
        .request
}

fn too_large(result: Result<RequestHead, RequestError>) -> Option<Limit> {
    match result {
        Err(RequestError::TooLarge { stream: 1, limit }) => Some(limit),
        _ => None,
    }
}

#[test]
fn limits_are_answered_with_a_status_not_a_reset() {
    let mut limits = Limits {
        max_headers: 2,
        ..Limits::default()
    };
    let three = get_with(&[("a", "1"), ("b", "2"), ("c", "3")]);
    let result = request(1, to_fields(&three), &limits);
    assert_eq!(too_large(result), Some(Limit::HeaderCount));
    assert_eq!(Limit::HeaderCount.status().as_u16(), 431);

    limits.max_headers = 100;
    // The four pseudo-header fields cost 42 + 44 + 53 + 38 = 177 octets with their overhead.
    limits.max_head_bytes = 176;
    let result = request(1, to_fields(&get_with(&[])), &limits);
    assert_eq!(too_large(result), Some(Limit::HeaderBytes));
    limits.max_head_bytes = 177;
    assert!(request(1, to_fields(&get_with(&[])), &limits).is_ok());

    limits.max_request_line = 4;
    let long = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", "/long"),
    ];
    let result = request(1, to_fields(&long), &limits);
    assert_eq!(too_large(result), Some(Limit::PathLength));
    assert_eq!(Limit::PathLength.status().as_u16(), 414);

    let limits = Limits {
        max_body: 10,
        ..Limits::default()
    };
    let declared = get_with(&[("content-length", "11")]);
    let result = request(1, to_fields(&declared), &limits);
    assert_eq!(too_large(result), Some(Limit::DeclaredBody));
    assert_eq!(Limit::DeclaredBody.status().as_u16(), 413);
}

#[test]
fn errors_say_what_to_answer() {
    let malformed = request(5, to_fields(&[(":status", "200")]), &Limits::default());
    let error = malformed.unwrap_err();
    assert_eq!(error.stream(), 5);
    assert_eq!(error.status().as_u16(), 400);
    assert!(error
        .to_string()
        .starts_with("malformed request: stream 5 error PROTOCOL_ERROR"));
    let too_large = RequestError::TooLarge {
        stream: 7,
        limit: Limit::ReceivedBody,
    };
    assert_eq!(too_large.stream(), 7);
    assert_eq!(too_large.status().as_u16(), 413);
    assert_eq!(
        too_large.to_string(),
        "the request on stream 7 sent more content than the body limit"
    );
}

#[test]
fn the_body_must_add_up_to_its_content_length() {
    let limits = Limits::default();
    let mut check = BodyCheck::new(3, Some(5), &limits).unwrap();
    assert!(check.data(2).is_ok());
    assert!(check.finish().is_err(), "2 of 5 octets is not the body");
    assert!(check.data(3).is_ok());
    assert!(check.finish().is_ok());
    assert_eq!(check.received(), 5);
    match check.data(1) {
        Err(RequestError::Malformed(Error::Stream { why, .. })) => {
            assert!(why.contains("more DATA than content-length"))
        }
        other => panic!("{other:?}"),
    }
    // Without a declaration any length adds up, up to the body limit.
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    let mut check = BodyCheck::new(3, None, &limits).unwrap();
    assert!(check.data(4).is_ok());
    assert_eq!(
        check.data(1),
        Err(RequestError::TooLarge {
            stream: 3,
            limit: Limit::ReceivedBody
        })
    );
    assert!(check.finish().is_ok());
    assert!(BodyCheck::new(3, Some(5), &limits).is_err());
}

#[test]
fn trailers_end_the_stream_and_carry_no_pseudo_header() {
    let limits = Limits::default();
    let fields = to_fields(&[("x-checksum", "abc")]);
    let trailers = trailers(1, fields.clone(), true, &limits).unwrap();
    assert_eq!(trailers.get_str("x-checksum"), Some("abc"));
    for (list, end_stream, text) in [
        (
            vec![("x-checksum", "abc")],
            false,
            "does not end the stream",
        ),
        (
            vec![(":path", "/")],
            true,
            "pseudo-header field in trailers",
        ),
        (vec![("X-Checksum", "abc")], true, "uppercase"),
        (
            vec![("transfer-encoding", "chunked")],
            true,
            "connection-specific",
        ),
        (vec![("x", "a\nb")], true, "NUL, CR or LF"),
    ] {
        match super::trailers(1, to_fields(&list), end_stream, &limits) {
            Err(RequestError::Malformed(Error::Stream { why, .. })) if why.contains(text) => {}
            other => panic!("{list:?}: {other:?}"),
        }
    }
    let small = Limits {
        max_trailer_bytes: 40,
        ..Limits::default()
    };
    assert_eq!(
        super::trailers(1, fields, true, &small).unwrap_err(),
        RequestError::TooLarge {
            stream: 1,
            limit: Limit::TrailerBytes
        }
    );
}

/// 1994-11-06 08:49:37 UTC, RFC 9110's example date.
fn example_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

fn as_text(head: &ResponseHead<'_>) -> Vec<(String, String)> {
    head.fields
        .iter()
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect()
}

#[test]
fn a_response_head_is_lowercase_without_connection_fields() {
    let response = Response::with_body(StatusCode::OK, "text/plain", "hello")
        .header("Connection", "close")
        .header("Transfer-Encoding", "chunked")
        .header("Keep-Alive", "5")
        .header("Upgrade", "h2c")
        .header("Proxy-Connection", "x")
        .header("TE", "trailers")
        .header("Date", "yesterday")
        .header("Content-Length", "99")
        .header("X-Bad", "a\r\nb")
        .header("X-Trim", " v ")
        .header("X Bad Name", "v")
        .header(":authority", "forged");
    let head = response_head(&response, false, example_date());
    let text = as_text(&head);
    let expected = [
        (":status", "200"),
        ("content-type", "text/plain"),
        ("x-trim", "v"),
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("content-length", "5"),
    ];
    assert_eq!(
        text,
        expected.map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec()
    );
    assert!(head.has_body);
}

#[test]
fn which_responses_carry_content() {
    let length_of = |head: &ResponseHead<'_>| {
        as_text(head)
            .into_iter()
            .find(|(name, _)| name == "content-length")
            .map(|(_, value)| value)
    };
    let ok = Response::text(StatusCode::OK, "hi");
    let head = response_head(&ok, true, example_date());
    assert!(!head.has_body, "HEAD: no DATA");
    assert_eq!(
        length_of(&head).as_deref(),
        Some("3"),
        "but the length it would have"
    );

    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
        let response = Response::new(status);
        let head = response_head(&response, false, example_date());
        assert!(!head.has_body, "{status}");
        assert_eq!(length_of(&head), None, "{status}");
    }
    let empty = Response::new(StatusCode::OK);
    let head = response_head(&empty, false, example_date());
    assert!(!head.has_body);
    assert_eq!(length_of(&head).as_deref(), Some("0"));

    let mut streamed = Response::new(StatusCode::OK);
    streamed.body = Body::Stream(Box::new(std::iter::empty()));
    let head = response_head(&streamed, false, example_date());
    assert!(head.has_body);
    assert_eq!(length_of(&head), None);

    let odd = Response::new(StatusCode(1000));
    assert_eq!(
        as_text(&response_head(&odd, false, example_date()))[0].1,
        "500"
    );
}

fn any_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            ":method",
            ":scheme",
            ":authority",
            ":path",
            ":status",
            ":protocol",
            ":",
            "",
            "host",
            "content-length",
            "cookie",
            "te",
            "connection",
            "accept",
            "Accept",
            "x-a",
        ])
        .prop_map(|name| name.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn any_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "GET",
            "CONNECT",
            "OPTIONS",
            "/",
            "*",
            "https",
            "example.com",
            "example.com:443",
            "trailers",
            "5",
            "5, 5",
            " x",
            "a\r\nb",
            "",
        ])
        .prop_map(|value| value.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn any_fields() -> impl Strategy<Value = Vec<(Bytes, Bytes)>> {
    prop::collection::vec(
        (any_name(), any_value()).prop_map(|(n, v)| (Bytes::from(n), Bytes::from(v))),
        0..16,
    )
}

/// Any field list, or (so that accepted requests are common too) a valid GET's pseudo-header
/// fields followed by any fields.
fn any_request_fields() -> impl Strategy<Value = Vec<(Bytes, Bytes)>> {
    prop_oneof![
        any_fields(),
        any_fields().prop_map(|rest| [to_fields(&get_with(&[])), rest].concat()),
    ]
}

proptest! {
    /// Any field list gets an answer, and an accepted request holds only fields HTTP/2 allows.
    #[test]
    fn no_field_list_panics(fields in any_request_fields(), end_stream in any::<bool>()) {
        let limits = Limits::default();
        let _ = trailers(1, fields.clone(), end_stream, &limits);
        if let Ok(head) = request(1, fields, &limits) {
            let request = head.request;
            prop_assert!(!request.target.is_empty());
            prop_assert!(request.headers.get_all("cookie").count() <= 1);
            for (name, value) in request.headers.iter() {
                prop_assert!(check_name(name.as_bytes()).is_ok(), "{name:?}");
                prop_assert!(!CONNECTION_SPECIFIC.contains(&name));
                prop_assert!(check_value(value).is_ok());
            }
        }
    }

    /// Whatever a handler puts in a response, the field list is one HTTP/2 allows.
    #[test]
    fn a_response_head_never_carries_forbidden_fields(
        status in any::<u16>(),
        handler_fields in prop::collection::vec(
            (
                prop_oneof![
                    "[ -~]{0,12}",
                    prop::sample::select(vec!["Connection", "TRANSFER-ENCODING", "Keep-Alive",
                        "upgrade", "Proxy-Connection", "TE", "Content-Length", "Date", "X-Ok"])
                        .prop_map(str::to_owned),
                    any::<String>(),
                ],
                prop::collection::vec(any::<u8>(), 0..16),
            ),
            0..12,
        ),
        body_len in prop::option::of(0usize..64),
        is_head in any::<bool>(),
    ) {
        let mut response = Response::new(StatusCode(status));
        for (name, value) in &handler_fields {
            response.headers.append(name, value);
        }
        if let Some(len) = body_len {
            response.body = Body::Bytes(Bytes::from(vec![b'x'; len]));
        }
        let head = response_head(&response, is_head, example_date());
        let (first, rest) = head.fields.split_first().expect(":status is always there");
        prop_assert_eq!(&first.0[..], b":status");
        prop_assert_eq!(first.1.len(), 3);
        for (name, value) in rest {
            let name = check_name(name);
            prop_assert!(name.is_ok(), "{name:?}");
            let name = name.unwrap_or_default();
            prop_assert!(!CONNECTION_SPECIFIC.contains(&name) && name != "te", "{name}");
            prop_assert!(check_value(value).is_ok());
        }
        prop_assert_eq!(rest.iter().filter(|(name, _)| &name[..] == b"date").count(), 1);
        prop_assert!(!(is_head && head.has_body));
    }
}
