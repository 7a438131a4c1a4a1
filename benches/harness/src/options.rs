//! The harness's command line: `cargo bench --bench stages -- [OPTIONS]`.

use std::fmt;
use std::path::PathBuf;

use crate::scenario::{self, Kind, Placement};

/// The packages of the stages the harness compares, in book order. Adding a stage is one line.
pub const STAGES: [&str; 7] = [
    "stage01-blocking",
    "stage02-threadpool",
    "stage03-prefork",
    "stage04-evented",
    "stage05-async",
    "stage06-tls",
    "stage07-http2",
];

/// The usage text for `--help`.
pub const USAGE: &str = "\
cargo bench --bench stages -- [OPTIONS]

Builds every stage in release mode, starts each (and nginx, hyper and the floor server) on the
same document root, drives it with wrk, the open-loop generator, an idle-connection client,
strace, and for the TLS scenarios (tls-*, on one certificate the run makes) its own rustls
handshake client and callgrind, for the HTTP/2 scenarios (h2-tls-*, h2c-*) h2load, and writes JSON, markdown and SVG results (a full run takes
about an hour, the TLS scenarios about a quarter of an hour of it).

  --quick                 smoke run: 1 repetition of 1 s, no warm-up, fewer scenarios,
                          results in target/stagecraft-bench/quick/ (a few minutes)
  --stages A,B            only these stages (package names or numbers: 01,04); references always run
  --scenarios A,B         only these scenarios (ids as in the report; the TLS ones start with tls-,
                          the HTTP/2 ones with h2-tls- and h2c-)
                          With --stages or --scenarios, the rows measured replace their own in
                          DIR/results.json and every other row there is kept: all of DIR's
                          tables are drawn again from the merged results.
  --duration SECONDS      length of each measured run (default 5; quick: 1)
  --warmup SECONDS        unmeasured load before the first run (default 2; quick: 0)
  --reps N                repetitions per row, median reported (default 3; quick: 1)
  --idle-connections N    connections held in idle-connections (default 10000; quick: 1000)
  --server-cpus LIST      CPUs for the server when pinned (default 0)
  --client-cpus LIST      CPUs for the load generator and the harness (default 1)
  --out DIR               where results go (default book/src/results; quick: target/stagecraft-bench/quick)
  --render DIR            measure nothing: redraw DIR's tables and charts from DIR/results.json
  --help                  this text
";

/// Why the command line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionsError {
    MissingValue(String),
    BadNumber {
        option: String,
        value: String,
    },
    UnknownStage(String),
    UnknownScenario(String),
    Unknown(String),
    /// `--help`: not an error, but parsing stops.
    Help,
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::MissingValue(option) => write!(f, "{option} needs a value"),
            OptionsError::BadNumber { option, value } => {
                write!(f, "{option} takes a positive number, not {value:?}")
            }
            OptionsError::UnknownStage(name) => {
                write!(
                    f,
                    "unknown stage {name:?}; the stages are {}",
                    STAGES.join(", ")
                )
            }
            OptionsError::UnknownScenario(id) => {
                let ids: Vec<&str> = scenario::all().iter().map(|s| s.id).collect();
                write!(
                    f,
                    "unknown scenario {id:?}; the scenarios are {}",
                    ids.join(", ")
                )
            }
            OptionsError::Unknown(arg) => write!(f, "unknown argument {arg:?}\n\n{USAGE}"),
            OptionsError::Help => f.write_str(USAGE),
        }
    }
}

impl std::error::Error for OptionsError {}

/// What to run and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub quick: bool,
    pub stages: Vec<&'static str>,
    pub scenarios: Vec<&'static str>,
    pub duration_seconds: u32,
    pub warmup_seconds: u32,
    pub repetitions: usize,
    pub idle_connections: usize,
    pub server_cpus: String,
    pub client_cpus: String,
    /// `None`: the default for the mode, which depends on the workspace directory.
    pub out: Option<PathBuf>,
    /// Redraw the outputs in this directory from its results.json instead of measuring.
    pub render: Option<PathBuf>,
    /// The command line, as a reader would retype it.
    pub command: String,
    /// Whether `--stages` or `--scenarios` chose part of the run: its rows are then merged
    /// into the results already in the output directory ([`crate::merge`]).
    pub partial: bool,
}

