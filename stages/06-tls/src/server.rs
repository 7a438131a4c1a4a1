//! The accept loop: stage 05's, spawning a TLS connection task instead of a plain one.
//!
//! The connection limit counts a connection from its accept, handshake included: a client that
//! opens thousands of connections and never finishes a handshake takes slots like any other,
//! until the handshake timeout frees them, and past the limit gets stage 05's `503` (in plain
//! text: a refused connection is never read from, so it never reaches the handshake).

use std::sync::Arc;

use stage05_async::server::accept_loop;
use stage05_async::shutdown::Shutdown;
use tokio::net::TcpListener;
use tracing::debug;

use crate::conn::{serve_connection, Settings};

pub use stage05_async::server::bind;

// ANCHOR: accept_loop
/// Accepts connections and spawns a TLS connection task for each, until `shutdown` is
/// requested: stage 05's loop, with this stage's connection task.
pub async fn serve(listener: TcpListener, settings: Arc<Settings>, shutdown: &Shutdown) {
    let max_connections = settings.limits.max_connections;
    accept_loop(
        listener,
        max_connections,
        shutdown,
        move |stream, peer, stop| {
            let settings = Arc::clone(&settings);
            async move {
                if let Err(error) = serve_connection(stream, &settings, stop).await {
                    debug!(%peer, %error, "connection ended with an error");
                }
            }
        },
    )
    .await;
}
// ANCHOR_END: accept_loop
