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
//! A directory listing ([`DocumentRoot::read_dir`]) keeps the same guarantee: the directory is
//! opened beneath the root like a file, and each entry is looked at through its own `O_PATH`
//! open beneath the root, so an entry that is a symlink leading outside is left out of the
//! listing instead of telling its size and date.
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
use std::time::SystemTime;

use super::AppError;

/// One entry of a directory beneath the root, as [`DocumentRoot::read_dir`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (UTF-8: a name that is not could not be asked for, see `path`).
    pub name: String,
    /// Whether it is a directory (after following a symlink that stays beneath the root).
    pub is_dir: bool,
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time.
    pub modified: SystemTime,
}

/// What [`DocumentRoot::read_dir`] read of a directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirEntries {
    /// The entries kept, in the order the file system gave them.
    pub entries: Vec<DirEntry>,
    /// Entries kept by the filter but left out because `max` were read already.
    pub more: usize,
}

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
    /// Whether a directory without `index.html` is answered with its listing (`--dir-listing`;
    /// see `listing`) rather than 404. A property of the root, so that each root of a server
    /// with several may choose.
    lists_directories: bool,
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
                lists_directories: false,
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
                lists_directories: false,
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

    /// Whether a directory without `index.html` gets its listing (off unless set).
    pub fn lists_directories(&self) -> bool {
        self.lists_directories
    }

    /// Turns directory listings on or off for this root.
    pub fn set_lists_directories(&mut self, on: bool) {
        self.lists_directories = on;
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

    // ANCHOR: read_dir
    /// Reads the directory `relative` (checked like [`DocumentRoot::open_file`]'s argument;
    /// empty for the root), keeping the entries whose names `keep` accepts, at most `max` of
    /// them. An entry that cannot be looked at beneath the root (a symlink that leads outside
    /// or nowhere, a name that is not UTF-8) is left out.
    ///
    /// Fails like `open(2)` of the directory does: `NotFound`, `NotADirectory`,
    /// `PermissionDenied`, or `CrossesDevices` for a path that leads outside the root.
    pub fn read_dir(
        &self,
        relative: &str,
        keep: impl Fn(&str) -> bool,
        max: usize,
    ) -> io::Result<DirEntries> {
        let names = self.entry_names(relative)?;
        let mut read = DirEntries::default();
        for name in names.into_iter().filter(|name| keep(name)) {
            if read.entries.len() == max {
                read.more += 1;
                continue;
            }
            let path = match relative {
                "" => name.clone(),
                directory => format!("{directory}/{name}"),
            };
            // Left out, not an error: one broken entry must not hide the rest of the directory.
            let Ok(metadata) = self.metadata(&path) else {
                continue;
            };
            read.entries.push(DirEntry {
                name,
                is_dir: metadata.is_dir(),
                len: metadata.len(),
                modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        Ok(read)
    }
    // ANCHOR_END: read_dir

    /// The names in the directory `relative`, without `.` and `..`, and without names that
    /// are not UTF-8.
    fn entry_names(&self, relative: &str) -> io::Result<Vec<String>> {
        let utf8 = |name: std::ffi::OsString| name.into_string().ok();
        let proper = |name: &String| name != "." && name != "..";
        match self.resolver {
            #[cfg(target_os = "linux")]
            Resolver::Beneath => {
                use std::os::unix::ffi::OsStrExt;
                let dir = self.open_beneath_with(relative, beneath::DIRECTORY)?;
                let dir = nix::dir::Dir::from_fd(dir)?;
                let mut names = Vec::new();
                for entry in dir {
                    let entry = entry?;
                    let name = std::ffi::OsStr::from_bytes(entry.file_name().to_bytes());
                    names.extend(utf8(name.to_owned()).filter(proper));
                }
                Ok(names)
            }
            _ => {
                let inside = self.canonical_inside(relative)?;
                let mut names = Vec::new();
                for entry in std::fs::read_dir(self.path.join(inside))? {
                    names.extend(utf8(entry?.file_name()).filter(proper));
                }
                Ok(names)
            }
        }
    }

    /// What `relative` is (following symlinks that stay beneath the root), without opening it
    /// for reading: an `O_PATH` handle needs no read permission and has no side effect on a
    /// FIFO or a device.
    fn metadata(&self, relative: &str) -> io::Result<std::fs::Metadata> {
        match self.resolver {
            #[cfg(target_os = "linux")]
            Resolver::Beneath => {
                File::from(self.open_beneath_with(relative, beneath::LOOK_ONLY)?).metadata()
            }
            _ => std::fs::metadata(self.path.join(self.canonical_inside(relative)?)),
        }
    }

    #[cfg(target_os = "linux")]
    fn open_beneath(&self, relative: &str) -> io::Result<File> {
        self.open_beneath_with(relative, beneath::READ)
            .map(File::from)
    }

    /// Opens `relative` beneath the root with `oflags`, the symlink slow path included.
    #[cfg(target_os = "linux")]
    fn open_beneath_with(
        &self,
        relative: &str,
        oflags: nix::fcntl::OFlag,
    ) -> io::Result<std::os::fd::OwnedFd> {
        use nix::errno::Errno;
        use nix::fcntl::ResolveFlag;

        let relative = if relative.is_empty() { "." } else { relative };
        let flags = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        match beneath::open_with(&self.dir, relative, oflags, flags) {
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
                beneath::open_with(&self.dir, inside, oflags, strict).map_err(io::Error::from)
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

    /// A file to serve: the same flags as `super::open_options`, for the same reasons.
    pub(super) const READ: OFlag = OFlag::O_RDONLY
        .union(OFlag::O_CLOEXEC)
        .union(OFlag::O_NONBLOCK)
        .union(OFlag::O_NOCTTY);
    /// A directory to list.
    pub(super) const DIRECTORY: OFlag = OFlag::O_RDONLY
        .union(OFlag::O_DIRECTORY)
        .union(OFlag::O_CLOEXEC);
    /// An entry to `fstat` and nothing else.
    pub(super) const LOOK_ONLY: OFlag = OFlag::O_PATH.union(OFlag::O_CLOEXEC);

    /// Opens `relative` beneath `dir` with `oflags`, with the given resolution rules.
    pub(super) fn open_with<P: ?Sized + NixPath>(
        dir: &OwnedFd,
        relative: &P,
        oflags: OFlag,
        resolve: ResolveFlag,
    ) -> Result<OwnedFd, Errno> {
        let how = OpenHow::new().flags(oflags).resolve(resolve);
        let mut retries = 0;
        loop {
            match openat2(dir, relative, how) {
                Ok(fd) => return Ok(fd),
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
