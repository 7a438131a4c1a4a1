//! `stage04-evented`: parse the command line, raise the open-files limit, bind one listening
//! socket per loop, print where we listen, serve.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use app::App;
use clap::Parser;
use cli::{exit_with_error, init_logging, parse_or_exit, ServerArgs};
use protocol::Limits;
use stage04_evented::server::{bind, raise_open_files_limit};
use stage04_evented::shutdown::Shutdown;
use stage04_evented::Config;
use tracing::{info, warn};

// ANCHOR: flags
/// Stage 04 of Stagecraft: an HTTP/1.1 server with one mio event loop per core.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// Event loops, each a thread with its own listening socket [default: number of cores].
    #[arg(long, value_name = "N", value_parser = parse_positive)]
    threads: Option<usize>,

    /// Threads that run handlers which may block (/slow), so that no loop ever blocks.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = parse_positive)]
    blocking_threads: usize,
}
// ANCHOR_END: flags

/// Descriptors the process needs besides connections: listeners, epoll, wakers, files being
/// sent, stdio.
const SPARE_DESCRIPTORS: u64 = 64;

// ANCHOR: main
fn main() {
    let cli: Cli = parse_or_exit();
    init_logging(&cli.server);
    let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_EVENTED);
    let threads = cli.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let app = App::new(&cli.server.root(), stage04_evented::INFO, Instant::now())
        .unwrap_or_else(|error| exit_with_error(error, 1));

    let listeners = bind(cli.server.addr, threads).unwrap_or_else(|error| {
        exit_with_error(
            format_args!("cannot listen on {}: {error}", cli.server.addr),
            1,
        )
    });
    let local = listeners[0].local_addr().unwrap_or_else(|error| {
        exit_with_error(
            format_args!("cannot read the listening address: {error}"),
            1,
        )
    });
    // Only now that the address is ours does anything go to the log: a refused start says
    // one thing, on one line.
    match raise_open_files_limit() {
        Ok((before, after)) => {
            info!(before, after, "open files limit (RLIMIT_NOFILE)");
            let wanted = limits.max_connections as u64 + SPARE_DESCRIPTORS;
            if after < wanted {
                warn!(
                    limit = after,
                    max_connections = limits.max_connections,
                    "the open files limit is below --max-connections: accepts will fail with \
                     EMFILE before the limit is reached (raise the hard limit: ulimit -Hn)"
                );
            }
        }
        Err(error) => warn!(%error, "cannot raise the open files limit"),
    }

    let shutdown = Shutdown::new();
    shutdown.on_signals().unwrap_or_else(|error| {
        exit_with_error(format_args!("cannot install signal handlers: {error}"), 1)
    });

    // The first line on stdout is how people, tests and the benchmark harness find the port.
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();
    info!(root = %cli.server.root().display(), threads, "serving with one event loop per thread");

    let config = Config {
        limits,
        threads,
        blocking_threads: cli.blocking_threads,
    };
    if let Err(error) = stage04_evented::serve(listeners, Arc::new(app), &config, &shutdown) {
        exit_with_error(format_args!("the server failed: {error}"), 1);
    }
    info!("stopped");
}
// ANCHOR_END: main

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be greater than zero".to_owned()),
        Ok(value) => Ok(value),
        Err(error) => Err(error.to_string()),
    }
}
