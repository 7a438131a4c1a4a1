//! nginx as the reference row: the server users would deploy instead, configured the way a user
//! configures it for static files, in a configuration file the harness writes into its own
//! temporary directory (nothing under /etc is read but `mime.types`, nothing is written outside
//! the temporary directory).
//!
//! Two rows:
//!
//! - `nginx`: Debian's shipped `nginx.conf` settings that matter here (`sendfile on`,
//!   `tcp_nopush on`, `keepalive_timeout 65`, the shipped `mime.types`), with `access_log off`
//!   because no stage writes an access log either.
//! - `nginx-tuned`: the same plus `open_file_cache`, which keeps open file descriptors and their
//!   metadata between requests instead of `open` + `fstat` + `close` for each one: the first thing
//!   an nginx tuning guide changes for static files.
//!
//! Both run in the foreground (`daemon off`) under the harness, which stops the master by its
//! PID; `worker_processes` matches the cores the server is given. `worker_connections` and
//! `worker_rlimit_nofile` are raised for the 1000-connection and idle-connection scenarios, as
//! anyone holding that many connections would. `/plaintext` is a `return 200` location, the way
//! nginx answers a fixed body.

use std::net::SocketAddr;
use std::path::Path;

/// Which of the two nginx rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    AsShipped,
    Tuned,
}

// ANCHOR: nginx_config
/// nginx.conf for serving `root` on `addr` with `workers` worker processes, keeping its pid
/// file, logs and temporary files in `dir`.
pub fn config(
    flavour: Flavour,
    dir: &Path,
    root: &Path,
    addr: SocketAddr,
    workers: usize,
) -> String {
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
             client_body_temp_path {dir}/client_body;\n    \
             proxy_temp_path {dir}/proxy;\n    \
             fastcgi_temp_path {dir}/fastcgi;\n    \
             uwsgi_temp_path {dir}/uwsgi;\n    \
             scgi_temp_path {dir}/scgi;\n\
         {tuning}    \
             server {{\n        \
                 listen {addr};\n        \
                 root {root};\n        \
                 location = /plaintext {{\n            \
                     default_type text/plain;\n            \
                     return 200 \"Hello, World!\";\n        \
                 }}\n    \
             }}\n\
         }}\n",
        root = root.display(),
    )
}
// ANCHOR_END: nginx_config

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_and_tuned_differ_only_by_the_file_cache() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8081));
        let dir = Path::new("/tmp/bench");
        let root = Path::new("/tmp/bench/root");
        let shipped = config(Flavour::AsShipped, dir, root, addr, 1);
        let tuned = config(Flavour::Tuned, dir, root, addr, 2);
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
    }
}
