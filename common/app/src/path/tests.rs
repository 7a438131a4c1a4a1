//! Tests of the parent module.

use super::*;

#[test]
fn plain_and_encoded_segments_decode() {
    assert_eq!(decode_segment("hello").unwrap(), "hello");
    assert!(matches!(decode_segment("hello").unwrap(), Cow::Borrowed(_)));
    assert_eq!(decode_segment("a%20b").unwrap(), "a b");
    assert_eq!(decode_segment("caf%C3%A9").unwrap(), "café");
    assert_eq!(decode_segment("a%2Fb").unwrap(), "a/b");
}

#[test]
fn bad_encoding_is_refused() {
    assert_eq!(decode_segment("%"), Err(PathError::BadPercentEncoding));
    assert_eq!(decode_segment("a%4"), Err(PathError::BadPercentEncoding));
    assert_eq!(decode_segment("%zz"), Err(PathError::BadPercentEncoding));
    assert_eq!(decode_segment("%FF"), Err(PathError::NotUtf8));
}

#[test]
fn every_traversal_form_is_refused() {
    for path in [
        "/..",
        "/../Cargo.toml",
        "/a/../../x",
        "/%2e%2e/x",
        "/%2E%2E/x",
        "/a/%2E%2E/%2e%2e/x",
        "/.%2e/x",
        "/./x",
        "/%2e/x",
    ] {
        assert_eq!(check_path(path), Err(PathError::DotSegment), "{path}");
    }
    assert_eq!(check_path("/a%00b"), Err(PathError::Nul));
    assert_eq!(check_path("/a\\..\\b"), Err(PathError::Backslash));
    assert_eq!(check_path("/a%5c..%5cb"), Err(PathError::Backslash));
    assert_eq!(check_path("*"), Err(PathError::NotAbsolute));
    assert_eq!(check_path("/a b"), Err(PathError::ControlCharacter));
    assert_eq!(check_path("/a\r\nx: y"), Err(PathError::ControlCharacter));
}

#[test]
fn ordinary_paths_pass() {
    for path in [
        "/",
        "/index.html",
        "/chapters/",
        "/a..b/c.d",
        "/hello/a%2Fb",
        "/.well",
    ] {
        assert!(check_path(path).is_ok(), "{path}");
    }
}

#[test]
fn plain_paths_are_borrowed_segment_by_segment() {
    let checked = check_path("/chapters/index.html").expect("ordinary path");
    assert!(!checked.is_encoded());
    let segments: Vec<Cow<'_, str>> = checked.segments().collect();
    assert_eq!(segments, ["chapters", "index.html"]);
    assert!(segments
        .iter()
        .all(|segment| matches!(segment, Cow::Borrowed(_))));
    let trailing: Vec<Cow<'_, str>> = check_path("/a//b/").expect("ok").segments().collect();
    assert_eq!(trailing, ["a", "", "b", ""]);
}

#[test]
fn encoded_paths_are_decoded_segment_by_segment() {
    let checked = check_path("/caf%C3%A9/a%2Fb/%7Euser").expect("valid encoding");
    assert!(checked.is_encoded());
    assert_eq!(checked.as_str(), "/caf%C3%A9/a%2Fb/%7Euser");
    let segments: Vec<Cow<'_, str>> = checked.segments().collect();
    // The encoded slash stays inside its segment: splitting came before decoding.
    assert_eq!(segments, ["café", "a/b", "~user"]);
}

/// The plain definition of the rules, segment by segment, that `check_path`'s one pass over
/// the bytes must agree with.
fn accepted_by_the_rules(path: &str) -> Option<Vec<String>> {
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    raw_segments(path)
        .map(|raw| {
            let decoded = decode_segment(raw).ok()?;
            check_segment(&decoded).ok()?;
            Some(decoded.into_owned())
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

    #[test]
    fn check_path_agrees_with_the_rules(path in "/?[a./%2eEfF05cC\\\\ \x00~]{0,12}") {
        let checked = check_path(&path).ok();
        let expected = accepted_by_the_rules(&path);
        proptest::prop_assert_eq!(checked.is_some(), expected.is_some(), "{:?}", path);
        if let (Some(checked), Some(expected)) = (checked, expected) {
            let segments: Vec<String> =
                checked.segments().map(Cow::into_owned).collect();
            proptest::prop_assert_eq!(segments, expected);
        }
    }
}
