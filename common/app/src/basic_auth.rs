//! HTTP Basic authentication (RFC 7617) for the paths under a prefix, against an htpasswd file
//! of bcrypt hashes.
//!
//! The client sends `Authorization: Basic BASE64(user ":" password)` (RFC 7617 section 2); the
//! server answers a request without valid credentials with 401 and
//! `WWW-Authenticate: Basic realm="...", charset="UTF-8"` (section 2.1: the credentials are
//! then UTF-8), which makes a browser ask the user. The password crosses the network in the
//! clear, base64 being an encoding, not a cipher: use it over TLS (stages 06 and 07) only.
//!
//! # The file, and why bcrypt
//!
//! The passwords are kept as `user:hash` lines, the htpasswd format of Apache httpd and nginx,
//! with bcrypt hashes (`$2y$10$...`, what `htpasswd -B` writes; `$2a$` and `$2b$` are read
//! too). bcrypt because it is salted (one salt per line: equal passwords look different, and no
//! table of precomputed hashes helps) and slow on purpose (2^cost rounds of Blowfish's key
//! schedule: at cost 10, tens of milliseconds a guess), and because the file is then made by a
//! tool everyone has (`htpasswd -B -c FILE user`, Debian's apache2-utils). Argon2id is the
//! stronger modern choice (memory-hard as well as slow), but htpasswd cannot make it and nginx
//! and httpd cannot read it; the MD5 (`$apr1$`), SHA-1 (`{SHA}`) and `crypt` formats that
//! htpasswd also writes are fast to guess, so a line in one of them is refused at start with its
//! line number. The hashes are checked by the `bcrypt` crate, with its non-truncating check: a
//! password longer than bcrypt's 72 bytes is refused, not silently cut.
//!
//! # What it costs
//!
//! Every request under the prefix with credentials pays for one bcrypt check, on whatever runs
//! the handler: stages 01 to 03 block that thread or process (in stage 01, every other client
//! waits), stage 04's event loop stops for every connection, stages 05 to 07 hold a runtime
//! worker. Nothing is cached: a cache of verified passwords would keep them, or a fast hash of
//! them, in memory, which is what bcrypt is there to avoid. A user name not in the file is
//! checked against a hash of the file all the same, so that the time taken does not tell which
//! names exist. Sessions (a cookie after one check) are how real sites avoid the cost.
//!
//! A malformed `Authorization` (another scheme, bad base64, not UTF-8, no colon) is 401 with
//! the challenge too, not 400: the request is well-formed HTTP, only its credentials are not
//! usable, and 401 is what makes a browser ask the user again rather than show an error page.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::middleware::{Middleware, Next};
use crate::path;
use protocol::{Request, Response, StatusCode};

/// Why an htpasswd file (or a `--basic-auth` setting) was refused.
#[derive(Debug)]
pub enum HtpasswdError {
    /// The file cannot be read.
    Unreadable { path: PathBuf, source: io::Error },
    /// The file is not UTF-8.
    NotUtf8 { path: PathBuf },
    /// A line is not `user:hash`.
    NotUserColonHash { path: PathBuf, line: usize },
    /// A line's hash is not a bcrypt hash.
    NotBcrypt {
        path: PathBuf,
        line: usize,
        user: String,
    },
    /// The same user twice.
    DuplicateUser {
        path: PathBuf,
        line: usize,
        user: String,
    },
    /// No users at all: nobody could ever get in, which is surely a mistake.
    NoUsers { path: PathBuf },
}

