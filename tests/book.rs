//! The book (book/, an mdBook) cannot drift from the code: this test fails when it would.
//!
//! The book shows code only by including it from the real sources with named anchors
//! (`{{#include ../../common/protocol/src/http1/head.rs:body_framing}}` against
//! `// ANCHOR: body_framing` ... `// ANCHOR_END: body_framing`). mdBook itself is lenient about
//! broken includes: a missing file is logged but the build still exits 0, and a missing anchor
//! silently includes nothing. So two tests:
//!
//! - [`includes_links_and_summary_resolve`] reads every chapter and checks, without mdBook, that
//!   every include names an existing file and an anchor that file opens and closes, that no
//!   include uses line numbers (they break on any edit), that every chapter SUMMARY.md links
//!   exists, and that relative links and images point at files that exist. It lists every problem
//!   at once, with file and line.
//! - [`mdbook_builds_cleanly`] runs the real `mdbook build` into a temporary directory and fails
//!   on any warning or error it prints. Without mdbook on `PATH` it says it skipped the check,
//!   and fails instead when `CI=true`, where a missing tool is a broken environment.

use stagekit::scratch::TempDir;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The book's root directory (the one holding book.toml).
fn book_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book")
}

/// The book's sources (book.toml's `src`).
fn book_src() -> PathBuf {
    book_root().join("src")
}

/// Something wrong in a chapter, located well enough to fix it.
struct Problem {
    file: PathBuf,
    line: usize,
    message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let shown = self.file.strip_prefix(root).unwrap_or(&self.file);
        write!(f, "{}:{}: {}", shown.display(), self.line, self.message)
    }
}

#[test]
fn includes_links_and_summary_resolve() {
    let src = book_src();
    let chapters = markdown_files(&src).expect("book/src is readable");
    assert!(
        chapters.iter().any(|path| path.ends_with("SUMMARY.md")),
        "book/src/SUMMARY.md is missing"
    );

    let mut problems = Vec::new();
    let mut includes_checked = 0;
    for chapter in &chapters {
        let text = match fs::read_to_string(chapter) {
            Ok(text) => text,
            Err(error) => {
                problems.push(Problem {
                    file: chapter.clone(),
                    line: 0,
                    message: format!("cannot read: {error}"),
                });
                continue;
            }
        };
        for include in find_includes(&text) {
            includes_checked += 1;
            if let Err(message) = check_include(chapter, &include) {
                problems.push(Problem {
                    file: chapter.clone(),
                    line: include.line,
                    message,
                });
            }
        }
        // SUMMARY.md's links are chapters, checked (more strictly) by `check_summary`.
        let links = if chapter.ends_with("SUMMARY.md") {
            Vec::new()
        } else {
            find_local_links(&text)
        };
        for link in links {
            if let Err(message) = check_local_link(chapter, &link) {
                problems.push(Problem {
                    file: chapter.clone(),
                    line: link.line,
                    message,
                });
            }
        }
    }
    problems.extend(check_summary(&src));

    let report: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "the book has {} broken reference(s):\n  {}",
        report.len(),
        report.join("\n  ")
    );
    // The chapters include real code; finding none means the scanner, not the book, is broken.
    assert!(
        includes_checked > 0,
        "found no {{{{#include}}}} in the book: is the scanner broken?"
    );
}

#[test]
fn mdbook_builds_cleanly() {
    match Command::new("mdbook").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(_) | Err(_) => {
            let message = "mdbook is not on PATH: skipped building the book \
                           (install it with `cargo install --locked mdbook`)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{message}; under CI=true that is a failure");
            }
            eprintln!("{message}");
            return;
        }
    }

    let out = TempDir::new("book");
    let output = Command::new("mdbook")
        .arg("build")
        .arg(book_root())
        .arg("-d")
        .arg(out.path())
        .output()
        .expect("mdbook ran a moment ago");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "mdbook build failed:\n{log}");
    // mdBook logs a missing include as an ERROR and still exits 0, so read its log too.
    let complaints: Vec<&str> = log
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            line.starts_with("ERROR") || line.starts_with("WARN")
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "mdbook build is not clean:\n{}",
        complaints.join("\n")
    );

    assert!(
        out.path().join("index.html").is_file(),
        "mdbook wrote no index.html into {}",
        out.path().display()
    );
    // A directive that reaches the HTML was not expanded (an unknown directive, or a typo).
    let mut unexpanded = Vec::new();
    for page in files_with_extension(out.path(), "html").expect("the built book is readable") {
        let html = fs::read_to_string(&page).unwrap_or_default();
        if html.contains("{{#include") || html.contains("{{#rustdoc_include") {
            unexpanded.push(page.display().to_string());
        }
    }
    assert!(
        unexpanded.is_empty(),
        "pages still hold an {{{{#include}}}}: {unexpanded:?}"
    );
}

