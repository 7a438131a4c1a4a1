//! Configuration from three sources: a TOML file (`--config FILE`), environment variables
//! (`STAGECRAFT_*`) and the command line, the command line winning over the environment, which
//! wins over the file, which wins over the defaults.
//!
//! There is one list of settings: the flags of the stage's clap parser. Every flag with a long
//! name is also a key of the file (`--max-body` is `max_body`, or `max-body`) and an environment
//! variable (`STAGECRAFT_MAX_BODY`), found by walking clap's [`clap::Command`] at start. So a
//! flag added to [`crate::ServerArgs`], or to one stage's parser (`--threads`,
//! `--workers`, `--cert`...), is settable from all three with no code here.
//!
//! How the sources meet: each value of the file and of the environment is first checked by the
//! flag's own clap value parser, so a bad one is refused with its source named
//! (`environment STAGECRAFT_MAX_BODY: invalid value "ten": ...`). Then the values the command
//! line does not give are put *in front of* the real arguments as `--flag=value`, and clap parses
//! the whole as it parses any command line. Turning the sources into arguments, rather than into
//! clap defaults, keeps every rule clap enforces (`--cert` requires `--key`, conflicts, repeatable
//! flags) the same whatever the source, and leaves `--help` showing the true defaults.
//!
//! Why TOML and not JSON: a config file is written by people, and TOML has comments, needs no
//! quotes around keys and no commas between lines, and is what Rust users know from Cargo. Its
//! types map onto flags one to one: a string or a number is the flag's value, `true` is a
//! switch given, an array is a repeatable flag given once per element.
//!
//! The environment of a process cannot be changed from outside, so the re-reading on SIGHUP
//! ([`Reload`]) sees a changed file, and the same environment and command line as at start.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command, Parser};
use tracing::{info, warn};

use crate::ServerArgs;

/// The prefix of every environment variable the server reads.
pub const ENV_PREFIX: &str = "STAGECRAFT_";

/// The flag that names the config file (and, from the environment, `STAGECRAFT_CONFIG`).
pub const CONFIG_FLAG: &str = "config";

/// Where a setting came from, as an error names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "config file {}", path.display()),
            Source::Env(name) => write!(f, "environment {name}"),
        }
    }
}

