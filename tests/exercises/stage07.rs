//! Stage 07's exercises (book/src/stage07.md, "Exercises").
//!
//! Both change the HTTP/2 machine in the protocol crate, so the checks drive it in memory, as
//! its own unit tests do: a `protocol::Connection` made with `new_http2`, a client made of the
//! crate's frame and HPACK coders, and a clock that moves only when told. No socket, no stage
//! binary: what is checked is the protocol's behaviour.

use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use protocol::h2::frame::{self, Frame, Role};
use protocol::h2::hpack::Encoder;
use protocol::h2::machine::PREFACE;
use protocol::h2::Reason;
use protocol::{Connection, Event, Limits, Response, StatusCode, Transmit};

/// The largest stream id (RFC 9113 section 5.1.1), which the first GOAWAY of a two-step
/// shutdown names.
const MAX_STREAM_ID: u32 = 0x7fff_ffff;

/// A client on one in-memory HTTP/2 connection.
struct Client {
    conn: Connection,
    now: Instant,
    encoder: Encoder,
    /// What the server wrote and the client has not read yet.
    wire: BytesMut,
    /// Every frame the server sent, in order.
    frames: Vec<Frame>,
}

impl Client {
    /// The prefaces both ways, SETTINGS acknowledged.
    fn new() -> Client {
        let now = Instant::now();
        let mut client = Client {
            conn: Connection::new_http2(Limits::default(), now),
            now,
            encoder: Encoder::new(),
            wire: BytesMut::new(),
            frames: Vec::new(),
        };
        client.send_bytes(PREFACE);
        client.send(Frame::Settings(frame::Settings {
            ack: false,
            parameters: Vec::new(),
        }));
        client.send(Frame::Settings(frame::Settings::acknowledgement()));
        client.exchange();
        client
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        self.conn.handle_input(bytes, self.now);
    }

    fn send(&mut self, frame: Frame) {
        let mut bytes = BytesMut::new();
        frame.encode(&mut bytes);
        self.send_bytes(&bytes);
    }

    /// HEADERS for `method path` on `stream`.
    fn request(&mut self, stream: u32, method: &str, path: &str, end_stream: bool) {
        let fields: [(&[u8], &[u8]); 4] = [
            (b":method", method.as_bytes()),
            (b":scheme", b"https"),
            (b":authority", b"exercise.test"),
            (b":path", path.as_bytes()),
        ];
        let mut block = Vec::new();
        self.encoder.encode(fields, &mut block);
        let mut headers = frame::Headers::new(stream, Bytes::from(block));
        headers.end_stream = end_stream;
        self.send(Frame::Headers(headers));
    }

    /// Answers every request with `200 ok`, writes out what the server has, reads its frames.
    fn exchange(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            let (id, response) = match event {
                Event::Request { id, .. } => (id, Response::text(StatusCode::OK, "ok")),
                Event::Rejected { id, error } => (id, error.response()),
            };
            self.conn
                .send_response(id, response, SystemTime::UNIX_EPOCH);
        }
        for _ in 0..100_000 {
            let written = match self.conn.poll_transmit() {
                None => break,
                Some(Transmit::Bytes(bytes)) => {
                    self.wire.extend_from_slice(bytes);
                    bytes.len()
                }
                Some(Transmit::File { len, .. }) => {
                    self.wire.extend(std::iter::repeat_n(0u8, len as usize));
                    len as usize
                }
                Some(Transmit::CloseWrite) => {
                    self.conn.handle_write_closed(self.now);
                    break;
                }
            };
            self.conn.advance(written, self.now);
        }
        while let Ok(Some(frame)) =
            frame::split_frame_as(Role::Client, &mut self.wire, frame::LARGEST_FRAME_SIZE)
        {
            self.frames.push(frame);
        }
    }

    fn goaways(&self) -> Vec<(u32, Reason)> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::GoAway(goaway) => Some((goaway.last_stream, goaway.reason)),
                _ => None,
            })
            .collect()
    }
}

/// Exercise 1: padding answers (RFC 9113 section 10.7): every DATA frame of a response is
/// padded so that its flow-controlled length is a multiple of [`PADDING_BLOCK`] octets, which
/// hides a body's exact length from someone who sees only the frames' sizes. The body the
/// client reads is unchanged.
#[test]
#[ignore = "exercise: stage07 1, padding answers"]
fn responses_are_padded_to_a_block() {
    const PADDING_BLOCK: u32 = 256;
    let exercise = "stage 07 exercise 1 (padding answers)";
    let mut client = Client::new();
    client.request(1, "GET", "/", true);
    client.exchange();
    let data: Vec<&frame::Data> = client
        .frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Data(data) if data.stream == 1 => Some(data),
            _ => None,
        })
        .collect();
    let body: Vec<u8> = data
        .iter()
        .flat_map(|data| data.data.iter().copied())
        .collect();
    // `Response::text` ends its body with a newline.
    assert_eq!(body, b"ok\n", "{exercise}: the body must arrive unchanged");
    for data in &data {
        assert!(
            data.flow_controlled_len() % PADDING_BLOCK == 0,
            "{exercise}: a DATA frame of {} octets ({} of them padding) is not a multiple of \
             {PADDING_BLOCK}",
            data.flow_controlled_len(),
            data.padding.map_or(0, u32::from)
        );
    }
}

/// Exercise 2: the two-step GOAWAY of RFC 9113 section 6.8: at shutdown, first GOAWAY with
/// the largest stream id and NO_ERROR, then a PING; when the client's PING ACK comes back
/// (every request it sent before the first GOAWAY has arrived by then), the real GOAWAY with
/// the last stream answered. A request sent between the two is served, not refused.
#[test]
#[ignore = "exercise: stage07 2, the two-step GOAWAY"]
fn two_step_goaway() {
    let exercise = "stage 07 exercise 2 (the two-step GOAWAY)";
    let mut client = Client::new();
    client.request(1, "GET", "/", true);
    client.exchange();
    let now = client.now;
    client.conn.handle_shutdown(now);
    client.exchange();
    assert_eq!(
        client.goaways().first(),
        Some(&(MAX_STREAM_ID, Reason::NO_ERROR)),
        "{exercise}: the first GOAWAY should name stream 2^31-1, so requests in flight are not \
         refused; it was {:?}",
        client.goaways()
    );
    let ping = client.frames.iter().find_map(|frame| match frame {
        Frame::Ping(ping) if !ping.ack => Some(ping.opaque),
        _ => None,
    });
    let Some(opaque) = ping else {
        panic!("{exercise}: no PING after the first GOAWAY, to learn when the client has seen it");
    };
    // A request the client sent before it saw the GOAWAY arrives now, then the PING's ACK.
    client.request(3, "GET", "/late", true);
    client.send(Frame::Ping(frame::Ping::pong(opaque)));
    client.now += Duration::from_millis(10);
    client.exchange();
    let answered_late = client
        .frames
        .iter()
        .any(|frame| matches!(frame, Frame::Headers(headers) if headers.stream == 3));
    assert!(
        answered_late,
        "{exercise}: the request sent between the two GOAWAYs should be answered"
    );
    assert_eq!(
        client.goaways().last(),
        Some(&(3, Reason::NO_ERROR)),
        "{exercise}: the second GOAWAY should name the last stream answered"
    );
}
