//! An in-memory cache of small hot files, and of their compressed forms (`--cache-size`).
//!
//! Without it, every request for a static file opens it (`openat2`), stats it (`statx`),
//! reads it (`pread`, for a small file) and, for a client that accepts gzip or brotli,
//! compresses it again. The page cache makes the reads cheap; the compression is what costs
//! (tens of microseconds for a few KiB, see the book). A hit here costs none of it: one lock,
//! one hash lookup, and a reference-counted `Bytes` handed to the driver.
//!
//! Bounds, all in [`CacheOptions`]:
//!
//! - *total size*: the sum of the cached bodies never exceeds `max_bytes`; the least recently
//!   used entries are dropped to make room (the `lru` crate keeps the order; its own bound
//!   counts entries, so it is left unbounded and this module bounds bytes);
//! - *per file*: a body larger than `max_file` is never cached, so one big file cannot empty
//!   the cache for many small ones (and big files are better sent with `sendfile` anyway);
//! - *age*: an entry is trusted for `max_age` after it was last checked against the disk.
//!
//! ## Staleness
//!
//! A fresh entry is served without looking at the disk at all; that is the point of it. So a
//! file changed on disk may be served in its old form for up to `max_age` (1 s by default)
//! after the change: that is the cache's staleness bound. After `max_age` the next request
//! opens and stats the file again, and the entry is kept only if size, modification time,
//! inode and device are all unchanged (a file replaced by `mv`, as deploy tools do, has a new
//! inode even when size and time match); otherwise it is replaced. A compressed entry is
//! checked the same way against the identity entry of the same file. A file deleted is served
//! from memory for at most `max_age`, too.
//!
//! ## Sharing
//!
//! One cache serves every thread (and every task) of a stage through a `Mutex`: an
//! `LruCache` moves an entry to the front on every hit, so even a lookup writes, and a
//! read-write lock would gain nothing. The lock is held for a hash lookup and a list update,
//! never while reading or compressing a file; under many threads it is still one point they
//! all pass through, which the `cache-hit` benchmark measures. Stage 03's processes each have
//! their own cache (memory is not shared across `fork`).

use std::borrow::Cow;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use lru::LruCache;

use super::compress::{Encoding, Encodings};

// ANCHOR: cache_options
/// The cache's bounds. `Default` is off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheOptions {
    /// Total bytes of cached bodies (`--cache-size`); 0 turns the cache off. Default 0: a
    /// server that is not told otherwise serves every file as it is on disk at that moment,
    /// and the kernel's page cache already keeps hot files in memory; the cache is for a site
    /// that wants to save the opens and the compression, and accepts `max_age` of staleness.
    pub max_bytes: u64,
    /// The largest body cached. Default 256 KiB: the pages, style sheets and scripts of a
    /// site, not its videos.
    pub max_file: u64,
    /// How long an entry is served without checking the file. Default 1 s.
    pub max_age: Duration,
}

impl Default for CacheOptions {
    fn default() -> CacheOptions {
        CacheOptions {
            max_bytes: 0,
            max_file: 256 * 1024,
            max_age: Duration::from_secs(1),
        }
    }
}
// ANCHOR_END: cache_options

/// What identifies a file's contents without reading them: if none of these changed, the
/// bytes are taken not to have changed either (the same promise the ETag makes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFacts {
    pub len: u64,
    pub modified: SystemTime,
    pub inode: u64,
    pub device: u64,
}

impl FileFacts {
    /// The facts of a file from its `stat`.
    pub fn of(metadata: &Metadata) -> std::io::Result<FileFacts> {
        Ok(FileFacts {
            len: metadata.len(),
            modified: metadata.modified()?,
            inode: metadata.ino(),
            device: metadata.dev(),
        })
    }
}

/// Where an entry comes from: a document root (by index: the default root is 0, each
/// virtual host the next), the path opened beneath it, and the coding of the body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub root: usize,
    pub path: String,
    pub encoding: Encoding,
}

