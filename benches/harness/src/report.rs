//! The harness's results and how they are written: the raw JSON, and the markdown tables the book
//! includes, with the ratios to nginx and to the floor server as the headline columns.
//!
//! A [`Row`] is one server in one scenario. It always exists, whether the server was measured,
//! does not apply (nginx has no `/slow`), could not start (a stage still being written), or fell
//! over (a blocking stage facing 1000 connections): a missing row would hide exactly what the
//! book wants to show.
//!
//! Repetitions are summarised by the median, with the smallest and largest value as the spread
//! ([`Spread`]); a median of three ignores one bad run, and the spread shows how noisy the run was.
//!
//! The markdown is written by the `tables` submodule, whose functions are re-exported here: small
//! tables that fit the book's text column, short server names ([`short_name`]) and the legend
//! that spells them out ([`legend_markdown`]).

use serde_json::{json, Value};

use crate::machine::Machine;
use crate::scenario::Scenario;

/// The row names the ratio columns divide by.
pub const NGINX: &str = "nginx";
pub const FLOOR: &str = "floor";

/// One measured repetition (closed loop or open loop).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Complete responses.
    pub requests: u64,
    /// Length of the measured run, seconds.
    pub seconds: f64,
    /// Response bytes received.
    pub bytes: u64,
    /// Socket errors, timeouts and responses of status 400 or more, together.
    pub errors: u64,
    /// Latency, microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// CPU time (user + system) of all the server's processes during the run, seconds.
    pub cpu_seconds: Option<f64>,
    /// Open loop only: the rate asked for, requests per second.
    pub target_rate: Option<f64>,
    /// Open loop only: the generator's own lateness at p99, microseconds.
    pub lateness_p99_us: Option<f64>,
    /// Context switches of all the server's threads during the run: voluntary (a thread
    /// blocked) and involuntary (the scheduler took the CPU away); a thread that ended during
    /// the run counts up to its last reading ([`crate::procfs::SwitchCounter`]). `None` in
    /// results written before the harness read them.
    pub voluntary_switches: Option<u64>,
    pub involuntary_switches: Option<u64>,
    /// Handshake loads only: how many of the `requests` (each a connection with its own
    /// handshake) resumed a session.
    pub resumed: Option<u64>,
}

impl Sample {
    pub fn requests_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// A high percentile as measured, or NaN (left out of medians, shown as `-`) when it is 0
    /// above a non-zero median: wrk 4.1 returns 0 for percentiles it lost track of, which
    /// happens under heavy pipelining, and 0 would read as "no latency at all".
    pub fn tail(&self, percentile_us: f64) -> f64 {
        if percentile_us == 0.0 && self.p50_us > 0.0 {
            f64::NAN
        } else {
            percentile_us
        }
    }

    /// The server's context switches (both kinds) per answered request.
    pub fn context_switches_per_request(&self) -> Option<f64> {
        let switches = self.voluntary_switches? + self.involuntary_switches?;
        (self.requests > 0).then(|| switches as f64 / self.requests as f64)
    }

    /// Server CPU microseconds per answered request.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.cpu_seconds?;
        (self.requests > 0).then(|| cpu * 1e6 / self.requests as f64)
    }
}

/// What became of one server in one scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Measured, no errors.
    Ok,
    /// Measured, with errors: the server did not fully survive the scenario.
    Errors,
    /// The scenario does not apply to this server (the reason says why).
    NotApplicable(String),
    /// The server could not be run (not installed, not built, not implemented yet).
    Unavailable(String),
    /// The run itself failed (the server died, nothing was answered, the generator failed).
    Failed(String),
}

impl Status {
    /// Whether there are numbers to show.
    pub fn measured(&self) -> bool {
        matches!(self, Status::Ok | Status::Errors)
    }

