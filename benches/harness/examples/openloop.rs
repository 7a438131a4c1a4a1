//! An open-loop HTTP/1.1 load generator that reports latency corrected for coordinated omission.
//!
//! A closed-loop generator (wrk) sends the next request on a connection only after the previous
//! answer arrived. When the server stalls, the generator politely stops sending, and the requests
//! it *would* have sent during the stall are never measured: the stall shows as one slow sample
//! instead of thousands. That is coordinated omission.
//!
//! Here every connection follows a schedule fixed in advance: request `k` of connection `i` is
//! due at `start + offset_i + k * interval`, whatever happened before. Latency is measured from
//! that intended time, not from when the request was finally written, so a request that had to
//! wait behind a slow answer on its connection is charged for the wait, as a user would be.
//! Requests still unanswered when the run ends are recorded with the time they have waited so
//! far, so a server that stops answering shows as huge latencies, not as missing samples.
//!
//! The schedule is kept with a `timerfd` armed for the next due request, because epoll's own
//! timeout counts whole milliseconds, and spinning instead would fight the server and everyone
//! else for the CPU on a shared machine (and lose time slices to them). The timer slack of the
//! thread is set to 1 ns so the kernel does not round the wake-ups. The generator reports its own
//! lateness (how long after the intended time requests were actually written) so a reader can
//! tell the generator's delay from the server's.
//!
//! ```text
//! cargo run --release -p stagecraft-harness --example openloop -- --addr 127.0.0.1:8080 --path /index.html \
//!     --connections 50 --rate 20000 --duration 5
//! ```
//!
//! The result is one line of JSON on stdout, with times in microseconds.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// Longest latency the histogram holds, in microseconds (a minute).
const HIGHEST_MICROS: u64 = 60_000_000;

/// A response head larger than this is treated as an error.
const MAX_HEAD: usize = 64 * 1024;

/// The timer's token; connections use their index.
const TIMER: Token = Token(usize::MAX);

struct Options {
    addr: SocketAddr,
    path: String,
    connections: usize,
    rate: f64,
    duration: Duration,
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("openloop: {message}");
            std::process::exit(2);
        }
    };
    match run(&options) {
        Ok(report) => println!("{report}"),
        Err(error) => {
            eprintln!("openloop: {error}");
            std::process::exit(1);
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        path: "/".to_owned(),
        connections: 50,
        rate: 1000.0,
        duration: Duration::from_secs(5),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                options.addr = value("--addr")?
                    .parse()
                    .map_err(|error| format!("--addr: {error}"))?
            }
            "--path" => options.path = value("--path")?,
            "--connections" => {
                options.connections = value("--connections")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--connections takes a positive number")?
            }
            "--rate" => {
                options.rate = value("--rate")?
                    .parse()
                    .ok()
                    .filter(|rate: &f64| rate.is_finite() && *rate > 0.0)
                    .ok_or("--rate takes a positive number of requests per second")?
            }
            "--duration" => {
                let seconds: f64 = value("--duration")?
                    .parse()
                    .ok()
                    .filter(|seconds: &f64| seconds.is_finite() && *seconds > 0.0)
                    .ok_or("--duration takes a positive number of seconds")?;
                options.duration = Duration::from_secs_f64(seconds);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// One connection and its place in the schedule.
struct Conn {
    stream: TcpStream,
    /// When this connection's next request is due (it may be in the past: then it is late).
    next_due: Instant,
    /// The intended send time of the request in flight, if any.
    in_flight: Option<Instant>,
    /// Request bytes not yet written.
    unwritten: usize,
    /// Response bytes received and not yet consumed.
    received: Vec<u8>,
}

struct Totals {
    latency: Histogram<u64>,
    lateness: Histogram<u64>,
    completed: u64,
    errors: u64,
    non_2xx: u64,
    /// Requests due before the end that had no answer by then.
    unanswered: u64,
}

// ANCHOR: schedule
fn run(options: &Options) -> io::Result<String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
        options.path, options.addr
    )
    .into_bytes();
    // Each connection sends every `interval`; connection i starts i/connections of an interval
    // late, so the requests of all connections interleave evenly at the requested rate.
    let interval = Duration::from_secs_f64(options.connections as f64 / options.rate);
    let mut poll = Poll::new()?;
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + options.duration;
    let mut conns = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        let offset = interval.mul_f64(i as f64 / options.connections as f64);
        conns.push(connect(&poll, options.addr, i, start + offset)?);
    }
    let mut totals = Totals {
        latency: histogram()?,
        lateness: histogram()?,
        completed: 0,
        errors: 0,
        non_2xx: 0,
        unanswered: 0,
    };
    let timer = Timer::new(&poll)?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Send every request that is due on a connection with nothing in flight. A connection
        // still waiting for an answer sends its due request as soon as the answer is in, and
        // that request's latency still counts from its intended time.
        let mut earliest = end;
        for conn in conns.iter_mut() {
            if conn.in_flight.is_none() && conn.next_due <= now {
                let intended = conn.next_due;
                conn.in_flight = Some(intended);
                conn.next_due += interval;
                conn.unwritten = request.len();
                record(&mut totals.lateness, now - intended);
                if write_request(conn, &request).is_err() {
                    totals.errors += 1;
                }
            }
            if conn.in_flight.is_none() {
                earliest = earliest.min(conn.next_due);
            }
        }
        let wait = earliest.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            poll.poll(&mut events, Some(Duration::ZERO))?;
        } else {
            timer.arm(wait)?;
            poll.poll(&mut events, None)?;
        }
        for event in events.iter() {
            if event.token() == TIMER {
                timer.clear();
                continue;
            }
            let index = event.token().0;
            let Some(conn) = conns.get_mut(index) else {
                continue;
            };
            if event.is_writable() && conn.unwritten > 0 && write_request(conn, &request).is_err() {
                totals.errors += 1;
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                let healthy = read_responses(conn, &mut chunk, &mut totals);
                if !healthy {
                    // Replace the connection; its request in flight counts as an error and
                    // the schedule goes on from where it was.
                    totals.errors += u64::from(conn.in_flight.is_some());
                    let next_due = conn.next_due;
                    poll.registry().deregister(&mut conn.stream)?;
                    *conn = connect(&poll, options.addr, index, next_due)?;
                }
            }
        }
    }
    // Requests due before the end and not answered by then have waited at least this long.
    let stop = Instant::now();
    for conn in &conns {
        let mut intended = conn.in_flight.unwrap_or(conn.next_due);
        while intended < end {
            record(&mut totals.latency, stop - intended);
            totals.unanswered += 1;
            intended += interval;
        }
    }
    Ok(report(options, &totals))
}
// ANCHOR_END: schedule

