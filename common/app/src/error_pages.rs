//! Error pages: what a client sees when the answer is 4xx or 5xx (RFC 9110 section 15.5 and
//! 15.6 say a server *should* send a representation explaining the error; this module decides
//! which).
//!
//! For an error the application makes (a missing file's 404, a 405, the 400 of a bad path, the
//! 500 of a handler that panicked), [`ErrorPages::render`] answers, in this order:
//!
//! 1. the site's own page, `NNN.html` in the document root (`404.html`, `500.html`, any code),
//!    when there is one: sent to every client with the error's status, as nginx's and Apache's
//!    `error_page` do, because a site that wrote one wants it seen. It is read afresh each
//!    time (an edit shows at once), opened beneath the root like any static file, and it is
//!    sent as it is, not rendered as a template, so a site's file is never a place where a
//!    request's text is put into markup;
//! 2. otherwise, for a client that prefers HTML to plain text by its `Accept` field (a browser,
//!    section 12.5.1), the generated page, `error.html` from [`crate::templates`], which shows
//!    the code, the reason and the detail, escaped;
//! 3. otherwise (curl, scripts, tests: `Accept: */*` or none), the detail as plain text, one
//!    line, as every error of this server was before this module.
//!
//! It never fails: a `404.html` that is broken (a directory of that name, a symlink leading
//! outside the root, larger than [`MAX_CUSTOM_PAGE`], unreadable) is skipped with a warning in
//! the log, and a template that cannot render falls back to the plain text, with the error's own
//! status either way. HEAD gets the same fields (the protocol layer drops the body).
//!
//! What it does not cover: the errors the connection machine sends before there is a request to
//! hand to the application (400 of a malformed head, 408, 413, 414, 431, the 503 past
//! `--max-connections`) stay plain text, since the protocol crate has no document root.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use std::fmt;

use bytes::Bytes;

use super::middleware::{Middleware, Next};
use super::root::DocumentRoot;
use super::templates::{self, context, HTML};
use super::AppError;
use protocol::{Body, Request, Response, StatusCode};

/// The largest `NNN.html` sent; a larger one is taken for a mistake and skipped.
pub const MAX_CUSTOM_PAGE: u64 = 1024 * 1024;

/// The media type of the plain-text errors ([`Response::text`]'s).
const PLAIN: &str = "text/plain; charset=utf-8";

/// Error pages for one document root.
#[derive(Debug)]
pub struct ErrorPages {
    root: DocumentRoot,
    /// Whether a broken `NNN.html` was reported at warning level already: a broken 404 page is
    /// met on every 404, and one warning says it; the rest go to the debug level.
    warned: AtomicBool,
}

impl ErrorPages {
    /// Error pages from the directory `root` (opened beneath, like the static files).
    pub fn open(root: &Path) -> Result<ErrorPages, AppError> {
        DocumentRoot::open(root).map(ErrorPages::new)
    }

    /// Error pages from an opened root.
    pub fn new(root: DocumentRoot) -> ErrorPages {
        ErrorPages {
            root,
            warned: AtomicBool::new(false),
        }
    }

    // ANCHOR: render
    /// The response for the error `status`, with `detail` (one sentence for a person: what went
    /// wrong) for the generated and the plain-text forms.
    pub fn render(&self, request: &Request, status: StatusCode, detail: &str) -> Response {
        if let Some(page) = self.custom_page(status) {
            return Response::with_body(status, HTML, page);
        }
        if !prefers_html(request.headers.get_str("accept")) {
            return Response::text(status, detail);
        }
        let context = context! { code => status.as_u16(), reason => status.reason(), detail };
        match templates::render("error.html", context) {
            Ok(html) => templates::html_response(status, html),
            Err(error) => {
                tracing::error!("{error}");
                Response::text(status, detail)
            }
        }
    }
    // ANCHOR_END: render

    /// `response` dressed as an error page if it is one of the application's own plain-text
    /// errors (4xx or 5xx, made by [`Response::text`]); any other response is returned as it
    /// is, and so is one a handler gave a body of its own type (JSON, say). The fields of the
    /// original (`Allow` of a 405, `Content-Range` of a 416) are kept.
    pub fn dress(&self, request: &Request, response: Response) -> Response {
        let is_plain_error = response.status.as_u16() >= 400
            && response.headers.get_str("content-type") == Some(PLAIN);
        let Body::Bytes(text) = &response.body else {
            return response;
        };
        if !is_plain_error {
            return response;
        }
        let detail = String::from_utf8_lossy(text);
        let mut dressed = self.render(request, response.status, detail.trim_end());
        for (name, value) in response.headers.iter() {
            if !name.eq_ignore_ascii_case("content-type") {
                dressed.headers.append(name, value);
            }
        }
        dressed
    }

