//! The counters every stage's application keeps: what `/api/info` and `/metrics` report.
//!
//! Atomics with `Relaxed` ordering: the counters order nothing else in memory. Each increment
//! is still atomic, so none is lost; a reader just sees a value that may be a moment old.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use protocol::StatusCode;

/// Counters shared by every thread, process-local (stage 03's workers each count their own).
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    requests_served: AtomicU64,
    /// Responses by status class: index 0 counts 1xx, ..., index 4 counts 5xx.
    responses_by_class: [AtomicU64; 5],
}

impl Stats {
    /// Counters at zero, with uptime counted from `started`.
    pub fn new(started: Instant) -> Stats {
        Stats {
            started,
            requests_served: AtomicU64::new(0),
            responses_by_class: Default::default(),
        }
    }

    /// A request has reached the application.
    pub fn request_started(&self) {
        self.requests_served.fetch_add(1, Ordering::Relaxed);
    }

    /// A response with `status` leaves the application.
    pub fn response_sent(&self, status: StatusCode) {
        if let Some(counter) = (status.as_u16() / 100)
            .checked_sub(1)
            .and_then(|class| self.responses_by_class.get(usize::from(class)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests handled since the start, including any in progress.
    pub fn requests_served(&self) -> u64 {
        self.requests_served.load(Ordering::Relaxed)
    }

    /// Time since the stage started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Responses sent so far by status class, as (1, count) ... (5, count).
    pub fn responses_by_class(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (1u8..).zip(
            self.responses_by_class
                .iter()
                .map(|counter| counter.load(Ordering::Relaxed)),
        )
    }
}
