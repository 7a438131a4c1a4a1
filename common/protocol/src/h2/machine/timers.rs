//! The HTTP/2 machine's deadlines: the preface and header timeouts, the SETTINGS
//! acknowledgement (RFC 9113 section 6.5.3), idle connections, stalled request bodies, and
//! clients that do not read what they asked for.

use std::sync::Arc;
use std::time::Instant;

use super::{Inbound, Lifecycle, Machine, Reading, SETTINGS_TIMEOUT};
use crate::h2::error::{Error, Reason};
use crate::h2::frame::GoAway;
use crate::http1::RequestError;

impl Machine {
    // ANCHOR: poll_timeout
    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limits = &self.limits;
        match self.lifecycle {
            Lifecycle::Closed => return None,
            Lifecycle::Lingering { until } => return Some(until),
            Lifecycle::Closing => return Some(self.last_write + limits.idle_timeout),
            Lifecycle::Open => {}
        }
        let mut deadlines: Vec<Instant> = Vec::with_capacity(4);
        match self.reading {
            Reading::Preface { started: None, .. } => {
                deadlines.push(self.last_read + limits.idle_timeout)
            }
            Reading::Preface {
                started: Some(started),
                ..
            }
            | Reading::FirstSettings { started } => deadlines.push(started + limits.header_timeout),
            Reading::Frames | Reading::Stopped => {}
        }
        if let Some(block) = &self.block {
            deadlines.push(block.started + limits.header_timeout);
        }
        if self.unacknowledged > 0 {
            deadlines.push(self.settings_sent + SETTINGS_TIMEOUT);
        }
        if let Some(deadline) = self.slow_read_deadline() {
            deadlines.push(deadline);
        } else if self.streams.is_empty() && self.pending.is_empty() {
            deadlines.push(self.last_read.max(self.last_write) + limits.idle_timeout);
        }
        for stream in self.streams.values() {
            if let Inbound::Receiving { last_progress, .. } = &stream.inbound {
                deadlines.push(*last_progress + limits.header_timeout);
            }
        }
        deadlines.into_iter().min()
    }
    // ANCHOR_END: poll_timeout

    /// Acts on timeouts that have expired by `now`; go back to step 1 of the driver loop
    /// after it (a stream whose body stalled is refused with 408 through `poll_event`).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        let limits = Arc::clone(&self.limits);
        match self.lifecycle {
            Lifecycle::Closed => return,
            Lifecycle::Lingering { until } => {
                if now >= until {
                    self.lifecycle = Lifecycle::Closed;
                }
                return;
            }
            Lifecycle::Closing => {
                if now >= self.last_write + limits.idle_timeout {
                    self.lifecycle = Lifecycle::Closed;
                }
                return;
            }
            Lifecycle::Open => {}
        }
        match self.reading {
            Reading::Preface { started, .. } => {
                let deadline = match started {
                    None => self.last_read + limits.idle_timeout,
                    Some(started) => started + limits.header_timeout,
                };
                if now >= deadline {
                    // Not HTTP/2 yet: nobody to send a GOAWAY to.
                    self.reading = Reading::Stopped;
                    self.lifecycle = Lifecycle::Closed;
                }
                return;
            }
            Reading::FirstSettings { started } if now >= started + limits.header_timeout => {
                return self.fail(Error::connection(
                    Reason::SETTINGS_TIMEOUT,
                    "the client's preface was not followed by SETTINGS in time",
                ));
            }
            _ => {}
        }
        if self
            .block
            .as_ref()
            .is_some_and(|block| now >= block.started + limits.header_timeout)
        {
            // A field block half-sent and then silence: every other stream is stuck behind it
            // (nothing may come between its frames), so this is the connection's slowloris.
            return self.fail(Error::connection(
                Reason::ENHANCE_YOUR_CALM,
                "a field block was not completed within the header timeout",
            ));
        }
        if self.unacknowledged > 0 && now >= self.settings_sent + SETTINGS_TIMEOUT {
            // "it MAY issue a connection error (Section 5.4.1) of type SETTINGS_TIMEOUT"
            // (section 6.5.3)
            return self.fail(Error::connection(
                Reason::SETTINGS_TIMEOUT,
                "the client did not acknowledge our SETTINGS",
            ));
        }
        if self
            .slow_read_deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            // The client neither reads nor opens its window: there is no graceful way left.
            self.lifecycle = Lifecycle::Closed;
            return;
        }
        if self.streams.is_empty()
            && self.pending.is_empty()
            && self.output.is_empty()
            && now >= self.last_read.max(self.last_write) + limits.idle_timeout
        {
            self.going_away = true;
            GoAway::new(self.ids.last_client_stream(), Reason::NO_ERROR)
                .encode(self.output.frames());
            self.reading = Reading::Stopped;
            self.lifecycle = Lifecycle::Closing;
            return;
        }
        let stalled: Vec<u32> = self
            .streams
            .iter()
            .filter_map(|(&id, stream)| match &stream.inbound {
                Inbound::Receiving { last_progress, .. }
                    if now >= *last_progress + limits.header_timeout =>
                {
                    Some(id)
                }
                _ => None,
            })
            .collect();
        for id in stalled {
            self.refuse(id, RequestError::Timeout);
        }
    }

    // ANCHOR: slow_read
    /// When a client that does not take what it asked for is cut off, if output waits: the
    /// queue must make progress on the socket, and bodies waiting on the client's windows must
    /// see a DATA frame, within `Limits::idle_timeout`. A client may keep the connection busy
    /// with PINGs, but not hold a response hostage by never opening its window.
    fn slow_read_deadline(&self) -> Option<Instant> {
        let idle = self.limits.idle_timeout;
        let queue = (!self.output.is_empty()).then(|| self.last_write + idle);
        let bodies = self
            .has_unsent_data()
            .then(|| self.last_body_progress + idle);
        queue.into_iter().chain(bodies).min()
    }
    // ANCHOR_END: slow_read
}
