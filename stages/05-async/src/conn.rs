//! One connection's task: moving bytes between a tokio `TcpStream` and the `protocol::http1`
//! machine.
//!
//! It is stage 01's loop (answer, write, read) with `.await` where stage 01 blocked. Where
//! stage 01 could wait for only one thing at a time (a read, with a timeout), a task waits for
//! several at once with `select!`: the socket becoming readable or writable, the machine's next
//! deadline, and the server's shutdown. Whichever comes first wakes the task; while none has,
//! the task is just a parked future and its worker thread serves other connections.
//!
//! Memory per connection is what the future holds across its `.await`s: the machine, the
//! socket's registration, one timer and a cancellation token. The 16 KiB read buffer is *not*
//! among them: it lives on the worker's stack only while a read runs (see `read_into`), so an
//! idle connection costs a few KiB, not a buffer.

use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::AsFd;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use app::App;
use driver::send::coalesce;
use driver::sendfile;
use protocol::{Connection, Event, StreamId, Transmit};
use protocol::{Limits, Response, StatusCode};
use tokio::io::{AsyncRead, Interest, ReadBuf};
use tokio::net::tcp::ReadHalf;
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Most bytes one `sendfile` call may send. The socket takes what fits in its buffer anyway;
/// this only bounds one call when the reader is fast (the same default as nginx's
/// `sendfile_max_chunk`, halved).
const SENDFILE_MAX_CHUNK: u64 = 1024 * 1024;

/// Bytes a task writes before it lets the other tasks on its worker run. Without it, a fast
/// client downloading pipelined large files would keep its worker to itself.
const WRITE_BUDGET: usize = 1024 * 1024;

// ANCHOR: serve_connection
/// Serves one connection until it closes, the peer goes away, or shutdown finishes it.
///
/// Step 1 ends early while the machine holds requests back because a response's worth of
/// output ([`MAX_BUFFERED_OUTPUT`], file regions included) waits to be written: the
/// back-pressure against a client that pipelines requests for a large file and never reads.
/// Without it, every request such a client sends would be answered at once, each answer holding
/// its file open. With it, the parsed requests wait, the machine stops reading at its pipelining
/// limit, and the client waits too, through TCP. The rule is the machine's; this loop only asks
/// [`Connection::holds_back_requests`] whether to answer again after a write.
///
/// [`MAX_BUFFERED_OUTPUT`]: protocol::http1::MAX_BUFFERED_OUTPUT
pub async fn serve_connection(
    mut stream: TcpStream,
    app: &Arc<App>,
    limits: &Arc<Limits>,
    stop: CancellationToken,
) -> io::Result<()> {
    // Counted open in /server-status until this returns (the guard's drop); past
    // --max-connections-per-client, the 429 instead (counted by the app), and the close.
    let _open = match app.connection_opened_from(stream.peer_addr().ok(), limits) {
        Ok(open) => open,
        Err(max) => {
            crate::server::refuse_client(stream, max).await;
            return Ok(());
        }
    };
    // Responses leave in one or a few writes; Nagle's algorithm would hold back the last one.
    stream.set_nodelay(true)?;
    // The limits are shared by every task: one copy per server, not one per connection.
    // The app's body sinks (uploads to disk) run on this runtime thread, inside `handle_read`.
    let mut conn = Connection::new(Arc::clone(limits), Instant::now())
        .with_peer(stream.peer_addr().ok())
        .with_body_sinks(app.body_sinks());
    // Borrowed halves (no allocation, no lock): the reader implements `AsyncRead`, whose reads
    // tell tokio when the socket is drained (see `read_into`).
    let (mut reader, writer) = stream.split();
    // Created once and kept pinned in this future: polling them again costs no allocation.
    let mut stopped = pin!(stop.cancelled());
    let sleep = pin!(tokio::time::sleep_until(Instant::now().into()));
    let mut alarm = Alarm::new(sleep);
    let mut told_to_stop = false;
    loop {
        // 1. Answer the requests the machine has ready, in order. While a response's worth of
        //    output waits unwritten, the machine holds the next requests back.
        while let Some(event) = conn.poll_event() {
            let (id, response) = match event {
                // Boxed: a wait for the blocking pool is rare, and held inline its state would
                // make every connection's future larger, idle ones included (a future is as
                // large as its largest state, and this was the largest before it was boxed).
                Event::Request { id, request } if app.may_block(&request) => {
                    let waiting = Box::pin(answer_on_blocking_pool(request, Arc::clone(app)));
                    (id, waiting.await)
                }
                other => answer_now(other, app),
            };
            if !told_to_stop && stop.is_cancelled() {
                // Told before the response is queued, so that it says `Connection: close`.
                told_to_stop = true;
                conn.handle_shutdown(Instant::now());
            }
            conn.send_response(id, response, SystemTime::now());
        }
        let held_back = conn.holds_back_requests();

        // 2. Write what the socket takes now, without waiting.
        write_output(writer.as_ref(), &mut conn).await?;
        if conn.is_closed() {
            return Ok(());
        }
        if held_back && !conn.holds_back_requests() {
            // The socket took enough for the requests held back in step 1 to be answered.
            continue;
        }

        // 3. Wait for whichever comes first: the socket, the deadline, the shutdown.
        let wants_read = conn.wants_read();
        let wants_write = conn.wants_write();
        if !wants_read && !wants_write {
            // Nothing to read, nothing to write, no request in progress: this driver answers
            // every request before it waits, so the machine is done.
            return Ok(());
        }
        let deadline = conn.poll_timeout();
        alarm.follow(deadline);
        tokio::select! {
            // In this order: a stop or an expired deadline wins over more traffic.
            biased;
            () = &mut stopped, if !told_to_stop => {
                told_to_stop = true;
                conn.handle_shutdown(Instant::now());
            }
            () = alarm.sleep.as_mut(), if deadline.is_some() => {
                alarm.rang();
                conn.handle_timeout(Instant::now());
            }
            read = read_into(&mut reader, &mut conn), if wants_read => read?,
            writable = writer.as_ref().writable(), if wants_write => writable?,
        }
    }
}
// ANCHOR_END: serve_connection

