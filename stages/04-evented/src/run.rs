//! How stage 04 starts: parse the command line, raise the open-files limit, bind one listening socket per loop, print where we listen, serve.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 4`), and stage 04 serves it with every flag it has.

use std::ffi::OsString;
use std::sync::Arc;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs, WorkerCount};
use driver::Scheme;
use protocol::Limits;
use tracing::info;

use crate::server::bind;
use crate::shutdown::Shutdown;
use crate::Config;
// ANCHOR: flags
/// Stage 04 of Stagecraft: an HTTP/1.1 server with one mio event loop per core.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// Event loops, each a thread with its own listening socket [default: the number of CPUs
    /// this process may run on].
    #[arg(long, value_name = "N")]
    threads: Option<WorkerCount>,

    /// Threads that run handlers which may block (/slow), so that no loop ever blocks.
    #[arg(long, value_name = "N", default_value = "16")]
    blocking_threads: WorkerCount,
}
// ANCHOR_END: flags

/// Runs stage 04 on `args` (the program's name first, then the stage's flags), serving the
/// application `make_app` builds from the parsed flags and the stage's [`AppInfo`]: the demo
/// site from `main`, or an application of a reader's own. Returns when the server has stopped;
/// a bad command line or a failed start exits the process with a message (exit 2 or 1).
// ANCHOR: main
pub fn main_with<F>(args: Vec<OsString>, make_app: F)
where
    F: FnOnce(&ServerArgs, AppInfo) -> Result<App, AppError>,
{
    let (cli, reload) = cli::parse_with_reload_from::<Cli>(args);
    init_logging(&cli.server);
    // SIGHUP reads the config file again and applies the log level (cli::config).
    reload
        .on_sighup(|cli: &Cli| &cli.server)
        .unwrap_or_else(|error| exit_with_error(format_args!("cannot watch SIGHUP: {error}"), 1));
    let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_EVENTED);
    let threads = cli.threads.unwrap_or_default().get();
    let app = make_app(&cli.server, crate::INFO).unwrap_or_else(|error| exit_with_error(error, 1));

    let listeners =
        bind(cli.server.addr, threads).unwrap_or_else(|error| exit_with_error(error, 1));
    let local = listeners[0].local_addr().unwrap_or_else(|error| {
        exit_with_error(
            format_args!("cannot read the listening address: {error}"),
            1,
        )
    });
    // Only now that the address is ours does anything go to the log: a refused start says
    // one thing, on one line.
    driver::open_files::raise_and_log(limits.max_connections);

    let shutdown = Shutdown::new();
    shutdown
        .on_signals(cli.server.drain(&app))
        .unwrap_or_else(|error| {
            exit_with_error(format_args!("cannot install signal handlers: {error}"), 1)
        });

    // The first line on stdout is how people, tests and the benchmark harness find the port.
    driver::announce(Scheme::Http, local);
    info!(root = %cli.server.root().display(), threads, "serving with one event loop per thread");

    let config = Config {
        limits,
        threads,
        blocking_threads: cli.blocking_threads.get(),
    };
    if let Err(error) = crate::serve(listeners, Arc::new(app), &config, &shutdown) {
        exit_with_error(format_args!("the server failed: {error}"), 1);
    }
    info!("stopped");
}
// ANCHOR_END: main
