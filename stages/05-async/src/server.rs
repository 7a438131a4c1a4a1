//! The listener, the accept loop and the connection limit: a task per connection, at most
//! `--max-connections` of them at once.
//!
//! Everything here runs on the runtime's worker threads. The accept loop is one task like any
//! other: while it waits in `accept`, its worker runs connection tasks, and a new connection's
//! task is spawned onto the same worker (the others steal work when they run dry).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::{App, Refusal};
use driver::listener::{self, BindError, ListenOptions};
use driver::refusal;
use protocol::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::conn::serve_connection;
use crate::shutdown::Shutdown;

/// How long the accept loop pauses when the process is out of file descriptors. `accept` fails
/// at once while the limit holds, so retrying without a pause would spin a core; meanwhile the
/// connections wait in the backlog until a connection task ends and frees a descriptor.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds `addr`, non-blocking and with an accept queue deep enough for thousands of clients
/// connecting at once (`ListenOptions::EVENTED`), and hands the socket to tokio; the first call
/// takes the socket a service manager passed instead, if it passed one (`driver::activation`).
/// Must be called from inside the runtime.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let listener = listener::bind_or_activated(addr, ListenOptions::EVENTED)?;
    TcpListener::from_std(listener).map_err(|source| BindError::Failed {
        addr,
        step: "register the socket with the runtime",
        source,
    })
}

// ANCHOR: accept_loop
/// Accepts connections and spawns a task for each, until `shutdown` is requested.
pub async fn serve(listener: TcpListener, app: Arc<App>, limits: Arc<Limits>, shutdown: &Shutdown) {
    let max_connections = limits.max_connections;
    let stats = Arc::clone(app.stats());
    let connection = move |stream, peer, stop| {
        let app = Arc::clone(&app);
        let limits = Arc::clone(&limits);
        async move {
            if let Err(error) = serve_connection(stream, &app, &limits, stop).await {
                debug!(%peer, %error, "connection ended with an error");
            }
        }
    };
    let over_limit = move |stream, refusals: &Arc<Semaphore>, shutdown: &Shutdown| {
        stats.count_refusal(Refusal::MaxConnections);
        refuse(stream, max_connections, refusals, shutdown)
    };
    let slots = Arc::new(Semaphore::new(max_connections));
    accept_loop(listener, slots, shutdown, connection, over_limit).await;
}

/// The accept loop itself, whatever a connection's task does (stage 06 runs the same loop with
/// TLS connections): a task only with a permit of `slots`, one per connection, so at most as
/// many tasks at once as it holds permits (`--max-connections`), and `over_limit` (the `503`) past
/// that. Several listeners may share one `slots` (stage 07's TLS and h2c ports do), so that the
/// limit is the process's, not each port's; with at most [`refusal::MAX_AT_ONCE`] refusals lingering (the semaphore it is given), a
/// pause when the process is out of descriptors, and the end at `shutdown`.
pub async fn accept_loop<Task, Connection, OverLimit>(
    listener: TcpListener,
    slots: Arc<Semaphore>,
    shutdown: &Shutdown,
    mut connection: Connection,
    mut over_limit: OverLimit,
) where
    Connection: FnMut(TcpStream, SocketAddr, CancellationToken) -> Task,
    Task: Future<Output = ()> + Send + 'static,
    OverLimit: FnMut(TcpStream, &Arc<Semaphore>, &Shutdown),
{
    // One permit per connection; a task gives its permit back when it ends.
    let refusals = Arc::new(Semaphore::new(refusal::MAX_AT_ONCE));
    let mut admit = |stream: TcpStream, peer: SocketAddr| {
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            over_limit(stream, &refusals, shutdown);
            return;
        };
        let task = connection(stream, peer, shutdown.connection_token());
        shutdown.spawn(async move {
            task.await;
            drop(slot);
        });
    };
    loop {
        let accepted = tokio::select! {
            // Checked first, so a stop is never delayed by a steady stream of connections.
            biased;
            () = shutdown.requested() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => admit(stream, peer),
            Err(error) => {
                warn!(%error, "accept failed");
                if is_out_of_descriptors(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    // Closing the listener would reset the connections still in its accept queue, whose
    // clients may have sent a request: shut the door, take them all in (their tasks see the
    // stop at once and answer one request each with `Connection: close`), then close.
    if let Err(error) = driver::listener::refuse_new_connections(&listener) {
        warn!(%error, "cannot shut new connections out: some may be reset at close");
    }
    for (stream, peer) in queued_connections(listener) {
        admit(stream, peer);
    }
}

/// Every connection left in `listener`'s accept queue, taken without waiting (std's accept on
/// the same descriptor: the queue is the kernel's, not tokio's), and the listener closed after.
fn queued_connections(listener: TcpListener) -> Vec<(TcpStream, SocketAddr)> {
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(error) => {
            warn!(%error, "cannot drain the accept queue");
            return Vec::new();
        }
    };
    let mut queued = Vec::new();
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let stream = stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream));
                match stream {
                    Ok(stream) => queued.push((stream, peer)),
                    Err(error) => warn!(%error, "cannot take a queued connection"),
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return queued,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                warn!(%error, "accept failed while draining the queue");
                return queued;
            }
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: refuse
/// Answers a connection over the limit with `503` and closes it, without ever reading its
/// request into the server: refusing must stay much cheaper than serving.
///
/// The other way to enforce a limit is to stop accepting until a slot frees up. Then clients
/// wait in the kernel's backlog with no word from the server, and once that fills, their SYNs
/// are dropped and retried after 1, 3, 7... seconds. A 503 with `Retry-After` tells a client
/// (or a load balancer, which can try another server) at once.
pub fn refuse(
    stream: TcpStream,
    max_connections: usize,
    refusals: &Arc<Semaphore>,
    shutdown: &Shutdown,
) {
    let response = refusal::response(SystemTime::now(), max_connections);
    let Ok(refusing) = Arc::clone(refusals).try_acquire_owned() else {
        // Too many refusals linger already: send the 503 and close at once. The client may
        // see a reset instead, but never silence. (Written past tokio, straight to the
        // descriptor: the socket is dropped right after, so tokio's readiness does not matter.)
        debug!("over the connection limit and refusing too many already: closing at once");
        let _ = refusal::begin(&stream, &response);
        return;
    };
    shutdown.spawn(async move {
        let _ = tokio::time::timeout(refusal::LINGER, refuse_politely(stream, &response)).await;
        drop(refusing);
    });
}

/// The `429` past `--max-connections-per-client` (the app counted it), sent from the
/// connection's own task with `driver::refusal`'s three steps, within `refusal::LINGER`. Stage
/// 07's h2c port refuses the same way.
pub async fn refuse_client(stream: TcpStream, max: u32) {
    let response = refusal::client_response(SystemTime::now(), max);
    let _ = tokio::time::timeout(refusal::LINGER, refuse_politely(stream, &response)).await;
}

/// `driver::refusal`'s three steps, with `.await` where a blocking socket would wait.
pub async fn refuse_politely(mut stream: TcpStream, response: &[u8]) -> io::Result<()> {
    stream.write_all(response).await?;
    stream.shutdown().await?;
    // Read until the client closes: closing with its request unread would send a reset, which
    // may reach the client before it has read the 503.
    let mut discard = [0u8; 512];
    while stream.read(&mut discard).await? > 0 {}
    Ok(())
}
// ANCHOR_END: refuse

/// Whether `accept` failed because this process or the system has no file descriptor left.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}