/// One `{{#include ...}}` (or `{{#rustdoc_include ...}}`) found in a chapter.
#[derive(Debug, PartialEq, Eq)]
struct Include {
    line: usize,
    /// The path as written, relative to the chapter's directory.
    path: String,
    /// What follows the path's first `:`, if anything: an anchor name or a line range.
    selector: Option<String>,
}

/// Finds include directives the way mdBook's link scanner does: `{{`, optional whitespace, `#`,
/// the directive name, whitespace, the argument up to `}}`. An escaped `\{{#include ...}}` is
/// shown literally by mdBook, so it is skipped here too.
fn find_includes(text: &str) -> Vec<Include> {
    let mut includes = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let inside = after[..end].trim_start();
            rest = &after[end + 2..];
            if escaped {
                continue;
            }
            let Some(directive) = inside.strip_prefix('#') else {
                continue;
            };
            let mut words = directive.split_whitespace();
            let (Some(kind), Some(argument)) = (words.next(), words.next()) else {
                continue;
            };
            if kind != "include" && kind != "rustdoc_include" {
                continue;
            }
            let (path, selector) = match argument.split_once(':') {
                Some((path, selector)) => (path, Some(selector.to_owned())),
                None => (argument, None),
            };
            includes.push(Include {
                line: index + 1,
                path: path.to_owned(),
                selector,
            });
        }
    }
    includes
}

/// Checks that an include names an existing file and, if it names an anchor, that the file
/// opens and closes that anchor.
fn check_include(chapter: &Path, include: &Include) -> Result<(), String> {
    let directory = chapter.parent().unwrap_or(Path::new("."));
    let target = directory.join(&include.path);
    let source = fs::read_to_string(&target)
        .map_err(|error| format!("include {}: cannot read it: {error}", include.path))?;
    let Some(selector) = include.selector.as_deref() else {
        return Ok(());
    };
    // mdBook reads `:N`, `:N:M`, `::M` and `:N:` as line numbers; anything else is an anchor.
    let first = selector.split(':').next().unwrap_or("");
    if first.is_empty() || first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "include {}:{selector} uses line numbers, which break on any edit: \
             mark the code with // ANCHOR: name and include the name",
            include.path
        ));
    }
    let anchor = selector;
    let start = anchor_lines(&source, "ANCHOR:", anchor);
    let end = anchor_lines(&source, "ANCHOR_END:", anchor);
    match (start.first(), end.first()) {
        (None, _) => Err(format!(
            "include {}:{anchor}: the file has no `ANCHOR: {anchor}`",
            include.path
        )),
        (Some(_), None) => Err(format!(
            "include {}:{anchor}: the file has `ANCHOR: {anchor}` but no `ANCHOR_END: {anchor}`",
            include.path
        )),
        (Some(&opened), Some(&closed)) if closed < opened => Err(format!(
            "include {}:{anchor}: `ANCHOR_END: {anchor}` (line {closed}) comes before \
             `ANCHOR: {anchor}` (line {opened})",
            include.path
        )),
        (Some(_), Some(_)) if start.len() > 1 || end.len() > 1 => Err(format!(
            "include {}:{anchor}: the anchor is marked more than once (lines {start:?} and {end:?})",
            include.path
        )),
        (Some(_), Some(_)) => Ok(()),
    }
}

/// The (1-based) lines where `marker` (`ANCHOR:` or `ANCHOR_END:`) is followed by exactly
/// `name`. Like mdBook, whitespace after the colon is allowed and the name is a run of word
/// characters and `-`, so `ANCHOR: body` does not count as `ANCHOR: body_framing`.
fn anchor_lines(source: &str, marker: &str, name: &str) -> Vec<usize> {
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.match_indices(marker).any(|(at, _)| {
                let after = line[at + marker.len()..].trim_start();
                let found: String = after.chars().take_while(|&c| is_name_char(c)).collect();
                found == name
            })
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// A relative link or image target in a chapter's prose.
#[derive(Debug, PartialEq, Eq)]
struct LocalLink {
    line: usize,
    target: String,
}

/// Finds `[text](target)` and `![alt](target)` targets outside fenced code blocks, leaving out
/// web links, mail links, fragments of the same page and empty draft links.
fn find_local_links(text: &str) -> Vec<LocalLink> {
    let mut links = Vec::new();
    let mut in_fence = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            // `[text](target "title")`: the target is the first word.
            let target = after[..end].split_whitespace().next().unwrap_or("");
            rest = &after[end + 1..];
            let external = target.contains("://") || target.starts_with("mailto:");
            if target.is_empty() || target.starts_with('#') || external {
                continue;
            }
            links.push(LocalLink {
                line: index + 1,
                target: target.to_owned(),
            });
        }
    }
    links
}

