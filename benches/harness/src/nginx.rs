//! nginx as the reference row: the server users would deploy instead, configured the way a user
//! configures it for static files, in a configuration file the harness writes into its own
//! temporary directory (nothing under /etc is read but `mime.types`, nothing is written outside
//! the temporary directory).
//!
//! Two rows:
//!
//! - `nginx`: Debian's shipped `nginx.conf` settings that matter here (`sendfile on`,
//!   `tcp_nopush on`, `keepalive_timeout 65`, the shipped `mime.types`), with `access_log off`
//!   because no stage writes an access log either, and gzip the way the stages have it on:
//!   level 4 for text of 1 KiB or more, `gzip_static` for a precompressed `.gz` sibling,
//!   `gzip_vary`. Debian ships `gzip on` with the rest commented out; without the types and
//!   `gzip_static`, nginx would compress only HTML and the comparison would not be like for
//!   like. A client that asks for no coding (every scenario but the `gzip-*` ones) gets the
//!   file as it is from both.
//! - `nginx-tuned`: the same plus `open_file_cache`, which keeps open file descriptors and their
//!   metadata between requests instead of `open` + `fstat` + `close` for each one: the first thing
//!   an nginx tuning guide changes for static files.
//!
//! Both run in the foreground (`daemon off`) under the harness, which stops the master by its
//! PID; `worker_processes` matches the cores the server is given. `worker_connections` and
//! `worker_rlimit_nofile` are raised for the 1000-connection and idle-connection scenarios, as
//! anyone holding that many connections would. `/plaintext` is a `return 200` location, the way
//! nginx answers a fixed body.
//!
//! In the TLS scenarios `nginx` listens with `ssl`, on the run's certificate and key (the files
//! stage 06 is given), TLS 1.2 and 1.3, the session cache and tickets both on (as stage 06 has
//! them), and the key-exchange groups stage 06 accepts, less the post-quantum hybrid, which
//! nginx 1.22 on OpenSSL 3.0 does not have ([`TLS_GROUPS`]).
//!
//! In the slow-clients scenario `nginx` has `client_header_timeout` shortened to the stages'
//! `--header-timeout` ([`client_header_timeout`]).
//!
//! In the HTTP/2 scenarios `nginx` has `http2` on its listener, `keepalive_requests` raised, and
//! in h2c `sendfile` off ([`http2`] says why each).

use std::net::SocketAddr;
use std::path::Path;

use crate::tls::Certificate;

/// nginx's `ssl_ecdh_curve`: X25519 first, then P-256, the groups the clients offer.
pub const TLS_GROUPS: &str = "X25519:prime256v1";

/// Which of the two nginx rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    AsShipped,
    Tuned,
}

// ANCHOR: nginx_config
/// nginx.conf for serving `root` on `addr` with `workers` worker processes, keeping its pid
/// file, logs and temporary files in `dir`; over TLS with `tls`.
pub fn config(
    flavour: Flavour,
    dir: &Path,
    root: &Path,
    addr: SocketAddr,
    workers: usize,
    tls: Option<&Certificate>,
) -> String {
    let (ssl, tls) = match tls {
        None => ("", String::new()),
        Some(certificate) => (" ssl", tls_lines(certificate)),
    };
    let dir = dir.display();
    let tuning = match flavour {
        Flavour::AsShipped => "",
        Flavour::Tuned => {
            "    open_file_cache max=10000 inactive=60s;\n    \
             open_file_cache_valid 60s;\n    \
             open_file_cache_min_uses 1;\n    \
             open_file_cache_errors on;\n"
        }
    };
    format!(
        "# Written by the Stagecraft benchmark harness (benches/harness/src/nginx.rs).\n\
         daemon off;\n\
         worker_processes {workers};\n\
         worker_rlimit_nofile 30000;\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\n\
         events {{\n    worker_connections 20000;\n}}\n\
         http {{\n    \
             include /etc/nginx/mime.types;\n    \
             default_type application/octet-stream;\n    \
             access_log off;\n    \
             sendfile on;\n    \
             tcp_nopush on;\n    \
             keepalive_timeout 65;\n    \
             gzip on;\n    \
             gzip_static on;\n    \
             gzip_vary on;\n    \
             gzip_comp_level 4;\n    \
             gzip_min_length 1024;\n    \
             gzip_types text/plain text/css application/javascript application/json image/svg+xml;\n    \
             client_body_temp_path {dir}/client_body;\n    \
             proxy_temp_path {dir}/proxy;\n    \
             fastcgi_temp_path {dir}/fastcgi;\n    \
             uwsgi_temp_path {dir}/uwsgi;\n    \
             scgi_temp_path {dir}/scgi;\n\
         {tuning}    \
             server {{\n        \
                 listen {addr}{ssl};\n        \
                 root {root};\n\
         {tls}        \
                 location = /plaintext {{\n            \
                     default_type text/plain;\n            \
                     return 200 \"Hello, World!\";\n        \
                 }}\n    \
             }}\n\
         }}\n",
        root = root.display(),
    )
}

/// The server block's TLS settings.
fn tls_lines(certificate: &Certificate) -> String {
    format!(
        "        ssl_certificate {cert};\n        \
         ssl_certificate_key {key};\n        \
         ssl_protocols TLSv1.2 TLSv1.3;\n        \
         ssl_ecdh_curve {TLS_GROUPS};\n        \
         ssl_session_cache shared:SSL:10m;\n        \
         ssl_session_tickets on;\n",
        cert = certificate.cert_file.display(),
        key = certificate.key_file.display(),
    )
}
// ANCHOR_END: nginx_config