/// A cached body and what the response needs to know about it.
#[derive(Clone, Debug)]
pub struct Cached {
    /// The body, in `encoding` of the key.
    pub content: Bytes,
    /// The facts of the original file (for a compressed body too) when this was made.
    pub facts: FileFacts,
    /// The media type of the original.
    pub content_type: Cow<'static, str>,
    /// For an identity entry: which precompressed siblings were found beside the file, if
    /// anyone looked.
    pub siblings: Option<Encodings>,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// Checked within `max_age`: serve it.
    Fresh(Arc<Cached>),
    /// Older: serve it only after the file's facts are found unchanged (then call
    /// [`FileCache::refresh`]).
    Stale(Arc<Cached>),
    /// Not cached (or the cache is off).
    Missing,
}

// ANCHOR: file_cache
/// The cache: an LRU list of entries and the bytes they hold, behind one lock.
#[derive(Debug)]
pub struct FileCache {
    options: CacheOptions,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    entries: LruCache<Key, Entry>,
    bytes: u64,
}

#[derive(Debug)]
struct Entry {
    cached: Arc<Cached>,
    checked: Instant,
}
// ANCHOR_END: file_cache

impl FileCache {
    /// A cache with the given bounds (off when `max_bytes` is 0).
    pub fn new(options: CacheOptions) -> FileCache {
        FileCache {
            options,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// Whether anything can be cached at all.
    pub fn is_on(&self) -> bool {
        self.options.max_bytes > 0
    }

    /// Whether a body of `len` bytes would be cached.
    pub fn admits(&self, len: u64) -> bool {
        self.is_on() && len <= self.options.max_file && len <= self.options.max_bytes
    }

    /// The bounds.
    pub fn options(&self) -> &CacheOptions {
        &self.options
    }

    /// The entry for `key`, moved to the front of the LRU order.
    pub fn lookup(&self, key: &Key, now: Instant) -> Lookup {
        if !self.is_on() {
            return Lookup::Missing;
        }
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if now.saturating_duration_since(entry.checked) < self.options.max_age => {
                Lookup::Fresh(entry.cached.clone())
            }
            Some(entry) => Lookup::Stale(entry.cached.clone()),
            None => Lookup::Missing,
        }
    }

    /// Marks `key`'s entry as checked at `now`: its file was found unchanged.
    pub fn refresh(&self, key: &Key, now: Instant) {
        if let Some(entry) = self.lock().entries.get_mut(key) {
            entry.checked = now;
        }
    }

    /// Caches `cached` under `key` (replacing what was there), dropping the least recently
    /// used entries until the total fits. A body over the per-file bound is not cached.
    pub fn insert(&self, key: Key, cached: Arc<Cached>, now: Instant) {
        let len = cached.content.len() as u64;
        if !self.admits(len) {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.pop(&key) {
            inner.bytes -= old.cached.content.len() as u64;
        }
        while inner.bytes + len > self.options.max_bytes {
            match inner.entries.pop_lru() {
                Some((_, old)) => inner.bytes -= old.cached.content.len() as u64,
                // Empty, and `admits` said `len` fits in `max_bytes`: cannot happen, but
                // stopping is the safe answer.
                None => break,
            }
        }
        inner.bytes += len;
        inner.entries.put(
            key,
            Entry {
                cached,
                checked: now,
            },
        );
    }

    /// Drops `key`'s entry (its file is gone).
    pub fn remove(&self, key: &Key) {
        let mut inner = self.lock();
        if let Some(old) = inner.entries.pop(key) {
            inner.bytes -= old.cached.content.len() as u64;
        }
    }

    /// Bytes cached now, and the number of entries.
    pub fn usage(&self) -> (u64, usize) {
        let inner = self.lock();
        (inner.bytes, inner.entries.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A thread that panicked while holding the lock left the list and the byte count
        // consistent (every update of both happens between two calls that cannot panic),
        // so the cache goes on being used.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
