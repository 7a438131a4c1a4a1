//! `stage02-threadpool`: parse the command line, start the threads, bind, print where we
//! listen, serve.

use std::sync::Arc;
use std::time::Instant;

use app::App;
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs, WorkerCount};
use driver::listener::{self, ListenOptions};
use driver::Scheme;
use protocol::Limits;
use stage01_blocking::shutdown::Shutdown;
use stage02_threadpool::server::{DEFAULT_QUEUE, MAX_QUEUE};
use stage02_threadpool::{PoolConfig, PoolKind, Workers};
use tracing::info;

/// Stage 02 of Stagecraft: the blocking HTTP/1.1 server on a thread pool with a bounded queue.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    // ANCHOR: flags
    /// Worker threads (handmade and rayon pools); each serves one connection at a time
    /// [default: the number of CPUs this process may run on].
    #[arg(long, value_name = "N")]
    threads: Option<WorkerCount>,

    /// Connections that may wait for a free worker of the handmade pool; when it is full, the
    /// server stops accepting until a worker is free. 0: no waiting room at all.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE, value_parser = parse_queue)]
    queue: usize,

    /// Which threads serve the connections.
    #[arg(long, value_enum, default_value_t = PoolKind::Handmade)]
    pool: PoolKind,
    // ANCHOR_END: flags
}

// ANCHOR: main
fn main() {
    let (cli, reload) = cli::parse_with_reload::<Cli>();
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
    let app = App::site(&cli.server.site_options(), cli.pool.info(), Instant::now())
        .unwrap_or_else(|error| exit_with_error(error, 1));
    // The threads first: a failure to start them is reported before we say we are listening.
    let workers = Workers::start(&config).unwrap_or_else(|error| exit_with_error(error, 1));
    // Stage 01's listener: a blocking socket with std's accept queue of 128.
    let listener = listener::bind(cli.server.addr, ListenOptions::STD)
        .unwrap_or_else(|error| exit_with_error(error, 1));
    let local = listener.local_addr().unwrap_or_else(|error| {
        exit_with_error(
            format_args!("cannot read the listening address: {error}"),
            1,
        )
    });
    let shutdown = Shutdown::new();
    shutdown.on_signals(local).unwrap_or_else(|error| {
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

    stage02_threadpool::serve(listener, workers, Arc::new(app), &limits, &shutdown);
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
