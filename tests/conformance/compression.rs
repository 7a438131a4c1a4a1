//! Content codings on static files, as each stage sends them (`app::compress` decides): curl
//! `--compressed` gets gzip and decodes it to the file; brotli when the client rates it higher;
//! `identity;q=0` with nothing else acceptable is 406; files that are compressed already, and
//! tiny ones, go as they are; a precompressed `.gz` sibling is sent from disk; and a `Range`
//! stays correct on a compressed response (RFC 9110 sections 12.5.3 and 14).

use std::io::Read;

use stagekit::scratch::TempDir;
use stagekit::{Conn, Response, Server, Stage};

use crate::curl::{find_curl, run as run_curl};
use crate::support::*;

/// A text file of `len` bytes that compresses well but not to nothing: lines of words with a
/// counter in each.
fn text_of(len: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(len + 64);
    let mut line = 0;
    while text.len() < len {
        text.extend_from_slice(format!("line {line}: the stage manager calls places\n").as_bytes());
        line += 1;
    }
    text.truncate(len);
    text
}

/// A root with `page.txt` (100 KiB of text), `tiny.txt` (100 bytes of text) and `photo.png`
/// (100 KiB of bytes in a type that is compressed already).
fn root_with_texts() -> TempDir {
    let root = TempDir::new("compression-root");
    std::fs::write(root.join("page.txt"), text_of(100 * 1024)).or_fail("writing page.txt");
    std::fs::write(root.join("tiny.txt"), text_of(100)).or_fail("writing tiny.txt");
    std::fs::write(root.join("photo.png"), pattern(100 * 1024)).or_fail("writing photo.png");
    root
}

fn root_arg(root: &TempDir) -> String {
    root.path().to_string_lossy().into_owned()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .or_fail("decoding gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .or_fail("decoding brotli");
    out
}

fn get_with(conn: &mut Conn, path: &str, fields: &[&str], status: u16) -> Response {
    let sent = request("GET", path, fields, b"");
    conn.send(&sent).or_fail("sending");
    expect_status(conn, &sent, status)
}

pub fn curl_compressed_gets_gzip_and_decodes_it(stage: &Stage) {
    let Some(curl) = find_curl(stage, "curl_compressed_gets_gzip_and_decodes_it") else {
        return;
    };
    let root = root_with_texts();
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let out = TempFile::with_contents("compressed.out", b"");
    let headers = TempFile::with_contents("compressed.headers", b"");
    // curl's --compressed asks for what its build decodes; gzip alone keeps the case the same
    // on every curl, and curl still decodes the body before writing it.
    let (stdout, _) = run_curl(
        &curl,
        &server,
        &[
            "--compressed",
            "-H",
            "Accept-Encoding: gzip",
            "-D",
            &headers.path.to_string_lossy(),
            "-o",
            &out.path.to_string_lossy(),
            "-w",
            "%{http_code} %{size_download}",
            &server.url("/page.txt"),
        ],
    );
    let head = String::from_utf8_lossy(&std::fs::read(&headers.path).or_fail("reading headers"))
        .to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "not gzip: {head}");
    assert!(head.contains("vary: accept-encoding"), "no Vary: {head}");
    let body = std::fs::read(&out.path).or_fail("reading the body");
    assert!(
        body == text_of(100 * 1024),
        "curl's decoded body is not the file ({} bytes)",
        body.len()
    );
    let downloaded: u64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .or_fail(&format!("curl's -w output: {stdout}"));
    assert!(
        downloaded < 100 * 1024 / 4,
        "gzip of 100 KiB of text sent {downloaded} bytes"
    );
}

pub fn brotli_wins_by_q_value_and_identity_can_be_refused(stage: &Stage) {
    let root = root_with_texts();
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let mut conn = connect(&server);
    let file = text_of(100 * 1024);

    let response = get_with(
        &mut conn,
        "/page.txt",
        &["Accept-Encoding: gzip;q=0.5, br;q=0.9"],
        200,
    );
    assert_eq!(response.header("content-encoding"), Some("br"));
    assert!(
        unbrotli(&response.body) == file,
        "brotli body is not the file"
    );

    let response = get_with(
        &mut conn,
        "/page.txt",
        &["Accept-Encoding: br;q=0, gzip"],
        200,
    );
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&response.body) == file, "gzip body is not the file");

    // No Accept-Encoding: the file as it is (RFC 9110 section 12.5.3: any coding is acceptable,
    // but a server does best to send identity to a client that said nothing).
    let response = get_with(&mut conn, "/page.txt", &[], 200);
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.body == file);
    assert!(response.has_token("vary", "accept-encoding"));

    // Nothing acceptable that the server has: 406.
    let response = get_with(
        &mut conn,
        "/page.txt",
        &["Accept-Encoding: identity;q=0, *;q=0"],
        406,
    );
    assert!(response.has_token("vary", "accept-encoding"));
    // `*` stands for any coding not named: here brotli, preferred by the server.
    let response = get_with(&mut conn, "/page.txt", &["Accept-Encoding: *"], 200);
    assert_eq!(response.header("content-encoding"), Some("br"));
    // A malformed q-value makes that coding unacceptable, not the request bad.
    let response = get_with(
        &mut conn,
        "/page.txt",
        &["Accept-Encoding: gzip;q=2, identity"],
        200,
    );
    assert_eq!(response.header("content-encoding"), None);
}

