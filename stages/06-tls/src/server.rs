//! The accept loop: stage 05's, spawning a TLS connection task instead of a plain one.
//!
//! The connection limit counts a connection from its accept, handshake included: a client that
//! opens thousands of connections and never finishes a handshake takes slots like any other,
//! until the handshake timeout frees them, and past the limit gets stage 05's `503`, encrypted
//! after a handshake of its own (`refuse`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use driver::refusal;
use rustls::ServerConfig;
use stage05_async::server::accept_loop;
use stage05_async::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::debug;

use crate::conn::{refuse_over_tls, serve_connection, Settings};

pub use stage05_async::server::bind;

/// How long a refusal over TLS may take, handshake included: stage 05's lingering time plus a
/// second for the handshake.
pub const REFUSAL_WITHIN: Duration = Duration::from_secs(2);

// ANCHOR: accept_loop
/// Accepts connections and spawns a TLS connection task for each, until `shutdown` is
/// requested: stage 05's loop, with this stage's connection task and refusal.
pub async fn serve(listener: TcpListener, settings: Arc<Settings>, shutdown: &Shutdown) {
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
    let slots = Arc::new(Semaphore::new(max_connections));
    accept_loop(listener, slots, shutdown, connection, over_limit).await;
}
// ANCHOR_END: accept_loop

// ANCHOR: refuse
/// Stage 05's `503` past the limit, for a TLS client: it can read only what comes encrypted, so
/// the refusal makes the handshake first. That costs a handshake per refusal, which is why at
/// most `driver::refusal::MAX_AT_ONCE` run at once and each has [`REFUSAL_WITHIN`]; past that
/// the connection is closed at once (a client that cannot read plain text is better told by a
/// close than by bytes it would call a protocol error).
pub fn refuse(
    stream: TcpStream,
    tls: &Arc<ServerConfig>,
    max_connections: usize,
    refusals: &Arc<Semaphore>,
    shutdown: &Shutdown,
) {
    let Ok(refusing) = Arc::clone(refusals).try_acquire_owned() else {
        debug!("over the connection limit and refusing too many already: closing at once");
        return;
    };
    let tls = Arc::clone(tls);
    shutdown.spawn(async move {
        let response = refusal::response(SystemTime::now(), max_connections);
        let refused = refuse_over_tls(stream, tls, &response);
        if let Ok(Err(error)) = tokio::time::timeout(REFUSAL_WITHIN, refused).await {
            debug!(%error, "a refusal over TLS failed");
        }
        drop(refusing);
    });
}
// ANCHOR_END: refuse
