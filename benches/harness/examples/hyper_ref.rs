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
//! with `hyper_util::rt::TokioExecutor`, each stream a task), for the h2c scenarios. It has no
//! TLS: the HTTP/2-over-TLS rows have no hyper row (the harness says why).
//!
//! hyper is a dev-dependency of the harness package only: no stage depends on it.
//!
//! ```text
//! cargo run --release -p stagecraft-harness --example hyper_ref -- --addr 127.0.0.1:0 --root DIR [--threads N] [--h2c]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR`; SIGTERM ends it.

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

/// The cap on `/slow?ms=N`, as in the stages' own `/slow` route.
const MAX_SLOW: Duration = Duration::from_secs(1);

fn main() {
    let (addr, root, threads, h2c) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("hyper_ref: {message}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hyper_ref: cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(serve(addr, root, h2c)) {
        eprintln!("hyper_ref: {error}");
        std::process::exit(1);
    }
}

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(SocketAddr, PathBuf, usize, bool), String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut root = None;
    let mut threads = 1;
    let mut h2c = false;
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
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let root = root.ok_or("--root DIR is required")?;
    Ok((addr, root, threads, h2c))
}

// ANCHOR: hyper_serve
async fn serve(addr: SocketAddr, root: PathBuf, h2c: bool) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
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
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, Arc::clone(&root)));
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
        _ => "application/octet-stream",
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
