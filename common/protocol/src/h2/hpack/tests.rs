//! The hpack-test-case corpus (../shared/testdata/hpack-test-case): every story of every
//! implementation's directory decoded in order and compared with its headers, then re-encoded
//! by our encoder and decoded again; the raw stories (which have no wire) encoded and decoded.
//!
//! A story is one connection: its cases share one compression context, so each story gets one
//! decoder (and one encoder) and its cases go through them in order. `header_table_size`, when
//! a case has it, is the SETTINGS_HEADER_TABLE_SIZE acknowledged just before that case.

use crate::h2::testdata::load_story as load;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// The implementations whose encoders produced the corpus; each must be there.
const IMPLEMENTATIONS: [&str; 5] = [
    "go-hpack",
    "nghttp2",
    "nghttp2-change-table-size",
    "python-hpack",
    "swift-nio-hpack-huffman",
];

fn corpus() -> PathBuf {
    crate::h2::testdata::dir("hpack-test-case")
}

/// The story files of one directory, in name order; fails if there are none.
fn stories(directory: &str) -> Vec<PathBuf> {
    let dir = corpus().join(directory);
    assert!(
        dir.is_dir(),
        "the story directory is missing: {}",
        dir.display()
    );
    crate::h2::testdata::story_files(&dir)
}

fn plain(fields: &[Field]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields
        .iter()
        .map(|field| (field.name.to_vec(), field.value.to_vec()))
        .collect()
}

/// Decodes a story's wire, case by case, with one decoder; returns the cases decoded.
fn decode_story(path: &Path) -> usize {
    let cases = load(path);
    let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
    for case in &cases {
        let wire = case
            .wire
            .as_ref()
            .expect("an implementation's story has wire");
        if let Some(size) = case.header_table_size {
            decoder.set_max_table_size(size);
        }
        let mut fields = Vec::new();
        if let Err(error) = decoder.decode(wire, usize::MAX, &mut fields) {
            panic!("{} case {}: {error}", path.display(), case.seqno);
        }
        assert!(
            plain(&fields) == case.headers,
            "{} case {}: the fields differ",
            path.display(),
            case.seqno
        );
    }
    cases.len()
}

/// Encodes a story's headers with our encoder and decodes them with our decoder, case by
/// case; returns the octets our encoder wrote.
fn round_trip_story(path: &Path, huffman: Huffman) -> usize {
    let mut encoder = Encoder::new();
    encoder.set_huffman(huffman);
    let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
    let mut written = 0;
    for case in load(path) {
        if let Some(size) = case.header_table_size {
            encoder.set_peer_max_table_size(size);
            decoder.set_max_table_size(size);
        }
        let mut wire = Vec::new();
        encoder.encode(
            case.headers
                .iter()
                .map(|(name, value)| (name.as_slice(), value.as_slice())),
            &mut wire,
        );
        written += wire.len();
        let mut fields = Vec::new();
        if let Err(error) = decoder.decode(&wire, usize::MAX, &mut fields) {
            panic!("{} case {} re-encoded: {error}", path.display(), case.seqno);
        }
        assert!(
            plain(&fields) == case.headers,
            "{} case {} re-encoded: the fields differ",
            path.display(),
            case.seqno
        );
        assert!(encoder.table().entries().eq(decoder.table().entries()));
    }
    written
}

#[test]
fn every_implementations_stories_decode_to_their_headers() {
    let mut directories: Vec<String> = fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "raw-data")
        .collect();
    directories.sort();
    for expected in IMPLEMENTATIONS {
        assert!(
            directories.iter().any(|name| name == expected),
            "the {expected} directory of hpack-test-case is missing from {}",
            corpus().display()
        );
    }
    let mut cases = 0;
    for directory in &directories {
        for story in stories(directory) {
            cases += decode_story(&story);
        }
    }
    // 5 directories of 31 or 32 stories: thousands of blocks, not a vacuous pass.
    assert!(cases > 10_000, "only {cases} cases decoded");
}

#[test]
fn every_story_round_trips_through_our_encoder() {
    let mut directories: Vec<&str> = IMPLEMENTATIONS.to_vec();
    directories.push("raw-data");
    for directory in directories {
        let mut ours = 0;
        for story in stories(directory) {
            ours += round_trip_story(&story, Huffman::WhenShorter);
        }
        assert!(ours > 0);
    }
}

#[test]
fn raw_stories_round_trip_with_and_without_huffman() {
    for huffman in [Huffman::Never, Huffman::Always] {
        for story in stories("raw-data") {
            round_trip_story(&story, huffman);
        }
    }
}

#[test]
fn our_encoder_compresses_about_as_well_as_the_others() {
    // Not a correctness rule, a guard against an indexing policy gone wrong: over the whole
    // corpus our blocks are within 10% of nghttp2's (which indexes much as we do).
    let mut theirs = 0;
    let mut ours = 0;
    for story in stories("nghttp2") {
        theirs += load(&story)
            .iter()
            .map(|case| case.wire.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
        ours += round_trip_story(&story, Huffman::WhenShorter);
    }
    assert!(
        ours * 10 <= theirs * 11,
        "our encoding is {ours} octets, nghttp2's {theirs}"
    );
}

#[test]
#[should_panic(expected = "the test data directory no-such-corpus is missing: looked in")]
fn missing_test_data_fails_and_says_where() {
    crate::h2::testdata::dir("no-such-corpus");
}
