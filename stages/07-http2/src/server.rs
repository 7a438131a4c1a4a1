//! The accept loop: stage 06's, spawning this stage's connection task (ALPN `h2` or HTTP/1.1
//! over TLS). The connection limit, the `503` over TLS past it and the refusals' bounds are
//! stage 06's, used from its crate.

use std::sync::Arc;

use stage05_async::server::accept_loop;
use stage05_async::shutdown::Shutdown;
use stage06_tls::server::refuse;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::debug;

use crate::conn::{serve_connection, Settings};

pub use stage05_async::server::bind;

// ANCHOR: accept_loop
/// Accepts connections and spawns a TLS connection task for each, until `shutdown` is
/// requested: stage 06's loop, with this stage's connection task. `slots` are the process's
/// connection permits, shared with the h2c port.
pub async fn serve(
    listener: TcpListener,
    settings: Arc<Settings>,
    slots: Arc<Semaphore>,
    shutdown: &Shutdown,
) {
    let max_connections = settings.limits.max_connections;
    let tls = Arc::clone(&settings.tls);
    let stats = Arc::clone(settings.app.stats());
    let connection = move |stream, peer, stop| {
        let settings = Arc::clone(&settings);
        async move {
            if let Err(error) = serve_connection(stream, &settings, stop).await {
                debug!(%peer, %error, "connection ended with an error");
            }
        }
    };
    let over_limit = move |stream, refusals: &Arc<Semaphore>, shutdown: &Shutdown| {
        stats.count_refusal(app::Refusal::MaxConnections);
        refuse(stream, &tls, max_connections, refusals, shutdown)
    };
    accept_loop(listener, slots, shutdown, connection, over_limit).await;
}
// ANCHOR_END: accept_loop