    /// What became of the row, in words: `ok`, `not applicable`, ...
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Errors => "errors",
            Status::NotApplicable(_) => "not applicable",
            Status::Unavailable(_) => "unavailable",
            Status::Failed(_) => "failed",
        }
    }

    /// What became of the row and why, in words for a reader: `failed: the server died`.
    pub fn words(&self) -> String {
        match self.reason() {
            Some(reason) if !reason.is_empty() => format!("{}: {reason}", self.label()),
            _ => self.label().to_owned(),
        }
    }

    /// Why there are no numbers, if there are none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::NotApplicable(reason)
            | Status::Unavailable(reason)
            | Status::Failed(reason) => Some(reason),
            Status::Ok | Status::Errors => None,
        }
    }
}

/// The idle-connections scenario's measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Idle {
    /// Connections the harness tried to hold.
    pub attempted: usize,
    /// Connections that were answered and then held open.
    pub held: usize,
    /// Resident memory of the server's processes before and after, bytes.
    pub rss_before: u64,
    pub rss_after: u64,
    /// Seconds from the first connect to the last answer of the held connections. `None` in
    /// results written before the harness timed it, as are the fields below.
    pub open_seconds: Option<f64>,
    /// One request on a new connection while the others are held: connect to last byte of the
    /// answer, microseconds. `None` also when it was not answered (the note says why).
    pub new_request_us: Option<f64>,
    /// Held connections asked for one more request each (up to [`crate::idle::REUSED`]), how
    /// many of them were answered, and the time from the first request sent to the last answer.
    pub reused_asked: usize,
    pub reused_answered: usize,
    pub reuse_seconds: Option<f64>,
}

impl Idle {
    /// Extra resident memory per held connection, bytes.
    pub fn bytes_per_connection(&self) -> Option<f64> {
        (self.held > 0)
            .then(|| self.rss_after.saturating_sub(self.rss_before) as f64 / self.held as f64)
    }
}

/// The slow-clients scenario's slow connections, over the row's measured windows
/// ([`crate::slow_clients`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowClients {
    /// Slow connections the harness kept open beside the load.
    pub connections: usize,
    /// For each measured window (one per sample, in order): slow connections the server cut.
    pub cut: Vec<u64>,
    /// Of all those cut, the ones the server answered (a 408) rather than only closed.
    pub answered: u64,
    /// The fewest slow connections open at once during the windows.
    pub fewest_connected: usize,
    /// Connects of new slow connections that failed or timed out during the windows.
    pub failed_connects: u64,
}

impl SlowClients {
    /// Slow connections cut in a window, the median of the windows.
    pub fn cut_per_window(&self) -> Option<f64> {
        median(&self.cut.iter().map(|&cut| cut as f64).collect::<Vec<_>>())
    }

    pub fn to_json(&self) -> Value {
        json!({
            "connections": self.connections,
            "cut_per_window": self.cut,
            "answered": self.answered,
            "fewest_connected": self.fewest_connected,
            "failed_connects": self.failed_connects,
        })
    }

    pub fn from_json(value: &Value) -> Option<SlowClients> {
        let slow = value.as_object()?;
        let number = |name: &str| slow.get(name).and_then(Value::as_u64).unwrap_or(0);
        Some(SlowClients {
            connections: number("connections") as usize,
            cut: slow
                .get("cut_per_window")
                .and_then(Value::as_array)
                .map(|cuts| cuts.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
            answered: number("answered"),
            fewest_connected: number("fewest_connected") as usize,
            failed_connects: number("failed_connects"),
        })
    }
}

/// One server in one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub server: String,
    pub scenario: String,
    pub status: Status,
    pub samples: Vec<Sample>,
    /// Largest sampled sum of resident memory over the server's processes, bytes.
    pub peak_rss_bytes: Option<u64>,
    pub idle: Option<Idle>,
    /// The system-call scenarios' counts.
    pub syscalls: Option<crate::syscalls::Counts>,
    /// The handshake instruction counts (callgrind).
    pub instructions: Option<crate::callgrind::HandshakeInstructions>,
    /// The slow-clients scenario's slow connections.
    pub slow_clients: Option<SlowClients>,
    /// Anything a reader needs to read the numbers right.
    pub note: String,
}

