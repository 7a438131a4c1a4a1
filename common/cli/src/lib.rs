//! The command line every stage shares, and logging set-up.
//!
//! Each stage's `run.rs` declares its own clap parser, flattens [`ServerArgs`] into it and adds
//! only the flags its model has (`--threads`, `--workers`, both a [`WorkerCount`]). So `--help`
//! reads the same in every stage, and the benchmark harness and the tests start every stage the
//! same way.
//!
//! A bad command line gets one line on stderr and a non-zero exit, never a panic: clap's
//! multi-line usage errors are cut to their first line by [`parse_or_exit`].
//!
//! - [`config`]: every flag also from a TOML file (`--config`) and from `STAGECRAFT_*`
//!   variables, the command line winning; [`Reload`] reads them again on SIGHUP.
//! - [`logging`]: levels, colour on a terminal only, `--log-file` with rotation, the access
//!   log's target.
//! - [`workers`]: `--threads N` and `--workers N`.

use std::ffi::OsString;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use protocol::Limits;

pub mod config;
pub mod logging;
pub mod workers;

pub use config::{ConfigError, Reload};
pub use logging::{init_logging, set_level, ACCESS_TARGET};
pub use workers::{WorkerCount, WorkerCountError};

// ANCHOR: server_args
/// Flags shared by every stage.
#[derive(Args, Clone, Debug)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port (the first line of output says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory to serve static files from [default: the bundled demo site, common/site].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Time from a request's first byte to the end of its head (and between two pieces of a
    /// body) before the server answers 408 and closes: the slowloris defence.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long an idle keep-alive connection is kept open [default: 5s in stages 01-03, 60s from
    /// stage 04 on].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Largest request body accepted, in bytes (larger ones get 413 before they are read).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_MAX_BODY, value_parser = parse_positive_u64)]
    pub max_body: u64,

    /// Most connections held at once, in the stages whose model can hold more than one.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_CONNECTIONS, value_parser = parse_positive_usize)]
    pub max_connections: usize,

    /// On SIGTERM or SIGINT, go on serving this long with GET /healthz answering 503 draining
    /// (so a load balancer's health check takes the server out), then stop.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration_or_zero)]
    pub drain_delay: Duration,

    /// List the contents of a directory that has no index.html (names escaped, hidden files
    /// left out), instead of answering 404.
    #[arg(long)]
    pub dir_listing: bool,

    /// Accept file uploads at POST /upload (multipart/form-data) and save them in DIR, streamed
    /// to disk as they arrive; without it there is no /upload route.
    #[arg(long, value_name = "DIR")]
    pub upload_dir: Option<PathBuf>,

    /// Largest upload body POST /upload accepts, in bytes (past it: 413). Uploads stream to
    /// disk instead of memory, so this may be far above --max-body.
    #[arg(long, value_name = "BYTES", default_value_t = app::upload::DEFAULT_MAX_UPLOAD, value_parser = parse_positive_u64)]
    pub max_upload: u64,
    /// Do not add X-Content-Type-Options: nosniff and Referrer-Policy to every response (the
    /// generated pages keep their own Content-Security-Policy; HSTS is --hsts, in stages 06-07).
    #[arg(long)]
    pub no_security_headers: bool,

    /// The Referrer-Policy every response gets: how much of a page's URL its links send on.
    #[arg(long, value_name = "POLICY", default_value = app::security_headers::DEFAULT_REFERRER_POLICY, value_parser = app::security_headers::parse_referrer_policy)]
    pub referrer_policy: String,

    /// A Content-Security-Policy for every response that has none of its own (the user's static
    /// files too) [default: only the generated pages carry one].
    #[arg(long, value_name = "POLICY", value_parser = app::security_headers::parse_content_security_policy)]
    pub content_security_policy: Option<String>,

    /// Let pages of this origin read the answers (CORS), such as `https://app.example`; repeatable;
    /// * is any origin. Without it no CORS fields are sent.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_cors_origin)]
    pub cors_origin: Vec<app::cors::AllowedOrigin>,

    /// CORS answers allow credentials (cookies, Authorization): Access-Control-Allow-Credentials,
    /// and the origin echoed, never *.
    #[arg(long, requires = "cors_origin")]
    pub cors_credentials: bool,

    /// At most N requests a second from one client address (an IPv6 /64 counts as one), in
    /// bursts of up to N; past it, 429 with Retry-After. Without it, no limit.
    #[arg(long, value_name = "N", value_parser = parse_rate_limit)]
    pub rate_limit: Option<std::num::NonZeroU32>,

    /// At most N connections open at once from one client address (an IPv6 /64 counts as one);
    /// past it, a new connection gets 429 with Retry-After and is closed. Stages 02-07; in
    /// stage 03 each worker counts on its own. Without it, no limit.
    #[arg(long, value_name = "N", value_parser = parse_connections_per_client)]
    pub max_connections_per_client: Option<std::num::NonZeroU32>,

    /// Answer only requests for this host name (port ignored, any case), others get 421: the
    /// DNS-rebinding defence; repeatable; IP literals (`127.0.0.1`, `[::1]`) only when listed.
    #[arg(long, value_name = "NAME", value_parser = parse_allowed_host)]
    pub allowed_host: Vec<app::allowed_hosts::AllowedHost>,

    /// Ask for a user and password (HTTP Basic) on the paths under PREFIX, checked against
    /// FILE's user:bcrypt-hash lines (htpasswd -B makes them); repeatable.
    #[arg(long, value_name = "PREFIX=FILE", value_parser = parse_basic_auth)]
    pub basic_auth: Vec<(String, PathBuf)>,

    /// More log output: -v for each request, -vv for protocol details.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log line format, of the server's log and of the access log (combined log format, or
    /// JSON).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log level filter, beating RUST_LOG and -v: error, warn, info, debug, trace, or
    /// directives (info,protocol=debug). SIGHUP re-reads it.
    #[arg(long, value_name = "LEVEL", value_parser = logging::parse_level)]
    pub log_level: Option<String>,

    /// Write the log, and one access line per request, to FILE instead of stderr, rotated by
    /// size (FILE.1 ... FILE.5).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Size at which --log-file is rotated, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024, value_parser = parse_positive_u64)]
    pub log_file_size: u64,

    /// Read settings from this TOML file (keys are the flags' long names: addr = "127.0.0.1:80",
    /// max_body = 1000), or STAGECRAFT_CONFIG; STAGECRAFT_* variables beat the file, the command
    /// line beats both.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Serve DIR to requests for host NAME (by Host, or HTTP/2's :authority; without case,
    /// port ignored); other hosts get --root. Repeatable.
    #[arg(long, value_name = "NAME=DIR")]
    pub vhost: Vec<app::vhost::VirtualHost>,

    /// Bytes of small static files (and their gzip/brotli forms) kept in memory, e.g. 8MiB;
    /// 0 is off. A changed file may be served in its old form for up to 1 s.
    #[arg(long, value_name = "BYTES", default_value = "0", value_parser = parse_bytes)]
    pub cache_size: u64,

    /// Cache-Control for static files of media type TYPE (type/subtype, type/* or *), tried
    /// before the built-in rules (html no-cache, CSS and JS an hour, images and fonts a day,
    /// the rest five minutes), e.g. 'image/*=public, max-age=604800'. Repeatable.
    #[arg(long, value_name = "TYPE=VALUE")]
    pub cache_control: Vec<app::cache_control::CacheRule>,

    /// Do not compress static files while answering (precompressed .gz/.br siblings are still
    /// sent to clients that accept them).
    #[arg(long)]
    pub no_compress: bool,
}
// ANCHOR_END: server_args

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl ServerArgs {
    /// The first step of a stop for `app`'s server: `/healthz` at 503 for `--drain-delay`.
    pub fn drain(&self, app: &app::App) -> app::Drain {
        app::Drain::new(app, self.drain_delay)
    }

    /// The limits these flags ask for, with `default_idle_timeout` being the stage's own default.
    pub fn limits(&self, default_idle_timeout: Duration) -> Limits {
        Limits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout.unwrap_or(default_idle_timeout),
            max_body: self.max_body,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            ..Limits::default()
        }
    }

    /// The demo site's options these flags ask for.
    pub fn site_options(&self) -> app::SiteOptions {
        app::SiteOptions {
            dir_listing: self.dir_listing,
            access_log: self.access_format(),
            vhosts: self.vhost.clone(),
            static_files: self.static_options(),
            upload: self
                .upload_dir
                .as_ref()
                .map(|dir| app::upload::UploadOptions {
                    dir: dir.clone(),
                    max_upload: self.max_upload,
                }),
            security_headers: !self.no_security_headers,
            referrer_policy: self.referrer_policy.clone(),
            content_security_policy: self.content_security_policy.clone(),
            cors_origins: self.cors_origin.clone(),
            cors_credentials: self.cors_credentials,
            allowed_hosts: self.allowed_host.clone(),
            rate_limit: self.rate_limit,
            basic_auth: self.basic_auth.clone(),
            ..app::SiteOptions::new(&self.root())
        }
    }

    /// The access log's line format that `--log-format` asks for: combined for text, JSON for
    /// JSON. The application's access-log middleware passes it to `app::access_log::access_line`.
    pub fn access_format(&self) -> app::access_log::Format {
        match self.log_format {
            LogFormat::Text => app::access_log::Format::Combined,
            LogFormat::Json => app::access_log::Format::Json,
        }
    }

    /// How static files are sent: the defaults of `app`, with the cache of `--cache-size`,
    /// the `--cache-control` rules first, and `--no-compress`.
    pub fn static_options(&self) -> app::static_files::StaticOptions {
        let mut options = app::static_files::StaticOptions::default();
        options.cache.max_bytes = self.cache_size;
        let mut rules = self.cache_control.clone();
        rules.append(&mut options.cache_control.rules);
        options.cache_control.rules = rules;
        options.compress.on_the_fly = !self.no_compress;
        options
    }

    /// The document root: `--root`, or the bundled site.
    pub fn root(&self) -> PathBuf {
        self.root.clone().unwrap_or_else(app::default_site_root)
    }
}

