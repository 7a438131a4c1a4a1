//! One connection: served by stage 01's driver.
//!
//! A worker of this stage does with a connection what stage 01's only thread did: read a
//! request, answer it, write the response, read again, blocking at each step; with the
//! hand-built pool it stops when the connection only waits for its client again
//! (`serve_until` with `Until::AwaitingRequest`) and hands it back to the lobby
//! ([`lobby`](crate::lobby)), and with the comparison pools it goes on until the connection
//! closes (`serve_connection`). So this stage has no connection driver of its own: it calls
//! stage 01's, re-exported here so that the file every stage has (`conn.rs`) says where the
//! driver is.
//!
//! Why not a copy adapted to threads: nothing in it needs adapting. The driver owns its socket
//! and its protocol machine, shares nothing with other connections but the `App` (immutable, or
//! atomic counters) and the shutdown flag (an atomic), so any number of threads may run it at
//! once. The one thing the lobby needed, stopping when the connection only waits, is a mode of
//! the same loop, which stage 01 runs with `Until::Closed`.

use std::net::TcpStream;
use std::panic::{self, AssertUnwindSafe};

use app::App;
use protocol::Limits;
pub use stage01_blocking::conn::serve_connection;
use stage01_blocking::shutdown::Shutdown;
use tracing::{debug, warn};

use crate::pool::panic_message;

/// Serves one connection with stage 01's driver and logs how it ended.
pub fn serve_logged(stream: TcpStream, app: &App, limits: &Limits, shutdown: &Shutdown) {
    let peer = stream.peer_addr().ok();
    if let Err(error) = serve_connection(stream, app, limits, shutdown) {
        debug!(?peer, %error, "connection ended with an error");
    }
}

/// [`serve_logged`], with a panic caught and logged instead of unwinding into the thread's
/// owner: for the comparison pools, whose scopes would re-raise it. The hand-built pool catches
/// every job's panic itself.
pub fn serve_catching_panics(stream: TcpStream, app: &App, limits: &Limits, shutdown: &Shutdown) {
    // AssertUnwindSafe: the stream is dropped (closed) by the unwinding, and the App's shared
    // state is atomic counters, which a panic cannot leave half-updated.
    let served = panic::catch_unwind(AssertUnwindSafe(|| {
        serve_logged(stream, app, limits, shutdown)
    }));
    if let Err(payload) = served {
        warn!(
            panic = panic_message(payload.as_ref()),
            "a connection's thread panicked; its connection is closed"
        );
    }
}