/// Scenarios a quick run leaves out to stay near a minute: the unpinned repeats, two of the
/// three open-loop rates, the second system-call load, and the TLS loads other than the
/// everyday one, full and resumed TLS 1.3 handshakes and the idle connections (the callgrind
/// counts start each server four times under valgrind), and the HTTP/2 loads with one stream
/// per connection (the `-m 10` ones, over TLS and h2c, stay).
const NOT_IN_QUICK: [&str; 13] = [
    "syscalls-connection-per-request",
    "small-keepalive-50-2cores",
    "plaintext-pipelined-2cores",
    "open-loop-25",
    "open-loop-75",
    "tls-large-file",
    "tls-connection-per-request",
    "tls-handshakes-full-13-hybrid",
    "tls-handshakes-full-12",
    "tls-handshakes-resumed-12",
    "tls-handshake-instructions",
    "h2-tls-m1",
    "h2c-m1",
];

impl Options {
    /// Parses the arguments after the program name. `--bench`, which `cargo bench` passes to
    /// every bench binary, is ignored.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, OptionsError> {
        let args: Vec<String> = args.into_iter().filter(|arg| arg != "--bench").collect();
        let quick = args.iter().any(|arg| arg == "--quick");
        let mut options = Options {
            quick,
            stages: STAGES.to_vec(),
            scenarios: scenario::all()
                .iter()
                .map(|s| s.id)
                .filter(|id| !quick || !NOT_IN_QUICK.contains(id))
                .collect(),
            duration_seconds: if quick { 1 } else { 5 },
            warmup_seconds: if quick { 0 } else { 2 },
            repetitions: if quick { 1 } else { 3 },
            idle_connections: if quick { 1000 } else { 10_000 },
            server_cpus: "0".into(),
            client_cpus: "1".into(),
            out: None,
            render: None,
            command: command_line(&args),
            partial: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |option: &str| {
                args.next()
                    .ok_or_else(|| OptionsError::MissingValue(option.to_owned()))
            };
            match arg.as_str() {
                "--quick" => {}
                "--help" | "-h" => return Err(OptionsError::Help),
                "--stages" => {
                    options.stages = stages(&value("--stages")?)?;
                    options.partial = true;
                }
                "--scenarios" => {
                    options.scenarios = scenarios(&value("--scenarios")?)?;
                    options.partial = true;
                }
                "--duration" => {
                    options.duration_seconds = number("--duration", value("--duration")?)?
                }
                "--warmup" => {
                    let text = value("--warmup")?;
                    options.warmup_seconds = if text == "0" {
                        0
                    } else {
                        number("--warmup", text)?
                    }
                }
                "--reps" => options.repetitions = number("--reps", value("--reps")?)?,
                "--idle-connections" => {
                    options.idle_connections =
                        number("--idle-connections", value("--idle-connections")?)?
                }
                "--server-cpus" => options.server_cpus = value("--server-cpus")?,
                "--client-cpus" => options.client_cpus = value("--client-cpus")?,
                "--out" => options.out = Some(PathBuf::from(value("--out")?)),
                "--render" => options.render = Some(PathBuf::from(value("--render")?)),
                other => return Err(OptionsError::Unknown(other.to_owned())),
            }
        }
        Ok(options)
    }

    /// Whether the selected scenarios include any open-loop one (which needs the base scenario's
    /// reference rate).
    pub fn wants_open_loop(&self) -> bool {
        self.scenarios
            .iter()
            .filter_map(|id| scenario::find(id))
            .any(|s| matches!(s.kind, Kind::Open { .. }))
    }

    /// Whether any selected scenario runs unpinned.
    pub fn wants_unpinned(&self) -> bool {
        self.scenarios
            .iter()
            .filter_map(|id| scenario::find(id))
            .any(|s| s.placement == Placement::Unpinned)
    }

    /// The mode's name for the report.
    pub fn mode(&self) -> &'static str {
        if self.quick {
            "quick"
        } else {
            "full"
        }
    }
}

fn command_line(args: &[String]) -> String {
    if args.is_empty() {
        "cargo bench --bench stages".to_owned()
    } else {
        format!("cargo bench --bench stages -- {}", args.join(" "))
    }
}

fn number<T: std::str::FromStr + PartialOrd + Default>(
    option: &str,
    text: String,
) -> Result<T, OptionsError> {
    text.parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or(OptionsError::BadNumber {
            option: option.to_owned(),
            value: text,
        })
}

