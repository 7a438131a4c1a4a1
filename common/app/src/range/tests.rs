//! Tests of the parent module.

use super::*;
use RangeRequest::*;

#[test]
fn the_three_forms() {
    assert_eq!(
        parse_range("bytes=0-499", 1000),
        Partial { start: 0, len: 500 }
    );
    assert_eq!(
        parse_range("bytes=500-", 1000),
        Partial {
            start: 500,
            len: 500
        }
    );
    assert_eq!(
        parse_range("bytes=-300", 1000),
        Partial {
            start: 700,
            len: 300
        }
    );
    assert_eq!(
        parse_range("bytes=999-999", 1000),
        Partial { start: 999, len: 1 }
    );
}

#[test]
fn ranges_past_the_end_are_clamped() {
    assert_eq!(
        parse_range("bytes=900-5000", 1000),
        Partial {
            start: 900,
            len: 100
        }
    );
    assert_eq!(
        parse_range("bytes=-5000", 1000),
        Partial {
            start: 0,
            len: 1000
        }
    );
    assert_eq!(
        parse_range("bytes=1-99999999999999999999999", 10),
        Partial { start: 1, len: 9 }
    );
}

#[test]
fn unsatisfiable_ranges() {
    assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
    assert_eq!(parse_range("bytes=1000-2000", 1000), Unsatisfiable);
    assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
    assert_eq!(
        parse_range("bytes=99999999999999999999999-", 10),
        Unsatisfiable
    );
}

#[test]
fn ignored_fields() {
    for value in [
        "bytes=0-1,5-6",
        "bytes=0-1, -5",
        "items=0-1",
        "bytes=5-1",
        "bytes=abc",
        "bytes=1-x",
        "bytes=--1",
        "bytes=",
        "bytes",
        "bytes=+1-2",
    ] {
        assert_eq!(parse_range(value, 1000), Full, "{value}");
    }
    assert_eq!(parse_range("bytes=0-1", 0), Full);
}

#[test]
fn unit_case_and_list_whitespace_are_tolerated() {
    assert_eq!(
        parse_range("Bytes= 0-1 ,", 10),
        Partial { start: 0, len: 2 }
    );
}

#[test]
fn content_range_names_first_and_last_byte() {
    assert_eq!(
        RangeRequest::content_range(0, 500, 1000),
        "bytes 0-499/1000"
    );
    assert_eq!(
        RangeRequest::content_range(999, 1, 1000),
        "bytes 999-999/1000"
    );
}
