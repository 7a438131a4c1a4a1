//! Building a stage binary (or an example) from inside a test process.
//!
//! A plain `cargo test` on a fresh clone must pass, but cargo hands an integration test only the
//! binaries of its own package (`CARGO_BIN_EXE_*`), and the stages are other packages. So the
//! first test that needs a stage runs `cargo build -p NAME --bin NAME` itself, with the same
//! cargo that runs the tests, and every later test in the process reuses the result. The
//! benchmark harness builds its reference servers the same way, as examples of its own package
//! ([`example_binary`]).
//!
//! Same target directory, no deadlock: measured with cargo 1.95, `cargo test` releases its
//! build-directory lock before it runs the test binaries, so a nested `cargo build` into the same
//! target directory goes ahead at once (it waits only while another cargo process, such as a
//! build in another terminal, holds the lock). Sharing the directory means `common` and the
//! stages are compiled once for `cargo build` and `cargo test` alike.
//!
//! Which target directory and profile: the ones the running binary itself was built into, read
//! from its own path (`TARGET/PROFILE/deps/NAME-HASH`), so `CARGO_TARGET_DIR`, `--target-dir` and
//! `--release` are all respected. Where the binary landed is read from cargo's JSON messages, not
//! guessed. The cargo is the one that runs us (`CARGO`), and cargo runs in the workspace root
//! ([`crate::workspace_dir`]), wherever the test was started from.
//!
//! The nested cargo gets this process's environment less the variables cargo sets for the crate
//! it runs (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, `OUT_DIR`, ...; see `CRATE_VARIABLES`).
//! Build scripts such as ring's declare `rerun-if-env-changed` on some of those, and cargo
//! compares their values in its own environment: a nested build that inherits the test's values
//! would see them "changed" since the last build from a shell, run the build script again and
//! recompile ring and everything above it (about a minute each time, measured when stage 06
//! brought rustls in), once for `cargo test` and again for the stage.
//!
//! `STAGECRAFT_BIN_DIR=DIR` skips building and takes `DIR/NAME` as it is, for running the suite
//! or the benchmarks against binaries built elsewhere (for example with `--release`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Why a binary could not be built or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// cargo could not be started at all.
    CargoNotStarted { cargo: PathBuf, reason: String },
    /// cargo ran and failed; its diagnostics went to the test's stderr. `command` is the cargo
    /// command line that failed, as a user would type it.
    CargoFailed { command: String, status: String },
    /// cargo succeeded but reported no executable for the target.
    NoExecutable { command: String, name: String },
    /// `STAGECRAFT_BIN_DIR` is set but holds no such binary.
    MissingPrebuilt { path: PathBuf },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::CargoNotStarted { cargo, reason } => {
                write!(f, "could not run {}: {reason}", cargo.display())
            }
            BuildError::CargoFailed { command, status } => {
                write!(
                    f,
                    "`{command}` failed ({status}); its errors are printed above"
                )
            }
            BuildError::NoExecutable { command, name } => {
                write!(f, "`{command}` reported no executable named {name}")
            }
            BuildError::MissingPrebuilt { path } => write!(
                f,
                "STAGECRAFT_BIN_DIR is set but {} does not exist",
                path.display()
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// The path of `package`'s binary (named like the package), built in the profile of the running
/// binary, building it first if this process has not done so yet.
///
/// Concurrent callers wait for one build rather than starting several: cargo would serialise
/// them on its lock anyway, and a failed build is reported to every caller with the same error.
pub fn stage_binary(package: &str) -> Result<PathBuf, BuildError> {
    built(&Target {
        package,
        kind: Kind::Bin,
        name: package,
    })
}

/// The path of the example `name` of `package`, always built with `--release` (the benchmark
/// harness measures these beside release builds of the stages, whatever profile it runs in).
pub fn example_binary(package: &str, name: &str) -> Result<PathBuf, BuildError> {
    built(&Target {
        package,
        kind: Kind::Example,
        name,
    })
}

/// What cargo sets in the environment of a crate it compiles or runs (a test binary included),
/// by name or by prefix, and which a nested `cargo build` must therefore not inherit (see the
/// module doc). Cargo's own settings (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_PROFILE_*`, ...)
/// are not among them and pass through.
const CRATE_VARIABLES: &[&str] = &[
    "CARGO_BIN_EXE_",
    "CARGO_BIN_NAME",
    "CARGO_CFG_",
    "CARGO_CRATE_NAME",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_LINKS",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_RUSTC_CURRENT_DIR",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// Whether the variable `name` is one of [`CRATE_VARIABLES`]: equal to a name there, or
/// starting with one of the prefixes (those that end in `_`).
fn set_by_cargo_for_the_crate(name: &str) -> bool {
    CRATE_VARIABLES.iter().any(|listed| {
        if listed.ends_with('_') {
            name.starts_with(listed)
        } else {
            name == *listed
        }
    })
}

/// One thing to build.
struct Target<'a> {
    package: &'a str,
    kind: Kind,
    /// The binary's or example's name, which is also its file name.
    name: &'a str,
}

/// A binary target, built in the profile of the running binary, or an example, built with
/// `--release`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bin,
    Example,
}

impl Kind {
    /// The word cargo uses for the kind, in its flags (`--bin`) and its JSON messages (`bin`).
    fn word(self) -> &'static str {
        match self {
            Kind::Bin => "bin",
            Kind::Example => "example",
        }
    }
}

impl Target<'_> {
    /// The cargo arguments after `build` that select this target.
    fn selection(&self) -> String {
        format!("-p {} --{} {}", self.package, self.kind.word(), self.name)
    }
}

