//! The parser on whole bodies, on every split of a sample body (proptest), and on the ways a
//! body can be wrong.

use proptest::prelude::*;

use super::*;

/// What a parse produced: each part's head and content, and whether it ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Collected {
    parts: Vec<(PartHead, Vec<u8>, bool)>,
}

impl Parts for Collected {
    type Error = MultipartError;
    fn begin(&mut self, head: PartHead) -> Result<(), MultipartError> {
        self.parts.push((head, Vec::new(), false));
        Ok(())
    }
    fn data(&mut self, bytes: &[u8]) -> Result<(), MultipartError> {
        // `begin` came first: the parser never sends data outside a part.
        self.parts
            .last_mut()
            .expect("a part")
            .1
            .extend_from_slice(bytes);
        Ok(())
    }
    fn end(&mut self) -> Result<(), MultipartError> {
        self.parts.last_mut().expect("a part").2 = true;
        Ok(())
    }
}

/// Parses `body` fed in the pieces that `cuts` (sorted offsets) make.
fn parse_split(boundary: &str, body: &[u8], cuts: &[usize]) -> Result<Collected, MultipartError> {
    let mut parser = Parser::new(boundary);
    let mut collected = Collected::default();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        let cut = cut.clamp(from, body.len());
        parser.feed(&body[from..cut], &mut collected)?;
        from = cut;
    }
    parser.finish()?;
    Ok(collected)
}

fn parse(boundary: &str, body: &[u8]) -> Result<Collected, MultipartError> {
    parse_split(boundary, body, &[])
}

/// A body as curl sends it (`-F name=Ada -F file=@notes.txt`), with a preamble and an
/// epilogue, and content that holds CRs, LFs, dashes and most of the boundary.
const SAMPLE: &[u8] = b"this preamble is ignored\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"name\"\r\n\
\r\n\
Ada\r\n\
--XyZ   \r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\
Content-Type: text/plain\r\n\
\r\n\
line one\r\n--Xy not the end\r\n\r\n--\r\r\n\
--XyZ--\r\n\
and an epilogue, also ignored\r\n";

fn sample_expected() -> Collected {
    Collected {
        parts: vec![
            (
                PartHead {
                    name: "name".into(),
                    filename: None,
                    content_type: None,
                },
                b"Ada".to_vec(),
                true,
            ),
            (
                PartHead {
                    name: "file".into(),
                    filename: Some("notes.txt".into()),
                    content_type: Some("text/plain".into()),
                },
                b"line one\r\n--Xy not the end\r\n\r\n--\r".to_vec(),
                true,
            ),
        ],
    }
}

#[test]
fn the_sample_parses_whole() {
    assert_eq!(parse("XyZ", SAMPLE), Ok(sample_expected()));
}

#[test]
fn the_sample_parses_split_at_every_single_point_and_byte_by_byte() {
    for cut in 0..=SAMPLE.len() {
        assert_eq!(
            parse_split("XyZ", SAMPLE, &[cut]),
            Ok(sample_expected()),
            "cut at {cut}"
        );
    }
    let every: Vec<usize> = (0..SAMPLE.len()).collect();
    assert_eq!(parse_split("XyZ", SAMPLE, &every), Ok(sample_expected()));
}

proptest! {
    #[test]
    fn the_sample_parses_the_same_for_any_split(mut cuts in proptest::collection::vec(0..SAMPLE.len(), 0..12)) {
        cuts.sort_unstable();
        prop_assert_eq!(parse_split("XyZ", SAMPLE, &cuts), Ok(sample_expected()));
    }

    #[test]
    fn any_content_round_trips_for_any_split(
        content in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'b'), any::<u8>()], 0..300),
        mut cuts in proptest::collection::vec(0..400usize, 0..8),
    ) {
        // A boundary the content cannot hold: it has a byte outside the content's alphabet
        // only if the content lacks it, so check and skip the rare clash.
        let boundary = "b-b";
        let delimiter = b"\r\n--b-b";
        prop_assume!(!content.windows(delimiter.len()).any(|w| w == delimiter));
        prop_assume!(!content.starts_with(b"--b-b"));
        let mut body = b"--b-b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n".to_vec();
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\r\n--b-b--");
        cuts.sort_unstable();
        let parsed = parse_split(boundary, &body, &cuts).expect("a valid body");
        prop_assert_eq!(parsed.parts.len(), 1);
        prop_assert_eq!(&parsed.parts[0].1, &content);
    }

    #[test]
    fn any_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), cut in 0..200usize) {
        let _ = parse_split("b", &body, &[cut]);
    }
}

