//! One TLS connection's task: stage 06's loop, with HTTP/2 chosen by ALPN and several requests
//! answered at once.
//!
//! What changed from stage 06, and only that:
//!
//! - when the handshake ends, the protocol ALPN agreed on picks the machine: `h2` gets
//!   `Connection::new_http2`, anything else (`http/1.1`, `http/1.0`, no ALPN) keeps stage 06's
//!   HTTP/1.1 machine;
//! - the answer step is [`crate::answer`]'s: on HTTP/2 a blocking handler runs on the blocking
//!   pool while the task answers the other streams, and the wait includes "a handler finished".
//!
//! The TLS layer, the handshake deadline, the plain-HTTP `400`, `close_notify` and the refusal
//! over TLS are stage 06's own code, used from its crate.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use protocol::{Connection, Limits};
use stage05_async::conn::Alarm;
use stage06_tls::conn::{peek_now, refuse_plain_http};
use stage06_tls::tls::{Received, Tls, TlsError};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::answer::Answers;
use crate::ALPN_H2;

/// Bytes a task writes before it lets the other tasks on its worker run (stage 05's rule).
const WRITE_BUDGET: usize = 1024 * 1024;

/// What every connection shares (the application, the limits, the TLS settings): stage 06's.
pub use stage06_tls::conn::Settings;

// ANCHOR: serve_connection
/// Serves one connection until it closes, the peer goes away, the handshake fails or times
/// out, or shutdown finishes it.
pub async fn serve_connection(
    stream: TcpStream,
    settings: &Settings,
    stop: CancellationToken,
) -> io::Result<()> {
    // Counted open in /server-status until this returns (the guard's drop); past
    // --max-connections-per-client, stage 06's 429 over TLS (HTTP/1.1's, as the 503 is).
    let _open = match settings
        .app
        .connection_opened_from(stream.peer_addr().ok(), &settings.limits)
    {
        Ok(open) => open,
        Err(max) => {
            // Boxed, as in stage 06: the refusal's TLS session stays out of this future.
            Box::pin(stage06_tls::conn::refuse_client_over_tls(
                stream, settings, max,
            ))
            .await;
            return Ok(());
        }
    };
    stream.set_nodelay(true)?;
    let accepted = Instant::now();
    let handshake_deadline = accepted + settings.handshake_timeout;
    let mut tls = Tls::new(Arc::clone(&settings.tls)).map_err(io::Error::other)?;
    // HTTP/1.1 until ALPN says otherwise (`choose_machine`, when the handshake ends).
    let mut conn = Connection::new(Arc::clone(&settings.limits), accepted)
        .with_peer(stream.peer_addr().ok())
        .with_body_sinks(settings.app.body_sinks());
    let mut answers = Answers::new(&settings.app, &settings.hsts, &stop);
    let mut stopped = pin!(stop.cancelled());
    let sleep = pin!(tokio::time::sleep_until(accepted.into()));
    let mut alarm = Alarm::new(sleep);
    let mut first_byte_seen = false;
    let mut write_closed = false;
    loop {
        // 0. Plaintext decrypted earlier and held while the machine held requests back.
        tls.deliver(&mut conn, Instant::now());

        // 1. Answer the requests the machine has ready: HTTP/1.1 in order, one at a time;
        //    HTTP/2 all at once, the blocking ones left running (`crate::answer`).
        answers.answer_ready(&mut conn).await;
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
            log_connection_error(&conn);
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
        let running = answers.are_running();
        if !wants_read && !wants_write && !running {
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
            () = &mut stopped, if !answers.told_to_stop() => {
                if handshaking {
                    // No request can be in flight on a connection without keys yet.
                    return Ok(());
                }
                answers.shut_down(&mut conn);
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
                    // Stage 06's `Tls::receive` in its two halves, so that the machine can be
                    // chosen between them: the records that end the handshake may carry the
                    // client's first HTTP/2 bytes, which must reach the HTTP/2 machine.
                    let read = match tls.read_and_process(&stream) {
                        Ok(read) => read,
                        Err(TlsError::Protocol(error)) => {
                            // rustls queued the alert that says why; one try to send it.
                            debug!(%error, "handshake or record refused: sending the alert");
                            let _ = tls.send(&stream);
                            return Ok(());
                        }
                        Err(TlsError::Io(error)) => return Err(error),
                    };
                    if handshaking && !tls.is_handshaking() {
                        debug!(negotiated = %tls.negotiated(), sni = ?tls.server_name(), "handshake done");
                        choose_machine(&tls, &mut conn, &settings.limits, accepted);
                    }
                    if read != Received::WouldBlock {
                        tls.deliver(&mut conn, Instant::now());
                    }
                    if read == Received::Ended && tls.is_handshaking() {
                        return Ok(());
                    }
                }
            }
            writable = stream.writable(), if wants_write => writable?,
            () = answers.finish_next(&mut conn), if running => {}
        }
        if plain_http {
            refuse_plain_http(stream).await;
            return Ok(());
        }
    }
}
// ANCHOR_END: serve_connection

// ANCHOR: choose_machine
/// The ALPN choice (RFC 7301 section 3.2; RFC 9113 section 3.2: "The "h2" string identifies
/// the protocol where HTTP/2 uses TLS"): `h2` replaces the HTTP/1.1 machine made at accept with
/// an HTTP/2 one, which expects the client's connection preface and sends the server's
/// SETTINGS itself. Nothing is lost in the swap: no plaintext reaches a machine before the
/// handshake ends. Any other protocol, or none, keeps HTTP/1.1.
fn choose_machine(tls: &Tls, conn: &mut Connection, limits: &Arc<Limits>, accepted: Instant) {
    if tls.alpn_protocol() == Some(ALPN_H2) {
        *conn = Connection::new_http2(Arc::clone(limits), accepted)
            .with_peer(conn.peer())
            .with_body_sinks(conn.body_sinks());
    }
}
// ANCHOR_END: choose_machine

/// Says in the log (at debug level, `-v`) why an HTTP/2 connection was ended with GOAWAY: the
/// rule the client broke, or the defence it tripped (`rapid reset`, `CONTINUATION flood`, ...).
pub fn log_connection_error(conn: &Connection) {
    if let Some(error) = conn.connection_error() {
        debug!(%error, "HTTP/2 connection ended with GOAWAY");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ALPN_H2_FIRST;
    use app::{default_site_root, App};
    use stage06_tls::certs::{self_signed, Resolver};
    use stage06_tls::config::{provider, server_config, Crypto};
    use std::time::Duration;

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
                std::env::temp_dir().join(format!("stage07-future-{}.pem", std::process::id()));
            let provider = Arc::new(provider(Crypto::AwsLcRs, true));
            let certificates = self_signed(&cert, &provider).expect("a self-signed certificate");
            let _ = std::fs::remove_file(&cert);
            let tls = server_config(
                provider,
                Crypto::AwsLcRs,
                Arc::new(Resolver::new(certificates)),
                ALPN_H2_FIRST,
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
            // Stage 05's budget for the rest of the state, and a little for the set of
            // blocking handlers (`crate::answer`): a few pointers, whatever runs in it.
            assert!(
                size <= 2048 + 256 + session,
                "the connection future grew to {size} bytes ({session} of them TLS)"
            );
        });
    }
}
