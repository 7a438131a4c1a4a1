//! The SVG charts the book shows beside the tables, drawn with plotters' SVG backend (no font or
//! bitmap libraries needed): one per scenario, and `overview.svg` for the introduction.
//!
//! - Closed-loop scenarios: a bar per server at its median requests/s, a line from the slowest to
//!   the fastest repetition, and the rate and CPU per request written beside it.
//! - Open-loop scenarios: the rate is fixed, so the bar is the p99 latency and the line spans p50
//!   to p99.9, on a logarithmic axis: the servers that keep up answer in microseconds and the
//!   ones that fall behind in seconds, and on a linear axis the first would be invisible.
//! - Idle connections: resident memory per held connection, for the servers that held them all.
//!   A server that held one connection has a per-connection figure that is noise divided by one,
//!   so it is named with how many it held instead of setting the scale.
//! - The overview: the everyday load's requests per second and CPU per request, side by side.
//!
//! Every chart is drawn [`WIDTH`] px wide and shown by the book at about 750 px, so the font
//! sizes are chosen for that. plotters writes a font of size N as `font-size` of about 0.8 N
//! in the SVG, so [`NAME_FONT`] shows as about 13 px and [`TEXT_FONT`] as about 12 px (the
//! book's rendering test asks for at least 11). Servers are named by their short names (the legend above the results spells them
//! out), and a key under the title says what each colour means. Rows without numbers keep their
//! line, with what became of them in words, so a chart never hides a server.

use std::error::Error;
use std::path::Path;

use harness::report::{self, Report, Row, Status};
use harness::scenario::{Kind, Scenario};
use plotters::coord::Shift;
use plotters::prelude::*;

const REFERENCE: RGBColor = RGBColor(150, 150, 150);
const STAGE: RGBColor = RGBColor(40, 100, 180);
const WITH_ERRORS: RGBColor = RGBColor(220, 120, 40);
const NO_NUMBERS: RGBColor = RGBColor(90, 90, 90);

/// The width every chart is drawn at.
const WIDTH: u32 = 1000;
/// Server names and the title's key.
const NAME_FONT: u32 = 22;
/// The numbers beside the bars, the axis labels and descriptions.
const TEXT_FONT: u32 = 20;
const TITLE_FONT: u32 = 26;
/// Height of one bar's row, and of the title with its colour key above the bars.
const ROW_HEIGHT: u32 = 38;
const HEADER_HEIGHT: u32 = 80;
/// Room under the bars for the axis labels and the axis description.
const AXIS_HEIGHT: u32 = 64;
const MARGIN: u32 = 12;

/// The scenario the overview shows: the everyday load.
const OVERVIEW_SCENARIO: &str = "small-keepalive-50";

/// What one bar shows.
struct Bar {
    name: String,
    /// The bar's length and the line's ends; `None` for a row without numbers.
    value: Option<(f64, f64, f64)>,
    text: String,
    colour: RGBColor,
}

/// How values map onto the horizontal axis.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    /// Positions are `log10` of the values, the labels the powers of ten (microseconds).
    LogMicros,
}

impl Scale {
    fn position(self, value: f64) -> f64 {
        match self {
            Scale::Linear => value,
            Scale::LogMicros => value.max(1.0).log10(),
        }
    }

    fn label(self, position: f64) -> String {
        match self {
            Scale::Linear => axis_count(position),
            // Only whole powers of ten are labelled: 316 µs on an axis reads as noise.
            Scale::LogMicros if (position - position.round()).abs() < 1e-6 => {
                let power = position.round() as i32;
                match power {
                    ..=2 => format!("{} µs", 10f64.powi(power)),
                    3..=5 => format!("{} ms", 10f64.powi(power - 3)),
                    _ => format!("{} s", 10f64.powi(power - 6)),
                }
            }
            Scale::LogMicros => String::new(),
        }
    }
}

/// An axis label: `5k` beside `10k` rather than `5000` beside `10.0k`.
fn axis_count(value: f64) -> String {
    let (scaled, suffix) = if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let digits = format!("{scaled:.1}");
    format!("{}{suffix}", digits.trim_end_matches(".0"))
}

/// Draws `SCENARIO.svg` for every scenario of the report, and `overview.svg`, into `dir`.
pub fn draw_all(report: &Report, dir: &Path) -> Result<(), Box<dyn Error>> {
    for scenario in &report.scenarios {
        let rows = rows_of(report, scenario.id);
        draw_scenario(scenario, &rows, &dir.join(format!("{}.svg", scenario.id)))?;
    }
    draw_overview(report, &dir.join("overview.svg"))
}

