//! The protocol crate stays sans-IO: this test fails when its manifest gains a dependency that
//! is not a codec helper, or when its source (tests aside) starts to use the file system, the
//! network, threads, processes, the environment or a clock.
//!
//! The rule is the crate's promise (its `lib.rs` says it): time comes in as `now`, bytes come in
//! and go out through the connection's calls, and the drivers do all I/O. Cargo enforces the
//! dependency half of it; this test enforces the standard-library half, which Cargo cannot see.

use std::fs;
use std::path::{Path, PathBuf};

/// The only crates the protocol may depend on: byte buffers, the HTTP/1.1 head grammar, and the
/// `Date` format.
const ALLOWED_DEPENDENCIES: [&str; 3] = ["bytes", "httparse", "httpdate"];

/// Uses that would give the crate I/O or a clock of its own.
const FORBIDDEN: [&str; 9] = [
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "std::env",
    "Instant::now",
    "SystemTime::now",
    "libc::",
    "extern crate",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_manifest_has_only_codec_dependencies() {
    let manifest = fs::read_to_string(crate_dir().join("Cargo.toml")).expect("Cargo.toml");
    let dependencies = dependency_names(&manifest, "[dependencies]");
    assert!(
        !dependencies.is_empty(),
        "found no [dependencies] section: the check would pass vacuously"
    );
    for name in &dependencies {
        assert!(
            ALLOWED_DEPENDENCIES.contains(&name.as_str()),
            "the protocol crate may depend only on {ALLOWED_DEPENDENCIES:?}, not on `{name}`"
        );
    }
    assert!(
        !manifest.contains("[target."),
        "no platform-specific dependencies either"
    );
}

#[test]
fn the_source_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    assert!(files.len() >= 5, "found only {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        // Test modules may make temporary files and read the clock to start a virtual one.
        if file.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        let text = fs::read_to_string(file).expect("readable source");
        for (number, line) in non_test_lines(&text) {
            let code = line.split("//").next().unwrap_or("");
            for pattern in FORBIDDEN {
                if code.contains(pattern) || grouped_std_import(code, pattern) {
                    offences.push(format!("{}:{number}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the protocol crate must stay sans-IO (no {FORBIDDEN:?}); found:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_catches_what_it_is_for() {
    // A check that cannot fail proves nothing: these lines must all be caught.
    for line in [
        "use std::fs::File;",
        "let now = Instant::now();",
        "use std::{io, net::TcpStream};",
        "std::thread::spawn(|| {});",
    ] {
        let caught = FORBIDDEN
            .iter()
            .any(|pattern| line.contains(pattern) || grouped_std_import(line, pattern));
        assert!(caught, "{line:?} slipped through");
    }
    assert_eq!(
        dependency_names("[dependencies]\nbytes = \"1\"\ntokio.workspace = true\n\n[dev-dependencies]\nproptest = \"1\"\n", "[dependencies]"),
        ["bytes", "tokio"]
    );
}

/// `use std::{io, fs}` names `std::fs` without writing it: catch the grouped form too.
fn grouped_std_import(code: &str, pattern: &str) -> bool {
    let Some(module) = pattern.strip_prefix("std::") else {
        return false;
    };
    let Some(group) = code.split("std::{").nth(1) else {
        return false;
    };
    group
        .split(['{', '}', ',', ' ', ':'])
        .any(|part| part == module)
}

/// The names listed in one `[section]` of a manifest.
fn dependency_names(manifest: &str, section: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|line| line.trim() != section)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split(['=', '.']).next())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Every line before an inline `#[cfg(test)] mod tests` block, numbered from 1.
fn non_test_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|pair| pair[0].trim() == "#[cfg(test)]" && pair[1].trim() == "mod tests {")
        .unwrap_or(lines.len());
    lines
        .into_iter()
        .take(end)
        .enumerate()
        .map(|(i, line)| (i + 1, line))
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}
