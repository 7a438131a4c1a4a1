//! Stage 07 (`stage07-http2`) against real HTTP/2 peers: curl, nghttp, h2load, Python's `h2`
//! package, httpwg (an h2spec-style conformance suite for RFC 9113) and headless Chromium, each
//! started as a user starts it, against the real binary on `127.0.0.1:0` with its TLS port and
//! its `--h2c` port.
//!
//! A plain `cargo test --test h2` on a machine without a peer passes, and says on stderr which
//! checks it left out (`SKIPPED h2::...`); under `CI=true` a missing peer fails instead
//! (`stagekit::peers`). `.ci/run` installs them all.
//!
//! Index of the modules:
//!
//! - [`curl`]: `curl --http2` over TLS (ALPN `h2`) and `--http2-prior-knowledge` on the h2c
//!   port get `HTTP/2 200` and the body; `--http1.1` still gets HTTP/1.1 on both ports.
//! - [`nghttp`]: `nghttp -nas` fetches the site with its assets over both ports (all 200), and
//!   `h2load -n 2000 -c 4 -m 10` has every request answered, over both.
//! - [`python`]: scripts of the `h2` package (in `tests/h2/scripts/`) for what a stock client
//!   does not do: trailers, a 16-byte window, GOAWAY at shutdown, streams answered out of
//!   order, and the floods (rapid reset, CONTINUATION, PING, one-octet DATA) and a malformed
//!   request.
//! - [`httpwg`]: the httpwg suite against the h2c port; the count of cases passed is printed.
//! - [`chromium`]: headless Chromium loads `/api/info` over https and it says `HTTP/2`.
//! - [`limits`]: one `--max-connections` for both ports.
//!
//! [`support`] starts the server with both ports, and runs peers with a bound on their time
//! (stage 06's `tests/tls/support.rs`, reused for that).

#[path = "h2/chromium.rs"]
mod chromium;
#[path = "h2/curl.rs"]
mod curl;
#[path = "h2/httpwg.rs"]
mod httpwg;
#[path = "h2/limits.rs"]
mod limits;
#[path = "h2/nghttp.rs"]
mod nghttp;
#[path = "h2/python.rs"]
mod python;
#[path = "h2/support.rs"]
mod support;
// Stage 06's peer runner (`run`, `Ran`): a process group of its own, killed when it overstays.
#[path = "tls/support.rs"]
#[allow(dead_code)]
mod tls_support;