/// Checks that a relative link points at an existing file. A link to a chapter's `.md` is
/// checked as written; mdBook turns it into `.html` when it builds.
fn check_local_link(chapter: &Path, link: &LocalLink) -> Result<(), String> {
    let path = link.target.split('#').next().unwrap_or("");
    let directory = chapter.parent().unwrap_or(Path::new("."));
    if directory.join(path).exists() {
        Ok(())
    } else {
        Err(format!("link to {}: no such file", link.target))
    }
}

/// Every chapter SUMMARY.md links must exist: mdBook would otherwise fail, or (with
/// `create-missing`) quietly make an empty page.
fn check_summary(src: &Path) -> Vec<Problem> {
    let summary = src.join("SUMMARY.md");
    let Ok(text) = fs::read_to_string(&summary) else {
        return vec![Problem {
            file: summary,
            line: 0,
            message: "cannot read SUMMARY.md".to_owned(),
        }];
    };
    let mut problems = Vec::new();
    let mut chapters = 0;
    for link in find_local_links(&text) {
        chapters += 1;
        let path = link.target.split('#').next().unwrap_or("");
        if !src.join(path).is_file() {
            problems.push(Problem {
                file: summary.clone(),
                line: link.line,
                message: format!("chapter {} does not exist", link.target),
            });
        }
    }
    if chapters == 0 {
        problems.push(Problem {
            file: summary,
            line: 0,
            message: "SUMMARY.md links no chapter at all".to_owned(),
        });
    }
    problems
}

/// Every `.md` file under `directory`, sorted so that problems are reported in a stable order.
fn markdown_files(directory: &Path) -> io::Result<Vec<PathBuf>> {
    files_with_extension(directory, "md")
}

fn files_with_extension(directory: &Path, extension: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut to_visit = vec![directory.to_path_buf()];
    while let Some(next) = to_visit.pop() {
        for entry in fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                to_visit.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The scanners themselves, on small inputs whose answer is known.
mod scanner {
    use super::*;

    #[test]
    fn includes_are_found_with_anchors_ranges_and_escapes() {
        let text = "intro\n\
                    ```rust\n{{#include ../../common/protocol/src/http1/head.rs:body_framing}}\n```\n\
                    {{ #rustdoc_include a.rs }} and {{#include b.rs:3:9}}\n\
                    \\{{#include shown-literally.rs:x}}\n\
                    {{#title Not an include}}\n";
        let found = find_includes(text);
        assert_eq!(
            found,
            [
                Include {
                    line: 3,
                    path: "../../common/protocol/src/http1/head.rs".into(),
                    selector: Some("body_framing".into()),
                },
                Include {
                    line: 5,
                    path: "a.rs".into(),
                    selector: None,
                },
                Include {
                    line: 5,
                    path: "b.rs".into(),
                    selector: Some("3:9".into()),
                },
            ]
        );
    }

    #[test]
    fn anchors_match_whole_names_only() {
        let source = "// ANCHOR: body\nx\n// ANCHOR_END: body\n// ANCHOR:body_framing\n\
                      y\n// ANCHOR_END:   body_framing\n";
        assert_eq!(anchor_lines(source, "ANCHOR:", "body"), [1]);
        assert_eq!(anchor_lines(source, "ANCHOR_END:", "body"), [3]);
        assert_eq!(anchor_lines(source, "ANCHOR:", "body_framing"), [4]);
        assert_eq!(anchor_lines(source, "ANCHOR_END:", "body_framing"), [6]);
        assert!(anchor_lines(source, "ANCHOR:", "bod").is_empty());
    }

    #[test]
    fn line_numbers_and_missing_anchors_are_reported() {
        let chapter = book_src().join("chapter.md");
        let by_lines = Include {
            line: 1,
            path: "../../common/protocol/src/limits.rs".into(),
            selector: Some("10:20".into()),
        };
        let error = check_include(&chapter, &by_lines).unwrap_err();
        assert!(error.contains("line numbers"), "{error}");
        let no_anchor = Include {
            line: 1,
            path: "../../common/protocol/src/limits.rs".into(),
            selector: Some("no_such_anchor".into()),
        };
        let error = check_include(&chapter, &no_anchor).unwrap_err();
        assert!(error.contains("no `ANCHOR: no_such_anchor`"), "{error}");
        let no_file = Include {
            line: 1,
            path: "../../common/protocol/src/no_such_file.rs".into(),
            selector: None,
        };
        assert!(check_include(&chapter, &no_file).is_err());
    }

    #[test]
    fn links_skip_code_web_and_drafts() {
        let text = "- [Intro](introduction.md)\n- [Later]()\n\
                    ![diagram](images/x.svg \"title\") [RFC](https://example.org/) [here](#top)\n\
                    ```text\n[not](a-link.md)\n```\n";
        let targets: Vec<String> = find_local_links(text)
            .into_iter()
            .map(|link| link.target)
            .collect();
        assert_eq!(targets, ["introduction.md", "images/x.svg"]);
    }
}
