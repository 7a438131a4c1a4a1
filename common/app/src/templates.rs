//! The templates every generated HTML page comes from: the directory listing, the error pages,
//! the status page and the page of the site's form; and the API a reader's own app uses for its
//! pages.
//!
//! No page is written with format strings. A format string puts text into markup as it is, so
//! every `{}` is a place to forget an escape, and one forgotten escape of a file name or a form
//! field is a cross-site-scripting hole. A template engine turns that around: in a template
//! whose name ends in `.html` every `{{ value }}` is HTML-escaped unless the template says
//! otherwise (`|safe`), so forgetting gives an ugly page, not a hole (the escaping is the
//! engine's, of `& < > " ' /`: the characters that can end or start markup or an attribute, as
//! in the HTML standard's section 13.1.2.3 on attribute values).
//!
//! # Why minijinja
//!
//! The two well-kept choices are askama (templates compiled into Rust at build time, checked by
//! the compiler) and minijinja (templates parsed at run time, Jinja2's syntax). This crate uses
//! **minijinja**, because of the reader: an application written on this crate can add its own
//! templates at run time, from strings or files, that `{% extends "base.html" %}` the same
//! layout, without the build step and proc macros that askama's derive needs in the reader's
//! crate, and without recompiling to change a page. What that costs, and how it is paid:
//!
//! - a mistake in a template (a typo'd variable, a bad tag) is found when the template is added
//!   or rendered, not by the compiler. The built-in templates are parsed once, on first use, and
//!   a unit test renders every one of them; undefined variables are errors
//!   ([`minijinja::UndefinedBehavior::Strict`]), not silent blanks;
//! - rendering can fail at run time, so [`page`] never lets it fail the request: a page that
//!   cannot be rendered is logged and answered with a plain-text 500;
//! - rendering is interpreted, slower than askama's compiled code. These pages are errors,
//!   listings and forms, never the hot path the benchmarks measure.
//!
//! The built-in templates live in `common/app/templates/` and are compiled into the binary
//! (`include_str!`), so a stage runs from anywhere without its source tree.
//!
//! # The layout, and what a page may use
//!
//! `base.html` is the layout: a page fills its blocks `title` (the `<title>` text), `main` (the
//! body) and, optionally, `head` (more `<link>` or `<meta>` elements). It links `/style.css`
//! from the document root. HTML responses made here carry [`CONTENT_SECURITY_POLICY`], which
//! allows scripts, styles, images and `fetch` from the page's own origin only: no inline
//! `<script>`, no `style="..."` attributes, no `on...=` handlers. A page that needs script (the
//! status page's self-refreshing chart) loads it from a URL of this server
//! (`<script src="/server-status.js" defer>` in its `head` block) and fetches its data from
//! this origin (`connect-src 'self'`); SVG drawn inline with presentation attributes (`fill`,
//! `stroke`) is markup, not style, and is allowed.
//!
//! # In a reader's app
//!
//! ```
//! use app::templates::{context, Templates};
//! use protocol::StatusCode;
//!
//! let mut templates = Templates::new(); // the built-in ones, base.html among them
//! templates
//!     .add(
//!         "note.html",
//!         r#"{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}
//!            {% block main %}<h1>{{ title }}</h1>{% endblock %}"#,
//!     )
//!     .expect("the template parses");
//! let response = templates.page(StatusCode::OK, "note.html", context! { title => "<b>hi</b>" });
//! assert_eq!(response.status, StatusCode::OK);
//! let html = templates.render("note.html", context! { title => "<b>hi</b>" }).unwrap();
//! assert!(html.contains("<h1>&lt;b&gt;hi&lt;&#x2f;b&gt;</h1>"));
//! ```

use std::fmt;
use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use protocol::{Response, StatusCode};

/// Builds a template context from `key => value` pairs: minijinja's macro, re-exported so that a
/// reader's app needs no dependency of its own.
pub use minijinja::context;