/// Why the configuration was refused. Every variant names its source; all are the user's to
/// fix, so a stage exits 2 on them as on a bad command line.
#[derive(Debug)]
pub enum ConfigError {
    /// The config file cannot be read.
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The config file is not TOML; `reason` is the parser's first line with its position.
    NotToml { path: PathBuf, reason: String },
    /// A key of the file, or a `STAGECRAFT_` variable, that names no flag.
    UnknownKey {
        source: Source,
        key: String,
        known: Vec<String>,
    },
    /// A value the flag's parser refuses.
    BadValue {
        source: Source,
        value: String,
        reason: String,
    },
    /// A value of a type the flag cannot take (a table, an array for a flag given once, a
    /// number for a switch).
    WrongType {
        source: Source,
        key: String,
        expected: &'static str,
    },
    /// The command line itself (after the file and the environment) is refused by clap: the
    /// message is clap's first line.
    CommandLine(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unreadable { path, error } => {
                write!(f, "config file {}: cannot read it: {error}", path.display())
            }
            ConfigError::NotToml { path, reason } => {
                write!(
                    f,
                    "config file {}: not valid TOML: {reason}",
                    path.display()
                )
            }
            ConfigError::UnknownKey { source, key, known } => {
                let what = match source {
                    Source::File(_) => "key",
                    Source::Env(_) => "variable",
                };
                write!(
                    f,
                    "{source}: unknown {what} \"{key}\" (known: {})",
                    known.join(", ")
                )
            }
            ConfigError::BadValue {
                source,
                value,
                reason,
            } => write!(f, "{source}: invalid value \"{value}\": {reason}"),
            ConfigError::WrongType {
                source,
                key,
                expected,
            } => write!(f, "{source}: \"{key}\" must be {expected}"),
            ConfigError::CommandLine(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The outcome of reading the three sources: the parsed flags, or a message and an exit code.
/// clap's `--help` and `--version` are not errors but still end the process, so they are kept
/// apart from [`ConfigError`].
#[derive(Debug)]
pub enum Outcome<T> {
    Parsed(T),
    /// `--help` or `--version` was asked for: print this clap error (it is the text) and exit 0.
    Info(clap::Error),
    Refused(ConfigError),
}

// ANCHOR: flag_table
/// One flag as the file and the environment see it.
#[derive(Clone, Debug)]
struct Setting {
    /// clap's id of the argument.
    id: String,
    /// `--long`.
    long: String,
    /// The key in the file: the long name with `_` for `-`.
    key: String,
    /// `STAGECRAFT_` and the key in capitals.
    env: String,
    kind: Kind,
}

/// How a flag takes its values, which decides what a file value may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `--flag VALUE`, once.
    Single,
    /// `--flag VALUE`, repeatable: an array in the file, a comma-free single value in the env.
    Repeated,
    /// `--flag` alone: `true` or `false`.
    Switch,
    /// `-v -v`: a count.
    Count,
}

/// The settings of `command`: every argument with a long name but `--help`, `--version` and
/// `--config` itself.
fn settings(command: &Command) -> Vec<Setting> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            if matches!(long, "help" | "version" | CONFIG_FLAG) {
                return None;
            }
            let key = long.replace('-', "_");
            let kind = match arg.get_action() {
                ArgAction::SetTrue | ArgAction::SetFalse => Kind::Switch,
                ArgAction::Count => Kind::Count,
                ArgAction::Append => Kind::Repeated,
                _ => Kind::Single,
            };
            Some(Setting {
                id: arg.get_id().to_string(),
                long: long.to_owned(),
                env: format!("{ENV_PREFIX}{}", key.to_uppercase()),
                key,
                kind,
            })
        })
        .collect()
}
// ANCHOR_END: flag_table

/// The values one source gives for one flag.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Given {
    Values(Vec<String>),
    Switch(bool),
    Count(u8),
}

// ANCHOR: resolve
/// Parses `T` from `args` (the command line, program name first), `env` (the process's
/// environment) and the config file that `--config` or `STAGECRAFT_CONFIG` names, the command
/// line winning over the environment over the file.
pub fn resolve<T: Parser>(
    args: &[OsString],
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> Outcome<T> {
    let command = T::command();
    // The command line alone first: its own errors (and --help) are reported as they are, and
    // its matches say which flags it gives, which the other sources must not override.
    let cli = match command.clone().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => return clap_outcome(error),
    };
    let table = settings(&command);
    let env = environment(env);

    let config_path = cli
        .get_raw(CONFIG_FLAG)
        .and_then(|mut values| values.next())
        .map(PathBuf::from)
        .or_else(|| env.get("CONFIG").map(PathBuf::from));
    let mut merged: BTreeMap<String, Given> = BTreeMap::new();
    if let Some(path) = config_path {
        match file_values(&path, &command, &table) {
            Ok(values) => merged.extend(values),
            Err(error) => return Outcome::Refused(error),
        }
    }
    match env_values(&env, &command, &table) {
        Ok(values) => merged.extend(values),
        Err(error) => return Outcome::Refused(error),
    }

    // The sources' values as arguments, before the real ones, for the flags the command line
    // does not give.
    let mut full: Vec<OsString> = args.iter().take(1).cloned().collect();
    for setting in &table {
        let Some(given) = merged.get(&setting.id) else {
            continue;
        };
        if cli.value_source(&setting.id) == Some(ValueSource::CommandLine) {
            continue;
        }
        full.extend(as_arguments(setting, given));
    }
    full.extend(args.iter().skip(1).cloned());
    match command.try_get_matches_from(&full) {
        Ok(matches) => match T::from_arg_matches(&matches) {
            Ok(parsed) => Outcome::Parsed(parsed),
            Err(error) => clap_outcome(error),
        },
        Err(error) => clap_outcome(error),
    }
}
// ANCHOR_END: resolve

