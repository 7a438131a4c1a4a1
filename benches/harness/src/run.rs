//! The harness itself: builds the binaries, then for every scenario and every server starts the
//! server exactly as a user would, drives it, reads its cost from /proc, stops it by PID, and
//! moves on. The result is a [`Report`] with a row for every server in every scenario.
//!
//! The order matters in two places: the closed-loop scenarios run first, because the open-loop
//! rates are fractions of nginx's measured maximum; and the generator ceilings are measured
//! before the open-loop rows, so the report can say whether the generator could have kept up.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::idle;
use crate::machine::Machine;
use crate::nginx;
use crate::options::Options;
use crate::process::{self, Launch, Running};
use crate::procfs::{self, Sampler};
use crate::report::{
    self, Ceiling, Idle, Report, Row, Sample, Settings, SlowClients, Status, FLOOR, NGINX,
};
use crate::scenario::{
    self, Kind, Placement, Scenario, Transport, LARGE_FILE, PLAINTEXT, SMALL_FILE,
};
use crate::slow_clients;
use crate::syscalls;
use crate::tls::{self, Certificate};
use crate::wrk::{self, Load};

pub use crate::servers::{
    not_applicable, runs_in, servers, transport, Server, ServerKind, StageVariant, HYPER,
    NGINX_TUNED, NOTES_EXAMPLE, SIZE_SCENARIOS, STAGE_VARIANTS,
};

/// Fatal problems: the harness cannot measure anything.
#[derive(Debug)]
pub enum HarnessError {
    Io(io::Error),
    /// wrk is required; the message says how to install it.
    NoWrk,
    /// h2load is missing under `CI=true`, where an HTTP/2 scenario may not go unmeasured.
    NoH2load,
    /// A helper binary (floor, hyper, generator) could not be built.
    Build(String),
    /// The run's TLS certificate could not be made.
    Certificate(String),
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::Io(error) => write!(f, "I/O error: {error}"),
            HarnessError::NoWrk => f.write_str(
                "wrk is not installed (run scripts/bench-setup.sh, or apt-get install wrk nginx)",
            ),
            HarnessError::NoH2load => f.write_str(H2LOAD_MISSING),
            HarnessError::Build(message) => write!(f, "build failed: {message}"),
            HarnessError::Certificate(message) => {
                write!(f, "cannot make the TLS certificate: {message}")
            }
        }
    }
}

impl std::error::Error for HarnessError {}

impl From<io::Error> for HarnessError {
    fn from(error: io::Error) -> HarnessError {
        HarnessError::Io(error)
    }
}

/// What an HTTP/2 row says, and a CI run fails with, when h2load is not installed.
pub const H2LOAD_MISSING: &str =
    "h2load is not installed (scripts/bench-setup.sh installs it: apt-get install nghttp2-client)";

/// The binaries and places one run uses.
pub struct Harness {
    options: Options,
    /// Temporary directory for logs, configs, scripts; removed at the end.
    dir: PathBuf,
    /// The document root every server serves: a copy of the bundled site.
    root: PathBuf,
    wrk: PathBuf,
    nginx: Option<PathBuf>,
    /// strace, for the system-call scenarios; without it their rows say so.
    strace: Option<PathBuf>,
    /// h2load, for the HTTP/2 scenarios; without it their rows say so.
    h2load: Option<PathBuf>,
    /// valgrind, for the handshake instruction counts; without it their rows say so.
    valgrind: Option<PathBuf>,
    /// The certificate and key every TLS row is given, when a TLS scenario is selected.
    certificate: Option<Certificate>,
    floor: PathBuf,
    hyper: PathBuf,
    openloop: PathBuf,
    /// Each stage's binary, or why it is unavailable.
    stages: HashMap<&'static str, Result<PathBuf, String>>,
    /// The examples that serve an application of their own on a stage (the notes rows), built
    /// when a scenario of theirs is selected.
    examples: HashMap<&'static str, Result<PathBuf, String>>,
    servers: Vec<Server>,
    rows: Vec<Row>,
    ceilings: Vec<Ceiling>,
    machine: Machine,
    open_loop_base: Option<(String, f64)>,
}