// ANCHOR: demo_site
/// What every stage's `main` serves: the demo site, with the options these flags ask for. A
/// program with an application of its own hands a stage's `run::main_with` its own function of
/// this shape instead (`examples/notes.rs`), and the stage serves that.
pub fn demo_site(args: &ServerArgs, info: app::AppInfo) -> Result<app::App, app::AppError> {
    app::App::site(&args.site_options(), info, std::time::Instant::now())
}
// ANCHOR_END: demo_site

/// Parses the command line, the environment (`STAGECRAFT_*`) and the config file (`--config`)
/// into `T`, the command line winning (see [`config`]). On `--help` and `--version` prints them
/// and exits 0; on a usage error or a bad setting prints one line (`PROGRAM: error: ...`, naming
/// the file or the variable) and exits 2, the convention of clap and of most Unix tools for a
/// bad command line.
pub fn parse_or_exit<T: Parser>() -> T {
    parse_with_reload().0
}

// ANCHOR: parse_with_reload
/// [`parse_or_exit`], and the handle that reads the same sources again on SIGHUP.
pub fn parse_with_reload<T: Parser>() -> (T, Reload<T>) {
    parse_with_reload_from(std::env::args_os().collect())
}

/// [`parse_with_reload`] of `args` (the program's name first) instead of the process's own: how
/// a program that runs a stage, such as `examples/notes.rs --stage 4`, hands the stage the rest
/// of its command line. SIGHUP reads the same `args` again.
pub fn parse_with_reload_from<T: Parser>(args: Vec<OsString>) -> (T, Reload<T>) {
    match config::resolve::<T>(&args, std::env::vars_os()) {
        config::Outcome::Parsed(parsed) => (parsed, Reload::new(args)),
        config::Outcome::Info(info) => info.exit(),
        config::Outcome::Refused(ConfigError::CommandLine(message)) => {
            exit_with_error(format_args!("{message} (see --help)"), 2)
        }
        config::Outcome::Refused(error) => exit_with_error(error, 2),
    }
}
// ANCHOR_END: parse_with_reload

