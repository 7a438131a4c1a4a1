//! Every deadline of one loop's connections in one min-heap, re-armed lazily.
//!
//! A blocking server gets its timeouts from the kernel (`SO_RCVTIMEO`, one per thread). An event
//! loop has one `epoll_wait` for ten thousand connections, so it keeps the deadlines itself and
//! passes the nearest one to `epoll_wait` as its timeout. This module is that bookkeeping.
//!
//! The connection machine says when it next needs attention (`poll_timeout`), and that moment
//! moves with almost every byte: each request pushes the idle deadline 60 s further. Moving a
//! heap entry on every request would cost a heap operation per request, so the heap is *lazy*:
//!
//! - a deadline that moved **later** is not touched. Its old entry fires early, the loop sees
//!   that the connection is not due yet and arms the new deadline then. An idle connection costs
//!   one heap operation per idle timeout, however many requests it served meanwhile.
//! - a deadline that moved **earlier** (a request head started: the 10 s header timeout is now
//!   nearer than the 60 s idle one) gets a new entry; the old one stays in the heap, *stale*.
//!
//! Each entry carries a sequence number and the connection remembers the number of its live
//! entry ([`Armed`]), so a stale entry, or one that outlived its connection, is recognised and
//! dropped when it comes out. Stale entries are counted, and when they outnumber the live ones
//! the heap is rebuilt without them, so a storm of short connections cannot grow it for a
//! whole idle timeout.
//!
//! The choice against a timer wheel: a wheel makes every operation O(1) but needs a tick (and
//! then wakes on every tick, or scans for the next busy slot); a heap gives the exact next
//! deadline in O(1) and costs O(log n) only when an entry goes in or out, which the lazy rule
//! keeps rare. libuv and Go's runtime made the same choice; nginx keeps a red-black tree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// The live heap entry of one connection, stored in the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Armed {
    pub deadline: Instant,
    seq: u64,
}

/// An entry that came out of the heap: for connection `key`, armed as number `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    pub key: usize,
    seq: u64,
}

impl Expired {
    /// Whether this is the live entry of the connection holding `armed`, and if so disarms it:
    /// the caller then asks the connection what is due and arms its next deadline.
    pub fn is_live(&self, armed: &mut Option<Armed>) -> bool {
        match armed {
            Some(live) if live.seq == self.seq => {
                *armed = None;
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: Instant,
    seq: u64,
    key: usize,
}

/// The deadlines of one loop.
#[derive(Debug, Default)]
pub struct Timers {
    /// `Reverse` turns std's max-heap into a min-heap: the nearest deadline is on top.
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    /// Entries in the heap that no connection will accept any more.
    stale: usize,
}

/// Below this many stale entries the heap is never rebuilt: not worth the pass.
const COMPACT_ABOVE: usize = 1024;

impl Timers {
    pub fn new() -> Timers {
        Timers::default()
    }

    // ANCHOR: arm
    /// Makes sure connection `key` is woken at `deadline` or before. `armed` is the
    /// connection's record of its live entry.
    pub fn arm(&mut self, armed: &mut Option<Armed>, key: usize, deadline: Instant) {
        if let Some(live) = armed {
            if live.deadline <= deadline {
                // Fires early at the latest; the loop re-arms then (the lazy rule).
                return;
            }
            // The old, later entry stays in the heap, but nobody will accept it any more.
            self.stale += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { deadline, seq, key }));
        *armed = Some(Armed { deadline, seq });
    }
    // ANCHOR_END: arm

    /// Forgets the live entry of a connection that is going away: it becomes stale.
    pub fn disarm(&mut self, armed: &mut Option<Armed>) {
        if armed.take().is_some() {
            self.stale += 1;
        }
    }

    /// The nearest deadline, for `epoll_wait`'s timeout. It may belong to a stale entry: waking
    /// up early for it is harmless.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.deadline)
    }

    /// Takes out the next entry whose deadline has passed by `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Expired> {
        let Reverse(entry) = self.heap.peek()?;
        if entry.deadline > now {
            return None;
        }
        let Reverse(entry) = self.heap.pop()?;
        Some(Expired {
            key: entry.key,
            seq: entry.seq,
        })
    }

    /// Called by the loop for an entry that [`Expired::is_live`] refused: one stale entry less.
    pub fn discard(&mut self) {
        self.stale = self.stale.saturating_sub(1);
    }

