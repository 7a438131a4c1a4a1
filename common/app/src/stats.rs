//! The counters every stage's application keeps: what `/api/info`, `/metrics` and
//! `/server-status` report.
//!
//! What is counted, and where:
//!
//! - requests served, requests in flight, responses by status class, the application's latency
//!   (a [`Histogram`]) and body octets, by [`App::handle`](crate::App::handle) through
//!   [`Stats::request_started`] and [`InFlight::finish`];
//! - open connections, by each stage's per-connection code through
//!   [`Stats::connection_opened`]: the application never sees a connection, the stages do.
//!
//! # Atomics, `Relaxed`, no locks
//!
//! Every thread of a stage counts into the same memory at once. A `Mutex` would make each
//! request wait for every other request's bookkeeping; an atomic add is one instruction
//! (`lock xadd` on x86-64), and a reader never stops a writer. `Relaxed` ordering: the counters
//! order nothing else in memory. Each increment is still atomic, so none is lost; a reader just
//! sees values that may be a moment old, and two counters read one after the other may disagree
//! by the requests that ran in between (a snapshot is not a transaction).
//!
//! # One region for the whole server, even across `fork`
//!
//! The counters live in one anonymous shared mapping (`mmap` with `MAP_SHARED |
//! MAP_ANONYMOUS`, one page), not on the heap. For a stage of threads that changes nothing: it is
//! memory like any other. For stage 03, whose master builds the `App` and then forks its workers,
//! it is the difference between each worker counting into its own copy-on-write copy of the
//! heap and every worker counting into the same physical page: a shared mapping stays shared
//! across `fork`, so `/server-status` and `/metrics` from any worker show the whole server
//! ([`Scope::Server`]). Atomics work across processes here because lock-free atomic
//! instructions act on the physical memory the address maps to, whichever process issues them.
//!
//! If the mapping cannot be made (the system refuses `mmap`), the counters go on the heap and
//! say so: [`Scope::Process`], because then a forked worker counts only what it served.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use protocol::{Method, RequestError, Response, StatusCode, Version};

/// Counters shared by every thread (and, through the shared mapping, by every process forked
/// after the application was built).
pub struct Stats {
    started: Instant,
    counters: Region,
    /// Connections open per client, for `--max-connections-per-client`: this process's own
    /// (a map does not fit the shared mapping), and only clients with a connection open.
    clients: Mutex<HashMap<IpAddr, u32>>,
}

/// The protocols [`Stats::requests_by_protocol`] counts, in its order.
pub const PROTOCOLS: [Version; 3] = [Version::Http10, Version::Http11, Version::Http2];

// ANCHOR: refusal
/// Why a request or a connection was refused before the application saw it: what `/metrics`
/// reports as `stagecraft_refusals_total{reason=...}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Past `--max-connections`: the `503` of `driver::refusal`.
    MaxConnections,
    /// A request too slow to arrive: `408`.
    Timeout,
    /// A request line, head, trailer section or body over its limit: `413`, `414`, `431`.
    TooLarge,
    /// Anything else the protocol machine refused: malformed or unsupported (`400`, `417`,
    /// `501`, `505`).
    Malformed,
    /// Past `--rate-limit`: the `429` of [`crate::rate_limit`].
    RateLimited,
    /// Past `--max-connections-per-client`: the `429` of `driver::refusal`, before a request.
    ClientConnections,
}

impl Refusal {
    /// Every reason, in the order of the counters.
    pub const ALL: [Refusal; 6] = [
        Refusal::MaxConnections,
        Refusal::Timeout,
        Refusal::TooLarge,
        Refusal::Malformed,
        Refusal::RateLimited,
        Refusal::ClientConnections,
    ];

    /// The reason of the protocol machine's refusal `error`, by the status it answers with.
    pub fn of(error: &RequestError) -> Refusal {
        match error.status() {
            StatusCode::REQUEST_TIMEOUT => Refusal::Timeout,
            StatusCode::CONTENT_TOO_LARGE
            | StatusCode::URI_TOO_LONG
            | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Refusal::TooLarge,
            _ => Refusal::Malformed,
        }
    }

