//! What a server costs, read from Linux's `/proc` (proc(5)): the CPU time and the resident memory
//! of *all* its processes, so that nginx's workers and stage 03's forked children are counted
//! with their master, not left out.
//!
//! - CPU: fields 14-17 of `/proc/PID/stat` (`utime`, `stime`, `cutime`, `cstime`), in clock
//!   ticks. The `c` fields hold the time of children that have exited and been reaped, so a
//!   worker that dies during a run moves its time to its parent instead of losing it.
//! - Memory: `VmRSS` in `/proc/PID/status`, summed over the tree. The kernel keeps no peak for a
//!   tree, so [`Sampler`] samples the sum every [`SAMPLE_EVERY`] and keeps the largest.
//!
//! - Context switches: `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` in
//!   `/proc/PID/task/TID/status`, for every thread of every process in the tree. A thread's
//!   counts are its own, and the kernel shows no running total for threads that have ended, so
//!   [`SwitchCounter`] reads every thread every [`SAMPLE_EVERY`] during a measured run and
//!   keeps each thread's last counts: a thread that ends keeps what it had at the last reading.
//!   What a thread does after that reading, or all of a thread that lives between two readings,
//!   is missed; a thread-per-connection server facing a new connection per request is
//!   undercounted that way (its threads live for a request). Threads that last the run, as in
//!   every keep-alive load, are counted in full.
//!
//! The tree is found by reading every `/proc/PID/stat` and following parent PIDs down from the
//! root, which sees children whatever their threads are doing. Reading and parsing the `/proc`
//! files is the stage kit's ([`stagekit::procfs`]); this module adds up and samples.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use stagekit::procfs::{all_processes, rss_bytes, tree_of};

/// How often [`Sampler`] reads the tree's resident memory.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// CPU time and resident memory of a process tree at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User + system CPU time of every process in the tree (and its reaped children), seconds.
    pub cpu_seconds: f64,
    /// Sum of `VmRSS` over the tree, bytes.
    pub rss_bytes: u64,
    /// How many processes the tree had.
    pub processes: usize,
}

/// The usage of `root` and all its descendants now.
pub fn tree_usage(root: u32) -> Usage {
    let tree = tree_of(root, &all_processes());
    let ticks: u64 = tree.iter().map(|stat| stat.cpu_ticks).sum();
    // A process that exits meanwhile, or a zombie (no VmRSS), counts for nothing.
    let resident = tree
        .iter()
        .filter_map(|stat| rss_bytes(stat.pid).ok())
        .sum();
    Usage {
        cpu_seconds: ticks as f64 / clock_ticks_per_second() as f64,
        rss_bytes: resident,
        processes: tree.len(),
    }
}

/// The PIDs of `root` and all its descendants now, `root` first.
pub fn tree_pids(root: u32) -> Vec<u32> {
    tree_of(root, &all_processes())
        .iter()
        .map(|stat| stat.pid)
        .collect()
}

/// Context switches of a process tree's threads at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// The thread gave up the CPU itself: it blocked, waiting for I/O, a lock or a sleep.
    pub voluntary: u64,
    /// The scheduler took the CPU away: its time slice ran out or another thread had to run.
    pub involuntary: u64,
}

impl Switches {
    /// The switches between `earlier` and `self`; zero where a count went down (a thread ID
    /// reused by a new thread).
    pub fn since(self, earlier: Switches) -> Switches {
        Switches {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}

/// The two context-switch lines of a `/proc/PID/status` (or `/proc/PID/task/TID/status`) text.
pub fn parse_switches(status: &str) -> Option<Switches> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    Some(Switches {
        voluntary: field("voluntary_ctxt_switches")?,
        involuntary: field("nonvoluntary_ctxt_switches")?,
    })
}

/// The context switches of every thread of `root` and its descendants now, by thread ID
/// (thread IDs are unique across processes).
pub fn thread_switches(root: u32) -> HashMap<u32, Switches> {
    let mut threads = HashMap::new();
    for process in tree_of(root, &all_processes()) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", process.pid)) else {
            continue;
        };
        // A thread that ends while its status is read is left for the last reading's counts.
        for task in tasks.filter_map(Result::ok) {
            let Some(tid) = task.file_name().to_str().and_then(|name| name.parse().ok()) else {
                continue;
            };
            if let Some(switches) = std::fs::read_to_string(task.path().join("status"))
                .ok()
                .and_then(|status| parse_switches(&status))
            {
                threads.insert(tid, switches);
            }
        }
    }
    threads
}

