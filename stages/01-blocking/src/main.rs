//! `stage01-blocking`: parse the command line, bind, print where we listen, serve.

use std::time::Instant;

use app::App;
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs};
use driver::listener::{self, ListenOptions};
use driver::Scheme;
use protocol::Limits;
use stage01_blocking::shutdown::Shutdown;
use tracing::info;

/// Stage 01 of Stagecraft: a blocking HTTP/1.1 server that serves one connection at a time.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
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
    let app = App::site(
        &cli.server.site_options(),
        stage01_blocking::INFO,
        Instant::now(),
    )
    .unwrap_or_else(|error| exit_with_error(error, 1));
    // What std's `TcpListener::bind` does: a blocking socket with an accept queue of 128.
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
    info!(root = %cli.server.root().display(), "serving one connection at a time");

    stage01_blocking::serve(listener, &app, &limits, &shutdown);
    info!("stopped");
}
// ANCHOR_END: main
