//! Draining: the first step of a stop when a load balancer sends the clients.
//!
//! A balancer learns that a server is going away from its health check, and only at its next
//! check: until then it keeps sending new clients, and a server that shut its door at once
//! would see them refused. So a stop can begin with a delay (`--drain-delay`): the server goes
//! on serving everything as before, except that `GET /healthz` answers `503 draining`; the
//! balancer takes it out of rotation at its next check; and when the delay is over the server
//! stops as it would have (door shut, queue drained, last requests answered with
//! `Connection: close`). The delay should be longer than the balancer's check interval times
//! the number of failed checks it needs (HAProxy's `inter` and `fall`). The default, zero, stops at
//! once; `/healthz` then still says `draining` to a kept-alive connection during the stop.
//!
//! The flag is a counter of [`Stats`], so it lives where they do: in stage 03 the master sets
//! it, and every worker forked from it sees it in the same shared page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

use crate::{App, Stats};

/// How often a waiting signal thread looks for a second signal during the delay.
const CHECK_EVERY: Duration = Duration::from_millis(50);

// ANCHOR: drain
/// What a stopping server does before it stops accepting: `/healthz` says `draining`, for
/// `delay`.
#[derive(Clone, Debug)]
pub struct Drain {
    stats: Arc<Stats>,
    delay: Duration,
}

impl Drain {
    /// The drain of `app`'s server, lasting `delay` (`--drain-delay`).
    pub fn new(app: &App, delay: Duration) -> Drain {
        Drain {
            stats: Arc::clone(app.stats()),
            delay,
        }
    }

    /// How long the server goes on serving, `/healthz` at 503, before it stops accepting.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// From now on `/healthz` answers `503 draining`.
    pub fn begin(&self) {
        self.stats.begin_draining();
        if !self.delay.is_zero() {
            info!(delay = ?self.delay, "draining: /healthz answers 503 until the stop");
        }
    }

    /// [`begin`](Self::begin), then blocks this thread for the delay, or until `cut_short`
    /// returns true (a second signal: stop now). For the signal threads of the blocking and
    /// evented stages; the async stages sleep on the runtime instead.
    pub fn begin_and_wait(&self, mut cut_short: impl FnMut() -> bool) {
        self.begin();
        let until = Instant::now() + self.delay;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            if cut_short() {
                info!("second signal: the drain is cut short");
                return;
            }
            std::thread::sleep(left.min(CHECK_EVERY));
        }
    }
}
// ANCHOR_END: drain

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{default_site_root, AppInfo};
    use protocol::{Method, Request};

    fn demo_app() -> App {
        let info = AppInfo {
            stage: "stage00-test",
            model: "unit tests",
        };
        App::new(&default_site_root(), info, Instant::now()).expect("the bundled site exists")
    }

    #[test]
    fn healthz_answers_503_once_draining_began() {
        let app = demo_app();
        let healthz = |app: &App| {
            let response = app.handle(&Request::new(Method::Get, "/healthz"));
            response.status.as_u16()
        };
        assert_eq!(healthz(&app), 200);
        let drain = Drain::new(&app, Duration::ZERO);
        drain.begin_and_wait(|| false);
        assert_eq!(healthz(&app), 503);
    }

    #[test]
    fn a_second_signal_cuts_the_delay_short() {
        let app = demo_app();
        let drain = Drain::new(&app, Duration::from_secs(60));
        let started = Instant::now();
        let mut asked = 0;
        drain.begin_and_wait(|| {
            asked += 1;
            asked == 3
        });
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(app.stats().is_draining());
    }
}
