//! Validators and conditional requests (RFC 9110 sections 8.8 and 13).
//!
//! A *validator* is metadata that changes when a file changes. This server sends two with every
//! file (section 8.8):
//!
//! - `Last-Modified`: the modification time, to the second (HTTP dates have no finer grain);
//! - `ETag`: an opaque tag, here built from the modification time to the nanosecond and the size.
//!   It is sent as a *strong* validator: two files with the same size and the same nanosecond
//!   timestamp are taken to be the same bytes. A file rewritten within one tick of a coarse file
//!   system clock would break that promise; servers such as nginx accept the same risk.
//!
//! A client that has a copy sends a validator back, and the server answers 304 Not Modified with
//! no content when the copy is still good. Section 13.2.2 fixes the order of evaluation, which
//! [`evaluate`] follows step by step.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protocol::{Headers, Method};

/// The validators of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    /// The strong entity tag, quotes included: `"65f1a2b3.1dcd6500-2a"`.
    pub etag: String,
    /// The modification time truncated to whole seconds, as `Last-Modified` carries it.
    pub last_modified: SystemTime,
}

impl Validators {
    /// Validators for a file of `len` bytes last modified at `modified`.
    pub fn new(len: u64, modified: SystemTime) -> Validators {
        // A time before 1970 is possible on a badly set clock; treat it as the epoch.
        let since_epoch = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        Validators {
            etag: format!(
                "\"{:x}.{:x}-{:x}\"",
                since_epoch.as_secs(),
                since_epoch.subsec_nanos(),
                len
            ),
            last_modified: UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs()),
        }
    }

    /// The `Last-Modified` field value, an IMF-fixdate (section 5.6.7).
    pub fn last_modified_http(&self) -> String {
        httpdate::fmt_http_date(self.last_modified)
    }
}

/// What the preconditions of a request decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Go on and answer the request (a `Range` may still apply).
    Proceed,
    /// 304 Not Modified: the client's copy is current.
    NotModified,
    /// 412 Precondition Failed: the client asked for a state the file is not in.
    Failed,
}

// ANCHOR: evaluate_preconditions
/// Evaluates the preconditions of a GET or HEAD in the order of RFC 9110 section 13.2.2.
pub fn evaluate(method: &Method, headers: &Headers, validators: &Validators) -> Precondition {
    let etag = validators.etag.as_str();
    // 1. If-Match: the client's tag must match ours, strongly.
    if let Some(matched) = field_matches(headers, "if-match", etag, strong_match) {
        if !matched {
            return Precondition::Failed;
        }
    }
    // 2. If-Unmodified-Since, only without If-Match: the file must not have changed since.
    else if let Some(since) = headers.get_str("if-unmodified-since").and_then(parse_date) {
        if validators.last_modified > since {
            return Precondition::Failed;
        }
    }
    // 3. If-None-Match: a match, compared weakly, means the client's copy is current.
    if let Some(matched) = field_matches(headers, "if-none-match", etag, weak_match) {
        if matched {
            return match method {
                Method::Get | Method::Head => Precondition::NotModified,
                _ => Precondition::Failed,
            };
        }
    }
    // 4. If-Modified-Since, only for GET/HEAD without If-None-Match (the tag is the better
    //    validator, so when both are sent the date is ignored).
    else if matches!(method, Method::Get | Method::Head) {
        if let Some(since) = headers.get_str("if-modified-since").and_then(parse_date) {
            if validators.last_modified <= since {
                return Precondition::NotModified;
            }
        }
    }
    // 5. If-Range is decided with the Range field itself: see `if_range_allows`.
    Precondition::Proceed
}
// ANCHOR_END: evaluate_preconditions

/// Whether an `If-Range` value lets the `Range` field apply (section 13.1.5). The range is sent
/// only when the client's validator is still current; otherwise the client gets the whole new
/// file, instead of a piece of it to splice onto an older copy.
///
/// The validator must be strong: an entity-tag compared strongly, or a date equal to
/// `Last-Modified`.
pub fn if_range_allows(value: &str, validators: &Validators) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        strong_match(value, &validators.etag)
    } else {
        parse_date(value) == Some(validators.last_modified)
    }
}

/// An HTTP date; a date that does not parse is ignored, as section 13.1.3 asks.
fn parse_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value.trim()).ok()
}

/// Whether any line of the list field `name` holds a tag that matches `ours`, or `None` when
/// the field is absent. A list field may arrive split over several lines (RFC 9110 section
/// 5.3), so every line counts.
fn field_matches(
    headers: &Headers,
    name: &str,
    ours: &str,
    compare: fn(&str, &str) -> bool,
) -> Option<bool> {
    let mut lines = headers.get_all(name).peekable();
    lines.peek()?;
    Some(
        lines.any(|line| {
            std::str::from_utf8(line).is_ok_and(|line| list_matches(line, ours, compare))
        }),
    )
}

/// Whether a comma-separated list of entity-tags (or `*`) contains `ours`, compared with
/// `compare`. `*` matches any current representation, and a file that was found has one.
///
/// ```text
/// If-None-Match = "*" / #entity-tag
/// entity-tag    = [ "W/" ] DQUOTE *etagc DQUOTE
/// ```
///
/// A tag may itself contain a comma, so the list is read tag by tag, not split on commas.
/// An element that is not a tag ends the reading: what follows cannot be trusted to parse.
fn list_matches(list: &str, ours: &str, compare: fn(&str, &str) -> bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let body_start = if rest.starts_with("W/\"") { 2 } else { 0 };
        if !rest[body_start..].starts_with('"') {
            return false;
        }
        // The closing quote: the first `"` after the opening one.
        let Some(close) = rest[body_start + 1..].find('"') else {
            return false;
        };
        let tag_end = body_start + 1 + close + 1;
        if compare(&rest[..tag_end], ours) {
            return true;
        }
        rest = &rest[tag_end..];
    }
}

/// Strong comparison (section 8.8.3.2): both tags strong and character for character equal.
fn strong_match(theirs: &str, ours: &str) -> bool {
    !theirs.starts_with("W/") && !ours.starts_with("W/") && theirs == ours
}

/// Weak comparison: equal once any `W/` prefix is set aside.
fn weak_match(theirs: &str, ours: &str) -> bool {
    theirs.trim_start_matches("W/") == ours.trim_start_matches("W/")
}

#[cfg(test)]
mod tests;
