//! Where the test data from other projects is: the HPACK stories (hpack-test-case) and the
//! HTTP/2 frame cases (http2-frame-test-case), kept outside the repository in the workplace's
//! `shared/testdata`, and the one reader of an HPACK story. Used by the unit tests (as `h2::testdata`) and by
//! `benches/hpack.rs`, both including this file by path: it reads files, so it stays out of
//! `src/`, which `tests/purity.rs` keeps free of I/O.
//!
//! Looked for beside the checkout (`../shared/testdata`, the layout of a working copy) and at
//! `/work/shared/testdata` (where the workplace keeps it, for a clone made elsewhere, such as
//! a CI run's). Missing data is a failure that names every place looked at, never a silent
//! pass.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The directory `name` of the shared test data (`hpack-test-case`, `http2-frame-test-case`).
pub fn dir(name: &str) -> PathBuf {
    let candidates = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
        PathBuf::from("/work/shared/testdata"),
    ];
    for candidate in &candidates {
        let dir = candidate.join(name);
        if dir.is_dir() {
            return dir;
        }
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|candidate| candidate.join(name).display().to_string())
        .collect();
    panic!(
        "the test data directory {name} is missing: looked in {}",
        looked.join(" and ")
    );
}

/// One case of an hpack-test-case story: a header block as one implementation encoded it.
pub struct StoryCase {
    pub seqno: usize,
    /// The table size acknowledged before this block, if the story changes it.
    pub header_table_size: Option<usize>,
    /// The encoded block; the raw-data stories have none.
    pub wire: Option<Vec<u8>>,
    /// The fields the block carries, in order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The story files of a directory, in name order; at least one.
pub fn story_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no story in {}", dir.display());
    files
}

/// The cases of one story file.
pub fn load_story(path: &Path) -> Vec<StoryCase> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let story: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
    let cases = story["cases"].as_array().expect("a story has cases");
    cases
        .iter()
        .enumerate()
        .map(|(position, case)| StoryCase {
            seqno: case["seqno"].as_u64().map_or(position, |n| n as usize),
            header_table_size: case["header_table_size"].as_u64().map(|n| n as usize),
            wire: case["wire"].as_str().map(hex),
            headers: case["headers"]
                .as_array()
                .expect("a case has headers")
                .iter()
                .flat_map(|header| header.as_object().expect("a header is an object"))
                .map(|(name, value)| {
                    let value = value.as_str().expect("a header value is a string");
                    (name.as_bytes().to_vec(), value.as_bytes().to_vec())
                })
                .collect(),
        })
        .collect()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