fn connect(poll: &Poll, addr: SocketAddr, index: usize, next_due: Instant) -> io::Result<Conn> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    poll.registry().register(
        &mut stream,
        Token(index),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(Conn {
        stream,
        next_due,
        in_flight: None,
        unwritten: 0,
        received: Vec::with_capacity(8 * 1024),
    })
}

fn write_request(conn: &mut Conn, request: &[u8]) -> io::Result<()> {
    while conn.unwritten > 0 {
        let from = request.len() - conn.unwritten;
        match conn.stream.write(&request[from..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.unwritten -= n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // Not connected yet: the writable event after the handshake finishes the write.
            Err(error) if error.kind() == io::ErrorKind::NotConnected => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Reads what the socket has and completes the response in flight; false when the connection
/// is unusable (closed, reset, or a response this generator does not understand).
fn read_responses(conn: &mut Conn, chunk: &mut [u8], totals: &mut Totals) -> bool {
    // A server may answer and close in one go (`Connection: close` on the last request a
    // connection may carry): the answer still counts, so parse what arrived before giving up.
    let mut open = true;
    loop {
        match conn.stream.read(chunk) {
            Ok(0) => {
                open = false;
                break;
            }
            Ok(n) => conn.received.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                open = false;
                break;
            }
        }
    }
    loop {
        match complete_response(&conn.received) {
            Ok(Some((length, status))) => {
                conn.received.drain(..length);
                let Some(intended) = conn.in_flight.take() else {
                    // An answer nobody asked for.
                    return false;
                };
                record(&mut totals.latency, intended.elapsed());
                totals.completed += 1;
                if !(200..300).contains(&status) {
                    totals.non_2xx += 1;
                }
            }
            Ok(None) => return open,
            Err(()) => return false,
        }
    }
}

/// The length and status of the complete response at the start of `bytes`, if it is all there.
/// Only `Content-Length` framing is understood, which is what every server under test sends for
/// the files and fixed answers the generator asks for.
fn complete_response(bytes: &[u8]) -> Result<Option<(usize, u16)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => return Ok(None),
        _ => return Err(()),
    };
    let status = response.code.ok_or(())?;
    let length = response
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("content-length"))
        .and_then(|header| std::str::from_utf8(header.value).ok())
        .and_then(|value| value.trim().parse::<usize>().ok())
        .ok_or(())?;
    let total = head.checked_add(length).ok_or(())?;
    Ok((bytes.len() >= total).then_some((total, status)))
}

fn histogram() -> io::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
        .map_err(|error| io::Error::other(error.to_string()))
}

fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, HIGHEST_MICROS));
}

fn report(options: &Options, totals: &Totals) -> String {
    let seconds = options.duration.as_secs_f64();
    let latency = &totals.latency;
    format!(
        "{{\"target_rate\":{:.1},\"achieved_rate\":{:.1},\"completed\":{},\"errors\":{},\
         \"non_2xx\":{},\"unanswered\":{},\"latency_us\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}},\
         \"lateness_us\":{{\"p50\":{},\"p99\":{}}}}}",
        options.rate,
        totals.completed as f64 / seconds,
        totals.completed,
        totals.errors,
        totals.non_2xx,
        totals.unanswered,
        latency.value_at_quantile(0.5),
        latency.value_at_quantile(0.99),
        latency.value_at_quantile(0.999),
        latency.max(),
        totals.lateness.value_at_quantile(0.5),
        totals.lateness.value_at_quantile(0.99),
    )
}

/// A `timerfd` in the poll set: the generator's alarm clock, with nanosecond resolution.
struct Timer {
    fd: std::os::fd::OwnedFd,
}

impl Timer {
    fn new(poll: &Poll) -> io::Result<Timer> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: timerfd_create has no memory preconditions; the result is checked.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        poll.registry()
            .register(&mut SourceFd(&fd.as_raw_fd()), TIMER, Interest::READABLE)?;
        // The default timer slack (50 us) would let the kernel round every wake-up late.
        // SAFETY: prctl with PR_SET_TIMERSLACK takes a plain integer.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
        Ok(Timer { fd })
    }

    /// Fires once, `after` from now (re-arming replaces any earlier setting).
    fn arm(&self, after: Duration) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let value = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                // At least 1 ns: an all-zero value would disarm the timer instead.
                tv_nsec: after.subsec_nanos().max(1) as libc::c_long,
            },
        };
        // SAFETY: `value` is a valid itimerspec; the old value is not wanted (null).
        let result =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &value, std::ptr::null_mut()) };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Reads the expiry count, so the next expiry is a new readiness edge for epoll.
    fn clear(&self) {
        use std::os::fd::AsRawFd;
        let mut expirations = 0u64;
        // SAFETY: reads 8 bytes into a live u64. EAGAIN (nothing expired) is fine to ignore.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut expirations as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}
