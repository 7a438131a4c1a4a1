//! One connection's task: stage 05's loop, with the TLS layer ([`crate::tls`]) between the
//! socket and the HTTP machine.
//!
//! What changed from stage 05, and only that:
//!
//! - bytes read from the socket go to rustls, and what it decrypts goes to the machine
//!   ([`Tls::receive`]); the machine's output goes to rustls, and what it encrypts goes to the
//!   socket ([`Tls::encrypt`], [`Tls::send`]);
//! - files are read into memory a record at a time and encrypted: `sendfile` cannot encrypt;
//! - the connection starts with a handshake, which has a deadline of its own
//!   (`--handshake-timeout`), so a client that connects and never speaks TLS is cut off;
//! - the first byte tells a TLS client (a handshake record, `0x16`) from a plain HTTP request
//!   (a letter), which gets a plain `400`, as nginx answers;
//! - a close sends `close_notify` before the TCP half-close.
//!
//! The answer step (the application, the blocking pool for `/slow`), the alarm and the wait are
//! stage 05's own code, used from its crate, so that this file holds only what TLS changes.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use app::App;
use driver::refusal;
use protocol::{Connection, Event, Limits, Response, StatusCode};
use rustls::ServerConfig;
use stage05_async::conn::{answer_now, answer_on_blocking_pool, Alarm};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::tls::{Received, Tls, TlsError};

/// Bytes a task writes before it lets the other tasks on its worker run (stage 05's rule).
const WRITE_BUDGET: usize = 1024 * 1024;

/// What every connection shares: the application, the limits, the TLS settings.
pub struct Settings {
    pub app: Arc<App>,
    pub limits: Arc<Limits>,
    pub tls: Arc<ServerConfig>,
    /// How long a client has, from the TCP accept, to finish its handshake.
    pub handshake_timeout: Duration,
    /// The `Strict-Transport-Security` value added to every response, if any (`--hsts`).
    pub hsts: Option<String>,
}

