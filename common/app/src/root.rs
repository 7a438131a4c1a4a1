//! The document root, and opening files beneath it without ever leaving it.
//!
//! A static-file server's first duty is that no request reads a file outside its root. The path
//! rules of `path` and `static_files` refuse `..` and friends before anything touches the disk;
//! this module makes sure the *file system* cannot lead a request out either, through a
//! symbolic link inside the root that points elsewhere.
//!
//! On Linux 5.6 and later, the root is opened once, when the application starts, and every file
//! is opened relative to it with `openat2(2)` and two resolution flags:
//!
//! - `RESOLVE_BENEATH`: every step of the walk, symlinks included, must stay under the root;
//!   one that would leave it makes the call fail with `EXDEV`. The kernel checks this while it
//!   walks, so there is no moment between a check and the open for someone to swap a directory
//!   for a symlink: the check *is* the open.
//! - `RESOLVE_NO_MAGICLINKS`: no `/proc/<pid>/fd/N`-style links, which jump to an open file
//!   rather than follow a name.
//!
//! That costs one system call per file, where canonicalizing first cost seven (a `readlink`
//! per path component, a `statx`, the `open`).
//!
//! `RESOLVE_BENEATH` also refuses *absolute* symlinks, even ones that point back inside the root
//! (`ln -s /srv/site/a.html b.html`). People make those, so an `EXDEV` gets a second chance:
//! the path is canonicalized, and if it lies under the root the symlink-free canonical path is
//! opened beneath the root with `RESOLVE_NO_SYMLINKS`. A symlink swapped in meanwhile makes that
//! open fail, so the slow path is as race-free as the fast one.
//!
//! Older kernels (and sandboxes whose system-call filter predates `openat2`) answer `ENOSYS`.
//! The root notices when it is opened, logs a warning, and falls back to [`Resolver::Canonicalize`]:
//! canonicalize the path, check that it lies under the canonical root, open it. That is still
//! safe against every path a client can send, but someone who can write into the root could
//! swap in a symlink between the check and the open.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::AppError;

/// How files are found under the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2` with `RESOLVE_BENEATH` relative to the root's directory (Linux 5.6+).
    Beneath,
    /// `canonicalize`, compare with the root, then `open`: for kernels without `openat2`.
    Canonicalize,
}

/// The document root: its canonical path and, on Linux, the directory opened once for the
/// server's lifetime.
#[derive(Debug)]
pub struct DocumentRoot {
    /// Absolute and symlink-free, so a canonicalized file can be checked to lie under it.
    path: PathBuf,
    /// An `O_PATH` handle: it can anchor lookups but not read anything itself. It stays valid,
    /// and keeps naming the same directory, even if the root is later renamed.
    #[cfg(target_os = "linux")]
    dir: std::os::fd::OwnedFd,
    resolver: Resolver,
}