impl Harness {
    /// Checks the tools, copies the site, and builds every binary.
    pub fn prepare(options: Options) -> Result<Harness, HarnessError> {
        let wrk = stagekit::peers::find_on_path("wrk").ok_or(HarnessError::NoWrk)?;
        let nginx = stagekit::peers::find_on_path("nginx").or_else(|| {
            let sbin = PathBuf::from("/usr/sbin/nginx");
            sbin.is_file().then_some(sbin)
        });
        let mut machine = Machine::now(&stagekit::workspace_dir());
        machine.tools.push(first_line_of(&wrk, &["-v"]));
        if let Some(nginx) = &nginx {
            machine.tools.push(first_line_of(nginx, &["-v"]));
        }
        let strace = stagekit::peers::find_on_path("strace");
        if let Some(strace) = &strace {
            machine.tools.push(first_line_of(strace, &["-V"]));
        }
        machine
            .tools
            .push(first_line_of(Path::new("rustc"), &["-V"]));
        let selected: Vec<Scenario> = options
            .scenarios
            .iter()
            .filter_map(|id| scenario::find(id))
            .collect();
        let wants_tls = selected.iter().any(|s| s.transport == Transport::Tls);
        let h2load = stagekit::peers::find_on_path("h2load");
        if selected.iter().any(|s| matches!(s.kind, Kind::H2load(_))) {
            match &h2load {
                // `h2load --version` prints `h2load nghttp2/1.52.0`.
                Some(h2load) => machine.tools.push(first_line_of(h2load, &["--version"])),
                None if std::env::var("CI").as_deref() == Ok("true") => {
                    return Err(HarnessError::NoH2load)
                }
                None => {}
            }
        }
        let valgrind = stagekit::peers::find_on_path("valgrind");
        if wants_tls {
            if let Some(nginx) = &nginx {
                // `nginx -V`'s second line names the OpenSSL it was built with.
                if let Some(line) =
                    crate::machine::command_output(&nginx.display().to_string(), &["-V"], None)
                        .and_then(|text| {
                            text.lines()
                                .find(|l| l.contains("OpenSSL"))
                                .map(str::to_owned)
                        })
                {
                    machine.tools.push(format!("nginx {}", line.trim()));
                }
            }
            machine.tools.push(tls::CLIENT.to_owned());
        }
        if selected
            .iter()
            .any(|s| s.kind == Kind::HandshakeInstructions)
        {
            if let Some(valgrind) = &valgrind {
                machine.tools.push(first_line_of(valgrind, &["--version"]));
            }
        }

        let dir = std::env::temp_dir().join(format!("stagecraft-bench-{}", std::process::id()));
        let root = dir.join("root");
        copy_dir(&stagekit::site_dir(), &root)?;
        write_compressible_files(&root)?;
        let certificate = if wants_tls {
            Some(Certificate::make(&dir.join("tls")).map_err(HarnessError::Certificate)?)
        } else {
            None
        };

        eprintln!(
            "building the floor server, the hyper reference and the open-loop generator (release)"
        );
        let floor = build_example("floor").map_err(HarnessError::Build)?;
        let hyper = build_example("hyper_ref").map_err(HarnessError::Build)?;
        let openloop = build_example("openloop").map_err(HarnessError::Build)?;
        let mut stages = HashMap::new();
        for stage in &options.stages {
            eprintln!("building {stage} (release)");
            let built =
                stagekit::build::stage_binary(stage).map_err(|error| format!("not built: {error}"));
            stages.insert(*stage, built);
        }
        let mut examples = HashMap::new();
        if selected
            .iter()
            .any(|s| scenario::NOTES_SCENARIOS.contains(&s.id))
        {
            eprintln!("building the {NOTES_EXAMPLE} example (release)");
            let built = stagekit::build::example_binary(APP_EXAMPLES_PACKAGE, NOTES_EXAMPLE)
                .map_err(|error| format!("not built: {error}"));
            examples.insert(NOTES_EXAMPLE, built);
        }
        let servers = servers(&options.stages);
        Ok(Harness {
            options,
            dir,
            root,
            wrk,
            nginx,
            strace,
            h2load,
            valgrind,
            certificate,
            floor,
            hyper,
            openloop,
            stages,
            examples,
            servers,
            rows: Vec::new(),
            ceilings: Vec::new(),
            machine,
            open_loop_base: None,
        })
    }

