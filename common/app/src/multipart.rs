//! A streaming `multipart/form-data` parser (RFC 7578), fed the body in pieces of any size.
//!
//! The body is parts between boundary lines, as RFC 2046 section 5.1.1 defines them:
//!
//! ```text
//! multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
//!                   body-part *encapsulation close-delimiter transport-padding [CRLF epilogue]
//! dash-boundary  := "--" boundary          ; boundary: 1 to 70 bchars, not ending in a space
//! encapsulation  := delimiter transport-padding CRLF body-part
//! delimiter      := CRLF dash-boundary
//! close-delimiter := delimiter "--"
//! body-part      := MIME-part-headers [CRLF *OCTET]
//! transport-padding := *LWSP-char          ; spaces and tabs a sender may add; ignored
//! ```
//!
//! RFC 7578 adds what a form's parts carry: each has `Content-Disposition: form-data;
//! name="field"` (section 4.2), and a file's part also `filename="..."`, with the file's type
//! in its own `Content-Type` (section 4.4).
//!
//! The parser pushes what it finds to a [`Parts`] handler (a part begins, data, it ends), so a
//! file part never has to be held whole: the upload sink writes the data to disk as it comes.
//! What it holds is bounded: one part's header section (at most [`MAX_PART_HEAD`]), and in a
//! part's content the last `delimiter.len() - 1` bytes, which could be the start of a
//! delimiter split across two pieces. A parser that first prepends the CRLF that a delimiter
//! starts with finds the first boundary line with the same search as the others, so "no
//! preamble" needs no case of its own.
//!
//! Not supported, and refused or ignored as the RFC allows: `Content-Transfer-Encoding` other
//! than none (RFC 7578 section 4.7 says senders must not use it; it is ignored), nested
//! `multipart/mixed` parts (deprecated by section 4.3: the part is stored as it is), and the
//! `filename*` parameter (section 4.2: "NOT be used"), which is ignored.

use std::fmt;

/// The longest boundary RFC 2046 allows (section 5.1.1: `1*69<bchars> bcharsnospace`).
pub const MAX_BOUNDARY: usize = 70;

/// The most bytes one part's header section may have: a form part has one or two short
/// fields; this leaves room for long file names.
pub const MAX_PART_HEAD: usize = 8 * 1024;

/// The most parts one body may have.
pub const MAX_PARTS: usize = 1000;

/// What went wrong in a multipart body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data`.
    NotFormData,
    /// The `boundary` parameter is missing, empty, longer than 70 or has characters that
    /// RFC 2046 does not allow.
    BadBoundary,
    /// A boundary line is followed by something other than padding and CRLF, or `--`.
    BadDelimiterLine,
    /// A part's header section is longer than [`MAX_PART_HEAD`].
    PartHeadTooLarge,
    /// A part's header line is not `name: value` ending in CRLF.
    BadPartHeader,
    /// A part without `Content-Disposition: form-data; name=...`.
    NoFieldName,
    /// More than [`MAX_PARTS`] parts.
    TooManyParts,
    /// The body ended before the closing boundary (`--boundary--`): it is cut short.
    Truncated,
    /// The body has no boundary line at all.
    NoParts,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MultipartError::NotFormData => "the body is not multipart/form-data",
            MultipartError::BadBoundary => {
                "the multipart boundary is missing or not 1 to 70 allowed characters"
            }
            MultipartError::BadDelimiterLine => {
                "a boundary line is followed by something other than CRLF or --"
            }
            MultipartError::PartHeadTooLarge => "a part's header section is larger than 8 KiB",
            MultipartError::BadPartHeader => "a part has a malformed header line",
            MultipartError::NoFieldName => {
                "a part has no Content-Disposition: form-data with a name"
            }
            MultipartError::TooManyParts => "the body has more than 1000 parts",
            MultipartError::Truncated => "the body ends before the closing boundary",
            MultipartError::NoParts => "the body has no boundary line",
        })
    }
}

impl std::error::Error for MultipartError {}

/// What a part's header section says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartHead {
    /// The form field's name (`name=` of `Content-Disposition`).
    pub name: String,
    /// The file name the client gave (`filename=`), as sent: not yet made safe.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if any.
    pub content_type: Option<String>,
}

