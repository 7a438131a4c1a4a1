//! The accept loop: stage 05's, spawning a TLS connection task instead of a plain one.
//!
//! The connection limit counts a connection from its accept, handshake included: a client that
//! opens thousands of connections and never finishes a handshake takes slots like any other,
//! until the handshake timeout frees them, and past the limit gets stage 05's `503` (in plain
//! text: a refused connection is never read from, so it never reaches the handshake).

use std::sync::Arc;

use driver::refusal;
use stage05_async::server::{is_out_of_descriptors, refuse};
use stage05_async::shutdown::Shutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::conn::{serve_connection, Settings};

/// How long the accept loop pauses when the process is out of file descriptors (stage 05's).
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

pub use stage05_async::server::bind;

// ANCHOR: accept_loop
/// Accepts connections and spawns a task for each, until `shutdown` is requested.
pub async fn serve(listener: TcpListener, settings: Arc<Settings>, shutdown: &Shutdown) {
    let max_connections = settings.limits.max_connections;
    let slots = Arc::new(Semaphore::new(max_connections));
    let refusals = Arc::new(Semaphore::new(refusal::MAX_AT_ONCE));
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.requested() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "accept failed");
                if is_out_of_descriptors(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(stream, max_connections, &refusals, shutdown);
            continue;
        };
        let settings = Arc::clone(&settings);
        let stop = shutdown.connection_token();
        shutdown.spawn(async move {
            if let Err(error) = serve_connection(stream, &settings, stop).await {
                debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
}
// ANCHOR_END: accept_loop