// ANCHOR: answer
/// The application's response to an event whose handler does not block.
pub fn answer_now(event: Event, app: &App) -> (StreamId, Response) {
    match event {
        Event::Request { id, request } => {
            let response = app.handle(&request);
            log_request(&request, &response);
            (id, response)
        }
        Event::Rejected { id, error } => {
            debug!(%error, "refused a request");
            (id, app.refuse(&error))
        }
    }
}

/// A handler that may block runs on tokio's blocking pool, and this task waits for it without
/// holding its worker thread.
pub async fn answer_on_blocking_pool(request: protocol::Request, app: Arc<App>) -> Response {
    let handled = tokio::task::spawn_blocking(move || {
        let response = app.handle(&request);
        log_request(&request, &response);
        response
    });
    match handled.await {
        Ok(response) => response,
        Err(error) => {
            // `App::handle` does not panic; if it ever did, the client still gets an answer
            // and the connection stays in step.
            warn!(%error, "a blocking handler failed");
            Response::text(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
        }
    }
}
// ANCHOR_END: answer

fn log_request(request: &protocol::Request, response: &Response) {
    debug!(method = %request.method, target = %request.target, status = response.status.as_u16());
}

// ANCHOR: read_into
/// Waits until the socket is readable, then reads once, straight into the room the machine
/// lends (no copy on the way in), and reports the count (or the end of input) to the machine.
///
/// The room is asked for only once the socket is readable, so a connection that waits holds no
/// read buffer: the machine gives its buffer back between requests.
///
/// A read through `AsyncRead` (rather than `try_read`) also lets tokio notice a short read: the
/// socket is then drained, so the next wait goes straight to epoll instead of first trying a
/// read that would only say `EAGAIN`.
fn read_into<'a, 'socket>(
    reader: &'a mut ReadHalf<'socket>,
    conn: &'a mut Connection,
) -> impl Future<Output = io::Result<()>> + use<'a, 'socket> {
    poll_fn(move |cx| {
        // Readiness first, so that the machine lends room only to a read that will find bytes.
        match reader.as_ref().poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Ready(Ok(())) => {}
        }
        let mut buffer = ReadBuf::new(conn.read_buf());
        match Pin::new(&mut *reader).poll_read(cx, &mut buffer) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Ready(Ok(())) if buffer.filled().is_empty() => {
                conn.handle_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(())) => {
                let n = buffer.filled().len();
                conn.handle_read(n, Instant::now());
                Poll::Ready(Ok(()))
            }
        }
    })
}
// ANCHOR_END: read_into

