//! The hyper reference server: what most Rust users would build on instead of writing their own
//! HTTP/1.1 code, so the benchmark tables read stage / nginx / hyper / floor.
//!
//! It is deliberately the plain, documented way to use hyper 1.x: a tokio multi-threaded runtime,
//! one task per connection, `hyper::server::conn::http1` with `hyper_util::rt::TokioIo`, and a
//! `service_fn` that answers
//!
//! - `GET /plaintext`: `Hello, World!` (the TechEmpower plaintext test);
//! - `GET /slow?ms=N`: the same answer after a `tokio::time::sleep` of N ms (at most 1000), so the
//!   `/slow` mix runs against hyper too;
//! - any other path: the file of that name under `--root`, read with `std::fs::read` on every
//!   request (a small file in the page cache costs microseconds, and this is what a handler
//!   written without a file-serving crate does), or 404.
//!
//! With `--h2c` it speaks HTTP/2 with prior knowledge instead (`hyper::server::conn::http2`
//! with `hyper_util::rt::TokioExecutor`, each stream a task), for the h2c scenarios.
//!
//! With `--cert FILE --key FILE` (PEM, the certificate and key the harness gives nginx and stage
//! 07) it speaks TLS instead, the way a hyper user adds it: hyper leaves TLS to another crate, and
//! the usual one is tokio-rustls, here on rustls with the aws-lc-rs provider (stage 06's). ALPN
//! offers `h2` first, then `http/1.1` (RFC 7301; RFC 9113 section 3.2 names `h2`), and each
//! connection is served by the protocol the handshake agreed on, for the HTTP/2-over-TLS and
//! page-load scenarios.
//!
//! hyper and tokio-rustls are dev-dependencies of the harness package only: no stage depends on
//! them.
//!
//! ```text
//! cargo run --release -p stagecraft-harness --example hyper_ref -- --addr 127.0.0.1:0 --root DIR [--threads N] [--h2c | --cert FILE --key FILE]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR` (`https://` with TLS); SIGTERM ends it.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The cap on `/slow?ms=N`, as in the stages' own `/slow` route.
const MAX_SLOW: Duration = Duration::from_secs(1);

/// What the command line asked for.
struct Args {
    addr: SocketAddr,
    root: PathBuf,
    threads: usize,
    h2c: bool,
    /// `--cert` and `--key`: serve TLS with them.
    tls: Option<(PathBuf, PathBuf)>,
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("hyper_ref: {message}");
            std::process::exit(2);
        }
    };
    let tls = match &args.tls {
        None => None,
        Some((cert, key)) => match tls_acceptor(cert, key) {
            Ok(acceptor) => Some(acceptor),
            Err(message) => {
                eprintln!("hyper_ref: {message}");
                std::process::exit(1);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hyper_ref: cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(serve(args.addr, args.root, args.h2c, tls)) {
        eprintln!("hyper_ref: {error}");
        std::process::exit(1);
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut root = None;
    let mut threads = 1;
    let mut h2c = false;
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                addr = value("--addr")?
                    .parse()
                    .map_err(|error| format!("--addr: {error}"))?
            }
            "--root" => root = Some(PathBuf::from(value("--root")?)),
            "--threads" => {
                threads = value("--threads")?
                    .parse()
                    .ok()
                    .filter(|threads| *threads > 0)
                    .ok_or("--threads takes a positive number")?
            }
            "--h2c" => h2c = true,
            "--cert" => cert = Some(PathBuf::from(value("--cert")?)),
            "--key" => key = Some(PathBuf::from(value("--key")?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let root = root.ok_or("--root DIR is required")?;
    let tls = match (cert, key) {
        (Some(cert), Some(key)) if !h2c => Some((cert, key)),
        (Some(_), Some(_)) => return Err("--h2c is plain TCP: it takes no --cert".into()),
        (None, None) => None,
        _ => return Err("--cert and --key go together".into()),
    };
    Ok(Args {
        addr,
        root,
        threads,
        h2c,
        tls,
    })
}

/// A TLS acceptor for the PEM certificate chain and key in `cert` and `key`, offering `h2` and
/// then `http/1.1` by ALPN, with the aws-lc-rs provider named explicitly.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("{}: {error}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|error| format!("{}: {error}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS versions: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| format!("the certificate and key: {error}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

// ANCHOR: hyper_serve
async fn serve(
    addr: SocketAddr,
    root: PathBuf,
    h2c: bool,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let mut stdout = std::io::stdout();
    let scheme = if tls.is_some() { "https" } else { "http" };
    writeln!(stdout, "listening on {scheme}://{}", listener.local_addr()?)?;
    stdout.flush()?;
    let root = Arc::new(root);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors or an aborted handshake: skip this one, keep serving.
            Err(_) => continue,
        };
        // Ignoring the error: without Nagle off only latency suffers, not correctness.
        let _ = stream.set_nodelay(true);
        let root = Arc::clone(&root);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, Arc::clone(&root)));
            if let Some(acceptor) = tls {
                // A failed handshake ends only this connection, as a failed request does.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                let io = TokioIo::new(stream);
                if h2 {
                    let _ = http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                } else {
                    let _ = http1::Builder::new()
                        .pipeline_flush(true)
                        .serve_connection(io, service)
                        .await;
                }
                return;
            }
            // A connection error (the client went away) ends only this connection.
            if h2c {
                // hyper's defaults (200 concurrent streams, its own window sizes), as a user
                // who turns HTTP/2 on gets them.
                let _ = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                return;
            }
            let _ = http1::Builder::new()
                // Answers to pipelined requests go out in one write, as the stages do.
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
// ANCHOR_END: hyper_serve

async fn handle(
    request: Request<Incoming>,
    root: Arc<PathBuf>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if path == "/plaintext" {
        return Ok(text(StatusCode::OK, "Hello, World!"));
    }
    if path == "/slow" {
        let ms = request
            .uri()
            .query()
            .and_then(|query| query.strip_prefix("ms="))
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms).min(MAX_SLOW)).await;
        return Ok(text(StatusCode::OK, "Hello, World!"));
    }
    let Some(file) = resolve(&root, path) else {
        return Ok(text(StatusCode::NOT_FOUND, "not found"));
    };
    Ok(match std::fs::read(&file) {
        Ok(contents) => {
            let mut response = Response::new(Full::new(Bytes::from(contents)));
            if let Ok(value) = content_type(&file).parse() {
                response
                    .headers_mut()
                    .insert(hyper::header::CONTENT_TYPE, value);
            }
            response
        }
        Err(_) => text(StatusCode::NOT_FOUND, "not found"),
    })
}

/// `root` joined with the request path, refusing anything but plain names (no `..`).
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return None;
    }
    let file = root.join(relative);
    if file.is_dir() {
        Some(file.join("index.html"))
    } else {
        Some(file)
    }
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("js") => "text/javascript",
        _ => "application/octet-stream",
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
