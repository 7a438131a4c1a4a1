use super::*;
use std::time::UNIX_EPOCH;

fn facts(len: u64) -> FileFacts {
    FileFacts {
        len,
        modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        inode: 42,
        device: 1,
    }
}

fn key(path: &str) -> Key {
    Key {
        root: 0,
        path: path.to_owned(),
        encoding: Encoding::Identity,
    }
}

fn body(len: usize) -> Arc<Cached> {
    Arc::new(Cached {
        content: Bytes::from(vec![b'x'; len]),
        facts: facts(len as u64),
        content_type: Cow::Borrowed("text/plain"),
        siblings: None,
    })
}

fn cache(max_bytes: u64, max_file: u64) -> FileCache {
    FileCache::new(CacheOptions {
        max_bytes,
        max_file,
        max_age: Duration::from_secs(1),
    })
}

fn is_cached(cache: &FileCache, path: &str, now: Instant) -> bool {
    !matches!(cache.lookup(&key(path), now), Lookup::Missing)
}

#[test]
fn off_by_default_caches_nothing() {
    let cache = FileCache::new(CacheOptions::default());
    let now = Instant::now();
    assert!(!cache.is_on());
    cache.insert(key("a"), body(10), now);
    assert!(!is_cached(&cache, "a", now));
    assert_eq!(cache.usage(), (0, 0));
}

#[test]
fn the_total_size_bound_drops_the_least_recently_used() {
    let cache = cache(300, 200);
    let now = Instant::now();
    cache.insert(key("a"), body(100), now);
    cache.insert(key("b"), body(100), now);
    cache.insert(key("c"), body(100), now);
    assert_eq!(cache.usage(), (300, 3));
    // Using `a` makes `b` the least recently used, so `b` goes to make room for `d`.
    assert!(is_cached(&cache, "a", now));
    cache.insert(key("d"), body(100), now);
    assert!(is_cached(&cache, "a", now));
    assert!(!is_cached(&cache, "b", now));
    assert!(is_cached(&cache, "c", now));
    assert!(is_cached(&cache, "d", now));
    assert_eq!(cache.usage(), (300, 3));
    // A bigger body drops as many as it takes.
    cache.insert(key("e"), body(200), now);
    assert_eq!(cache.usage().0, 300);
    assert!(is_cached(&cache, "e", now));
    assert!(is_cached(&cache, "d", now) ^ is_cached(&cache, "a", now));
}

#[test]
fn the_per_file_bound_keeps_big_files_out() {
    let cache = cache(1000, 200);
    let now = Instant::now();
    cache.insert(key("small"), body(200), now);
    cache.insert(key("big"), body(201), now);
    assert!(is_cached(&cache, "small", now));
    assert!(!is_cached(&cache, "big", now));
    assert!(cache.admits(200) && !cache.admits(201));
}

#[test]
fn replacing_an_entry_counts_its_bytes_once() {
    let cache = cache(1000, 1000);
    let now = Instant::now();
    cache.insert(key("a"), body(100), now);
    cache.insert(key("a"), body(50), now);
    assert_eq!(cache.usage(), (50, 1));
    cache.remove(&key("a"));
    assert_eq!(cache.usage(), (0, 0));
}

#[test]
fn entries_go_stale_after_max_age_until_refreshed() {
    let cache = cache(1000, 1000);
    let start = Instant::now();
    cache.insert(key("a"), body(10), start);
    assert!(matches!(
        cache.lookup(&key("a"), start + Duration::from_millis(999)),
        Lookup::Fresh(_)
    ));
    let later = start + Duration::from_secs(1);
    let Lookup::Stale(stale) = cache.lookup(&key("a"), later) else {
        panic!("an entry a second old is stale");
    };
    // The caller found the file unchanged: fresh again for another max_age.
    assert_eq!(stale.facts, facts(10));
    cache.refresh(&key("a"), later);
    assert!(matches!(
        cache.lookup(&key("a"), later + Duration::from_millis(500)),
        Lookup::Fresh(_)
    ));
}

#[test]
fn encodings_and_roots_are_separate_entries() {
    let cache = cache(1000, 1000);
    let now = Instant::now();
    cache.insert(key("a"), body(10), now);
    let gzip = Key {
        encoding: Encoding::Gzip,
        ..key("a")
    };
    let other_root = Key {
        root: 1,
        ..key("a")
    };
    assert!(matches!(cache.lookup(&gzip, now), Lookup::Missing));
    assert!(matches!(cache.lookup(&other_root, now), Lookup::Missing));
}

/// The facts change with any of size, time and inode, so a file replaced by `mv` is seen as
/// changed even when its size and time are the same.
#[test]
fn facts_of_a_replaced_file_differ() {
    let dir = std::env::temp_dir().join(format!("cache-facts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("f.txt");
    std::fs::write(&path, b"one").expect("writing");
    let before = FileFacts::of(&std::fs::metadata(&path).expect("stat")).expect("facts");
    let next = dir.join("f.txt.new");
    std::fs::write(&next, b"two").expect("writing");
    let file = std::fs::File::open(&next).expect("open");
    file.set_modified(before.modified).expect("set time");
    std::fs::rename(&next, &path).expect("rename");
    let after = FileFacts::of(&std::fs::metadata(&path).expect("stat")).expect("facts");
    assert_eq!((before.len, before.modified), (after.len, after.modified));
    assert_ne!(before, after, "a new inode");
    std::fs::remove_dir_all(&dir).expect("cleaning up");
}
