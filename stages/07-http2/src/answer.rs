//! The answer step, for a connection that may carry several requests at once (HTTP/2, RFC 9113
//! section 5: "A single HTTP/2 connection can contain multiple concurrently open streams").
//!
//! Stage 05's answer step took the machine's requests one at a time and, for a handler that
//! may block (`/slow`), waited for the blocking pool before taking the next: right for
//! HTTP/1.1, whose responses must leave in the order the requests came (RFC 9112 section 9.3.2),
//! so a second request could not be answered before the first anyway. On HTTP/2 each request
//! is a stream of its own and responses may leave in any order, so waiting would make a
//! `/plaintext` on stream 3 wait for a `/slow` on stream 1: head-of-line blocking that the
//! protocol removed and the server would put back.
//!
//! So here, on an HTTP/2 connection, a blocking handler is started on the blocking pool and
//! kept in a set ([`Answers`]); the task goes on answering the fast requests inline, writing
//! and reading, and its wait (`select!`) includes "a handler finished", whose response is then
//! handed to the machine with `send_response` like any other. The set is bounded per
//! connection ([`MAX_HANDLERS_IN_FLIGHT`]): past it, the task stops taking requests from the
//! machine until one finishes, and the machine's own stream limit holds the client back.
//!
//! An HTTP/1.1 connection is answered exactly as in stage 06: one request at a time, in order,
//! a blocking handler awaited before the next.

use std::sync::Arc;
use std::time::Instant;

use app::App;
use protocol::{Connection, Event, Request, Response, StatusCode, StreamId, Version};
use stage05_async::conn::{answer_now, answer_on_blocking_pool};
use stage06_tls::conn::with_hsts;
use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Blocking handlers one connection may have running at once. A client that opens a hundred
/// `/slow` streams takes this many of the blocking pool's threads, not a hundred; the rest of
/// its requests wait in the machine (and, past its stream limit, in the client).
pub const MAX_HANDLERS_IN_FLIGHT: usize = 16;

// ANCHOR: answers
/// One connection's answering: the application, the blocking handlers still running, and
/// whether the connection was told to stop.
pub struct Answers<'a> {
    app: &'a Arc<App>,
    /// The `Strict-Transport-Security` value for every response (`--hsts`, over TLS only).
    hsts: &'a Option<String>,
    stop: &'a CancellationToken,
    /// Whether the machine has been asked to shut down (`handle_shutdown`).
    told_to_stop: bool,
    /// The blocking handlers running for this connection, each giving back its stream's answer.
    running: JoinSet<(StreamId, Response)>,
    /// Which stream each running handler answers, to answer it with a `500` should the handler
    /// panic (its result is lost then, its task ID is not).
    streams: Vec<(Id, StreamId)>,
}
// ANCHOR_END: answers

impl<'a> Answers<'a> {
    pub fn new(
        app: &'a Arc<App>,
        hsts: &'a Option<String>,
        stop: &'a CancellationToken,
    ) -> Answers<'a> {
        Answers {
            app,
            hsts,
            stop,
            told_to_stop: false,
            running: JoinSet::new(),
            streams: Vec::new(),
        }
    }

    // ANCHOR: answer_ready
    /// Step 1 of the loop: answers the requests the machine has ready. Fast handlers answer
    /// inline; a blocking one is awaited (HTTP/1.1, stage 06's way) or started on the blocking
    /// pool and left running (HTTP/2), so that the next requests are answered meanwhile.
    pub async fn answer_ready(&mut self, conn: &mut Connection) {
        // Several requests at once only where the protocol allows their answers in any order.
        let concurrent = conn.version() == Some(Version::Http2);
        while self.running.len() < MAX_HANDLERS_IN_FLIGHT {
            let Some(event) = conn.poll_event() else {
                break;
            };
            let (id, response) = match event {
                Event::Request { id, request } if self.app.may_block(&request) => {
                    if concurrent {
                        self.start(id, request);
                        continue;
                    }
                    // Boxed, as in stage 05: rare, and inline it would grow every future.
                    let waiting = Box::pin(answer_on_blocking_pool(request, Arc::clone(self.app)));
                    (id, waiting.await)
                }
                other => answer_now(other, self.app),
            };
            self.respond(conn, id, response);
        }
    }
    // ANCHOR_END: answer_ready

    /// Whether blocking handlers are still running (the task must not end before they have
    /// answered, and its wait includes them).
    pub fn are_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// Waits for the next blocking handler to finish and hands its response to the machine.
    /// Never completes while none is running: the caller's `select!` guards it with
    /// [`are_running`](Self::are_running).
    pub async fn finish_next(&mut self, conn: &mut Connection) {
        let Some(joined) = self.running.join_next_with_id().await else {
            return std::future::pending().await;
        };
        let (task, id, response) = match joined {
            Ok((task, (id, response))) => (task, id, response),
            Err(error) => {
                // `App::handle` does not panic; if it ever did, the stream still gets an answer.
                warn!(%error, "a blocking handler failed");
                let task = error.id();
                let Some(id) = self.stream_of(task) else {
                    return;
                };
                let failed =
                    Response::text(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed");
                (task, id, failed)
            }
        };
        self.streams.retain(|(running, _)| *running != task);
        self.respond(conn, id, response);
    }

    /// Asks the machine for a graceful end, once: over HTTP/2 that is a GOAWAY, and the streams
    /// already opened are still answered.
    pub fn shut_down(&mut self, conn: &mut Connection) {
        if !self.told_to_stop {
            self.told_to_stop = true;
            conn.handle_shutdown(Instant::now());
        }
    }

    /// Whether [`shut_down`](Self::shut_down) has been called.
    pub fn told_to_stop(&self) -> bool {
        self.told_to_stop
    }

    /// Hands one response to the machine. A stop that came while it was being made is told to
    /// the machine first, so that the response says so (`Connection: close` over HTTP/1.1).
    fn respond(&mut self, conn: &mut Connection, id: StreamId, response: Response) {
        if self.stop.is_cancelled() {
            self.shut_down(conn);
        }
        conn.send_response(
            id,
            with_hsts(response, self.hsts),
            std::time::SystemTime::now(),
        );
    }

    /// Starts `request`'s handler on the blocking pool, for [`finish_next`](Self::finish_next)
    /// to collect.
    fn start(&mut self, id: StreamId, request: Request) {
        let app = Arc::clone(self.app);
        let task = self.running.spawn_blocking(move || {
            let response = app.handle(&request);
            debug!(
                method = %request.method,
                target = %request.target,
                status = response.status.as_u16(),
                stream = id.0,
                "answered on the blocking pool"
            );
            (id, response)
        });
        self.streams.push((task.id(), id));
    }

    fn stream_of(&self, task: Id) -> Option<StreamId> {
        self.streams
            .iter()
            .find(|(running, _)| *running == task)
            .map(|(_, id)| *id)
    }
}
