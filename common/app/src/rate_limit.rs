//! A per-client request rate limit (`--rate-limit N`): a token bucket per client address, and
//! `429 Too Many Requests` with `Retry-After` past it (RFC 6585 section 4, RFC 9110 section
//! 10.2.3).
//!
//! Each client has a bucket that holds at most `N` tokens and refills at `N` tokens a second; a
//! request takes one. A client may so send a burst of `N` requests at once and then `N` a
//! second, for as long as it likes; past that it is answered `429` at once, without the request
//! reaching a handler, with the seconds until its next token in `Retry-After`.
//!
//! "A client" is an IPv4 address, or an IPv6 `/64`: one IPv6 host is usually given a whole `/64`
//! and can pick a new address in it for every request, so counting single IPv6 addresses would
//! limit nobody. Behind a proxy every client has the proxy's address; a limit per client then
//! needs the proxy's word for who the client is (`Forwarded`), which this server does not
//! trust from anyone.
//!
//! The buckets are in the process's memory: in stage 03 each worker has its own map, so a client
//! whose connections land on several workers gets up to that many times its rate (the shared
//! counters of `stats` are plain atomics in a shared page; a map with a lock is not, and is
//! left per process).
//!
//! The buckets are in one map under a mutex, held for a lookup and a few arithmetic operations.
//! The map is bounded: past [`MAX_CLIENTS`] the buckets that are full again (their client has
//! been quiet long enough to have its whole burst back) are dropped, since a full bucket and no
//! bucket mean the same; if every bucket is in use, a new client is let through untracked
//! rather than refused (an attack from that many addresses at once is the business of the
//! network in front, not of a limiter in the server).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use protocol::{Request, Response, StatusCode};

use crate::middleware::{Middleware, Next};
use crate::stats::{Refusal, Stats};

/// The most clients tracked at once.
pub const MAX_CLIENTS: usize = 100_000;

// ANCHOR: bucket
/// One client's tokens, brought up to date lazily: refilled for the time since `updated` when
/// the client next asks, not by a timer.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// Refills for the time since the last request (at most to `capacity`), then takes a token
    /// if there is one; otherwise says how long until there is.
    fn take(&mut self, now: Instant, capacity: f64, per_second: f64) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
        }
    }

    /// Whether the bucket is full again at `now`: as good as no bucket.
    fn is_full(&self, now: Instant, capacity: f64, per_second: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * per_second >= capacity
    }
}
// ANCHOR_END: bucket

/// The limiter: a bucket per client, `rate` requests a second with bursts of as many.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    max_clients: usize,
}

/// What the limiter says about one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: the next token is this far away.
    Limited {
        retry_after: Duration,
    },
    /// Not counted: every bucket is in use ([`MAX_CLIENTS`]).
    Untracked,
}

impl RateLimiter {
    /// `rate` requests a second per client, in bursts of up to `rate`.
    pub fn new(rate: NonZeroU32) -> RateLimiter {
        RateLimiter::with_max_clients(rate, MAX_CLIENTS)
    }

    fn with_max_clients(rate: NonZeroU32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(rate.get()),
            buckets: Mutex::new(HashMap::new()),
            max_clients,
        }
    }

    // ANCHOR: check
    /// Counts a request of `client` at `now`.
    pub fn check(&self, client: IpAddr, now: Instant) -> Verdict {
        let (capacity, per_second) = (self.per_second, self.per_second);
        // A panic while the lock was held cannot leave a bucket half-updated in a way that
        // matters: the worst is one token too many or too few.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let key = client_key(client);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            buckets.retain(|_, bucket| !bucket.is_full(now, capacity, per_second));
            if buckets.len() >= self.max_clients {
                return Verdict::Untracked;
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        match bucket.take(now, capacity, per_second) {
            Ok(()) => Verdict::Allowed,
            Err(retry_after) => Verdict::Limited { retry_after },
        }
    }
    // ANCHOR_END: check
}

/// The address a client is counted by: an IPv4 address (an IPv4 client of a dual-stack
/// listener included), or the `/64` of an IPv6 one. `--max-connections-per-client` counts by
/// it too (`Stats::connection_opened_from`).
pub(crate) fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
    }
}

/// The middleware: `429` past the limit, counted in `/metrics` (`reason="rate_limit"`).
#[derive(Debug)]
pub struct RateLimit {
    limiter: RateLimiter,
    stats: Arc<Stats>,
}

impl RateLimit {
    pub fn new(rate: NonZeroU32, stats: Arc<Stats>) -> RateLimit {
        RateLimit {
            limiter: RateLimiter::new(rate),
            stats,
        }
    }
}

// ANCHOR: middleware
impl Middleware for RateLimit {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        // A request without a peer address comes from a test or an in-memory driver.
        let Some(peer) = request.peer else {
            return next.run(request);
        };
        match self.limiter.check(peer.ip(), Instant::now()) {
            Verdict::Allowed => next.run(request),
            Verdict::Untracked => next.run(request),
            Verdict::Limited { retry_after } => {
                self.stats.count_refusal(Refusal::RateLimited);
                // Whole seconds, rounded up: a client that waits that long has its token.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let mut response = Response::text(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many requests from this address: try again in {seconds} s"),
                );
                response
                    .headers
                    .set("retry-after", seconds.max(1).to_string());
                response
            }
        }
    }
}
// ANCHOR_END: middleware

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("not zero")
    }

    #[test]
    fn a_burst_of_the_rate_then_one_per_token() {
        let limiter = RateLimiter::new(rate(3));
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(client, start), Verdict::Allowed);
        }
        let Verdict::Limited { retry_after } = limiter.check(client, start) else {
            panic!("the fourth request at once is over the limit");
        };
        assert!(
            (retry_after.as_secs_f64() - 1.0 / 3.0).abs() < 1e-6,
            "{retry_after:?}"
        );
        // A third of a second later, one token is back, and only one.
        let later = start + Duration::from_millis(334);
        assert_eq!(limiter.check(client, later), Verdict::Allowed);
        assert!(matches!(
            limiter.check(client, later),
            Verdict::Limited { .. }
        ));
        // Another client has its own bucket.
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(limiter.check(other, later), Verdict::Allowed);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_mapped_ipv4_is_ipv4() {
        let limiter = RateLimiter::new(rate(1));
        let now = Instant::now();
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limiter.check(first, now), Verdict::Allowed);
        assert!(matches!(
            limiter.check(same_64, now),
            Verdict::Limited { .. }
        ));
        assert_eq!(limiter.check(other_64, now), Verdict::Allowed);
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert_eq!(limiter.check(v4, now), Verdict::Allowed);
        assert!(matches!(
            limiter.check(mapped, now),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn the_map_is_bounded_and_forgets_full_buckets_first() {
        let limiter = RateLimiter::with_max_clients(rate(10), 2);
        let now = Instant::now();
        let [a, b, c]: [IpAddr; 3] =
            ["192.0.2.1", "192.0.2.2", "192.0.2.3"].map(|ip| ip.parse().unwrap());
        assert_eq!(limiter.check(a, now), Verdict::Allowed);
        assert_eq!(limiter.check(b, now), Verdict::Allowed);
        // Both buckets are in use: a third client is let through, uncounted.
        assert_eq!(limiter.check(c, now), Verdict::Untracked);
        // A second later both are full again and forgotten: c gets a bucket.
        let later = now + Duration::from_secs(1);
        assert_eq!(limiter.check(c, later), Verdict::Allowed);
    }
}