// ANCHOR: write_output
/// Writes queued output until it is all written, the socket's send buffer is full, or this round
/// has written `WRITE_BUDGET` bytes. Never waits for the socket: the caller's `select!` does.
///
/// Public because stage 07's h2c port writes its output the same way (HTTP/2 frames are bytes
/// and file regions like HTTP/1.1's heads and bodies).
pub async fn write_output(socket: &TcpStream, conn: &mut Connection) -> io::Result<()> {
    let mut budget = WRITE_BUDGET;
    loop {
        // Everything queued, files included: more than this write means more follows it.
        let queued = conn.queued_output_before_transmit();
        let Some(transmit) = conn.poll_transmit() else {
            break;
        };
        let written = match transmit {
            Transmit::CloseWrite => {
                // shutdown(SHUT_WR): the FIN goes after what is queued; it returns at once.
                socket2::SockRef::from(socket).shutdown(std::net::Shutdown::Write)?;
                conn.handle_write_closed(Instant::now());
                continue;
            }
            Transmit::Bytes(bytes) => {
                // What is behind these bytes decides the flag (`driver::send::coalesce`); a write
                // that ends the round's budget is the last before the task waits, so never.
                let behind = queued.saturating_sub(bytes.len() as u64);
                let more_follows = coalesce(behind) && budget > bytes.len();
                send_bytes(socket, bytes, more_follows)
            }
            Transmit::File { file, offset, len } => send_file(socket, file, offset, len),
        };
        match written {
            Ok(written) => {
                conn.advance(written, Instant::now());
                budget = budget.saturating_sub(written);
                if budget == 0 {
                    // Let the other tasks on this worker run; the next round picks up here.
                    tokio::task::yield_now().await;
                    return Ok(());
                }
            }
            // The send buffer is full: the caller waits until the socket is writable again.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
// ANCHOR_END: write_output

/// The driver kit's `send_bytes` (`MSG_MORE` when a little more output follows at once), inside
/// `try_io`, so that a `WouldBlock` clears tokio's belief that the socket is writable.
fn send_bytes(socket: &TcpStream, bytes: &[u8], more_follows: bool) -> io::Result<usize> {
    socket.try_io(Interest::WRITABLE, || {
        driver::send::send_bytes(socket, bytes, more_follows)
    })
}

// ANCHOR: send_file
/// Sends up to [`SENDFILE_MAX_CHUNK`] bytes of `file` from `offset` with `sendfile(2)` (the
/// driver kit's, which keeps the one rule for short counts and a file that shrank): the kernel
/// copies from the page cache to the socket, and the bytes never enter this process.
///
/// `try_io` runs the call only if tokio believes the socket writable, and when the call says
/// `EAGAIN` it clears that belief, so the task's next `writable().await` waits for epoll.
fn send_file(socket: &TcpStream, file: impl AsFd, offset: u64, len: u64) -> io::Result<usize> {
    let len = len.min(SENDFILE_MAX_CHUNK);
    socket.try_io(Interest::WRITABLE, || {
        // Only a file system without sendfile needs a scratch buffer, for the kit's copy through
        // user space. It is made for the call and dropped after it, so that no idle connection
        // keeps 64 KiB in its future.
        let mut scratch = Vec::new();
        sendfile::send_file(socket, &file, offset, len, &mut scratch)
    })
}
// ANCHOR_END: send_file

// ANCHOR: alarm
/// The connection's one timer, for the machine's next deadline.
///
/// Moving a timer costs a trip through tokio's timer wheel, and the machine's deadline moves on
/// every request (the idle timeout counts from the last activity). So the alarm is moved only
/// when the deadline comes *earlier*. When it comes later, the alarm rings at the old time, the
/// machine's `handle_timeout` sees that nothing has expired yet, and the alarm is set again for
/// the new deadline: one extra wake-up per idle period instead of a timer update per request.
pub struct Alarm<'a> {
    /// The timer itself, for the caller's `select!` to wait on.
    pub sleep: Pin<&'a mut Sleep>,
    /// When the alarm rings, or `None` when it has rung and is not set again yet.
    set_for: Option<Instant>,
}

impl<'a> Alarm<'a> {
    pub fn new(sleep: Pin<&'a mut Sleep>) -> Alarm<'a> {
        Alarm {
            sleep,
            set_for: None,
        }
    }

    /// Makes sure the alarm rings no later than `deadline`.
    pub fn follow(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            // No deadline: the caller does not wait on the alarm, wherever it is set.
            return;
        };
        if self.set_for.is_none_or(|set_for| deadline < set_for) {
            self.sleep.as_mut().reset(deadline.into());
            self.set_for = Some(deadline);
        }
    }

    /// Records that the alarm rang.
    pub fn rang(&mut self) {
        self.set_for = None;
    }
}
// ANCHOR_END: alarm

#[cfg(test)]
mod tests {
    use super::*;
    use app::{default_site_root, App};

    /// What one connection's future holds across its `.await`s, before tokio's task header: the
    /// state the compiler generated for us. It must stay small, or idle connections stop being
    /// cheap (the C10K chapter's budget is 16 KiB per idle connection, kernel buffers aside).
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
            let app = Arc::new(
                App::new(&default_site_root(), crate::INFO, Instant::now())
                    .expect("the bundled site exists"),
            );
            let limits = Arc::new(Limits::default());
            let future = serve_connection(stream, &app, &limits, CancellationToken::new());
            let size = std::mem::size_of_val(&future);
            println!("serve_connection's future: {size} bytes");
            assert!(size <= 2048, "the connection future grew to {size} bytes");
        });
    }
}
