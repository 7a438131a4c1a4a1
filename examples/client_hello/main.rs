//! Captures the first thing a real TLS client sends, its ClientHello, and writes it out
//! annotated field by field, for the TLS chapter of the book.
//!
//! ```console
//! $ cargo run --example client_hello -- curl          # runs curl against itself
//! $ cargo run --example client_hello -- rustls        # a rustls client in this program
//! $ cargo run --example client_hello -- listen NAME   # any client: a browser, openssl s_client
//! $ cargo run --example client_hello -- render NAME   # the page again, from the saved capture
//! ```
//!
//! It listens on `127.0.0.1:0`, prints the port, accepts one connection, reads records until
//! the ClientHello is whole, answers with a `handshake_failure` alert (it has no certificate: it
//! only listens) and closes. The capture goes to `tests/data/client-hello-NAME.hex` and the
//! annotated page to `book/src/results/client-hello-NAME.md`, which the chapter includes; a test
//! (`tests/client_hello.rs`) checks that the page is what [`hello::document`] makes of the
//! capture. Reading is done by hand in [`hello`], which is what the chapter teaches.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod hello;

/// How long the client has to send its whole ClientHello once connected.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A fatal `handshake_failure` alert (RFC 8446 section 6): record type 21, TLS 1.2 on the
/// record, two bytes: level 2 (fatal), description 40. Sent in the clear, as any alert before
/// the ServerHello is.
const HANDSHAKE_FAILURE: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

const USAGE: &str = "usage: client_hello curl | rustls | listen NAME [CLIENT...] | render NAME";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("curl") => capture_curl(),
        Some("rustls") => capture_rustls(),
        Some("listen") if args.len() >= 2 => {
            let client = match args[2..].join(" ") {
                described if described.is_empty() => "a client".to_owned(),
                described => described,
            };
            capture("listen", &args[1], &client, |_| Ok(()))
        }
        Some("render") if args.len() == 2 => render(&args[1]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("client_hello: {error}");
            ExitCode::FAILURE
        }
    }
}

/// curl, as installed, asked for `https://localhost:PORT/` (resolved to 127.0.0.1).
fn capture_curl() -> Result<(), String> {
    let tls_library = |word: &str| {
        ["OpenSSL/", "GnuTLS/", "wolfSSL/", "BoringSSL"]
            .iter()
            .any(|prefix| word.starts_with(prefix))
    };
    let client = stagekit::peers::curl_version(tls_library, "its TLS library")?;
    capture("curl", "curl", &client, |addr| {
        let port = addr.port();
        let child = Command::new("curl")
            .args(["-sS", "-k", "--max-time", "10", "--resolve"])
            .arg(format!("localhost:{port}:127.0.0.1"))
            .arg(format!("https://localhost:{port}/"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run curl: {error}"))?;
        // curl fails on the alert, as it should; reap it in the background.
        thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(())
    })
}

/// rustls's client with the aws-lc-rs provider, the post-quantum hybrid first (as stage 06
/// prefers, and as browsers offer it), ALPN `http/1.1`.
fn capture_rustls() -> Result<(), String> {
    use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
    let version = rustls_version().unwrap_or_else(|| "rustls".into());
    let client = format!("{version} (aws-lc-rs, X25519MLKEM768 first)");
    capture("rustls", "rustls", &client, |addr| {
        let mut provider = default_provider();
        provider.kx_groups = vec![
            kx_group::X25519MLKEM768,
            kx_group::X25519,
            kx_group::SECP256R1,
        ];
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from("localhost")
            .map_err(|error| error.to_string())?;
        let mut session = rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|error| error.to_string())?;
        thread::spawn(move || {
            if let Ok(mut socket) = TcpStream::connect(addr) {
                let _ = socket.set_read_timeout(Some(READ_TIMEOUT));
                // Sends the ClientHello, then reads the alert, which ends the handshake.
                let _ = session.complete_io(&mut socket);
            }
        });
        Ok(())
    })
}

/// Listens, starts the client (`start`, given the address), reads one ClientHello, and writes
/// the capture and the page for `name`.
fn capture(
    mode: &str,
    name: &str,
    client: &str,
    start: impl FnOnce(SocketAddr) -> Result<(), String>,
) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    println!(
        "listening on {addr}: point a TLS client at https://localhost:{}/",
        addr.port()
    );
    start(addr)?;
    let (mut socket, peer) = listener.accept().map_err(|error| error.to_string())?;
    socket
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|error| error.to_string())?;
    let bytes = read_client_hello(&mut socket)?;
    // Ignoring errors: the client may already have gone; the capture is what matters.
    let _ = socket.write_all(&HANDSHAKE_FAILURE);
    eprintln!("read {} bytes from {peer}", bytes.len());
    let command = match mode {
        "listen" => format!("cargo run --example client_hello -- listen {name}"),
        _ => format!("cargo run --example client_hello -- {mode}"),
    };
    let page = hello::document(&bytes, client, &command).map_err(|error| error.to_string())?;
    summarise(&bytes);
    write(
        &capture_path(name),
        &hello::to_hex_file(&bytes, client, &command),
    )?;
    write(&page_path(name), &page)
}

/// One paragraph on stderr with what matters most in the capture.
fn summarise(bytes: &[u8]) {
    let Ok(hello) = hello::parse(bytes) else {
        return;
    };
    let shares: Vec<String> = hello
        .key_shares
        .iter()
        .map(|(group, len)| format!("0x{group:04x} ({len} bytes)"))
        .collect();
    eprintln!(
        "server_name {:?}; ALPN {:?}; {} cipher suites, {} groups, versions {:04x?}; key shares \
         {}; {} extensions",
        hello.server_name.as_deref().unwrap_or("none"),
        hello.alpn,
        hello.cipher_suites.len(),
        hello.groups.len(),
        hello.versions,
        shares.join(", "),
        hello.extensions.len()
    );
}

/// Reads until the records hold a whole ClientHello; the bytes of those records.
fn read_client_hello(socket: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = hello::complete_length(&bytes).map_err(|error| error.to_string())? {
            bytes.truncate(end);
            return Ok(bytes);
        }
        match socket.read(&mut buffer) {
            Ok(0) => return Err(format!("the client closed after {} bytes", bytes.len())),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            Err(error) => return Err(format!("reading the ClientHello: {error}")),
        }
    }
}

/// Writes the page again from the saved capture (after a change to the reader).
fn render(name: &str) -> Result<(), String> {
    let path = capture_path(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (bytes, client, command) = hello::from_hex_file(&text)?;
    let page = hello::document(&bytes, &client, &command).map_err(|error| error.to_string())?;
    write(&page_path(name), &page)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn capture_path(name: &str) -> PathBuf {
    root()
        .join("tests")
        .join("data")
        .join(format!("client-hello-{name}.hex"))
}

fn page_path(name: &str) -> PathBuf {
    root()
        .join("book/src/results")
        .join(format!("client-hello-{name}.md"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The rustls version this program was built with, from the workspace's Cargo.lock.
fn rustls_version() -> Option<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"rustls\"" {
            let version = lines
                .next()?
                .strip_prefix("version = \"")?
                .trim_end_matches('"');
            return Some(format!("rustls {version}"));
        }
    }
    None
}