    /// Runs every selected scenario and returns the report.
    pub fn run(mut self) -> Report {
        let selected: Vec<Scenario> = scenario::all()
            .into_iter()
            .filter(|s| self.options.scenarios.contains(&s.id))
            .collect();
        let servers = self.servers.clone();
        let total = selected
            .iter()
            .map(|s| servers.iter().filter(|v| runs_in(&v.name, s.id)).count())
            .sum::<usize>();
        let mut done = 0;
        // Closed loop first: the open-loop rates come from these numbers.
        let (open, closed): (Vec<&Scenario>, Vec<&Scenario>) = selected
            .iter()
            .partition(|s| matches!(s.kind, Kind::Open { .. }));
        for scenario in &closed {
            for server in servers.iter().filter(|v| runs_in(&v.name, scenario.id)) {
                done += 1;
                let row = self.row(server, scenario);
                eprintln!("[{done}/{total}] {}", progress(&row));
                self.rows.push(row);
            }
        }
        if !open.is_empty() || self.options.quick {
            self.measure_ceilings();
        }
        if !open.is_empty() {
            self.open_loop_base = self.reference_rate();
        }
        for scenario in &open {
            for server in servers.iter().filter(|v| runs_in(&v.name, scenario.id)) {
                done += 1;
                let row = self.row(server, scenario);
                eprintln!("[{done}/{total}] {}", progress(&row));
                self.rows.push(row);
            }
        }
        // Back to any CPU for whatever the caller does next.
        let _ = process::pin_current_thread(None);
        self.machine.finish();
        let _ = fs::remove_dir_all(&self.dir);
        Report {
            machine: self.machine,
            settings: Settings {
                mode: self.options.mode().to_owned(),
                duration_seconds: self.options.duration_seconds,
                warmup_seconds: self.options.warmup_seconds,
                repetitions: self.options.repetitions,
                server_cpus: self.options.server_cpus.clone(),
                client_cpus: self.options.client_cpus.clone(),
                idle_connections: self.options.idle_connections,
                open_loop_base: self.open_loop_base,
                command: self.options.command.clone(),
            },
            scenarios: selected,
            servers: self.servers.iter().map(|s| s.name.clone()).collect(),
            rows: self.rows,
            ceilings: self.ceilings,
            earlier: Vec::new(),
        }
    }

    fn row(&mut self, server: &Server, scenario: &Scenario) -> Row {
        if let Some(reason) = not_applicable(&server.kind, scenario) {
            return Row::without_numbers(
                &server.name,
                scenario.id,
                Status::NotApplicable(reason.into()),
            );
        }
        // The harness (and with it wrk's parent and the /proc sampler) stays off the server's
        // core when the server is pinned.
        let client_cpus = match scenario.placement {
            Placement::Pinned => Some(self.options.client_cpus.as_str()),
            Placement::Unpinned => None,
        };
        let _ = process::pin_current_thread(client_cpus);
        if scenario.kind == Kind::HandshakeInstructions {
            // Started twice for each count, under callgrind.
            return self.instructions(server, scenario);
        }
        let mut running = match self.start(server, scenario) {
            Ok(running) => running,
            Err(status) => return Row::without_numbers(&server.name, scenario.id, status),
        };
        let row = match &scenario.kind {
            Kind::Closed(load) => self.closed(&mut running, server, scenario, load),
            Kind::Open { percent } => self.open(&mut running, server, scenario, *percent),
            Kind::Idle => self.idle(&mut running, server, scenario),
            Kind::Syscalls(load) => self.syscalls(&mut running, server, scenario, load),
            Kind::Handshakes(load) => self.handshakes(&mut running, server, scenario, load),
            Kind::H2load(load) => self.h2load(&mut running, server, scenario, load),
            Kind::PageLoad(load) => self.page_load(&mut running, server, scenario, load),
            Kind::HandshakeInstructions => unreachable!("measured above, without `running`"),
        };
        running.stop();
        let mut row = row;
        if scenario.transport == Transport::Tls
            && transport(&server.name, scenario) == Transport::Plain
        {
            let joiner = if row.note.is_empty() { "" } else { "; " };
            row.note = format!(
                "over plain HTTP, without TLS: the baseline (stage 06 is this stage with TLS \
                 added){joiner}{}",
                row.note
            );
        }
        row
    }

    /// Starts `server` configured for `scenario`.
    fn start(&self, server: &Server, scenario: &Scenario) -> Result<Running, Status> {
        self.start_as(server, scenario, None)
    }