/// Counts a tree's context switches over a measured run, threads that end during it included
/// (up to their last reading): see the module documentation.
pub struct SwitchCounter {
    at_start: HashMap<u32, Switches>,
    latest: Arc<Mutex<HashMap<u32, Switches>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    root: u32,
}

impl SwitchCounter {
    /// Reads every thread of `root`'s tree now, and keeps reading in the background.
    pub fn start(root: u32) -> SwitchCounter {
        let at_start = thread_switches(root);
        let latest = Arc::new(Mutex::new(at_start.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let latest = Arc::clone(&latest);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(SAMPLE_EVERY);
                    let now = thread_switches(root);
                    latest
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .extend(now);
                }
            })
        };
        SwitchCounter {
            at_start,
            latest,
            stop,
            thread: Some(thread),
            root,
        }
    }

    /// Stops reading, reads once more, and returns the switches since [`SwitchCounter::start`].
    pub fn finish(mut self) -> Switches {
        self.stop_thread();
        let mut latest = std::mem::take(
            &mut *self
                .latest
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        latest.extend(thread_switches(self.root));
        let mut total = Switches::default();
        for (tid, last) in latest {
            let since = last.since(self.at_start.get(&tid).copied().unwrap_or_default());
            total.voluntary += since.voluntary;
            total.involuntary += since.involuntary;
        }
        total
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The reading loop cannot panic short of a bug here; the counts so far stay valid.
            let _ = thread.join();
        }
    }
}

impl Drop for SwitchCounter {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// The kernel's clock tick rate for `/proc` times (`sysconf(_SC_CLK_TCK)`, almost always 100).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// A background thread that samples a tree's resident memory and keeps the peak.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<Mutex<u64>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `root`'s tree now.
    pub fn start(root: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(Mutex::new(0));
        let thread = {
            let stop = Arc::clone(&stop);
            let peak = Arc::clone(&peak);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let rss = tree_usage(root).rss_bytes;
                    let mut peak = peak.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    *peak = (*peak).max(rss);
                    drop(peak);
                    thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Sampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns the largest sum seen, in bytes.
    pub fn finish(mut self) -> u64 {
        self.stop_thread();
        *self
            .peak
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The sampling loop cannot panic short of a bug in this module; the peak so far
            // stays valid either way.
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_time_and_memory() {
        // Burn a little CPU so that at least one tick is charged to this process.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let usage = tree_usage(std::process::id());
        assert!(usage.processes >= 1);
        assert!(usage.rss_bytes > 0);
        assert!(usage.cpu_seconds > 0.0, "{usage:?}");
    }

    #[test]
    fn switches_are_read_from_a_status_text() {
        let status = "Name:\tstage02\nThreads:\t3\nvoluntary_ctxt_switches:\t1520\n\
                      nonvoluntary_ctxt_switches:\t37\n";
        assert_eq!(
            parse_switches(status),
            Some(Switches {
                voluntary: 1520,
                involuntary: 37
            })
        );
        assert_eq!(
            parse_switches("Name:\tx\nvoluntary_ctxt_switches:\t5\n"),
            None
        );
        let earlier = Switches {
            voluntary: 10,
            involuntary: 50,
        };
        let later = Switches {
            voluntary: 25,
            involuntary: 40,
        };
        assert_eq!(
            later.since(earlier),
            Switches {
                voluntary: 15,
                involuntary: 0
            }
        );
    }

    #[test]
    fn a_thread_that_ends_during_the_count_keeps_its_switches() {
        let counter = SwitchCounter::start(std::process::id());
        // Sleeps past two readings, then ends before the count does.
        thread::spawn(|| {
            for _ in 0..50 {
                thread::sleep(Duration::from_millis(5));
            }
        })
        .join()
        .expect("the sleeping thread does not panic");
        let switches = counter.finish();
        // The ended thread's ~50 sleeps were read while it ran; joining it was one more here.
        assert!(switches.voluntary >= 40, "{switches:?}");
    }

    #[test]
    fn the_sampler_keeps_a_peak_above_zero() {
        let sampler = Sampler::start(std::process::id());
        thread::sleep(SAMPLE_EVERY * 2);
        assert!(sampler.finish() > 0);
    }
}
