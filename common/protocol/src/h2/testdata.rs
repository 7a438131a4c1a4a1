//! Where the test data from other projects is: the HPACK stories (hpack-test-case) and the
//! HTTP/2 frame cases (http2-frame-test-case), kept outside the repository in the workplace's
//! `shared/testdata`. Used by the unit tests and by `benches/hpack.rs` (which includes this
//! file by path).
//!
//! Looked for beside the checkout (`../shared/testdata`, the layout of a working copy) and at
//! `/work/shared/testdata` (where the workplace keeps it, for a clone made elsewhere, such as
//! a CI run's). Missing data is a failure that names every place looked at, never a silent
//! pass.

use std::path::{Path, PathBuf};

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