    /// Starts `server` configured for `scenario`, under callgrind writing into `callgrind` when
    /// that is given.
    fn start_as(
        &self,
        server: &Server,
        scenario: &Scenario,
        callgrind: Option<&Path>,
    ) -> Result<Running, Status> {
        let pinned = scenario.placement == Placement::Pinned;
        let workers = if pinned {
            1
        } else {
            self.machine.cores.clamp(1, 2)
        };
        let cpus = pinned.then(|| self.options.server_cpus.clone());
        let log = self
            .dir
            .join(format!("{}-{}.log", server.name, scenario.id));
        let root = self.root.display().to_string();
        let addr_any = "127.0.0.1:0".to_owned();
        let idle = scenario.kind == Kind::Idle;
        let tls =
            match transport(&server.name, scenario) {
                Transport::Plain => None,
                Transport::Tls => Some(self.certificate.as_ref().ok_or_else(|| {
                    Status::Failed("no certificate was made for this run".into())
                })?),
            };
        let valgrind = match (callgrind, &self.valgrind) {
            (None, _) => None,
            (Some(out), Some(valgrind)) => Some((valgrind, out)),
            (Some(_), None) => {
                return Err(Status::Unavailable(
                    "valgrind is not installed (scripts/bench-setup.sh installs it)".into(),
                ))
            }
        };
        let launch = |program: &Path, args: Vec<String>| match valgrind {
            None => Launch {
                program: program.to_path_buf(),
                args,
                cpus: cpus.clone(),
            },
            Some((valgrind, out)) => {
                let mut wrapped = vec![
                    "--tool=callgrind".to_owned(),
                    format!("--callgrind-out-file={}", out.display()),
                    program.display().to_string(),
                ];
                wrapped.extend(args);
                Launch {
                    program: valgrind.clone(),
                    args: wrapped,
                    cpus: cpus.clone(),
                }
            }
        };
        let start_error =
            |error: process::StartError| Status::Unavailable(format!("did not start: {error}"));
        match &server.kind {
            ServerKind::Floor => {
                let mut args = vec![
                    "--addr".into(),
                    addr_any,
                    "--threads".into(),
                    workers.to_string(),
                ];
                let (path, close) = match &scenario.kind {
                    Kind::Closed(load) | Kind::Syscalls(load) => (load.path.as_str(), load.close),
                    Kind::Open { .. } => (SMALL_FILE, false),
                    Kind::Idle
                    | Kind::Handshakes(_)
                    | Kind::HandshakeInstructions
                    | Kind::H2load(_)
                    | Kind::PageLoad(_) => (PLAINTEXT, false),
                };
                if path == SMALL_FILE || path == LARGE_FILE {
                    args.push("--body".into());
                    args.push(
                        self.root
                            .join(path.trim_start_matches('/'))
                            .display()
                            .to_string(),
                    );
                }
                if close {
                    args.push("--close".into());
                }
                Running::listening(&launch(&self.floor, args), &log).map_err(start_error)
            }
            ServerKind::Hyper => {
                let mut args = vec![
                    "--addr".into(),
                    addr_any,
                    "--root".into(),
                    root,
                    "--threads".into(),
                    workers.to_string(),
                ];
                // TLS with the run's certificate (ALPN h2 and http/1.1), else h2c when the
                // scenario speaks HTTP/2, else plain HTTP/1.1.
                if let Some(certificate) = tls {
                    args.extend([
                        "--cert".to_owned(),
                        certificate.cert_file.display().to_string(),
                        "--key".to_owned(),
                        certificate.key_file.display().to_string(),
                    ]);
                } else if scenario.is_http2() {
                    args.push("--h2c".into());
                }
                Running::listening(&launch(&self.hyper, args), &log).map_err(start_error)
            }
            ServerKind::Stage {
                package,
                args: extra,
                example,
            } => {
                let binary = match self.stages.get(package) {
                    Some(Ok(binary)) => binary.clone(),
                    Some(Err(reason)) => return Err(Status::Unavailable(reason.clone())),
                    None => return Err(Status::Unavailable("not selected".into())),
                };
                // No --threads or --workers: every stage sizes itself from the CPUs it may run
                // on (taskset included), as it does for a user who starts it without flags.
                let mut args = vec!["--addr".into(), addr_any, "--root".into(), root];
                // An example runs its own application on the stage: the same start-up, the
                // same flags, with `--stage N` to say which.
                let binary = match example {
                    None => binary,
                    Some(name) => {
                        let stage = stage_number(package).ok_or_else(|| {
                            Status::Unavailable(format!("{package} is not named stageNN-..."))
                        })?;
                        args.splice(0..0, ["--stage".to_owned(), stage.to_string()]);
                        match self.examples.get(name) {
                            Some(Ok(binary)) => binary.clone(),
                            Some(Err(reason)) => return Err(Status::Unavailable(reason.clone())),
                            None => return Err(Status::Unavailable(format!("{name} not built"))),
                        }
                    }
                };
                args.extend(extra.iter().map(|arg| (*arg).to_owned()));
                if let Some(certificate) = tls {
                    args.extend([
                        "--cert".to_owned(),
                        certificate.cert_file.display().to_string(),
                        "--key".to_owned(),
                        certificate.key_file.display().to_string(),
                    ]);
                }
                // h2c: stage 07 adds a plain listener for it beside its TLS one, on a port
                // picked here (its second stdout line names it; the port is known already).
                let h2c = if scenario.is_http2() && tls.is_none() {
                    let addr = process::free_local_addr()
                        .map_err(|error| Status::Unavailable(format!("no free port: {error}")))?;
                    args.extend([
                        "--h2c".to_owned(),
                        addr.to_string(),
                        // Its TLS listener, unused here, gets a certificate of its own, kept
                        // in the run's directory rather than the system's temporary one.
                        "--self-signed-cert".to_owned(),
                        self.dir
                            .join(format!("{}-{}-cert.pem", server.name, scenario.id))
                            .display()
                            .to_string(),
                    ]);
                    Some(addr)
                } else {
                    None
                };
                if scenario.slow_clients().is_some() {
                    // Slow heads are cut inside the measured window, not after it.
                    args.extend([
                        "--header-timeout".to_owned(),
                        crate::slow_clients::HEADER_TIMEOUT.to_owned(),
                    ]);
                }
                if idle {
                    // Held connections must outlive the measurement, and there are many of them.
                    args.extend(
                        ["--idle-timeout", "300s", "--max-connections", "30000"].map(String::from),
                    );
                }
                let running = Running::listening(&launch(&binary, args), &log).map_err(
                    |error| match error {
                        process::StartError::Exited { .. } => Status::Unavailable(format!(
                            "{error} (a stage that is still a placeholder exits at once)"
                        )),
                        other => start_error(other),
                    },
                )?;
                Ok(match h2c {
                    Some(addr) => running.plain_at(addr),
                    None => running,
                })
            }
            ServerKind::Nginx(flavour) => {
                let Some(nginx) = &self.nginx else {
                    return Err(Status::Unavailable(
                        "nginx is not installed (scripts/bench-setup.sh installs it)".into(),
                    ));
                };
                let conf_dir = self.dir.join(format!("{}-{}", server.name, scenario.id));
                let addr = process::free_local_addr()
                    .map_err(|error| Status::Unavailable(format!("no free port: {error}")))?;
                let conf = conf_dir.join("nginx.conf");
                let mut text = nginx::config(*flavour, &conf_dir, &self.root, addr, workers, tls);
                if callgrind.is_some() {
                    text = nginx::single_process(&text);
                }
                if scenario.is_http2() {
                    text = nginx::http2(&text);
                }
                if scenario.slow_clients().is_some() {
                    text = nginx::client_header_timeout(&text, crate::slow_clients::HEADER_TIMEOUT);
                }
                fs::create_dir_all(&conf_dir)
                    .and_then(|()| fs::write(&conf, text))
                    .map_err(|error| {
                        Status::Unavailable(format!("cannot write nginx.conf: {error}"))
                    })?;
                let args = vec![
                    "-p".into(),
                    conf_dir.display().to_string(),
                    "-c".into(),
                    conf.display().to_string(),
                    "-e".into(),
                    conf_dir.join("error.log").display().to_string(),
                ];
                let running =
                    Running::on_addr(&launch(nginx, args), addr, &log).map_err(start_error)?;
                Ok(if tls.is_some() {
                    running.over_tls()
                } else {
                    running
                })
            }
        }
    }

