//! The printing: the annotated ClientHello as the markdown page the book includes, a row per
//! field ([`markdown`]), with the sentence that says where the capture came from
//! ([`document`]).

use std::fmt::Write as _;

use super::{parse, ClientHello, Error};

/// The annotated ClientHello as markdown: a line saying where it came from (`source`), then a
/// row per field.
pub fn markdown(hello: &ClientHello, source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{source}\n");
    let _ = writeln!(out, "| at | bytes | field | what the client sent |");
    let _ = writeln!(out, "|---:|---:|---|---|");
    for row in &hello.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.at,
            row.len,
            cell(&row.field),
            cell(&row.value)
        );
    }
    out
}

/// A table cell: `|` escaped, and a line-break opportunity (`<wbr>`) after every `_`, since
/// names such as `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256` are one word to a browser and
/// would make the table wider than the page.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('_', "_<wbr>")
}

/// The page the book includes: a sentence on where the capture came from (which `client`, by
/// which `command`), then the table. The same capture always gives the same page, so a test can
/// check that a committed page is what this reader makes of its committed capture.
pub fn document(capture: &[u8], client: &str, command: &str) -> Result<String, Error> {
    let hello = parse(capture)?;
    let records = match hello.records {
        1 => "one record".to_owned(),
        n => format!("{n} records"),
    };
    let source = format!(
        "Captured with `{command}`: the ClientHello {client} sent, {} bytes in {records}, read \
         field by field by `examples/client_hello/hello.rs`. **at** is a field's offset in the \
         capture and **bytes** its length, length prefixes included.",
        hello.total
    );
    Ok(markdown(&hello, &source))
}
