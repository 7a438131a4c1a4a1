//! The counters' unit tests: the shared mapping, the histogram, the refusals and the per-client
//! connection table.
use super::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn micros(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[test]
fn connections_per_client_are_capped_by_address_and_freed_on_drop() {
    let stats = Arc::new(Stats::new(Instant::now()));
    let one: IpAddr = "192.0.2.1".parse().unwrap();
    let other: IpAddr = "192.0.2.2".parse().unwrap();
    let first = stats
        .connection_opened_from(one, 2)
        .expect("the first of two");
    let _second = stats
        .connection_opened_from(one, 2)
        .expect("the second of two");
    assert!(
        stats.connection_opened_from(one, 2).is_none(),
        "a third is refused"
    );
    let _elsewhere = stats
        .connection_opened_from(other, 2)
        .expect("another client has its own count");
    assert_eq!(stats.connections_open(), 3, "a refusal is not counted open");
    let refused: u64 = stats
        .refusals()
        .filter(|(reason, _)| *reason == Refusal::ClientConnections)
        .map(|(_, count)| count)
        .sum();
    assert_eq!(refused, 1);
    drop(first);
    assert!(
        stats.connection_opened_from(one, 2).is_some(),
        "a closed one frees a place"
    );
}

#[test]
fn an_ipv6_client_is_its_slash_64_and_the_table_forgets_closed_clients() {
    let stats = Arc::new(Stats::new(Instant::now()));
    let a: IpAddr = "2001:db8:1:2::a".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2::b".parse().unwrap();
    let guard = stats.connection_opened_from(a, 1).expect("the first");
    assert!(
        stats.connection_opened_from(b, 1).is_none(),
        "two addresses of one /64 are one client"
    );
    drop(guard);
    assert!(
        stats.clients.lock().unwrap().is_empty(),
        "no entry stays behind"
    );
}

#[test]
fn the_counters_fit_in_their_mapping_and_are_shared() {
    assert!(std::mem::size_of::<Counters>() <= REGION_LEN);
    let stats = Stats::new(Instant::now());
    assert_eq!(stats.scope(), Scope::Server);
    assert_eq!(stats.scope().to_string(), "server");
}

#[test]
fn counters_on_the_heap_count_the_same_and_say_process() {
    let stats = Stats {
        started: Instant::now(),
        counters: Region::Heap(Box::default()),
        clients: Mutex::default(),
    };
    assert_eq!(stats.scope(), Scope::Process);
    let ok = Response::with_body(StatusCode::OK, "text/plain", "ok");
    stats.request_started().finish(&Method::Get, 3, &ok);
    assert_eq!(stats.requests_served(), 1);
    assert_eq!(stats.requests_in_flight(), 0);
    assert_eq!(stats.body_bytes_received(), 3);
    assert_eq!(stats.body_bytes_sent(), 2);
}

#[test]
fn bucket_bounds_grow_by_a_quarter_octave() {
    assert_eq!(bucket_upper_bound(0), Some(1024));
    assert_eq!(bucket_upper_bound(1), Some(1280));
    assert_eq!(bucket_upper_bound(2), Some(1536));
    assert_eq!(bucket_upper_bound(3), Some(1792));
    assert_eq!(bucket_upper_bound(4), Some(2048));
    assert_eq!(bucket_upper_bound(5), Some(2560));
    assert_eq!(bucket_upper_bound(BUCKETS - 2), Some(1 << 34));
    assert_eq!(bucket_upper_bound(BUCKETS - 1), None);
    // Every bound is above the one before, and at most 25% above it.
    for index in 1..BUCKETS - 1 {
        let (Some(lower), Some(upper)) = (bucket_upper_bound(index - 1), bucket_upper_bound(index))
        else {
            panic!("bucket {index} has no bound");
        };
        assert!(upper > lower && upper * 4 <= lower * 5, "{lower} {upper}");
    }
}

#[test]
fn a_sample_falls_in_the_bucket_whose_bounds_hold_it() {
    assert_eq!(bucket_of(0), 0);
    assert_eq!(bucket_of(1024), 0);
    assert_eq!(bucket_of(1025), 1);
    assert_eq!(bucket_of(1280), 1);
    assert_eq!(bucket_of(1281), 2);
    assert_eq!(bucket_of(2048), 4);
    assert_eq!(bucket_of(2049), 5);
    assert_eq!(bucket_of(1 << 34), BUCKETS - 2);
    assert_eq!(bucket_of((1 << 34) + 1), BUCKETS - 1);
    assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    for nanos in [1u64, 999, 1500, 77_777, 12_345_678, 9_999_999_999] {
        let index = bucket_of(nanos);
        let upper = bucket_upper_bound(index).expect("not the overflow bucket");
        let lower = index
            .checked_sub(1)
            .and_then(bucket_upper_bound)
            .unwrap_or(0);
        assert!(
            lower < nanos && nanos <= upper,
            "{nanos} in ({lower}, {upper}]"
        );
    }
}

#[test]
fn an_empty_histogram_has_no_percentiles() {
    let histogram = Histogram::default();
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count(), 0);
    assert_eq!(snapshot.percentile(0.5), None);
    assert_eq!(snapshot.percentile(0.99), None);
    assert_eq!(snapshot.max(), Duration::ZERO);
    assert_eq!(snapshot.sum(), Duration::ZERO);
}

