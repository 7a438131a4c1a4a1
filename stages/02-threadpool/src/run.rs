//! How stage 02 starts: parse the command line, start the threads, bind, print where we listen, serve.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 2`), and stage 02 serves it with every flag it has.

use std::ffi::OsString;
use std::sync::Arc;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs, WorkerCount};
use driver::listener::{self, ListenOptions};
use driver::Scheme;
use protocol::Limits;
use stage01_blocking::shutdown::Shutdown;
use tracing::info;

use crate::server::{DEFAULT_QUEUE, MAX_QUEUE};
use crate::{PoolConfig, PoolKind, Workers};
/// Stage 02 of Stagecraft: the blocking HTTP/1.1 server on a thread pool with a bounded queue.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    // ANCHOR: flags
    /// Worker threads (handmade and rayon pools); each serves one request at a time (rayon's:
    /// one connection) [default: the number of CPUs this process may run on].
    #[arg(long, value_name = "N")]
    threads: Option<WorkerCount>,

    /// Connections with a request that may wait for a free worker of the handmade pool; when it
    /// is full, the lobby waits for room (connections still arrive, up to --max-connections).
    /// 0: no queue at all.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE, value_parser = parse_queue)]
    queue: usize,

    /// Which threads serve the connections.
    #[arg(long, value_enum, default_value_t = PoolKind::Handmade)]
    pool: PoolKind,
    // ANCHOR_END: flags
}

/// Runs stage 02 on `args` (the program's name first, then the stage's flags), serving the
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
    let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING);
    let config = PoolConfig {
        kind: cli.pool,
        threads: cli.threads.unwrap_or_default().into(),
        queue: cli.queue,
    };
    let app =
        make_app(&cli.server, cli.pool.info()).unwrap_or_else(|error| exit_with_error(error, 1));
    // The threads first: a failure to start them is reported before we say we are listening.
    let workers = Workers::start(&config).unwrap_or_else(|error| exit_with_error(error, 1));
    // Stage 01's listener: a blocking socket with std's accept queue of 128.
    let listener = listener::bind_or_activated(cli.server.addr, ListenOptions::STD)
        .unwrap_or_else(|error| exit_with_error(error, 1));
    let local = listener.local_addr().unwrap_or_else(|error| {
        exit_with_error(
            format_args!("cannot read the listening address: {error}"),
            1,
        )
    });
    let shutdown = Shutdown::new();
    shutdown
        .on_signals(local, cli.server.drain(&app))
        .unwrap_or_else(|error| {
            exit_with_error(format_args!("cannot install signal handlers: {error}"), 1)
        });

    // The first line on stdout is how people, tests and the benchmark harness find the port.
    driver::announce(Scheme::Http, local);
    info!(
        root = %cli.server.root().display(),
        pool = %config.kind,
        threads = config.threads,
        queue = config.queue,
        "serving"
    );

    crate::serve(listener, workers, Arc::new(app), &limits, &shutdown);
    info!("stopped");
}
// ANCHOR_END: main

/// `--queue`: a whole number up to [`MAX_QUEUE`].
fn parse_queue(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(queue) if queue > MAX_QUEUE => Err(format!(
            "must be at most {MAX_QUEUE}: the queue's slots are allocated up front"
        )),
        Ok(queue) => Ok(queue),
        Err(error) => Err(error.to_string()),
    }
}
