//! Threads and listening sockets: everything set up once, before the loops start.
//!
//! One loop per core, and each loop gets a listening socket of its own on the same port
//! (`SO_REUSEPORT`): the kernel spreads incoming connections over the sockets by a hash of the
//! addresses, so loops never contend for one accept queue, and a connection stays on the loop
//! that accepted it for its whole life (no locks around connection state).
//!
//! The alternative, one listening socket in every loop's epoll set, wakes every loop for each
//! new connection (the thundering herd: one wins the `accept`, the others wake for nothing)
//! unless epoll's `EPOLLEXCLUSIVE` is used, which mio does not expose. The price of
//! `SO_REUSEPORT`: a second server started by mistake on the same port, as the same user, is
//! not refused but silently shares the traffic; and connections queued on a loop's socket are
//! reset when that loop stops.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread;

use app::App;
use driver::activation;
use driver::listener::{self, BindError, ListenOptions};
use protocol::Limits;
use tracing::{error, info};

use crate::event_loop::EventLoop;
use crate::pool::Pool;
use crate::shutdown::Shutdown;

/// How the server runs, beyond the shared limits.
#[derive(Clone, Debug)]
pub struct Config {
    pub limits: Limits,
    /// Event loops, each on its own thread with its own listening socket.
    pub threads: usize,
    /// Threads for handlers that may block.
    pub blocking_threads: usize,
}

// ANCHOR: bind
/// Binds `count` listening sockets on `addr`, all sharing its port through `SO_REUSEPORT`:
/// non-blocking, each with an accept queue deep enough for a burst of thousands of connections
/// (`ListenOptions::EVENTED`). With port 0 the first socket picks the port and the others join it.
pub fn bind(addr: SocketAddr, count: usize) -> Result<Vec<TcpListener>, BindError> {
    let options = ListenOptions::EVENTED.reuse_port(count > 1);
    if let Some(passed) = activation::activated_listener(options).map_err(BindError::Activation)? {
        info!(
            loops = count,
            "socket activation: every loop accepts on the socket the service manager passed"
        );
        return share_among_loops(passed, count, addr);
    }
    let first = listener::bind(addr, options)?;
    // With port 0, the port the kernel picked: the others must join that one.
    let chosen = first.local_addr().map_err(|source| BindError::Failed {
        addr,
        step: "read the bound address",
        source,
    })?;
    let mut listeners = vec![first];
    for _ in 1..count {
        listeners.push(listener::bind(chosen, options)?);
    }
    Ok(listeners)
}
// ANCHOR_END: bind

/// One socket for `count` loops, as stage 03's workers share one: each loop gets a descriptor of
/// its own for it (`dup`), registered with its own epoll, and whichever loop accepts first takes
/// the connection (the others find `WouldBlock`).
fn share_among_loops(
    passed: TcpListener,
    count: usize,
    addr: SocketAddr,
) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners = Vec::with_capacity(count);
    for _ in 1..count {
        let copy = passed.try_clone().map_err(|source| BindError::Failed {
            addr,
            step: "duplicate the passed socket",
            source,
        })?;
        listeners.push(copy);
    }
    listeners.push(passed);
    Ok(listeners)
}

// ANCHOR: serve
/// Runs one event loop per listener, each on its own thread, until `shutdown` is requested and
/// every loop has finished its connections.
pub fn serve(
    listeners: Vec<TcpListener>,
    app: Arc<App>,
    config: &Config,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let pool = Arc::new(Pool::new(config.blocking_threads, Arc::clone(&app))?);
    let open = Arc::new(AtomicUsize::new(0));
    // One copy of the limits, shared by every loop and every connection.
    let limits = Arc::new(config.limits.clone());
    let mut loops = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let event_loop = EventLoop::new(
            index,
            listener,
            Arc::clone(&app),
            Arc::clone(&limits),
            Arc::clone(&pool),
            Arc::clone(&open),
        )?;
        // Before the thread starts: a signal that arrives from now on wakes this loop.
        shutdown.add_waker(event_loop.waker());
        loops.push(event_loop);
    }
    info!(
        loops = loops.len(),
        blocking_threads = config.blocking_threads,
        max_connections = config.limits.max_connections,
        "serving"
    );
    thread::scope(|scope| {
        let handles: Vec<_> = loops
            .into_iter()
            .enumerate()
            .map(|(index, event_loop)| {
                thread::Builder::new()
                    .name(format!("loop-{index}"))
                    .spawn_scoped(scope, move || {
                        // A loop that fails (or panics) stops the others too: half a server
                        // that looks healthy is worse than a clear exit.
                        let result = catch_unwind(AssertUnwindSafe(|| event_loop.run(shutdown)))
                            .unwrap_or_else(|_| Err(io::Error::other("an event loop panicked")));
                        if result.is_err() {
                            shutdown.request();
                        }
                        result
                    })
            })
            .collect::<io::Result<_>>()?;
        let mut result = Ok(());
        for handle in handles {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(loop_error)) => {
                    error!(%loop_error, "an event loop failed");
                    result = Err(loop_error);
                }
                Err(_panic) => result = Err(io::Error::other("an event loop thread panicked")),
            }
        }
        result
    })
}
// ANCHOR_END: serve
