//! Logging: levels, colour on a terminal only, `--log-file` with rotation, the access log's
//! target, and the level changed at run time when SIGHUP re-reads the configuration.
//!
//! Two kinds of line leave the server:
//!
//! - the server's own log (`tracing` events: starting, errors, `-v` details), text or JSON
//!   (`--log-format`), on stderr or in `--log-file`, filtered by the level;
//! - the access log, one line per request, which the application's middleware emits as an event
//!   of the target [`ACCESS_TARGET`] whose message is the whole line (made by
//!   `app::access_log::access_line`, combined log format or JSON by `--log-format`). These lines
//!   are written as they are, with no timestamp or level before them, so that tools that read the
//!   combined format (goaccess, awstats) read the file. They go to `--log-file` when there is
//!   one; without it, to stderr with `-v` (or a `--log-level` that names `access`), and nowhere
//!   by default, so that a benchmark run does not measure a write to a terminal per request.
//!
//! Rotation is by size, with the `file-rotate` crate: `FILE` is always the current file, and at
//! `--log-file-size` bytes it becomes `FILE.1` (the older ones `FILE.2`... up to
//! [`KEPT_FILES`]). By size rather than daily (tracing-appender's rolling files) because a
//! server's log grows with its traffic, not with the calendar: a busy day must not fill the disk,
//! and the current file keeps one name that `tail -f` and the tests can follow. Writes are
//! synchronous, under a mutex, not on a background thread: stage 03 forks after logging is set
//! up, and a fork copies only the thread that calls it, so a writer thread would be missing in
//! every worker.

use std::fs::OpenOptions;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Layer, Registry};

use crate::{LogFormat, ServerArgs};

// ANCHOR: access_target
/// The `tracing` target of access-log events: `tracing::info!(target: cli::ACCESS_TARGET,
/// "{line}")`, with the line from `app::access_log::access_line`.
pub const ACCESS_TARGET: &str = app::access_log::TARGET;
// ANCHOR_END: access_target

/// How many rotated files are kept beside the current one (`FILE.1` to `FILE.5`).
pub const KEPT_FILES: usize = 5;

/// Why logging could not be set up.
#[derive(Debug)]
pub enum LoggingError {
    /// `--log-file` cannot be opened for appending.
    LogFile {
        path: std::path::PathBuf,
        error: io::Error,
    },
    /// The level filter (`--log-level` or `RUST_LOG`) does not parse.
    Filter { directive: String, reason: String },
}

impl std::fmt::Display for LoggingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoggingError::LogFile { path, error } => {
                write!(f, "cannot open the log file {}: {error}", path.display())
            }
            LoggingError::Filter { directive, reason } => {
                write!(f, "invalid log level \"{directive}\": {reason}")
            }
        }
    }
}

impl std::error::Error for LoggingError {}

/// The level filter in force, swapped by [`set_level`]. Set once, by [`init_logging`].
static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

// ANCHOR: level
/// The level filter the flags ask for: `--log-level` (from any source) when given, else
/// `RUST_LOG` when set, else `-v`'s: `info`, `debug`, `trace`.
pub fn level_directive(args: &ServerArgs) -> String {
    if let Some(level) = &args.log_level {
        return level.clone();
    }
    if let Ok(directive) = std::env::var("RUST_LOG") {
        return directive;
    }
    match args.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
    .to_owned()
}
// ANCHOR_END: level

/// Checks a `--log-level` value: an `EnvFilter` directive (`warn`, `debug`,
/// `info,protocol=trace`).
pub fn parse_level(text: &str) -> Result<String, String> {
    EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|error| format!("{error} (try error, warn, info, debug or trace)"))
}

/// Sets up `tracing` as the flags say. On a log file that cannot be opened, prints one line and
/// exits 1, like a document root that does not exist.
pub fn init_logging(args: &ServerArgs) {
    if let Err(error) = try_init_logging(args) {
        crate::exit_with_error(error, 1)
    }
}