pub fn compressed_types_and_tiny_bodies_go_as_they_are(stage: &Stage) {
    let root = root_with_texts();
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let mut conn = connect(&server);
    let response = get_with(&mut conn, "/photo.png", &["Accept-Encoding: gzip, br"], 200);
    assert_eq!(response.header("content-encoding"), None, "a PNG was coded");
    assert!(response.body == pattern(100 * 1024));
    let response = get_with(&mut conn, "/tiny.txt", &["Accept-Encoding: gzip, br"], 200);
    assert_eq!(response.header("content-encoding"), None, "100 bytes coded");
    assert!(response.body == text_of(100));
}

pub fn no_compress_turns_compression_off(stage: &Stage) {
    let root = root_with_texts();
    let server = Server::start(stage, &["--root", &root_arg(&root), "--no-compress"]);
    let mut conn = connect(&server);
    let response = get_with(&mut conn, "/page.txt", &["Accept-Encoding: gzip, br"], 200);
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.body == text_of(100 * 1024));
}

pub fn a_precompressed_sibling_is_sent_from_disk(stage: &Stage) {
    let root = root_with_texts();
    // The sibling holds text of its own, so that the response shows which file it came from.
    let sibling_text = b"made ahead of time with gzip -9\n".repeat(64);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &sibling_text).or_fail("compressing");
    let sibling = encoder.finish().or_fail("compressing");
    std::fs::write(root.join("page.txt.gz"), &sibling).or_fail("writing page.txt.gz");
    // Older than the file it stands for, a sibling is stale and not used; make it newer.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(root.join("page.txt.gz"))
        .and_then(|file| file.set_modified(later))
        .or_fail("dating page.txt.gz");
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let mut conn = connect(&server);
    let response = get_with(&mut conn, "/page.txt", &["Accept-Encoding: gzip"], 200);
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(response.body == sibling, "not the sibling's bytes");
    assert_eq!(response.content_length(), Some(sibling.len() as u64));
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "the type is the original's, not gzip's"
    );
    // A range of the coded representation is a range of the sibling's bytes (RFC 9110
    // section 14.1.2: ranges are of the selected representation).
    let response = get_with(
        &mut conn,
        "/page.txt",
        &["Accept-Encoding: gzip", "Range: bytes=0-9"],
        206,
    );
    assert!(
        response.body == sibling[..10],
        "not the sibling's first bytes"
    );
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    // The identity form is still the file, with its own ETag.
    let identity = get_with(&mut conn, "/page.txt", &[], 200);
    assert!(identity.body == text_of(100 * 1024));
    let coded = get_with(&mut conn, "/page.txt", &["Accept-Encoding: gzip"], 200);
    assert_ne!(
        identity.header("etag"),
        coded.header("etag"),
        "two representations with one ETag"
    );
}

pub fn a_range_on_the_fly_is_the_whole_coded_body_or_the_plain_range(stage: &Stage) {
    let root = root_with_texts();
    let server = Server::start(stage, &["--root", &root_arg(&root)]);
    let mut conn = connect(&server);
    let file = text_of(100 * 1024);
    let sent = request(
        "GET",
        "/page.txt",
        &["Accept-Encoding: gzip", "Range: bytes=100-199"],
        b"",
    );
    conn.send(&sent).or_fail("sending");
    let response = conn.read_response().or_fail("reading the answer");
    // Offsets into bytes compressed while sending are not known before they are made, so the
    // server may ignore the Range (section 14.2) and send the whole coded body, or send the
    // identity range; either way what the client gets must be exactly right.
    match response.status {
        200 => {
            assert_eq!(response.header("content-encoding"), Some("gzip"));
            assert!(gunzip(&response.body) == file);
        }
        206 => {
            assert_eq!(response.header("content-encoding"), None);
            assert!(response.body == file[100..200]);
        }
        other => panic!("a Range with Accept-Encoding got {other}: {response}"),
    }
}
