//! The rows only TLS has: handshake loads ([`crate::handshakes`]) and the instructions per
//! handshake under callgrind ([`crate::callgrind`]). Part of [`Harness`]: the same servers,
//! started the same way, with the run's certificate.

use std::collections::BTreeMap;

use super::*;
use crate::callgrind::{self, HandshakeInstructions};
use crate::handshakes;
use crate::scenario::{Group, Handshakes, TlsVersion, HYBRID_FIRST, X25519_ONLY};
use crate::tls::{Client, ClientSettings};

/// How long a server under callgrind gets to exit after SIGTERM: callgrind writes its counts at
/// exit, and a server killed after its grace has none.
const CALLGRIND_GRACE: Duration = Duration::from_secs(60);

/// How long one connect, read or write may take with the server under callgrind, whose first
/// handshake also translates all the code it runs.
const CALLGRIND_TIMEOUT: Duration = Duration::from_secs(30);

impl Harness {
    /// The TLS client for `server` in `scenario` with `settings`, or `None` for a row that
    /// speaks plain HTTP (the baseline).
    pub(super) fn tls_client(
        &self,
        server: &Server,
        scenario: &Scenario,
        settings: &ClientSettings,
    ) -> Result<Option<Client>, String> {
        if transport(&server.name, scenario) == Transport::Plain {
            return Ok(None);
        }
        let certificate = self
            .certificate
            .as_ref()
            .ok_or("no certificate was made for this run")?;
        Ok(Some(Client::new(tls::client_config(
            certificate,
            settings,
        )?)))
    }