/// Builds `target` once per process (or finds it in `STAGECRAFT_BIN_DIR`).
fn built(target: &Target<'_>) -> Result<PathBuf, BuildError> {
    static BUILT: OnceLock<Mutex<HashMap<String, Result<PathBuf, BuildError>>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // A panic while holding this lock can only come from a bug in this function; the map itself
    // is still consistent then, so a poisoned lock is taken over rather than propagated.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // The selection names the package and the target, and the target's kind decides the profile.
    let key = target.selection();
    if let Some(result) = built.get(&key) {
        return result.clone();
    }
    let result = match std::env::var_os("STAGECRAFT_BIN_DIR") {
        Some(dir) => prebuilt(Path::new(&dir), target.name),
        None => cargo_build(target),
    };
    built.insert(key, result.clone());
    result
}

fn prebuilt(dir: &Path, name: &str) -> Result<PathBuf, BuildError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BuildError::MissingPrebuilt { path })
    }
}

fn cargo_build(target: &Target<'_>) -> Result<PathBuf, BuildError> {
    // Prefer the cargo that runs us now; the one that compiled us is the fallback (they are the
    // same under `cargo test`).
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO")));
    let layout = own_layout();
    let profile = match target.kind {
        Kind::Example => Some("release"),
        Kind::Bin => layout.as_ref().map(|layout| layout.profile.as_str()),
    };
    let profile_flags = match profile {
        None | Some("debug") => vec![],
        Some("release") => vec!["--release"],
        Some(other) => vec!["--profile", other],
    };
    // The command as a user would type it, for error messages (package and target names hold
    // no spaces, so splitting the selection on them gives back its words).
    let shown = format!(
        "cargo build {} {}",
        target.selection(),
        profile_flags.join(" ")
    )
    .trim_end()
    .to_owned();
    let mut command = Command::new(&cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_the_crate) {
            command.env_remove(&name);
        }
    }
    command
        .current_dir(crate::workspace_dir())
        .arg("build")
        .args(target.selection().split_whitespace())
        .args(&profile_flags)
        .arg("--message-format=json-render-diagnostics");
    if let Some(layout) = &layout {
        command.arg("--target-dir").arg(&layout.target_dir);
    }
    // Diagnostics and progress ("Compiling common ...") go straight to the terminal: the first
    // test may wait a minute for them, and a failed build must show its errors.
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let output = command
        .output()
        .map_err(|error| BuildError::CargoNotStarted {
            cargo: cargo.clone(),
            reason: error.to_string(),
        })?;
    if !output.status.success() {
        return Err(BuildError::CargoFailed {
            command: shown,
            status: output.status.to_string(),
        });
    }
    executable_from_messages(&output.stdout, target.name, target.kind.word()).ok_or_else(|| {
        BuildError::NoExecutable {
            command: shown,
            name: target.name.to_owned(),
        }
    })
}

/// Where and how the running test binary was built.
struct Layout {
    target_dir: PathBuf,
    profile: String,
}

/// Reads the target directory and profile from this executable's own path,
/// `TARGET/[TRIPLE/]PROFILE/deps/NAME-HASH`. The target directory is the nearest ancestor that
/// holds cargo's `CACHEDIR.TAG`; without one (an unusual layout) cargo's defaults are used.
fn own_layout() -> Option<Layout> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    let profile_dir = deps.parent()?;
    let profile = profile_dir.file_name()?.to_str()?.to_owned();
    let target_dir = profile_dir
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())?
        .to_path_buf();
    Some(Layout {
        target_dir,
        profile,
    })
}

/// Finds the `executable` of the target `name` of `kind` (`bin`, `example`) among cargo's JSON
/// messages (one object per line; lines that are not JSON are skipped).
fn executable_from_messages(stdout: &[u8], name: &str, kind: &str) -> Option<PathBuf> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == name)
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|listed| listed == kind))
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_among_cargo_messages() {
        let messages = br#"{"reason":"compiler-artifact","target":{"name":"common","kind":["lib"]},"executable":null}
not json at all
{"reason":"compiler-artifact","target":{"name":"stage01-blocking","kind":["bin"]},"executable":"/t/debug/stage01-blocking"}
{"reason":"compiler-artifact","target":{"name":"floor","kind":["example"]},"executable":"/t/release/examples/floor"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_messages(messages, "stage01-blocking", "bin"),
            Some(PathBuf::from("/t/debug/stage01-blocking"))
        );
        assert_eq!(
            executable_from_messages(messages, "floor", "example"),
            Some(PathBuf::from("/t/release/examples/floor"))
        );
        assert_eq!(executable_from_messages(messages, "floor", "bin"), None);
        assert_eq!(executable_from_messages(messages, "common", "bin"), None);
    }

    #[test]
    fn the_crate_variables_of_cargo_are_not_passed_on_and_its_settings_are() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_EXE_stage01-blocking",
            "OUT_DIR",
        ] {
            assert!(set_by_cargo_for_the_crate(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_DEV_OPT_LEVEL",
            "CARGO_MANIFEST_DIRECTORY",
            "PATH",
        ] {
            assert!(!set_by_cargo_for_the_crate(name), "{name}");
        }
    }

    #[test]
    fn own_layout_points_at_a_target_dir_holding_this_binary() {
        let layout = own_layout().expect("unit tests run from TARGET/PROFILE/deps");
        let exe = std::env::current_exe().expect("the running test binary has a path");
        assert!(exe.starts_with(&layout.target_dir));
        assert!(layout.target_dir.join("CACHEDIR.TAG").is_file());
        assert!(!layout.profile.is_empty());
    }
}
