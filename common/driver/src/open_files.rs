//! Raising the limit on open files (`RLIMIT_NOFILE`) as far as this process may, once at start.
//!
//! Every connection is a file descriptor, and the soft limit a shell or service manager hands a
//! process is often 1024: a server that holds thousands of connections (stages 04 and 05) would
//! see `accept` fail with `EMFILE` near a thousand. The soft limit may be raised without any
//! privilege up to the hard limit; past the hard limit only root (or the service manager,
//! `LimitNOFILE=`) can go. So this raises the soft limit to the hard one, and reports both
//! numbers for the log line, so that a reader who sees `EMFILE` later knows which limit it was.
//!
//! One subtlety decides the shape: the hard limit may be "unlimited" (`RLIM_INFINITY`, the
//! default in some containers), but the kernel still caps descriptors per process at
//! `fs.nr_open` (1 048 576 by default), and `setrlimit` with a soft limit above that fails with
//! `EPERM`. Asking for "unlimited" would then leave the process at 1024. So an unlimited hard
//! limit is read as `/proc/sys/fs/nr_open`.

use std::fmt;

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tracing::{info, warn};

/// Descriptors a server needs besides its connections: listeners, epoll instances, wakers, files
/// being sent, stdio. A limit below `--max-connections` plus these cannot hold that many.
pub const SPARE_DESCRIPTORS: u64 = 64;

/// The soft limit before and after [`raise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub before: u64,
    pub after: u64,
}

impl OpenFiles {
    /// Whether `connections` connections, and [`SPARE_DESCRIPTORS`] more, fit under the limit.
    pub fn holds(&self, connections: usize) -> bool {
        let connections = u64::try_from(connections).unwrap_or(u64::MAX);
        self.after >= connections.saturating_add(SPARE_DESCRIPTORS)
    }
}

/// Why the limit could not be read or raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenFilesError {
    /// `getrlimit` failed (it does not, on Linux, for a valid resource).
    Read(Errno),
    /// `setrlimit` refused to raise the soft limit to `to`.
    Raise { to: u64, errno: Errno },
}

impl fmt::Display for OpenFilesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenFilesError::Read(errno) => {
                write!(
                    f,
                    "cannot read the open files limit (RLIMIT_NOFILE): {errno}"
                )
            }
            OpenFilesError::Raise { to, errno } => write!(
                f,
                "cannot raise the open files limit (RLIMIT_NOFILE) to {to}: {errno}"
            ),
        }
    }
}

impl std::error::Error for OpenFilesError {}

// ANCHOR: raise_fd_limit
// ANCHOR: open_file_limit
/// Raises the soft limit on open files to the hard limit (to `fs.nr_open` when the hard limit is
/// unlimited) and returns the soft limit before and after.
pub fn raise() -> Result<OpenFiles, OpenFilesError> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(OpenFilesError::Read)?;
    // An unlimited hard limit still stops at the kernel's `fs.nr_open`: asking for more fails.
    let ceiling = if hard == nix::libc::RLIM_INFINITY {
        nr_open().unwrap_or(hard)
    } else {
        hard
    };
    if soft >= ceiling {
        return Ok(OpenFiles {
            before: soft,
            after: soft,
        });
    }
    setrlimit(Resource::RLIMIT_NOFILE, ceiling, hard)
        .map_err(|errno| OpenFilesError::Raise { to: ceiling, errno })?;
    Ok(OpenFiles {
        before: soft,
        after: ceiling,
    })
}
// ANCHOR_END: open_file_limit
// ANCHOR_END: raise_fd_limit

/// [`raise`], with the outcome logged the way every stage logs it: the two numbers, a warning
/// when even the raised limit cannot hold `max_connections`, or a warning that it could not be
/// raised. A server runs either way (with fewer connections), so nothing here is fatal.
pub fn raise_and_log(max_connections: usize) -> Option<OpenFiles> {
    match raise() {
        Ok(open_files) => {
            info!(
                before = open_files.before,
                after = open_files.after,
                "open files limit (RLIMIT_NOFILE)"
            );
            if !open_files.holds(max_connections) {
                warn!(
                    limit = open_files.after,
                    max_connections,
                    "the open files limit is below --max-connections: accepts will fail with \
                     EMFILE before the limit is reached (raise the hard limit: ulimit -Hn)"
                );
            }
            Some(open_files)
        }
        Err(error) => {
            warn!(%error, "fewer connections fit");
            None
        }
    }
}

/// The kernel's cap on descriptors per process, `fs.nr_open`, where `/proc` says it.
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_leaves_the_soft_limit_at_the_ceiling_and_is_idempotent() {
        // Raising the soft limit of the test process is harmless: it only allows more files.
        let first = raise().expect("an unprivileged process may raise its soft limit");
        assert!(first.after >= first.before);
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("reading the limit");
        assert_eq!(soft, first.after, "the soft limit is what was reported");
        assert!(soft <= hard);
        if hard != nix::libc::RLIM_INFINITY {
            assert_eq!(
                soft, hard,
                "the soft limit went all the way to the hard one"
            );
        } else if let Some(cap) = nr_open() {
            assert_eq!(soft, cap, "an unlimited hard limit stops at fs.nr_open");
        }
        let again = raise().expect("raising again");
        assert_eq!((again.before, again.after), (first.after, first.after));
    }

    #[test]
    fn holds_counts_the_spare_descriptors() {
        let limit = OpenFiles {
            before: 1024,
            after: 1024,
        };
        assert!(limit.holds(1024 - SPARE_DESCRIPTORS as usize));
        assert!(!limit.holds(1024 - SPARE_DESCRIPTORS as usize + 1));
        assert!(!limit.holds(usize::MAX));
    }

    #[test]
    fn errors_name_the_limit() {
        let error = OpenFilesError::Raise {
            to: 4096,
            errno: Errno::EPERM,
        };
        let text = error.to_string();
        assert!(
            text.contains("RLIMIT_NOFILE") && text.contains("4096"),
            "{text}"
        );
    }
}
