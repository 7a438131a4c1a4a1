//! `stage06-tls`: parse the command line, read or make the certificates, build the TLS settings,
//! start the runtime, bind, print where we listen, serve until a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::App;
use clap::{Args, Parser};
use cli::{exit_with_error, init_logging, parse_duration, parse_or_exit, ServerArgs, WorkerCount};
use driver::Scheme;
use protocol::Limits;
use stage05_async::shutdown::{Shutdown, BLOCKING_GRACE, SHUTDOWN_GRACE};
use stage06_tls::certs::{self, CertFiles, Certificates, Reloader, Resolver};
use stage06_tls::config::{self, Crypto};
use stage06_tls::conn::Settings;
use stage06_tls::server::bind;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{info, warn};

/// How often the certificate files are looked at for a change.
const CERTIFICATE_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Stage 06 of Stagecraft: stage 05 with TLS 1.2 and 1.3 (rustls, driven by hand).
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
}

// ANCHOR: flags
/// The TLS flags.
#[derive(Args, Debug)]
struct TlsArgs {
    /// PEM certificate chain, leaf first [default: a self-signed certificate for localhost,
    /// 127.0.0.1 and ::1, made at start].
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,

    /// PEM private key of --cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,

    /// Another certificate, for clients that ask for NAME by SNI; repeatable. Clients that ask
    /// for another name, or none, get --cert.
    #[arg(long, value_name = "NAME=CERT,KEY", value_parser = parse_sni, requires = "cert")]
    sni: Vec<CertFiles>,

    /// Where the self-signed certificate is written, for clients to trust [default: a file in
    /// the temporary directory, named in the log].
    #[arg(long, value_name = "FILE", conflicts_with = "cert")]
    self_signed_cert: Option<PathBuf>,

    /// The cryptography under rustls: aws-lc-rs has the post-quantum hybrid, ring does not.
    #[arg(long, value_enum, default_value_t = Crypto::AwsLcRs)]
    crypto: Crypto,

    /// Turn off the post-quantum hybrid key exchange (X25519MLKEM768), for comparisons:
    /// X25519 and P-256 only.
    #[arg(long)]
    no_pq_hybrid: bool,

    /// Time from the TCP connection to the end of the TLS handshake before the server closes.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    handshake_timeout: Duration,

    /// Also listen for plain HTTP here, answering every request with 308 to the https URL.
    #[arg(long, value_name = "ADDR")]
    redirect_http: Option<SocketAddr>,

    /// Add `Strict-Transport-Security: max-age=SECONDS` to every https response.
    #[arg(long, value_name = "SECONDS")]
    hsts: Option<u64>,
}
// ANCHOR_END: flags

/// `NAME=CERT,KEY` for `--sni`.
fn parse_sni(text: &str) -> Result<CertFiles, String> {
    let usage = || format!("{text:?} is not NAME=CERT,KEY");
    let (name, files) = text.split_once('=').ok_or_else(usage)?;
    let (cert, key) = files.split_once(',').ok_or_else(usage)?;
    let name_is_dns = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !name_is_dns || cert.is_empty() || key.is_empty() {
        return Err(usage());
    }
    Ok(CertFiles {
        name: Some(name.to_owned()),
        cert: cert.into(),
        key: key.into(),
    })
}

// ANCHOR: main
fn main() {
    let cli: Cli = parse_or_exit();
    init_logging(&cli.server);
    let limits = Arc::new(cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_EVENTED));
    let app = App::new(&cli.server.root(), stage06_tls::INFO, Instant::now())
        .unwrap_or_else(|error| exit_with_error(error, 1));

    // The certificates, checked before anything listens: a bad file is one line and exit 1.
    let provider = Arc::new(config::provider(cli.tls.crypto, !cli.tls.no_pq_hybrid));
    let (certificates, files, self_signed) = load_certificates(&cli.tls, &provider);
    let resolver = Arc::new(Resolver::new(certificates));
    let tls = config::server_config(
        Arc::clone(&provider),
        cli.tls.crypto,
        resolver.clone(),
        config::ALPN_HTTP1,
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
        shutdown.on_signals().unwrap_or_else(|error| {
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
            "serving https, a task per connection"
        );

        stage06_tls::serve(listener, settings, &shutdown).await;
        info!("stopped accepting; finishing the connections");
        match shutdown.drained(SHUTDOWN_GRACE).await {
            0 => info!("stopped"),
            left => warn!(left, grace = ?SHUTDOWN_GRACE, "stopped with connections unfinished"),
        }
    });
    runtime.shutdown_timeout(BLOCKING_GRACE);
}
// ANCHOR_END: main

/// The certificates the flags name (and the files to watch), or a self-signed one (and where
/// it was written). Exits with one line on any error.
fn load_certificates(
    tls: &TlsArgs,
    provider: &rustls::crypto::CryptoProvider,
) -> (Certificates, Vec<CertFiles>, Option<PathBuf>) {
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let mut files = vec![CertFiles {
                name: None,
                cert: cert.clone(),
                key: key.clone(),
            }];
            files.extend(tls.sni.iter().cloned());
            let certificates = Certificates::load(&files, provider)
                .unwrap_or_else(|error| exit_with_error(error, 1));
            (certificates, files, None)
        }
        _ => {
            let path = tls.self_signed_cert.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!(
                    "stagecraft-stage06-{}-cert.pem",
                    std::process::id()
                ))
            });
            let certificates = certs::self_signed(&path, provider)
                .unwrap_or_else(|error| exit_with_error(error, 1));
            (certificates, Vec::new(), Some(path))
        }
    }
}

// ANCHOR: watch_certificates
/// Reloads the certificates on SIGHUP and when a file changes, until shutdown. A reload that
/// fails keeps the certificates in use and says why; the next change or SIGHUP tries again.
async fn watch_certificates(
    mut reloader: Reloader,
    from_files: bool,
    mut hangup: tokio::signal::unix::Signal,
    shutdown: Shutdown,
) {
    let mut check = tokio::time::interval(CERTIFICATE_CHECK_EVERY);
    loop {
        let why = tokio::select! {
            () = shutdown.requested() => return,
            _ = hangup.recv() => "SIGHUP",
            _ = check.tick(), if from_files => {
                if !reloader.changed() {
                    continue;
                }
                "a certificate file changed"
            }
        };
        if !from_files {
            info!(why, "the certificate was made at start: nothing to reload");
            continue;
        }
        match reloader.reload() {
            Ok(()) => info!(why, "certificates reloaded: new handshakes get them"),
            Err(error) => warn!(why, %error, "certificates not reloaded: keeping the ones in use"),
        }
    }
}
// ANCHOR_END: watch_certificates