    /// The site's `NNN.html`, if it has a good one.
    fn custom_page(&self, status: StatusCode) -> Option<Bytes> {
        let name = format!("{}.html", status.as_u16());
        let mut file = match self.root.open_file(&name) {
            Ok(file) => file,
            // The usual case: the site has no page for this code.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                self.broken(format_args!("{name} cannot be opened ({error})"));
                return None;
            }
        };
        let metadata = file.metadata().ok()?;
        if !metadata.is_file() || metadata.len() > MAX_CUSTOM_PAGE {
            self.broken(format_args!(
                "{name} is not a regular file of at most {MAX_CUSTOM_PAGE} bytes"
            ));
            return None;
        }
        let mut page = Vec::with_capacity(metadata.len() as usize);
        // `take`: a file that grew since the `stat` is still cut at the limit.
        match file.by_ref().take(MAX_CUSTOM_PAGE).read_to_end(&mut page) {
            Ok(_) => Some(Bytes::from(page)),
            Err(error) => {
                self.broken(format_args!("{name} cannot be read ({error})"));
                None
            }
        }
    }

    /// Logs a broken custom page: a warning the first time, debug after.
    fn broken(&self, what: fmt::Arguments<'_>) {
        let root = self.root.path().display();
        // Relaxed: only this flag is read or written, and a second warning in a race is harmless.
        if self.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!("{what} in {root}: sending the generated page");
        } else {
            tracing::warn!("{what} in {root}: sending the generated page (said once; later ones at debug level)");
        }
    }
}

// ANCHOR: prefers_html
/// Whether a client with this `Accept` field would rather have HTML than plain text: the
/// quality (`q`, RFC 9110 section 12.4.2) of `text/html` is higher than that of `text/plain`,
/// each taken from the most specific range that matches it (`text/html` before `text/*` before
/// `*/*`, section 12.5.1). A browser sends `text/html,...,*/*;q=0.8`: HTML. No field, or `*/*`
/// (curl), is a tie: plain text, which reads best in a terminal.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    quality(accept, "text", "html") > quality(accept, "text", "plain")
}
// ANCHOR_END: prefers_html

/// The quality `accept` gives `kind/sub`, in thousandths (section 12.4.2 allows three digits).
fn quality(accept: &str, kind: &str, sub: &str) -> u16 {
    // (specificity, quality) of the best-matching range so far: 2 exact, 1 `kind/*`, 0 `*/*`.
    let mut best: Option<(u8, u16)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let Some((range_kind, range_sub)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (range_kind.trim(), range_sub.trim()) {
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 2,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = parts
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, value)| parse_q(value.trim()));
        if best.is_none_or(|(seen, _)| specificity > seen) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths; a value
/// that breaks the grammar counts as 0, so a garbled range never wins.
fn parse_q(value: &str) -> u16 {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => thousandths,
        "1" if thousandths == 0 => 1000,
        _ => 0,
    }
}

