//! How stage 01 starts: parse the command line, bind, print where we listen, serve.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 1`), and stage 01 serves it with every flag it has.

use std::ffi::OsString;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs};
use driver::listener::{self, ListenOptions};
use driver::Scheme;
use protocol::Limits;
use tracing::info;

use crate::shutdown::Shutdown;
/// Stage 01 of Stagecraft: a blocking HTTP/1.1 server that serves one connection at a time.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

/// Runs stage 01 on `args` (the program's name first, then the stage's flags), serving the
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
    let app = make_app(&cli.server, crate::INFO).unwrap_or_else(|error| exit_with_error(error, 1));
    // What std's `TcpListener::bind` does: a blocking socket with an accept queue of 128; or the
    // socket a service manager passed (socket activation, `driver::activation`).
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
    info!(root = %cli.server.root().display(), "serving one connection at a time");

    crate::serve(listener, &app, &limits, &shutdown);
    info!("stopped");
}
// ANCHOR_END: main