    /// The label value in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::MaxConnections => "max_connections",
            Refusal::Timeout => "timeout",
            Refusal::TooLarge => "too_large",
            Refusal::Malformed => "malformed",
            Refusal::RateLimited => "rate_limit",
            Refusal::ClientConnections => "connections_per_client",
        }
    }

    fn index(self) -> usize {
        match self {
            Refusal::MaxConnections => 0,
            Refusal::Timeout => 1,
            Refusal::TooLarge => 2,
            Refusal::Malformed => 3,
            Refusal::RateLimited => 4,
            Refusal::ClientConnections => 5,
        }
    }
}
// ANCHOR_END: refusal

/// Whose requests the counters count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole server: every thread, and every process forked after the application was
    /// built (the counters are in a shared mapping).
    Server,
    /// This process only (the shared mapping could not be made, so a forked worker counts its
    /// own requests).
    Process,
}

impl Scope {
    /// `"server"` or `"process"`, as `/server-status` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Server => "server",
            Scope::Process => "process",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ANCHOR: counters
/// The counters themselves: only atomics, so that all-zero memory (what a fresh anonymous
/// mapping holds) is a valid, zeroed value, and so that any thread or process may add to them.
#[repr(C)]
#[derive(Default)]
struct Counters {
    requests_served: AtomicU64,
    requests_in_flight: AtomicU64,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    /// Responses by status class: index 0 counts 1xx, ..., index 4 counts 5xx.
    responses_by_class: [AtomicU64; 5],
    /// Octets of request bodies the application received.
    body_bytes_received: AtomicU64,
    /// Octets of response bodies the application sent (whose length was known).
    body_bytes_sent: AtomicU64,
    /// How long the application took to answer.
    latency: Histogram,
    /// Requests by protocol: HTTP/1.0, HTTP/1.1, HTTP/2 (the order of [`PROTOCOLS`]).
    requests_by_protocol: [AtomicU64; 3],
    /// Requests and connections refused before the application saw them, by [`Refusal`].
    refusals: [AtomicU64; Refusal::ALL.len()],
    /// 1 once the server is draining (stopping soon: `/healthz` answers 503), else 0. A
    /// counter-sized flag, so that stage 03's master sets it for every worker at once.
    draining: AtomicU64,
}
// ANCHOR_END: counters

/// Where the [`Counters`] are: a shared mapping, or the heap when the mapping failed.
enum Region {
    Shared(NonNull<Counters>),
    Heap(Box<Counters>),
}

// SAFETY: the pointer is to a mapping owned by this value (unmapped only in its `Drop`), which
// holds nothing but atomics: sharing and sending references to atomics between threads is what
// atomics are for.
unsafe impl Send for Region {}
// SAFETY: as for `Send`.
unsafe impl Sync for Region {}

/// The size of the shared mapping: the counters rounded up to whole 4 KiB pages (`mmap` maps
/// whole pages anyway).
const REGION_LEN: usize = std::mem::size_of::<Counters>().div_ceil(4096) * 4096;

impl Region {
    fn new() -> Region {
        // The counters fit in one page; a constant, so this cannot be zero.
        let Some(length) = NonZeroUsize::new(REGION_LEN) else {
            return Region::Heap(Box::default());
        };
        // SAFETY: a new anonymous mapping at an address the kernel picks aliases no existing
        // memory. Its pages are zero-filled, and all-zero bytes are a valid `Counters` (only
        // `AtomicU64`s, `repr(C)`). The mapping is page-aligned, more than `Counters` needs.
        match unsafe {
            mmap_anonymous(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        } {
            Ok(pointer) => Region::Shared(pointer.cast()),
            Err(errno) => {
                tracing::warn!(%errno, "no shared mapping for the counters: they count this process only");
                Region::Heap(Box::default())
            }
        }
    }
}

impl Deref for Region {
    type Target = Counters;