    /// New connections for the measured time, each a handshake and one small request.
    pub(super) fn handshakes(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        load: &Handshakes,
    ) -> Row {
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        let settings = ClientSettings {
            version: Some(load.version),
            groups: load.groups.to_vec(),
            resume: load.resume,
        };
        // `None` for the plain baseline: the same connections, with no handshake.
        let client = match self.tls_client(server, scenario, &settings) {
            Ok(client) => client,
            Err(problem) => {
                row.status = Status::Failed(problem);
                return row;
            }
        };
        let tls = client.is_some();
        let pid = running.pid();
        let sampler = Sampler::start(pid);
        let mut measured = handshakes::Load {
            addr: running.addr(),
            client,
            connections: load.connections as usize,
            duration: Duration::from_secs(u64::from(self.options.warmup_seconds)),
            path: load.path.into(),
            timeout: handshakes::IO_TIMEOUT,
        };
        if load.resume && tls {
            // Two sessions for each connection in flight, before anything is measured.
            let sessions = u64::from(load.connections) * 2;
            if let Err(problem) = handshakes::sequential(&measured, sessions) {
                row.status = Status::Failed(format!("the session store was not filled: {problem}"));
                return row;
            }
        }
        if self.options.warmup_seconds > 0 {
            let _ = handshakes::run(&measured);
        }
        measured.duration = Duration::from_secs(u64::from(self.options.duration_seconds));
        let mut negotiated: BTreeMap<String, u64> = BTreeMap::new();
        let (mut unresumed, mut retries, mut failed) = (0, 0, 0);
        let mut first_error = None;
        for _ in 0..self.options.repetitions {
            let switches = procfs::SwitchCounter::start(pid);
            let before = procfs::tree_usage(pid).cpu_seconds;
            let outcome = handshakes::run(&measured);
            let after = procfs::tree_usage(pid).cpu_seconds;
            let switches = switches.finish();
            if let Some(status) = running.exited() {
                row.status = Status::Failed(format!("the server exited during the run ({status})"));
                break;
            }
            for (what, count) in &outcome.negotiated {
                *negotiated.entry(what.clone()).or_default() += count;
            }
            if load.resume && tls {
                unresumed += outcome.completed - outcome.resumed;
            }
            retries += outcome.hello_retries;
            failed += outcome.failed;
            if first_error.is_none() {
                first_error = outcome.first_error.clone();
            }
            row.samples.push(Sample {
                requests: outcome.completed,
                seconds: outcome.seconds,
                bytes: 0,
                errors: outcome.failed,
                p50_us: outcome.p50_us,
                p99_us: outcome.p99_us,
                p999_us: outcome.p999_us,
                max_us: outcome.max_us,
                cpu_seconds: Some(after - before),
                target_rate: None,
                lateness_p99_us: None,
                voluntary_switches: Some(switches.voluntary),
                involuntary_switches: Some(switches.involuntary),
                resumed: tls.then_some(outcome.resumed),
            });
        }
        row.peak_rss_bytes = Some(sampler.finish());
        let completed: u64 = row.samples.iter().map(|sample| sample.requests).sum();
        let mut notes = vec![negotiated_words(&negotiated)];
        if unresumed > 0 {
            notes.push(format!(
                "{unresumed} of {completed} handshakes were full, not resumed"
            ));
        }
        if retries > 0 {
            notes.push(format!(
                "{retries} of {completed} handshakes needed a HelloRetryRequest"
            ));
        }
        if let Some(error) = first_error {
            notes.push(format!("{failed} connections failed, the first: {error}"));
        }
        row.note = notes
            .into_iter()
            .filter(|note| !note.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        settle_status(&mut row);
        // A resumed load that did not resume is not the measurement it says it is.
        if row.status == Status::Ok && unresumed * 100 > completed {
            row.status = Status::Errors;
        }
        row
    }

    /// Instructions per full TLS 1.3 handshake under callgrind: X25519 for every server, and
    /// the hybrid for those that have it.
    pub(super) fn instructions(&self, server: &Server, scenario: &Scenario) -> Row {
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        let extra = if self.options.quick {
            callgrind::EXTRA_QUICK
        } else {
            callgrind::EXTRA
        };
        let mut counts = HandshakeInstructions {
            handshakes: extra,
            ..HandshakeInstructions::default()
        };
        let mut notes = Vec::new();
        for groups in [X25519_ONLY, HYBRID_FIRST] {
            if groups == HYBRID_FIRST && !has_hybrid(&server.kind) {
                continue;
            }
            match self.count_instructions(server, scenario, groups, extra) {
                Ok((per_handshake, negotiated)) => {
                    if groups == X25519_ONLY {
                        counts.x25519 = Some(per_handshake);
                    } else {
                        counts.hybrid = Some(per_handshake);
                        notes.push(format!("offered the hybrid first: {negotiated}"));
                    }
                }
                Err(Status::Failed(problem)) => {
                    notes.push(format!("{}: {problem}", groups[0].name()));
                }
                Err(status) => {
                    row.status = status;
                    return row;
                }
            }
        }
        if counts.x25519.is_none() && counts.hybrid.is_none() {
            row.status = Status::Failed(notes.join("; "));
            return row;
        }
        if counts.x25519.is_none() || (has_hybrid(&server.kind) && counts.hybrid.is_none()) {
            row.status = Status::Errors;
        }
        row.instructions = Some(counts);
        row.note = notes.join("; ");
        row
    }

    /// One count: the server started twice under callgrind, [`callgrind::FEW`] handshakes in
    /// the first run and `extra` more in the second. Returns the instructions per handshake and
    /// what the handshakes negotiated, in words.
    fn count_instructions(
        &self,
        server: &Server,
        scenario: &Scenario,
        groups: &'static [Group],
        extra: u64,
    ) -> Result<(f64, String), Status> {
        let settings = ClientSettings {
            version: Some(TlsVersion::Tls13),
            groups: groups.to_vec(),
            resume: false,
        };
        let client = match self.tls_client(server, scenario, &settings) {
            Ok(Some(client)) => Some(client),
            Ok(None) => return Err(Status::NotApplicable("it speaks no TLS".into())),
            Err(problem) => return Err(Status::Failed(problem)),
        };
        let mut totals = Vec::new();
        let mut negotiated = BTreeMap::new();
        for (run, count) in [callgrind::FEW, callgrind::FEW + extra]
            .into_iter()
            .enumerate()
        {
            let out = self.dir.join(format!(
                "{}-{}-{run}.callgrind",
                server.name,
                groups[0].name()
            ));
            let mut running = self.start_as(server, scenario, Some(&out))?;
            let load = handshakes::Load {
                addr: running.addr(),
                client: client.clone(),
                connections: 1,
                duration: Duration::ZERO,
                path: PLAINTEXT.into(),
                timeout: CALLGRIND_TIMEOUT,
            };
            let made = handshakes::sequential(&load, count);
            let exit = running.stop_within(CALLGRIND_GRACE);
            negotiated = made.map_err(|problem| {
                Status::Failed(format!("a handshake under callgrind failed: {problem}"))
            })?;
            if exit.is_none() {
                return Err(Status::Failed(format!(
                    "it did not exit within {} s of SIGTERM under callgrind, which writes its \
                     counts at exit",
                    CALLGRIND_GRACE.as_secs()
                )));
            }
            let text = fs::read_to_string(&out).map_err(|error| {
                Status::Failed(format!("callgrind wrote no {}: {error}", out.display()))
            })?;
            let total = callgrind::total_instructions(&text).ok_or_else(|| {
                Status::Failed(format!("{} has no instruction total", out.display()))
            })?;
            totals.push(total);
        }
        let per_handshake =
            callgrind::per_handshake(totals[0], totals[1], extra).map_err(Status::Failed)?;
        Ok((per_handshake, negotiated_words(&negotiated)))
    }
}

/// Whether a server has the post-quantum hybrid: stage 06 as it starts, with aws-lc-rs.
fn has_hybrid(kind: &ServerKind) -> bool {
    matches!(kind, ServerKind::Stage { package, args, .. }
        if crate::servers::TLS_STAGES.contains(package)
            && !args.contains(&"--no-pq-hybrid")
            && !args.contains(&"ring"))
}

/// What the handshakes negotiated, in words: one line when they all agreed, otherwise each with
/// its count.
fn negotiated_words(negotiated: &BTreeMap<String, u64>) -> String {
    match negotiated.len() {
        0 => String::new(),
        1 => negotiated.keys().next().cloned().unwrap_or_default(),
        _ => negotiated
            .iter()
            .map(|(what, count)| format!("{what} ({count})"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stage_06_as_it_starts_has_the_hybrid() {
        let stage = |args: &'static [&'static str]| ServerKind::Stage {
            package: "stage06-tls",
            args,
            example: None,
        };
        assert!(has_hybrid(&stage(&[])));
        assert!(!has_hybrid(&stage(&["--no-pq-hybrid"])));
        assert!(!has_hybrid(&stage(&["--crypto", "ring"])));
        assert!(!has_hybrid(&ServerKind::Nginx(
            crate::nginx::Flavour::AsShipped
        )));
        assert!(!has_hybrid(&ServerKind::Stage {
            package: "stage05-async",
            args: &[],
            example: None,
        }));
    }

    #[test]
    fn what_was_negotiated_is_one_line_or_counted() {
        let mut negotiated = BTreeMap::new();
        assert_eq!(negotiated_words(&negotiated), "");
        negotiated.insert("TLS 1.3, X25519, TLS13_AES_256_GCM_SHA384".to_owned(), 9);
        assert_eq!(
            negotiated_words(&negotiated),
            "TLS 1.3, X25519, TLS13_AES_256_GCM_SHA384"
        );
        negotiated.insert(
            "TLS 1.3, X25519MLKEM768, TLS13_AES_256_GCM_SHA384".to_owned(),
            1,
        );
        assert!(negotiated_words(&negotiated).contains("SHA384 (9), TLS 1.3, X25519MLKEM768"));
    }
}
