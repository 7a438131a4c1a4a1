//! Tests of the parent module.

use super::*;

fn validators() -> Validators {
    Validators::new(42, UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789))
}

fn headers(fields: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in fields {
        headers.append(name, value);
    }
    headers
}

fn decide(fields: &[(&str, &str)]) -> Precondition {
    evaluate(&Method::Get, &headers(fields), &validators())
}

#[test]
fn etag_comes_from_mtime_and_size_and_date_drops_subseconds() {
    let v = validators();
    assert_eq!(v.etag, "\"6553f100.75bcd15-2a\"");
    assert_eq!(v.last_modified_http(), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_ne!(
        Validators::new(43, UNIX_EPOCH).etag,
        Validators::new(42, UNIX_EPOCH).etag
    );
}

#[test]
fn if_none_match_forms() {
    let etag = validators().etag;
    assert_eq!(
        decide(&[("if-none-match", &etag)]),
        Precondition::NotModified
    );
    assert_eq!(
        decide(&[("if-none-match", &format!("W/{etag}"))]),
        Precondition::NotModified
    );
    assert_eq!(
        decide(&[("if-none-match", &format!("\"a\", \"b,c\" ,{etag}"))]),
        Precondition::NotModified
    );
    assert_eq!(decide(&[("if-none-match", "*")]), Precondition::NotModified);
    assert_eq!(
        decide(&[("if-none-match", "\"other\"")]),
        Precondition::Proceed
    );
    assert_eq!(
        decide(&[("if-none-match", "garbage")]),
        Precondition::Proceed
    );
    assert_eq!(
        decide(&[("if-none-match", "\"unterminated")]),
        Precondition::Proceed
    );
    assert_eq!(
        evaluate(
            &Method::Post,
            &headers(&[("if-none-match", "*")]),
            &validators()
        ),
        Precondition::Failed
    );
}

#[test]
fn a_list_split_over_several_lines_is_read_whole() {
    let etag = validators().etag;
    assert_eq!(
        decide(&[("if-none-match", "\"a\""), ("if-none-match", &etag)]),
        Precondition::NotModified
    );
    assert_eq!(
        decide(&[("if-match", "\"a\""), ("if-match", &etag)]),
        Precondition::Proceed
    );
}

#[test]
fn if_modified_since_compares_whole_seconds() {
    let modified = "Tue, 14 Nov 2023 22:13:20 GMT";
    assert_eq!(
        decide(&[("if-modified-since", modified)]),
        Precondition::NotModified
    );
    assert_eq!(
        decide(&[("if-modified-since", "Wed, 15 Nov 2023 00:00:00 GMT")]),
        Precondition::NotModified
    );
    assert_eq!(
        decide(&[("if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT")]),
        Precondition::Proceed
    );
    assert_eq!(
        decide(&[("if-modified-since", "yesterday")]),
        Precondition::Proceed
    );
}

#[test]
fn if_none_match_takes_precedence_over_if_modified_since() {
    let modified = "Tue, 14 Nov 2023 22:13:20 GMT";
    assert_eq!(
        decide(&[
            ("if-none-match", "\"stale\""),
            ("if-modified-since", modified)
        ]),
        Precondition::Proceed
    );
}

#[test]
fn if_match_and_if_unmodified_since() {
    let etag = validators().etag;
    assert_eq!(decide(&[("if-match", &etag)]), Precondition::Proceed);
    assert_eq!(decide(&[("if-match", "*")]), Precondition::Proceed);
    assert_eq!(
        decide(&[("if-match", &format!("W/{etag}"))]),
        Precondition::Failed
    );
    assert_eq!(decide(&[("if-match", "\"other\"")]), Precondition::Failed);
    assert_eq!(
        decide(&[("if-unmodified-since", "Tue, 14 Nov 2023 22:13:19 GMT")]),
        Precondition::Failed
    );
    assert_eq!(
        decide(&[("if-unmodified-since", "Tue, 14 Nov 2023 22:13:20 GMT")]),
        Precondition::Proceed
    );
}

#[test]
fn if_range_needs_a_strong_current_validator() {
    let v = validators();
    assert!(if_range_allows(&v.etag, &v));
    assert!(!if_range_allows(&format!("W/{}", v.etag), &v));
    assert!(!if_range_allows("\"other\"", &v));
    assert!(if_range_allows("Tue, 14 Nov 2023 22:13:20 GMT", &v));
    assert!(!if_range_allows("Tue, 14 Nov 2023 22:13:21 GMT", &v));
    assert!(!if_range_allows("not a date", &v));
}
