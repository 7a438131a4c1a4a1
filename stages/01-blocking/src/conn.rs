//! One connection: moving bytes between a blocking `TcpStream` and the `protocol::http1` machine.
//!
//! This is the whole driver of the sans-IO machine, in its simplest form. Later stages keep
//! this loop's three steps (answer, write, read) and change only who waits, and where.
//!
//! Stages 02 and 03 run the same loop with [`Until::AwaitingRequest`], which returns a
//! connection that only waits for its client so that it can wait in their lobby
//! (`driver::lobby`), and take new connections in through [`welcome`]. Both live here, beside
//! the loop they are a mode of, because those two stages share this crate and not each other;
//! stage 01 itself serves with [`Until::Closed`].

use std::io::{self, Read};
use std::net::{Shutdown as Direction, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use app::{App, ConnectionGuard};
use driver::lobby::Guest;
use protocol::{Connection, Event, Limits, Transmit};
use tracing::debug;

use crate::shutdown::Shutdown;

/// The longest a blocking read waits before looking at the shutdown flag again. A blocking read
/// cannot be interrupted portably, so the loop wakes up this often while a client is quiet.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

// ANCHOR: serve_connection
/// Serves one connection until it closes.
pub fn serve_connection(
    stream: TcpStream,
    app: &App,
    limits: &Limits,
    shutdown: &Shutdown,
) -> io::Result<()> {
    // Counted open in /server-status until this returns (the guard's drop).
    let _open = app.connection_opened();
    let conn = new_connection(&stream, app, limits)?;
    serve_until(stream, conn, app, shutdown, Until::Closed).map(drop)
}

/// Sets up a new connection's socket, and its protocol machine.
pub fn new_connection(stream: &TcpStream, app: &App, limits: &Limits) -> io::Result<Connection> {
    // Responses leave in at most a few writes; without this, Nagle's algorithm could hold the
    // last part of a file back until the client's delayed ACK.
    stream.set_nodelay(true)?;
    // A client that stops reading our response must not block the server forever either.
    stream.set_write_timeout(Some(limits.idle_timeout))?;
    // The app's body sinks (uploads to disk) run on this thread, inside `handle_read`.
    Ok(Connection::new(limits.clone(), Instant::now())
        .with_peer(stream.peer_addr().ok())
        .with_body_sinks(app.body_sinks()))
}

// ANCHOR: welcome
/// A connection waiting in a lobby (stages 02 and 03, `driver::lobby`): the guard that counts
/// it open in `/server-status` travels with it.
pub type Waiting = Guest<ConnectionGuard>;

/// A new connection for a lobby: its machine and its open-count guard; or, when the server
/// already holds `--max-connections` (counted over every thread and process), the kit's `503`
/// and a close; or, when its client holds `--max-connections-per-client` already, the `429`.
/// A lobby holds connections no worker holds, so the first limit is what bounds them.
pub fn welcome(stream: TcpStream, app: &App, limits: &Limits) -> Option<Waiting> {
    let held = usize::try_from(app.stats().connections_open()).unwrap_or(usize::MAX);
    if held >= limits.max_connections {
        app.stats().count_refusal(app::Refusal::MaxConnections);
        let response = driver::refusal::response(SystemTime::now(), limits.max_connections);
        // Sent and closed at once: a lobby does not linger over one socket. The client most
        // likely reads the 503; a request it had sent may turn the close into a reset.
        if let Err(error) = driver::refusal::begin(&stream, &response) {
            debug!(%error, "cannot send the refusal");
        }
        return None;
    }
    let extra = match app.connection_opened_from(stream.peer_addr().ok(), limits) {
        Ok(open) => open,
        Err(max) => {
            // Past --max-connections-per-client (counted by the app): the same close at once.
            let response = driver::refusal::client_response(SystemTime::now(), max);
            if let Err(error) = driver::refusal::begin(&stream, &response) {
                debug!(%error, "cannot send the refusal");
            }
            return None;
        }
    };
    match new_connection(&stream, app, limits) {
        Ok(conn) => Some(Guest {
            stream,
            conn,
            extra,
        }),
        Err(error) => {
            debug!(%error, "cannot set up a new connection; it is closed");
            None
        }
    }
}
// ANCHOR_END: welcome

/// When [`serve_until`] returns.
#[derive(Clone, Copy)]
pub enum Until<'a> {
    /// When the connection closes: this stage, where nobody else would watch it.
    Closed,
    /// Also when the machine waits for its client and no request has arrived within `linger`:
    /// the connection goes back to whoever watches waiting connections (the lobby of stages 02
    /// and 03, `driver::lobby`), and the worker is free. The linger is skipped while
    /// `others_wait` says another connection is waiting for a worker: a client that keeps
    /// sending must not keep a worker others are queued for.
    AwaitingRequest {
        linger: Duration,
        others_wait: &'a dyn Fn() -> bool,
    },
}

