//! No measured figure in the book's prose without a committed result behind it.
//!
//! The book quotes numbers: requests per second, ratios to nginx, latencies, CPU time, memory
//! per connection, system calls per request. Each of them is true of one run only, and a run is
//! replaced every time the code it measures changes. So the chapters never keep their own copy
//! of a measurement that can go stale unnoticed: a figure in a chapter must be one that a file
//! in `book/src/results/` (written by `cargo bench --bench stages`, committed with the run)
//! prints, written the way that file prints it. When a new run is committed and a figure the
//! prose quotes is no longer in any result, this test names the chapter and line, and the
//! sentence is rewritten from the new tables. ("Measuring honestly", "Numbers that cannot go
//! stale", tells readers the same rule.)
//!
//! What counts as a figure: a number with a unit of measurement after it (`x`, `×` or
//! `times` for a ratio, `k` and `M` for thousands and millions, `µs`, `us`, `ms`, `s`, `bytes`,
//! `B`, `KiB`, `MiB`, `GiB`, `%`, `requests/s`, `req/s`, `requests per second`, `instructions`,
//! `system calls`), and every number in a table whose heading names such a unit. Plain counts
//! ("50 connections", "16 threads") are loads, not results, and are not checked. Text in code
//! (fenced blocks and `inline code`) is not prose either: that is where calculations go, so a
//! prediction such as `16 threads × 1000 ms / 20 ms = 800 requests/s` is written as one.
//!
//! Some numbers with units are settings or facts, not measurements: the 16 KiB small-file limit,
//! the slow route's 20 ms, a machine's 24 GiB. A chapter names those in an HTML comment that
//! readers of the rendered page do not see, with the reason in words:
//!
//! ```text
//! <!-- not measured: 16 KiB (the small-file limit), 20 ms (what /slow is asked to sleep) -->
//! ```
//!
//! A name in such a list that the chapter no longer uses is reported too, so the lists cannot
//! quietly grow into a way around the rule.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book")
        .join("src")
}

/// A number with a unit, as the reader sees it, normalised so that "1,643 bytes" in prose and
/// "1643 B" in a table are the same figure.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Figure {
    /// The digits as printed, without thousands separators: "119.5", "1643".
    number: String,
    unit: Unit,
}

/// Units that say "this was measured". Several spellings map to one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Ratio,
    Thousands,
    Millions,
    Micros,
    Millis,
    Seconds,
    Bytes,
    Kibibytes,
    Mebibytes,
    Gibibytes,
    Percent,
    /// Requests per second, instructions, system calls: tables print these as plain numbers
    /// under a column heading that names the unit.
    Count,
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Ratio => "x",
            Unit::Thousands => "k",
            Unit::Millions => "M",
            Unit::Micros => " µs",
            Unit::Millis => " ms",
            Unit::Seconds => " s",
            Unit::Bytes => " bytes",
            Unit::Kibibytes => " KiB",
            Unit::Mebibytes => " MiB",
            Unit::Gibibytes => " GiB",
            Unit::Percent => " %",
            Unit::Count => "",
        };
        write!(f, "{}{unit}", self.number)
    }
}

/// The pattern of a figure. The longest spellings come first so that `MiB` is not read as `M`.
/// What comes before the number is checked in [`figures`], since the pattern cannot look back.
fn figure_pattern() -> Regex {
    Regex::new(
        r"(?x)
        (?P<number> \d{1,3}(?:,\d{3})+ | \d+ ) (?P<fraction> \.\d+ )?
        (?P<space> [\x20\u{a0}\u{202f}]? )
        (?P<unit> requests/s | req/s | requests\x20per\x20second | times | instructions | system\x20calls | bytes | KiB | MiB | GiB
                | µs | us | ms | × | x | k | M | B | s | % )
        (?P<after> [^A-Za-z0-9_] | $ )",
    )
    .expect("the figure pattern is a valid regex")
}

