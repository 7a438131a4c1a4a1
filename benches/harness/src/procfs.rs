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
//! The tree is found by reading every `/proc/PID/stat` and following parent PIDs down from the
//! root, which sees children whatever their threads are doing. Reading and parsing the `/proc`
//! files is the stage kit's ([`stagekit::procfs`]); this module adds up and samples.

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
    fn the_sampler_keeps_a_peak_above_zero() {
        let sampler = Sampler::start(std::process::id());
        thread::sleep(SAMPLE_EVERY * 2);
        assert!(sampler.finish() > 0);
    }
}
