//! The floor server: the least work an HTTP/1.1 server on this machine can do per request, so
//! that every stage in the benchmark tables is also shown as a ratio to this machine's limit.
//!
//! It does not parse. It reads whatever arrives, counts the requests by counting the blank lines
//! that end request heads (`\r\n\r\n`, RFC 9112 section 2.1: a head ends with an empty line), and
//! writes that many copies of one fixed response prepared at start-up. Nothing is allocated per
//! request, no header is looked at, no file is opened: what is left is epoll, `accept4`, `read`,
//! `write` and `close`, the syscall path every real server also pays for.
//!
//! ```text
//! cargo run --release -p stagecraft-harness --example floor -- --addr 127.0.0.1:0 [--threads N] [--body FILE] [--close]
//! ```
//!
//! - `--threads N`: N threads, each with its own epoll instance, all waiting on the one listening
//!   socket with `EPOLLEXCLUSIVE` so a new connection wakes one thread, not all of them.
//! - `--body FILE`: the fixed response carries FILE's bytes (read once, kept in memory), so the
//!   floor answers with as many bytes as the file scenario it stands beside. Without it the body
//!   is `Hello, World!`, as for `/plaintext`.
//! - `--close`: answer with `Connection: close` and close after each response, for the
//!   connection-per-request scenario.
//!
//! Like every stage, the first line on stdout is `listening on http://ADDR`. SIGTERM ends it
//! (the default action: there is no request state worth finishing).
//!
//! Only requests without a body are counted correctly, which is all the benchmark sends.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

/// The end of a request head.
const HEAD_END: &[u8; 4] = b"\r\n\r\n";

/// epoll user data that marks the listening socket; connections use their file descriptor.
const LISTENER_TOKEN: u64 = u64::MAX;

/// Reads per `read(2)`: large enough for 256 connections' worth of 16 pipelined requests to
/// arrive in few calls.
const READ_BUFFER: usize = 64 * 1024;

struct Options {
    addr: SocketAddr,
    threads: usize,
    body: Option<PathBuf>,
    close: bool,
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("floor: {message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(options) {
        eprintln!("floor: {error}");
        std::process::exit(1);
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        threads: 1,
        body: None,
        close: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                options.addr = value("--addr")?
                    .parse()
                    .map_err(|error| format!("--addr: {error}"))?
            }
            "--threads" => {
                options.threads = value("--threads")?
                    .parse()
                    .ok()
                    .filter(|threads| *threads > 0)
                    .ok_or("--threads takes a positive number")?
            }
            "--body" => options.body = Some(PathBuf::from(value("--body")?)),
            "--close" => options.close = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn run(options: Options) -> io::Result<()> {
    let body = match &options.body {
        Some(path) => std::fs::read(path)?,
        None => b"Hello, World!".to_vec(),
    };
    let response = Arc::new(fixed_response(&body, options.close));
    let listener = TcpListener::bind(options.addr)?;
    listener.set_nonblocking(true)?;
    let mut stdout = io::stdout();
    writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
    stdout.flush()?;

    let listener = Arc::new(listener);
    let workers: Vec<_> = (0..options.threads)
        .map(|_| {
            let listener = Arc::clone(&listener);
            let response = Arc::clone(&response);
            let close = options.close;
            thread::spawn(move || event_loop(listener.as_raw_fd(), &response, close))
        })
        .collect();
    for worker in workers {
        match worker.join() {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("an event loop thread panicked")),
        }
    }
    Ok(())
}

fn fixed_response(body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{connection}\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    response
}

/// What the loop remembers about one connection between readiness events.
#[derive(Default)]
struct Conn {
    /// How many bytes of [`HEAD_END`] the last read ended with, so a head end split across two
    /// reads is still counted once.
    matched: usize,
    /// Responses owed but not yet written (the socket buffer was full).
    owed: usize,
    /// Bytes of the first owed response already written.
    offset: usize,
    /// Whether at least one whole response went out (with `--close`, the signal to close).
    answered: bool,
}