impl fmt::Display for HtpasswdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HtpasswdError::Unreadable { path, source } => {
                write!(f, "cannot read htpasswd file {}: {source}", path.display())
            }
            HtpasswdError::NotUtf8 { path } => {
                write!(f, "htpasswd file {} is not UTF-8", path.display())
            }
            HtpasswdError::NotUserColonHash { path, line } => write!(
                f,
                "htpasswd file {} line {line}: not user:hash",
                path.display()
            ),
            HtpasswdError::NotBcrypt { path, line, user } => write!(
                f,
                "htpasswd file {} line {line}: the hash of {user:?} is not bcrypt ($2y$...); \
                 make it with htpasswd -B",
                path.display()
            ),
            HtpasswdError::DuplicateUser { path, line, user } => write!(
                f,
                "htpasswd file {} line {line}: {user:?} is in the file twice",
                path.display()
            ),
            HtpasswdError::NoUsers { path } => {
                write!(f, "htpasswd file {} has no users", path.display())
            }
        }
    }
}

impl std::error::Error for HtpasswdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HtpasswdError::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

// ANCHOR: htpasswd
/// The users of an htpasswd file and their bcrypt hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    /// A hash of the file, checked for unknown users so that they cost the same time.
    decoy: String,
}

impl Htpasswd {
    /// Reads and checks the file at `path`.
    pub fn open(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let bytes = std::fs::read(path).map_err(|source| HtpasswdError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| HtpasswdError::NotUtf8 {
            path: path.to_owned(),
        })?;
        Htpasswd::parse(&text, path)
    }

    /// Parses the text of a file (`path` is for the errors). Blank lines are skipped; any other
    /// line is `user:hash` with a bcrypt hash.
    pub fn parse(text: &str, path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let mut users = HashMap::new();
        let mut decoy = None;
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(HtpasswdError::NotUserColonHash {
                    path: path.to_owned(),
                    line: line_number,
                });
            };
            if user.is_empty() || hash.is_empty() {
                return Err(HtpasswdError::NotUserColonHash {
                    path: path.to_owned(),
                    line: line_number,
                });
            }
            let is_bcrypt = ["$2y$", "$2b$", "$2a$"]
                .iter()
                .any(|prefix| hash.starts_with(prefix))
                && hash.parse::<bcrypt::HashParts>().is_ok();
            if !is_bcrypt {
                return Err(HtpasswdError::NotBcrypt {
                    path: path.to_owned(),
                    line: line_number,
                    user: user.to_owned(),
                });
            }
            if users.insert(user.to_owned(), hash.to_owned()).is_some() {
                return Err(HtpasswdError::DuplicateUser {
                    path: path.to_owned(),
                    line: line_number,
                    user: user.to_owned(),
                });
            }
            decoy.get_or_insert_with(|| hash.to_owned());
        }
        match decoy {
            Some(decoy) => Ok(Htpasswd { users, decoy }),
            None => Err(HtpasswdError::NoUsers {
                path: path.to_owned(),
            }),
        }
    }

    /// Whether `password` is `user`'s. Slow on purpose: one bcrypt check, for a user who is in
    /// the file or not.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let (hash, known) = match self.users.get(user) {
            Some(hash) => (hash, true),
            None => (&self.decoy, false),
        };
        // An error (a password over 72 bytes) is a refusal; every hash was parsed at start.
        let matches = bcrypt::non_truncating_verify(password, hash).unwrap_or(false);
        matches && known
    }
}
// ANCHOR_END: htpasswd

// ANCHOR: credentials
/// Why an `Authorization` field gave no usable credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialsError {
    /// No `Authorization` field.
    Missing,
    /// Another scheme than Basic (`Bearer ...`), or no credentials after it.
    NotBasic,
    /// The credentials are not base64.
    NotBase64,
    /// The decoded credentials are not UTF-8 (the challenge asked for UTF-8).
    NotUtf8,
    /// No colon between the user-id and the password.
    NoColon,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialsError::Missing => "no credentials",
            CredentialsError::NotBasic => "the Authorization field is not Basic credentials",
            CredentialsError::NotBase64 => "the Basic credentials are not base64",
            CredentialsError::NotUtf8 => "the Basic credentials are not UTF-8",
            CredentialsError::NoColon => "the Basic credentials have no colon after the user",
        })
    }
}

