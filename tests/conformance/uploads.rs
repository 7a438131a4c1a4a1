//! `POST /upload` with `--upload-dir` (issue 12; `app::upload`, the protocol crate's body-sink
//! hook): a file far larger than `--max-body` streams to disk with the server's memory staying
//! well below its size, arrives byte for byte, and nothing of an upload that does not finish
//! (cut off, malformed, too large) is left in the directory.
//!
//! The round trip is curl's (`curl -F file=@big.bin`), a real client; over TLS curl trusts the
//! server's certificate, and on stage 07 it takes HTTP/2 by ALPN, so the same case checks the
//! HTTP/2 path (DATA frames to the sink, flow-control credit given back as it writes). Without
//! curl that case is skipped with a line on stderr (a failure under `CI=true`). The others talk
//! raw HTTP/1.1 through the kit's connection (over TLS for stages 06 and 07).
//!
//! The memory measure is the kernel's `VmHWM` (the peak resident set) of the server's process
//! tree (stage 03's workers included), read before and after the upload.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::peers::{self, CURL};
use stagekit::procfs;
use stagekit::scratch::TempDir;
use stagekit::server::run_to_exit;
use stagekit::{Server, Stage};

use crate::support::*;

/// The size of the file the round trip uploads: far above `--max-body`'s 10 MiB default.
const BIG: u64 = 64 * 1024 * 1024;

/// How far the server's peak memory may rise during the upload: half the file.
const MAX_GROWTH: u64 = BIG / 2;

/// Bounds curl's run.
const CURL_WITHIN: Duration = Duration::from_secs(120);

/// How long a file may take to appear in, or leave, the upload directory.
const SETTLE_WITHIN: Duration = Duration::from_secs(10);

/// The multipart boundary of the hand-made bodies.
const BOUNDARY: &str = "stagecraft-test-boundary";

/// Starts `stage` saving uploads in a new directory, with `args` added.
fn start_saving(stage: &Stage, args: &[&str]) -> (Server, TempDir) {
    let dir = TempDir::new("uploads");
    let mut all = vec!["--upload-dir", path_str(dir.path())];
    all.extend_from_slice(args);
    (Server::start(stage, &all), dir)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .or_fail("reading the upload directory")
        .map(|entry| {
            entry
                .or_fail("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Waits until `dir`'s names satisfy `done`, for at most [`SETTLE_WITHIN`]; returns them.
fn wait_for_names(dir: &Path, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + SETTLE_WITHIN;
    loop {
        let now = names(dir);
        if done(&now) || Instant::now() > deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The largest `VmHWM` (peak resident set, in bytes) in the server's process tree.
fn peak_memory(server: &Server) -> u64 {
    procfs::tree_of(server.pid(), &procfs::all_processes())
        .iter()
        .filter_map(|process| fs::read_to_string(format!("/proc/{}/status", process.pid)).ok())
        .filter_map(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: u64 = line
                .trim_start_matches("VmHWM:")
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kib * 1024)
        })
        .max()
        .expect("the server's VmHWM")
}

/// Writes `len` bytes of a fixed pseudo-random sequence (xorshift) to `path`, in pieces.
fn write_big_file(path: &Path, len: u64) {
    let mut out = BufWriter::new(File::create(path).or_fail("creating the big file"));
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut piece = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for bytes in piece.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word = state.to_le_bytes();
            bytes.copy_from_slice(&word[..bytes.len()]);
        }
        let n = left.min(piece.len() as u64) as usize;
        out.write_all(&piece[..n]).or_fail("writing the big file");
        left -= n as u64;
    }
    out.flush().or_fail("flushing the big file");
}

/// Whether two files hold the same bytes, compared a piece at a time.
fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        File::open(a).or_fail("opening the sent file"),
        File::open(b).or_fail("opening the saved file"),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).or_fail("reading a file") {
            0 => break,
            n => filled += n,
        }
    }
    filled
}

/// A multipart body with one file part named `filename` holding `content`, and its end.
fn multipart(filename: &str, content: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut start = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    start.extend_from_slice(content);
    (start, format!("\r\n--{BOUNDARY}--\r\n").into_bytes())
}

