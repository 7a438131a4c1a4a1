//! The ClientHello reader the TLS chapter teaches (`examples/client_hello/hello.rs`), on real
//! captures, on malformed bytes, and against the pages the book includes.
//!
//! - The committed captures (`tests/data/client-hello-*.hex`, written by
//!   `cargo run --example client_hello -- curl` and `-- rustls`) are read back: curl names
//!   `localhost` and offers `http/1.1`; rustls offers the post-quantum hybrid with its
//!   1216-byte key share.
//! - The pages in `book/src/results/client-hello-*.md` are exactly what the reader makes of
//!   those captures, so a page cannot drift from its capture or from the reader.
//! - A live capture from the curl on this machine, when there is one (a real peer, skipped with
//!   a message when curl is missing, a failure under `CI=true`).
//! - Every truncation and every one-byte change of a real capture is an error or a parse,
//!   never a panic.
//!
//! The reader's own unit tests, on small hand-made inputs, are in
//! `examples/client_hello/hello/tests.rs` and run here too.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

// The reader's directory, as the example's `main.rs` sees it, so that `hello.rs` finds its
// modules in `hello/` here too (a file included by `#[path]` alone would look for them beside
// itself).
#[path = "../examples/client_hello"]
mod client_hello {
    pub mod hello;
}
use client_hello::hello;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn capture_file(name: &str) -> PathBuf {
    root().join(format!("tests/data/client-hello-{name}.hex"))
}

/// A committed capture: its bytes, the client that sent it and the command that made it.
fn committed(name: &str) -> (Vec<u8>, String, String) {
    let path = capture_file(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    hello::from_hex_file(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The group numbers the checks name (IANA's TLS Supported Groups registry).
const X25519: u16 = 0x001d;
const X25519MLKEM768: u16 = 0x11ec;

#[test]
fn the_curl_capture_asks_for_localhost_and_offers_http11() {
    let (bytes, client, _) = committed("curl");
    assert!(client.starts_with("curl "), "{client}");
    let parsed = hello::parse(&bytes).expect("the curl capture parses");
    assert_eq!(parsed.server_name.as_deref(), Some("localhost"));
    assert!(
        parsed.alpn.iter().any(|p| p == "http/1.1"),
        "{:?}",
        parsed.alpn
    );
    assert!(parsed.versions.contains(&0x0304), "curl offers TLS 1.3");
    assert!(
        parsed.key_shares.contains(&(X25519, 32)),
        "{:?}",
        parsed.key_shares
    );
    assert!(
        parsed.cipher_suites.contains(&0x1301),
        "TLS_AES_128_GCM_SHA256"
    );
    assert_eq!(
        parsed.extensions.first(),
        Some(&0x0000),
        "server_name comes first"
    );
    let page = hello::markdown(&parsed, "");
    assert!(page.contains("host_<wbr>name localhost"), "{page}");
    assert!(page.contains("| h2, http/1.1 |"), "{page}");
}

#[test]
fn the_rustls_capture_offers_the_hybrid_with_a_1216_byte_share() {
    let (bytes, client, _) = committed("rustls");
    assert!(client.starts_with("rustls "), "{client}");
    let parsed = hello::parse(&bytes).expect("the rustls capture parses");
    assert_eq!(
        parsed.groups.first(),
        Some(&X25519MLKEM768),
        "{:?}",
        parsed.groups
    );
    // ML-KEM-768's encapsulation key (1184 bytes, FIPS 203) and an X25519 key (32 bytes), and
    // a second share of X25519 alone for servers without the hybrid.
    assert_eq!(
        parsed.key_shares,
        [(X25519MLKEM768, 1184 + 32), (X25519, 32)],
        "the key shares"
    );
    assert_eq!(parsed.server_name.as_deref(), Some("localhost"));
    assert_eq!(parsed.alpn, ["http/1.1"]);
}

#[test]
fn the_book_pages_are_what_the_reader_makes_of_the_captures() {
    for name in ["curl", "rustls"] {
        let (bytes, client, command) = committed(name);
        let made = hello::document(&bytes, &client, &command).expect("the capture parses");
        let path = root().join(format!("book/src/results/client-hello-{name}.md"));
        let page = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            page == made,
            "{} is not what the reader makes of {}: run `cargo run --example client_hello -- \
             render {name}` and commit the page",
            path.display(),
            capture_file(name).display()
        );
        // The capture file round-trips.
        let again = hello::to_hex_file(&bytes, &client, &command);
        assert_eq!(hello::from_hex_file(&again), Ok((bytes, client, command)));
    }
}

#[test]
fn a_live_curl_sends_what_the_reader_reads() {
    let Some(curl) = stagekit::peers::require(stagekit::peers::CURL, "a live curl ClientHello")
    else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a port on loopback");
    let port = listener.local_addr().expect("the address").port();
    let mut child = Command::new(curl)
        .args(["-sS", "-k", "--max-time", "10", "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting curl");
    let (mut socket, _) = listener.accept().expect("curl connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let end = loop {
        match hello::complete_length(&bytes) {
            Ok(Some(end)) => break end,
            Ok(None) => {}
            Err(error) => panic!("curl's first bytes are not a ClientHello: {error}"),
        }
        let n = socket
            .read(&mut buffer)
            .expect("reading curl's ClientHello");
        assert!(n > 0, "curl closed after {} bytes", bytes.len());
        bytes.extend_from_slice(&buffer[..n]);
    };
    // A fatal handshake_failure alert, so that curl gives up at once.
    let _ = socket.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    drop(socket);
    let _ = child.wait();
    let parsed = hello::parse(&bytes[..end]).expect("curl's ClientHello parses");
    assert_eq!(parsed.server_name.as_deref(), Some("localhost"));
    assert!(
        parsed.alpn.iter().any(|p| p == "http/1.1"),
        "{:?}",
        parsed.alpn
    );
}

#[test]
fn every_truncation_of_a_real_capture_is_incomplete() {
    for name in ["curl", "rustls"] {
        let (bytes, _, _) = committed(name);
        for end in 0..bytes.len() {
            assert_eq!(
                hello::complete_length(&bytes[..end]),
                Ok(None),
                "{name}: {end}"
            );
            let error = hello::parse(&bytes[..end]).unwrap_err();
            assert!(
                matches!(error, hello::Error::Truncated { .. }),
                "{name}, first {end} bytes: {error}"
            );
        }
    }
}

#[test]
fn every_one_byte_change_of_a_real_capture_parses_or_says_why() {
    for name in ["curl", "rustls"] {
        let (bytes, _, _) = committed(name);
        let mut changed = bytes.clone();
        let mut refused = 0;
        for at in 0..bytes.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff, bytes[at] ^ 0x01] {
                changed[at] = value;
                // Either outcome is fine; a panic fails the test.
                if let Err(error) = hello::parse(&changed) {
                    assert!(!error.to_string().is_empty());
                    refused += 1;
                }
                let _ = hello::complete_length(&changed);
            }
            changed[at] = bytes[at];
        }
        assert!(refused > 0, "{name}: some changes must be refused");
    }
}