/// How [`serve_until`] ended.
pub enum Served {
    Closed,
    /// The connection waits for its client: the socket and its machine (boxed: it is large),
    /// to be watched.
    AwaitingRequest(TcpStream, Box<Connection>),
}

/// Serves `conn` on `stream` until it closes, or, with [`Until::AwaitingRequest`], until it
/// has nothing to do but wait for its client.
pub fn serve_until(
    mut stream: TcpStream,
    mut conn: Connection,
    app: &App,
    shutdown: &Shutdown,
    until: Until<'_>,
) -> io::Result<Served> {
    let mut file_scratch = Vec::new();
    let mut told_to_stop = false;
    let mut lingered = false;
    loop {
        if shutdown.is_requested() && !told_to_stop {
            // The machine makes the request it is answering or receiving the last (its
            // response says `Connection: close`), and gives an idle connection
            // `protocol::http1::STOP_GRACE` for a request on its way.
            told_to_stop = true;
            conn.handle_shutdown(Instant::now());
        }
        // 1. Answer every request the machine has ready, in order.
        while let Some(event) = conn.poll_event() {
            // A request arrived within the linger: the next wait for one lingers again.
            lingered = false;
            let (id, response) = match event {
                Event::Request { id, request } => {
                    let response = app.handle(&request);
                    debug!(method = %request.method, target = %request.target, status = response.status.as_u16());
                    (id, response)
                }
                Event::Rejected { id, error } => {
                    debug!(%error, "refused a request");
                    (id, app.refuse(&error))
                }
            };
            conn.send_response(id, response, SystemTime::now());
        }

        // 2. Write everything that is queued; a blocking write returns when the kernel took it.
        while let Some(transmit) = conn.poll_transmit() {
            if let Transmit::CloseWrite = transmit {
                stream.shutdown(Direction::Write)?;
                conn.handle_write_closed(Instant::now());
                continue;
            }
            // File regions go through a buffer here, not sendfile: the chapter counts the system
            // calls of the plain way first.
            let written = driver::sendfile::write_plain(&transmit, &stream, &mut file_scratch)?;
            conn.advance(written, Instant::now());
        }
        if conn.is_closed() {
            return Ok(Served::Closed);
        }

        // 3. Read, waiting no longer than the machine's next deadline. A deadline that has
        //    passed may queue a 408 or close the connection: back to step 1 to act on it.
        let now = Instant::now();
        if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            conn.handle_timeout(now);
            continue;
        }
        if !conn.wants_read() {
            // Nothing to read, nothing to write and nothing in progress: this driver answers
            // every request before reading again, so the machine has nothing left to do.
            return Ok(Served::Closed);
        }
        let mut wait = conn
            .poll_timeout()
            .map_or(SHUTDOWN_POLL, |deadline| {
                deadline.saturating_duration_since(now)
            })
            .clamp(Duration::from_millis(1), SHUTDOWN_POLL);
        // Stages 02 and 03: a connection that only waits for its client goes back to the
        // lobby, after a short linger for a next request that is already on its way, unless
        // another connection waits for a worker meanwhile (fairness first).
        match until {
            Until::AwaitingRequest {
                linger,
                others_wait,
            } if !told_to_stop && conn.waits_for_client() => {
                if lingered || others_wait() {
                    return Ok(Served::AwaitingRequest(stream, Box::new(conn)));
                }
                lingered = true;
                wait = wait.min(linger);
            }
            _ => {}
        }
        stream.set_read_timeout(Some(wait))?;
        // Straight into the connection's own buffer: the request will be a view of these bytes.
        match stream.read(conn.read_buf()) {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_read(n, Instant::now()),
            // The wait ran out: the timeout check at the top of the next round acts on it.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}
// ANCHOR_END: serve_connection
