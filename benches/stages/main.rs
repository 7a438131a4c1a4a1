//! `cargo bench --bench stages`: every stage side by side with nginx, hyper and the floor server.
//!
//! The logic is in the harness crate (`benches/harness/`, unit-tested there); this binary reads
//! the command line, runs the harness, writes the JSON and markdown, draws the SVG charts
//! ([`charts`]), and checks that every output is there with a row per server and scenario.
//!
//! ```text
//! cargo bench --bench stages                      # the full run the book publishes
//! cargo bench --bench stages -- --quick           # a smoke run of about a minute
//! cargo bench --bench stages -- --stages 01,04 --scenarios small-keepalive-50
//! cargo bench --bench stages -- --stages 05,06 --scenarios tls-small-keepalive-50,...
//! cargo bench --bench stages -- --render book/src/results   # redraw from results.json
//! ```
//!
//! A run with `--stages` or `--scenarios` merges its rows into the results.json already in its
//! output directory (`harness::merge`), and draws every table again from the merged results.
//!
//! Exit status: 0 when the outputs were written and verified; 1 when the harness could not run
//! (or wrk is missing under `CI=true`, or h2load when an HTTP/2 scenario is selected); 2 for a
//! bad command line. Without wrk and without `CI=true` it says what it skipped and exits 0, like
//! the rest of the suite; without h2load the HTTP/2 rows say so.

mod charts;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use harness::options::{Options, OptionsError};
use harness::report::{self, Report};
use harness::run::{self, Harness, HarnessError};

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(OptionsError::Help) => {
            print!("{}", OptionsError::Help);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("stages bench: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &options.render {
        return render(dir);
    }
    let quick = options.quick;
    let out = options.out.clone().unwrap_or_else(|| default_out(quick));
    // Read before anything is measured: a partial run must not replace results it cannot read.
    let earlier = if options.partial {
        match read_results(&out) {
            Ok(earlier) => earlier,
            Err(error) => {
                eprintln!(
                    "stages bench: a partial run merges into {}/results.json, which cannot be \
                     read ({error}); move it away, or run without --stages and --scenarios",
                    out.display()
                );
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let harness = match Harness::prepare(options) {
        Ok(harness) => harness,
        Err(HarnessError::NoWrk) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED the stage comparison: {}", HarnessError::NoWrk);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("stages bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = harness.run();
    if let Some(earlier) = earlier {
        eprintln!(
            "merging into {}/results.json: its rows for other servers and scenarios are kept",
            out.display()
        );
        report = harness::merge::merge(report, earlier);
    }
    if !quick {
        count_instructions(&out);
    }
    write(&report, &out)
}

/// The report in `dir/results.json`, or `None` when there is none yet.
fn read_results(dir: &Path) -> Result<Option<Report>, String> {
    let path = dir.join("results.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let json = serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())?;
    report::from_json(&json).map(Some)
}

/// A full run also counts the parser's instructions (`scripts/parse-instructions.sh`, under
/// callgrind), so that the goals table sets them beside the servers' numbers of the same
/// commit. Without valgrind the script says so, and the goals table shows them as not measured.
fn count_instructions(out: &Path) {
    let script = stagekit::workspace_dir()
        .join("scripts")
        .join("parse-instructions.sh");
    let saved = out.join("parse-instructions.json");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg("--save")
        .arg(&saved)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("stages bench: {} ended with {status}", script.display()),
        Err(error) => eprintln!("stages bench: cannot run {}: {error}", script.display()),
    }
}

/// Writes every output of `report` into `out`, then checks that they are all there.
fn write(report: &Report, out: &Path) -> ExitCode {
    if let Err(error) = run::write_markdown_and_json(report, out) {
        eprintln!(
            "stages bench: cannot write results into {}: {error}",
            out.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(error) = charts::draw_all(report, out) {
        eprintln!("stages bench: cannot draw the charts: {error}");
        return ExitCode::FAILURE;
    }
    let scenarios: Vec<&str> = report.scenarios.iter().map(|s| s.id).collect();
    if let Err(error) = run::verify_outputs(out, &report.servers, &scenarios) {
        eprintln!("stages bench: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "results written to {} (summary.md, legend.md, results.json, overview.svg, one .md and \
         .svg per scenario)",
        out.display()
    );
    ExitCode::SUCCESS
}

/// `--render DIR`: the outputs of DIR/results.json, drawn again by the current code.
fn render(dir: &Path) -> ExitCode {
    match read_results(dir).and_then(|report| report.ok_or_else(|| "no such file".to_owned())) {
        Ok(report) => write(&report, dir),
        Err(error) => {
            eprintln!(
                "stages bench: cannot read {}/results.json: {error}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Full runs go where the book includes them; quick runs must never overwrite those.
fn default_out(quick: bool) -> PathBuf {
    let workspace = stagekit::workspace_dir();
    if quick {
        workspace
            .join("target")
            .join("stagecraft-bench")
            .join("quick")
    } else {
        workspace.join("book").join("src").join("results")
    }
}