    /// Whether stale entries are numerous enough to rebuild the heap without them.
    pub fn needs_compaction(&self) -> bool {
        self.stale > COMPACT_ABOVE && self.stale * 2 > self.heap.len()
    }

    /// Rebuilds the heap with only the entries `is_live(key, armed)` accepts, where `armed` is
    /// the live entry of connection `key` as [`Expired::is_live`] would check it.
    pub fn compact(&mut self, is_live: impl Fn(usize, &Armed) -> bool) {
        self.heap.retain(|Reverse(entry)| {
            is_live(
                entry.key,
                &Armed {
                    deadline: entry.deadline,
                    seq: entry.seq,
                },
            )
        });
        self.stale = 0;
    }

    /// Entries in the heap, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

impl Armed {
    /// Whether `self` and `other` are the same entry (used by compaction).
    pub fn same_entry(&self, other: &Armed) -> bool {
        self.seq == other.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn later_deadline_keeps_the_early_entry_and_fires_early() {
        let start = Instant::now();
        let mut timers = Timers::new();
        let mut armed = None;
        timers.arm(&mut armed, 7, at(start, 100));
        timers.arm(&mut armed, 7, at(start, 500));
        assert_eq!(timers.len(), 1, "a later deadline pushes nothing");
        assert_eq!(timers.next_deadline(), Some(at(start, 100)));
        assert_eq!(timers.pop_expired(at(start, 99)), None);
        let expired = timers.pop_expired(at(start, 100)).unwrap();
        assert_eq!(expired.key, 7);
        assert!(expired.is_live(&mut armed));
        assert_eq!(armed, None, "the loop re-arms after asking the connection");
    }

    #[test]
    fn earlier_deadline_pushes_and_the_old_entry_is_stale() {
        let start = Instant::now();
        let mut timers = Timers::new();
        let mut armed = None;
        timers.arm(&mut armed, 3, at(start, 500));
        timers.arm(&mut armed, 3, at(start, 100));
        assert_eq!(timers.len(), 2);
        let first = timers.pop_expired(at(start, 1000)).unwrap();
        assert!(
            first.is_live(&mut armed),
            "the earlier entry is the live one"
        );
        let second = timers.pop_expired(at(start, 1000)).unwrap();
        assert!(!second.is_live(&mut armed), "the superseded entry is stale");
        timers.discard();
        assert!(timers.is_empty());
    }

    #[test]
    fn entry_of_a_closed_connection_is_not_live_for_the_next_one() {
        let start = Instant::now();
        let mut timers = Timers::new();
        let mut closed = None;
        timers.arm(&mut closed, 0, at(start, 100));
        timers.disarm(&mut closed);
        // A new connection takes the same key and arms a later deadline.
        let mut reused = None;
        timers.arm(&mut reused, 0, at(start, 200));
        let old = timers.pop_expired(at(start, 150)).unwrap();
        assert_eq!(old.key, 0);
        assert!(!old.is_live(&mut reused));
        assert!(reused.is_some(), "the new connection's entry is untouched");
    }

    #[test]
    fn expired_entries_come_out_in_deadline_order() {
        let start = Instant::now();
        let mut timers = Timers::new();
        let mut slots = [None; 4];
        for (key, ms) in [(0, 40), (1, 10), (2, 30), (3, 20)] {
            timers.arm(&mut slots[key], key, at(start, ms));
        }
        let order: Vec<_> = std::iter::from_fn(|| timers.pop_expired(at(start, 35)))
            .map(|expired| expired.key)
            .collect();
        assert_eq!(order, vec![1, 3, 2]);
        assert_eq!(timers.next_deadline(), Some(at(start, 40)));
    }

    #[test]
    fn compaction_drops_only_stale_entries() {
        let start = Instant::now();
        let mut timers = Timers::new();
        let mut slots: Vec<Option<Armed>> = vec![None; 3000];
        for (key, slot) in slots.iter_mut().enumerate() {
            timers.arm(slot, key, at(start, 1000));
        }
        // Two thousand connections close: their entries are stale.
        for slot in &mut slots[..2000] {
            timers.disarm(slot);
        }
        assert!(timers.needs_compaction());
        timers.compact(|key, entry| slots[key].is_some_and(|live| live.same_entry(entry)));
        assert_eq!(timers.len(), 1000);
        assert!(!timers.needs_compaction());
        let keys: Vec<_> = std::iter::from_fn(|| timers.pop_expired(at(start, 1000)))
            .map(|expired| expired.key)
            .collect();
        assert!(keys.iter().all(|&key| key >= 2000));
    }
}
