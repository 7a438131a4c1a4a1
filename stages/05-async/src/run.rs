//! How stage 05 starts: parse the command line, raise the open-file limit, start the runtime, bind, print where we listen, serve until a signal, wait for the connections to finish.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 5`), and stage 05 serves it with every flag it has.

use std::ffi::OsString;
use std::sync::Arc;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs, WorkerCount};
use driver::Scheme;
use protocol::Limits;
use tracing::{info, warn};

use crate::server::bind;
use crate::shutdown::{Shutdown, BLOCKING_GRACE, SHUTDOWN_GRACE};
/// Stage 05 of Stagecraft: an async HTTP/1.1 server on tokio, a task per connection.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    // ANCHOR: flags
    /// Worker threads of the runtime, which run every connection's task
    /// [default: the number of CPUs this process may run on].
    #[arg(long, value_name = "N")]
    threads: Option<WorkerCount>,
    // ANCHOR_END: flags
}

/// Runs stage 05 on `args` (the program's name first, then the stage's flags), serving the
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
    let limits = Arc::new(cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_EVENTED));
    let app = make_app(&cli.server, crate::INFO).unwrap_or_else(|error| exit_with_error(error, 1));
    let threads = cli.threads.unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.get())
        .thread_name("worker")
        .enable_all()
        .build()
        .unwrap_or_else(|error| exit_with_error(format_args!("cannot start tokio: {error}"), 1));

    runtime.block_on(async {
        let listener = bind(cli.server.addr).unwrap_or_else(|error| exit_with_error(error, 1));
        let local = listener.local_addr().unwrap_or_else(|error| {
            exit_with_error(
                format_args!("cannot read the listening address: {error}"),
                1,
            )
        });
        // Only now that the address is ours does anything go to the log: a refused start says
        // one thing, on one line. A connection costs a descriptor here, not a thread.
        let open_files = driver::open_files::raise_and_log(limits.max_connections)
            .map(|open_files| open_files.after);
        let shutdown = Shutdown::new();
        shutdown
            .on_signals(cli.server.drain(&app))
            .unwrap_or_else(|error| {
                exit_with_error(format_args!("cannot install signal handlers: {error}"), 1)
            });

        // The first line on stdout is how people, tests and the benchmark harness find the port.
        driver::announce(Scheme::Http, local);
        info!(
            root = %cli.server.root().display(),
            threads = threads.get(),
            max_connections = limits.max_connections,
            open_files,
            "serving, a task per connection"
        );

        crate::serve(listener, Arc::new(app), limits, &shutdown).await;
        info!("stopped accepting; finishing the connections");
        match shutdown.drained(SHUTDOWN_GRACE).await {
            0 => info!("stopped"),
            left => warn!(left, grace = ?SHUTDOWN_GRACE, "stopped with connections unfinished"),
        }
    });
    runtime.shutdown_timeout(BLOCKING_GRACE);
}
// ANCHOR_END: main
