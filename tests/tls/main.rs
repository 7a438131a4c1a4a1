//! Stage 06 (`stage06-tls`) against real TLS peers: the clients and the scanner people point at
//! a TLS server, each started as a user starts it, against the real binary on `127.0.0.1:0`.
//!
//! A plain `cargo test --test tls` on a machine without a peer passes, and says on stderr which
//! checks it left out (`SKIPPED tls::...`); under `CI=true` a missing peer fails instead
//! (`stagekit::peers`). `.ci/run` installs them all.
//!
//! Index of the modules, roughly in the order a connection meets the server:
//!
//! - [`command_line`]: a bad certificate or key, or `--cert` without `--key`: one line on
//!   stderr, exit status 1 (2 for a usage error), nothing on stdout, before anything listens.
//! - [`curl`]: curl trusts the generated certificate (`--cacert`) by name and by address and
//!   gets the site over HTTP/1.1.
//! - [`openssl`]: `openssl s_client`: ALPN (`http/1.1` agreed, `h2` alone refused with
//!   `no_application_protocol`), SNI (two names, two certificates, the default for none),
//!   resumption (`Reused` for TLS 1.2 and 1.3), TLS 1.1 refused.
//! - [`gnutls`]: `gnutls-cli`, a second TLS stack: a page served, ALPN, a resumed session.
//! - [`testssl`]: a testssl.sh scan of protocols, ciphers, server defaults and
//!   vulnerabilities finds nothing rated HIGH or CRITICAL.
//! - [`defences`]: garbage, plain HTTP, a client that never speaks, a slow ClientHello and a
//!   truncated one: each ends that connection, and a second client is served meanwhile;
//!   connections in their handshake count against `--max-connections`.
//! - [`reload`]: SIGHUP and a changed file give new connections the new certificate while an
//!   old connection goes on; a bad new certificate is refused and the old one kept.
//! - [`redirect`]: `--redirect-http` answers 308 to the https URL (curl follows it), and
//!   `--hsts` adds `Strict-Transport-Security` over https only.
//! - [`shutdown`]: SIGTERM ends an idle connection with `close_notify`, exit status 0.
//! - [`chromium`]: headless Chromium renders the bundled site over https; the screenshot is
//!   decoded and checked, and kept in `target/tmp/tls/` to look at.
//!
//! [`support`] starts servers and makes certificates (rcgen) and runs peers with a bound on
//! their time; [`client`] is a small rustls client for what must be seen from inside a
//! connection. Starting, signalling and stopping servers by PID is the stage kit's
//! (`stagekit`, in `tests/kit/`).

mod chromium;
mod client;
mod command_line;
mod curl;
mod defences;
mod gnutls;
mod openssl;
mod redirect;
mod reload;
mod shutdown;
mod support;
mod testssl;