    fn deref(&self) -> &Counters {
        match self {
            // SAFETY: the mapping is valid, initialised (zeroed) and never unmapped while
            // `self` lives; only shared references to it are ever made.
            Region::Shared(pointer) => unsafe { pointer.as_ref() },
            Region::Heap(counters) => counters,
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if let Region::Shared(pointer) = self {
            // SAFETY: the mapping was made by `Region::new` with this length, and no reference
            // into it outlives `self`. Unmapping affects this process only: a forked worker's
            // mapping (or the master's) stays.
            if let Err(errno) = unsafe { munmap(pointer.cast(), REGION_LEN) } {
                tracing::warn!(%errno, "could not unmap the counters");
            }
        }
    }
}

impl Stats {
    /// Counters at zero, with uptime counted from `started`.
    pub fn new(started: Instant) -> Stats {
        Stats {
            started,
            counters: Region::new(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Whose requests these counters count: the whole server, or this process.
    pub fn scope(&self) -> Scope {
        match self.counters {
            Region::Shared(_) => Scope::Server,
            Region::Heap(_) => Scope::Process,
        }
    }

    // ANCHOR: request_started
    /// A request has reached the application: counts it, and returns the guard that counts it
    /// out of flight when dropped (so a handler that panics, or a caller that unwinds, cannot
    /// leave it counted in flight forever). [`InFlight::finish`] records its response.
    pub fn request_started(&self) -> InFlight<'_> {
        let counters = &*self.counters;
        counters.requests_served.fetch_add(1, Ordering::Relaxed);
        counters.requests_in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            stats: self,
            started: Instant::now(),
        }
    }
    // ANCHOR_END: request_started

    /// A connection has been accepted: counts it open until the guard is dropped. The guard
    /// holds the counters (an `Arc`), so a stage may keep it in its connection's state.
    pub fn connection_opened(self: &Arc<Stats>) -> ConnectionGuard {
        self.counters
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        self.counters
            .connections_total
            .fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            stats: Arc::clone(self),
            client: None,
        }
    }

    // ANCHOR: connection_opened_from
    /// A connection from `peer` has been accepted, and its client (an IPv4 address, or an IPv6
    /// `/64`) may hold at most `max` at once (`--max-connections-per-client`): counted open as
    /// [`connection_opened`](Self::connection_opened) does, or, when the client holds `max`
    /// already, `None`, counted as a refusal. The count is this process's (stage 03's workers
    /// count each their own).
    pub fn connection_opened_from(
        self: &Arc<Stats>,
        peer: IpAddr,
        max: u32,
    ) -> Option<ConnectionGuard> {
        let client = crate::rate_limit::client_key(peer);
        {
            // Poisoned only by a panic between these lines, which cannot happen: counts stay
            // consistent either way.
            let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
            let held = clients.entry(client).or_insert(0);
            if *held >= max {
                drop(clients);
                self.count_refusal(Refusal::ClientConnections);
                return None;
            }
            *held += 1;
        }
        let mut guard = self.connection_opened();
        guard.client = Some(client);
        Some(guard)
    }
    // ANCHOR_END: connection_opened_from

    /// Requests handled since the start, including any in progress.
    pub fn requests_served(&self) -> u64 {
        self.counters.requests_served.load(Ordering::Relaxed)
    }

    /// Requests the application is answering right now.
    pub fn requests_in_flight(&self) -> u64 {
        self.counters.requests_in_flight.load(Ordering::Relaxed)
    }

    /// Connections open right now.
    pub fn connections_open(&self) -> u64 {
        self.counters.connections_open.load(Ordering::Relaxed)
    }

