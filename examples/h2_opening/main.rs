//! Captures the first bytes a real HTTP/2 client sends, and writes them out byte by byte, read
//! with the protocol crate's own frame and HPACK decoders, for the HTTP/2 chapter of the book.
//!
//! ```console
//! $ cargo run --example h2_opening -- curl      # runs curl --http2-prior-knowledge against itself
//! $ cargo run --example h2_opening -- render    # the page again, from the saved capture
//! ```
//!
//! It listens on `127.0.0.1:0`, starts curl asking for `/hello/reader` over h2c with prior
//! knowledge, reads until the request's HEADERS frame has arrived (curl sends its whole opening
//! without waiting for the server), and closes without answering. The capture goes to
//! `tests/data/h2-opening-curl.hex` and the page to `book/src/results/h2-opening-curl.md`, which
//! the chapter includes; `tests/h2_opening.rs` checks that the page is what [`opening::document`]
//! makes of the capture.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use protocol::h2::frame::Frame;

#[path = "../shared/capture_file.rs"]
mod capture_file;
mod opening;

/// How long curl has to send its opening once connected.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: h2_opening curl | render";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("curl") if args.len() == 1 => capture_curl(),
        Some("render") if args.len() == 1 => render(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("h2_opening: {error}");
            ExitCode::FAILURE
        }
    }
}

/// curl, as installed, asked for `http://127.0.0.1:PORT/hello/reader` over h2c.
fn capture_curl() -> Result<(), String> {
    let client = stagekit::peers::curl_version(|word| word.starts_with("nghttp2/"), "nghttp2")?;

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    let mut curl = Command::new("curl")
        .args(["--silent", "--http2-prior-knowledge", "--max-time", "5"])
        .arg(format!("http://{addr}/hello/reader"))
        .stdout(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start curl: {error}"))?;
    let captured = read_opening(&listener);
    // curl waits for an answer that never comes: end it by its PID.
    let _ = curl.kill();
    let _ = curl.wait();
    let bytes = captured?;
    let command = "cargo run --example h2_opening -- curl";
    let page = opening::document(&bytes, &client, command).map_err(|error| error.to_string())?;
    write(
        &capture_path(),
        &capture_file::to_hex_file(&bytes, &client, command),
    )?;
    write(&page_path(), &page)
}

/// Accepts one connection and reads until its bytes hold a whole HEADERS frame.
fn read_opening(listener: &TcpListener) -> Result<Vec<u8>, String> {
    let (mut socket, _) = listener.accept().map_err(|error| error.to_string())?;
    socket
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|error| error.to_string())?;
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Ok(opening) = opening::parse(&bytes) {
            if opening
                .frames
                .iter()
                .any(|(frame, _)| matches!(frame, Frame::Headers(_)))
            {
                return Ok(bytes);
            }
        }
        match socket.read(&mut buffer) {
            Ok(0) => return Err(format!("the client closed after {} bytes", bytes.len())),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            Err(error) => return Err(format!("reading the opening: {error}")),
        }
    }
}

/// Writes the page again from the saved capture (after a change to the reader).
fn render() -> Result<(), String> {
    let path = capture_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (bytes, client, command) = capture_file::from_hex_file(&text)?;
    let page = opening::document(&bytes, &client, &command).map_err(|error| error.to_string())?;
    write(&page_path(), &page)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn capture_path() -> PathBuf {
    root().join("tests/data/h2-opening-curl.hex")
}

fn page_path() -> PathBuf {
    root().join("book/src/results/h2-opening-curl.md")
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|error| format!("{}: {error}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
