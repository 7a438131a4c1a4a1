//! The two scenarios that hold a server in a state rather than time a load: many idle
//! connections held open (memory per connection, and what each model can hold at all), and
//! system calls counted under strace while wrk runs. Part of [`Harness`]: the same servers,
//! started the same way, measured differently.

use super::*;

impl Harness {
    pub(super) fn idle(&self, running: &mut Running, server: &Server, scenario: &Scenario) -> Row {
        let pid = running.pid();
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        // Let a server that starts workers lazily finish starting before the baseline.
        std::thread::sleep(Duration::from_millis(300));
        let rss_before = procfs::tree_usage(pid).rss_bytes;
        // Over TLS, every connection is a full handshake first (a new visitor each time).
        let tls = match self.tls_client(server, scenario, &tls::ClientSettings::any_version()) {
            Ok(tls) => tls,
            Err(problem) => {
                row.status = Status::Failed(problem);
                return row;
            }
        };
        // Time for the connects and answers grows with their number (3 ms each leaves room on
        // a loaded machine for every server that can hold them, 6 ms with a handshake each),
        // whatever the mode. A server that cannot hold them is found out at the first answer
        // that does not come.
        let connections = u32::try_from(self.options.idle_connections).unwrap_or(u32::MAX);
        let each = Duration::from_millis(if tls.is_some() { 6 } else { 3 });
        let deadline = Duration::from_secs(5).max(each * connections);
        let mut held = idle::hold(
            running.addr(),
            self.options.idle_connections,
            PLAINTEXT,
            deadline,
            tls.as_ref(),
        );
        // Give the server a moment to settle (a worker may still be growing a buffer).
        std::thread::sleep(Duration::from_millis(300));
        let rss_after = procfs::tree_usage(pid).rss_bytes;
        // What the held connections cost everyone else: a newcomer, then some of them again.
        let wait = Duration::from_secs(if self.options.quick { 2 } else { 5 });
        let new_request = idle::one_request(running.addr(), PLAINTEXT, wait, tls.as_ref());
        let reused = held.reuse(idle::REUSED, PLAINTEXT, running.addr(), wait);
        if let Some(status) = running.exited() {
            row.status = Status::Failed(format!(
                "the server exited while holding connections ({status})"
            ));
            return row;
        }
        row.idle = Some(Idle {
            attempted: held.attempted,
            held: held.answered,
            rss_before,
            rss_after,
            // Only a complete opening is a time to open; otherwise it is a deadline.
            open_seconds: (held.answered == held.attempted).then_some(held.elapsed.as_secs_f64()),
            new_request_us: new_request
                .as_ref()
                .ok()
                .map(|elapsed| elapsed.as_secs_f64() * 1e6),
            reused_asked: reused.asked,
            reused_answered: reused.answered,
            reuse_seconds: (reused.asked > 0).then_some(reused.elapsed.as_secs_f64()),
        });
        row.peak_rss_bytes = Some(rss_after);
        let mut notes = Vec::new();
        if held.answered < held.attempted {
            let mut text = format!("held {} of {}", held.answered, held.attempted);
            if let Some(capacity) = self.connection_capacity(server, scenario) {
                let _ = write!(text, " ({capacity})");
            }
            if let Some(problem) = &held.problem {
                let _ = write!(text, "; {problem}");
            }
            notes.push(text);
        }
        if let Err(problem) = new_request {
            notes.push(problem);
        }
        if let Some(problem) = reused.problem {
            notes.push(problem);
        }
        row.note = notes.join("; ");
        if held.answered == 0 {
            row.status = Status::Failed(std::mem::take(&mut row.note));
        } else if held.answered < held.attempted {
            row.status = Status::Errors;
        }
        drop(held);
        row
    }

