//! The listener, the accept loop and the connection limit: a task per connection, at most
//! `--max-connections` of them at once.
//!
//! Everything here runs on the runtime's worker threads. The accept loop is one task like any
//! other: while it waits in `accept`, its worker runs connection tasks, and a new connection's
//! task is spawned onto the same worker (the others steal work when they run dry).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::App;
use protocol::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::conn::serve_connection;
use crate::shutdown::Shutdown;

/// The kernel's queue of connections that are established but not yet accepted. The default of
/// most libraries (128 in older std, 1024 in mio) overflows when thousands of clients connect at
/// once, and an overflowing queue drops SYNs, which clients only retry after a second or more.
/// Linux caps it at `net.core.somaxconn` (4096 on current kernels).
const LISTEN_BACKLOG: u32 = 4096;

/// How long the accept loop pauses when the process is out of file descriptors. `accept` fails
/// at once while the limit holds, so retrying without a pause would spin a core; meanwhile the
/// connections wait in the backlog until a connection task ends and frees a descriptor.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Refusals served at once when `--max-connections` is reached; past it, a refused connection is
/// closed without a word. A refusal holds a descriptor for up to [`REFUSAL_LINGER`], so an
/// unbounded number of them would undo the limit they enforce.
const MAX_REFUSALS_AT_ONCE: usize = 64;

/// How long a refused connection is kept to read (and throw away) the request, so that closing
/// it does not reset the connection before the client has read the 503.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The answer when every connection slot is taken. Fixed bytes: nothing of the request is read
/// first, so there is nothing to parse, and it fits in a new socket's empty send buffer.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
content-length: 48\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
503: the server is at its connection limit now.\n";

/// Binds `addr` with `LISTEN_BACKLOG` (4096). Must be called from inside the runtime.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // A restarted server can bind again while old connections linger in TIME_WAIT. (On Linux
    // this does not let two listeners share a port: a port in use is still refused.)
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

// ANCHOR: accept_loop
/// Accepts connections and spawns a task for each, until `shutdown` is requested.
pub async fn serve(listener: TcpListener, app: Arc<App>, limits: Arc<Limits>, shutdown: &Shutdown) {
    // One permit per connection; a task gives its permit back when it ends.
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_AT_ONCE));
    loop {
        let accepted = tokio::select! {
            // Checked first, so a stop is never delayed by a steady stream of connections.
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
            refuse(stream, &refusals, shutdown);
            continue;
        };
        let app = Arc::clone(&app);
        let limits = Arc::clone(&limits);
        let stop = shutdown.connection_token();
        shutdown.spawn(async move {
            if let Err(error) = serve_connection(stream, &app, &limits, stop).await {
                debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // Dropping the listener closes it: from now on the kernel refuses new connections, instead
    // of queueing them for a loop that will never accept them.
    drop(listener);
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
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>, shutdown: &Shutdown) {
    let Ok(refusing) = Arc::clone(refusals).try_acquire_owned() else {
        debug!("over the connection limit and refusing too many already: closing");
        return;
    };
    shutdown.spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_LINGER, refuse_politely(stream)).await;
        drop(refusing);
    });
}

async fn refuse_politely(mut stream: TcpStream) -> io::Result<()> {
    stream.write_all(REFUSAL).await?;
    stream.shutdown().await?;
    // Read until the client closes: closing with its request unread would send a reset, which
    // may reach the client before it has read the 503.
    let mut discard = [0u8; 512];
    while stream.read(&mut discard).await? > 0 {}
    Ok(())
}
// ANCHOR_END: refuse

/// Whether `accept` failed because this process or the system has no file descriptor left.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

// ANCHOR: open_file_limit
/// Raises the soft limit on open files to the hard limit and returns the new soft limit.
///
/// Every connection is a file descriptor, and the soft limit is often 1024: far below what one
/// process of this stage can serve. Raising the soft limit up to the hard one needs no privilege;
/// past the hard limit only root (or the service manager, `LimitNOFILE=`) can go.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // An unlimited hard limit still stops at the kernel's `fs.nr_open`: asking for more fails.
    let ceiling = if limit.rlim_max == libc::RLIM_INFINITY {
        std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(limit.rlim_max)
    } else {
        limit.rlim_max
    };
    if limit.rlim_cur < ceiling {
        let raised = libc::rlimit {
            rlim_cur: ceiling,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(limit.rlim_cur)
}
// ANCHOR_END: open_file_limit

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusal is hand-written bytes, so check the framing a client relies on.
    #[test]
    fn refusal_content_length_matches_its_body() {
        let text = std::str::from_utf8(REFUSAL).expect("the refusal is ASCII");
        let (head, body) = text
            .split_once("\r\n\r\n")
            .expect("the refusal has a head and a body");
        let declared: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .and_then(|value| value.parse().ok())
            .expect("the refusal declares its length");
        assert_eq!(declared, body.len());
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains("\r\nconnection: close"));
    }
}