// ANCHOR: floor_loop
fn event_loop(listener: RawFd, response: &[u8], close: bool) -> io::Result<()> {
    // SAFETY: epoll_create1 has no memory preconditions; the result is checked.
    let epoll = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    control(
        epoll,
        libc::EPOLL_CTL_ADD,
        listener,
        (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
        LISTENER_TOKEN,
    )?;
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        // SAFETY: `events` is a live, writable array of the length passed.
        let ready = unsafe {
            libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as libc::c_int, -1)
        };
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        for event in &events[..ready as usize] {
            let token = event.u64;
            if token == LISTENER_TOKEN {
                accept_all(epoll, listener, &mut conns);
                continue;
            }
            let fd = token as RawFd;
            let Some(conn) = conns.get_mut(&fd) else {
                continue;
            };
            let keep = serve(fd, conn, &mut buffer, response, close);
            if !keep {
                conns.remove(&fd);
                // SAFETY: `fd` is a socket this loop accepted and still owns; closing it also
                // removes it from the epoll set.
                unsafe { libc::close(fd) };
            } else if conn.owed > 0 {
                // Only ask for writability while something is owed, or epoll reports it forever.
                let interest = (libc::EPOLLIN | libc::EPOLLOUT) as u32;
                control(epoll, libc::EPOLL_CTL_MOD, fd, interest, fd as u64)?;
            } else if event.events & libc::EPOLLOUT as u32 != 0 {
                control(
                    epoll,
                    libc::EPOLL_CTL_MOD,
                    fd,
                    libc::EPOLLIN as u32,
                    fd as u64,
                )?;
            }
        }
    }
}

/// Reads until the socket is drained, answers every complete head, and says whether the
/// connection stays open.
fn serve(fd: RawFd, conn: &mut Conn, buffer: &mut [u8], response: &[u8], close: bool) -> bool {
    loop {
        // SAFETY: `buffer` is a live, writable slice of the length passed.
        let n = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        if n == 0 {
            return false;
        }
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::WouldBlock {
                break;
            }
            return error.kind() == io::ErrorKind::Interrupted;
        }
        conn.owed += count_head_ends(&buffer[..n as usize], &mut conn.matched);
    }
    if !write_owed(fd, conn, response) {
        return false;
    }
    // With --close the connection ends once its one response is out.
    !(close && conn.answered && conn.owed == 0 && conn.offset == 0)
}
// ANCHOR_END: floor_loop

/// Counts the head ends in `bytes`, carrying a partial match in `matched` across calls.
fn count_head_ends(bytes: &[u8], matched: &mut usize) -> usize {
    let mut count = 0;
    for &byte in bytes {
        if byte == HEAD_END[*matched] {
            *matched += 1;
            if *matched == HEAD_END.len() {
                count += 1;
                *matched = 0;
            }
        } else {
            *matched = usize::from(byte == HEAD_END[0]);
        }
    }
    count
}

/// Writes as many owed responses as the socket takes; false when the connection failed.
fn write_owed(fd: RawFd, conn: &mut Conn, response: &[u8]) -> bool {
    // Up to 16 responses per write(2), as a pipelining client sends up to 16 requests at once.
    const BATCH: usize = 16;
    let mut batch = Vec::new();
    while conn.owed > 0 {
        let copies = conn.owed.min(BATCH);
        batch.clear();
        for _ in 0..copies {
            batch.extend_from_slice(response);
        }
        let pending = &batch[conn.offset..];
        // SAFETY: `pending` is a live slice of the length passed.
        let n = unsafe { libc::write(fd, pending.as_ptr().cast(), pending.len()) };
        if n < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock => true,
                io::ErrorKind::Interrupted => continue,
                _ => false,
            };
        }
        let done = conn.offset + n as usize;
        conn.owed -= done / response.len();
        conn.answered |= done >= response.len();
        conn.offset = done % response.len();
        if (n as usize) < pending.len() {
            // The socket buffer is full; the rest waits for EPOLLOUT.
            return true;
        }
    }
    true
}

fn accept_all(epoll: RawFd, listener: RawFd, conns: &mut HashMap<RawFd, Conn>) {
    loop {
        // SAFETY: accept4 may be given null address pointers when the peer address is unwanted.
        let fd = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            // EAGAIN (another thread took it, or none left), or a per-connection error such as
            // ECONNABORTED: either way, wait for the next readiness event.
            return;
        }
        let nodelay: libc::c_int = 1;
        // SAFETY: the option value points at a live c_int of the size passed. A failure only
        // costs latency, so it is not checked.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&nodelay as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if control(
            epoll,
            libc::EPOLL_CTL_ADD,
            fd,
            libc::EPOLLIN as u32,
            fd as u64,
        )
        .is_err()
        {
            // SAFETY: `fd` was just accepted and is owned by nobody else.
            unsafe { libc::close(fd) };
            continue;
        }
        conns.insert(fd, Conn::default());
    }
}

fn control(epoll: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: token };
    // SAFETY: `event` is a live epoll_event for the duration of the call.
    check(unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) }).map(|_| ())
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}
