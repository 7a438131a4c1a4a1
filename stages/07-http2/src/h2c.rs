//! The cleartext listener (`--h2c ADDR`): plain TCP that serves HTTP/1.1, and HTTP/2 to a
//! client that starts with the HTTP/2 connection preface ("prior knowledge", RFC 9113 section
//! 3.3: "A client that knows that a server supports HTTP/2 can establish a TCP connection and
//! send the connection preface followed by HTTP/2 frames").
//!
//! Which of the two a connection speaks is the machine's to find out
//! (`Connection::new_cleartext`): the preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, cannot start
//! an HTTP/1.1 request the machine would serve, so its first bytes decide. The `Upgrade: h2c`
//! dance of RFC 7540 is not offered: RFC 9113 section 3.1 deprecates it, and curl, nghttp and
//! h2load all speak prior knowledge.
//!
//! The task is stage 05's plain loop (no TLS: bytes from the socket straight into the machine,
//! files with `sendfile`), with stage 07's answer step ([`crate::answer`]) so that HTTP/2
//! streams are answered at once here too. It is meant for what sits behind a TLS proxy or on
//! a trusted network, and for tools that measure HTTP/2 without the cost of TLS.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use app::App;
use protocol::{Connection, Limits};
use stage05_async::conn::{write_output, Alarm};
use stage05_async::server::{accept_loop, refuse};
use stage05_async::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::answer::Answers;

/// No `Strict-Transport-Security` here: RFC 6797 section 8.1 has browsers ignore it over
/// plain HTTP, and this port has no https to point at.
const NO_HSTS: Option<String> = None;

// ANCHOR: serve_h2c
/// Accepts plain TCP connections on the `--h2c` listener until shutdown: stage 05's accept
/// loop, with the same `slots` as the TLS port (one `--max-connections` for the process) and
/// stage 05's plain `503` past it, each connection served by [`serve_cleartext`].
pub async fn serve_h2c(
    listener: TcpListener,
    app: Arc<App>,
    limits: Arc<Limits>,
    slots: Arc<Semaphore>,
    shutdown: Shutdown,
) {
    let max_connections = limits.max_connections;
    let stats = Arc::clone(app.stats());
    let connection = move |stream, peer, stop| {
        let app = Arc::clone(&app);
        let limits = Arc::clone(&limits);
        async move {
            if let Err(error) = serve_cleartext(stream, &app, &limits, stop).await {
                debug!(%peer, %error, "h2c connection ended with an error");
            }
        }
    };
    let over_limit = move |stream, refusals: &Arc<Semaphore>, shutdown: &Shutdown| {
        stats.count_refusal(app::Refusal::MaxConnections);
        refuse(stream, max_connections, refusals, shutdown)
    };
    accept_loop(listener, slots, &shutdown, connection, over_limit).await;
}
// ANCHOR_END: serve_h2c

/// Serves one plain connection, HTTP/1.1 or h2c, until it closes, the peer goes away, or
/// shutdown finishes it: answer, write, wait (stage 05's three steps).
pub async fn serve_cleartext(
    stream: TcpStream,
    app: &Arc<App>,
    limits: &Arc<Limits>,
    stop: CancellationToken,
) -> io::Result<()> {
    // Counted open in /server-status until this returns (the guard's drop); past
    // --max-connections-per-client, stage 05's 429 (HTTP/1.1's, as the 503 is) and the close.
    let _open = match app.connection_opened_from(stream.peer_addr().ok(), limits) {
        Ok(open) => open,
        Err(max) => {
            stage05_async::server::refuse_client(stream, max).await;
            return Ok(());
        }
    };
    stream.set_nodelay(true)?;
    // HTTP/1.1 or HTTP/2, as the client's first bytes say.
    let mut conn = Connection::new_cleartext(Arc::clone(limits), Instant::now())
        .with_peer(stream.peer_addr().ok())
        .with_body_sinks(app.body_sinks());
    let mut answers = Answers::new(app, &NO_HSTS, &stop);
    let mut stopped = pin!(stop.cancelled());
    let sleep = pin!(tokio::time::sleep_until(Instant::now().into()));
    let mut alarm = Alarm::new(sleep);
    loop {
        // 1. Answer what the machine has (`crate::answer`).
        answers.answer_ready(&mut conn).await;
        let held_back = conn.holds_back_requests();

        // 2. Write what the socket takes now, without waiting.
        write_output(&stream, &mut conn).await?;
        if conn.is_closed() {
            crate::conn::log_connection_error(&conn);
            return Ok(());
        }
        if held_back && !conn.holds_back_requests() {
            continue;
        }

        // 3. Wait for the socket, a deadline, the shutdown, or a handler that finished.
        let wants_read = conn.wants_read();
        let wants_write = conn.wants_write();
        let running = answers.are_running();
        if !wants_read && !wants_write && !running {
            return Ok(());
        }
        let deadline = conn.poll_timeout();
        alarm.follow(deadline);
        tokio::select! {
            biased;
            () = &mut stopped, if !answers.told_to_stop() => answers.shut_down(&mut conn),
            () = alarm.sleep.as_mut(), if deadline.is_some() => {
                alarm.rang();
                conn.handle_timeout(Instant::now());
            }
            readable = stream.readable(), if wants_read => {
                readable?;
                read_once(&stream, &mut conn)?;
            }
            writable = stream.writable(), if wants_write => writable?,
            () = answers.finish_next(&mut conn), if running => {}
        }
    }
}

/// Reads once, without waiting, straight into the room the machine lends; a `WouldBlock`
/// (readiness was a false alarm) clears tokio's belief, and the loop waits again.
fn read_once(stream: &TcpStream, conn: &mut Connection) -> io::Result<()> {
    match stream.try_read(conn.read_buf()) {
        Ok(0) => conn.handle_eof(),
        Ok(n) => conn.handle_read(n, Instant::now()),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
        Err(error) => return Err(error),
    }
    Ok(())
}
