//! The wrk rows: the closed-loop loads (a fixed number of connections, each sending its next
//! request when the last is answered) and the open-loop ones (requests at a set rate, whether or
//! not answers keep up), against a server started as for any other scenario ([`crate::wrk`]
//! says what is read from wrk's output). Part of [`Harness`].

use super::*;

impl Harness {
    pub(super) fn wrk_run(
        &self,
        running: &Running,
        load: &Load,
        seconds: u32,
        threads: u32,
        pinned: bool,
    ) -> Result<wrk::Measured, String> {
        let script = self.dir.join("load.lua");
        fs::write(&script, wrk::script(load))
            .map_err(|error| format!("cannot write the wrk script: {error}"))?;
        let launch = Launch {
            program: self.wrk.clone(),
            args: wrk::arguments(
                load,
                &running.base_url(),
                &script.display().to_string(),
                threads,
                seconds,
            ),
            cpus: pinned.then(|| self.options.client_cpus.clone()),
        };
        let limit = Duration::from_secs(u64::from(seconds) + 20);
        let stdout = process::run_generator(&launch, limit)?;
        wrk::parse_output(&stdout).map_err(|error| error.to_string())
    }

    pub(super) fn closed(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        load: &Load,
    ) -> Row {
        let pinned = scenario.placement == Placement::Pinned;
        let threads = if pinned { 1 } else { 2 };
        let pid = running.pid();
        let sampler = Sampler::start(pid);
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        // The slow clients, when the load has them: connected before the warm-up, held through
        // every run, stopped after the last.
        let slow = match load.slow_clients {
            None => None,
            Some(connections) => match self.slow_clients(running, connections) {
                Ok(trickler) => Some((connections, trickler)),
                Err(problem) => {
                    row.status = Status::Failed(problem);
                    row.peak_rss_bytes = Some(sampler.finish());
                    return row;
                }
            },
        };
        let mut windows = Vec::new();
        if self.options.warmup_seconds > 0 {
            // The warm-up's numbers are thrown away; only a failure to run at all matters, and
            // the measured runs would show that too.
            let _ = self.wrk_run(running, load, self.options.warmup_seconds, threads, pinned);
        }
        for _ in 0..self.options.repetitions {
            let mark = slow.as_ref().map(|(_, trickler)| trickler.mark());
            let switches = procfs::SwitchCounter::start(pid);
            let before = procfs::tree_usage(pid).cpu_seconds;
            let measured = self.wrk_run(
                running,
                load,
                self.options.duration_seconds,
                threads,
                pinned,
            );
            let after = procfs::tree_usage(pid).cpu_seconds;
            let switches = switches.finish();
            let window = slow
                .as_ref()
                .zip(mark.as_ref())
                .map(|((_, trickler), mark)| trickler.window(mark));
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
            }
            if measured.is_ok() {
                windows.extend(window);
            }
            match measured {
                Ok(measured) => row.samples.push(Sample {
                    requests: measured.requests,
                    seconds: measured.seconds,
                    bytes: measured.bytes,
                    errors: measured.errors.total(),
                    p50_us: measured.p50_us,
                    p99_us: measured.p99_us,
                    p999_us: measured.p999_us,
                    max_us: measured.max_us,
                    cpu_seconds: Some(after - before),
                    target_rate: None,
                    lateness_p99_us: None,
                    voluntary_switches: Some(switches.voluntary),
                    involuntary_switches: Some(switches.involuntary),
                    resumed: None,
                }),
                Err(error) => {
                    row.status = Status::Failed(error);
                    break;
                }
            }
        }
        let thread_per_connection = matches!(
            &server.kind,
            ServerKind::Stage { args, .. } if args.contains(&"per-connection")
        );
        if thread_per_connection && load.close {
            // procfs::SwitchCounter reads threads every 100 ms; these live for one request.
            row.note = "context switches undercounted: a thread that lives for one request \
                        ends before it is read"
                .into();
        }
        if let Some((connections, trickler)) = slow {
            let _ = trickler.stop();
            slow_clients_row(&mut row, connections, &windows);
        }
        row.peak_rss_bytes = Some(sampler.finish());
        settle_status(&mut row);
        row
    }

    /// The slow clients of a row, connected: every one of them within a few seconds, or as many
    /// as connected by then (the row's note says how many were at the fewest).
    fn slow_clients(
        &self,
        running: &Running,
        connections: u32,
    ) -> Result<slow_clients::Trickler, String> {
        let connections = connections as usize;
        // The warm-up and every run with wrk's own limit each, and room to spare: the thread
        // ends by itself after that, stopped or not.
        let runs = u64::from(self.options.duration_seconds) + 20;
        let lifetime = Duration::from_secs(
            u64::from(self.options.warmup_seconds)
                + 20
                + runs * self.options.repetitions as u64
                + 30,
        );
        let trickler = slow_clients::Trickler::start(
            running.addr(),
            slow_clients::Plan::new(connections, lifetime),
        )
        .map_err(|error| format!("cannot start the slow clients: {error}"))?;
        trickler.wait_connected(slow_clients::EVERY * 5);
        Ok(trickler)
    }

    pub(super) fn open(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        percent: u32,
    ) -> Row {
        let Some((base, base_rate)) = self.open_loop_base.clone() else {
            return Row::without_numbers(
                &server.name,
                scenario.id,
                Status::Failed(format!(
                    "no reference rate: {} was not measured for nginx, hyper or the floor",
                    scenario::OPEN_LOOP_BASE
                )),
            );
        };
        let rate = base_rate * f64::from(percent) / 100.0;
        let pid = running.pid();
        let sampler = Sampler::start(pid);
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        if self.options.warmup_seconds > 0 {
            let load = Load {
                path: SMALL_FILE.into(),
                connections: scenario::OPEN_LOOP_CONNECTIONS as u32,
                pipeline: 1,
                close: false,
                slow_every: None,
                accept_encoding: None,
                write: None,
                slow_clients: None,
            };
            let _ = self.wrk_run(running, &load, self.options.warmup_seconds, 1, true);
        }
        for _ in 0..self.options.repetitions {
            let switches = procfs::SwitchCounter::start(pid);
            let before = procfs::tree_usage(pid).cpu_seconds;
            let result = self.openloop_run(running, rate, scenario::OPEN_LOOP_CONNECTIONS);
            let after = procfs::tree_usage(pid).cpu_seconds;
            let switches = switches.finish();
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
            }
            match result {
                Ok(mut sample) => {
                    sample.cpu_seconds = Some(after - before);
                    sample.voluntary_switches = Some(switches.voluntary);
                    sample.involuntary_switches = Some(switches.involuntary);
                    row.samples.push(sample);
                }
                Err(error) => {
                    row.status = Status::Failed(error);
                    break;
                }
            }
        }
        row.peak_rss_bytes = Some(sampler.finish());
        row.note = format!("{percent} % of {base}'s {}", report::count(base_rate));
        if let Some(achieved) = row.summary().requests_per_second {
            if achieved.median < rate * 0.95 {
                row.note.push_str("; fell behind the schedule");
            }
        }
        settle_status(&mut row);
        row
    }

    /// One open-loop run against `running` at `rate` requests/s.
    pub(super) fn openloop_run(
        &self,
        running: &Running,
        rate: f64,
        connections: usize,
    ) -> Result<Sample, String> {
        let seconds = self.options.duration_seconds;
        let launch = Launch {
            program: self.openloop.clone(),
            args: vec![
                "--addr".into(),
                running.addr().to_string(),
                "--path".into(),
                SMALL_FILE.into(),
                "--connections".into(),
                connections.to_string(),
                "--rate".into(),
                format!("{rate:.0}"),
                "--duration".into(),
                seconds.to_string(),
            ],
            cpus: Some(self.options.client_cpus.clone()),
        };
        let stdout = process::run_generator(&launch, Duration::from_secs(u64::from(seconds) + 30))?;
        parse_openloop(&stdout, f64::from(seconds))
    }
}

