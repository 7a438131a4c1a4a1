//! Writing one run's results into a directory (JSON, the markdown tables and snippets the book
//! includes) and checking afterwards that everything the book and CI expect is there. The
//! charts are drawn by the bench binary, which has the plotting library.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use crate::report::{self, Report};
use crate::run::runs_in;
use crate::scenario::Kind;

/// Both system-call tables, one after the other, for a chapter to include.
pub const SYSCALLS_FILE: &str = "syscalls.md";

/// The page loads' comparison, HTTP/1.1 beside HTTP/2 for each delay, for stage 07's chapter.
pub const PAGE_LOAD_FILE: &str = "page-load.md";

/// Checks that a results directory has what the book and CI expect: the JSON with one row per
/// server and scenario (a variant limited to some scenarios only in those, [`crate::run::runs_in`]),
/// a markdown file and a chart per scenario, the legend, and the overview chart the
/// introduction shows.
pub fn verify_outputs(dir: &Path, servers: &[String], scenarios: &[&str]) -> Result<(), String> {
    let text = fs::read_to_string(dir.join("results.json"))
        .map_err(|error| format!("results.json: {error}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("results.json: {error}"))?;
    let rows = json["rows"].as_array().ok_or("results.json has no rows")?;
    let mut missing = Vec::new();
    for scenario in scenarios {
        for server in servers.iter().filter(|server| runs_in(server, scenario)) {
            let found = rows
                .iter()
                .any(|row| row["server"] == server.as_str() && row["scenario"] == *scenario);
            if !found {
                missing.push(format!("row {server} / {scenario}"));
            }
        }
        for file in [format!("{scenario}.md"), format!("{scenario}.svg")] {
            if fs::metadata(dir.join(&file)).map_or(true, |meta| meta.len() == 0) {
                missing.push(file);
            }
        }
    }
    let traced = scenarios.iter().any(|id| {
        crate::scenario::find(id).is_some_and(|scenario| matches!(scenario.kind, Kind::Syscalls(_)))
    });
    if traced && fs::metadata(dir.join(SYSCALLS_FILE)).map_or(true, |meta| meta.len() == 0) {
        missing.push(SYSCALLS_FILE.into());
    }
    let pages = scenarios
        .iter()
        .any(|id| crate::scenario::find(id).is_some_and(|scenario| scenario.is_page_load()));
    if pages && fs::metadata(dir.join(PAGE_LOAD_FILE)).map_or(true, |meta| meta.len() == 0) {
        missing.push(PAGE_LOAD_FILE.into());
    }
    for file in [
        "summary.md",
        "header.md",
        "legend.md",
        "generators.md",
        "goals.md",
        "overview.svg",
    ] {
        if fs::metadata(dir.join(file)).map_or(true, |meta| meta.len() == 0) {
            missing.push(file.into());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} is missing: {}",
            dir.display(),
            missing.join(", ")
        ))
    }
}

/// Writes results.json and the markdown files into `dir` (the charts are drawn by the bench
/// binary, which has the plotting library).
pub fn write_markdown_and_json(report: &Report, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(&report::to_json(report)).map_err(io::Error::other)?;
    fs::write(dir.join("results.json"), json + "\n")?;
    // header.md and generators.md hold no links, so a chapter anywhere in the book can include
    // them; summary.md links the charts relative to this directory, for reading it on its own.
    let header = report::header_markdown(report);
    let generators = report::ceilings_markdown(report);
    let legend = report::legend_markdown(report);
    fs::write(dir.join("header.md"), &header)?;
    fs::write(dir.join("legend.md"), &legend)?;
    fs::write(dir.join("generators.md"), &generators)?;
    // The parser's instruction counts, when a full run measured them beside the servers.
    let instructions = fs::read_to_string(dir.join("parse-instructions.json"))
        .ok()
        .and_then(|text| report::instruction_counts_from_json(&text).ok());
    fs::write(
        dir.join("goals.md"),
        report::goals_markdown(report, instructions.as_ref()),
    )?;
    let mut summary = String::new();
    let _ = writeln!(summary, "{header}");
    let _ = writeln!(summary, "{legend}");
    let _ = writeln!(summary, "### What the load generators can do\n");
    let _ = writeln!(summary, "{generators}");
    for scenario in &report.scenarios {
        let table = report::scenario_markdown(report, scenario);
        fs::write(dir.join(format!("{}.md", scenario.id)), &table)?;
        let _ = writeln!(
            summary,
            "### {}\n\n{}\n\n{}",
            scenario.title, scenario.shows, table
        );
        let _ = writeln!(summary, "![{}]({}.svg)\n", scenario.title, scenario.id);
    }
    fs::write(dir.join("summary.md"), summary)?;
    let traced: Vec<&crate::scenario::Scenario> = report
        .scenarios
        .iter()
        .filter(|scenario| matches!(scenario.kind, Kind::Syscalls(_)))
        .collect();
    if !traced.is_empty() {
        let mut text = String::new();
        for scenario in traced {
            let _ = writeln!(
                text,
                "#### {}\n\n{}\n\n{}",
                scenario.title,
                scenario.shows,
                report::scenario_markdown(report, scenario)
            );
        }
        fs::write(dir.join(SYSCALLS_FILE), text)?;
    }
    if report
        .scenarios
        .iter()
        .any(|scenario| scenario.is_page_load())
    {
        fs::write(dir.join(PAGE_LOAD_FILE), report::page_load_markdown(report))?;
    }
    for server in &report.servers {
        if server.starts_with("stage") {
            fs::write(
                dir.join(format!("{server}.md")),
                report::server_markdown(report, server),
            )?;
        }
    }
    Ok(())
}