/// The `Content-Security-Policy` of every generated page (see the module doc for what it
/// allows). `default-src 'none'` first, then only what the pages use: a new kind of content is
/// refused until it is named here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The media type of every page made here.
pub const HTML: &str = "text/html; charset=utf-8";

// ANCHOR: builtin_templates
/// The built-in templates, by name: compiled into the binary, parsed on first use.
const BUILTIN: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("listing.html", include_str!("../templates/listing.html")),
    (
        "form_received.html",
        include_str!("../templates/form_received.html"),
    ),
    (
        "upload_received.html",
        include_str!("../templates/upload_received.html"),
    ),
    (
        "server_status.html",
        include_str!("../templates/server_status.html"),
    ),
];
// ANCHOR_END: builtin_templates

/// Why a template could not be added or rendered.
#[derive(Debug)]
pub enum TemplateError {
    /// The template's source does not parse.
    Syntax {
        name: String,
        source: minijinja::Error,
    },
    /// Rendering failed: no template of that name, a variable the context lacks, a filter that
    /// failed on its input.
    Render {
        name: String,
        source: minijinja::Error,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // minijinja's Display names the line and what it expected.
            TemplateError::Syntax { name, source } => {
                write!(f, "template {name} does not parse: {source}")
            }
            TemplateError::Render { name, source } => {
                write!(f, "template {name} could not be rendered: {source}")
            }
        }
    }
}

impl std::error::Error for TemplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TemplateError::Syntax { source, .. } | TemplateError::Render { source, .. } => {
                Some(source)
            }
        }
    }
}

/// A set of templates: the built-in ones, and any an application adds.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates (`base.html`, `error.html`, `listing.html`,
    /// `form_received.html`, `server_status.html`), HTML-escaped by name (`.html`, `.htm`, `.xml`: minijinja's
    /// default), strict about undefined variables.
    pub fn new() -> Templates {
        let mut env = Environment::new();
        // A variable the context lacks is a bug in the page, which a test should see, rather than
        // an empty string in front of a user.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut templates = Templates { env };
        for (name, source) in BUILTIN {
            if let Err(error) = templates.add(*name, *source) {
                // The unit tests parse every built-in template, so this is never reached in a
                // build that passed them; if it were, that page would fail to render (and be
                // answered with the plain-text fallback) rather than stop the server.
                tracing::error!("{error}");
            }
        }
        templates
    }

    /// Adds (or replaces) the template `name`. Its name decides its escaping: a name ending in
    /// `.html` is HTML-escaped. It may `{% extends "base.html" %}`.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<(), TemplateError> {
        let name = name.into();
        self.env
            .add_template_owned(name.clone(), source.into())
            .map_err(|source| TemplateError::Syntax { name, source })
    }

    /// Renders `name` with `context` (anything serde can serialize: a struct, a map, or
    /// [`context!`]).
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        let render_error = |source| TemplateError::Render {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .and_then(|template| template.render(context))
            .map_err(render_error)
    }

    /// The page `name` rendered with `context`, as an HTML response with `status` and
    /// [`CONTENT_SECURITY_POLICY`]. Never fails: a page that cannot be rendered is logged, and
    /// the client gets a plain-text 500 that says so.
    pub fn page(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        match self.render(name, context) {
            Ok(html) => html_response(status, html),
            Err(error) => {
                tracing::error!("{error}");
                Response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "this page could not be rendered; the server's log says why",
                )
            }
        }
    }
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::new()
    }
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field(
                "names",
                &self
                    .env
                    .templates()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The built-in templates, parsed once for the whole process (every thread, task or worker
/// shares them: an `Environment` is `Sync`).
pub fn builtin() -> &'static Templates {
    static BUILTIN_TEMPLATES: OnceLock<Templates> = OnceLock::new();
    BUILTIN_TEMPLATES.get_or_init(Templates::new)
}

/// Renders the built-in template `name` with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<String, TemplateError> {
    builtin().render(name, context)
}

/// The built-in page `name` as a response; see [`Templates::page`].
pub fn page(status: StatusCode, name: &str, context: impl Serialize) -> Response {
    builtin().page(status, name, context)
}