    /// How fast the generators go against the floor server, so no number in the report is
    /// mistaken for a server's limit when it is the generator's.
    fn measure_ceilings(&mut self) {
        let floor = Server {
            name: FLOOR.into(),
            kind: ServerKind::Floor,
        };
        let Some(plaintext) = scenario::find("plaintext-pipelined") else {
            return;
        };
        let _ = process::pin_current_thread(Some(&self.options.client_cpus));
        let seconds = self.options.duration_seconds;
        let loads = [
            ("wrk, 1 thread, 50 connections, /plaintext", 1),
            ("wrk, 1 thread, 256 connections, /plaintext 16 deep", 16),
        ];
        for (name, pipeline) in loads {
            let Ok(mut running) = self.start(&floor, &plaintext) else {
                continue;
            };
            let load = Load {
                path: PLAINTEXT.into(),
                connections: if pipeline > 1 { 256 } else { 50 },
                pipeline,
                close: false,
                slow_every: None,
                accept_encoding: None,
                write: None,
                slow_clients: None,
            };
            let before = procfs::tree_usage(running.pid()).cpu_seconds;
            if let Ok(measured) = self.wrk_run(&running, &load, seconds, 1, true) {
                let after = procfs::tree_usage(running.pid()).cpu_seconds;
                self.ceilings.push(Ceiling {
                    generator: name.into(),
                    requests_per_second: measured.requests as f64 / measured.seconds.max(1e-9),
                    server_cpu_use: Some((after - before) / measured.seconds.max(1e-9)),
                });
            }
            running.stop();
        }
        if let Ok(mut running) = self.start(&floor, &plaintext) {
            let before = procfs::tree_usage(running.pid()).cpu_seconds;
            if let Ok(sample) =
                self.openloop_run(&running, 10_000_000.0, scenario::OPEN_LOOP_CONNECTIONS)
            {
                let after = procfs::tree_usage(running.pid()).cpu_seconds;
                self.ceilings.push(Ceiling {
                    generator: "open-loop generator, 50 connections, asked for 10M req/s".into(),
                    requests_per_second: sample.requests_per_second(),
                    server_cpu_use: Some((after - before) / sample.seconds.max(1e-9)),
                });
            }
            running.stop();
        }
        for ceiling in &self.ceilings {
            eprintln!(
                "generator ceiling: {}: {} req/s (floor server's CPU use {})",
                ceiling.generator,
                report::count(ceiling.requests_per_second),
                ceiling
                    .server_cpu_use
                    .map_or("-".into(), |u| format!("{:.0} %", u * 100.0))
            );
        }
    }