// ANCHOR: serve_connection
/// Serves one connection until it closes, the peer goes away, the handshake fails or times
/// out, or shutdown finishes it.
pub async fn serve_connection(
    stream: TcpStream,
    settings: &Settings,
    stop: CancellationToken,
) -> io::Result<()> {
    // Counted open in /server-status until this returns (the guard's drop); past
    // --max-connections-per-client, the 429 over TLS and the close.
    let _open = match settings
        .app
        .connection_opened_from(stream.peer_addr().ok(), &settings.limits)
    {
        Ok(open) => open,
        Err(max) => {
            // Boxed: inline, the refusal's own TLS session would double the size of every
            // connection's future, refused or not.
            Box::pin(refuse_client_over_tls(stream, settings, max)).await;
            return Ok(());
        }
    };
    stream.set_nodelay(true)?;
    let accepted = Instant::now();
    let handshake_deadline = accepted + settings.handshake_timeout;
    let mut tls = Tls::new(Arc::clone(&settings.tls)).map_err(io::Error::other)?;
    let mut conn = Connection::new(Arc::clone(&settings.limits), accepted)
        .with_peer(stream.peer_addr().ok())
        .with_body_sinks(settings.app.body_sinks());
    let mut stopped = pin!(stop.cancelled());
    let sleep = pin!(tokio::time::sleep_until(accepted.into()));
    let mut alarm = Alarm::new(sleep);
    let mut told_to_stop = false;
    let mut first_byte_seen = false;
    let mut write_closed = false;
    loop {
        // 0. Plaintext decrypted earlier and held while the machine held requests back.
        tls.deliver(&mut conn, Instant::now());

        // 1. Answer the requests the machine has ready, in order (stage 05's step).
        while let Some(event) = conn.poll_event() {
            let (id, response) = match event {
                Event::Request { id, request } if settings.app.may_block(&request) => {
                    let app = Arc::clone(&settings.app);
                    let waiting = Box::pin(answer_on_blocking_pool(request, app));
                    (id, waiting.await)
                }
                other => answer_now(other, &settings.app),
            };
            if !told_to_stop && stop.is_cancelled() {
                told_to_stop = true;
                conn.handle_shutdown(Instant::now());
            }
            conn.send_response(id, with_hsts(response, &settings.hsts), SystemTime::now());
        }
        let held_back = conn.holds_back_requests();

        // 2. Encrypt what the machine has and write it, while the socket takes it.
        let mut budget = WRITE_BUDGET;
        loop {
            let now = Instant::now();
            let close_asked = tls.encrypt(&mut conn, now)?;
            match tls.send(&stream) {
                Ok(written) => budget = budget.saturating_sub(written),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
            if close_asked && !write_closed {
                // close_notify has left: now the TCP half-close (stage 05's `CloseWrite`).
                if tls.finish_close(&stream)? {
                    write_closed = true;
                    conn.handle_write_closed(now);
                }
                break;
            }
            if !conn.wants_write() {
                break;
            }
            if budget == 0 {
                tokio::task::yield_now().await;
                break;
            }
        }
        if conn.is_closed() {
            // The machine closes an idle connection at once (shutdown, idle timeout), with no
            // half-close step: say `close_notify` all the same, so the client can tell a clean
            // end from a cut (a no-op when the half-close above has said it already).
            tls.notify_close(&stream);
            return Ok(());
        }
        if (held_back && !conn.holds_back_requests()) || tls.holds_plaintext_for(&conn) {
            // The socket took enough for held-back requests (or held plaintext) to go on.
            continue;
        }

        // 3. Wait for whichever comes first: the socket, a deadline, the shutdown.
        let wants_read = tls.wants_read(&conn);
        let wants_write = tls.wants_write() || conn.wants_write();
        if !wants_read && !wants_write {
            return Ok(());
        }
        let handshaking = tls.is_handshaking();
        let deadline = match conn.poll_timeout() {
            Some(deadline) if handshaking => Some(deadline.min(handshake_deadline)),
            None if handshaking => Some(handshake_deadline),
            other => other,
        };
        alarm.follow(deadline);
        let mut plain_http = false;
        tokio::select! {
            biased;
            () = &mut stopped, if !told_to_stop => {
                told_to_stop = true;
                if handshaking {
                    // No request can be in flight on a connection without keys yet.
                    return Ok(());
                }
                conn.handle_shutdown(Instant::now());
            }
            () = alarm.sleep.as_mut(), if deadline.is_some() => {
                alarm.rang();
                let now = Instant::now();
                if handshaking && now >= handshake_deadline {
                    debug!(timeout = ?settings.handshake_timeout, "no handshake in time: closing");
                    return Ok(());
                }
                conn.handle_timeout(now);
            }
            readable = stream.readable(), if wants_read => {
                readable?;
                if !first_byte_seen {
                    // `readable` can be a false alarm (tokio says so, and a new socket shows
                    // it), so the peek must not wait: a peek that waited would wait past the
                    // handshake deadline for a client that never speaks. One try; nothing
                    // there yet, and the loop waits again, alarm included.
                    let mut first = [0u8; 1];
                    match peek_now(&stream, &mut first).await {
                        None => continue,
                        Some(peeked) => {
                            plain_http = peeked? == 1 && first[0].is_ascii_alphabetic();
                        }
                    }
                    first_byte_seen = true;
                }
                if !plain_http {
                    match tls.receive(&stream, &mut conn, Instant::now()) {
                        Ok(Received::Ended) => return Ok(()),
                        Ok(Received::Progress | Received::WouldBlock) => {}
                        Err(TlsError::Protocol(error)) => {
                            // rustls queued the alert that says why; one try to send it.
                            debug!(%error, "handshake or record refused: sending the alert");
                            let _ = tls.send(&stream);
                            return Ok(());
                        }
                        Err(TlsError::Io(error)) => return Err(error),
                    }
                    if handshaking && !tls.is_handshaking() {
                        debug!(negotiated = %tls.negotiated(), sni = ?tls.server_name(), "handshake done");
                    }
                }
            }
            writable = stream.writable(), if wants_write => writable?,
        }
        if plain_http {
            refuse_plain_http(stream).await;
            return Ok(());
        }
    }
}
// ANCHOR_END: serve_connection

/// Peeks at what the socket holds without waiting: `None` if it holds nothing yet (and then
/// tokio's readiness is cleared, so the next `readable()` waits for real).
pub async fn peek_now(stream: &TcpStream, into: &mut [u8]) -> Option<io::Result<usize>> {
    let mut buf = tokio::io::ReadBuf::new(into);
    std::future::poll_fn(|cx| {
        Poll::Ready(match stream.poll_peek(cx, &mut buf) {
            Poll::Ready(peeked) => Some(peeked),
            Poll::Pending => None,
        })
    })
    .await
}

/// Adds `Strict-Transport-Security` (RFC 6797): "use https for this host for the next
/// SECONDS". Sent only over TLS, where a browser believes it.
pub fn with_hsts(response: Response, hsts: &Option<String>) -> Response {
    match hsts {
        Some(value) => response.header("strict-transport-security", value),
        None => response,
    }
}

/// The `429` past `--max-connections-per-client` (the app counted it), over TLS like the
/// `503`, within `crate::server::REFUSAL_WITHIN`. Stage 07's TLS port refuses the same way.
pub async fn refuse_client_over_tls(stream: TcpStream, settings: &Settings, max: u32) {
    let response = refusal::client_response(SystemTime::now(), max);
    let refused = refuse_over_tls(stream, Arc::clone(&settings.tls), &response);
    if let Ok(Err(error)) = tokio::time::timeout(crate::server::REFUSAL_WITHIN, refused).await {
        debug!(%error, "a refusal over TLS failed");
    }
}

// ANCHOR: refuse_over_tls
/// The refusal past the connection limit, over TLS: the handshake, `response` encrypted,
/// `close_notify`, the TCP half-close, then stage 05's drain until the client closes (the
/// caller bounds the whole of it in time).
pub async fn refuse_over_tls(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    response: &[u8],
) -> Result<(), TlsError> {
    let mut tls = Tls::new(config).map_err(TlsError::Protocol)?;
    while tls.is_handshaking() {
        flush(&mut tls, &stream).await?;
        stream.readable().await?;
        if let Err(error) = tls.read_and_process(&stream) {
            // Send the alert rustls queued, as a served connection would.
            let _ = tls.send(&stream);
            return Err(error);
        }
        if tls.is_handshaking() && tls.input_ended() {
            return Ok(());
        }
    }
    let mut rest = response;
    while !rest.is_empty() {
        let taken = tls.write_plaintext(rest)?;
        rest = &rest[taken..];
        flush(&mut tls, &stream).await?;
    }
    tls.notify_close(&stream);
    flush(&mut tls, &stream).await?;
    tls.finish_close(&stream)?;
    // Read until the client closes: closing with unread bytes would send a reset that may
    // reach the client before the 503 does (`driver::refusal`'s rule).
    let mut discard = [0u8; 512];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut discard) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Writes all queued ciphertext, waiting for the socket as often as it takes.
async fn flush(tls: &mut Tls, stream: &TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        match tls.send(stream) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
// ANCHOR_END: refuse_over_tls

// ANCHOR: plain_http
/// A plain HTTP request on the TLS port: a `400` in plain text saying so, then stage 05's polite
/// close (half-close, read until the client closes, at most `driver::refusal::LINGER`).
pub async fn refuse_plain_http(stream: TcpStream) {
    let response = protocol::http1::refusal::closing_response(
        StatusCode::BAD_REQUEST,
        SystemTime::now(),
        &[],
        "400 Bad Request: this port speaks HTTPS (TLS); ask for the https:// URL instead\n",
    );
    debug!("a plain HTTP request on the TLS port: 400");
    let _ = tokio::time::timeout(
        refusal::LINGER,
        stage05_async::server::refuse_politely(stream, &response),
    )
    .await;
}
// ANCHOR_END: plain_http

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{self_signed, Resolver};
    use crate::config::{provider, server_config, Crypto, ALPN_HTTP1};
    use app::{default_site_root, App};

    /// What one TLS connection's future holds across its `.await`s (the task's own state; the
    /// rustls session's buffers are on the heap beside it). Stage 05's budget plus what the TLS
    /// layer adds inline: it must stay small, or idle connections stop being cheap.
    #[test]
    fn the_connection_future_is_small() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime starts on any machine that runs tests");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binding 127.0.0.1:0");
            let addr = listener
                .local_addr()
                .expect("a bound listener has an address");
            let _client = TcpStream::connect(addr).await.expect("connecting to it");
            let (stream, _) = listener.accept().await.expect("accepting");
            let cert =
                std::env::temp_dir().join(format!("stage06-future-{}.pem", std::process::id()));
            let provider = Arc::new(provider(Crypto::AwsLcRs, true));
            let certificates = self_signed(&cert, &provider).expect("a self-signed certificate");
            let _ = std::fs::remove_file(&cert);
            let tls = server_config(
                provider,
                Crypto::AwsLcRs,
                Arc::new(Resolver::new(certificates)),
                ALPN_HTTP1,
            )
            .expect("the TLS settings build");
            let settings = Settings {
                app: Arc::new(
                    App::new(&default_site_root(), crate::INFO, Instant::now())
                        .expect("the bundled site exists"),
                ),
                limits: Arc::new(Limits::default()),
                tls: Arc::new(tls),
                handshake_timeout: Duration::from_secs(10),
                hsts: None,
            };
            let future = serve_connection(stream, &settings, CancellationToken::new());
            let size = std::mem::size_of_val(&future);
            let session = std::mem::size_of::<Tls>();
            println!("serve_connection's future: {size} bytes, of which the TLS session {session}");
            // Stage 05's budget for the rest of the state, unchanged.
            assert!(
                size <= 2048 + session,
                "the connection future grew to {size} bytes ({session} of them TLS)"
            );
        });
    }
}
