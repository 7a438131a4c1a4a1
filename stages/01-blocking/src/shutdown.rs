//! Graceful shutdown on SIGINT and SIGTERM.
//!
//! A signal handler may do almost nothing safely, so the handling happens on an ordinary thread
//! that signal-hook wakes up: it sets a flag, then connects to our own listening socket, because
//! a thread blocked in `accept` only wakes up when a connection arrives. A second signal ends the
//! process at once, for the impatient.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::Drain;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::info;

/// A flag that says the server should stop, set from the signal thread.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
}

impl Shutdown {
    /// A flag that is not set.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        // Relaxed: the flag guards no other data; it only has to become visible eventually.
        self.requested.load(Ordering::Relaxed)
    }

    /// Sets the flag.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Relaxed);
    }

    /// The flag itself, for a signal handler that sets it directly
    /// (`signal_hook::flag::register`). Stage 03 needs it: its worker processes share one
    /// listener, so the wake-up connection of [`on_signals`](Self::on_signals) could reach the
    /// wrong process, and they wake their accept wait another way.
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.requested
    }

    // ANCHOR: on_signals
    /// Starts the thread that turns SIGINT and SIGTERM into a stop of the server listening on
    /// `listening`, after `drain`'s delay (`--drain-delay`, `/healthz` at 503 meanwhile).
    pub fn on_signals(&self, listening: SocketAddr, drain: Drain) -> std::io::Result<()> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let shutdown = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let Some(signal) = signals.forever().next() else {
                    return;
                };
                info!(signal, "stopping");
                // Serving goes on meanwhile; a second signal ends the wait.
                drain.begin_and_wait(|| signals.pending().next().is_some());
                info!("stopping: finishing the current connection's requests");
                shutdown.request();
                // Wake the accept loop. Failing is harmless: it means the loop is not waiting.
                let _ =
                    TcpStream::connect_timeout(&wake_address(listening), Duration::from_secs(1));
                if signals.forever().next().is_some() {
                    info!("second signal: exiting now");
                    std::process::exit(130);
                }
            })?;
        Ok(())
    }
    // ANCHOR_END: on_signals
}

/// The address to connect to in order to reach our own listener: a wildcard address
/// (`0.0.0.0`, `::`) cannot be connected to, so use loopback of the same family.
fn wake_address(listening: SocketAddr) -> SocketAddr {
    let mut address = listening;
    if address.ip().is_unspecified() {
        match address {
            SocketAddr::V4(_) => address.set_ip(std::net::Ipv4Addr::LOCALHOST.into()),
            SocketAddr::V6(_) => address.set_ip(std::net::Ipv6Addr::LOCALHOST.into()),
        }
    }
    address
}