/// `01,stage04-evented` -> the package names, in book order.
fn stages(list: &str) -> Result<Vec<&'static str>, OptionsError> {
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let found = STAGES
            .iter()
            .find(|stage| {
                **stage == name
                    || stage
                        .strip_prefix("stage")
                        .is_some_and(|rest| rest.starts_with(name) && name.len() == 2)
            })
            .ok_or_else(|| OptionsError::UnknownStage(name.to_owned()))?;
        chosen.push(*found);
    }
    Ok(STAGES
        .iter()
        .copied()
        .filter(|stage| chosen.contains(stage))
        .collect())
}

fn scenarios(list: &str) -> Result<Vec<&'static str>, OptionsError> {
    let all = scenario::all();
    let mut chosen = Vec::new();
    for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let found = all
            .iter()
            .find(|scenario| scenario.id == id)
            .ok_or_else(|| OptionsError::UnknownScenario(id.to_owned()))?;
        chosen.push(found.id);
    }
    Ok(all
        .iter()
        .map(|s| s.id)
        .filter(|id| chosen.contains(id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, OptionsError> {
        Options::parse(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn full_run_by_default_and_cargos_bench_flag_is_ignored() {
        let options = parse(&["--bench"]).expect("valid");
        assert!(!options.quick);
        assert_eq!(options.repetitions, 3);
        assert_eq!(options.stages, STAGES);
        assert_eq!(options.scenarios.len(), scenario::all().len());
        assert_eq!(options.command, "cargo bench --bench stages");
        assert!(options.wants_open_loop() && options.wants_unpinned());
        assert!(!options.partial);
    }

    #[test]
    fn quick_is_short_and_leaves_out_the_repeats() {
        let options = parse(&["--quick", "--bench"]).expect("valid");
        assert_eq!(
            (
                options.duration_seconds,
                options.warmup_seconds,
                options.repetitions
            ),
            (1, 0, 1)
        );
        assert!(!options.scenarios.contains(&"open-loop-25"));
        assert!(options.scenarios.contains(&"open-loop-50"));
        assert!(!options.wants_unpinned());
        assert_eq!(options.command, "cargo bench --bench stages -- --quick");
        assert!(!options.partial);
        // The smoke run covers TLS: the everyday load, full and resumed handshakes, idle.
        for id in [
            "tls-small-keepalive-50",
            "tls-handshakes-full-13",
            "tls-handshakes-resumed-13",
            "tls-idle-connections",
        ] {
            assert!(options.scenarios.contains(&id), "{id}");
        }
        assert!(!options.scenarios.contains(&"tls-handshake-instructions"));
        for id in NOT_IN_QUICK {
            assert!(scenario::find(id).is_some(), "{id}");
        }
    }

    #[test]
    fn filters_take_names_or_numbers_and_keep_book_order() {
        let options = parse(&[
            "--stages",
            "stage04-evented,01",
            "--scenarios",
            "plaintext-pipelined,small-keepalive-1",
            "--duration",
            "3",
            "--warmup",
            "0",
        ])
        .expect("valid");
        assert_eq!(options.stages, ["stage01-blocking", "stage04-evented"]);
        assert_eq!(
            options.scenarios,
            ["small-keepalive-1", "plaintext-pipelined"]
        );
        assert_eq!((options.duration_seconds, options.warmup_seconds), (3, 0));
        assert!(!options.wants_open_loop());
        assert!(options.partial);
        let tls = parse(&["--stages", "06", "--quick"]).expect("valid");
        assert_eq!(tls.stages, ["stage06-tls"]);
        assert!(tls.partial && tls.quick);
    }

    #[test]
    fn bad_arguments_are_refused_with_the_reason() {
        assert_eq!(
            parse(&["--stages", "09"]),
            Err(OptionsError::UnknownStage("09".into()))
        );
        assert_eq!(
            parse(&["--scenarios", "nope"]),
            Err(OptionsError::UnknownScenario("nope".into()))
        );
        assert!(matches!(
            parse(&["--reps", "0"]),
            Err(OptionsError::BadNumber { .. })
        ));
        assert_eq!(
            parse(&["--duration"]),
            Err(OptionsError::MissingValue("--duration".into()))
        );
        assert!(matches!(parse(&["--fast"]), Err(OptionsError::Unknown(_))));
        assert_eq!(parse(&["--help"]), Err(OptionsError::Help));
    }
}