/// Where the parser pushes what it finds. Each method's error stops the parse and is what
/// [`Parser::feed`] returns.
pub trait Parts {
    type Error: From<MultipartError>;
    /// A part begins.
    fn begin(&mut self, head: PartHead) -> Result<(), Self::Error>;
    /// More of its content, in order.
    fn data(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
    /// It ended (the next boundary line arrived).
    fn end(&mut self) -> Result<(), Self::Error>;
}

// ANCHOR: boundary
/// The boundary of a `Content-Type: multipart/form-data; boundary=...` value (the type and
/// parameter names case-insensitive, the value a token or a quoted string).
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut pieces = content_type.split(';');
    let essence = pieces.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotFormData);
    }
    let value = pieces
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim())
        .ok_or(MultipartError::BadBoundary)?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted
            .strip_suffix('"')
            .ok_or(MultipartError::BadBoundary)?,
        None => value,
    };
    // bchars := bcharsnospace / " "; bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" /
    // "+" / "_" / "," / "-" / "." / "/" / ":" / "=" / "?"
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    if value.is_empty()
        || value.len() > MAX_BOUNDARY
        || value.ends_with(' ')
        || !value.chars().all(allowed)
    {
        return Err(MultipartError::BadBoundary);
    }
    Ok(value.to_owned())
}
// ANCHOR_END: boundary

/// Where the parser is in the grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Looking for the first delimiter; what comes before it is preamble, ignored.
    Preamble,
    /// Just after a delimiter: `--` (the close), or padding then CRLF (a part follows).
    AfterDelimiter,
    /// Padding after a delimiter; only spaces, tabs, then CRLF may follow.
    Padding,
    /// The CR of the delimiter line has come; only LF may follow.
    DelimiterLf,
    /// Collecting a part's header section, up to the empty line.
    Head,
    /// In a part's content, looking for the next delimiter.
    Content,
    /// After the close delimiter: the epilogue, ignored.
    Epilogue,
}

// ANCHOR: parser
/// A push parser for one multipart body.
#[derive(Debug)]
pub struct Parser {
    /// `CRLF "--" boundary`: what ends a part (and, after the CRLF the parser prepends, what
    /// starts the first).
    delimiter: Vec<u8>,
    state: State,
    /// Bytes received and not yet used: a part's header section being collected, or the
    /// end of a piece that may be the start of a delimiter.
    held: Vec<u8>,
    parts: usize,
}
// ANCHOR_END: parser

impl Parser {
    /// A parser for a body whose boundary is `boundary` (from [`boundary`]).
    pub fn new(boundary: &str) -> Parser {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Parser {
            delimiter,
            state: State::Preamble,
            // The CRLF in front of the first dash-boundary, so that it is found as a delimiter.
            held: b"\r\n".to_vec(),
            parts: 0,
        }
    }

    /// Parses the next piece of the body, pushing what it completes to `parts`.
    pub fn feed<P: Parts>(&mut self, input: &[u8], parts: &mut P) -> Result<(), P::Error> {
        if self.state == State::Epilogue {
            return Ok(());
        }
        if self.state == State::Content && self.held.is_empty() {
            // The usual case of a large file: parse the piece where it lies, and hold only
            // its last bytes if they may start a delimiter.
            let used = self.content(input, parts)?;
            self.held.extend_from_slice(&input[used..]);
            return self.run(parts);
        }
        self.held.extend_from_slice(input);
        self.run(parts)
    }

    /// The body ended: it must have ended with the close delimiter.
    pub fn finish(&self) -> Result<(), MultipartError> {
        match self.state {
            State::Epilogue => Ok(()),
            State::Preamble => Err(MultipartError::NoParts),
            _ => Err(MultipartError::Truncated),
        }
    }

    /// Runs the state machine over `held` until it needs more input.
    fn run<P: Parts>(&mut self, parts: &mut P) -> Result<(), P::Error> {
        let mut at = 0;
        let result = self.steps(&mut at, parts);
        self.held.drain(..at.min(self.held.len()));
        result
    }

