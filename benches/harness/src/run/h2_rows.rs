//! The HTTP/2 rows: h2load against a server started as for any other scenario ([`crate::h2load`]
//! says what is read from it). Part of [`Harness`]: the warm-up, the repetitions, the CPU time
//! from /proc and the pinning are those of wrk's closed-loop rows.

use super::*;
use crate::h2load::{self, H2Load};

impl Harness {
    /// h2load against `running` for the warm-up and then each repetition.
    pub(super) fn h2load(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        load: &H2Load,
    ) -> Row {
        let Some(h2load) = &self.h2load else {
            return Row::without_numbers(
                &server.name,
                scenario.id,
                Status::Unavailable(H2LOAD_MISSING.into()),
            );
        };
        let pid = running.pid();
        let sampler = Sampler::start(pid);
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        if self.options.warmup_seconds > 0 {
            // Thrown away, as wrk's warm-up is.
            let _ = self.h2load_run(h2load, running, load, self.options.warmup_seconds, None);
        }
        let log = self
            .dir
            .join(format!("h2load-{}-{}.tsv", server.name, scenario.id));
        let mut without_log = false;
        for _ in 0..self.options.repetitions {
            let switches = procfs::SwitchCounter::start(pid);
            let before = procfs::tree_usage(pid).cpu_seconds;
            let measured = self.h2load_run(
                h2load,
                running,
                load,
                self.options.duration_seconds,
                Some(&log),
            );
            let after = procfs::tree_usage(pid).cpu_seconds;
            let switches = switches.finish();
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
            }
            let measured = match measured {
                Ok(measured) => measured,
                Err(error) => {
                    row.status = Status::Failed(error);
                    break;
                }
            };
            let percentiles = fs::read_to_string(&log)
                .ok()
                .and_then(|text| h2load::parse_log(&text));
            // Ignoring the error: a missing log is what the next run's check reports.
            let _ = fs::remove_file(&log);
            without_log |= percentiles.is_none() && measured.succeeded > 0;
            let (p50_us, p99_us, p999_us) =
                percentiles.map_or((0.0, 0.0, 0.0), |p| (p.p50_us, p.p99_us, p.p999_us));
            row.samples.push(Sample {
                requests: measured.succeeded,
                seconds: measured.seconds,
                bytes: measured.bytes,
                errors: measured.errors(),
                p50_us,
                p99_us,
                p999_us,
                max_us: percentiles.map_or(measured.max_us, |p| p.max_us),
                cpu_seconds: Some(after - before),
                target_rate: None,
                lateness_p99_us: None,
                voluntary_switches: Some(switches.voluntary),
                involuntary_switches: Some(switches.involuntary),
                resumed: None,
            });
        }
        if without_log {
            row.note = "h2load wrote no per-request log: latency percentiles not measured".into();
        }
        row.peak_rss_bytes = Some(sampler.finish());
        settle_status(&mut row);
        row
    }

    /// One h2load run of `seconds`, on the client CPUs, writing each request to `log`.
    fn h2load_run(
        &self,
        h2load: &Path,
        running: &Running,
        load: &H2Load,
        seconds: u32,
        log: Option<&Path>,
    ) -> Result<h2load::Measured, String> {
        let log = log.map(|log| log.display().to_string());
        let launch = Launch {
            program: h2load.to_path_buf(),
            args: h2load::arguments(load, &running.base_url(), seconds, log.as_deref()),
            cpus: Some(self.options.client_cpus.clone()),
        };
        let limit = Duration::from_secs(u64::from(seconds) + 20);
        let stdout = process::run_generator(&launch, limit)?;
        h2load::parse_output(&stdout).map_err(|error| error.to_string())
    }
}