/// `html` as a response with `status`, the HTML media type and [`CONTENT_SECURITY_POLICY`].
pub fn html_response(status: StatusCode, html: String) -> Response {
    Response::with_body(status, HTML, html)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
}

// ANCHOR: form_received_page
/// The page that `POST /` answers with: the fields of the site's form (`form.html`), how many
/// octets the body had, and the protocol it came by (`HTTP/1.1`, `HTTP/2`).
pub fn form_received_page(fields: &[(String, String)], octets: usize, protocol: &str) -> Response {
    page(
        StatusCode::OK,
        "form_received.html",
        context! { fields => fields, octets => octets, protocol => protocol },
    )
}
// ANCHOR_END: form_received_page

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Body;

    fn text(response: &Response) -> String {
        match &response.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("expected an in-memory body, got {other:?}"),
        }
    }

    #[test]
    fn every_builtin_template_parses() {
        let templates = Templates::new();
        for (name, _) in BUILTIN {
            assert!(
                templates.env.get_template(name).is_ok(),
                "{name} did not parse"
            );
        }
    }

    #[test]
    fn the_form_page_escapes_its_fields_and_keeps_the_layout() {
        let fields = vec![
            ("name".to_owned(), "Ada <b>".to_owned()),
            ("note".to_owned(), "a&b \"q\" 'x'".to_owned()),
        ];
        let response = form_received_page(&fields, 42, "HTTP/2");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.headers.get_str("content-type"), Some(HTML));
        assert_eq!(
            response.headers.get_str("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        let page = text(&response);
        assert!(page.starts_with("<!doctype html>"), "{page}");
        assert!(page.contains("<title>Form received</title>"), "{page}");
        assert!(
            page.contains("<link rel=\"stylesheet\" href=\"/style.css\">"),
            "{page}"
        );
        assert!(
            page.contains("<dt>name</dt><dd>Ada &lt;b&gt;</dd>"),
            "{page}"
        );
        assert!(
            page.contains("<dd>a&amp;b &quot;q&quot; &#x27;x&#x27;</dd>"),
            "{page}"
        );
        assert!(page.contains("2 field(s), 42 octets, by HTTP"), "{page}");
        assert!(!page.contains("<script"), "{page}");
    }

    #[test]
    fn an_empty_form_is_zero_fields() {
        let page = text(&form_received_page(&[], 0, "HTTP/1.1"));
        assert!(page.contains("0 field(s), 0 octets"), "{page}");
    }

    #[test]
    fn a_readers_template_extends_the_layout_and_is_escaped() {
        let mut templates = Templates::new();
        templates
            .add(
                "mine.html",
                "{% extends \"base.html\" %}{% block title %}Mine{% endblock %}\
                 {% block main %}<p>{{ who }}</p>{% endblock %}",
            )
            .expect("parses");
        let html = templates
            .render("mine.html", context! { who => "<script>alert(1)</script>" })
            .expect("renders");
        assert!(html.contains("<title>Mine</title>"), "{html}");
        assert!(html.contains("<p>&lt;script&gt;alert(1)"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn mistakes_are_errors_with_the_template_name() {
        let mut templates = Templates::new();
        let error = templates
            .add("broken.html", "{% if %}")
            .expect_err("a bad tag");
        assert!(matches!(error, TemplateError::Syntax { .. }));
        assert!(error
            .to_string()
            .starts_with("template broken.html does not parse"));

        templates
            .add("strict.html", "{{ missing }}")
            .expect("parses");
        let error = templates
            .render("strict.html", context! {})
            .expect_err("an undefined variable");
        assert!(error
            .to_string()
            .starts_with("template strict.html could not be rendered"));
        let error = templates
            .render("nope.html", ())
            .expect_err("no such template");
        assert!(matches!(error, TemplateError::Render { .. }));
    }

    #[test]
    fn a_page_that_cannot_render_is_a_plain_500_not_a_panic() {
        let response = page(StatusCode::OK, "no-such.html", ());
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers.get_str("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}
