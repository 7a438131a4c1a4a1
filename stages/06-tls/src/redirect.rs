//! `--redirect-http ADDR`: a plain-HTTP listener that answers every request with `308 Permanent
//! Redirect` to the same path on the https port (RFC 9110 section 15.4.9: unlike 301, a 308
//! keeps the method and body, so a POST stays a POST).
//!
//! Each connection is read with the same `protocol::Connection` as everywhere else (a redirect
//! still has to find where a request ends, and refuse a malformed one), answers one request and
//! closes: a browser that follows the redirect never comes back to this port. The whole exchange
//! must finish within `--header-timeout`.

use std::io;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use protocol::{Connection, Event, Limits, Request, Response, StatusCode, Transmit};
use stage05_async::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::debug;

/// Connections the redirect listener serves at once; more wait in the backlog.
const MAX_REDIRECTS_AT_ONCE: usize = 256;

// ANCHOR: redirect
/// Accepts on `listener` until shutdown, answering each connection with a redirect to
/// `https://HOST:https_port/TARGET`.
pub async fn serve(
    listener: TcpListener,
    https_port: u16,
    limits: Arc<Limits>,
    shutdown: Shutdown,
) {
    let slots = Arc::new(Semaphore::new(MAX_REDIRECTS_AT_ONCE));
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.requested() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => (slot, listener.accept().await),
                Err(_closed) => break,
            },
        };
        let (slot, Ok((stream, _peer))) = accepted else {
            continue;
        };
        let limits = Arc::clone(&limits);
        let within = limits.header_timeout;
        shutdown.spawn(async move {
            let answered = redirect_one(stream, https_port, limits);
            if tokio::time::timeout(within, answered).await.is_err() {
                debug!("redirect: no complete request in time");
            }
            drop(slot);
        });
    }
}
// ANCHOR_END: redirect

/// Reads one request and answers it with the redirect (or the machine's refusal), then closes.
async fn redirect_one(stream: TcpStream, https_port: u16, limits: Arc<Limits>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = Connection::new(limits, Instant::now());
    loop {
        while let Some(event) = conn.poll_event() {
            // One request per connection: say `Connection: close` in the answer.
            conn.handle_shutdown(Instant::now());
            let (id, response) = match event {
                Event::Request { id, request } => (id, redirect_response(&request, https_port)),
                Event::Rejected { id, error } => (id, error.response()),
            };
            conn.send_response(id, response, SystemTime::now());
        }
        while let Some(transmit) = conn.poll_transmit() {
            match transmit {
                Transmit::Bytes(bytes) => {
                    stream.writable().await?;
                    match stream.try_write(bytes) {
                        Ok(n) => conn.advance(n, Instant::now()),
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                        Err(error) => return Err(error),
                    }
                }
                // A redirect has no file in it; the machine never asks, but say what it means.
                Transmit::File { .. } => return Err(io::Error::other("a redirect sends no file")),
                Transmit::CloseWrite => {
                    socket2::SockRef::from(&stream).shutdown(std::net::Shutdown::Write)?;
                    conn.handle_write_closed(Instant::now());
                }
            }
        }
        if conn.is_closed() || !conn.wants_read() {
            return Ok(());
        }
        stream.readable().await?;
        match stream.try_read(conn.read_buf()) {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_read(n, Instant::now()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
        if let Some(deadline) = conn.poll_timeout() {
            let now = Instant::now();
            if now >= deadline {
                conn.handle_timeout(now);
            }
        }
    }
}

// ANCHOR: location
/// `308` to the https URL of the same resource: the host the client named (without its port),
/// the https port, the same path and query.
pub fn redirect_response(request: &Request, https_port: u16) -> Response {
    let host = request.headers.get_str("host").and_then(host_without_port);
    let target = request.target.as_str();
    let (Some(host), true) = (host, target.starts_with('/')) else {
        return Response::text(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: a redirect to https needs a Host field and a path\n",
        );
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let location = format!("https://{host}{port}{target}");
    Response::text(
        StatusCode::PERMANENT_REDIRECT,
        format!("Moved to {location}\n"),
    )
    .header("location", location)
}
// ANCHOR_END: location

/// The host part of a `Host` field (RFC 9110 section 7.2): a name or IPv4 address, or an IPv6
/// address in brackets, without `:port`. Anything else (a user part, a path, stray characters)
/// is refused, so the redirect can only ever point at a host, never smuggle a URL in.
fn host_without_port(field: &str) -> Option<&str> {
    let host = if field.starts_with('[') {
        let end = field.find(']')?;
        let (host, rest) = field.split_at(end + 1);
        if !(rest.is_empty() || valid_port(rest)) {
            return None;
        }
        let inner = &host[1..host.len() - 1];
        inner
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            .then_some(host)?
    } else {
        let host = match field.rsplit_once(':') {
            Some((host, port)) if valid_port(&format!(":{port}")) => host,
            Some(_) => return None,
            None => field,
        };
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            .then_some(host)?
    };
    (!host.is_empty()).then_some(host)
}

fn valid_port(colon_port: &str) -> bool {
    colon_port.strip_prefix(':').is_some_and(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Method;

    fn request(host: Option<&str>, target: &str) -> Request {
        let mut request = Request::new(Method::Get, target.to_owned());
        if let Some(host) = host {
            request.headers.append("host", host);
        }
        request
    }

    #[test]
    fn redirects_keep_host_path_and_query_and_change_the_port() {
        let response = redirect_response(&request(Some("localhost:8080"), "/a/b?c=d"), 8443);
        assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.headers.get_str("location"),
            Some("https://localhost:8443/a/b?c=d")
        );
        let response = redirect_response(&request(Some("[::1]:80"), "/"), 443);
        assert_eq!(response.headers.get_str("location"), Some("https://[::1]/"));
    }

    #[test]
    fn hosts_that_could_smuggle_a_url_are_refused() {
        for host in [
            "evil@localhost",
            "a/b",
            "localhost:80x",
            "[::1",
            "[zz]:1",
            "",
            "a b",
        ] {
            let response = redirect_response(&request(Some(host), "/"), 443);
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{host:?}");
        }
        let response = redirect_response(&request(None, "/"), 443);
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        let response = redirect_response(&request(Some("localhost"), "*"), 443);
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
    }
}