fn clap_outcome<T>(error: clap::Error) -> Outcome<T> {
    match error.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            Outcome::Info(error)
        }
        _ => Outcome::Refused(ConfigError::CommandLine(crate::one_line(
            &error.render().to_string(),
        ))),
    }
}

/// The `STAGECRAFT_` variables, by the rest of their name. Variables that are not UTF-8 cannot
/// be ours (every flag name is ASCII) and are skipped.
fn environment(env: impl IntoIterator<Item = (OsString, OsString)>) -> BTreeMap<String, String> {
    env.into_iter()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let rest = name.strip_prefix(ENV_PREFIX)?.to_owned();
            Some((rest, value.into_string().ok()?))
        })
        .collect()
}

/// Variables of the prefix that are the kit's or the harness's, not settings of the server.
const FOREIGN_VARIABLES: [&str; 2] = ["CONFIG", "BIN_DIR"];

fn env_values(
    env: &BTreeMap<String, String>,
    command: &Command,
    table: &[Setting],
) -> Result<BTreeMap<String, Given>, ConfigError> {
    let mut values = BTreeMap::new();
    for (rest, value) in env {
        if FOREIGN_VARIABLES.contains(&rest.as_str()) {
            continue;
        }
        let name = format!("{ENV_PREFIX}{rest}");
        let Some(setting) = table.iter().find(|setting| setting.env == name) else {
            return Err(ConfigError::UnknownKey {
                source: Source::Env(name.clone()),
                key: name,
                known: table.iter().map(|setting| setting.env.clone()).collect(),
            });
        };
        let source = Source::Env(name);
        let given = match setting.kind {
            Kind::Switch => Given::Switch(parse_switch(value).ok_or(ConfigError::BadValue {
                source,
                value: value.clone(),
                reason: "expected true or false (or 1 or 0)".to_owned(),
            })?),
            Kind::Count => Given::Count(value.parse().map_err(|_| ConfigError::BadValue {
                source,
                value: value.clone(),
                reason: "expected a count from 0 to 255".to_owned(),
            })?),
            Kind::Single | Kind::Repeated => {
                check_value(command, setting, value, &source)?;
                Given::Values(vec![value.clone()])
            }
        };
        values.insert(setting.id.clone(), given);
    }
    Ok(values)
}

fn parse_switch(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

fn file_values(
    path: &Path,
    command: &Command,
    table: &[Setting],
) -> Result<BTreeMap<String, Given>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
        path: path.to_owned(),
        error,
    })?;
    let document: toml::Table = text.parse().map_err(|error: toml::de::Error| {
        // toml's message is several lines (the line of the file, a caret); its first line and
        // the position say enough on one line.
        let first = error.message().lines().next().unwrap_or("").to_owned();
        let position = error.span().map(|span| {
            let line = text[..span.start].matches('\n').count() + 1;
            format!(" (line {line})")
        });
        ConfigError::NotToml {
            path: path.to_owned(),
            reason: format!("{first}{}", position.unwrap_or_default()),
        }
    })?;
    let source = Source::File(path.to_owned());
    let mut values = BTreeMap::new();
    for (key, value) in &document {
        let normalized = key.replace('-', "_");
        let Some(setting) = table.iter().find(|setting| setting.key == normalized) else {
            return Err(ConfigError::UnknownKey {
                source,
                key: key.clone(),
                known: table.iter().map(|setting| setting.key.clone()).collect(),
            });
        };
        let wrong = |expected| ConfigError::WrongType {
            source: source.clone(),
            key: key.clone(),
            expected,
        };
        let given = match (setting.kind, value) {
            (Kind::Switch, toml::Value::Boolean(on)) => Given::Switch(*on),
            (Kind::Switch, _) => return Err(wrong("true or false")),
            (Kind::Count, toml::Value::Integer(count)) => {
                Given::Count(u8::try_from(*count).map_err(|_| wrong("a count from 0 to 255"))?)
            }
            (Kind::Count, _) => return Err(wrong("a count from 0 to 255")),
            (Kind::Repeated, toml::Value::Array(items)) => {
                let mut texts = Vec::with_capacity(items.len());
                for item in items {
                    let text =
                        scalar(item).ok_or_else(|| wrong("an array of strings or numbers"))?;
                    check_value(command, setting, &text, &source)?;
                    texts.push(text);
                }
                Given::Values(texts)
            }
            (Kind::Single | Kind::Repeated, item) => {
                let text = scalar(item).ok_or_else(|| {
                    wrong(if setting.kind == Kind::Single {
                        "a string, a number or a boolean"
                    } else {
                        "a string, a number or an array of them"
                    })
                })?;
                check_value(command, setting, &text, &source)?;
                Given::Values(vec![text])
            }
        };
        values.insert(setting.id.clone(), given);
    }
    Ok(values)
}