    fn steps<P: Parts>(&mut self, at: &mut usize, parts: &mut P) -> Result<(), P::Error> {
        loop {
            let rest = &self.held[*at..];
            match self.state {
                State::Epilogue => {
                    *at = self.held.len();
                    return Ok(());
                }
                State::Preamble => match find(rest, &self.delimiter) {
                    Some(found) => {
                        *at += found + self.delimiter.len();
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        // Keep only what may be the start of the delimiter.
                        *at += rest.len().saturating_sub(self.delimiter.len() - 1);
                        return Ok(());
                    }
                },
                State::AfterDelimiter => {
                    let Some(&first) = rest.first() else {
                        return Ok(());
                    };
                    if first == b'-' {
                        let Some(&second) = rest.get(1) else {
                            return Ok(());
                        };
                        if second != b'-' {
                            return Err(MultipartError::BadDelimiterLine.into());
                        }
                        *at += 2;
                        self.state = State::Epilogue;
                    } else {
                        self.state = State::Padding;
                    }
                }
                State::Padding => {
                    let Some(&byte) = rest.first() else {
                        return Ok(());
                    };
                    *at += 1;
                    match byte {
                        b' ' | b'\t' => {}
                        b'\r' => self.state = State::DelimiterLf,
                        _ => return Err(MultipartError::BadDelimiterLine.into()),
                    }
                }
                State::DelimiterLf => {
                    let Some(&byte) = rest.first() else {
                        return Ok(());
                    };
                    if byte != b'\n' {
                        return Err(MultipartError::BadDelimiterLine.into());
                    }
                    *at += 1;
                    self.parts += 1;
                    if self.parts > MAX_PARTS {
                        return Err(MultipartError::TooManyParts.into());
                    }
                    self.state = State::Head;
                }
                State::Head => {
                    // An empty header section is a CRLF alone; otherwise it ends at CRLF CRLF.
                    let end = if rest.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        find(rest, b"\r\n\r\n").map(|found| found + 4)
                    };
                    let Some(end) = end.filter(|&end| end <= MAX_PART_HEAD) else {
                        if rest.len() >= MAX_PART_HEAD {
                            return Err(MultipartError::PartHeadTooLarge.into());
                        }
                        return Ok(());
                    };
                    let head = part_head(&rest[..end])?;
                    *at += end;
                    self.state = State::Content;
                    parts.begin(head)?;
                }
                State::Content => {
                    let held = std::mem::take(&mut self.held);
                    let used = self.content(&held[*at..], parts);
                    self.held = held;
                    *at += used?;
                    if self.state == State::Content {
                        return Ok(());
                    }
                }
            }
        }
    }

    // ANCHOR: content
    /// Passes on the content in `input` up to the next delimiter (which ends the part) or up
    /// to the bytes that may start one; returns how many bytes were used.
    fn content<P: Parts>(&mut self, input: &[u8], parts: &mut P) -> Result<usize, P::Error> {
        match find(input, &self.delimiter) {
            Some(found) => {
                parts.data(&input[..found])?;
                parts.end()?;
                self.state = State::AfterDelimiter;
                Ok(found + self.delimiter.len())
            }
            None => {
                // A delimiter may begin in the last `delimiter.len() - 1` bytes, and only
                // at a CR: what comes before the last CR there is content for certain.
                let tail_start = input.len().saturating_sub(self.delimiter.len() - 1);
                let safe = input[tail_start..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .map_or(input.len(), |cr| tail_start + cr);
                parts.data(&input[..safe])?;
                Ok(safe)
            }
        }
    }
    // ANCHOR_END: content
}

/// Where `needle` first occurs in `haystack`. The delimiter starts with CR, which is rare in
/// text and once in 256 bytes in random data, so a scan for CR then a comparison is fast.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let offset = haystack[from..=last_start]
            .iter()
            .position(|&b| b == first)?;
        let at = from + offset;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

// ANCHOR: part_head
/// Reads a part's header section (its lines, each ending in CRLF, then an empty line).
fn part_head(section: &[u8]) -> Result<PartHead, MultipartError> {
    let text = std::str::from_utf8(section).map_err(|_| MultipartError::BadPartHeader)?;
    let mut head = PartHead::default();
    let mut named = false;
    for line in text.split("\r\n").filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(MultipartError::BadPartHeader)?;
        if name.is_empty() || name.contains([' ', '\t', '\n', '\r']) || value.contains(['\r', '\n'])
        {
            return Err(MultipartError::BadPartHeader);
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-disposition") {
            let mut pieces = parameters(value);
            let disposition = pieces.next().map(|(kind, _)| kind);
            if !disposition.is_some_and(|kind| kind.eq_ignore_ascii_case("form-data")) {
                return Err(MultipartError::NoFieldName);
            }
            for (parameter, value) in pieces {
                match parameter.to_ascii_lowercase().as_str() {
                    "name" => {
                        head.name = value.ok_or(MultipartError::NoFieldName)?;
                        named = true;
                    }
                    "filename" => head.filename = value,
                    _ => {}
                }
            }
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.to_owned());
        }
    }
    if !named {
        return Err(MultipartError::NoFieldName);
    }
    Ok(head)
}

/// The `;`-separated pieces of a header value: the first is the value itself, the rest
/// `name=value` parameters whose value is a token or a quoted string (RFC 9110 section
/// 5.6.6, backslash escapes undone). A malformed quoted string ends the list.
fn parameters(value: &str) -> impl Iterator<Item = (&str, Option<String>)> {
    let mut rest = value;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim();
        rest = &rest[name_end..];
        let Some(after_equals) = rest.strip_prefix('=') else {
            return Some((name, None));
        };
        let after_equals = after_equals.trim_start_matches([' ', '\t']);
        if let Some(quoted) = after_equals.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        rest = &quoted[i + 1..];
                        return Some((name, Some(value)));
                    }
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    c => value.push(c),
                }
            }
            rest = "";
            Some((name, None))
        } else {
            let end = after_equals.find(';').unwrap_or(after_equals.len());
            let value = after_equals[..end].trim().to_owned();
            rest = &after_equals[end..];
            Some((name, Some(value)))
        }
    })
}
// ANCHOR_END: part_head

#[cfg(test)]
mod tests;
