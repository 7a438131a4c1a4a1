//! h2load, nghttp2's HTTP/2 load generator, for the HTTP/2 scenarios: its arguments, and the
//! parsing of what it prints and of its per-request log.
//!
//! h2load's summary gives requests/s ("finished in 5.00s, 41011.00 req/s"), the succeeded,
//! failed, errored and timed-out counts, the status classes, and for "time for request" only
//! min, max, mean and standard deviation: no percentiles. The percentiles the tables show come
//! from its `--log-file` instead, one line per request (start time, status, microseconds to the
//! end of the response), so they are the same p50/p99/p99.9 as wrk's rows, over every request
//! of the measured window.
//!
//! Errors: h2load counts a request as failed when it errored, timed out, or was answered with a
//! status other than 2xx, so `failed` alone would be the sum; the harness takes the larger of
//! `failed` and errored + timeout + non-2xx, so that a version counting them apart is not
//! undercounted and none is counted twice.

use std::fmt;

/// One HTTP/2 load: `connections` connections, each with up to `streams` requests in flight
/// (`-m`), all for `path`, for a fixed duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Load {
    pub path: &'static str,
    pub connections: u32,
    pub streams: u32,
}

/// What one h2load run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// Requests answered with a 2xx status.
    pub succeeded: u64,
    pub failed: u64,
    pub errored: u64,
    pub timeout: u64,
    /// Responses of status 3xx, 4xx or 5xx.
    pub not_2xx: u64,
    /// The measured window, seconds, as h2load reports it.
    pub seconds: f64,
    /// Bytes received, headers and data.
    pub bytes: u64,
    /// "time for request", microseconds.
    pub mean_us: f64,
    pub max_us: f64,
}

impl Measured {
    /// Failed requests, each once (see the module's documentation).
    pub fn errors(&self) -> u64 {
        self.failed.max(self.errored + self.timeout + self.not_2xx)
    }
}

/// Latency percentiles from h2load's `--log-file`, microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Lines read (requests that got an answer, of any status).
    pub requests: u64,
}

/// Why h2load's output could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A line h2load always prints was not there (the text is what was looked for).
    Missing(&'static str),
    /// The line was there, but a number in it could not be read.
    BadNumber { line: String },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Missing(what) => write!(f, "h2load printed no {what:?} line"),
            ParseError::BadNumber { line } => write!(f, "cannot read h2load's line {line:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// h2load's arguments for `load` against `base_url` (`https://ADDR` or `http://ADDR`: h2load
/// speaks h2 over TLS by ALPN, and h2c with prior knowledge over `http://`) for `seconds`,
/// writing every request to `log_file` when it is given.
pub fn arguments(
    load: &H2Load,
    base_url: &str,
    seconds: u32,
    log_file: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        // One thread: the generator is pinned to one core, as wrk is.
        "-t".to_owned(),
        "1".to_owned(),
        "-c".to_owned(),
        load.connections.to_string(),
        "-m".to_owned(),
        load.streams.to_string(),
        "-D".to_owned(),
        seconds.to_string(),
    ];
    if let Some(log_file) = log_file {
        args.push(format!("--log-file={log_file}"));
    }
    args.push(format!("{base_url}{}", load.path));
    args
}

// ANCHOR: h2load_parse
/// Reads h2load's summary from its stdout.
pub fn parse_output(stdout: &str) -> Result<Measured, ParseError> {
    let line = |start: &'static str| {
        stdout
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with(start))
            .ok_or(ParseError::Missing(start))
    };
    let bad = |line: &str| ParseError::BadNumber {
        line: line.to_owned(),
    };

    // finished in 5.00s, 41011.00 req/s, 1.30MB/s
    let finished = line("finished in")?;
    let seconds = finished
        .strip_prefix("finished in")
        .and_then(|rest| rest.split(',').next())
        .and_then(|time| duration_us(time.trim()))
        .ok_or_else(|| bad(finished))?
        / 1e6;

    // requests: 205055 total, 205055 started, 205055 done, 205055 succeeded, 0 failed, ...
    let requests = line("requests:")?;
    let count = |text: &str, word: &str| counted(text, word).ok_or_else(|| bad(text));
    let succeeded = count(requests, "succeeded")?;
    let failed = count(requests, "failed")?;
    let errored = count(requests, "errored")?;
    let timeout = count(requests, "timeout")?;

    // status codes: 205055 2xx, 0 3xx, 0 4xx, 0 5xx
    let statuses = line("status codes:")?;
    let not_2xx = count(statuses, "3xx")? + count(statuses, "4xx")? + count(statuses, "5xx")?;

    // traffic: 6.52MB (6837155) total, ...
    let traffic = line("traffic:")?;
    let bytes = traffic
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(number, _)| number.parse().ok())
        .ok_or_else(|| bad(traffic))?;

    //                      min         max         mean         sd        +/- sd
    // time for request:      212us     11.09ms      1.19ms       404us    88.74%
    let times = line("time for request:")?;
    let cells: Vec<&str> = times
        .trim_start_matches("time for request:")
        .split_whitespace()
        .collect();
    let (max_us, mean_us) = match cells.as_slice() {
        [_min, max, mean, ..] => (
            duration_us(max).ok_or_else(|| bad(times))?,
            duration_us(mean).ok_or_else(|| bad(times))?,
        ),
        _ => return Err(bad(times)),
    };
    Ok(Measured {
        succeeded,
        failed,
        errored,
        timeout,
        not_2xx,
        seconds,
        bytes,
        mean_us,
        max_us,
    })
}
// ANCHOR_END: h2load_parse

/// Percentiles of the 2xx answers in h2load's `--log-file` (tab-separated: start time in
/// microseconds since the epoch, status, microseconds to the end of the response), or `None`
/// when it has no such line.
pub fn parse_log(text: &str) -> Option<Percentiles> {
    let mut micros: Vec<u64> = text
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('\t');
            let _start = cells.next()?;
            let status: u16 = cells.next()?.trim().parse().ok()?;
            let duration: u64 = cells.next()?.trim().parse().ok()?;
            (200..300).contains(&status).then_some(duration)
        })
        .collect();
    micros.sort_unstable();
    let last = micros.len().checked_sub(1)?;
    // Nearest rank: the smallest value with at least `fraction` of the values at or below it.
    let at = |fraction: f64| {
        let rank = ((fraction * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
        micros[rank - 1] as f64
    };
    Some(Percentiles {
        p50_us: at(0.50),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: micros[last] as f64,
        requests: micros.len() as u64,
    })
}

/// `212us`, `11.09ms`, `1.5s` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(number) = text.strip_suffix("us") {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix("ms") {
        (number, 1e3)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|value| value * scale)
}

/// The number before `word` in a comma-separated list such as `205055 succeeded, 0 failed`.
fn counted(text: &str, word: &str) -> Option<u64> {
    let text = text.split_once(':').map_or(text, |(_, rest)| rest);
    text.split(',').find_map(|part| {
        let mut words = part.split_whitespace();
        let number = words.next()?;
        (words.next() == Some(word))
            .then(|| number.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests;