fn upload_request(body: &[u8], declared: usize) -> Vec<u8> {
    let mut bytes = format!(
        "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {declared}\r\n\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

// ANCHOR: round_trip
pub fn a_64_mib_upload_round_trips_with_curl_and_the_server_stays_small(stage: &Stage) {
    let check = format!("{}::uploads::round_trip", stage.package);
    let Some(curl) = peers::require(CURL, &check) else {
        return;
    };
    let (server, dir) = start_saving(stage, &[]);
    let sent = TempDir::new("upload-source");
    let big = sent.join("big.bin");
    write_big_file(&big, BIG);
    // One request first, so that the baseline is a server that has served (buffers, TLS).
    assert_eq!(exchange(&server, &get("/healthz")).status, 200);
    let before = peak_memory(&server);

    let ca_file = server
        .ca_file()
        .map(|path| path.to_string_lossy().into_owned());
    let form = format!("file=@{}", big.display());
    let url = server.url("/upload");
    let mut args = vec![
        "-sS",
        "--max-time",
        "100",
        "-F",
        &form,
        "-w",
        "\n%{http_code} %{http_version}",
    ];
    if let Some(ca_file) = &ca_file {
        args.extend(["--cacert", ca_file.as_str()]);
    }
    args.push(&url);
    let (status, stdout, stderr) = run_to_exit(&curl, &args, CURL_WITHIN).or_fail("running curl");
    assert!(
        status.is_some_and(|status| status.success()),
        "curl failed: {stderr}"
    );
    let (json, tail) = stdout.rsplit_once('\n').expect("curl's -w line");
    assert!(tail.starts_with("200 "), "curl saw {tail}: {json}");
    if stage.package == "stage07-http2" {
        assert!(tail.ends_with(" 2"), "curl took HTTP/2 by ALPN: {tail}");
    }
    let answer: serde_json::Value = serde_json::from_str(json).or_fail("the JSON answer");
    assert_eq!(answer["files"][0]["name"], "big.bin", "{answer}");
    assert_eq!(answer["files"][0]["size"], BIG, "{answer}");

    let after = peak_memory(&server);
    assert!(
        after < before + MAX_GROWTH,
        "the server's peak memory grew from {} to {} KiB for a {} KiB upload",
        before / 1024,
        after / 1024,
        BIG / 1024
    );
    assert_eq!(names(dir.path()), ["big.bin"], "no temporary file is left");
    assert!(
        same_contents(&big, &dir.join("big.bin")),
        "the saved file differs"
    );
}
// ANCHOR_END: round_trip

// ANCHOR: cut_off
pub fn an_upload_cut_off_midway_leaves_no_file(stage: &Stage) {
    let (server, dir) = start_saving(stage, &[]);
    let (start, end) = multipart("cut.bin", &pattern(2 * 1024 * 1024));
    let whole = start.len() + end.len();
    let mut conn = connect(&server);
    // The head and about half of the body; the rest never comes.
    conn.send(upload_request(&start[..whole / 2], whole))
        .or_fail("sending half an upload");
    let streaming = wait_for_names(dir.path(), |names| !names.is_empty());
    assert!(
        streaming.len() == 1 && streaming[0].starts_with(".upload-"),
        "while the body streams, one temporary file: {streaming:?}"
    );
    drop(conn);
    let left = wait_for_names(dir.path(), |names| names.is_empty());
    assert!(left.is_empty(), "after the client went away: {left:?}");
    // The server goes on serving.
    assert_eq!(exchange(&server, &get("/healthz")).status, 200);
}
// ANCHOR_END: cut_off

/// curl, slowed down, gives up halfway (`--max-time`): over TLS and, on stage 07, HTTP/2,
/// where the upload ends with the stream reset or the connection closed rather than a socket
/// cut by hand.
pub fn an_upload_that_curl_abandons_leaves_no_file(stage: &Stage) {
    let check = format!("{}::uploads::curl_gives_up", stage.package);
    let Some(curl) = peers::require(CURL, &check) else {
        return;
    };
    let (server, dir) = start_saving(stage, &[]);
    let sent = TempDir::new("upload-source");
    let big = sent.join("slow.bin");
    // Four seconds at the rate below; curl stops after two.
    write_big_file(&big, 16 * 1024 * 1024);
    let mut args: Vec<String> = ["-sS", "--limit-rate", "4M", "--max-time", "2", "-F"]
        .map(String::from)
        .to_vec();
    args.push(format!("file=@{}", big.display()));
    if let Some(ca_file) = server.ca_file() {
        args.extend([
            "--cacert".to_owned(),
            ca_file.to_string_lossy().into_owned(),
        ]);
    }
    args.push(server.url("/upload"));
    let curl_run = thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_to_exit(&curl, &args, CURL_WITHIN).or_fail("running curl")
    });
    let streaming = wait_for_names(dir.path(), |names| !names.is_empty());
    let (status, stdout, stderr) = curl_run.join().expect("the curl thread");
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(28),
        "curl gives up at --max-time (exit 28): {stdout} {stderr}"
    );
    assert!(
        streaming.len() == 1 && streaming[0].starts_with(".upload-"),
        "while the body streamed, one temporary file: {streaming:?}"
    );
    let left = wait_for_names(dir.path(), |names| names.is_empty());
    assert!(left.is_empty(), "after curl gave up: {left:?}");
    assert_eq!(exchange(&server, &get("/healthz")).status, 200);
}

