//! The HTTP/2 opening the book shows byte by byte (`examples/h2_opening`), on a real capture,
//! on malformed bytes, and against the page the book includes.
//!
//! - The committed capture (`tests/data/h2-opening-curl.hex`, written by
//!   `cargo run --example h2_opening -- curl`) is read back with the protocol crate's frame and
//!   HPACK decoders: the preface, curl's SETTINGS, its connection WINDOW_UPDATE, and one
//!   HEADERS frame on stream 1 asking `GET /hello/reader`.
//! - `book/src/results/h2-opening-curl.md` is exactly what the reader makes of that capture, so
//!   the page cannot drift from the capture or from the decoders.
//! - A live capture from the curl on this machine, when there is one (skipped with a message
//!   when curl is missing, a failure under `CI=true`).
//! - Every truncation and every one-byte change of the capture is an error or a parse, never a
//!   panic.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use protocol::h2::frame::Frame;

#[path = "../examples/shared/capture_file.rs"]
mod capture_file;
#[path = "../examples/h2_opening/opening.rs"]
mod opening;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn committed() -> (Vec<u8>, String, String) {
    let path = root().join("tests/data/h2-opening-curl.hex");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    capture_file::from_hex_file(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The request curl's opening asks for, as (name, value) text pairs.
fn request_fields(bytes: &[u8]) -> Vec<(String, String)> {
    let parsed = opening::parse(bytes).expect("the capture parses");
    assert_eq!(parsed.blocks.len(), 1, "one HEADERS frame");
    parsed.blocks[0]
        .iter()
        .map(|(_, field)| {
            (
                String::from_utf8_lossy(&field.name).into_owned(),
                String::from_utf8_lossy(&field.value).into_owned(),
            )
        })
        .collect()
}

#[test]
fn the_curl_capture_is_a_preface_settings_a_window_update_and_one_request() {
    let (bytes, client, _) = committed();
    assert!(client.starts_with("curl "), "{client}");
    let parsed = opening::parse(&bytes).expect("the capture parses");
    let kinds: Vec<&str> = parsed
        .frames
        .iter()
        .map(|(frame, _)| match frame {
            Frame::Settings(_) => "SETTINGS",
            Frame::WindowUpdate(_) => "WINDOW_UPDATE",
            Frame::Headers(_) => "HEADERS",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["SETTINGS", "WINDOW_UPDATE", "HEADERS"]);
    let Frame::Headers(headers) = &parsed.frames[2].0 else {
        unreachable!("checked above")
    };
    assert_eq!(headers.stream, 1, "a client's first stream is 1");
    assert!(headers.end_stream && headers.end_headers);
    let fields = request_fields(&bytes);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get(":method"), Some("GET"));
    assert_eq!(get(":path"), Some("/hello/reader"));
    assert_eq!(get(":scheme"), Some("http"));
    assert!(get("user-agent").is_some_and(|agent| agent.starts_with("curl/")));
    // The representations put end to end are the whole block: no byte left unexplained.
    let Frame::Headers(headers) = &parsed.frames[2].0 else {
        unreachable!()
    };
    let joined: Vec<u8> = parsed.blocks[0]
        .iter()
        .flat_map(|(bytes, _)| bytes.clone())
        .collect();
    assert_eq!(joined, headers.fragment.to_vec());
}

#[test]
fn the_page_is_what_the_reader_makes_of_the_capture() {
    let (bytes, client, command) = committed();
    let page = opening::document(&bytes, &client, &command).expect("the capture reads");
    let path = root().join("book/src/results/h2-opening-curl.md");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_eq!(
        committed, page,
        "the page differs from its capture: run `cargo run --example h2_opening -- render`"
    );
    let again = capture_file::to_hex_file(&bytes, &client, &command);
    assert_eq!(
        capture_file::from_hex_file(&again),
        Ok((bytes, client, command))
    );
}

#[test]
fn no_truncation_or_one_byte_change_panics() {
    let (bytes, _, _) = committed();
    for end in 0..bytes.len() {
        let _ = opening::parse(&bytes[..end]);
    }
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] ^= flip;
            let _ = opening::parse(&changed);
        }
    }
    assert!(matches!(
        opening::parse(&bytes[..30]),
        Err(opening::Error::Truncated { .. })
    ));
}

#[test]
fn a_live_curl_opens_the_same_way() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "curl is missing and CI=true (.ci/run installs it)"
        );
        eprintln!("SKIPPED a live HTTP/2 capture: curl is not installed");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let mut curl = Command::new("curl")
        .args(["--silent", "--http2-prior-knowledge", "--max-time", "5"])
        .arg(format!("http://{addr}/hello/reader"))
        .stdout(Stdio::null())
        .spawn()
        .expect("curl starts");
    let (mut socket, _) = listener.accept().expect("curl connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout can be set");
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let live = loop {
        if let Ok(parsed) = opening::parse(&bytes) {
            if !parsed.blocks.is_empty() {
                break request_fields(&bytes);
            }
        }
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break Vec::new(),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    };
    // curl waits for an answer that never comes: end it by its PID.
    let _ = curl.kill();
    let _ = curl.wait();
    let without_authority = |fields: Vec<(String, String)>| -> Vec<(String, String)> {
        fields
            .into_iter()
            .filter(|(name, _)| name != ":authority")
            .collect()
    };
    // The port differs from the committed capture's, and so does :authority; nothing else.
    assert_eq!(
        without_authority(live),
        without_authority(request_fields(&committed().0)),
        "this machine's curl opens differently from the committed capture: run \
         `cargo run --example h2_opening -- curl` and read the new page"
    );
}