/// Every figure in `text` with the line it is on (1-based).
fn figures(text: &str) -> Vec<(usize, Figure)> {
    let pattern = figure_pattern();
    let measurement_heading =
        Regex::new(r"(?i)req/s|requests|µs|\bms\b|latency|p50|p99|rss|cpu|memory|\bmib\b|\bkib\b|bytes|instructions|calls|switches|\btime\b")
            .expect("the heading pattern is a valid regex");
    let (mut in_table, mut measuring_table) = (false, false);
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for captures in pattern.captures_iter(line) {
            let whole = captures.get(0).expect("group 0 is the whole match");
            // A number glued to a word or a version ("p99", "HTTP/1.1", "-d5s", "h2") is part
            // of a name, not a figure.
            let before = line[..whole.start()].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || "._-/:#".contains(c)) {
                continue;
            }
            let unit_text = &captures["unit"];
            let spaced = !captures["space"].is_empty();
            let unit = match unit_text {
                "×" | "x" if !spaced => Unit::Ratio,
                "times" if spaced => Unit::Ratio,
                "times" => continue,
                "k" if !spaced => Unit::Thousands,
                "M" if !spaced => Unit::Millions,
                "×" | "x" | "k" | "M" => continue,
                "µs" | "us" => Unit::Micros,
                "ms" => Unit::Millis,
                "s" => Unit::Seconds,
                "bytes" | "B" => Unit::Bytes,
                "KiB" => Unit::Kibibytes,
                "MiB" => Unit::Mebibytes,
                "GiB" => Unit::Gibibytes,
                "%" => Unit::Percent,
                _ => Unit::Count,
            };
            let number = format!(
                "{}{}",
                captures["number"].replace(',', ""),
                captures.name("fraction").map_or("", |m| m.as_str())
            );
            found.push((index + 1, Figure { number, unit }));
        }
        // A table of measurements puts the unit in its heading ("| req/s |") and bare numbers
        // below it: in such a table every number is a figure. Other tables (versions, status
        // codes, limits) are told apart by their heading row.
        let row = line.trim_start().starts_with('|');
        if row && !in_table {
            measuring_table = measurement_heading.is_match(line);
        }
        in_table = row;
        if row && measuring_table {
            // The first cell names the row ("handmade, 8 threads"); the rest are measurements.
            for cell in line.split('|').skip(2) {
                let cell = cell.trim();
                let bare = cell
                    .split(|c: char| c.is_whitespace() || "()–-".contains(c))
                    .filter(|word| {
                        !word.is_empty()
                            && word
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                            && word.matches('.').count() <= 1
                            && word.starts_with(|c: char| c.is_ascii_digit())
                    });
                for word in bare {
                    let number = word.trim_end_matches(['.', ',']).replace(',', "");
                    found.push((
                        index + 1,
                        Figure {
                            number,
                            unit: Unit::Count,
                        },
                    ));
                }
            }
        }
    }
    found
}

/// What a committed result shows: every figure in it, and every plain number (a table cell
/// under a "req/s" heading is a bare number, and prose quotes it as "9905 requests/s").
#[derive(Default)]
struct Results {
    figures: BTreeSet<Figure>,
    numbers: BTreeSet<String>,
}

impl Results {
    fn read(text: &str) -> Results {
        let mut results = Results::default();
        results.add(text);
        results
    }