impl DocumentRoot {
    /// Opens `root`, which must be an existing directory, with the best resolver the kernel
    /// offers.
    pub fn open(root: &Path) -> Result<DocumentRoot, AppError> {
        let unreadable = |source| AppError::RootUnreadable {
            path: root.to_path_buf(),
            source,
        };
        let path = root.canonicalize().map_err(unreadable)?;
        #[cfg(target_os = "linux")]
        {
            let dir = beneath::open_directory(&path).map_err(|error| match error {
                nix::errno::Errno::ENOTDIR => AppError::NotADirectory(root.to_path_buf()),
                other => unreadable(other.into()),
            })?;
            let resolver = choose_resolver(|| beneath::probe(&dir)).map_err(unreadable)?;
            if resolver == Resolver::Canonicalize {
                tracing::warn!(
                    "openat2 is not available (Linux older than 5.6, or a system-call filter): \
                     static files are resolved with canonicalize, which leaves a check-then-open \
                     race to anyone who can write into the document root"
                );
            }
            Ok(DocumentRoot {
                path,
                dir,
                resolver,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            if !path.is_dir() {
                return Err(AppError::NotADirectory(root.to_path_buf()));
            }
            Ok(DocumentRoot {
                path,
                resolver: Resolver::Canonicalize,
            })
        }
    }

    /// Like [`DocumentRoot::open`], but with the resolver chosen by the caller, so that tests
    /// can run the fallback on a kernel that has `openat2`.
    #[cfg(test)]
    pub(crate) fn with_resolver(root: &Path, resolver: Resolver) -> DocumentRoot {
        let mut opened = DocumentRoot::open(root).expect("a test root is a directory");
        opened.resolver = resolver;
        opened
    }

    /// The canonical path of the root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How this root finds files.
    pub fn resolver(&self) -> Resolver {
        self.resolver
    }

    /// Opens `relative` (a `/`-separated path under the root, already checked against the path
    /// rules; empty for the root itself) for reading.
    ///
    /// Fails like `open(2)` does; a path that leads outside the root fails with
    /// [`io::ErrorKind::CrossesDevices`] (`EXDEV`, as `openat2` reports it), whichever resolver
    /// runs.
    pub fn open_file(&self, relative: &str) -> io::Result<File> {
        match self.resolver {
            Resolver::Beneath => self.open_beneath(relative),
            Resolver::Canonicalize => self.open_canonical(relative),
        }
    }

    #[cfg(target_os = "linux")]
    fn open_beneath(&self, relative: &str) -> io::Result<File> {
        use nix::errno::Errno;
        use nix::fcntl::ResolveFlag;

        let relative = if relative.is_empty() { "." } else { relative };
        let flags = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        match beneath::open_file(&self.dir, relative, flags) {
            Ok(file) => Ok(file),
            // An absolute symlink, or one that leaves the root: the slow path tells them apart.
            Err(Errno::EXDEV) => {
                let inside = self.canonical_inside(relative)?;
                let inside = if inside.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    &inside
                };
                // The canonical path has no symlinks; one that appears now is a race, refused.
                let strict = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS;
                beneath::open_file(&self.dir, inside, strict).map_err(io::Error::from)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Without `openat2` there is nothing better than the fallback.
    #[cfg(not(target_os = "linux"))]
    fn open_beneath(&self, relative: &str) -> io::Result<File> {
        self.open_canonical(relative)
    }

    /// The fallback: canonicalize, check, open (with the race the module doc describes).
    fn open_canonical(&self, relative: &str) -> io::Result<File> {
        let inside = self.canonical_inside(relative)?;
        open_options().open(self.path.join(inside))
    }

    /// `relative` with every symlink followed, as a path under the root, if it stays under it.
    fn canonical_inside(&self, relative: &str) -> io::Result<PathBuf> {
        // `relative` never starts with `/` (its segments were checked), so `join` extends the
        // root rather than replacing it; and if it ever did, the check below would refuse.
        let canonical = self.path.join(relative).canonicalize()?;
        // `strip_prefix` compares whole components: `/srv/site2` is not under `/srv/site`.
        match canonical.strip_prefix(&self.path) {
            Ok(inside) => Ok(inside.to_path_buf()),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::CrossesDevices,
                "the path leads outside the document root",
            )),
        }
    }
}

/// How a file to serve is opened, by either resolver.
fn open_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;

    let mut options = std::fs::OpenOptions::new();
    // O_NONBLOCK: opening a FIFO someone left in the root would otherwise wait for a writer,
    // forever, on the server's thread. It changes nothing for a regular file, whose reads and
    // `sendfile` never return EAGAIN. O_NOCTTY: a terminal device must not become the server's.
    options
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
    options
}

/// Decides the resolver from one trial `openat2` on the root: `ENOSYS` (no such system call)
/// and `EPERM` (a seccomp filter that does not know it, as older container runtimes install)
/// mean the fallback; any other failure is a real one.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn choose_resolver(
    probe: impl FnOnce() -> Result<(), nix::errno::Errno>,
) -> Result<Resolver, io::Error> {
    use nix::errno::Errno;

    match probe() {
        Ok(()) => Ok(Resolver::Beneath),
        Err(Errno::ENOSYS | Errno::EPERM) => Ok(Resolver::Canonicalize),
        Err(other) => Err(other.into()),
    }
}