#[test]
fn the_boundary_comes_from_the_content_type() {
    assert_eq!(
        boundary("multipart/form-data; boundary=abc"),
        Ok("abc".into())
    );
    assert_eq!(
        boundary("Multipart/Form-Data; charset=x; BOUNDARY=\"a b:c\""),
        Ok("a b:c".into())
    );
    assert_eq!(
        boundary("text/plain; boundary=a"),
        Err(MultipartError::NotFormData)
    );
    assert_eq!(
        boundary("multipart/form-data"),
        Err(MultipartError::BadBoundary)
    );
    assert_eq!(
        boundary("multipart/form-data; boundary="),
        Err(MultipartError::BadBoundary)
    );
    assert_eq!(
        boundary("multipart/form-data; boundary=\"ab"),
        Err(MultipartError::BadBoundary)
    );
    assert_eq!(
        boundary("multipart/form-data; boundary=\"ab \""),
        Err(MultipartError::BadBoundary)
    );
    assert_eq!(
        boundary("multipart/form-data; boundary=a\u{e9}"),
        Err(MultipartError::BadBoundary)
    );
    let long = "x".repeat(MAX_BOUNDARY + 1);
    assert_eq!(
        boundary(&format!("multipart/form-data; boundary={long}")),
        Err(MultipartError::BadBoundary)
    );
    assert!(boundary(&format!("multipart/form-data; boundary={}", &long[1..])).is_ok());
}

#[test]
fn a_body_without_its_close_delimiter_is_truncated() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhalf of it";
    assert_eq!(parse("b", body), Err(MultipartError::Truncated));
    assert_eq!(parse("b", &body[..10]), Err(MultipartError::Truncated));
    assert_eq!(
        parse("b", b"no boundary here at all"),
        Err(MultipartError::NoParts)
    );
    assert_eq!(parse("b", b""), Err(MultipartError::NoParts));
}

#[test]
fn a_boundary_other_than_the_declared_one_is_no_part() {
    let body = b"--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--other--";
    assert_eq!(parse("b", body), Err(MultipartError::NoParts));
}

#[test]
fn a_delimiter_line_with_trailing_garbage_is_refused() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--bogus\r\n";
    assert_eq!(parse("b", body), Err(MultipartError::BadDelimiterLine));
    assert_eq!(parse("b", b"--b\n"), Err(MultipartError::BadDelimiterLine));
    assert_eq!(parse("b", b"--b-x"), Err(MultipartError::BadDelimiterLine));
}

#[test]
fn parts_need_a_form_data_disposition_with_a_name() {
    let no_name = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--";
    assert_eq!(parse("b", no_name), Err(MultipartError::NoFieldName));
    let attachment = b"--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--";
    assert_eq!(parse("b", attachment), Err(MultipartError::NoFieldName));
    let none = b"--b\r\n\r\nx\r\n--b--";
    assert_eq!(parse("b", none), Err(MultipartError::NoFieldName));
    let bad_line = b"--b\r\nno colon here\r\n\r\nx\r\n--b--";
    assert_eq!(parse("b", bad_line), Err(MultipartError::BadPartHeader));
}

#[test]
fn quoted_names_keep_their_escapes_and_tokens_work_too() {
    let body = b"--b\r\ncontent-disposition: FORM-DATA; name=plain; filename=\"a \\\"q\\\"; b.txt\"\r\n\r\n\r\n--b--";
    let parsed = parse("b", body).expect("parses");
    assert_eq!(parsed.parts[0].0.name, "plain");
    assert_eq!(
        parsed.parts[0].0.filename.as_deref(),
        Some("a \"q\"; b.txt")
    );
    assert_eq!(parsed.parts[0].1, b"");
}

#[test]
fn an_oversized_part_head_is_refused_before_it_ends() {
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"".to_vec();
    body.extend(std::iter::repeat_n(b'n', MAX_PART_HEAD));
    let mut parser = Parser::new("b");
    let mut collected = Collected::default();
    assert_eq!(
        parser.feed(&body, &mut collected),
        Err(MultipartError::PartHeadTooLarge)
    );
}

#[test]
fn more_than_max_parts_is_refused() {
    let part = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n";
    let body = [part.repeat(MAX_PARTS + 1), b"--b--".to_vec()].concat();
    assert_eq!(parse("b", &body), Err(MultipartError::TooManyParts));
    let body = [part.repeat(MAX_PARTS), b"--b--".to_vec()].concat();
    assert_eq!(parse("b", &body).map(|c| c.parts.len()), Ok(MAX_PARTS));
}

#[test]
fn a_large_content_is_passed_on_without_being_held() {
    let mut parser = Parser::new("b");
    let mut collected = Collected::default();
    parser
        .feed(
            b"--b\r\nContent-Disposition: form-data; name=f\r\n\r\n",
            &mut collected,
        )
        .expect("head");
    let piece = vec![b'z'; 64 * 1024];
    for _ in 0..16 {
        parser.feed(&piece, &mut collected).expect("content");
        assert!(parser.held.len() < 8, "held {}", parser.held.len());
    }
    parser.feed(b"\r\n--b--", &mut collected).expect("end");
    parser.finish().expect("complete");
    assert_eq!(collected.parts[0].1.len(), 16 * 64 * 1024);
}