/// [`init_logging`], returning the error. A subscriber already set (by a test) is kept.
pub fn try_init_logging(args: &ServerArgs) -> Result<(), LoggingError> {
    let directive = level_directive(args);
    let filter = EnvFilter::builder()
        .parse(&directive)
        .map_err(|error| LoggingError::Filter {
            directive: directive.clone(),
            reason: error.to_string(),
        })?;
    let (filter, handle) = reload::Layer::new(filter);

    let writer = match &args.log_file {
        Some(path) => Destination::File(Arc::new(Mutex::new(open_rotating(
            path,
            args.log_file_size,
        )?))),
        None => Destination::Stderr,
    };
    // Colours only for a person at a terminal, not for log files and test captures.
    let ansi = matches!(writer, Destination::Stderr) && io::stderr().is_terminal();
    let server_log = match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer.clone())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer.clone())
            .boxed(),
    }
    .with_filter(filter)
    .with_filter(filter_fn(|metadata| metadata.target() != ACCESS_TARGET));

    let access_on =
        args.log_file.is_some() || args.verbose > 0 || directive.contains(ACCESS_TARGET);
    let access_log = access_on.then(|| {
        AccessLayer { writer }
            .with_filter(Targets::new().with_target(ACCESS_TARGET, tracing::Level::INFO))
    });

    if tracing_subscriber::registry()
        .with(server_log)
        .with(access_log)
        .try_init()
        .is_ok()
    {
        // Set only when our subscriber is the one in force: a handle to a filter nobody uses
        // would make `set_level` report a change that changes nothing.
        let _ = LEVEL.set(handle);
    }
    Ok(())
}

// ANCHOR: set_level
/// Replaces the level filter with the one `args` asks for (on SIGHUP, after the configuration
/// was read again). Returns the new directive, or `None` when logging was not set up by
/// [`init_logging`]. Whether access lines are written, and where, is fixed at start.
pub fn set_level(args: &ServerArgs) -> Result<Option<String>, LoggingError> {
    let Some(handle) = LEVEL.get() else {
        return Ok(None);
    };
    let directive = level_directive(args);
    let filter = EnvFilter::builder()
        .parse(&directive)
        .map_err(|error| LoggingError::Filter {
            directive: directive.clone(),
            reason: error.to_string(),
        })?;
    // Fails only when the subscriber is gone, which it never is once set globally.
    handle
        .reload(filter)
        .map_err(|error| LoggingError::Filter {
            directive: directive.clone(),
            reason: error.to_string(),
        })?;
    Ok(Some(directive))
}
// ANCHOR_END: set_level

/// Opens `path` for appending (so the error is ours, in words, before file-rotate, which panics
/// on a directory it cannot create), then hands it to file-rotate.
fn open_rotating(path: &Path, max_size: u64) -> Result<FileRotate<AppendCount>, LoggingError> {
    let error = |error| LoggingError::LogFile {
        path: path.to_owned(),
        error,
    };
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(parent) = parent {
        if !parent.is_dir() {
            return Err(error(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the directory {} does not exist", parent.display()),
            )));
        }
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(error)?;
    let size = usize::try_from(max_size).unwrap_or(usize::MAX);
    Ok(FileRotate::new(
        path,
        AppendCount::new(KEPT_FILES),
        ContentLimit::BytesSurpassed(size),
        Compression::None,
        #[cfg(unix)]
        None,
    ))
}

/// Where log lines go.
#[derive(Clone)]
enum Destination {
    Stderr,
    File(Arc<Mutex<FileRotate<AppendCount>>>),
}

/// One write of a log line, to stderr or to the file (under its lock).
enum LineWriter<'a> {
    Stderr(io::StderrLock<'a>),
    File(std::sync::MutexGuard<'a, FileRotate<AppendCount>>),
}

impl<'a> MakeWriter<'a> for Destination {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        match self {
            Destination::Stderr => LineWriter::Stderr(io::stderr().lock()),
            // A panic while the lock was held leaves a file that is still fine to append to.
            Destination::File(file) => {
                LineWriter::File(file.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
            }
        }
    }
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            LineWriter::Stderr(out) => out.write(bytes),
            LineWriter::File(file) => file.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            LineWriter::Stderr(out) => out.flush(),
            LineWriter::File(file) => file.flush(),
        }
    }
}

