//! How stage 07 starts: parse the command line, read or make the certificates, build the TLS settings (ALPN `h2` first), start the runtime, bind (and `--h2c`), print where we listen, serve until a signal.
//!
//! `main.rs` calls [`main_with`] with [`cli::demo_site`], the demo site; a program with an
//! application of its own calls it with a function that builds that application
//! (`examples/notes.rs --stage 7`), and stage 07 serves it with every flag it has.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::sync::Arc;

use app::{App, AppError, AppInfo};
use clap::Parser;
use cli::{exit_with_error, init_logging, ServerArgs, WorkerCount};
use driver::Scheme;
use protocol::Limits;
use stage05_async::shutdown::{Shutdown, BLOCKING_GRACE, SHUTDOWN_GRACE};
use stage06_tls::certs::{Reloader, Resolver};
use stage06_tls::config::{self, Crypto};
use stage06_tls::launch::{load_certificates, watch_certificates, TlsArgs};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::conn::Settings;
use crate::server::bind;
/// Stage 07 of Stagecraft: stage 06 with HTTP/2 (ALPN h2 over TLS, h2c with prior knowledge).
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// Worker threads of the runtime [default: the number of CPUs this process may run on].
    #[arg(long, value_name = "N")]
    threads: Option<WorkerCount>,

    #[command(flatten)]
    tls: TlsArgs,

    /// Also listen for plain TCP here, serving HTTP/1.1 and HTTP/2 with prior knowledge (h2c).
    #[arg(long, value_name = "ADDR")]
    h2c: Option<SocketAddr>,
}

/// Runs stage 07 on `args` (the program's name first, then the stage's flags), serving the
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
    let drain = cli.server.drain(&app);

    // The certificates, checked before anything listens: a bad file is one line and exit 1.
    let provider = Arc::new(config::provider(cli.tls.crypto, !cli.tls.no_pq_hybrid));
    let (certificates, files, self_signed) = load_certificates(&cli.tls, &provider, "stage07");
    let resolver = Arc::new(Resolver::new(certificates));
    let tls = config::server_config(
        Arc::clone(&provider),
        cli.tls.crypto,
        resolver.clone(),
        crate::ALPN_H2_FIRST,
    )
    .unwrap_or_else(|error| exit_with_error(error, 1));
    let settings = Arc::new(Settings {
        app: Arc::new(app),
        limits: Arc::clone(&limits),
        tls: Arc::new(tls),
        handshake_timeout: cli.tls.handshake_timeout,
        hsts: cli.tls.hsts.map(|seconds| format!("max-age={seconds}")),
    });

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
        let h2c = cli.h2c.map(|addr| {
            let listener = bind(addr).unwrap_or_else(|error| exit_with_error(error, 1));
            let addr = listener.local_addr().unwrap_or_else(|error| {
                exit_with_error(format_args!("cannot read the h2c address: {error}"), 1)
            });
            (listener, addr)
        });
        let redirect = cli.tls.redirect_http.map(|addr| {
            let listener = bind(addr).unwrap_or_else(|error| exit_with_error(error, 1));
            let addr = listener.local_addr().unwrap_or_else(|error| {
                exit_with_error(format_args!("cannot read the redirect address: {error}"), 1)
            });
            (listener, addr)
        });
        let open_files = driver::open_files::raise_and_log(limits.max_connections)
            .map(|open_files| open_files.after);
        let shutdown = Shutdown::new();
        shutdown.on_signals(drain).unwrap_or_else(|error| {
            exit_with_error(format_args!("cannot install signal handlers: {error}"), 1)
        });
        let reloader = Reloader::new(files, Arc::clone(&provider), resolver);
        let watching = self_signed.is_none();
        let hangup = signal(SignalKind::hangup()).unwrap_or_else(|error| {
            exit_with_error(
                format_args!("cannot install the SIGHUP handler: {error}"),
                1,
            )
        });
        tokio::spawn(watch_certificates(
            reloader,
            watching,
            hangup,
            shutdown.clone(),
        ));

        // The first line on stdout is how people, tests and the benchmark harness find the port.
        driver::announce(Scheme::Https, local);
        // One count of connections for both ports: `--max-connections` is the process's.
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        // ANCHOR: h2c_listener
        if let Some((listener, addr)) = h2c {
            // The second line: where h2c is, for tests and tools that measure HTTP/2 without TLS.
            announce_h2c(addr);
            tokio::spawn(crate::h2c::serve_h2c(
                listener,
                Arc::clone(&settings.app),
                Arc::clone(&limits),
                Arc::clone(&slots),
                shutdown.clone(),
            ));
        }
        // ANCHOR_END: h2c_listener
        if let Some((listener, addr)) = redirect {
            driver::announce_redirect(addr);
            tokio::spawn(stage06_tls::redirect::serve(
                listener,
                local.port(),
                Arc::clone(&limits),
                shutdown.clone(),
            ));
        }
        if let Some(path) = &self_signed {
            info!(
                cert = %path.display(),
                "made a self-signed certificate for localhost, 127.0.0.1 and ::1; trust it with \
                 curl --cacert {} https://localhost:{}/",
                path.display(),
                local.port()
            );
        }
        info!(
            root = %cli.server.root().display(),
            threads = threads.get(),
            max_connections = limits.max_connections,
            open_files,
            crypto = %cli.tls.crypto,
            pq_hybrid = !cli.tls.no_pq_hybrid && cli.tls.crypto == Crypto::AwsLcRs,
            "serving https (h2 and HTTP/1.1), a task per connection"
        );

        crate::serve(listener, settings, slots, &shutdown).await;
        info!("stopped accepting; finishing the connections");
        match shutdown.drained(SHUTDOWN_GRACE).await {
            0 => info!("stopped"),
            left => warn!(left, grace = ?SHUTDOWN_GRACE, "stopped with connections unfinished"),
        }
    });
    runtime.shutdown_timeout(BLOCKING_GRACE);
}
// ANCHOR_END: main

/// Prints `listening on http://ADDR (h2c and HTTP/1.1)` on stdout: the line after the https one.
fn announce_h2c(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) =
        writeln!(out, "listening on http://{addr} (h2c and HTTP/1.1)").and_then(|()| out.flush())
    {
        warn!(%error, %addr, "cannot print the h2c address on stdout");
    }
}