fn rows_of<'a>(report: &'a Report, scenario: &str) -> Vec<&'a Row> {
    report
        .servers
        .iter()
        .filter_map(|server| report.row(server, scenario))
        .collect()
}

fn colour(row: &Row) -> RGBColor {
    if row.status == Status::Errors {
        WITH_ERRORS
    } else if row.server.starts_with("stage") {
        STAGE
    } else {
        REFERENCE
    }
}

/// A bar with no length, only words.
fn words(row: &Row, text: String) -> Bar {
    Bar {
        name: report::short_name(&row.server),
        value: None,
        text,
        colour: NO_NUMBERS,
    }
}

fn bar(row: &Row, scenario: &Scenario) -> Bar {
    if !row.status.measured() {
        return words(row, row.status.words());
    }
    let summary = row.summary();
    let mut bar = Bar {
        name: report::short_name(&row.server),
        value: None,
        text: String::new(),
        colour: colour(row),
    };
    match scenario.kind {
        Kind::Closed(_) | Kind::H2load(_) => {
            if let Some(rate) = summary.requests_per_second {
                bar.value = Some((rate.median, rate.min, rate.max));
                bar.text = format!(
                    "{} req/s, {} µs CPU{}",
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
                // p50 and p99.9 are the line's ends; their numbers are in the table above.
                bar.text = format!(
                    "p99 {}{}",
                    report::micros(Some(p99)),
                    errors(summary.errors)
                );
            }
        }
        Kind::Idle => match row.idle {
            Some(idle) if idle.held < idle.attempted => {
                return words(
                    row,
                    format!(
                        "held only {} of {} (not charted)",
                        idle.held, idle.attempted
                    ),
                );
            }
            Some(idle) => {
                if let Some(bytes) = idle.bytes_per_connection() {
                    let kib = bytes / 1024.0;
                    bar.value = Some((kib, kib, kib));
                    bar.text = format!("{kib:.1} KiB");
                }
            }
            None => {}
        },
        Kind::Syscalls(_) => {
            if let Some(per_request) = row.syscalls.as_ref().and_then(|c| c.total_per_request()) {
                bar.value = Some((per_request, per_request, per_request));
                bar.text = format!("{per_request:.1} calls per request");
            }
        }
        Kind::Handshakes(_) => {
            if let Some(rate) = summary.requests_per_second {
                bar.value = Some((rate.median, rate.min, rate.max));
                bar.text = format!(
                    "{}/s, {} µs CPU each{}",
                    report::count(rate.median),
                    summary
                        .cpu_us_per_request
                        .map_or("-".into(), |cpu| format!("{cpu:.0}")),
                    errors(summary.errors)
                );
            }
        }
        Kind::PageLoad(_) => {
            if let (Some(p50), Some(p99)) = (summary.p50_us, summary.p99_us) {
                // Milliseconds: a page takes a few on loopback and hundreds over the delay.
                bar.value = Some((p50 / 1e3, p50 / 1e3, p99 / 1e3));
                bar.text = format!(
                    "p50 {}, p99 {}{}",
                    report::micros(Some(p50)),
                    report::micros(Some(p99)),
                    errors(summary.errors)
                );
            }
        }
        Kind::HandshakeInstructions => {
            if let Some(x25519) = row.instructions.and_then(|counts| counts.x25519) {
                bar.value = Some((x25519, x25519, x25519));
                bar.text = match row.instructions.and_then(|counts| counts.hybrid) {
                    Some(hybrid) => format!(
                        "{} (hybrid: {})",
                        report::count(x25519),
                        report::count(hybrid)
                    ),
                    None => report::count(x25519),
                };
            }
        }
    }
    bar
}

fn errors(count: u64) -> String {
    match count {
        0 => String::new(),
        1 => ", 1 error".to_owned(),
        _ => format!(", {} errors", report::count(count as f64)),
    }
}

fn draw_scenario(scenario: &Scenario, rows: &[&Row], path: &Path) -> Result<(), Box<dyn Error>> {
    let bars: Vec<Bar> = rows.iter().map(|row| bar(row, scenario)).collect();
    let (scale, description) = match scenario.kind {
        Kind::Closed(_) | Kind::H2load(_) => (
            Scale::Linear,
            "requests per second, median (line: slowest to fastest repetition)",
        ),
        Kind::Open { .. } => (
            Scale::LogMicros,
            "p99 latency, log scale (line: p50 to p99.9), from when each request was due",
        ),
        Kind::Idle => (
            Scale::Linear,
            "resident memory per idle connection, KiB (servers that held every connection)",
        ),
        Kind::Syscalls(_) => (
            Scale::Linear,
            "system calls per request (strace -c -f, the measured window only)",
        ),
        Kind::Handshakes(_) => (
            Scale::Linear,
            "handshakes per second, each with one request (line: slowest to fastest repetition)",
        ),
        Kind::HandshakeInstructions => (
            Scale::Linear,
            "server instructions per full TLS 1.3 handshake with X25519 (callgrind)",
        ),
        Kind::PageLoad(_) => (
            Scale::Linear,
            "page time, ms, median over the repetitions of each one's p50 (line: p50 to p99)",
        ),
    };
    let root = SVGBackend::new(path, (WIDTH, height(bars.len()))).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(HEADER_HEIGHT);
    draw_header(&header, scenario.title)?;
    let names = name_width(&bars);
    draw_panel(&body, &bars, scale, description, names)?;
    root.present()?;
    Ok(())
}

/// The overview: every server on the everyday load, requests per second on the left and CPU
/// per request on the right, on the same rows.
fn draw_overview(report: &Report, path: &Path) -> Result<(), Box<dyn Error>> {
    let rows = rows_of(report, OVERVIEW_SCENARIO);
    let mut rates = Vec::new();
    let mut costs = Vec::new();
    for row in &rows {
        if !row.status.measured() {
            rates.push(words(row, row.status.label().to_owned()));
            costs.push(words(row, String::new()));
            continue;
        }
        let summary = row.summary();
        let name = report::short_name(&row.server);
        rates.push(Bar {
            name: name.clone(),
            value: summary
                .requests_per_second
                .map(|rate| (rate.median, rate.min, rate.max)),
            text: summary
                .requests_per_second
                .map_or("-".into(), |rate| report::count(rate.median)),
            colour: colour(row),
        });
        costs.push(Bar {
            name,
            value: summary.cpu_us_per_request.map(|cpu| (cpu, cpu, cpu)),
            text: summary
                .cpu_us_per_request
                .map_or("-".into(), |cpu| format!("{cpu:.1} µs")),
            colour: colour(row),
        });
    }
    let root = SVGBackend::new(path, (WIDTH, height(rows.len()))).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(HEADER_HEIGHT);
    draw_header(
        &header,
        "Every server on a small file, 50 keep-alive connections, one core",
    )?;
    if rows.is_empty() {
        body.draw(&Text::new(
            format!("{OVERVIEW_SCENARIO} was not part of this run"),
            (MARGIN as i32, MARGIN as i32),
            ("sans-serif", TEXT_FONT),
        ))?;
        root.present()?;
        return Ok(());
    }
    let names = name_width(&rates);
    let (left, right) = body.split_horizontally(names + (WIDTH - names) / 2);
    draw_panel(
        &left,
        &rates,
        Scale::Linear,
        "requests per second (more is better)",
        names,
    )?;
    draw_panel(
        &right,
        &costs,
        Scale::Linear,
        "server CPU µs per request (less is better)",
        0,
    )?;
    root.present()?;
    Ok(())
}

fn height(bars: usize) -> u32 {
    HEADER_HEIGHT + ROW_HEIGHT * bars.max(1) as u32 + AXIS_HEIGHT + MARGIN
}

/// Approximate width of `text` in pixels: sans-serif averages a little over half its size.
fn text_width(text: &str, font: u32) -> u32 {
    (text.chars().count() as f64 * font as f64 * 0.56).ceil() as u32
}

/// Room on the left for the longest server name.
fn name_width(bars: &[Bar]) -> u32 {
    bars.iter()
        .map(|bar| text_width(&bar.name, NAME_FONT))
        .max()
        .unwrap_or(0)
        + 16
}

/// The title, and a key saying what each colour means.
fn draw_header(area: &DrawingArea<SVGBackend, Shift>, title: &str) -> Result<(), Box<dyn Error>> {
    let margin = MARGIN as i32;
    area.draw(&Text::new(
        title.to_owned(),
        (margin, margin),
        ("sans-serif", TITLE_FONT)
            .into_font()
            .style(FontStyle::Bold),
    ))?;
    let mut x = margin;
    let y = margin + TITLE_FONT as i32 + 14;
    let square = NAME_FONT as i32 - 4;
    for (colour, meaning) in [
        (REFERENCE, "reference server"),
        (STAGE, "stage"),
        (WITH_ERRORS, "had errors"),
    ] {
        area.draw(&Rectangle::new(
            [(x, y + 2), (x + square, y + 2 + square)],
            colour.filled(),
        ))?;
        x += square + 8;
        area.draw(&Text::new(meaning, (x, y), ("sans-serif", NAME_FONT)))?;
        x += text_width(meaning, NAME_FONT) as i32 + 28;
    }
    Ok(())
}

/// Horizontal bars, one row per bar, the first at the top, with each bar's text beside it.
/// `names` is the width of the server names on the left (0 for none).
fn draw_panel(
    area: &DrawingArea<SVGBackend, Shift>,
    bars: &[Bar],
    scale: Scale,
    description: &str,
    names: u32,
) -> Result<(), Box<dyn Error>> {
    let rows = bars.len().max(1);
    let plot_width = f64::from(
        area.dim_in_pixel()
            .0
            .saturating_sub(names + 2 * MARGIN)
            .max(100),
    );
    let (low, high) = x_range(bars, scale, plot_width);
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .x_label_area_size(AXIS_HEIGHT)
        .y_label_area_size(names)
        // A segmented range `0..n` has n + 1 segments, one per bar here.
        .build_cartesian_2d(
            low..high,
            (0..rows.saturating_sub(1).max(1)).into_segmented(),
        )?;
    let labels: Vec<String> = bars.iter().map(|bar| bar.name.clone()).collect();
    // The first server at the top: row i is drawn in segment rows - 1 - i.
    let label = move |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(segment) if *segment < rows => {
            labels.get(rows - 1 - segment).cloned().unwrap_or_default()
        }
        _ => String::new(),
    };
    let axis_label = move |position: &f64| scale.label(*position);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&label)
        .y_label_style(("sans-serif", NAME_FONT))
        .x_labels(match scale {
            Scale::Linear => 6,
            // Room for a label at every power of ten, so that the steps are whole powers.
            Scale::LogMicros => (high - low).ceil() as usize + 1,
        })
        .x_label_formatter(&axis_label)
        .x_label_style(("sans-serif", TEXT_FONT))
        .x_desc(description)
        .axis_desc_style(("sans-serif", TEXT_FONT))
        .draw()?;
    let fits = (plot_width / (f64::from(TEXT_FONT) * 0.56)) as usize;
    for (i, bar) in bars.iter().enumerate() {
        let segment = rows - 1 - i;
        let centre = SegmentValue::CenterOf(segment);
        let text_at = match bar.value {
            Some((value, line_low, line_high)) => {
                let end = scale.position(value);
                let mut rectangle = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(segment)),
                        (end, SegmentValue::Exact(segment + 1)),
                    ],
                    bar.colour.filled(),
                );
                rectangle.set_margin(6, 6, 0, 0);
                chart.draw_series(std::iter::once(rectangle))?;
                let (from, to) = (scale.position(line_low), scale.position(line_high));
                if to > from {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(from, centre.clone()), (to, centre.clone())],
                        BLACK.stroke_width(2),
                    )))?;
                }
                end.max(to)
            }
            None => low,
        };
        let text = shortened(&bar.text, fits);
        let style = ("sans-serif", TEXT_FONT)
            .into_font()
            .color(&if bar.value.is_some() {
                BLACK
            } else {
                NO_NUMBERS
            });
        chart.draw_series(std::iter::once(
            EmptyElement::at((text_at, centre.clone()))
                + Text::new(text, (8, -(TEXT_FONT as i32) / 2), style),
        ))?;
    }
    Ok(())
}

