//! The accept loop: one connection at a time, start to finish.

use std::net::TcpListener;

use app::App;
use protocol::Limits;
use tracing::{debug, warn};

use crate::conn::serve_connection;
use crate::shutdown::Shutdown;

// ANCHOR: accept_loop
/// Serves connections from `listener` one after the other until `shutdown` is requested.
pub fn serve(listener: TcpListener, app: &App, limits: &Limits, shutdown: &Shutdown) {
    for incoming in listener.incoming() {
        if shutdown.is_requested() {
            // The connection that woke us may be the shutdown's own wake-up call, or a client
            // that arrived too late: either way it is closed unanswered.
            break;
        }
        let stream = match incoming {
            Ok(stream) => stream,
            Err(error) => {
                // Typically EMFILE or ECONNABORTED: a problem with one connection, not the
                // listener, so keep accepting.
                warn!(%error, "accept failed");
                continue;
            }
        };
        let peer = stream.peer_addr().ok();
        // Every other client waits in the accept queue until this call returns.
        if let Err(error) = serve_connection(stream, app, limits, shutdown) {
            debug!(?peer, %error, "connection ended with an error");
        }
    }
}
// ANCHOR_END: accept_loop
