//! The book as a reader sees it: built with mdbook, opened in the system's headless Chromium.
//!
//! `tests/book.rs` checks the book's sources and that it builds; this test checks what the
//! build looks like, since a results table can scroll sideways and a chart's labels can shrink
//! below reading size without any build complaining. The checks themselves are in
//! `scripts/book-render-check.py`, which drives `/usr/bin/chromium` through
//! `/usr/bin/chromedriver` with Python's `selenium` (the system browser: a test tool's own
//! browser download does not work on a closed network, and selenium given an explicit driver
//! and binary never tries one). At 1280x900 with the default font it opens the introduction and
//! every chapter that shows results (those whose source mentions `results/`), and on each checks
//! that the chapter rendered (an `<h1>`, no unexpanded `{{#include}}`), that every image loaded,
//! that every table fits the 750 px text column, and that every SVG image's smallest text is at
//! least 11 px as displayed. Every failure is listed by page, table or image, and the heading
//! it comes after.
//!
//! A full-page screenshot of each page is left in `target/book-screenshots/` (one PNG per page,
//! named after it), for a person to look at after the test.
//!
//! [`render_checker_catches_bad_pages`] runs the checker's own tests first: against small pages
//! it writes with a too-wide table, a missing image, an SVG with 6 px text, an unexpanded
//! include and no heading, it must report each (and nothing on a good page).
//!
//! Without mdbook, python3 with selenium, chromium or chromedriver the tests say which is missing
//! and skip; under `CI=true` that is a failure (`.ci/run` installs them all). Every process is
//! started in a process group of its own and bounded in time: on a timeout the group is ended
//! (by the group's ID, the PID of the process the test started), and after a normal exit too,
//! so that no browser outlives the test.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::scratch::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The pinned version `.ci/run` installs, for the skip message.
const SELENIUM_INSTALL: &str = "pip install selenium==4.51.0";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn checker() -> PathBuf {
    root().join("scripts").join("book-render-check.py")
}

#[test]
fn render_checker_catches_bad_pages() {
    if !peers_present("the render checker's self-test", false) {
        return;
    }
    let scratch = TempDir::new("render-selftest");
    let mut command = Command::new("python3");
    command.arg(checker()).arg("--self-test");
    let run = run_bounded(command, Duration::from_secs(120), scratch.path());
    assert!(
        run.status.is_some_and(|status| status.success()),
        "the render checker's self-test failed ({}):\n{}{}",
        run.describe_status(),
        run.stdout,
        run.stderr
    );
    // unittest's closing line; without it the run proved nothing.
    assert!(
        run.stderr.lines().any(|line| line.trim() == "OK"),
        "the self-test did not report OK:\n{}",
        run.stderr
    );
}

#[test]
fn rendered_book_is_readable() {
    if !peers_present("the rendered-book check", true) {
        return;
    }
    let scratch = TempDir::new("book-render");
    let book = scratch.path().join("book");
    let mut build = Command::new("mdbook");
    build
        .arg("build")
        .arg(root().join("book"))
        .arg("-d")
        .arg(&book);
    let built = run_bounded(build, Duration::from_secs(120), scratch.path());
    assert!(
        built.status.is_some_and(|status| status.success()),
        "mdbook build failed ({}):\n{}{}",
        built.describe_status(),
        built.stdout,
        built.stderr
    );

    let pages = pages_to_check().expect("book/src is readable");
    assert!(
        pages.iter().any(|page| page == "measuring.html"),
        "measuring.md shows every result but is not among the pages to check: {pages:?}"
    );
    let screenshots = root().join("target").join("book-screenshots");
    let mut command = Command::new("python3");
    command
        .arg(checker())
        .arg(&book)
        .args(&pages)
        .arg("--screenshots")
        .arg(&screenshots);
    let run = run_bounded(command, Duration::from_secs(300), scratch.path());
    assert!(
        run.status.is_some_and(|status| status.success()),
        "the rendered book is not readable ({}); screenshots are in {}:\n{}{}",
        run.describe_status(),
        screenshots.display(),
        run.stdout,
        run.stderr
    );
    for page in &pages {
        let shot = screenshots.join(page.replace(".html", ".png"));
        assert!(
            shot.is_file(),
            "no screenshot of {page} at {}",
            shot.display()
        );
    }
}