    /// The open-loop rates' base: nginx's median in the base scenario, else hyper's, else the
    /// floor's.
    fn reference_rate(&self) -> Option<(String, f64)> {
        [NGINX, NGINX_TUNED, HYPER, FLOOR].iter().find_map(|name| {
            let row = self
                .rows
                .iter()
                .find(|row| row.server == *name && row.scenario == scenario::OPEN_LOOP_BASE)?;
            if !row.status.measured() {
                return None;
            }
            let rate = row.summary().requests_per_second?.median;
            (rate > 0.0).then(|| ((*name).to_owned(), rate))
        })
    }
}

/// Ok, Errors or Failed from the samples, unless a failure was already recorded.
fn settle_status(row: &mut Row) {
    if !matches!(row.status, Status::Ok) {
        return;
    }
    if row.samples.is_empty() {
        row.status = Status::Failed("no run completed".into());
    } else if row.samples.iter().any(|sample| sample.requests == 0) {
        row.status = Status::Failed("a run had no request answered".into());
    } else if row.samples.iter().any(|sample| sample.errors > 0) {
        row.status = Status::Errors;
    }
}

/// Reads the open-loop generator's JSON line.
pub fn parse_openloop(stdout: &str, seconds: f64) -> Result<Sample, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .ok_or("the open-loop generator printed no result")?;
    let json: serde_json::Value = serde_json::from_str(line)
        .map_err(|error| format!("bad generator output ({error}): {line}"))?;
    let number = |pointer: &str| {
        json.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("generator output has no {pointer}: {line}"))
    };
    // A request in flight on each connection when the run stops is normal; more than that
    // unanswered means the server fell behind for good, which counts as errors (wrk would
    // report them as timeouts).
    let connections = scenario::OPEN_LOOP_CONNECTIONS as f64;
    let unanswered = (number("/unanswered")? - connections).max(0.0);
    let errors = number("/errors")? + number("/non_2xx")? + unanswered;
    Ok(Sample {
        requests: number("/completed")? as u64,
        seconds,
        bytes: 0,
        errors: errors as u64,
        p50_us: number("/latency_us/p50")?,
        p99_us: number("/latency_us/p99")?,
        p999_us: number("/latency_us/p999")?,
        max_us: number("/latency_us/max")?,
        cpu_seconds: None,
        target_rate: Some(number("/target_rate")?),
        lateness_p99_us: Some(number("/lateness_us/p99")?),
        voluntary_switches: None,
        involuntary_switches: None,
        resumed: None,
    })
}