impl Row {
    /// A row with no numbers.
    pub fn without_numbers(server: &str, scenario: &str, status: Status) -> Row {
        Row {
            server: server.to_owned(),
            scenario: scenario.to_owned(),
            status,
            samples: Vec::new(),
            peak_rss_bytes: None,
            idle: None,
            syscalls: None,
            instructions: None,
            slow_clients: None,
            note: String::new(),
        }
    }

    /// The medians and spreads of the samples.
    pub fn summary(&self) -> Summary {
        let rates: Vec<f64> = self
            .samples
            .iter()
            .map(Sample::requests_per_second)
            .collect();
        let pick =
            |value: fn(&Sample) -> f64| median(&self.samples.iter().map(value).collect::<Vec<_>>());
        // A run that answered nothing has no latencies (wrk prints 0 for them): the slow-clients
        // scenario keeps such runs as the measurement they are.
        let latency = |value: fn(&Sample) -> f64| {
            median(
                &self
                    .samples
                    .iter()
                    .filter(|s| s.requests > 0)
                    .map(value)
                    .collect::<Vec<_>>(),
            )
        };
        Summary {
            requests_per_second: Spread::of(&rates),
            megabytes_per_second: pick(|s| {
                if s.seconds > 0.0 {
                    s.bytes as f64 / s.seconds / 1e6
                } else {
                    0.0
                }
            }),
            p50_us: latency(|s| s.p50_us),
            p99_us: latency(|s| s.tail(s.p99_us)),
            p999_us: latency(|s| s.tail(s.p999_us)),
            max_us: latency(|s| s.max_us),
            errors: self.samples.iter().map(|s| s.errors).sum(),
            cpu_us_per_request: median(
                &self
                    .samples
                    .iter()
                    .filter_map(Sample::cpu_us_per_request)
                    .collect::<Vec<_>>(),
            ),
            context_switches_per_request: median(
                &self
                    .samples
                    .iter()
                    .filter_map(Sample::context_switches_per_request)
                    .collect::<Vec<_>>(),
            ),
            target_rate: self.samples.iter().find_map(|s| s.target_rate),
            lateness_p99_us: median(
                &self
                    .samples
                    .iter()
                    .filter_map(|s| s.lateness_p99_us)
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// A row's repetitions, summarised.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub requests_per_second: Option<Spread>,
    pub megabytes_per_second: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub max_us: Option<f64>,
    pub errors: u64,
    pub cpu_us_per_request: Option<f64>,
    /// Median over the repetitions of [`Sample::context_switches_per_request`].
    pub context_switches_per_request: Option<f64>,
    pub target_rate: Option<f64>,
    pub lateness_p99_us: Option<f64>,
}

/// The median of repeated measurements and their range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        Some(Spread {
            median: median(values)?,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// (max - min) / median, the relative width of the spread.
    pub fn relative_width(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median
        } else {
            0.0
        }
    }
}

/// The median (the mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    })
}

/// How fast the load generator itself can go, measured against the floor server.
#[derive(Clone, Debug, PartialEq)]
pub struct Ceiling {
    /// Which generator and load.
    pub generator: String,
    pub requests_per_second: f64,
    /// The floor server's CPU use during the run (1.0 = one core fully busy). Well below the
    /// number of server cores means the generator, not the server, was the limit.
    pub server_cpu_use: Option<f64>,
}

/// The settings of a run, written next to its numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub mode: String,
    pub duration_seconds: u32,
    pub warmup_seconds: u32,
    pub repetitions: usize,
    pub server_cpus: String,
    pub client_cpus: String,
    pub idle_connections: usize,
    /// Which row the open-loop rates were taken from, and its rate.
    pub open_loop_base: Option<(String, f64)>,
    pub command: String,
}