/// Writes access events' messages as they are, a line each.
struct AccessLayer {
    writer: Destination,
}

impl<S: Subscriber> Layer<S> for AccessLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Message(String::new());
        event.record(&mut line);
        line.0.push('\n');
        // One write_all under one lock, so lines from several threads never interleave. A log
        // that cannot be written must not stop the request it describes.
        let _ = self.writer.make_writer().write_all(line.0.as_bytes());
    }
}

/// The `message` field of an event.
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            // `format_args!` messages arrive here; their Debug is the formatted text.
            use std::fmt::Write as _;
            let _ = write!(self.0, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn args(argv: &[&str]) -> ServerArgs {
        TestCli::try_parse_from(std::iter::once("stage").chain(argv.iter().copied()))
            .expect("parses")
            .server
    }

    #[test]
    fn the_level_is_log_level_then_verbose() {
        // RUST_LOG is not set in the test environment of CI; when a developer sets it, only
        // the `--log-level` half of this test says anything.
        assert_eq!(
            level_directive(&args(&["--log-level", "warn", "-vv"])),
            "warn"
        );
        if std::env::var_os("RUST_LOG").is_none() {
            assert_eq!(level_directive(&args(&[])), "info");
            assert_eq!(level_directive(&args(&["-v"])), "debug");
            assert_eq!(level_directive(&args(&["-vvv"])), "trace");
        }
    }

    #[test]
    fn bad_levels_are_refused_in_words() {
        assert!(parse_level("debug").is_ok());
        assert!(parse_level("info,protocol=trace").is_ok());
        let error = parse_level("loud=[").expect_err("not a directive");
        assert!(error.contains("try error, warn"), "{error}");
        assert!(TestCli::try_parse_from(["stage", "--log-level", "loud=["]).is_err());
    }

    #[test]
    fn a_log_file_in_a_missing_directory_is_an_error_not_a_panic() {
        let error = open_rotating(Path::new("/nonexistent-stagecraft-dir/x.log"), 1000)
            .err()
            .expect("refused");
        assert!(error.to_string().contains("does not exist"), "{error}");
    }

    #[test]
    fn the_log_file_rotates_by_size_and_keeps_its_name() {
        let dir = std::env::temp_dir().join(format!("stagecraft-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let path = dir.join("server.log");
        let mut file = open_rotating(&path, 100).expect("opens");
        for n in 0..30 {
            writeln!(file, "line {n:02} of the access log").expect("writes");
        }
        file.flush().expect("flushes");
        let current = std::fs::read_to_string(&path).expect("the current file");
        let rotated = std::fs::read_to_string(dir.join("server.log.1")).expect("a rotated file");
        assert!(current.contains("line 29"), "{current}");
        assert!(!rotated.is_empty());
        assert!(
            current.len() < 200,
            "rotated at about 100 bytes: {}",
            current.len()
        );
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn access_events_become_bare_lines_and_other_events_do_not() {
        let dir = std::env::temp_dir().join(format!("stagecraft-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let path = dir.join("access.log");
        let writer = Destination::File(Arc::new(Mutex::new(
            open_rotating(&path, 1 << 20).expect("opens"),
        )));
        let access = AccessLayer { writer }
            .with_filter(Targets::new().with_target(ACCESS_TARGET, tracing::Level::INFO));
        let line =
            "127.0.0.1 - - [02/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"";
        tracing::subscriber::with_default(tracing_subscriber::registry().with(access), || {
            tracing::info!(target: ACCESS_TARGET, "{line}");
            tracing::info!("a server event, not an access line");
            tracing::debug!(target: ACCESS_TARGET, "below the access level");
        });
        let written = std::fs::read_to_string(&path).expect("the log file");
        assert_eq!(written, format!("{line}\n"));
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }
}
