//! The first line every stage prints: `listening on http://ADDR`.
//!
//! It is the one thing on stdout (logs go to stderr), and it is how people, the conformance
//! suite and the benchmark harness all learn which port a server started with `--addr
//! 127.0.0.1:0` got. So it is written once, here, in one format, only after the socket is
//! listening, and flushed at once: a line still in the buffer is a port nobody can find, and in
//! stage 03 a process forked later would inherit a copy of it and print it a second time.

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;

use tracing::warn;

/// The scheme clients use to reach the server: `http`, or `https` from stage 06 on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

// ANCHOR: announce
/// Prints `listening on SCHEME://ADDR` as a line of its own on stdout and flushes it.
///
/// A stdout that cannot be written (closed by whoever started us) is logged, not fatal: the
/// server still serves whoever knows the port.
pub fn announce(scheme: Scheme, addr: SocketAddr) {
    if let Err(error) = write_line(&mut io::stdout().lock(), scheme, addr) {
        warn!(%error, %addr, "cannot print the listening address on stdout");
    }
}
// ANCHOR_END: announce

/// Prints `redirecting http://ADDR` on stdout, the second line of a TLS stage started with
/// `--redirect-http`: where its plain-HTTP redirect listener is (port 0 picks one here too).
pub fn announce_redirect(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    if let Err(error) = writeln!(out, "redirecting http://{addr}").and_then(|()| out.flush()) {
        warn!(%error, %addr, "cannot print the redirect address on stdout");
    }
}

/// Writes the announcement to `out` and flushes it.
fn write_line(out: &mut impl Write, scheme: Scheme, addr: SocketAddr) -> io::Result<()> {
    writeln!(out, "listening on {scheme}://{addr}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scheme: Scheme, addr: &str) -> String {
        let mut out = Vec::new();
        let addr = addr.parse().expect("a socket address");
        write_line(&mut out, scheme, addr).expect("writing into a Vec");
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn the_line_is_what_tests_and_the_harness_parse() {
        assert_eq!(
            line(Scheme::Http, "127.0.0.1:41234"),
            "listening on http://127.0.0.1:41234\n"
        );
        assert_eq!(
            line(Scheme::Https, "[::1]:443"),
            "listening on https://[::1]:443\n"
        );
    }
}