    fn add(&mut self, text: &str) {
        for (_, figure) in figures(text) {
            self.figures.insert(figure);
        }
        // A bare number in a results table has its unit in the column's heading ("CPU µs/req"
        // over "9.3"): prose quotes it with the unit, "9.3 µs".
        let mut headings: Vec<Option<Unit>> = Vec::new();
        let mut in_table = false;
        for line in text.lines() {
            let row = line.trim_start().starts_with('|');
            if !row {
                in_table = false;
                continue;
            }
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if !in_table {
                headings = cells.iter().map(|cell| heading_unit(cell)).collect();
                in_table = true;
                continue;
            }
            for (cell, unit) in cells.iter().zip(&headings) {
                let number = cell.replace(',', "");
                if let (Some(unit), true) = (unit, is_number(&number)) {
                    self.figures.insert(Figure {
                        number,
                        unit: *unit,
                    });
                }
            }
        }
        let number = Regex::new(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
            .expect("the number pattern is a valid regex");
        for found in number.find_iter(text) {
            self.numbers.insert(found.as_str().replace(',', ""));
        }
    }

    fn backs(&self, figure: &Figure) -> bool {
        self.figures.contains(figure)
            || (matches!(figure.unit, Unit::Count | Unit::Bytes)
                && self.numbers.contains(&figure.number))
    }
}

/// The unit a table's column heading gives its bare numbers, if it names one.
fn heading_unit(heading: &str) -> Option<Unit> {
    let words: Vec<&str> = heading
        .split(|c: char| c.is_whitespace() || c == '/' || c == '(' || c == ')')
        .collect();
    let has = |unit: &str| words.contains(&unit);
    if has("µs") || has("us") {
        Some(Unit::Micros)
    } else if has("ms") {
        Some(Unit::Millis)
    } else if has("KiB") {
        Some(Unit::Kibibytes)
    } else if has("MiB") {
        Some(Unit::Mebibytes)
    } else if has("bytes") {
        Some(Unit::Bytes)
    } else if has("%") {
        Some(Unit::Percent)
    } else {
        None
    }
}

fn is_number(text: &str) -> bool {
    let mut parts = text.split('.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    parts.next().is_none()
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A chapter with what is not prose taken out (code, includes, comments, link targets), line
/// numbers kept, and the figures its `<!-- not measured: ... -->` comments name.
struct Prose {
    text: String,
    not_measured: Vec<Figure>,
}

fn prose(chapter: &str) -> Prose {
    let mut text = String::with_capacity(chapter.len());
    let mut not_measured = Vec::new();
    let mut in_fence = false;
    let mut in_comment = false;
    let mut comment = String::new();
    let inline_code = Regex::new(r"`[^`]*`").expect("valid regex");
    let link_target = Regex::new(r"\]\([^)]*\)").expect("valid regex");
    let include = Regex::new(r"\{\{\s*#\w+[^}]*\}\}").expect("valid regex");
    for line in chapter.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            text.push('\n');
            continue;
        }
        if in_fence {
            text.push('\n');
            continue;
        }
        // HTML comments, possibly over several lines; the "not measured" lists live in them.
        let mut kept = String::new();
        let mut rest = line;
        loop {
            if in_comment {
                match rest.find("-->") {
                    Some(end) => {
                        comment.push_str(&rest[..end]);
                        not_measured_list(&comment, &mut not_measured);
                        comment.clear();
                        rest = &rest[end + 3..];
                        in_comment = false;
                    }
                    None => {
                        comment.push_str(rest);
                        comment.push(' ');
                        break;
                    }
                }
            } else {
                match rest.find("<!--") {
                    Some(start) => {
                        kept.push_str(&rest[..start]);
                        rest = &rest[start + 4..];
                        in_comment = true;
                    }
                    None => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        let kept = include.replace_all(&kept, " ");
        let kept = inline_code.replace_all(&kept, " ");
        let kept = link_target.replace_all(&kept, "]");
        text.push_str(&kept);
        text.push('\n');
    }
    Prose { text, not_measured }
}

/// The figures of one whole HTML comment, if it is a `not measured:` list.
fn not_measured_list(comment: &str, into: &mut Vec<Figure>) {
    if let Some(body) = comment.trim_start().strip_prefix("not measured:") {
        into.extend(figures(body).into_iter().map(|(_, figure)| figure));
    }
}

/// A figure no result backs, or an exemption no sentence uses.
struct Problem {
    chapter: String,
    line: usize,
    message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "book/src/{}:{}: {}",
            self.chapter, self.line, self.message
        )
    }
}

fn check_chapter(name: &str, chapter: &str, results: &Results) -> Vec<Problem> {
    let prose = prose(chapter);
    let found = figures(&prose.text);
    let mut problems = Vec::new();
    for (line, figure) in &found {
        if results.backs(figure) || prose.not_measured.contains(figure) {
            continue;
        }
        problems.push(Problem {
            chapter: name.to_owned(),
            line: *line,
            message: format!(
                "\"{figure}\" is in no committed result (book/src/results/): quote a figure as \
                 a results table prints it, write a calculation as `code`, or, if it is a \
                 setting or a cited fact, name it in a <!-- not measured: ... --> comment"
            ),
        });
    }
    for exempt in &prose.not_measured {
        if !found.iter().any(|(_, figure)| figure == exempt) {
            problems.push(Problem {
                chapter: name.to_owned(),
                line: 0,
                message: format!(
                    "\"{exempt}\" is named as not measured but the chapter does not use it"
                ),
            });
        }
    }
    problems
}

/// The committed results: every markdown file the harness wrote into book/src/results/.
fn committed_results() -> Results {
    let mut results = Results::default();
    let dir = book_src().join("results");
    let entries = fs::read_dir(&dir).expect("book/src/results is readable");
    let mut files = 0;
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|ext| ext == "md") {
            results.add(&fs::read_to_string(&path).expect("a results file is readable"));
            files += 1;
        }
    }
    assert!(files > 0, "no results in {}", dir.display());
    results
}

/// The chapters: every markdown file of book/src except SUMMARY.md and the generated results.
fn chapters() -> Vec<(String, String)> {
    let mut chapters = Vec::new();
    for entry in fs::read_dir(book_src()).expect("book/src is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.extension().is_some_and(|ext| ext == "md") && name != "SUMMARY.md" {
            let text = fs::read_to_string(&path).expect("a chapter is readable");
            chapters.push((name, text));
        }
    }
    chapters.sort();
    chapters
}