/// The user-id and password of an `Authorization: Basic` field (RFC 7617 section 2): the
/// scheme in any case, then base64 of `user-id ":" password`, split at the first colon (a
/// user-id cannot hold one; a password can).
pub fn basic_credentials(request: &Request) -> Result<(String, String), CredentialsError> {
    let field = request
        .headers
        .get("authorization")
        .ok_or(CredentialsError::Missing)?;
    let field = std::str::from_utf8(field).map_err(|_| CredentialsError::NotBasic)?;
    let (scheme, token) = field
        .trim()
        .split_once(' ')
        .ok_or(CredentialsError::NotBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(CredentialsError::NotBasic);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(CredentialsError::NotBasic);
    }
    let decoded = STANDARD
        .decode(token)
        .map_err(|_| CredentialsError::NotBase64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| CredentialsError::NotUtf8)?;
    let (user, password) = decoded.split_once(':').ok_or(CredentialsError::NoColon)?;
    Ok((user.to_owned(), password.to_owned()))
}
// ANCHOR_END: credentials

/// Why a `--basic-auth` prefix was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError(String);

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a path prefix: it starts with / and holds no quote, backslash, \
             percent sign, dot-segment or control character",
            self.0
        )
    }
}

impl std::error::Error for PrefixError {}

/// Checks a protected prefix: an absolute path, plain (no `%`: it is compared with the decoded
/// request path) and fit to go in the realm's quoted string.
pub fn check_prefix(prefix: &str) -> Result<String, PrefixError> {
    let bad = !prefix.starts_with('/')
        || prefix
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\\' | '%'))
        || prefix
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    if bad {
        Err(PrefixError(prefix.to_owned()))
    } else {
        Ok(prefix.to_owned())
    }
}

// ANCHOR: basic_auth
/// Asks for Basic credentials on the paths under a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    /// The prefix's segments (`/private/` is `["private"]`; `/` is none, every path).
    prefix: Vec<String>,
    realm: String,
    users: Htpasswd,
}

impl BasicAuth {
    /// Protects the paths under `prefix` (whole segments: `/private` covers `/private` and
    /// `/private/x`, not `/privateer`) with the users of `users`. The realm is the prefix.
    pub fn new(prefix: &str, users: Htpasswd) -> Result<BasicAuth, PrefixError> {
        let prefix = check_prefix(prefix)?;
        Ok(BasicAuth {
            prefix: segments(&prefix),
            realm: prefix,
            users,
        })
    }

    /// Whether `request` is for a path under the prefix. The path is compared decoded, and
    /// without empty segments, so that `/%70rivate/` and `//private` are under `/private` as
    /// the static files would see them. A path that fails the check is left to the
    /// application, which refuses it with 400 and serves nothing.
    fn covers(&self, request: &Request) -> bool {
        let Ok(checked) = path::check_path(request.path()) else {
            return false;
        };
        let decoded: Vec<String> = checked
            .segments()
            .flat_map(|segment| segments(&segment))
            .collect();
        decoded.starts_with(&self.prefix)
    }

    /// The 401 with the challenge.
    fn challenge(&self, why: &str) -> Response {
        Response::text(
            StatusCode::UNAUTHORIZED,
            format!("{why}: this part of the site needs a user name and password"),
        )
        .header(
            "www-authenticate",
            format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm),
        )
    }
}

/// The non-empty segments of `path`, split at every `/` (an encoded one included).
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Middleware for BasicAuth {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        if !self.covers(request) {
            return next.run(request);
        }
        match basic_credentials(request) {
            Ok((user, password)) if self.users.verify(&user, &password) => next.run(request),
            Ok((user, _)) => {
                tracing::info!(user = %user.escape_debug(), realm = %self.realm, "wrong password or unknown user");
                self.challenge("wrong user name or password")
            }
            Err(error) => self.challenge(&error.to_string()),
        }
    }
}
// ANCHOR_END: basic_auth

#[cfg(test)]
mod tests;
