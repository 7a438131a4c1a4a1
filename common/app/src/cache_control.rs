//! `Cache-Control` for static files (RFC 9111 section 5.2.2): how long a browser or a shared
//! cache may reuse a file without asking again.
//!
//! The defaults, by media type ([`CacheControl::default`]):
//!
//! | type | `Cache-Control` | why |
//! |---|---|---|
//! | `text/html` | `no-cache` | a page names everything else; it must be fresh, and with the ETag asking again costs a 304 |
//! | CSS, JavaScript | `public, max-age=3600` | an hour: these file names carry no content hash, so a longer life would keep an old style sheet after a change |
//! | images, fonts | `public, max-age=86400` | a day: they change rarely, and there are many of them on a page |
//! | anything else | `public, max-age=300` | five minutes |
//!
//! A site whose asset names carry a content hash (`app.3f2a1c.js`) can give them
//! `public, max-age=31536000, immutable` with a rule of its own. The same value is sent on 200,
//! 206 and 304, as RFC 9110 section 15.4.5 asks of a 304.

use std::fmt;
use std::str::FromStr;

// ANCHOR: cache_control
/// The `Cache-Control` values for static files, by media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheControl {
    /// Rules tried in order; the first whose pattern matches the file's media type wins.
    pub rules: Vec<CacheRule>,
    /// The value for a type no rule matches; `None` sends no `Cache-Control`, which leaves
    /// freshness to the client's heuristics (RFC 9111 section 4.2.2).
    pub fallback: Option<String>,
}

/// One rule: a media-type pattern and the `Cache-Control` value for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheRule {
    /// `type/subtype` (exact), `type/*` (any subtype) or `*` (anything), without case.
    pub pattern: String,
    /// The field value, e.g. `public, max-age=3600`.
    pub value: String,
}
// ANCHOR_END: cache_control

impl Default for CacheControl {
    fn default() -> CacheControl {
        let rule = |pattern: &str, value: &str| CacheRule {
            pattern: pattern.to_owned(),
            value: value.to_owned(),
        };
        CacheControl {
            rules: vec![
                rule("text/html", "no-cache"),
                rule("text/css", "public, max-age=3600"),
                rule("text/javascript", "public, max-age=3600"),
                rule("application/javascript", "public, max-age=3600"),
                rule("image/*", "public, max-age=86400"),
                rule("font/*", "public, max-age=86400"),
            ],
            fallback: Some("public, max-age=300".to_owned()),
        }
    }
}

impl CacheControl {
    /// Sends no `Cache-Control` at all.
    pub fn none() -> CacheControl {
        CacheControl {
            rules: Vec::new(),
            fallback: None,
        }
    }

    /// The value for a file of media type `content_type` (parameters such as `charset` are
    /// ignored).
    pub fn for_type(&self, content_type: &str) -> Option<&str> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        self.rules
            .iter()
            .find(|rule| rule.matches(essence))
            .map(|rule| rule.value.as_str())
            .or(self.fallback.as_deref())
    }
}

impl CacheRule {
    fn matches(&self, essence: &str) -> bool {
        let pattern = self.pattern.as_str();
        if pattern == "*" {
            return true;
        }
        match pattern.strip_suffix("/*") {
            Some(top) => essence
                .split_once('/')
                .is_some_and(|(essence_top, _)| essence_top.eq_ignore_ascii_case(top)),
            None => essence.eq_ignore_ascii_case(pattern),
        }
    }
}

/// Why a `TYPE=VALUE` rule (as a command line or a config file gives it) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheRuleError {
    /// No `=` between the pattern and the value.
    MissingEquals,
    /// The pattern is not `type/subtype`, `type/*` or `*`.
    BadPattern(String),
    /// The value is empty or holds a character a field value cannot (a control character).
    BadValue(String),
}

impl fmt::Display for CacheRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheRuleError::MissingEquals => {
                f.write_str("expected TYPE=VALUE, e.g. text/css=public, max-age=3600")
            }
            CacheRuleError::BadPattern(pattern) => write!(
                f,
                "{pattern:?} is not a media type pattern (type/subtype, type/* or *)"
            ),
            CacheRuleError::BadValue(value) => {
                write!(f, "{value:?} is not a Cache-Control value")
            }
        }
    }
}

impl std::error::Error for CacheRuleError {}

impl FromStr for CacheRule {
    type Err = CacheRuleError;

    /// `TYPE=VALUE`: `text/css=public, max-age=600`, `image/*=no-store`, `*=no-cache`.
    fn from_str(text: &str) -> Result<CacheRule, CacheRuleError> {
        let (pattern, value) = text.split_once('=').ok_or(CacheRuleError::MissingEquals)?;
        let (pattern, value) = (pattern.trim(), value.trim());
        let token = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let valid_pattern = pattern == "*"
            || pattern
                .split_once('/')
                .is_some_and(|(top, sub)| token(top) && (sub == "*" || token(sub)));
        if !valid_pattern {
            return Err(CacheRuleError::BadPattern(pattern.to_owned()));
        }
        if value.is_empty() || value.bytes().any(|b| b.is_ascii_control()) {
            return Err(CacheRuleError::BadValue(value.to_owned()));
        }
        Ok(CacheRule {
            pattern: pattern.to_ascii_lowercase(),
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_by_type() {
        let control = CacheControl::default();
        assert_eq!(
            control.for_type("text/html; charset=utf-8"),
            Some("no-cache")
        );
        assert_eq!(
            control.for_type("text/css; charset=utf-8"),
            Some("public, max-age=3600")
        );
        assert_eq!(control.for_type("image/png"), Some("public, max-age=86400"));
        assert_eq!(
            control.for_type("IMAGE/SVG+XML"),
            Some("public, max-age=86400")
        );
        assert_eq!(
            control.for_type("application/octet-stream"),
            Some("public, max-age=300")
        );
        assert_eq!(CacheControl::none().for_type("text/html"), None);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let mut control = CacheControl::default();
        control
            .rules
            .insert(0, "image/png=no-store".parse().expect("a rule"));
        assert_eq!(control.for_type("image/png"), Some("no-store"));
        assert_eq!(control.for_type("image/gif"), Some("public, max-age=86400"));
    }

    #[test]
    fn rules_parse_or_say_why_not() {
        assert_eq!(
            "Text/CSS = public, max-age=600".parse::<CacheRule>(),
            Ok(CacheRule {
                pattern: "text/css".into(),
                value: "public, max-age=600".into()
            })
        );
        assert!("*=no-cache".parse::<CacheRule>().is_ok());
        assert!("image/*=no-store".parse::<CacheRule>().is_ok());
        assert_eq!(
            "text/css".parse::<CacheRule>(),
            Err(CacheRuleError::MissingEquals)
        );
        assert_eq!(
            "css=max-age=1".parse::<CacheRule>(),
            Err(CacheRuleError::BadPattern("css".into()))
        );
        assert_eq!(
            "text/css=".parse::<CacheRule>(),
            Err(CacheRuleError::BadValue(String::new()))
        );
        assert!("text/css=a\nb".parse::<CacheRule>().is_err());
        assert!(CacheRuleError::MissingEquals
            .to_string()
            .contains("TYPE=VALUE"));
    }
}