#[test]
fn every_figure_in_the_prose_is_a_committed_result() {
    let results = committed_results();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, text) in chapters() {
        checked += figures(&prose(&text).text).len();
        problems.extend(check_chapter(&name, &text, &results));
    }
    assert!(
        checked > 0,
        "no figure found in any chapter: the scanner is broken"
    );
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "{} of {checked} figures in the book have no committed result behind them:\n{}",
        problems.len(),
        listed.join("\n")
    );
}

/// The checker on small inputs whose answer is known, so that it is seen to fail.
mod checker {
    use super::*;

    fn figure(number: &str, unit: Unit) -> Figure {
        Figure {
            number: number.into(),
            unit,
        }
    }

    #[test]
    fn figures_are_read_in_every_spelling_and_names_are_not_figures() {
        let text = "1.22x nginx, 0.82× floor, 119.5k and 1.49M req/s, 4.96 ms, 610 µs, 1.3 us,\n\
                    1,643 bytes, 3.2 KiB, 75 %, 9905 requests/s, 2659 instructions, 8 system calls,\n\
                    2.7 times the floor\n\
                    p99 HTTP/1.1 -d5s h2 RFC 9110 50 connections 2 x 3 a 5 k";
        let found: Vec<Figure> = figures(text).into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            found,
            [
                figure("1.22", Unit::Ratio),
                figure("0.82", Unit::Ratio),
                figure("119.5", Unit::Thousands),
                figure("1.49", Unit::Millions),
                figure("4.96", Unit::Millis),
                figure("610", Unit::Micros),
                figure("1.3", Unit::Micros),
                figure("1643", Unit::Bytes),
                figure("3.2", Unit::Kibibytes),
                figure("75", Unit::Percent),
                figure("9905", Unit::Count),
                figure("2659", Unit::Count),
                figure("8", Unit::Count),
                figure("2.7", Unit::Ratio),
            ]
        );
        assert_eq!(figures(text)[7].0, 2, "line numbers are kept");
    }

    #[test]
    fn numbers_in_a_table_of_measurements_are_figures_and_in_other_tables_not() {
        let text = "| server | req/s (range) | p99 ms |\n|---|---:|---:|\n\
                    | handmade, 8 threads | 77236 (29075–104903) | 585 |\n\
                    \n| crate | version |\n|---|---|\n| httparse | 1.10 |\n";
        let found: Vec<Figure> = figures(text).into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            found,
            [
                figure("77236", Unit::Count),
                figure("29075", Unit::Count),
                figure("104903", Unit::Count),
                figure("585", Unit::Count),
            ]
        );
    }

    #[test]
    fn code_includes_comments_and_link_targets_are_not_prose() {
        let chapter = "a 1.5x gain\n```text\n9.9x in a block\n```\n`7.7x inline` and \
                       {{#include results/x.md}} and [a link](x-2.5x.md)\n<!-- 3.5x hidden -->\n";
        let found: Vec<(usize, Figure)> = figures(&prose(chapter).text);
        assert_eq!(found, [(1, figure("1.5", Unit::Ratio))]);
    }

    #[test]
    fn a_figure_no_result_shows_is_reported_with_its_line() {
        let results = Results::read("| 04 | 86.7k | 0.82× | 513 µs | 9905 |\n");
        let chapter = "Stage 04 answers 86.7k requests per second, 0.82x nginx's.\n\
                       Its median is 513 µs, and 9905 requests/s at one connection.\n\
                       At 1000 connections it drops to half: 0.5x.\n";
        let problems = check_chapter("stage04.md", chapter, &results);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].starts_with("book/src/stage04.md:3: \"0.5x\""),
            "{}",
            shown[0]
        );
    }

    #[test]
    fn a_bare_number_in_a_results_table_takes_its_unit_from_the_heading() {
        let results =
            Results::read("| server | CPU µs/req | p99 |\n|---|---:|---:|\n| 04 | 11.4 | 2 |\n");
        assert!(results.backs(&figure("11.4", Unit::Micros)));
        assert!(!results.backs(&figure("11.4", Unit::Millis)));
        assert!(!results.backs(&figure("2", Unit::Micros)));
    }

    #[test]
    fn settings_are_named_once_and_unused_names_are_reported() {
        let results = Results::read("");
        let chapter =
            "<!-- not measured: 16 KiB (the small-file limit), 20 ms (the slow route) -->\n\
                       Files up to 16 KiB are read into memory.\n";
        let problems = check_chapter("common.md", chapter, &results);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains("\"20 ms\" is named as not measured"),
            "{}",
            shown[0]
        );
    }
}