/// The `openat2` calls, through nix's safe wrapper.
#[cfg(target_os = "linux")]
mod beneath {
    use std::fs::File;
    use std::os::fd::OwnedFd;
    use std::path::Path;

    use nix::errno::Errno;
    use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
    use nix::sys::stat::Mode;
    use nix::NixPath;

    /// Opens the root as an `O_PATH` handle: enough to anchor lookups, and it needs only search
    /// (x) permission on the directory, as canonicalizing did.
    pub(super) fn open_directory(path: &Path) -> Result<OwnedFd, Errno> {
        nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    }

    /// Whether `openat2` works here, tried on the root itself.
    pub(super) fn probe(dir: &OwnedFd) -> Result<(), Errno> {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH);
        openat2(dir, ".", how).map(drop)
    }

    /// Opens `relative` beneath `dir` for reading, with the given resolution rules.
    pub(super) fn open_file<P: ?Sized + NixPath>(
        dir: &OwnedFd,
        relative: &P,
        resolve: ResolveFlag,
    ) -> Result<File, Errno> {
        // The same flags as `super::open_options`, for the same reasons.
        let how = OpenHow::new()
            .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)
            .resolve(resolve);
        let mut retries = 0;
        loop {
            match openat2(dir, relative, how) {
                Ok(fd) => return Ok(File::from(fd)),
                // EAGAIN: a rename somewhere in the file system raced the walk, so the kernel
                // could not prove it stayed beneath the root. openat2(2) says to try again.
                Err(Errno::EAGAIN) if retries < 3 => retries += 1,
                Err(error) => return Err(error),
            }
        }
    }
}

/// The resolvers this machine can run: the fallback always, `openat2` where the kernel has it.
/// Without it the tests say what they left out, and under `CI=true` they fail instead, since
/// every kernel the project measures on (Linux 5.6 or later) has it.
#[cfg(test)]
pub(crate) fn resolvers_to_test() -> Vec<Resolver> {
    let root = DocumentRoot::open(&super::default_site_root()).expect("the bundled site");
    if root.resolver() == Resolver::Beneath {
        return vec![Resolver::Beneath, Resolver::Canonicalize];
    }
    let note = "openat2 is not available here: only the canonicalize fallback was tested";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{note}");
    eprintln!("note: {note}");
    vec![Resolver::Canonicalize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_site_root;

    #[test]
    fn the_resolver_falls_back_only_when_openat2_is_missing() {
        use nix::errno::Errno;

        assert_eq!(choose_resolver(|| Ok(())).ok(), Some(Resolver::Beneath));
        assert_eq!(
            choose_resolver(|| Err(Errno::ENOSYS)).ok(),
            Some(Resolver::Canonicalize)
        );
        assert_eq!(
            choose_resolver(|| Err(Errno::EPERM)).ok(),
            Some(Resolver::Canonicalize)
        );
        let error = choose_resolver(|| Err(Errno::EACCES)).expect_err("a real failure");
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn both_resolvers_open_the_same_files_and_refuse_the_same_escapes() {
        let outside = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        for resolver in resolvers_to_test() {
            let root = DocumentRoot::with_resolver(&default_site_root(), resolver);
            assert!(root.open_file("style.css").is_ok(), "{resolver:?}");
            assert!(
                root.open_file("chapters/index.html").is_ok(),
                "{resolver:?}"
            );
            assert!(root.open_file("").is_ok(), "{resolver:?}");
            let missing = root.open_file("nope.css").expect_err("missing");
            assert_eq!(missing.kind(), io::ErrorKind::NotFound, "{resolver:?}");
            // The path rules refuse `..` long before this; the kernel refuses it too.
            let escape = root.open_file("../app/Cargo.toml").expect_err("outside");
            assert_eq!(escape.kind(), io::ErrorKind::CrossesDevices, "{resolver:?}");
            let absolute = root.open_file(outside).expect_err("absolute");
            assert_eq!(
                absolute.kind(),
                io::ErrorKind::CrossesDevices,
                "{resolver:?}"
            );
        }
    }
}
