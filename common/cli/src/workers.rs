//! `--threads N` and `--workers N`: how many workers (threads, event loops or processes) a stage
//! runs, by default as many as the CPUs this process may run on.
//!
//! Every stage with workers takes the count the same way: a whole number of at least 1 (with no
//! worker nothing would ever be served, so 0 is refused in words, not taken to mean "default"),
//! and without the flag, [`std::thread::available_parallelism`], which counts the CPUs this
//! process may *run on*: its affinity mask (`taskset`) and its cgroup's CPU quota included, not
//! the machine's total. The benchmark harness pins servers with `taskset`, and a stage that
//! started a worker per installed core would oversubscribe the cores it was given.

use std::fmt;
use std::num::{NonZeroUsize, ParseIntError};
use std::str::FromStr;

// ANCHOR: worker_count
/// A number of workers, at least 1. Parses from the command line ([`FromStr`], so clap takes it
/// as it is); [`Default`] is the number of CPUs this process may run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerCount(NonZeroUsize);

impl WorkerCount {
    /// `count` workers, or `None` for 0.
    pub const fn new(count: usize) -> Option<WorkerCount> {
        match NonZeroUsize::new(count) {
            Some(count) => Some(WorkerCount(count)),
            None => None,
        }
    }

    /// The number of CPUs this process may run on, or 1 when the system cannot tell.
    pub fn available() -> WorkerCount {
        WorkerCount(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
    }

    /// The count as a number.
    pub const fn get(self) -> usize {
        self.0.get()
    }

    /// The count, refused when above `max` (for a count whose every unit costs a lot: a typo
    /// should not fork ten thousand processes).
    pub fn at_most(self, max: usize) -> Result<WorkerCount, WorkerCountError> {
        if self.get() > max {
            Err(WorkerCountError::TooMany { max })
        } else {
            Ok(self)
        }
    }
}
// ANCHOR_END: worker_count

impl Default for WorkerCount {
    fn default() -> WorkerCount {
        WorkerCount::available()
    }
}

impl From<WorkerCount> for NonZeroUsize {
    fn from(count: WorkerCount) -> NonZeroUsize {
        count.0
    }
}

impl fmt::Display for WorkerCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for WorkerCount {
    type Err = WorkerCountError;

    fn from_str(text: &str) -> Result<WorkerCount, WorkerCountError> {
        let count: usize = text.parse().map_err(WorkerCountError::NotANumber)?;
        WorkerCount::new(count).ok_or(WorkerCountError::Zero)
    }
}

/// Why a worker count was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerCountError {
    NotANumber(ParseIntError),
    Zero,
    TooMany { max: usize },
}

impl fmt::Display for WorkerCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerCountError::NotANumber(error) => write!(f, "not a whole number: {error}"),
            WorkerCountError::Zero => {
                f.write_str("must be at least 1: with no workers nothing would ever be served")
            }
            WorkerCountError::TooMany { max } => write!(f, "must be between 1 and {max}"),
        }
    }
}

impl std::error::Error for WorkerCountError {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct TestCli {
        /// Workers.
        #[arg(long, value_name = "N")]
        threads: Option<WorkerCount>,

        /// Workers with a default.
        #[arg(long, value_name = "N", default_value = "16")]
        blocking_threads: WorkerCount,
    }

    #[test]
    fn counts_parse_and_zero_is_refused_in_words() {
        assert_eq!("3".parse::<WorkerCount>().map(WorkerCount::get), Ok(3));
        assert_eq!("0".parse::<WorkerCount>(), Err(WorkerCountError::Zero));
        assert!(matches!(
            "-1".parse::<WorkerCount>(),
            Err(WorkerCountError::NotANumber(_))
        ));
        assert!(matches!(
            "two".parse::<WorkerCount>(),
            Err(WorkerCountError::NotANumber(_))
        ));
    }

    #[test]
    fn clap_takes_the_type_and_names_the_flag_in_its_error() {
        let cli = TestCli::try_parse_from(["stage", "--threads", "4"]).expect("parses");
        assert_eq!(cli.threads.map(WorkerCount::get), Some(4));
        assert_eq!(cli.blocking_threads.get(), 16);
        let error = TestCli::try_parse_from(["stage", "--threads", "0"]).expect_err("refused");
        let text = error.to_string();
        assert!(
            text.contains("--threads") && text.contains("at least 1"),
            "{text}"
        );
    }

    #[test]
    fn the_default_is_the_cpus_this_process_may_use() {
        let available = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(WorkerCount::default().get(), available);
    }

    #[test]
    fn at_most_caps_the_count() {
        let four = WorkerCount::new(4).expect("4 is not 0");
        assert_eq!(four.at_most(4), Ok(four));
        assert_eq!(four.at_most(3), Err(WorkerCountError::TooMany { max: 3 }));
    }
}