/// `text` (a [`config`]) speaking HTTP/2 on its listener: `listen ADDR ssl http2;` is h2 by
/// ALPN over TLS (and HTTP/1.1 to a client that asks for it), `listen ADDR http2;` without
/// `ssl` is h2c with prior knowledge only. `keepalive_requests` (which nginx 1.22 also applies
/// to HTTP/2's streams, 1000 by default) is raised because h2load does not open a new
/// connection when nginx ends one with GOAWAY after its 1000th request: with the shipped
/// limit, every connection would stop after 1000 requests and the load with it.
///
/// In h2c, `sendfile` is turned off: nginx 1.22 sends an h2c response's HEADERS frame, then its
/// DATA by sendfile, and with one stream per connection each answer then waits about 40 ms for
/// the client's delayed ACK (measured here with h2load -c 50 -m 1 on the bundled index.html:
/// 1.1k req/s with sendfile, 25k without; over TLS nginx never uses sendfile, so the two HTTP/2
/// rows are then configured alike).
pub fn http2(text: &str) -> String {
    let h2c = !text
        .lines()
        .any(|line| line.trim_start().starts_with("listen ") && line.contains(" ssl"));
    let with_http2: Vec<String> = text
        .lines()
        .map(|line| match line.trim_start().strip_prefix("listen ") {
            Some(rest) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                let rest = rest.trim_end_matches(';');
                format!("{indent}listen {rest} http2;\n{indent}keepalive_requests 100000000;")
            }
            None if h2c && line.trim() == "sendfile on;" => line.replace("on;", "off;"),
            None => line.to_owned(),
        })
        .collect();
    with_http2.join("\n") + "\n"
}

/// `text` (a [`config`]) with `client_header_timeout` set to `timeout` (nginx's own spelling,
/// `2s`), for the slow-clients scenario: a head not complete that long after the connection's
/// request began is ended with a 408 and a close, as the stages' `--header-timeout` does. The
/// shipped value is 60 s.
pub fn client_header_timeout(text: &str, timeout: &str) -> String {
    text.replacen(
        "    keepalive_timeout 65;\n",
        &format!("    keepalive_timeout 65;\n    client_header_timeout {timeout};\n"),
        1,
    )
}

/// `text` (a [`config`]) for nginx run under callgrind: one process, no master, so that the
/// process valgrind starts is the one that answers.
pub fn single_process(text: &str) -> String {
    text.replacen("daemon off;\n", "daemon off;\nmaster_process off;\n", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_and_tuned_differ_only_by_the_file_cache() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8081));
        let dir = Path::new("/tmp/bench");
        let root = Path::new("/tmp/bench/root");
        let shipped = config(Flavour::AsShipped, dir, root, addr, 1, None);
        let tuned = config(Flavour::Tuned, dir, root, addr, 2, None);
        for text in [&shipped, &tuned] {
            assert!(text.contains("daemon off;"));
            assert!(text.contains("access_log off;"));
            assert!(text.contains("sendfile on;"));
            assert!(text.contains("pid /tmp/bench/nginx.pid;"));
            assert!(text.contains("listen 127.0.0.1:8081;"));
            assert!(text.contains("root /tmp/bench/root;"));
            assert_eq!(text.matches('{').count(), text.matches('}').count());
        }
        assert!(shipped.contains("worker_processes 1;"));
        assert!(tuned.contains("worker_processes 2;"));
        assert!(!shipped.contains("open_file_cache"));
        assert!(tuned.contains("open_file_cache max=10000 inactive=60s;"));
        assert!(!shipped.contains("ssl"));
    }

    #[test]
    fn over_tls_it_has_the_runs_certificate_both_versions_and_resumption() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8443));
        let certificate = Certificate {
            cert_file: "/tmp/bench/cert.pem".into(),
            key_file: "/tmp/bench/key.pem".into(),
            der: Vec::new(),
        };
        let dir = Path::new("/tmp/bench");
        let text = config(
            Flavour::AsShipped,
            dir,
            Path::new("/tmp/bench/root"),
            addr,
            1,
            Some(&certificate),
        );
        for line in [
            "listen 127.0.0.1:8443 ssl;",
            "ssl_certificate /tmp/bench/cert.pem;",
            "ssl_certificate_key /tmp/bench/key.pem;",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_ecdh_curve X25519:prime256v1;",
            "ssl_session_cache shared:SSL:10m;",
            "ssl_session_tickets on;",
        ] {
            assert!(text.lines().any(|own| own.trim() == line), "{line}\n{text}");
        }
        // Everything else is the shipped configuration's.
        let plain = config(
            Flavour::AsShipped,
            dir,
            Path::new("/tmp/bench/root"),
            addr,
            1,
            None,
        );
        let without: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("ssl_"))
            .collect();
        let plain_lines: Vec<&str> = plain.lines().collect();
        assert_eq!(without.len(), plain_lines.len());
        assert_eq!(text.matches('{').count(), text.matches('}').count());
        let h2 = http2(&text);
        assert!(
            h2.lines()
                .any(|line| line.trim() == "listen 127.0.0.1:8443 ssl http2;"),
            "{h2}"
        );
        assert!(h2.contains("keepalive_requests 100000000;"));
        assert_eq!(h2.lines().count(), text.lines().count() + 1);
        let h2c = http2(&plain);
        assert!(
            h2c.lines()
                .any(|line| line.trim() == "listen 127.0.0.1:8443 http2;"),
            "{h2c}"
        );
        let slow = client_header_timeout(&plain, "2s");
        assert_eq!(slow.lines().count(), plain.lines().count() + 1);
        assert!(
            slow.lines()
                .any(|line| line.trim() == "client_header_timeout 2s;"),
            "{slow}"
        );
        assert!(!plain.contains("client_header_timeout"));
        let single = single_process(&text);
        assert!(single.contains("daemon off;\nmaster_process off;\n"));
        assert_eq!(single.matches("master_process").count(), 1);
    }
}
