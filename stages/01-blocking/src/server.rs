//! The accept loop: one connection at a time, start to finish; and at a stop, the accept queue
//! drained so that no client that was already connected is reset.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use app::App;
use protocol::Limits;
use tracing::{debug, info, warn};

use crate::conn::serve_connection;
use crate::shutdown::Shutdown;

// ANCHOR: accept_loop
/// Serves connections from `listener` one after the other until `shutdown` is requested, then
/// drains the accept queue ([`drain`]).
pub fn serve(listener: TcpListener, app: &App, limits: &Limits, shutdown: &Shutdown) {
    for incoming in listener.incoming() {
        let stream = match incoming {
            Ok(stream) => stream,
            Err(error) => {
                // Typically EMFILE or ECONNABORTED: a problem with one connection, not the
                // listener, so keep accepting.
                warn!(%error, "accept failed");
                continue;
            }
        };
        if shutdown.is_requested() {
            // The connection that woke us may be the shutdown's own wake-up call, or a client
            // whose request is on its way: it is served with the rest of the queue.
            drain(&listener, Some(stream), app, limits, shutdown);
            return;
        }
        let peer = stream.peer_addr().ok();
        // Every other client waits in the accept queue until this call returns.
        if let Err(error) = serve_connection(stream, app, limits, shutdown) {
            debug!(?peer, %error, "connection ended with an error");
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: drain
/// The end of a graceful stop: no new connections, then every connection already in the accept
/// queue served (its first request answered with `Connection: close`), then the listener closed
/// by the caller's drop. Clients in the queue were connected as far as they knew, and many have
/// sent a request; closing the listener without this would reset them.
pub fn drain(
    listener: &TcpListener,
    first: Option<TcpStream>,
    app: &App,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    if let Err(error) = driver::listener::refuse_new_connections(listener) {
        warn!(%error, "cannot shut new connections out: some may be reset at close");
    }
    if let Err(error) = listener.set_nonblocking(true) {
        warn!(%error, "cannot drain the accept queue");
        return;
    }
    let mut drained = 0u32;
    let mut next = first;
    loop {
        let stream = match next.take() {
            Some(stream) => stream,
            None => match listener.accept() {
                Ok((stream, _)) => stream,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    warn!(%error, "accept failed while draining");
                    continue;
                }
            },
        };
        if has_sent_something(&stream) {
            drained += 1;
            let peer = stream.peer_addr().ok();
            // The stop is requested, so the connection answers its first request and closes.
            if let Err(error) = serve_connection(stream, app, limits, shutdown) {
                debug!(?peer, %error, "connection ended with an error");
            }
        }
    }
    info!(connections = drained, "drained the accept queue");
}

/// How long a connection taken from the queue during a stop may stay silent before it is closed
/// unanswered: its client has not sent a byte of a request, so closing it loses nothing.
const DRAIN_FIRST_BYTE: Duration = Duration::from_millis(100);

/// Whether the client has sent a byte of a request within [`DRAIN_FIRST_BYTE`]. The wake-up connection of the signal thread closes at once and is
/// answered by nobody; a silent client is dropped before it has sent a byte.
fn has_sent_something(stream: &TcpStream) -> bool {
    // An accepted socket does not inherit the listener's non-blocking mode on Linux; set anyway.
    let ready = stream.set_nonblocking(false).is_ok()
        && stream.set_read_timeout(Some(DRAIN_FIRST_BYTE)).is_ok();
    let mut byte = [0u8; 1];
    ready && matches!(stream.peek(&mut byte), Ok(n) if n > 0)
}
// ANCHOR_END: drain
