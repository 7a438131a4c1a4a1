//! The page-load rows: a server started as for the other TLS scenarios, a relay in front of it
//! ([`crate::relay`]), and page loads one after another through it ([`crate::pageload`]). Part
//! of [`Harness`]: the repetitions, the CPU time from /proc and the pinning are those of the
//! other rows; the client and the relay run on the client CPUs.
//!
//! A row's [`Sample`] is one repetition: `requests` is the pages loaded, `p50_us` and `p99_us`
//! the page times (first connect to last byte) at those percentiles, `errors` the page loads
//! that failed, `cpu_seconds` the server's CPU time over them (so "per request" is per page).

use std::time::Instant;

use super::*;
use crate::pageload;
use crate::relay::Relay;
use crate::scenario::{PageLoad, PAGES, PAGE_LOAD_SECONDS, QUICK_PAGES};

impl Harness {
    /// Page loads against `running` through a relay with the scenario's delay.
    pub(super) fn page_load(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        load: &PageLoad,
    ) -> Row {
        let failed =
            |why: String| Row::without_numbers(&server.name, scenario.id, Status::Failed(why));
        let Some(certificate) = &self.certificate else {
            return failed("no certificate was made for this run".into());
        };
        let config = match pageload::client_config(certificate, load.protocol) {
            Ok(config) => config,
            Err(error) => return failed(error),
        };
        let one_way = Duration::from_millis(u64::from(load.one_way_ms));
        let mut relay = match Relay::start(running.addr(), one_way) {
            Ok(relay) => relay,
            Err(error) => return failed(format!("cannot start the relay: {error}")),
        };
        let path = pageload::Path {
            addr: relay.addr(),
            connect_wait: relay.round_trip(),
        };
        let pages = if self.options.quick {
            QUICK_PAGES
        } else {
            PAGES
        };
        let limit = Duration::from_secs(PAGE_LOAD_SECONDS);
        let pid = running.pid();
        let sampler = Sampler::start(pid);
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        // One page thrown away: the server opens the files and fills its caches, as a warm-up.
        let _ = pageload::load(path, &config, load.protocol);
        let mut first_error = None;
        for _ in 0..self.options.repetitions {
            let switches = procfs::SwitchCounter::start(pid);
            let before = procfs::tree_usage(pid).cpu_seconds;
            let started = Instant::now();
            let mut micros = Vec::new();
            let (mut errors, mut bytes) = (0, 0);
            while micros.len() + errors < pages && started.elapsed() < limit {
                match pageload::load(path, &config, load.protocol) {
                    Ok(loaded) => {
                        micros.push(loaded.elapsed.as_secs_f64() * 1e6);
                        bytes += loaded.body_bytes;
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            let seconds = started.elapsed().as_secs_f64();
            let after = procfs::tree_usage(pid).cpu_seconds;
            let switches = switches.finish();
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
            }
            micros.sort_by(f64::total_cmp);
            let at = |fraction| pageload::percentile(&micros, fraction).unwrap_or(0.0);
            row.samples.push(Sample {
                requests: micros.len() as u64,
                seconds,
                bytes,
                errors: errors as u64,
                p50_us: at(0.5),
                p99_us: at(0.99),
                p999_us: at(0.999),
                max_us: micros.last().copied().unwrap_or(0.0),
                cpu_seconds: Some(after - before),
                target_rate: None,
                lateness_p99_us: None,
                voluntary_switches: Some(switches.voluntary),
                involuntary_switches: Some(switches.involuntary),
                resumed: None,
            });
        }
        relay.stop();
        row.peak_rss_bytes = Some(sampler.finish());
        if let Some(error) = first_error {
            row.note = format!("first failed page load: {error}");
        }
        settle_status(&mut row);
        row
    }
}
