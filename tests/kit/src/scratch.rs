//! Scratch directories for tests: a directory of its own under the system's temporary directory,
//! removed when the value is dropped (also when a test fails, since a failed assertion unwinds
//! through the drop).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory of its own, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new, empty directory named after `prefix`, the process and the time, so that tests
    /// running side by side (and runs one after the other) never share one.
    pub fn new(prefix: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "stagecraft-{prefix}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&path).expect("the temporary directory is writable");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Replaces `name` in the directory with `contents` the way a deployment does: written
    /// beside it, then renamed over it, so the old file (and any descriptor open on it) stays
    /// as it was and only the path names the new one.
    pub fn replace(&self, name: &str, contents: &[u8]) {
        let next = self.path.join(format!(".{name}.next"));
        fs::write(&next, contents).expect("writing the new file");
        fs::rename(&next, self.path.join(name)).expect("renaming the new file into place");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_directories_never_share_a_path_and_each_is_removed_on_drop() {
        let first = TempDir::new("scratch");
        let second = TempDir::new("scratch");
        assert_ne!(first.path(), second.path());
        first.replace("file", b"old");
        first.replace("file", b"new");
        assert_eq!(fs::read(first.join("file")).expect("readable"), b"new");
        let path = first.path().to_path_buf();
        drop(first);
        assert!(!path.exists(), "{} is still there", path.display());
    }
}