/// Clap's usage error as one line: its first line, and when that line ends in a colon (`the
/// following required arguments were not provided:`), the indented lines it introduces, which
/// name the flags; the usage summary after them is left to `--help`.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("invalid command line");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    if message.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|line| line.starts_with(' '))
            .map(str::trim)
            .collect();
        message = format!("{} {}", message, listed.join(", "));
    }
    message
}

/// Prints `PROGRAM: error: MESSAGE` on stderr and exits with `code`. For errors a user can fix
/// (a port in use, a missing directory), which deserve a sentence rather than a panic.
pub fn exit_with_error(message: impl Display, code: i32) -> ! {
    let program = std::env::args()
        .next()
        .and_then(|path| path.rsplit('/').next().map(str::to_owned))
        .unwrap_or_else(|| "stagecraft".to_owned());
    eprintln!("{program}: error: {message}");
    std::process::exit(code)
}

/// Accepts humantime durations (`500ms`, `10s`, `2m`) or plain seconds (`10`), but not zero:
/// a zero timeout would close every connection at once.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration_or_zero(text)?;
    if duration.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(duration)
}

/// A duration where zero means "none" (`--drain-delay 0s`): like [`parse_duration`] otherwise.
pub fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text)
            .map_err(|error| format!("{error} (try 500ms, 10s or 2m)")),
    }
}