fn progress(row: &Row) -> String {
    let mut line = format!("{:<26} {:<20} ", row.scenario, row.server);
    if !row.status.measured() {
        let _ = write!(line, "{:?}", row.status);
        return line;
    }
    let summary = row.summary();
    if let Some(counts) = &row.syscalls {
        let _ = write!(
            line,
            "{} system calls per request over {} requests",
            counts
                .total_per_request()
                .map_or("-".into(), |calls| format!("{calls:.2}")),
            counts.requests
        );
    } else if let Some(counts) = &row.instructions {
        let _ = write!(
            line,
            "{} instructions per handshake (X25519), {} (X25519MLKEM768 offered first)",
            counts.x25519.map_or("-".into(), report::count),
            counts.hybrid.map_or("-".into(), report::count),
        );
    } else if let Some(idle) = row.idle {
        let _ = write!(
            line,
            "held {}/{}, {}",
            idle.held,
            idle.attempted,
            idle.bytes_per_connection()
                .map_or("-".into(), |b| format!("{:.1} KiB/conn", b / 1024.0))
        );
    } else {
        let _ = write!(
            line,
            "{} req/s, p99 {}, {} µs CPU/req, {} errors",
            summary
                .requests_per_second
                .map_or("-".into(), |r| report::count(r.median)),
            report::micros(summary.p99_us),
            summary
                .cpu_us_per_request
                .map_or("-".into(), |c| format!("{c:.1}")),
            summary.errors
        );
        if let Some(cut) = row
            .slow_clients
            .as_ref()
            .and_then(SlowClients::cut_per_window)
        {
            let _ = write!(line, ", {cut:.0} slow clients cut per run");
        }
    }
    line
}

fn first_line_of(program: &Path, args: &[&str]) -> String {
    crate::machine::command_output(&program.display().to_string(), args, None)
        .and_then(|text| text.lines().next().map(str::to_owned))
        // `wrk -v` goes on with its build flags and copyright on the same line.
        .map(|line| {
            line.split(" [")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| format!("{} (version unknown)", program.display()))
}

/// Writes the compressed scenarios' files into the run's copy of the site: 100 KiB of text
/// ([`scenario::TEXT_FILE`]), and the same text again ([`scenario::PRECOMPRESSED_FILE`]) with a
/// `.gz` sibling made ahead of time at gzip's best level, as a build step would (written after
/// the file, so that it is not older than it: the stages and nginx's `gzip_static` send it).
fn write_compressible_files(root: &Path) -> io::Result<()> {
    let mut text = String::with_capacity(102_400 + 80);
    let mut line = 0u32;
    while text.len() < 102_400 {
        text.push_str(&format!(
            "{line:06}: the stage manager calls the places, and the house lights go down\n"
        ));
        line += 1;
    }
    text.truncate(102_400);
    let file = |path: &str| root.join(path.trim_start_matches('/'));
    std::fs::write(file(scenario::TEXT_FILE), &text)?;
    std::fs::write(file(scenario::PRECOMPRESSED_FILE), &text)?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(text.as_bytes())?;
    std::fs::write(
        file(&format!("{}.gz", scenario::PRECOMPRESSED_FILE)),
        encoder.finish()?,
    )
}

/// Copies a directory tree (the bundled site is small: a few files and one folder).
fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The package whose examples run applications of their own on a stage (examples/notes.rs).
const APP_EXAMPLES_PACKAGE: &str = "stagecraft";

/// The stage number in a stage package's name: 7 for `stage07-http2`.
fn stage_number(package: &str) -> Option<u8> {
    package.strip_prefix("stage")?.get(..2)?.parse().ok()
}

/// Builds an example of this package (a reference server or the generator) in release mode and
/// returns its path. Honours `STAGECRAFT_BIN_DIR` like [`stagekit::build::stage_binary`] does
/// for stages.
pub fn build_example(name: &str) -> Result<PathBuf, String> {
    stagekit::build::example_binary(env!("CARGO_PKG_NAME"), name).map_err(|error| error.to_string())
}

pub use crate::output::{verify_outputs, write_markdown_and_json};

mod h2_rows;
mod held;
mod page_rows;
mod tls_rows;
mod wrk_rows;

#[cfg(test)]
mod tests;