// ANCHOR: error_pages_middleware
/// As middleware, error pages dress every plain-text error the application answers with,
/// whoever made it: the router's 404 and 405, a static file's 403, a handler's 400, the 500 of
/// a handler that panicked.
impl Middleware for ErrorPages {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        self.dress(request, next.run(request))
    }
}
// ANCHOR_END: error_pages_middleware

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::tests::TempDir;
    use protocol::Method;

    const BROWSER: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

    fn request(accept: Option<&str>) -> Request {
        let mut request = Request::new(Method::Get, "/missing");
        if let Some(accept) = accept {
            request.headers.append("accept", accept);
        }
        request
    }

    fn text(response: &Response) -> String {
        match &response.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("an in-memory body, not {other:?}"),
        }
    }

    #[test]
    fn browsers_prefer_html_and_curl_does_not() {
        assert!(prefers_html(Some(BROWSER)));
        assert!(prefers_html(Some("text/html")));
        assert!(prefers_html(Some("text/*;q=0.5, text/plain;q=0.4")));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some("*/*")));
        assert!(!prefers_html(Some("application/json")));
        assert!(!prefers_html(Some("text/html;q=0.5, text/plain")));
        assert!(!prefers_html(Some("text/html;q=0, */*")));
        assert!(
            !prefers_html(Some("text/html;q=2")),
            "a q over 1 is garbled"
        );
        assert!(!prefers_html(Some("garbage, ;;, /")));
        assert_eq!(parse_q("0.25"), 250);
        assert_eq!(parse_q("1.000"), 1000);
        assert_eq!(parse_q("0.1234"), 0);
    }

    #[test]
    fn without_a_page_in_the_root_html_clients_get_the_generated_page() {
        let dir = TempDir::new("generated");
        let pages = ErrorPages::open(&dir.0).expect("opens");
        let detail = "no <b>such</b> file";
        let response = pages.render(&request(Some(BROWSER)), StatusCode::NOT_FOUND, detail);
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.headers.get_str("content-type"), Some(HTML));
        assert!(response.headers.contains("content-security-policy"));
        let html = text(&response);
        assert!(html.contains("<title>404 Not Found</title>"), "{html}");
        assert!(
            html.contains("<p>no &lt;b&gt;such&lt;&#x2f;b&gt; file</p>"),
            "{html}"
        );

        let plain = pages.render(&request(Some("*/*")), StatusCode::NOT_FOUND, "not found");
        assert_eq!(plain.headers.get_str("content-type"), Some(PLAIN));
        assert_eq!(text(&plain), "not found\n");
        let plain = pages.render(&request(None), StatusCode::INTERNAL_SERVER_ERROR, "boom");
        assert_eq!(plain.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(text(&plain), "boom\n");
    }

    #[test]
    fn the_sites_own_page_is_sent_to_every_client_with_the_status() {
        let dir = TempDir::new("custom");
        dir.write("404.html", b"<h1>Lost in the wings</h1>");
        dir.write("500.html", b"<h1>The curtain fell</h1>");
        let pages = ErrorPages::open(&dir.0).expect("opens");
        for accept in [Some(BROWSER), Some("*/*"), None] {
            let response = pages.render(&request(accept), StatusCode::NOT_FOUND, "not found");
            assert_eq!(response.status, StatusCode::NOT_FOUND);
            assert_eq!(response.headers.get_str("content-type"), Some(HTML));
            assert_eq!(text(&response), "<h1>Lost in the wings</h1>");
        }
        let response = pages.render(&request(None), StatusCode::INTERNAL_SERVER_ERROR, "x");
        assert_eq!(text(&response), "<h1>The curtain fell</h1>");
        // No 405.html: the generated page.
        let response = pages.render(&request(None), StatusCode::METHOD_NOT_ALLOWED, "no");
        assert_eq!(text(&response), "no\n");
    }

    #[test]
    fn a_broken_404_html_falls_back_to_the_generated_page() {
        let outside = TempDir::new("outside-404");
        outside.write("404.html", b"outside the root");
        let as_directory = TempDir::new("dir-404");
        std::fs::create_dir(as_directory.0.join("404.html")).expect("mkdir");
        let escaping = TempDir::new("escaping-404");
        std::os::unix::fs::symlink(outside.0.join("404.html"), escaping.0.join("404.html"))
            .expect("symlink");
        let too_big = TempDir::new("big-404");
        too_big.write("404.html", &vec![b'x'; MAX_CUSTOM_PAGE as usize + 1]);
        let dangling = TempDir::new("dangling-404");
        std::os::unix::fs::symlink("nowhere.html", dangling.0.join("404.html")).expect("symlink");
        for dir in [&as_directory, &escaping, &too_big, &dangling] {
            let pages = ErrorPages::open(&dir.0).expect("opens");
            let response = pages.render(&request(Some(BROWSER)), StatusCode::NOT_FOUND, "gone");
            assert_eq!(
                response.status,
                StatusCode::NOT_FOUND,
                "{}",
                dir.0.display()
            );
            let html = text(&response);
            assert!(
                html.contains("<h1>404 Not Found</h1>"),
                "{}: {html}",
                dir.0.display()
            );
            assert!(!html.contains("outside the root"));
        }
    }

    #[test]
    fn dress_turns_plain_errors_into_pages_and_keeps_their_fields() {
        let dir = TempDir::new("dress");
        let pages = ErrorPages::open(&dir.0).expect("opens");
        let error = Response::text(StatusCode::METHOD_NOT_ALLOWED, "DELETE is not allowed here")
            .header("allow", "GET, HEAD, OPTIONS");
        let dressed = pages.dress(&request(Some(BROWSER)), error);
        assert_eq!(dressed.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(dressed.headers.get_str("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(dressed.headers.get_str("content-type"), Some(HTML));
        assert_eq!(dressed.headers.get_all("content-type").count(), 1);
        assert!(text(&dressed).contains("DELETE is not allowed here</p>"));

        let json = Response::with_body(StatusCode::BAD_REQUEST, "application/json", "{}");
        let kept = pages.dress(&request(Some(BROWSER)), json);
        assert_eq!(
            kept.headers.get_str("content-type"),
            Some("application/json")
        );
        let ok = pages.dress(
            &request(Some(BROWSER)),
            Response::text(StatusCode::OK, "fine"),
        );
        assert_eq!(text(&ok), "fine\n");
    }
}