pub fn an_upload_past_max_upload_is_413_and_leaves_no_file(stage: &Stage) {
    let (server, dir) = start_saving(stage, &["--max-upload", "100000"]);
    // Declared too large: refused before any of the body is sent.
    let response = exchange(&server, &upload_request(b"", 100_001));
    assert_eq!(response.status, 413, "{response}");
    // Chunked, so the size shows only as it arrives: refused past the limit.
    let (start, end) = multipart("big.bin", &pattern(150_000));
    let body = [start, end].concat();
    let mut chunked = format!(
        "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(16 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = exchange(&server, &chunked);
    assert_eq!(response.status, 413, "{response}");
    let left = wait_for_names(dir.path(), |names| names.is_empty());
    assert!(left.is_empty(), "{left:?}");
    // Just under the limit is saved, although it is far above a --max-body of 1000.
    drop(server);
    let (server, dir) = start_saving(stage, &["--max-upload", "100000", "--max-body", "1000"]);
    let (start, end) = multipart("fits.bin", &pattern(90_000));
    let body = [start, end].concat();
    let response = exchange(&server, &upload_request(&body, body.len()));
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(names(dir.path()), ["fits.bin"]);
}

pub fn a_malformed_upload_is_400_and_leaves_no_file(stage: &Stage) {
    let (server, dir) = start_saving(stage, &[]);
    // No closing boundary: the body ends inside the file part.
    let (start, _) = multipart("never.bin", &pattern(300_000));
    let response = exchange(&server, &upload_request(&start, start.len()));
    assert_eq!(response.status, 400, "{response}");
    assert!(response.text().contains("closing boundary"), "{response}");
    // A part without a name.
    let body =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n");
    let response = exchange(&server, &upload_request(body.as_bytes(), body.len()));
    assert_eq!(response.status, 400, "{response}");
    // Not multipart at all.
    let response = exchange(
        &server,
        &request("POST", "/upload", &["Content-Type: text/plain"], b"hi"),
    );
    assert_eq!(response.status, 415, "{response}");
    let left = wait_for_names(dir.path(), |names| names.is_empty());
    assert!(left.is_empty(), "{left:?}");
}

pub fn unsafe_names_are_saved_safely_and_never_overwrite(stage: &Stage) {
    let (server, dir) = start_saving(stage, &[]);
    fs::write(dir.join("passwd"), b"already here").or_fail("a file to keep");
    let (start, end) = multipart("../../etc/passwd", b"new");
    let body = [start, end].concat();
    let response = exchange(&server, &upload_request(&body, body.len()));
    assert_eq!(response.status, 200, "{response}");
    assert!(
        response.text().contains("\"name\":\"passwd-1\""),
        "{response}"
    );
    assert_eq!(names(dir.path()), ["passwd", "passwd-1"]);
    assert_eq!(
        fs::read(dir.join("passwd")).or_fail("the kept file"),
        b"already here"
    );
}

pub fn without_upload_dir_there_is_no_upload_route(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let (start, end) = multipart("a.txt", b"a");
    let body = [start, end].concat();
    let response = exchange(&server, &upload_request(&body, body.len()));
    assert_eq!(
        response.status, 404,
        "no route, and no file of that name: {response}"
    );
    let dir: PathBuf = std::env::temp_dir().join("stagecraft-no-such-upload-dir");
    expect_refused(
        stage,
        &["--addr", "127.0.0.1:0", "--upload-dir", path_str(&dir)],
        &["cannot store uploads in", path_str(&dir)],
    );
}