/// A TOML value as the text a command line would give: strings as they are, numbers and booleans
/// written out; arrays, tables and dates are not one value.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(on) => Some(on.to_string()),
        _ => None,
    }
}

/// Runs the flag's own value parser on `value`, so a bad value is refused naming its source
/// rather than as if it had been typed on the command line.
fn check_value(
    command: &Command,
    setting: &Setting,
    value: &str,
    source: &Source,
) -> Result<(), ConfigError> {
    let Some(arg) = command
        .get_arguments()
        .find(|arg| arg.get_id() == setting.id.as_str())
    else {
        return Ok(());
    };
    // clap runs a value parser only inside a parse, so this is a parse of a command with this
    // one flag, its parser and nothing else (the flag's `requires` would name flags not there).
    let alone = Arg::new(arg.get_id().clone())
        .long("value")
        .action(ArgAction::Set)
        .value_parser(arg.get_value_parser().clone());
    Command::new("config")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from([format!("--value={value}")])
        .map(drop)
        .map_err(|error| ConfigError::BadValue {
            source: source.clone(),
            value: value.to_owned(),
            reason: reason(&error, arg),
        })
}

/// What a value parser said, without clap's framing (`invalid value 'x' for '--flag'`), which
/// would name a flag the user did not type.
fn reason(error: &clap::Error, arg: &Arg) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(source) = std::error::Error::source(error) {
        return source.to_string();
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        return format!("expected one of {}", valid.join(", "));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|value| value.get_name().to_owned())
        .collect();
    if !possible.is_empty() {
        return format!("expected one of {}", possible.join(", "));
    }
    let rendered = crate::one_line(&error.render().to_string());
    rendered
        .rsplit_once(": ")
        .map_or(rendered.clone(), |(_, tail)| tail.to_owned())
}

/// One source's value for a flag, as command-line arguments.
fn as_arguments(setting: &Setting, given: &Given) -> Vec<OsString> {
    let flag = format!("--{}", setting.long);
    match given {
        Given::Values(values) => values
            .iter()
            .map(|value| OsString::from(format!("{flag}={value}")))
            .collect(),
        Given::Switch(true) => vec![flag.into()],
        Given::Switch(false) => Vec::new(),
        Given::Count(count) => (0..*count).map(|_| OsString::from(&flag)).collect(),
    }
}

// ANCHOR: reload
/// What is needed to read the configuration again, on SIGHUP: the command line the process was
/// started with. The file is read again from its path, the environment is the process's own.
#[derive(Clone, Debug)]
pub struct Reload<T> {
    args: Vec<OsString>,
    parser: PhantomData<fn() -> T>,
}

impl<T: Parser> Reload<T> {
    /// A handle that re-reads the sources for `args`, the command line the process was given.
    pub fn new(args: Vec<OsString>) -> Reload<T> {
        Reload {
            args,
            parser: PhantomData,
        }
    }