/// `--cors-origin`: `*` or `scheme://host[:port]` (app::cors says what is refused).
fn parse_cors_origin(text: &str) -> Result<app::cors::AllowedOrigin, String> {
    text.parse()
        .map_err(|error: app::cors::OriginError| error.to_string())
}

/// `--rate-limit`: a whole number of requests a second, at least 1.
fn parse_rate_limit(text: &str) -> Result<std::num::NonZeroU32, String> {
    text.parse()
        .map_err(|_| "must be a whole number of requests a second, at least 1".to_owned())
}

/// `--max-connections-per-client`: a whole number of connections, at least 1.
fn parse_connections_per_client(text: &str) -> Result<std::num::NonZeroU32, String> {
    text.parse()
        .map_err(|_| "must be a whole number of connections, at least 1".to_owned())
}

/// `--allowed-host`: a host name or an IP literal, without a port.
fn parse_allowed_host(text: &str) -> Result<app::allowed_hosts::AllowedHost, String> {
    text.parse()
        .map_err(|error: app::allowed_hosts::HostError| error.to_string())
}

/// `--basic-auth PREFIX=FILE`: the prefix is checked here; the file is read when the site is
/// built, so that an error in it names its line.
fn parse_basic_auth(text: &str) -> Result<(String, PathBuf), String> {
    let Some((prefix, file)) = text.split_once('=') else {
        return Err(format!(
            "{text:?} is not PREFIX=FILE (such as /private=/etc/stagecraft.htpasswd)"
        ));
    };
    let prefix = app::basic_auth::check_prefix(prefix).map_err(|error| error.to_string())?;
    if file.is_empty() {
        return Err(format!("{text:?} names no file after the ="));
    }
    Ok((prefix, PathBuf::from(file)))
}

fn parse_positive_u64(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("must be greater than zero".to_owned()),
        Ok(value) => Ok(value),
        Err(error) => Err(error.to_string()),
    }
}

/// A byte count: digits, optionally followed by KiB, MiB or GiB (or K, M, G: the same powers
/// of 1024).
fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count (e.g. 8388608 or 8MiB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return Err(format!("unknown unit {unit:?} (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text} is too large"))
}