/// Everything one harness run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    pub scenarios: Vec<Scenario>,
    pub servers: Vec<String>,
    pub rows: Vec<Row>,
    pub ceilings: Vec<Ceiling>,
    /// Runs some of the rows were kept from, when a partial run was merged into earlier
    /// results ([`crate::merge`]); empty for a run that measured every row it has.
    pub earlier: Vec<crate::merge::EarlierRun>,
}

impl Report {
    pub fn row(&self, server: &str, scenario: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.server == server && row.scenario == scenario)
    }

    pub(crate) fn reference(&self, server: &str, scenario: &str) -> Option<Summary> {
        self.row(server, scenario)
            .filter(|row| row.status.measured())
            .map(Row::summary)
    }
}

// ANCHOR: json
/// The raw results: every repetition of every row, with the machine and the settings.
pub fn to_json(report: &Report) -> Value {
    let machine = &report.machine;
    let settings = &report.settings;
    json!({
        "servers": report.servers,
        "machine": {
            "cpu": machine.cpu_model,
            "cores": machine.cores,
            "kernel": machine.kernel,
            "date": machine.date,
            "load_average_before": machine.load_before,
            "load_average_after": machine.load_after,
            "tools": machine.tools,
            "commit": machine.commit,
        },
        "settings": {
            "mode": settings.mode,
            "duration_seconds": settings.duration_seconds,
            "warmup_seconds": settings.warmup_seconds,
            "repetitions": settings.repetitions,
            "server_cpus": settings.server_cpus,
            "client_cpus": settings.client_cpus,
            "idle_connections": settings.idle_connections,
            "open_loop_base": settings.open_loop_base.as_ref().map(|(server, rate)| json!({
                "server": server, "requests_per_second": rate
            })),
            "command": settings.command,
        },
        "generator_ceilings": report.ceilings.iter().map(|ceiling| json!({
            "generator": ceiling.generator,
            "requests_per_second": ceiling.requests_per_second,
            "server_cpu_use": ceiling.server_cpu_use,
        })).collect::<Vec<_>>(),
        "scenarios": report.scenarios.iter().map(|scenario| json!({
            "id": scenario.id,
            "title": scenario.title,
            "shows": scenario.shows,
        })).collect::<Vec<_>>(),
        "rows": report.rows.iter().map(row_json).collect::<Vec<_>>(),
        "earlier_runs": report.earlier.iter().map(crate::merge::EarlierRun::to_json).collect::<Vec<_>>(),
    })
}
// ANCHOR_END: json