    /// Reads the three sources again. An error leaves the caller's settings as they are: a
    /// server that runs keeps running on a config file with a typo.
    pub fn reread(&self) -> Result<T, ConfigError> {
        match resolve::<T>(&self.args, std::env::vars_os()) {
            Outcome::Parsed(parsed) => Ok(parsed),
            Outcome::Info(error) => Err(ConfigError::CommandLine(crate::one_line(
                &error.render().to_string(),
            ))),
            Outcome::Refused(error) => Err(error),
        }
    }
}
// ANCHOR_END: reload

/// What SIGHUP does once [`Reload::install`] has run: read the sources again and apply what can
/// change without rebinding.
static ON_RELOAD: OnceLock<Box<dyn Fn() + Send + Sync>> = OnceLock::new();

// ANCHOR: install
impl<T: Parser + 'static> Reload<T> {
    /// Makes [`reload_now`] read the configuration again and apply what can change while the
    /// server runs, which is the log level (`--log-level`, `-v`): everything else is fixed at
    /// start (an address is bound, limits are shared by the connections, threads and workers are
    /// started). `server` picks the shared flags out of `T`. A second call is ignored.
    pub fn install(self, server: fn(&T) -> &ServerArgs) {
        let _ = ON_RELOAD.set(Box::new(move || match self.reread() {
            Ok(parsed) => match crate::set_level(server(&parsed)) {
                Ok(Some(level)) => info!(%level, "SIGHUP: configuration read again"),
                Ok(None) => info!("SIGHUP: configuration read again (logging is not ours)"),
                Err(error) => warn!(%error, "SIGHUP: keeping the log level in use"),
            },
            Err(error) => {
                warn!(%error, "SIGHUP: configuration not read again; keeping the settings in use")
            }
        }));
    }

    /// [`install`](Self::install), and a thread that calls [`reload_now`] on every SIGHUP. For
    /// every stage but 03, whose master takes SIGHUP from a signalfd and calls [`reload_now`]
    /// itself before its rolling restart. Beside the TLS stages' own SIGHUP listener (which
    /// reloads the certificates) both run: signal-hook and tokio share one handler that wakes
    /// every listener.
    pub fn on_sighup(self, server: fn(&T) -> &ServerArgs) -> std::io::Result<()> {
        self.install(server);
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
        std::thread::Builder::new()
            .name("sighup".to_owned())
            .spawn(move || {
                for _ in signals.forever() {
                    reload_now();
                }
            })?;
        Ok(())
    }
}
// ANCHOR_END: install