    /// Counts a request by the protocol it came by.
    pub fn count_protocol(&self, version: Version) {
        let index = match version {
            Version::Http10 => 0,
            Version::Http11 => 1,
            Version::Http2 => 2,
        };
        self.counters.requests_by_protocol[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests by protocol since the start, in the order of [`PROTOCOLS`].
    pub fn requests_by_protocol(&self) -> impl Iterator<Item = (Version, u64)> + '_ {
        PROTOCOLS.into_iter().zip(
            self.counters
                .requests_by_protocol
                .iter()
                .map(|counter| counter.load(Ordering::Relaxed)),
        )
    }

    /// Counts a refusal.
    pub fn count_refusal(&self, reason: Refusal) {
        self.counters.refusals[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Refusals since the start, by reason.
    pub fn refusals(&self) -> impl Iterator<Item = (Refusal, u64)> + '_ {
        Refusal::ALL.into_iter().map(|reason| {
            (
                reason,
                self.counters.refusals[reason.index()].load(Ordering::Relaxed),
            )
        })
    }

    /// Marks the server as draining ([`crate::draining`]): from now on `/healthz` answers 503.
    /// Seen at once by every thread and, through the shared mapping, every forked worker.
    pub fn begin_draining(&self) {
        self.counters.draining.store(1, Ordering::Relaxed);
    }

    /// Whether [`begin_draining`](Self::begin_draining) was called.
    pub fn is_draining(&self) -> bool {
        self.counters.draining.load(Ordering::Relaxed) != 0
    }

    /// Connections accepted since the start.
    pub fn connections_total(&self) -> u64 {
        self.counters.connections_total.load(Ordering::Relaxed)
    }

    /// Octets of request bodies received since the start.
    pub fn body_bytes_received(&self) -> u64 {
        self.counters.body_bytes_received.load(Ordering::Relaxed)
    }

    /// Octets of response bodies sent since the start (bodies of known length only).
    pub fn body_bytes_sent(&self) -> u64 {
        self.counters.body_bytes_sent.load(Ordering::Relaxed)
    }

    /// The application's latency so far.
    pub fn latency(&self) -> &Histogram {
        &self.counters.latency
    }

    /// Time since the stage started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Responses sent so far by status class, as (1, count) ... (5, count).
    pub fn responses_by_class(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (1u8..).zip(
            self.counters
                .responses_by_class
                .iter()
                .map(|counter| counter.load(Ordering::Relaxed)),
        )
    }
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats")
            .field("scope", &self.scope())
            .field("requests_served", &self.requests_served())
            .field("requests_in_flight", &self.requests_in_flight())
            .field("connections_open", &self.connections_open())
            .finish_non_exhaustive()
    }
}

// ANCHOR: in_flight
/// A request in the application: counted in flight until this is dropped.
#[must_use = "dropping the guard at once counts the request out of flight at once"]
pub struct InFlight<'a> {
    stats: &'a Stats,
    started: Instant,
}

impl InFlight<'_> {
    /// The application has answered `request` with `response`: counts its status class, its
    /// latency and the body octets both ways. Bodies a client never gets are not counted as
    /// sent: HEAD's, and those of 1xx, 204 and 304 (RFC 9110 sections 9.3.2, 15.3.5, 15.4.5).
    pub fn finish(self, method: &Method, body_received: usize, response: &Response) {
        let counters = &*self.stats.counters;
        counters.latency.record(self.started.elapsed());
        let status = response.status.as_u16();
        if let Some(counter) = (status / 100)
            .checked_sub(1)
            .and_then(|class| counters.responses_by_class.get(usize::from(class)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        // usize to u64 is lossless on every target this builds for (64-bit atomics).
        counters
            .body_bytes_received
            .fetch_add(body_received as u64, Ordering::Relaxed);
        let has_body = *method != Method::Head
            && status >= 200
            && status != StatusCode::NO_CONTENT.as_u16()
            && status != StatusCode::NOT_MODIFIED.as_u16();
        if let (true, Some(len)) = (has_body, response.body.len()) {
            counters.body_bytes_sent.fetch_add(len, Ordering::Relaxed);
        }
        // `self` drops here: out of flight.
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats
            .counters
            .requests_in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}
// ANCHOR_END: in_flight

/// An open connection: counted open until this is dropped (see [`Stats::connection_opened`]).
#[must_use = "dropping the guard at once counts the connection closed at once"]
pub struct ConnectionGuard {
    stats: Arc<Stats>,
    /// The client it is counted for, with `--max-connections-per-client`.
    client: Option<IpAddr>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.stats
            .counters
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
        if let Some(client) = self.client {
            let mut clients = self
                .stats
                .clients
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // An entry per client with a connection open, no more: the table is bounded by
            // --max-connections.
            if let Some(held) = clients.get_mut(&client) {
                *held -= 1;
                if *held == 0 {
                    clients.remove(&client);
                }
            }
        }
    }
}

impl fmt::Debug for ConnectionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectionGuard")
    }
}

// ANCHOR: histogram_buckets
/// The smallest octave with buckets of its own: 2^10 ns, about 1 µs. Everything faster shares
/// bucket 0.
const MIN_OCTAVE: u32 = 10;
/// The largest octave with buckets: up to 2^34 ns, about 17 s. Anything slower is in the
/// overflow bucket, which only the maximum describes.
const MAX_OCTAVE: u32 = 33;
/// Each octave [2^k, 2^(k+1)) is cut into this many equal buckets, so a bucket's upper bound is
/// at most 1 + 1/4 times its lower bound: a value read from the buckets is at most 25% high.
const SUB_BUCKETS: u32 = 4;
/// Bucket 0 (up to 2^10 ns), four per octave, and the overflow bucket.
pub const BUCKETS: usize = (1 + (MAX_OCTAVE - MIN_OCTAVE + 1) * SUB_BUCKETS + 1) as usize;
// ANCHOR_END: histogram_buckets

// ANCHOR: histogram
/// A latency histogram with fixed log-scale buckets, lock-free: recording a duration is three
/// atomic adds and an atomic max, whatever the number of samples; percentiles are read from the
/// buckets' counts.
///
/// The buckets are in nanoseconds: bucket 0 holds 0 to 1024 ns, then each octave
/// (2^k, 2^(k+1)] ns, k from 10 to 33, is cut into four equal buckets, and the last bucket
/// holds anything above 2^34 ns (about 17 s). Bucket bounds are inclusive above, as
/// Prometheus's `le` ("less than or equal") is.
#[repr(C)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_nanos: AtomicU64,
    max_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            max_nanos: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&self, elapsed: Duration) {
        // Saturating: 2^64 ns is 584 years, which no request takes.
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The counts of the buckets as they are now, with their upper bounds.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            buckets: std::array::from_fn(|index| self.buckets[index].load(Ordering::Relaxed)),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
            max_nanos: self.max_nanos.load(Ordering::Relaxed),
        }
    }
}

