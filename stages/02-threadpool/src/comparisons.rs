//! The two pools the hand-built one is measured against: `--pool rayon`, the pool most Rust
//! programmers would reach for, and `--pool per-connection`, a new thread for each connection.
//!
//! They are comparisons, not the model: they run the same accept loop (`server::accept_loop`)
//! and stage 01's connection driver ([`conn`](crate::conn)), and differ from the hand-built
//! pool in which thread runs a connection, and in having no lobby: a connection holds its
//! thread from `accept` to its close, idle and slow clients included. Neither has a bounded queue of its own, so both hold
//! the acceptor back with a counting semaphore of `--max-connections` slots (`Slots`): a full
//! house makes the acceptor wait here too, and the kernel's backlog takes over. And both run
//! their jobs in a *scope* (`rayon::ThreadPool::in_place_scope`, `std::thread::scope`), which
//! does not return before every job spawned in it has finished: that wait is their graceful
//! shutdown, and it lets a job borrow the `App` instead of cloning an `Arc`.

use std::net::TcpListener;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use app::{App, AppInfo};
use protocol::Limits;
use stage01_blocking::shutdown::Shutdown;
use tracing::warn;

use crate::conn::serve_catching_panics;
use crate::server::accept_loop;

/// What `/api/info` says about the stage with `--pool rayon`.
pub const RAYON_INFO: AppInfo = AppInfo {
    stage: crate::INFO.stage,
    model: "thread pool (rayon), one connection per job",
};

/// What `/api/info` says about the stage with `--pool per-connection`.
pub const PER_CONNECTION_INFO: AppInfo = AppInfo {
    stage: crate::INFO.stage,
    model: "one thread per connection",
};

// ANCHOR: serve_rayon
/// `--pool rayon`: each connection is a job spawned on a rayon pool.
pub fn serve_rayon(
    listener: &TcpListener,
    pool: &rayon::ThreadPool,
    app: &App,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    let slots = Slots::new(limits.max_connections);
    // A scope can borrow (no Arc, no clones) because it does not return before every job
    // spawned in it has finished: that wait is the graceful shutdown here.
    pool.in_place_scope(|scope| {
        accept_loop(listener, shutdown, |stream| {
            let slot = slots.acquire();
            scope.spawn(move |_| {
                let _slot = slot;
                // A scope re-raises a job's panic at its end, which would turn a graceful
                // stop into a crash. (Outside a scope, `rayon::spawn` would abort the whole
                // process: rayon's default panic handler.)
                serve_catching_panics(stream, app, limits, shutdown);
            });
        });
    });
}
// ANCHOR_END: serve_rayon

// ANCHOR: serve_per_connection
/// `--pool per-connection`: a new thread for each connection.
pub fn serve_per_connection(
    listener: &TcpListener,
    app: &App,
    limits: &Limits,
    shutdown: &Shutdown,
) {
    let slots = Slots::new(limits.max_connections);
    // A scope again: every connection thread is joined before the scope returns.
    thread::scope(|scope| {
        accept_loop(listener, shutdown, |stream| {
            let slot = slots.acquire();
            let spawned = thread::Builder::new()
                .name("connection".into())
                .spawn_scoped(scope, move || {
                    let _slot = slot;
                    // A scope re-raises a thread's panic once all threads are joined, which
                    // would turn a graceful stop into a crash.
                    serve_catching_panics(stream, app, limits, shutdown);
                });
            if let Err(error) = spawned {
                // Out of threads or memory: this is where this model breaks. The closure, and
                // with it the connection and its slot, is dropped.
                warn!(%error, "cannot start a thread; the connection is closed unanswered");
            }
        });
    });
}
// ANCHOR_END: serve_per_connection

// ANCHOR: slots
/// A counting semaphore: at most `max` connections held at once. The acceptor takes a
/// [`Slot`] for each connection and waits while none is free; the slot is given back when the
/// thread serving the connection drops it.
struct Slots {
    held: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// One connection's place in [`Slots`], given back on drop.
struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            held: Mutex::new(0),
            freed: Condvar::new(),
            max,
        }
    }

    /// Waits until fewer than `max` slots are held, then takes one.
    fn acquire(&self) -> Slot<'_> {
        let mut held = self.lock();
        while *held >= self.max {
            // Waiting releases the lock; spurious wake-ups are why this is a loop.
            held = self
                .freed
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *held += 1;
        Slot { slots: self }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The lock guards one counter, updated by single statements that cannot panic, so a
        // poisoned lock still holds a correct count and is taken over.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.slots.lock() -= 1;
        self.slots.freed.notify_one();
    }
}
// ANCHOR_END: slots

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn slots_make_the_next_acquire_wait_until_one_is_freed() {
        let slots = Slots::new(1);
        let first = slots.acquire();
        thread::scope(|scope| {
            let (acquired, second_acquired) = mpsc::channel();
            let slots = &slots;
            scope.spawn(move || {
                let _second = slots.acquire();
                let _ = acquired.send(());
            });
            assert_eq!(
                second_acquired.recv_timeout(Duration::from_millis(300)),
                Err(mpsc::RecvTimeoutError::Timeout),
                "a second slot was handed out while the only one was held"
            );
            drop(first);
            second_acquired
                .recv_timeout(Duration::from_secs(10))
                .expect("the second acquire returned once the first slot was freed");
        });
        assert_eq!(*slots.lock(), 0, "every slot was given back");
    }
}