/// Reads back what [`to_json`] wrote, so tables and charts can be redrawn from a committed run
/// without measuring again (`cargo bench --bench stages -- --render DIR`).
pub fn from_json(json: &Value) -> Result<Report, String> {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let float = |value: &Value| value.as_f64();
    let machine = &json["machine"];
    let settings = &json["settings"];
    let scenarios = json["scenarios"]
        .as_array()
        .ok_or("results.json has no scenarios")?
        .iter()
        .map(|scenario| {
            let id = scenario["id"].as_str().unwrap_or_default();
            crate::scenario::find(id).ok_or(format!("unknown scenario {id:?} in results.json"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .ok_or("results.json has no rows")?
        .iter()
        .map(|row| {
            let reason = text(&row["reason"]);
            let status = match row["status"].as_str() {
                Some("ok") => Status::Ok,
                Some("errors") => Status::Errors,
                Some("not applicable") => Status::NotApplicable(reason),
                Some("unavailable") => Status::Unavailable(reason),
                _ => Status::Failed(reason),
            };
            let samples = row["samples"]
                .as_array()
                .map(|samples| {
                    samples
                        .iter()
                        .map(|sample| Sample {
                            requests: sample["requests"].as_u64().unwrap_or(0),
                            seconds: float(&sample["seconds"]).unwrap_or(0.0),
                            bytes: sample["bytes"].as_u64().unwrap_or(0),
                            errors: sample["errors"].as_u64().unwrap_or(0),
                            p50_us: float(&sample["p50_us"]).unwrap_or(0.0),
                            p99_us: float(&sample["p99_us"]).unwrap_or(0.0),
                            p999_us: float(&sample["p999_us"]).unwrap_or(0.0),
                            max_us: float(&sample["max_us"]).unwrap_or(0.0),
                            cpu_seconds: float(&sample["cpu_seconds"]),
                            target_rate: float(&sample["target_rate"]),
                            lateness_p99_us: float(&sample["lateness_p99_us"]),
                            voluntary_switches: sample["voluntary_switches"].as_u64(),
                            involuntary_switches: sample["involuntary_switches"].as_u64(),
                            resumed: sample["resumed"].as_u64(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let idle = row["idle"].as_object().map(|idle| Idle {
                attempted: idle["attempted"].as_u64().unwrap_or(0) as usize,
                held: idle["held"].as_u64().unwrap_or(0) as usize,
                rss_before: idle["rss_before_bytes"].as_u64().unwrap_or(0),
                rss_after: idle["rss_after_bytes"].as_u64().unwrap_or(0),
                open_seconds: idle.get("open_seconds").and_then(Value::as_f64),
                new_request_us: idle.get("new_request_us").and_then(Value::as_f64),
                reused_asked: idle
                    .get("reused_asked")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize,
                reused_answered: idle
                    .get("reused_answered")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize,
                reuse_seconds: idle.get("reuse_seconds").and_then(Value::as_f64),
            });
            Row {
                server: text(&row["server"]),
                scenario: text(&row["scenario"]),
                status,
                samples,
                peak_rss_bytes: row["peak_rss_bytes"].as_u64(),
                idle,
                syscalls: crate::syscalls::Counts::from_json(&row["syscalls"]),
                instructions: crate::callgrind::HandshakeInstructions::from_json(
                    &row["instructions"],
                ),
                slow_clients: SlowClients::from_json(&row["slow_clients"]),
                note: text(&row["note"]),
            }
        })
        .collect();
    // The run's own order (each variant after its stage). Older files have no list: their rows
    // name the servers scenario by scenario, which would put a variant measured in a few
    // scenarios only after the last stage, so those are put back in the harness's order.
    let listed = json["servers"].is_array();
    let mut servers: Vec<String> = json["servers"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for row in &rows {
        if !servers.contains(&row.server) {
            servers.push(row.server.clone());
        }
    }
    if !listed {
        let order: Vec<String> = crate::servers::servers(&crate::options::STAGES)
            .into_iter()
            .map(|server| server.name)
            .collect();
        // Unknown names (a server since removed) keep their place after the known ones.
        servers.sort_by_key(|name| {
            order
                .iter()
                .position(|known| known == name)
                .unwrap_or(usize::MAX)
        });
    }
    Ok(Report {
        machine: Machine {
            cpu_model: text(&machine["cpu"]),
            cores: machine["cores"].as_u64().unwrap_or(0) as usize,
            kernel: text(&machine["kernel"]),
            date: text(&machine["date"]),
            load_before: text(&machine["load_average_before"]),
            load_after: text(&machine["load_average_after"]),
            tools: machine["tools"]
                .as_array()
                .map(|tools| tools.iter().map(text).collect())
                .unwrap_or_default(),
            commit: text(&machine["commit"]),
        },
        settings: Settings {
            mode: text(&settings["mode"]),
            duration_seconds: settings["duration_seconds"].as_u64().unwrap_or(0) as u32,
            warmup_seconds: settings["warmup_seconds"].as_u64().unwrap_or(0) as u32,
            repetitions: settings["repetitions"].as_u64().unwrap_or(0) as usize,
            server_cpus: text(&settings["server_cpus"]),
            client_cpus: text(&settings["client_cpus"]),
            idle_connections: settings["idle_connections"].as_u64().unwrap_or(0) as usize,
            open_loop_base: settings["open_loop_base"].as_object().and_then(|base| {
                Some((text(&base["server"]), base["requests_per_second"].as_f64()?))
            }),
            command: text(&settings["command"]),
        },
        scenarios,
        servers,
        rows,
        ceilings: json["generator_ceilings"]
            .as_array()
            .map(|ceilings| {
                ceilings
                    .iter()
                    .map(|ceiling| Ceiling {
                        generator: text(&ceiling["generator"]),
                        requests_per_second: float(&ceiling["requests_per_second"]).unwrap_or(0.0),
                        server_cpu_use: float(&ceiling["server_cpu_use"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        earlier: json["earlier_runs"]
            .as_array()
            .map(|runs| {
                runs.iter()
                    .map(crate::merge::EarlierRun::from_json)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn row_json(row: &Row) -> Value {
    let summary = row.summary();
    json!({
        "server": row.server,
        "scenario": row.scenario,
        "status": row.status.label(),
        "reason": row.status.reason(),
        "note": row.note,
        "peak_rss_bytes": row.peak_rss_bytes,
        "idle": row.idle.map(|idle| json!({
            "attempted": idle.attempted,
            "held": idle.held,
            "rss_before_bytes": idle.rss_before,
            "rss_after_bytes": idle.rss_after,
            "bytes_per_connection": idle.bytes_per_connection(),
            "open_seconds": idle.open_seconds,
            "new_request_us": idle.new_request_us,
            "reused_asked": idle.reused_asked,
            "reused_answered": idle.reused_answered,
            "reuse_seconds": idle.reuse_seconds,
        })),
        "syscalls": row.syscalls.as_ref().map(crate::syscalls::Counts::to_json),
        "instructions": row.instructions.as_ref().map(crate::callgrind::HandshakeInstructions::to_json),
        "slow_clients": row.slow_clients.as_ref().map(SlowClients::to_json),
        "summary": {
            "requests_per_second": summary.requests_per_second.map(|s| json!({
                "median": s.median, "min": s.min, "max": s.max
            })),
            "megabytes_per_second": summary.megabytes_per_second,
            "p50_us": summary.p50_us,
            "p99_us": summary.p99_us,
            "p999_us": summary.p999_us,
            "max_us": summary.max_us,
            "errors": summary.errors,
            "cpu_us_per_request": summary.cpu_us_per_request,
            "context_switches_per_request": summary.context_switches_per_request,
            "target_rate": summary.target_rate,
            "lateness_p99_us": summary.lateness_p99_us,
        },
        "samples": row.samples.iter().map(|sample| json!({
            "requests": sample.requests,
            "seconds": sample.seconds,
            "bytes": sample.bytes,
            "errors": sample.errors,
            "p50_us": sample.p50_us,
            "p99_us": sample.p99_us,
            "p999_us": sample.p999_us,
            "max_us": sample.max_us,
            "cpu_seconds": sample.cpu_seconds,
            "target_rate": sample.target_rate,
            "lateness_p99_us": sample.lateness_p99_us,
            "voluntary_switches": sample.voluntary_switches,
            "involuntary_switches": sample.involuntary_switches,
            "resumed": sample.resumed,
        })).collect::<Vec<_>>(),
    })
}

pub use crate::goals::{goals_markdown, instruction_counts_from_json, InstructionCounts};
pub use tables::{
    ceilings_markdown, count, header_markdown, legend_markdown, micros, ratio, scenario_markdown,
    server_markdown, short_name, MAX_COLUMNS,
};

mod tables;

pub use tables::pageload::comparison_markdown as page_load_markdown;

#[cfg(test)]
mod tests;