    /// System calls per request: a warm-up, then strace attached to the whole tree for one
    /// measured wrk run, then detached, all by PID.
    pub(super) fn syscalls(
        &self,
        running: &mut Running,
        server: &Server,
        scenario: &Scenario,
        load: &Load,
    ) -> Row {
        let Some(strace) = &self.strace else {
            return Row::without_numbers(
                &server.name,
                scenario.id,
                Status::Unavailable(
                    "strace is not installed (scripts/bench-setup.sh installs it)".into(),
                ),
            );
        };
        let mut row = Row::without_numbers(&server.name, scenario.id, Status::Ok);
        // Whatever a server sets up at its first request (a file's metadata, a worker's
        // buffers) is set up before strace attaches.
        if self.options.warmup_seconds > 0 {
            let _ = self.wrk_run(running, load, self.options.warmup_seconds, 1, true);
        } else {
            let _ = idle::one_request(running.addr(), &load.path, Duration::from_secs(2), None);
        }
        let pids: Vec<u32> = procfs::tree_pids(running.pid());
        let name = format!("{}-{}", server.name, scenario.id);
        let tracer = match syscalls::Tracer::attach(
            strace,
            &pids,
            Some(&self.options.client_cpus),
            &self.dir,
            &name,
        ) {
            Ok(tracer) => tracer,
            Err(problem) => {
                row.status = Status::Failed(problem);
                return row;
            }
        };
        let measured = self.wrk_run(running, load, self.options.duration_seconds, 1, true);
        let calls = tracer.finish();
        if let Some(status) = running.exited() {
            row.status = Status::Failed(format!("the server exited while traced ({status})"));
            return row;
        }
        match (measured, calls) {
            (Ok(measured), Ok(calls)) => {
                row.syscalls = Some(syscalls::Counts {
                    requests: measured.requests,
                    calls,
                });
                // No sample is kept: the rate and CPU time of a traced server say nothing
                // about the server, and the per-server tables would show them.
                let errors = measured.errors.total();
                if measured.requests == 0 {
                    row.status = Status::Failed("no request was answered while traced".into());
                } else if errors > 0 {
                    row.status = Status::Errors;
                    row.note = format!("{errors} errors while traced");
                }
                if pids.len() > 1 {
                    let joiner = if row.note.is_empty() { "" } else { "; " };
                    row.note = format!("{}{joiner}{} processes traced", row.note, pids.len());
                }
            }
            (Err(problem), _) | (_, Err(problem)) => row.status = Status::Failed(problem),
        }
        row
    }

    /// How many connections a model that gives each one a thread or a process can serve at once,
    /// in words, or `None` for the others. Stages 01 to 03 hold a connection for as long as it
    /// is open, so an idle one blocks a thread or a worker process; the rest of the connections
    /// wait in the listen backlog, and once that is full, their connects time out.
    pub(super) fn connection_capacity(
        &self,
        server: &Server,
        scenario: &Scenario,
    ) -> Option<String> {
        let ServerKind::Stage { package, args, .. } = &server.kind else {
            return None;
        };
        let flag = |name: &str| {
            args.iter()
                .position(|arg| *arg == name)
                .and_then(|i| args.get(i + 1))
                .and_then(|value| value.parse::<usize>().ok())
        };
        let cpus = match scenario.placement {
            Placement::Pinned => process::parse_cpu_list(&self.options.server_cpus)
                .map_or(1, |cpus| cpus.len().max(1)),
            Placement::Unpinned => self.machine.cores.max(1),
        };
        let cpus_said = if cpus == 1 {
            "1 CPU".to_owned()
        } else {
            format!("{cpus} CPUs")
        };
        match *package {
            "stage01-blocking" => {
                Some("a blocking server serves one connection at a time, so it holds 1".into())
            }
            "stage02-threadpool" if args.contains(&"per-connection") => None,
            "stage02-threadpool" => {
                let threads = flag("--threads").unwrap_or(cpus);
                let why = if flag("--threads").is_some() {
                    "--threads".to_owned()
                } else {
                    format!("one per CPU, {cpus_said}")
                };
                Some(format!(
                    "each open connection takes one of the pool's {threads} thread(s) ({why}), \
                     so it holds {threads} at a time"
                ))
            }
            "stage03-prefork" => {
                let workers = flag("--workers").unwrap_or(cpus.max(2));
                Some(format!(
                    "each open connection takes one of the {workers} worker processes, so it \
                     holds {workers} at a time"
                ))
            }
            _ => None,
        }
    }
}
