//! One connection's task: moving bytes between a tokio `TcpStream` and the `common::http1`
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
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use common::app::App;
use common::http1::{Connection, Event, Transmit, MAX_BUFFERED_OUTPUT};
use common::{Limits, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Bytes read per `read` call: a whole request head, or a batch of pipelined requests.
const READ_BUFFER: usize = 16 * 1024;

/// Most bytes one `sendfile` call may send. The socket takes what fits in its buffer anyway;
/// this only bounds one call when the reader is fast (the same default as nginx's
/// `sendfile_max_chunk`, halved).
const SENDFILE_MAX_CHUNK: u64 = 1024 * 1024;

/// Output behind a write up to which the write is sent with `MSG_MORE` (see [`send_bytes`]).
/// Measured on `/style.css` (1 KiB): a quarter less CPU per request with the flag. On `/big.bin`
/// (1 MiB) the flag moves work instead of saving it: with the head in the file's first segment, the
/// client's receive window grows to megabytes and the whole file leaves inside our `sendfile`,
/// where without it most of the file leaves later, sent from the client's acknowledgements on the
/// client's core. On loopback (wrk on its own core) that was 14-32% fewer requests per second at
/// 10 and 16 connections (9-11% more at 1 and 50) and, from 10 connections up, more CPU in total,
/// so large files go without it (stage 04's chapter, "Where a large file's time goes").
const COALESCE_BELOW: u64 = 64 * 1024;

/// Bytes a task writes before it lets the other tasks on its worker run. Without it, a fast
/// client downloading pipelined large files would keep its worker to itself.
const WRITE_BUDGET: usize = 1024 * 1024;

// ANCHOR: serve_connection
/// Serves one connection until it closes, the peer goes away, or shutdown finishes it.
///
/// Step 1 stops answering once [`MAX_BUFFERED_OUTPUT`] bytes of response wait to be written,
/// file regions included: the back-pressure against a client that pipelines requests for a
/// large file and never reads. Without it, every request such a client sends would be answered
/// at once, each answer holding its file open. With it, the parsed requests wait, the machine
/// stops reading at its pipelining limit, and the client waits too, through TCP.
pub async fn serve_connection(
    mut stream: TcpStream,
    app: &Arc<App>,
    limits: &Limits,
    stop: CancellationToken,
) -> io::Result<()> {
    // Responses leave in one or a few writes; Nagle's algorithm would hold back the last one.
    stream.set_nodelay(true)?;
    let mut conn = Connection::new(limits.clone(), Instant::now());
    // Borrowed halves (no allocation, no lock): the reader implements `AsyncRead`, whose reads
    // tell tokio when the socket is drained (see `read_into`).
    let (mut reader, mut writer) = stream.split();
    // Created once and kept pinned in this future: polling them again costs no allocation.
    let mut stopped = pin!(stop.cancelled());
    let sleep = pin!(tokio::time::sleep_until(Instant::now().into()));
    let mut alarm = Alarm::new(sleep);
    let mut told_to_stop = false;
    loop {
        // 1. Answer the requests the machine has ready, in order, while the answers are
        //    leaving (see `MAX_BUFFERED_OUTPUT` below).
        let mut held_back = false;
        loop {
            if conn.queued_output() >= MAX_BUFFERED_OUTPUT as u64 {
                held_back = true;
                break;
            }
            let Some(event) = conn.poll_event() else {
                break;
            };
            let response = answer(event, app).await;
            if !told_to_stop && stop.is_cancelled() {
                // Told before the response is queued, so that it says `Connection: close`.
                told_to_stop = true;
                conn.handle_shutdown();
            }
            conn.send_response(response, SystemTime::now());
        }

        // 2. Write what the socket takes now, without waiting.
        write_output(&mut writer, &mut conn).await?;
        if conn.is_closed() {
            return Ok(());
        }
        if held_back && conn.queued_output() < MAX_BUFFERED_OUTPUT as u64 {
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
                conn.handle_shutdown();
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
/// The application's response to one event. A handler that may block goes to the blocking
/// pool, and this task waits for it without holding its worker thread.
async fn answer(event: Event, app: &Arc<App>) -> Response {
    match event {
        Event::Request(request) if app.may_block(&request) => {
            let app = Arc::clone(app);
            let handled = tokio::task::spawn_blocking(move || {
                let response = app.handle(&request);
                log_request(&request, &response);
                response
            });
            match handled.await {
                Ok(response) => response,
                Err(error) => {
                    // `App::handle` does not panic; if it ever did, the client still gets an
                    // answer and the connection stays in step.
                    warn!(%error, "a blocking handler failed");
                    Response::text(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
                }
            }
        }
        Event::Request(request) => {
            let response = app.handle(&request);
            log_request(&request, &response);
            response
        }
        Event::Rejected(error) => {
            debug!(%error, "refused a request");
            error.response()
        }
    }
}
// ANCHOR_END: answer

fn log_request(request: &common::Request, response: &Response) {
    debug!(method = %request.method, target = %request.target, status = response.status.as_u16());
}

// ANCHOR: read_into
/// Waits until the socket is readable, then reads once and hands the bytes (or the end of
/// input) to the machine.
///
/// The buffer is a local of the poll function, so it exists on the worker's stack only during
/// the read: an idle connection holds no read buffer at all. Uninitialised memory, because
/// zeroing 16 KiB on every read would cost more than the read of a small request.
///
/// A read through `AsyncRead` (rather than `try_read`) also lets tokio notice a short read: the
/// socket is then drained, so the next wait goes straight to epoll instead of first trying a
/// read that would only say `EAGAIN`.
fn read_into<'a, 'socket>(
    reader: &'a mut ReadHalf<'socket>,
    conn: &'a mut Connection,
) -> impl Future<Output = io::Result<()>> + use<'a, 'socket> {
    poll_fn(move |cx| {
        let mut storage = [MaybeUninit::<u8>::uninit(); READ_BUFFER];
        let mut buffer = ReadBuf::uninit(&mut storage);
        match Pin::new(&mut *reader).poll_read(cx, &mut buffer) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Ready(Ok(())) if buffer.filled().is_empty() => {
                conn.handle_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(())) => {
                conn.handle_input(buffer.filled(), Instant::now());
                Poll::Ready(Ok(()))
            }
        }
    })
}
// ANCHOR_END: read_into

// ANCHOR: write_output
/// Writes queued output until it is all written, the socket's send buffer is full, or this round
/// has written [`WRITE_BUDGET`] bytes. Never waits for the socket: the caller's `select!` does.
async fn write_output(writer: &mut WriteHalf<'_>, conn: &mut Connection) -> io::Result<()> {
    let mut budget = WRITE_BUDGET;
    loop {
        // Everything queued, files included: more than this write means more follows it.
        let queued = conn.queued_output();
        let Some(transmit) = conn.poll_transmit() else {
            break;
        };
        let written = match transmit {
            Transmit::CloseWrite => {
                // shutdown(SHUT_WR) returns at once; `.await` only because tokio exposes it so.
                writer.shutdown().await?;
                conn.handle_write_closed(Instant::now());
                continue;
            }
            Transmit::Bytes(bytes) => {
                let behind = queued.saturating_sub(bytes.len() as u64);
                send_bytes(
                    writer.as_ref(),
                    bytes,
                    (1..=COALESCE_BELOW).contains(&behind),
                )
            }
            Transmit::File { file, offset, len } => send_file(writer.as_ref(), file, offset, len),
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

// ANCHOR: send_bytes
/// Sends what the socket takes of `bytes`. With `more_follows`, the kernel is told that more
/// output comes right after (`MSG_MORE`), so a response head and the small file behind it leave
/// in one TCP segment instead of two, as nginx does with `tcp_nopush`. The write that follows
/// (the last one of a round never has the flag) sends whatever the flag held back.
fn send_bytes(socket: &TcpStream, bytes: &[u8], more_follows: bool) -> io::Result<usize> {
    let flags = if more_follows {
        libc::MSG_NOSIGNAL | libc::MSG_MORE
    } else {
        libc::MSG_NOSIGNAL
    };
    socket.try_io(Interest::WRITABLE, || {
        // SAFETY: the descriptor is open (the socket is borrowed), and the kernel reads at most
        // `bytes.len()` bytes from `bytes`, which is borrowed for the duration of the call.
        let sent = unsafe {
            libc::send(
                socket.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                flags,
            )
        };
        // Non-negative and at most `bytes.len()`, so it fits in usize.
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    })
}
// ANCHOR_END: send_bytes

// ANCHOR: send_file
/// Sends up to [`SENDFILE_MAX_CHUNK`] bytes of `file` from `offset` with `sendfile(2)`: the
/// kernel copies from the page cache to the socket, and the bytes never enter this process.
///
/// `try_io` runs the call only if tokio believes the socket writable, and when the call says
/// `EAGAIN` it clears that belief, so the task's next `writable().await` waits for epoll.
fn send_file(socket: &TcpStream, file: &std::fs::File, offset: u64, len: u64) -> io::Result<usize> {
    let Ok(mut offset) = libc::off_t::try_from(offset) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file offset beyond what sendfile takes",
        ));
    };
    // Fits in usize: at most SENDFILE_MAX_CHUNK.
    let count = len.min(SENDFILE_MAX_CHUNK) as usize;
    socket.try_io(Interest::WRITABLE, || {
        // SAFETY: both descriptors are open for the duration of the call (the socket and the
        // file are borrowed), and `offset` is a live local the kernel updates.
        let sent =
            unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut offset, count) };
        match sent {
            -1 => Err(io::Error::last_os_error()),
            // Zero bytes with bytes still owed: the file shrank under us. Looping would spin.
            0 if count > 0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than the response said (was it truncated?)",
            )),
            // Non-negative and at most `count`, so it fits in usize.
            sent => Ok(sent as usize),
        }
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
struct Alarm<'a> {
    sleep: Pin<&'a mut Sleep>,
    /// When the alarm rings, or `None` when it has rung and is not set again yet.
    set_for: Option<Instant>,
}

impl<'a> Alarm<'a> {
    fn new(sleep: Pin<&'a mut Sleep>) -> Alarm<'a> {
        Alarm {
            sleep,
            set_for: None,
        }
    }

    /// Makes sure the alarm rings no later than `deadline`.
    fn follow(&mut self, deadline: Option<Instant>) {
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
    fn rang(&mut self) {
        self.set_for = None;
    }
}
// ANCHOR_END: alarm

#[cfg(test)]
mod tests {
    use super::*;
    use common::app::{default_site_root, App};

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
            let limits = Limits::default();
            let future = serve_connection(stream, &app, &limits, CancellationToken::new());
            let size = std::mem::size_of_val(&future);
            println!("serve_connection's future: {size} bytes");
            assert!(size <= 2048, "the connection future grew to {size} bytes");
        });
    }
}
