//! Request builders, clients and assertions shared by the cases.
//!
//! The assertion helpers panic with the bytes sent and the response seen, so a failing case
//! reads as a bug report without re-running anything.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use stagekit::server::run_to_exit;
use stagekit::wire::show;
use stagekit::{build, Conn, Connector, Response, Server, Signal, Stage, Writer};

/// A valid request appended, in the same write, after every malformed one. It must never be
/// answered: once framing is in doubt, the server may not treat any later byte as a new request
/// (request smuggling, RFC 9112 section 11.2).
pub const FOLLOW_UP: &[u8] = b"GET /hello/smuggled HTTP/1.1\r\nHost: test\r\n\r\n";

/// `Result::unwrap` for test plumbing (the kit's, shared by every test binary).
pub use stagekit::OrFail;

/// `GET path HTTP/1.1` with a Host field and nothing else.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// A request with the given extra header lines (each without CRLF) and body. Adds
/// `Content-Length` when `body` is not empty and no framing field is among `fields`.
pub fn request(method: &str, path: &str, fields: &[&str], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for field in fields {
        head.push_str(field);
        head.push_str("\r\n");
    }
    let framed = fields.iter().any(|field| {
        let name = field.split(':').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    if !body.is_empty() && !framed {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A new connection to `server`: TCP, or TLS (handshake done) for a TLS stage.
pub fn connect(server: &Server) -> Conn {
    server.connect().or_fail("connecting to the server")
}

/// Sends `bytes` on a new connection and reads one response.
pub fn exchange(server: &Server, bytes: &[u8]) -> Response {
    exchange_at(&server.connector(), bytes)
}

/// [`exchange`] through a [`Connector`], for client threads (which cannot borrow the
/// [`Server`]). Waits up to [`CLIENT_TIMEOUT`] for the response.
pub fn exchange_at(connector: &Connector, bytes: &[u8]) -> Response {
    let mut conn = connector.connect().or_fail("connecting to the server");
    conn.set_timeout(CLIENT_TIMEOUT);
    conn.send(bytes).or_fail("sending the request");
    conn.read_response()
        .or_fail(&format!("reading the response to {}", show(bytes)))
}

/// Sends `bytes` on a new connection and checks that a 200 comes back within `within` while the
/// server is busy with what `beside` says (for the failure message). Returns the response.
pub fn expect_answered_within(
    server: &Server,
    bytes: &[u8],
    within: Duration,
    beside: &str,
) -> Response {
    let asked = Instant::now();
    let response = exchange(server, bytes);
    let waited = asked.elapsed();
    assert_eq!(response.status, 200, "{response}");
    assert!(
        waited < within,
        "{beside}, {} was answered after {waited:?} (at most {within:?} expected)",
        show(bytes)
    );
    response
}

/// How long a client of [`exchange_at`] and [`Clients`] waits for its response: long enough for
/// a `/slow` queued behind others on a busy machine.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /slow?ms=N` (a handler that blocks for `sleep`) with `Connection: close`, so that
/// whatever served it (a worker, a thread) is free again as soon as it has answered, rather than
/// after the idle timeout of a kept-alive connection.
pub fn slow(sleep: Duration) -> Vec<u8> {
    let path = format!("/slow?ms={}", sleep.as_millis());
    request("GET", &path, &["Connection: close"], b"")
}

/// A first client gets an answer and keeps its connection open, idle; a second client then
/// sends a request on a connection of its own. Returns how long the second waited for its
/// answer, and the first client's connection, still held.
pub fn second_client_behind_an_idle_one(server: &Server) -> (Duration, Conn) {
    let mut first = connect(server);
    first
        .send(get("/hello/first"))
        .or_fail("sending for the first client");
    expect_status(&mut first, &get("/hello/first"), 200);
    let mut second = connect(server);
    second.set_timeout(Duration::from_secs(5));
    let sent = Instant::now();
    second
        .send(get("/hello/second"))
        .or_fail("sending for the second client");
    let response = expect_status(&mut second, &get("/hello/second"), 200);
    let waited = sent.elapsed();
    assert!(response.text().contains("second"), "{response}");
    (waited, first)
}

/// Clients on threads of their own, each sending one request on a new connection and reading
/// its response, so that the case can do something else meanwhile (send a fast request on
/// another connection, signal the server) and then collect what they got.
pub struct Clients {
    count: usize,
    sent: mpsc::Receiver<()>,
    threads: Vec<thread::JoinHandle<(Response, Duration)>>,
}

impl Clients {
    /// Starts `count` clients that each send `request` to `server`.
    pub fn start(server: &Server, count: usize, request: &[u8]) -> Clients {
        let started = Instant::now();
        let (sender, sent) = mpsc::channel();
        let threads = (0..count)
            .map(|_| {
                let request = request.to_vec();
                let sender = sender.clone();
                let connector = server.connector();
                thread::spawn(move || {
                    let mut conn = connector.connect().or_fail("connecting to the server");
                    conn.set_timeout(CLIENT_TIMEOUT);
                    conn.send(&request).or_fail("sending the request");
                    // The receiver is gone only if the case has failed already.
                    let _ = sender.send(());
                    let response = conn
                        .read_response()
                        .or_fail(&format!("reading the response to {}", show(&request)));
                    (response, started.elapsed())
                })
            })
            .collect();
        Clients {
            count,
            sent,
            threads,
        }
    }

    /// Waits until every client has connected and sent its request, so that a connection made
    /// after this is behind theirs in the kernel's accept queue (first in, first out).
    pub fn wait_sent(&self) {
        for _ in 0..self.count {
            self.sent
                .recv_timeout(CLIENT_TIMEOUT)
                .or_fail("waiting for the clients to send their requests");
        }
    }

    /// Every client's response, in the order they were started, with how long after
    /// [`Clients::start`] it came. A client's failure is passed on as the case's.
    pub fn join(self) -> Vec<(Response, Duration)> {
        self.threads
            .into_iter()
            .map(|client| {
                client
                    .join()
                    .expect("a client thread panicked; its message is above")
            })
            .collect()
    }

    /// [`Clients::join`], checking that every response is a 200; returns how long after
    /// [`Clients::start`] the last one came.
    pub fn join_ok(self) -> Duration {
        let mut last = Duration::ZERO;
        for (response, after) in self.join() {
            assert_eq!(response.status, 200, "a client's response: {response}");
            last = last.max(after);
        }
        last
    }
}

/// Reads a response and checks its status, showing the request on failure.
pub fn expect_status(conn: &mut Conn, sent: &[u8], status: u16) -> Response {
    let response = conn
        .read_response()
        .or_fail(&format!("reading the response to {}", show(sent)));
    assert_eq!(
        response.status,
        status,
        "\nrequest:  {}\nresponse: {response}",
        show(sent)
    );
    response
}

/// Starts `stage` with `args`, sends `bad` followed by [`FOLLOW_UP`] in one write, and checks
/// that the server answers `status` with `Connection: close`, then closes the connection
/// without ever answering the follow-up.
pub fn expect_rejected(stage: &Stage, args: &[&str], bad: &[u8], status: u16) {
    let server = Server::start(stage, args);
    let mut bytes = bad.to_vec();
    bytes.extend_from_slice(FOLLOW_UP);
    let mut conn = connect(&server);
    conn.send(&bytes).or_fail("sending the request");
    let response = expect_status(&mut conn, bad, status);
    assert!(
        response.has_token("connection", "close"),
        "a {status} that ends the connection must say `Connection: close` (RFC 9112 section \
         9.6)\nrequest:  {}\nresponse: {response}",
        show(bad)
    );
    if let Err(error) = conn.expect_closed() {
        panic!(
            "after the {status}, the server must close the connection and never answer the \
             request appended to the bad one: {error}\nrequest: {}",
            show(&bytes)
        );
    }
}

/// Sends `good` followed by [`FOLLOW_UP`] and checks that both get an answer, the first with
/// `status`: a request that is valid (if unusual) must be framed exactly, so the next one on
/// the connection is still understood.
pub fn expect_accepted(stage: &Stage, good: &[u8], status: u16) -> Response {
    let server = Server::start(stage, &[]);
    let mut bytes = good.to_vec();
    bytes.extend_from_slice(FOLLOW_UP);
    let mut conn = connect(&server);
    conn.send(&bytes).or_fail("sending the requests");
    let response = expect_status(&mut conn, good, status);
    let follow_up = expect_status(&mut conn, FOLLOW_UP, 200);
    assert!(
        follow_up.text().contains("smuggled"),
        "the request after {} got someone else's answer: {follow_up}",
        show(good)
    );
    response
}

/// Checks that `response` has a `Date` that is an IMF-fixdate close to now (RFC 9110 section
/// 6.6.1: an origin server with a clock must send one on every 2xx, 3xx and 4xx response; this
/// project sends it on every response).
pub fn assert_valid_date(response: &Response) {
    let Some(date) = response.header("date") else {
        panic!("no Date field in {response}");
    };
    let parsed = httpdate::parse_http_date(date)
        .unwrap_or_else(|error| panic!("Date {date:?} is not an HTTP-date: {error}"));
    assert_eq!(
        httpdate::fmt_http_date(parsed),
        date,
        "Date must be in the preferred IMF-fixdate format (RFC 9110 section 5.6.7)"
    );
    let skew = match parsed.duration_since(SystemTime::now()) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    assert!(
        skew < Duration::from_secs(60),
        "Date {date:?} is {skew:?} away from this machine's clock"
    );
}

/// The bytes of a file of the bundled site.
pub fn site_file(relative: &str) -> Vec<u8> {
    let path = stagekit::site_dir().join(relative);
    std::fs::read(&path).or_fail(&format!("reading {}", path.display()))
}

/// A file under the system temp dir, unique to this process and call, removed on drop.
pub struct TempFile {
    pub path: std::path::PathBuf,
}

impl TempFile {
    pub fn with_contents(name: &str, contents: &[u8]) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "stagecraft-conformance-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).or_fail(&format!("writing {}", path.display()));
        TempFile { path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Ignoring errors: a leftover file in the temp dir is harmless, and Drop cannot report.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `len` bytes that are not all alike, so a shifted or truncated echo does not look right.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|index| (index % 251) as u8).collect()
}

/// Waits up to `within` for the server to exit after the stop signal `sent`, and checks that it
/// exited with status 0 (design.md: a graceful stop exits 0).
pub fn expect_exit_status_zero(server: &mut Server, sent: Signal, within: Duration) {
    let status = server
        .wait_exit(within)
        .or_fail(&format!("waiting for the exit after {sent}"));
    assert_eq!(
        status.code(),
        Some(0),
        "{}: exit status after {sent}: {status}",
        server.package()
    );
}

/// Runs `stage`'s binary with `args` (a command line it must refuse) and checks: a non-zero
/// exit, no panic, and exactly one line on stderr, which names each of `mentions` (the input
/// that was wrong).
pub fn expect_refused(stage: &Stage, args: &[&str], mentions: &[&str]) {
    // A refused command line is refused at once; this only bounds a server that starts serving.
    const REFUSE_WITHIN: Duration = Duration::from_secs(10);
    let binary = build::stage_binary(stage.package).or_fail("building the stage");
    let command = format!("{} {}", stage.package, args.join(" "));
    let (status, stdout, stderr) =
        run_to_exit(&binary, args, REFUSE_WITHIN).or_fail(&format!("running `{command}`"));
    let Some(status) = status else {
        panic!("`{command}` was still running after {REFUSE_WITHIN:?}; stdout: {stdout}");
    };
    assert!(
        !status.success(),
        "`{command}` must fail, but exited with {status}"
    );
    assert!(
        !stderr.contains("panicked at") && !stderr.contains("RUST_BACKTRACE"),
        "`{command}`: a bad command line must not panic:\n{stderr}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "`{command}` must print exactly one line on stderr, got:\n{stderr}"
    );
    for mention in mentions {
        assert!(
            lines[0].contains(mention),
            "`{command}`: the error line should name {mention:?}: {}",
            lines[0]
        );
    }
}

/// Bounds each Chromium run; one takes two or three seconds here.
pub const CHROMIUM_WITHIN: Duration = Duration::from_secs(90);

/// `chromium FLAGS EXTRA URL` (headless, with a fresh profile), in a process group of its own
/// that is killed whole if it overstays [`CHROMIUM_WITHIN`]. Returns (succeeded, stdout,
/// stderr). Shared by the cases that look at a page in a real browser (`pages`,
/// `server_status`).
pub fn chromium(program: &std::path::Path, extra: &[&str], url: &str) -> (bool, String, String) {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let profile = stagekit::scratch::TempDir::new("chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut child = Command::new(program)
        .args(stagekit::peers::CHROMIUM_HEADLESS_FLAGS)
        .arg(&profile_arg)
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .or_fail("starting chromium");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // Ignoring errors: whatever arrived before one is what Chromium printed.
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + CHROMIUM_WITHIN;
    let succeeded = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                // The group is Chromium's own (process_group(0) above): its id is its pid.
                let group = i32::try_from(child.id()).or_fail("a pid fits in pid_t");
                // SAFETY: kill(2) with a negative pid signals that process group only.
                unsafe { libc::kill(-group, libc::SIGKILL) };
                let _ = child.wait();
                break false;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (succeeded, stdout, stderr)
}

/// The pixels of Chromium's screenshot at `path`, as RGB, after checking that it is a PNG of
/// `width` by `height` (the window size it was taken at).
pub fn screenshot_pixels(path: &std::path::Path, width: u32, height: u32) -> Vec<[u8; 3]> {
    let file = std::fs::File::open(path).or_fail(&format!("opening {}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().or_fail("reading the PNG's header");
    let size = reader
        .output_buffer_size()
        .unwrap_or_else(|| panic!("the screenshot is too large to decode"));
    let mut pixels = vec![0u8; size];
    let info = reader.next_frame(&mut pixels).or_fail("decoding the PNG");
    assert_eq!(
        (info.width, info.height),
        (width, height),
        "{}",
        path.display()
    );
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("an unexpected colour type in the screenshot: {other:?}"),
    };
    pixels[..info.line_size * height as usize]
        .chunks(info.line_size)
        .flat_map(|line| line.chunks(channels).take(width as usize))
        .map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect()
}

/// Slowloris: one thread writes a byte of a request head (then `a`s, a header value that never
/// ends) to every writer each `every`, `steps` times at most, and drops a writer whose write
/// fails (the server has closed it); it stops early once every writer is dropped.
pub fn trickle_heads(
    writers: Vec<Writer>,
    every: Duration,
    steps: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut writers: Vec<Option<Writer>> = writers.into_iter().map(Some).collect();
        let head = b"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Slow: ";
        for step in 0..steps {
            let byte = head.get(step).copied().unwrap_or(b'a');
            for slot in &mut writers {
                if slot
                    .as_mut()
                    .is_some_and(|writer| writer.write_all(&[byte]).is_err())
                {
                    *slot = None;
                }
            }
            if writers.iter().all(Option::is_none) {
                return;
            }
            thread::sleep(every);
        }
    })
}

/// How soon a closed connection's place must be given back, past a connection limit.
const FREED_WITHIN: Duration = Duration::from_secs(2);

/// After one of the connections that filled a limit has closed: new connections are refused
/// with `refused_status` until the server has counted it closed, then served, all within
/// [`FREED_WITHIN`].
pub fn expect_a_place_again(server: &Server, refused_status: u16) {
    let deadline = Instant::now() + FREED_WITHIN;
    loop {
        let response = exchange(server, &get("/plaintext"));
        if response.status == 200 {
            return;
        }
        assert_eq!(response.status, refused_status, "{response}");
        assert!(
            Instant::now() < deadline,
            "the place of a closed connection was not given back within {FREED_WITHIN:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