fn parse_positive_usize(text: &str) -> Result<usize, String> {
    parse_positive_u64(text)
        .and_then(|value| usize::try_from(value).map_err(|error| error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn defaults_match_the_design() {
        let cli = TestCli::try_parse_from(["stage"]).unwrap();
        assert_eq!(cli.server.addr, "127.0.0.1:8080".parse().unwrap());
        let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING);
        assert_eq!(limits, Limits::default());
    }

    #[test]
    fn byte_counts_take_binary_units() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("8MiB"), Ok(8 << 20));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert!(parse_bytes("8MB").is_err());
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999G").is_err());
    }

    #[test]
    fn vhosts_and_the_cache_size_parse() {
        let cli = TestCli::try_parse_from([
            "stage",
            "--vhost",
            "A.example=/srv/a",
            "--vhost",
            "b.example=/srv/b",
            "--cache-size",
            "1MiB",
        ])
        .unwrap();
        assert_eq!(cli.server.vhost.len(), 2);
        assert_eq!(cli.server.vhost[0].name, "a.example");
        assert_eq!(cli.server.static_options().cache.max_bytes, 1 << 20);
        assert!(TestCli::try_parse_from(["stage", "--vhost", "nodir"]).is_err());
    }

    #[test]
    fn durations_take_units_or_seconds_but_not_zero() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_usage_error_is_one_line_that_names_the_missing_flags() {
        #[derive(Parser, Debug)]
        struct Pair {
            #[arg(long, requires = "key")]
            cert: Option<String>,
            #[arg(long)]
            key: Option<String>,
        }
        let error = Pair::try_parse_from(["stage", "--cert", "a.pem"]).unwrap_err();
        let message = one_line(&error.render().to_string());
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("--key"), "{message}");
        let error = TestCli::try_parse_from(["stage", "--no-such-flag"]).unwrap_err();
        let message = one_line(&error.render().to_string());
        assert!(
            message.contains("--no-such-flag") && !message.contains('\n'),
            "{message}"
        );
    }

    #[test]
    fn the_guards_flags_reach_the_site_options() {
        let cli = TestCli::try_parse_from(["stage"]).unwrap();
        let options = cli.server.site_options();
        assert!(options.security_headers);
        assert_eq!(options.referrer_policy, "strict-origin-when-cross-origin");
        assert!(options.cors_origins.is_empty() && options.allowed_hosts.is_empty());
        let cli = TestCli::try_parse_from([
            "stage",
            "--no-security-headers",
            "--referrer-policy",
            "No-Referrer",
            "--cors-origin",
            "https://App.example",
            "--cors-origin",
            "*",
            "--cors-credentials",
            "--allowed-host",
            "Example.com",
            "--allowed-host",
            "[::1]",
            "--basic-auth",
            "/private=users.htpasswd",
        ])
        .unwrap();
        let options = cli.server.site_options();
        assert!(!options.security_headers);
        assert_eq!(options.referrer_policy, "no-referrer");
        assert_eq!(
            options.cors_origins,
            [
                app::cors::AllowedOrigin::Origin("https://app.example".into()),
                app::cors::AllowedOrigin::Any
            ]
        );
        assert!(options.cors_credentials);
        assert_eq!(options.allowed_hosts.len(), 2);
        assert_eq!(
            options.basic_auth,
            [("/private".to_owned(), PathBuf::from("users.htpasswd"))]
        );
    }

    #[test]
    fn bad_guard_values_are_refused_with_a_reason() {
        for args in [
            &["--referrer-policy", "nobody"][..],
            &["--cors-origin", "null"],
            &["--cors-origin", "app.example"],
            &["--cors-credentials"],
            &["--allowed-host", "example.com:8080"],
            &["--basic-auth", "/private"],
            &["--basic-auth", "private=file"],
            &["--basic-auth", "/private="],
            &["--content-security-policy", "a\nb"],
        ] {
            let error =
                TestCli::try_parse_from(std::iter::once("stage").chain(args.iter().copied()))
                    .unwrap_err();
            assert!(
                !one_line(&error.render().to_string()).is_empty(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(TestCli::try_parse_from(["stage", "--max-body", "0"]).is_err());
        assert!(TestCli::try_parse_from(["stage", "--addr", "not-an-addr"]).is_err());
        assert!(TestCli::try_parse_from(["stage", "--max-connections", "0"]).is_err());
        let cli = TestCli::try_parse_from(["stage", "--idle-timeout", "1s", "--max-body", "1000"])
            .unwrap();
        let limits = cli.server.limits(Limits::DEFAULT_IDLE_TIMEOUT_BLOCKING);
        assert_eq!(limits.idle_timeout, Duration::from_secs(1));
        assert_eq!(limits.max_body, 1000);
    }
}
