//! The body-sink hook on HTTP/1.1, through the in-memory pump: bytes go to the sink as they
//! arrive, limits are the sink's, and a sink that is not finished is dropped (so it aborts).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::limits::Limits;
use crate::pump::Pump;
use crate::{Connection, RequestError};

/// What a test sink saw: every chunk in order, and how it ended.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub chunks: Vec<Vec<u8>>,
    pub finished: bool,
    pub dropped_unfinished: bool,
}

impl Log {
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.concat()
    }
}

/// A sink that records into a shared log, and refuses a chunk containing `refuse_on`.
pub(crate) struct Recorder {
    log: Arc<Mutex<Log>>,
    refuse_on: Option<u8>,
    done: bool,
}

impl BodySink for Recorder {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        if self.refuse_on.is_some_and(|byte| chunk.contains(&byte)) {
            return Err(SinkError::new(StatusCode::BAD_REQUEST, "a refused byte"));
        }
        // A poisoned lock is a failed test already.
        self.log.lock().unwrap().chunks.push(chunk.to_vec());
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Arc<dyn Any + Send + Sync>, SinkError> {
        self.done = true;
        self.log.lock().unwrap().finished = true;
        Ok(Arc::new("stored"))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.done {
            self.log.lock().unwrap().dropped_unfinished = true;
        }
    }
}

/// A hook that streams `POST /up` to a recorder with `limit`, and nothing else.
pub(crate) fn hook(limit: u64, refuse_on: Option<u8>) -> (BodySinks, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = Arc::clone(&log);
    let sinks = BodySinks::new(move |request: &Request| {
        (request.path() == "/up").then(|| Sinking {
            sink: Box::new(Recorder {
                log: Arc::clone(&shared),
                refuse_on,
                done: false,
            }),
            limit,
        })
    });
    (sinks, log)
}

/// A pump whose connection (with a small `max_body` of 100) has the hook.
fn pump(sinks: BodySinks) -> Pump {
    let limits = Limits {
        max_body: 100,
        ..Limits::default()
    };
    let mut pump = Pump::with_limits(limits.clone(), Instant::now());
    pump.conn = Connection::new(limits, pump.now).with_body_sinks(Some(sinks));
    pump
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn a_length_body_past_max_body_streams_to_the_sink_through_small_reads() {
    let (sinks, log) = hook(10_000, None);
    let mut h = pump(sinks);
    let body: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let wire = [post("/up", &body), post("/up", b"again")].concat();
    h.feed_reads(&wire, &mut crate::pump::echo);
    assert_eq!(h.statuses(), [200, 200]);
    let streamed = h.seen[0].streamed.as_ref().expect("streamed");
    assert_eq!(streamed.received(), 5000);
    assert_eq!(streamed.downcast_ref::<&str>(), Some(&"stored"));
    assert!(h.seen[0].body.is_empty(), "nothing held in memory");
    let log = log.lock().unwrap();
    assert_eq!(log.bytes(), [&body[..], b"again"].concat());
    assert!(log.chunks.len() > 1, "the body arrived in pieces");
}

#[test]
fn a_chunked_body_is_de_chunked_into_the_sink_with_its_trailers() {
    let (sinks, log) = hook(10_000, None);
    let mut h = pump(sinks);
    h.feed(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert_eq!(
        log.lock().unwrap().bytes(),
        b"hello",
        "passed on before the end"
    );
    h.feed(b"6;x=y\r\n world\r\n0\r\nT: v\r\n\r\n");
    assert_eq!(h.statuses(), [200]);
    assert_eq!(log.lock().unwrap().bytes(), b"hello world");
    assert_eq!(h.seen[0].trailers.get("t"), Some(&b"v"[..]));
    assert_eq!(
        h.seen[0].streamed.as_ref().map(StreamedBody::received),
        Some(11)
    );
}

#[test]
fn other_requests_keep_max_body() {
    let (sinks, log) = hook(10_000, None);
    let mut h = pump(sinks);
    h.feed(&post("/other", &[b'a'; 101]));
    assert_eq!(h.refused, [RequestError::BodyTooLarge]);
    assert!(log.lock().unwrap().chunks.is_empty());
}

#[test]
fn a_declared_length_past_the_sink_limit_is_413_before_any_byte() {
    let (sinks, log) = hook(1000, None);
    let mut h = pump(sinks);
    h.feed(&post("/up", &[b'a'; 1001]));
    assert_eq!(h.refused, [RequestError::BodyTooLarge]);
    let log = log.lock().unwrap();
    assert!(log.chunks.is_empty() && log.dropped_unfinished && !log.finished);
}

#[test]
fn a_chunked_body_past_the_sink_limit_is_413_and_the_sink_aborts() {
    let (sinks, log) = hook(8, None);
    let mut h = pump(sinks);
    h.feed(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    h.feed(b"5\r\nworld\r\n0\r\n\r\n");
    assert_eq!(h.refused, [RequestError::BodyTooLarge]);
    assert_eq!(h.statuses(), [413]);
    let log = log.lock().unwrap();
    assert!(log.dropped_unfinished && !log.finished);
}

#[test]
fn eof_midway_drops_the_sink_unfinished() {
    let (sinks, log) = hook(10_000, None);
    let mut h = pump(sinks);
    let wire = post("/up", &[b'a'; 500]);
    h.feed(&wire[..wire.len() - 200]);
    h.conn.handle_eof();
    h.pump();
    assert!(h.seen.is_empty() && h.refused.is_empty());
    let log = log.lock().unwrap();
    assert_eq!(log.bytes().len(), 300);
    assert!(log.dropped_unfinished && !log.finished);
}

#[test]
fn a_stalled_body_times_out_with_408_and_the_sink_aborts() {
    let (sinks, log) = hook(10_000, None);
    let mut h = pump(sinks);
    let wire = post("/up", &[b'a'; 500]);
    h.feed(&wire[..wire.len() - 1]);
    h.advance_clock(Limits::DEFAULT_HEADER_TIMEOUT + Duration::from_secs(1));
    assert_eq!(h.refused, [RequestError::Timeout]);
    assert!(log.lock().unwrap().dropped_unfinished);
}

#[test]
fn a_sink_error_is_the_refusal_with_its_status() {
    let (sinks, log) = hook(10_000, Some(b'!'));
    let mut h = pump(sinks);
    h.feed(&post("/up", b"fine, then !"));
    assert_eq!(h.statuses(), [400]);
    assert!(
        matches!(&h.refused[..], [RequestError::Sink(error)] if error.reason == "a refused byte")
    );
    assert!(log.lock().unwrap().dropped_unfinished);
}

#[test]
fn expect_100_continue_is_sent_for_a_streamed_body_and_not_past_its_limit() {
    let (sinks, _) = hook(1000, None);
    let mut h = pump(sinks);
    h.feed(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\nExpect: 100-continue\r\n\r\n");
    assert!(h.output().starts_with("HTTP/1.1 100 Continue\r\n"));
    let (sinks, _) = hook(100, None);
    let mut h = pump(sinks);
    h.feed(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(h.statuses(), [413]);
    assert!(!h.output().contains("100 Continue"));
}
