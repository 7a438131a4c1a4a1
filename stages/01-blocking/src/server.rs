//! The accept loop: one connection at a time, start to finish; and at a stop, the accept queue
//! drained so that no client that was already connected is reset.

use std::net::{TcpListener, TcpStream};

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
    // The stop is requested, so each connection answers its first request and closes.
    let drained = driver::listener::drain_accept_queue(listener, first, |stream| {
        let peer = stream.peer_addr().ok();
        if let Err(error) = serve_connection(stream, app, limits, shutdown) {
            debug!(?peer, %error, "connection ended with an error");
        }
    });
    match drained {
        Ok(drained) => info!(
            served = drained.served,
            silent = drained.silent,
            "drained the accept queue"
        ),
        Err(error) => warn!(%error, "cannot drain the accept queue"),
    }
}
// ANCHOR_END: drain