/// Reads the configuration again and applies it, if [`Reload::install`] ran; else nothing.
pub fn reload_now() {
    if let Some(reload) = ON_RELOAD.get() {
        reload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkerCount;

    /// A stage's parser: the shared flags and the kinds of flag stages add.
    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        threads: Option<WorkerCount>,
        #[arg(long)]
        reuseport: bool,
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        sni: Vec<String>,
    }

    /// A config file with `text`, named after the test so parallel tests do not share one.
    fn file(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "stagecraft-config-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("writing a scratch file");
        path
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome<TestCli> {
        let args: Vec<OsString> = std::iter::once("stage")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let env = env
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        resolve::<TestCli>(&args, env)
    }

    fn parsed(args: &[&str], env: &[(&str, &str)]) -> TestCli {
        match run(args, env) {
            Outcome::Parsed(cli) => cli,
            other => panic!("expected a parse, got {other:?}"),
        }
    }

    fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
        match run(args, env) {
            Outcome::Refused(error) => error.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_command_line_beats_the_environment_beats_the_file() {
        let path = file(
            "precedence",
            "addr = \"127.0.0.1:7001\"\nmax_body = 1000\nroot = \"/from/file\"\n",
        );
        let config = path.to_str().expect("UTF-8");
        let cli = parsed(&["--config", config], &[]);
        assert_eq!(cli.server.addr, "127.0.0.1:7001".parse().unwrap());
        assert_eq!(cli.server.max_body, 1000);

        let env = [
            ("STAGECRAFT_MAX_BODY", "2000"),
            ("STAGECRAFT_ADDR", "127.0.0.1:7002"),
        ];
        let cli = parsed(&["--config", config], &env);
        assert_eq!(cli.server.addr, "127.0.0.1:7002".parse().unwrap());
        assert_eq!(cli.server.max_body, 2000);
        assert_eq!(cli.server.root, Some(PathBuf::from("/from/file")));

        let cli = parsed(&["--config", config, "--addr", "127.0.0.1:7003"], &env);
        assert_eq!(cli.server.addr, "127.0.0.1:7003".parse().unwrap());
        assert_eq!(
            cli.server.max_body, 2000,
            "the environment still beats the file"
        );
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn the_upload_flags_come_from_the_file_and_reach_the_site_options() {
        let path = file(
            "uploads",
            "upload_dir = \"/srv/uploads\"\nmax_upload = 5000\n",
        );
        let cli = parsed(&["--config", path.to_str().expect("UTF-8")], &[]);
        let upload = cli.server.site_options().upload.expect("uploads on");
        assert_eq!(upload.dir, PathBuf::from("/srv/uploads"));
        assert_eq!(upload.max_upload, 5000);
        let cli = parsed(&[], &[]);
        assert_eq!(cli.server.site_options().upload, None);
        assert_eq!(cli.server.max_upload, app::upload::DEFAULT_MAX_UPLOAD);
        assert!(refused(&["--max-upload", "0"], &[]).contains("--max-upload"));
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn without_sources_the_defaults_hold() {
        let cli = parsed(&[], &[("PATH", "/bin"), ("STAGECRAFT_BIN_DIR", "/x")]);
        assert_eq!(cli.server.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(cli.server.max_body, protocol::Limits::DEFAULT_MAX_BODY);
        assert!(!cli.reuseport);
    }

    #[test]
    fn stage_flags_switches_counts_and_lists_come_from_the_file() {
        let path = file(
            "kinds",
            "threads = 3\nreuseport = true\nverbose = 2\nsni = [\"a\", \"b\"]\nlog-format = \"json\"\n",
        );
        let cli = parsed(&["--config", path.to_str().expect("UTF-8")], &[]);
        assert_eq!(cli.threads.map(WorkerCount::get), Some(3));
        assert!(cli.reuseport);
        assert_eq!(cli.server.verbose, 2);
        assert_eq!(cli.sni, ["a", "b"]);
        assert_eq!(cli.server.log_format, crate::LogFormat::Json);
        // The command line replaces a list rather than adding to it.
        let cli = parsed(
            &["--config", path.to_str().expect("UTF-8"), "--sni", "c"],
            &[],
        );
        assert_eq!(cli.sni, ["c"]);
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn the_environment_names_the_config_file_too() {
        let path = file("by-env", "max_body = 77\n");
        let cli = parsed(&[], &[("STAGECRAFT_CONFIG", path.to_str().expect("UTF-8"))]);
        assert_eq!(cli.server.max_body, 77);
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn an_unknown_key_names_the_file_and_the_known_keys() {
        let path = file("unknown", "adress = \"127.0.0.1:1\"\n");
        let config = path.to_str().expect("UTF-8");
        let message = refused(&["--config", config], &[]);
        assert!(
            message.starts_with(&format!(
                "config file {config}: unknown key \"adress\" (known: addr, root,"
            )),
            "{message}"
        );
        assert!(
            message.contains("threads") && message.contains("sni"),
            "{message}"
        );
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn an_unknown_variable_is_named() {
        let message = refused(&[], &[("STAGECRAFT_MAX_BODDY", "1")]);
        assert!(
            message.starts_with("environment STAGECRAFT_MAX_BODDY: unknown variable"),
            "{message}"
        );
        assert!(message.contains("STAGECRAFT_MAX_BODY"), "{message}");
    }

    #[test]
    fn bad_values_name_their_source_and_the_parser_reason() {
        let message = refused(&[], &[("STAGECRAFT_MAX_BODY", "ten")]);
        assert_eq!(
            message,
            "environment STAGECRAFT_MAX_BODY: invalid value \"ten\": invalid digit found in string"
        );
        let message = refused(&[], &[("STAGECRAFT_THREADS", "0")]);
        assert!(message.contains("must be at least 1"), "{message}");
        let message = refused(&[], &[("STAGECRAFT_REUSEPORT", "maybe")]);
        assert!(message.contains("expected true or false"), "{message}");

        let path = file("bad-value", "log_format = \"xml\"\n");
        let config = path.to_str().expect("UTF-8");
        let message = refused(&["--config", config], &[]);
        assert_eq!(
            message,
            format!("config file {config}: invalid value \"xml\": expected one of text, json")
        );
        std::fs::remove_file(path).expect("cleans up");
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        for (name, text, expected) in [
            ("table", "[addr]\nport = 1\n", "\"addr\" must be a string"),
            (
                "switch",
                "reuseport = 1\n",
                "\"reuseport\" must be true or false",
            ),
            ("array", "addr = [\"a\"]\n", "\"addr\" must be a string"),
            ("count", "verbose = -1\n", "\"verbose\" must be a count"),
        ] {
            let path = file(name, text);
            let message = refused(&["--config", path.to_str().expect("UTF-8")], &[]);
            assert!(message.contains(expected), "{name}: {message}");
            std::fs::remove_file(path).expect("cleans up");
        }
    }

    #[test]
    fn a_file_that_is_not_toml_or_not_there_is_said_in_words() {
        let path = file("syntax", "addr = \"127.0.0.1:1\"\nmax_body = = 3\n");
        let config = path.to_str().expect("UTF-8");
        let message = refused(&["--config", config], &[]);
        assert!(
            message.starts_with(&format!("config file {config}: not valid TOML:"))
                && message.contains("(line 2)"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        std::fs::remove_file(path).expect("cleans up");
        let message = refused(&["--config", "/nonexistent/stagecraft.toml"], &[]);
        assert!(
            message.starts_with("config file /nonexistent/stagecraft.toml: cannot read it:"),
            "{message}"
        );
    }

    #[test]
    fn clap_rules_hold_across_sources() {
        let path = file("requires", "cert = \"a.pem\"\n");
        let config = path.to_str().expect("UTF-8");
        let message = refused(&["--config", config], &[]);
        assert!(message.contains("--key"), "{message}");
        let cli = parsed(&["--config", config, "--key", "k.pem"], &[]);
        assert_eq!(cli.cert, Some(PathBuf::from("a.pem")));
        std::fs::remove_file(path).expect("cleans up");
        // A bad command line is still clap's one line.
        let message = refused(&["--no-such-flag"], &[]);
        assert!(message.contains("--no-such-flag"), "{message}");
        assert!(matches!(run(&["--help"], &[]), Outcome::Info(_)));
    }

    #[test]
    fn reread_sees_a_changed_file() {
        let path = file("reread", "log_level = \"info\"\n");
        let args = vec![
            OsString::from("stage"),
            OsString::from("--config"),
            path.clone().into_os_string(),
        ];
        let reload = Reload::<TestCli>::new(args);
        let first = reload.reread().expect("reads");
        assert_eq!(first.server.log_level.as_deref(), Some("info"));
        std::fs::write(&path, "log_level = \"debug\"\n").expect("rewrites");
        let second = reload.reread().expect("reads again");
        assert_eq!(second.server.log_level.as_deref(), Some("debug"));
        std::fs::write(&path, "log_level = \"loud=[\"\n").expect("rewrites");
        let error = reload.reread().expect_err("a bad level is refused");
        assert!(error.to_string().contains("invalid value"), "{error}");
        std::fs::remove_file(path).expect("cleans up");
    }
}
