//! One SVG chart per scenario, drawn with plotters' SVG backend (no font or bitmap libraries
//! needed), for the book to include next to the tables.
//!
//! - Closed-loop scenarios: a bar per server at its median requests/s, a line from the slowest to
//!   the fastest repetition, and the CPU per request written beside it.
//! - Open-loop scenarios: the rate is fixed, so the bar is the p99 latency, and the line spans p50
//!   to p99.9.
//! - Idle connections: resident memory per held connection.
//!
//! References (floor, nginx, hyper) are grey, stages blue, and a row that had errors orange.
//! Rows without numbers keep their line with the reason, so a chart never hides a server.

use std::error::Error;
use std::path::Path;

use harness::report::{self, Report, Row};
use harness::scenario::{Kind, Scenario};
use plotters::prelude::*;

const REFERENCE: RGBColor = RGBColor(150, 150, 150);
const STAGE: RGBColor = RGBColor(40, 100, 180);
const WITH_ERRORS: RGBColor = RGBColor(220, 120, 40);

/// What one bar shows.
struct Bar {
    server: String,
    /// The bar's length and the whisker's ends; `None` for a row without numbers.
    value: Option<(f64, f64, f64)>,
    text: String,
    colour: RGBColor,
}

/// Draws `SCENARIO.svg` into `dir` for every scenario of the report.
pub fn draw_all(report: &Report, dir: &Path) -> Result<(), Box<dyn Error>> {
    for scenario in &report.scenarios {
        let bars: Vec<Bar> = report
            .servers
            .iter()
            .filter_map(|server| report.row(server, scenario.id))
            .map(|row| bar(row, scenario))
            .collect();
        draw(scenario, &bars, &dir.join(format!("{}.svg", scenario.id)))?;
    }
    Ok(())
}

fn bar(row: &Row, scenario: &Scenario) -> Bar {
    let colour = if row.status == report::Status::Errors {
        WITH_ERRORS
    } else if row.server.starts_with("stage") {
        STAGE
    } else {
        REFERENCE
    };
    let mut bar = Bar {
        server: row.server.clone(),
        value: None,
        text: String::new(),
        colour,
    };
    if !row.status.measured() {
        bar.text = format!("{:?}", row.status).chars().take(90).collect();
        return bar;
    }
    let summary = row.summary();
    match scenario.kind {
        Kind::Closed(_) => {
            if let Some(rate) = summary.requests_per_second {
                bar.value = Some((rate.median, rate.min, rate.max));
                bar.text = format!(
                    "{} req/s, {} µs CPU/req{}",
                    report::count(rate.median),
                    summary
                        .cpu_us_per_request
                        .map_or("-".into(), |cpu| format!("{cpu:.1}")),
                    errors(summary.errors)
                );
            }
        }
        Kind::Open { .. } => {
            if let (Some(p50), Some(p99), Some(p999)) =
                (summary.p50_us, summary.p99_us, summary.p999_us)
            {
                bar.value = Some((p99, p50, p999));
                bar.text = format!(
                    "p50 {}, p99 {}, p99.9 {}{}",
                    report::micros(Some(p50)),
                    report::micros(Some(p99)),
                    report::micros(Some(p999)),
                    errors(summary.errors)
                );
            }
        }
        Kind::Idle => {
            if let Some(idle) = row.idle {
                if let Some(bytes) = idle.bytes_per_connection() {
                    let kib = bytes / 1024.0;
                    bar.value = Some((kib, kib, kib));
                    bar.text = format!(
                        "{kib:.1} KiB per connection, {} of {} held",
                        idle.held, idle.attempted
                    );
                }
            }
        }
        Kind::Syscalls(_) => {
            if let Some(per_request) = row.syscalls.as_ref().and_then(|c| c.total_per_request()) {
                bar.value = Some((per_request, per_request, per_request));
                bar.text = format!("{per_request:.1} system calls per request");
            }
        }
    }
    bar
}

fn errors(count: u64) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(", {count} errors")
    }
}

fn draw(scenario: &Scenario, bars: &[Bar], path: &Path) -> Result<(), Box<dyn Error>> {
    let unit = match scenario.kind {
        Kind::Closed(_) => "requests per second (median; line: slowest to fastest repetition)",
        Kind::Open { .. } => {
            "p99 latency, µs (line: p50 to p99.9), corrected for coordinated omission"
        }
        Kind::Idle => "resident memory per idle connection, KiB",
        Kind::Syscalls(_) => "system calls per request (strace -c -f, measured window only)",
    };
    let rows = bars.len().max(1);
    let largest = bars
        .iter()
        .filter_map(|bar| bar.value.map(|(value, _, high)| value.max(high)))
        .fold(0.0, f64::max);
    // Room on the right for the text beside the longest bar.
    let x_max = if largest > 0.0 { largest * 1.6 } else { 1.0 };
    let height = 70 + 30 * rows as u32 + 40;
    let area = SVGBackend::new(path, (860, height)).into_drawing_area();
    area.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(scenario.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        // A segmented range `0..n` has n + 1 segments, one per bar here.
        .build_cartesian_2d(
            0f64..x_max,
            (0..rows.saturating_sub(1).max(1)).into_segmented(),
        )?;
    let names: Vec<String> = bars.iter().map(|bar| bar.server.clone()).collect();
    // The first server at the top: row i is drawn in segment rows - 1 - i.
    let label = move |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(segment) if *segment < rows => {
            names.get(rows - 1 - segment).cloned().unwrap_or_default()
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&label)
        .x_labels(6)
        .x_label_formatter(&|x| report::count(*x))
        .x_desc(unit)
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let segment = rows - 1 - i;
        let centre = SegmentValue::CenterOf(segment);
        let text_at = match bar.value {
            Some((value, low, high)) => {
                let mut rectangle = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(segment)),
                        (value, SegmentValue::Exact(segment + 1)),
                    ],
                    bar.colour.filled(),
                );
                rectangle.set_margin(5, 5, 0, 0);
                chart.draw_series(std::iter::once(rectangle))?;
                if high > low {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(low, centre.clone()), (high, centre.clone())],
                        BLACK.stroke_width(2),
                    )))?;
                }
                value.max(high)
            }
            None => 0.0,
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at((text_at, centre.clone()))
                + Text::new(bar.text.clone(), (6, -6), ("sans-serif", 12).into_font()),
        ))?;
    }
    area.present()?;
    Ok(())
}