/// The axis's range in positions: from zero (or, on a log scale, the power of ten below the
/// smallest value) to far enough right that every bar's text fits beside it.
fn x_range(bars: &[Bar], scale: Scale, plot_width: f64) -> (f64, f64) {
    let ends: Vec<(f64, f64, f64)> = bars
        .iter()
        .filter_map(|bar| {
            bar.value.map(|(value, low, high)| {
                let start = scale.position(value.min(low));
                let end = scale.position(value.max(high));
                // Text wider than most of the plot is cut (see `shortened`).
                let text = f64::from(text_width(&bar.text, TEXT_FONT) + 12).min(plot_width * 0.7);
                (start, end, text)
            })
        })
        .collect();
    let low = match scale {
        Scale::Linear => 0.0,
        Scale::LogMicros => ends
            .iter()
            .map(|(start, _, _)| start.floor())
            .fold(f64::INFINITY, f64::min),
    };
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    // A bar ending at `end` with text `text` px wide fits when
    // (end - low) / (high - low) * plot_width + text <= plot_width.
    let high = ends
        .iter()
        .map(|(_, end, text)| low + (end - low) * plot_width / (plot_width - text))
        .fold(low, f64::max);
    if high > low {
        (low, high)
    } else {
        (low, low + 1.0)
    }
}

/// `text` cut to `chars` characters, with an ellipsis when it was cut.
fn shortened(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