#[test]
fn percentiles_of_known_samples_are_their_buckets_bounds() {
    let histogram = Histogram::default();
    // 90 fast samples at 100 µs, 9 at 1 ms, 1 at 50 ms.
    for _ in 0..90 {
        histogram.record(micros(100));
    }
    for _ in 0..9 {
        histogram.record(micros(1000));
    }
    histogram.record(micros(50_000));
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count(), 100);
    assert_eq!(snapshot.sum(), micros(90 * 100 + 9 * 1000 + 50_000));
    assert_eq!(snapshot.max(), micros(50_000));
    let p50 = snapshot.percentile(0.5).expect("samples");
    let p90 = snapshot.percentile(0.9).expect("samples");
    let p99 = snapshot.percentile(0.99).expect("samples");
    let p100 = snapshot.percentile(1.0).expect("samples");
    // 100 µs = 100_000 ns is in (98_304, 114_688]: 2^16 + 2 quarters, 2^16 + 3 quarters.
    assert_eq!(p50, Duration::from_nanos(114_688));
    // The 90th sample is still a fast one.
    assert_eq!(p90, Duration::from_nanos(114_688));
    // The 99th is a 1 ms one: 1_000_000 ns in (917_504, 1_048_576].
    assert_eq!(p99, Duration::from_nanos(1_048_576));
    // The largest is clamped to the largest sample, not its bucket's bound.
    assert_eq!(p100, micros(50_000));
    // Each is at least the true value and at most 25% above it.
    for (estimate, truth) in [(p50, 100), (p90, 100), (p99, 1000), (p100, 50_000)] {
        assert!(estimate >= micros(truth) && estimate <= micros(truth) * 5 / 4);
    }
}

#[test]
fn samples_beyond_the_largest_bucket_are_reported_by_the_maximum() {
    let histogram = Histogram::default();
    histogram.record(Duration::from_secs(30));
    histogram.record(Duration::from_secs(3600 * 24 * 365 * 1000));
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.buckets().last(), Some((None, 2)));
    assert_eq!(
        snapshot.percentile(0.5),
        Some(Duration::from_nanos(u64::MAX))
    );
    assert_eq!(snapshot.max(), Duration::from_nanos(u64::MAX));
}

#[test]
fn a_sample_under_a_microsecond_is_in_the_first_bucket() {
    let histogram = Histogram::default();
    histogram.record(Duration::from_nanos(300));
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.buckets().next(), Some((Some(1024), 1)));
    assert_eq!(snapshot.percentile(0.5), Some(Duration::from_nanos(300)));
}

#[test]
fn a_finished_request_is_counted_out_of_flight_with_its_class_and_bytes() {
    let stats = Stats::new(Instant::now());
    let guard = stats.request_started();
    assert_eq!(stats.requests_in_flight(), 1);
    assert_eq!(stats.requests_served(), 1);
    let response = Response::with_body(StatusCode::NOT_FOUND, "text/plain", "nothing here");
    guard.finish(&Method::Post, 7, &response);
    assert_eq!(stats.requests_in_flight(), 0);
    assert_eq!(stats.body_bytes_received(), 7);
    assert_eq!(stats.body_bytes_sent(), 12);
    assert_eq!(stats.latency().snapshot().count(), 1);
    let classes: Vec<_> = stats.responses_by_class().collect();
    assert_eq!(classes, [(1, 0), (2, 0), (3, 0), (4, 1), (5, 0)]);

    // A HEAD's body and a 304's are never sent, so not counted.
    let ok = Response::with_body(StatusCode::OK, "text/plain", "twelve bytes");
    stats.request_started().finish(&Method::Head, 0, &ok);
    let not_modified = Response::with_body(StatusCode::NOT_MODIFIED, "text/plain", "x");
    stats
        .request_started()
        .finish(&Method::Get, 0, &not_modified);
    assert_eq!(stats.body_bytes_sent(), 12);
}

#[test]
fn a_panic_unwinding_through_a_request_counts_it_out_of_flight() {
    let stats = Stats::new(Instant::now());
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let _guard = stats.request_started();
        assert_eq!(stats.requests_in_flight(), 1);
        panic!("a handler with a bug");
    }));
    assert!(unwound.is_err());
    assert_eq!(stats.requests_in_flight(), 0);
    assert_eq!(stats.requests_served(), 1);
    // Unfinished: no status, no latency.
    assert_eq!(stats.latency().snapshot().count(), 0);
}

#[test]
fn connections_are_counted_open_until_their_guard_drops() {
    let stats = Arc::new(Stats::new(Instant::now()));
    let first = stats.connection_opened();
    let second = stats.connection_opened();
    assert_eq!(stats.connections_open(), 2);
    drop(first);
    assert_eq!(stats.connections_open(), 1);
    let moved = std::thread::spawn(move || drop(second));
    moved
        .join()
        .expect("the thread dropping the guard does not panic");
    assert_eq!(stats.connections_open(), 0);
    assert_eq!(stats.connections_total(), 2);
}

#[test]
fn forked_children_count_into_the_same_counters() {
    // The reason for the shared mapping (stage 03): a child's increments are seen by the
    // parent. The child only adds and exits, without unwinding or running destructors.
    let stats = Stats::new(Instant::now());
    // SAFETY: the child touches only atomics and then calls `_exit`; it takes no lock that
    // another thread of the test binary might hold.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            std::mem::forget(stats.request_started());
            // SAFETY: `_exit` ends the child without running the parent's atexit handlers.
            unsafe { nix::libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).expect("waitpid");
            assert!(matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)));
        }
    }
    assert_eq!(stats.requests_served(), 1);
    assert_eq!(stats.requests_in_flight(), 1);
}
