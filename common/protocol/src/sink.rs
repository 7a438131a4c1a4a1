//! Request bodies that go somewhere else as they arrive: the body-sink hook.
//!
//! By default a connection collects a request body whole in memory, up to `Limits::max_body`,
//! and hands the application a complete [`Request`]. That is right for a form or a JSON
//! document and wrong for a 100 MiB upload: a server holding ten of those at once holds a
//! gigabyte. A [`BodySinks`] hook, given to a connection with
//! [`Connection::with_body_sinks`](crate::Connection::with_body_sinks), changes that for the
//! requests it chooses:
//!
//! ```text
//!   head parsed --> BodySinks(&request) --None--> body collected in memory (max_body), as before
//!                        |
//!                        +--Some(Sinking { sink, limit })
//!                              |
//!   decoded body bytes ------> sink.write(chunk)   (after de-chunking; HTTP/2 DATA payloads)
//!   past `limit` ------------> 413, the sink dropped (it aborts)
//!   end of the body ---------> sink.finish() --Ok(value)--> Request::streamed = StreamedBody
//!                                            --Err(e)----> refused with e's status (400, 507...)
//!   EOF, reset, timeout -----> the sink dropped unfinished: it must undo what it did
//! ```
//!
//! The hook is how the crate stays sans-IO while bodies go to disk: the protocol machine only
//! calls a trait object with bytes it decoded; whatever I/O the sink does (writing a file, in
//! the application crate's `upload` module) is the application's code, run by the driver's
//! thread inside `handle_read`. What that costs a driver is the application's to document: a
//! sink that writes to disk blocks the caller of `handle_read` for the length of a write, which
//! in an event loop (stage 04) is every connection of that loop.
//!
//! A sink's error is a status code and a reason ([`SinkError`]): the request is then refused
//! like any other (`Event::Rejected` with [`RequestError::Sink`](crate::RequestError::Sink)),
//! and on HTTP/1.1 the connection closes after the answer, since the rest of the body was not
//! read. HTTP/2 ends only that stream, and gives flow-control credit back for each DATA frame
//! as soon as the sink has taken it, so a streamed upload is paced by the sink, not by memory.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::message::{Request, StatusCode};

// ANCHOR: body_sink
/// Where the body of one request goes as it arrives, instead of into memory.
///
/// Dropping a sink that was not finished means the body did not arrive whole (the client went
/// away, the stream was reset, a limit or a timeout ended it): the implementation's `Drop` must
/// undo whatever `write` did, so that no partial result is left behind.
pub trait BodySink: Send {
    /// Takes the next decoded bytes of the body, in order. An error ends the request: it is
    /// refused with the error's status, and the sink is dropped.
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError>;

    /// The body ended well-framed: complete what `write` began, and say what became of the
    /// content. The value reaches the application as [`Request::streamed`].
    fn finish(self: Box<Self>) -> Result<Arc<dyn Any + Send + Sync>, SinkError>;
}

/// What the hook answers for a request that should stream: its sink, and the most body bytes
/// that sink takes (past it: 413, checked against a declared length before any byte is read).
pub struct Sinking {
    pub sink: Box<dyn BodySink>,
    pub limit: u64,
}

/// The hook a connection asks, once per request with a body, as soon as the head is parsed:
/// `Some` to stream that body to a sink, `None` to collect it in memory as usual. It sees the
/// request without its body (method, target, fields; the peer is not set yet). Cloning it
/// shares it: one hook serves every connection of a server.
#[derive(Clone)]
pub struct BodySinks(Arc<SinkHook>);

/// The function behind [`BodySinks`].
type SinkHook = dyn Fn(&Request) -> Option<Sinking> + Send + Sync;
// ANCHOR_END: body_sink

impl BodySinks {
    pub fn new(hook: impl Fn(&Request) -> Option<Sinking> + Send + Sync + 'static) -> BodySinks {
        BodySinks(Arc::new(hook))
    }

    /// What the hook says about `request`.
    pub fn sink_for(&self, request: &Request) -> Option<Sinking> {
        (self.0)(request)
    }
}

impl fmt::Debug for BodySinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodySinks(..)")
    }
}

/// Why a sink could not take or complete a body: the status to answer and why, for the
/// response text and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkError {
    pub status: StatusCode,
    pub reason: String,
}

impl SinkError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> SinkError {
        SinkError {
            status,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for SinkError {}

/// What a finished sink made of a streamed body, carried by the request to the application.
#[derive(Clone)]
pub struct StreamedBody {
    received: u64,
    value: Arc<dyn Any + Send + Sync>,
}

impl StreamedBody {
    /// `received` decoded body bytes went to a sink whose `finish` returned `value`.
    pub fn new(received: u64, value: Arc<dyn Any + Send + Sync>) -> StreamedBody {
        StreamedBody { received, value }
    }

    /// How many body bytes the sink took.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The sink's result, if it is a `T` (the application knows which sink it gave).
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref::<T>()
    }
}

impl fmt::Debug for StreamedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamedBody")
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

/// The sink of one body being received, and what the machine counts for it.
pub(crate) struct Receiving {
    sink: Box<dyn BodySink>,
    limit: u64,
    received: u64,
}

impl Receiving {
    pub(crate) fn new(sinking: Sinking) -> Receiving {
        Receiving {
            sink: sinking.sink,
            limit: sinking.limit,
            received: 0,
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Passes `chunk` on; `Err(None)` when it would pass the limit (413), `Err(Some)` when
    /// the sink refused it.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<(), Option<SinkError>> {
        if chunk.is_empty() {
            return Ok(());
        }
        let received = self.received.saturating_add(chunk.len() as u64);
        if received > self.limit {
            return Err(None);
        }
        self.received = received;
        self.sink.write(chunk).map_err(Some)
    }

    pub(crate) fn finish(self) -> Result<StreamedBody, SinkError> {
        let received = self.received;
        self.sink
            .finish()
            .map(|value| StreamedBody::new(received, value))
    }
}

impl fmt::Debug for Receiving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiving")
            .field("limit", &self.limit)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests;