/// The introduction, and every chapter whose source includes or links a file under `results/`,
/// as the built book names them. Read from the sources so that a chapter that starts showing
/// results is checked without editing this test.
fn pages_to_check() -> io::Result<Vec<String>> {
    let src = root().join("book").join("src");
    let mut pages = vec!["introduction.html".to_owned()];
    let mut chapters: Vec<PathBuf> = fs::read_dir(&src)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<io::Result<_>>()?;
    chapters.sort();
    for chapter in chapters {
        let Some(stem) = chapter.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        if chapter.extension().is_none_or(|ext| ext != "md")
            || stem == "SUMMARY"
            || stem == "introduction"
        {
            continue;
        }
        if fs::read_to_string(&chapter)?.contains("results/") {
            pages.push(format!("{stem}.html"));
        }
    }
    Ok(pages)
}

/// Whether every peer the check needs is installed. If not, says which are missing and returns
/// false, or panics under `CI=true`, where `.ci/run` has installed them.
fn peers_present(check: &str, needs_mdbook: bool) -> bool {
    let mut missing = Vec::new();
    if needs_mdbook && !runs("mdbook", &["--version"]) {
        missing.push("mdbook (cargo install --locked mdbook --version 0.5.4)".to_owned());
    }
    if !runs("python3", &["--version"]) {
        missing.push("python3".to_owned());
    } else if !runs("python3", &["-c", "import selenium"]) {
        missing.push(format!("the Python package selenium ({SELENIUM_INSTALL})"));
    }
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        if !Path::new(path).is_file() {
            missing.push(format!("{path} (apt-get install {package})"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let reason = format!("missing {}", missing.join(", "));
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{check}: {reason}; CI=true, so a missing peer is a failure, not a skip");
    }
    // Straight to stderr: the test harness would hide `eprintln!` of a passing test.
    let _ = writeln!(io::stderr(), "SKIPPED {check}: {reason}");
    false
}

/// Whether `program` starts and exits 0 (within ten seconds, like every process here).
fn runs(program: &str, args: &[&str]) -> bool {
    let scratch = TempDir::new("peer-check");
    let mut command = Command::new(program);
    command.args(args);
    run_bounded(command, Duration::from_secs(10), scratch.path())
        .status
        .is_some_and(|status| status.success())
}

/// What a bounded run left: its status (`None` when it was ended for running too long) and
/// its output.
struct Run {
    status: Option<ExitStatus>,
    timeout: Duration,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe_status(&self) -> String {
        match self.status {
            Some(status) => status.to_string(),
            None => format!("ended after the {} s timeout", self.timeout.as_secs()),
        }
    }
}

/// Runs `command` in a process group of its own, its output in files under `scratch` (no pipe
/// to fill and block it), for at most `timeout`. The group is then ended by its ID, which is
/// the PID of the process started here: SIGTERM on a timeout (the checker closes its browser
/// on it), SIGKILL after, and SIGKILL to whatever is left once the process has exited, so a
/// browser or driver it started cannot outlive the test.
fn run_bounded(mut command: Command, timeout: Duration, scratch: &Path) -> Run {
    let stdout_path = scratch.join("stdout");
    let stderr_path = scratch.join("stderr");
    let file = |path: &Path| File::create(path).expect("the scratch directory is writable");
    command
        .stdin(Stdio::null())
        .stdout(file(&stdout_path))
        .stderr(file(&stderr_path))
        .process_group(0);
    // A test binary killed from outside takes its child with it; the group's other members
    // are the checker's to end, and are ended below on every other path.
    stagekit::server::die_with_parent(&mut command);
    let status = match command.spawn() {
        Ok(mut child) => {
            let group = child.id();
            let deadline = Instant::now() + timeout;
            let mut status = None;
            let mut terminated_at = None;
            loop {
                match child.try_wait() {
                    Ok(Some(exit)) => {
                        if terminated_at.is_none() {
                            status = Some(exit);
                        }
                        break;
                    }
                    Ok(None) => {}
                    Err(error) => panic!("waiting for {command:?}: {error}"),
                }
                let now = Instant::now();
                match terminated_at {
                    None if now >= deadline => {
                        signal_group(group, "TERM");
                        terminated_at = Some(now);
                    }
                    Some(at) if now >= at + Duration::from_secs(10) => {
                        signal_group(group, "KILL");
                        let _ = child.wait();
                        break;
                    }
                    _ => {}
                }
                thread::sleep(Duration::from_millis(50));
            }
            signal_group(group, "KILL");
            status
        }
        // A program that cannot start is a missing peer to the callers: no status.
        Err(error) => {
            let _ = fs::write(&stderr_path, format!("cannot start {command:?}: {error}"));
            None
        }
    };
    let read = |path: &Path| String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into();
    Run {
        status,
        timeout,
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    }
}

/// Sends `signal` to the process group `group` (the PID of a process this test started, which
/// leads it). No member left is the usual case, and not an error.
fn signal_group(group: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
