//! How a connection ends, the same for HTTP/1.1 and HTTP/2: the last bytes are written, the
//! writing side is closed (`Transmit::CloseWrite`, a FIN), and what the peer still sends is read
//! and thrown away until its EOF or [`LINGER_TIMEOUT`]. Closing the socket at once would make
//! the kernel answer unread bytes with a reset, which can destroy the last response (or
//! HTTP/2's GOAWAY) before the peer reads it (RFC 9112 section 9.6; Apache's "lingering
//! close").
//!
//! Both machines hold a [`Lifecycle`] and ask it the questions that do not depend on the
//! protocol; what an open connection does at its peer's EOF is each machine's own.

use std::time::{Duration, Instant};

use crate::connection::Transmit;

/// How long a closing connection keeps reading (and throwing away) what the peer still sends
/// after the server's last bytes.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a connection is on its way to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Serving.
    Open,
    /// The last bytes are queued; once they are written, half-close.
    Closing,
    /// Written side closed; reading and discarding until EOF or the deadline.
    Lingering { until: Instant },
    /// Done: the driver drops the socket.
    Closed,
}

impl Lifecycle {
    /// The peer sent EOF. A lingering connection has what it waited for; an open one is the
    /// caller's to wind down, so this says whether it was open.
    pub(crate) fn peer_closed(&mut self) -> bool {
        match *self {
            Lifecycle::Lingering { .. } => {
                *self = Lifecycle::Closed;
                false
            }
            Lifecycle::Closing | Lifecycle::Closed => false,
            Lifecycle::Open => true,
        }
    }

    /// What to transmit once every queued byte is written: while closing, the half-close, or
    /// nothing more at all if the peer has closed already (there is nobody to linger for).
    pub(crate) fn after_output(&mut self, saw_eof: bool) -> Option<Transmit<'static>> {
        if *self != Lifecycle::Closing {
            return None;
        }
        if saw_eof {
            *self = Lifecycle::Closed;
            return None;
        }
        Some(Transmit::CloseWrite)
    }

    /// The driver closed the writing side after `Transmit::CloseWrite`: linger, unless the
    /// peer's EOF came already.
    pub(crate) fn write_closed(&mut self, saw_eof: bool, now: Instant) {
        if *self == Lifecycle::Closing {
            *self = if saw_eof {
                Lifecycle::Closed
            } else {
                Lifecycle::Lingering {
                    until: now + LINGER_TIMEOUT,
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_connection_half_closes_then_lingers_until_eof() {
        let now = Instant::now();
        let mut lifecycle = Lifecycle::Closing;
        assert!(matches!(
            lifecycle.after_output(false),
            Some(Transmit::CloseWrite)
        ));
        lifecycle.write_closed(false, now);
        assert_eq!(
            lifecycle,
            Lifecycle::Lingering {
                until: now + LINGER_TIMEOUT
            }
        );
        assert!(!lifecycle.peer_closed());
        assert_eq!(lifecycle, Lifecycle::Closed);
    }

    #[test]
    fn after_the_peer_closed_there_is_nobody_to_linger_for() {
        let mut lifecycle = Lifecycle::Closing;
        assert!(lifecycle.after_output(true).is_none());
        assert_eq!(lifecycle, Lifecycle::Closed);
        let mut lifecycle = Lifecycle::Closing;
        lifecycle.write_closed(true, Instant::now());
        assert_eq!(lifecycle, Lifecycle::Closed);
    }

    #[test]
    fn an_open_connection_is_left_to_its_machine() {
        let mut lifecycle = Lifecycle::Open;
        assert!(lifecycle.peer_closed());
        assert_eq!(lifecycle, Lifecycle::Open);
        assert!(lifecycle.after_output(false).is_none());
        lifecycle.write_closed(false, Instant::now());
        assert_eq!(lifecycle, Lifecycle::Open);
    }
}