/// The bucket a sample of `nanos` falls in. Bounds are inclusive above, so the index is that
/// of `nanos - 1` in half-open buckets [lower, upper): a sample of exactly 2048 ns is in the
/// bucket whose upper bound is 2048.
fn bucket_of(nanos: u64) -> usize {
    let below = nanos.saturating_sub(1);
    if below < 1 << MIN_OCTAVE {
        return 0;
    }
    // The octave: the position of the highest set bit (`below` is not 0 here).
    let octave = 63 - below.leading_zeros();
    if octave > MAX_OCTAVE {
        return BUCKETS - 1;
    }
    // The two bits below the highest one: which quarter of the octave.
    let quarter = (below >> (octave - 2)) & u64::from(SUB_BUCKETS - 1);
    // Both parts are small (octave - MIN_OCTAVE < 24, quarter < 4): no truncation.
    1 + ((octave - MIN_OCTAVE) * SUB_BUCKETS) as usize + quarter as usize
}

/// The upper bound of bucket `index`, in nanoseconds; `None` for the overflow bucket.
pub fn bucket_upper_bound(index: usize) -> Option<u64> {
    if index == 0 {
        return Some(1 << MIN_OCTAVE);
    }
    if index >= BUCKETS - 1 {
        return None;
    }
    // index < BUCKETS, so these fit in u32.
    let position = (index - 1) as u32;
    let octave = MIN_OCTAVE + position / SUB_BUCKETS;
    let quarter = u64::from(position % SUB_BUCKETS);
    Some((1u64 << octave) + (quarter + 1) * (1u64 << (octave - 2)))
}
// ANCHOR_END: histogram

/// A histogram's counts at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    buckets: [u64; BUCKETS],
    sum_nanos: u64,
    max_nanos: u64,
}

impl Snapshot {
    /// Samples so far: the sum of the buckets (not the histogram's own count, which a reader
    /// may see a moment before or after the bucket it goes with).
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The sum of every sample.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_nanos)
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_nanos)
    }

    /// Each bucket's upper bound in nanoseconds (`None`: the overflow bucket) and its count.
    pub fn buckets(&self) -> impl Iterator<Item = (Option<u64>, u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .map(|(index, count)| (bucket_upper_bound(index), *count))
    }

    // ANCHOR: percentile
    /// The `q` quantile (0.5 for the median, 0.99 for p99), as the upper bound of the bucket
    /// that holds it: at least the true value, at most 25% above it (and never above the
    /// largest sample). `None` when there are no samples.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        // The rank of the sample sought, 1-based: the smallest r with r >= q * count. The cast
        // saturates, and the clamp keeps it within the samples.
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (index, bucket) in self.buckets.iter().enumerate() {
            seen += bucket;
            if seen >= rank {
                let bound = bucket_upper_bound(index).map_or(self.max_nanos, |upper| {
                    // The bucket's bound, unless the largest sample is smaller (a bucket is
                    // often wider than what fell in it).
                    upper.min(self.max_nanos)
                });
                return Some(Duration::from_nanos(bound));
            }
        }
        // The ranks are within the sum of the buckets, so the loop returns; a snapshot taken
        // while a count moved still ends at the largest sample.
        Some(self.max())
    }
    // ANCHOR_END: percentile
}

#[cfg(test)]
mod tests;
