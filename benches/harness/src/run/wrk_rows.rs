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
        if self.options.warmup_seconds > 0 {
            // The warm-up's numbers are thrown away; only a failure to run at all matters, and
            // the measured runs would show that too.
            let _ = self.wrk_run(running, load, self.options.warmup_seconds, threads, pinned);
        }
        for _ in 0..self.options.repetitions {
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
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
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
        row.peak_rss_bytes = Some(sampler.finish());
        settle_status(&mut row);
        row
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
