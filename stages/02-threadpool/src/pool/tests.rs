//! Tests of the parent module.

use super::*;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Generous, so a loaded shared machine does not make the tests flaky; a passing run never
/// waits this long.
const PATIENCE: Duration = Duration::from_secs(10);

fn threads(n: usize) -> NonZeroUsize {
    // Cannot fail: every caller passes a literal greater than zero.
    NonZeroUsize::new(n).expect("at least one thread")
}

#[test]
fn drop_runs_every_queued_job_then_joins() {
    let pool = ThreadPool::new(threads(2), 64).expect("two threads start");
    assert_eq!(pool.threads(), 2);
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let done = Arc::clone(&done);
        pool.execute(move || {
            thread::sleep(Duration::from_millis(1));
            done.fetch_add(1, Ordering::SeqCst);
        })
        .expect("the pool takes jobs");
    }
    // Most of the 50 jobs are still queued here; drop must run them all before returning.
    drop(pool);
    assert_eq!(done.load(Ordering::SeqCst), 50);
}

#[test]
fn a_panicking_job_does_not_lose_the_worker() {
    // One worker: if the panic killed it, nothing after it could run.
    let pool = ThreadPool::new(threads(1), 16).expect("one thread starts");
    let (ran, results) = mpsc::channel();
    pool.execute(|| panic!("deliberate panic from a test job"))
        .expect("the pool takes the panicking job");
    for index in 0..10 {
        let ran = ran.clone();
        pool.execute(move || {
            // The receiver outlives the pool in this test; an error would mean it did not.
            let _ = ran.send(index);
        })
        .expect("the pool still takes jobs after a panic");
    }
    drop(ran);
    let mut seen = Vec::new();
    while let Ok(index) = results.recv_timeout(PATIENCE) {
        seen.push(index);
        if seen.len() == 10 {
            break;
        }
    }
    assert_eq!(
        seen,
        (0..10).collect::<Vec<_>>(),
        "jobs after the panic, in order"
    );
    drop(pool);
}

#[test]
fn a_full_queue_makes_execute_wait_until_a_slot_frees() {
    // One worker and room for one waiting job.
    let pool = ThreadPool::new(threads(1), 1).expect("one thread starts");
    let (started, worker_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    pool.execute(move || {
        let _ = started.send(());
        // Hold the only worker until the test says so (or the sender is dropped).
        let _ = released.recv();
    })
    .expect("first job");
    worker_started
        .recv_timeout(PATIENCE)
        .expect("the worker took the first job");
    assert_eq!(pool.times_full(), 0);

    // The worker is busy, the queue has one free slot: this returns at once.
    pool.execute(|| {}).expect("second job takes the free slot");

    // The queue is full now: a third `execute` must wait until the worker frees a slot.
    thread::scope(|scope| {
        let (returned, execute_returned) = mpsc::channel();
        let pool = &pool;
        scope.spawn(move || {
            pool.execute(|| {}).expect("third job");
            let _ = returned.send(());
        });
        assert_eq!(
            execute_returned.recv_timeout(Duration::from_millis(300)),
            Err(mpsc::RecvTimeoutError::Timeout),
            "execute returned while the queue was full"
        );
        release.send(()).expect("the first job is waiting for this");
        execute_returned
            .recv_timeout(PATIENCE)
            .expect("execute returned once the worker took the queued job");
    });
    assert_eq!(pool.times_full(), 1);
}

#[test]
fn a_zero_queue_hands_jobs_straight_to_idle_workers() {
    let pool = ThreadPool::new(threads(2), 0).expect("two threads start");
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        let done = Arc::clone(&done);
        pool.execute(move || {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .expect("the pool takes jobs");
    }
    drop(pool);
    assert_eq!(done.load(Ordering::SeqCst), 20);
}

#[test]
fn jobs_run_on_the_named_worker_threads() {
    let pool = ThreadPool::new(threads(3), 8).expect("three threads start");
    let (names, received) = mpsc::channel();
    for _ in 0..3 {
        let names = names.clone();
        pool.execute(move || {
            let _ = names.send(thread::current().name().map(str::to_owned));
        })
        .expect("the pool takes jobs");
    }
    drop(pool);
    drop(names);
    let names: Vec<_> = received.iter().collect();
    assert_eq!(names.len(), 3);
    for name in names {
        let name = name.expect("worker threads are named");
        assert!(name.starts_with("worker-"), "{name}");
    }
}

#[test]
fn panic_messages_are_read_from_both_payload_kinds() {
    let literal = panic::catch_unwind(|| panic!("plain")).expect_err("it panics");
    assert_eq!(panic_message(literal.as_ref()), "plain");
    let formatted = panic::catch_unwind(|| panic!("formatted {}", 42)).expect_err("it panics");
    assert_eq!(panic_message(formatted.as_ref()), "formatted 42");
}