/// The slow clients' counts over the measured windows, on the row, and what a reader must know:
/// that fewer were connected at times, and that a run had nothing answered (which, here, is
/// the measurement, not a failure: the row keeps its numbers and is marked as having errors).
pub(super) fn slow_clients_row(row: &mut Row, connections: u32, windows: &[slow_clients::Window]) {
    let slow = SlowClients {
        connections: connections as usize,
        cut: windows.iter().map(|window| window.cut).collect(),
        answered: windows.iter().map(|window| window.answered).sum(),
        fewest_connected: windows
            .iter()
            .map(|window| window.fewest_connected)
            .min()
            .unwrap_or(0),
        failed_connects: windows.iter().map(|window| window.failed_connects).sum(),
    };
    let mut notes = Vec::new();
    if !windows.is_empty() && slow.fewest_connected < slow.connections {
        let mut text = format!(
            "at the fewest {} of the {} slow clients were connected during a run",
            slow.fewest_connected, slow.connections
        );
        if slow.failed_connects > 0 {
            let _ = write!(text, " ({} connects failed)", slow.failed_connects);
        }
        notes.push(text);
    }
    let unanswered = row.samples.iter().filter(|s| s.requests == 0).count();
    if unanswered > 0 && matches!(row.status, Status::Ok) {
        notes.push(format!(
            "no request was answered in {unanswered} of {} runs (wrk counts a request \
             unanswered after 2 s as a timeout)",
            row.samples.len()
        ));
        row.status = Status::Errors;
    }
    if !notes.is_empty() {
        let joiner = if row.note.is_empty() { "" } else { "; " };
        row.note = format!("{}{joiner}{}", row.note, notes.join("; "));
    }
    row.slow_clients = Some(slow);
}
