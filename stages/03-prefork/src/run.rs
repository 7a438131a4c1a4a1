//! How stage 03 starts: parse the command line, bind, fork the workers, print where we listen, supervise.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 3`), and stage 03 serves it with every flag it has.

use std::ffi::OsString;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, ServerArgs, WorkerCount, WorkerCountError};
/// Stage 03 of Stagecraft: a master process and forked worker processes that share one
/// listening socket, each serving one request at a time.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
// Elsewhere than Linux the flags are only parsed (for `--help` and errors), never read.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// Worker processes to fork: the most requests served at once [default: the number of
    /// cores, at least 2].
    #[arg(long, value_name = "N", value_parser = parse_workers)]
    workers: Option<WorkerCount>,

    /// Give every worker its own listening socket (SO_REUSEPORT): the kernel then spreads new
    /// connections over the workers by a hash, instead of idle workers taking turns at one
    /// shared accept queue.
    #[arg(long)]
    reuseport: bool,
}

/// `--workers`: a count of at least 1, and at most [`crate::MAX_WORKERS`], because
/// each one is a process.
fn parse_workers(text: &str) -> Result<WorkerCount, WorkerCountError> {
    text.parse::<WorkerCount>()?.at_most(crate::MAX_WORKERS)
}

/// Runs stage 03 on `args` (the program's name first, then the stage's flags), serving the
/// application `make_app` builds from the parsed flags and the stage's [`AppInfo`]: the demo
/// site from `main`, or an application of a reader's own. Returns when the server has stopped;
/// a bad command line or a failed start exits the process with a message (exit 2 or 1).
#[cfg(target_os = "linux")]
// ANCHOR: main
pub fn main_with<F>(args: Vec<OsString>, make_app: F)
where
    F: FnOnce(&ServerArgs, AppInfo) -> Result<App, AppError>,
{
    use crate::listener::Listening;
    use crate::master::Stopped;
    use cli::init_logging;
    use driver::Scheme;
    use protocol::Limits;
    use tracing::info;

    let (cli, reload) = cli::parse_with_reload_from::<Cli>(args);
    init_logging(&cli.server);
    // The master's SIGHUP reads the config file again (the log level) before its rolling
    // restart, so the new workers start with it. No thread: the master forks.
    reload.install(|cli: &Cli| &cli.server);
    let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING);
    let workers = cli.workers.unwrap_or_else(crate::default_workers);
    // Built once, before the fork: every worker starts with this memory, shared copy-on-write.
    let app = make_app(&cli.server, crate::INFO).unwrap_or_else(|error| exit_with_error(error, 1));
    let listening = Listening::bind(cli.server.addr, cli.reuseport)
        .unwrap_or_else(|error| exit_with_error(error, 1));
    info!(root = %cli.server.root().display(), %workers, "forking the workers");

    let drain = cli.server.drain(&app);
    let outcome = crate::serve(listening, app, limits, workers.into(), drain, |local| {
        // Printed by the master alone, once every worker is accepting. Flushed at once (the
        // kit does): a worker forked later gets a copy of any unwritten output and would write
        // it again.
        driver::announce(Scheme::Http, local);
    });
    match outcome {
        Ok(Stopped::Gracefully) => info!("stopped"),
        Ok(Stopped::Forced) => std::process::exit(130),
        Err(error) => exit_with_error(error, 1),
    }
}
// ANCHOR_END: main

#[cfg(not(target_os = "linux"))]
pub fn main_with<F>(args: Vec<OsString>, make_app: F)
where
    F: FnOnce(&ServerArgs, AppInfo) -> Result<App, AppError>,
{
    // Parse anyway, so `--help` works everywhere and the flags are checked.
    let _ = make_app;
    let _cli: Cli = cli::parse_with_reload_from(args).0;
    exit_with_error(
        "stage 03 needs Linux (fork, signalfd, epoll with EPOLLEXCLUSIVE, PR_SET_PDEATHSIG); \
         try stage 02 or stage 04 on this system",
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_must_be_between_one_and_the_limit() {
        assert_eq!(parse_workers("1").map(WorkerCount::get), Ok(1));
        assert_eq!(parse_workers("1024").map(WorkerCount::get), Ok(1024));
        for refused in ["0", "1025", "-1", "two", ""] {
            assert!(parse_workers(refused).is_err(), "{refused:?} was accepted");
        }
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from(["stage03", "--workers", "3", "--reuseport"]).unwrap();
        assert_eq!(cli.workers.map(WorkerCount::get), Some(3));
        assert!(cli.reuseport);
        let cli = Cli::try_parse_from(["stage03"]).unwrap();
        assert_eq!(cli.workers, None);
        assert!(!cli.reuseport);
    }
}
