//! A tiny HTTP/2 client for the machine's tests, built from the crate's own frame and HPACK
//! modules: it sends the preface, SETTINGS, requests and DATA, and reads back what the server
//! wrote, frame by frame, with the responses' fields decoded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};

use crate::connection::{Event, Transmit};
use crate::h2::error::Reason;
use crate::h2::frame::{self, Frame, Headers, Role, SettingId};
use crate::h2::hpack::{Decoder, Encoder, DEFAULT_TABLE_SIZE};
use crate::h2::machine::{Machine, PREFACE};
use crate::http1::RequestError;
use crate::limits::Limits;
use crate::message::{Request, Response};

/// What the client has read from the server so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// Response fields by stream, `:status` included, in order.
    pub fields: BTreeMap<u32, Vec<(String, String)>>,
    /// Response content by stream.
    pub body: BTreeMap<u32, Vec<u8>>,
    /// DATA frames by stream, as their lengths.
    pub data_frames: BTreeMap<u32, Vec<usize>>,
    /// Streams whose response ended (END_STREAM), in the order they ended.
    pub ended: Vec<u32>,
    pub resets: Vec<(u32, Reason)>,
    pub goaway: Option<(u32, Reason)>,
    pub pongs: Vec<[u8; 8]>,
    pub settings: Vec<frame::Settings>,
    pub settings_acks: usize,
    pub window_updates: Vec<(u32, u32)>,
    /// Every frame, by kind, in order.
    pub kinds: Vec<frame::Kind>,
    /// The stream of every DATA frame, in order.
    pub data_order: Vec<u32>,
}

impl Seen {
    /// A stream's `:status`.
    pub fn status(&self, stream: u32) -> Option<u16> {
        self.field(stream, ":status")?.parse().ok()
    }

    pub fn field(&self, stream: u32, name: &str) -> Option<&str> {
        self.fields
            .get(&stream)?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_of(&self, stream: u32) -> &[u8] {
        self.body.get(&stream).map_or(&[][..], |b| &b[..])
    }

    pub fn reset_of(&self, stream: u32) -> Option<Reason> {
        self.resets
            .iter()
            .find(|(id, _)| *id == stream)
            .map(|(_, r)| *r)
    }
}

/// A machine, a client talking to it, and a virtual clock.
pub struct Peer {
    pub machine: Machine,
    pub now: Instant,
    pub seen: Seen,
    /// Requests the application saw, by stream.
    pub requests: BTreeMap<u32, Request>,
    pub refusals: Vec<(u32, RequestError)>,
    /// File regions the machine asked to write, as (offset, length).
    pub file_regions: Vec<(u64, u64)>,
    pub write_closed: bool,
    encoder: Encoder,
    decoder: Decoder,
    wire: BytesMut,
    /// A field block being read back (HEADERS without END_HEADERS), with its stream.
    block: Option<(u32, bool, BytesMut)>,
    ended: BTreeSet<u32>,
}

impl Peer {
    /// A machine with `limits`, and a client that has not sent anything.
    pub fn raw(limits: Limits, start: Instant) -> Peer {
        Peer {
            machine: Machine::new(limits.into(), start),
            now: start,
            seen: Seen::default(),
            requests: BTreeMap::new(),
            refusals: Vec::new(),
            file_regions: Vec::new(),
            write_closed: false,
            encoder: Encoder::new(),
            decoder: Decoder::new(DEFAULT_TABLE_SIZE),
            wire: BytesMut::new(),
            block: None,
            ended: BTreeSet::new(),
        }
    }

    /// A connection after the preface both ways: the client's preface and `settings`, the
    /// server's SETTINGS read and acknowledged.
    pub fn with_settings(limits: Limits, start: Instant, settings: &[(SettingId, u32)]) -> Peer {
        let mut peer = Peer::raw(limits, start);
        peer.send_bytes(PREFACE);
        peer.send(Frame::Settings(frame::Settings {
            ack: false,
            parameters: settings.to_vec(),
        }));
        peer.flush();
        peer.send(Frame::Settings(frame::Settings::acknowledgement()));
        peer.flush();
        peer
    }

    pub fn new(start: Instant) -> Peer {
        Peer::with_settings(Limits::default(), start, &[])
    }

    /// The client's decoder now holds the server to `size` (after a SETTINGS_HEADER_TABLE_SIZE
    /// the server has acknowledged).
    pub fn decoder_table_size(&mut self, size: usize) {
        self.decoder.set_max_table_size(size);
    }

    pub fn decoder_table_len(&self) -> usize {
        self.decoder.table().len()
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.machine.handle_input(bytes, self.now);
    }

    pub fn send(&mut self, frame: Frame) {
        let mut bytes = BytesMut::new();
        frame.encode(&mut bytes);
        self.send_bytes(&bytes);
    }

    /// The raw frame: a header and a payload, whatever they say.
    pub fn send_raw(&mut self, kind: frame::Kind, flags: u8, stream: u32, payload: &[u8]) {
        let mut bytes = BytesMut::new();
        frame::Header {
            length: payload.len() as u32,
            kind,
            flags,
            stream,
        }
        .encode(&mut bytes);
        bytes.extend_from_slice(payload);
        self.send_bytes(&bytes);
    }

    /// An encoded field block for `fields`.
    pub fn block(&mut self, fields: &[(&str, &str)]) -> Bytes {
        let mut out = Vec::new();
        self.encoder.encode(
            fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        Bytes::from(out)
    }

    /// HEADERS carrying `fields` on `stream`.
    pub fn headers(&mut self, stream: u32, fields: &[(&str, &str)], end_stream: bool) {
        let block = self.block(fields);
        let mut headers = Headers::new(stream, block);
        headers.end_stream = end_stream;
        self.send(Frame::Headers(headers));
    }

    /// A request's HEADERS.
    pub fn request(&mut self, stream: u32, method: &str, path: &str, end_stream: bool) {
        let fields = [
            (":method", method),
            (":scheme", "https"),
            (":authority", "example.test"),
            (":path", path),
        ];
        self.headers(stream, &fields, end_stream);
    }

    pub fn get(&mut self, stream: u32, path: &str) {
        self.request(stream, "GET", path, true);
    }

    pub fn data(&mut self, stream: u32, data: &[u8], end_stream: bool) {
        let mut frame = frame::Data::new(stream, Bytes::copy_from_slice(data));
        frame.end_stream = end_stream;
        self.send(Frame::Data(frame));
    }

    pub fn window_update(&mut self, stream: u32, increment: u32) {
        self.send(Frame::WindowUpdate(frame::WindowUpdate::new(
            stream, increment,
        )));
    }

    /// Takes every event; requests are answered by `app`, refusals with their response.
    pub fn answer_with(&mut self, mut app: impl FnMut(&Request) -> Response) {
        while let Some(event) = self.machine.poll_event() {
            match event {
                Event::Request { id, request } => {
                    let response = app(&request);
                    self.requests.insert(id.0, request);
                    self.machine
                        .send_response(id, response, SystemTime::UNIX_EPOCH);
                }
                Event::Rejected { id, error } => {
                    let response = error.response();
                    self.refusals.push((id.0, error));
                    self.machine
                        .send_response(id, response, SystemTime::UNIX_EPOCH);
                }
            }
        }
    }

    /// Takes the events without answering them.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.machine.poll_event()).collect()
    }

    /// Answers with the shared echo application, then reads everything written.
    pub fn pump(&mut self) {
        self.answer_with(crate::pump::echo);
        self.flush();
    }

    /// Writes everything the machine has to write (file regions as that many `F` octets),
    /// then reads the frames back.
    pub fn flush(&mut self) {
        for _ in 0..100_000 {
            let written = match self.machine.poll_transmit() {
                None => break,
                Some(Transmit::Bytes(bytes)) => {
                    self.wire.extend_from_slice(bytes);
                    bytes.len()
                }
                Some(Transmit::File { offset, len, .. }) => {
                    self.file_regions.push((offset, len));
                    self.wire.extend(std::iter::repeat_n(b'F', len as usize));
                    len as usize
                }
                Some(Transmit::CloseWrite) => {
                    self.write_closed = true;
                    self.machine.handle_write_closed(self.now);
                    break;
                }
            };
            self.machine.advance(written, self.now);
        }
        self.read_frames();
    }

    pub fn advance_clock(&mut self, by: Duration) {
        self.now += by;
        self.machine.handle_timeout(self.now);
    }

    fn read_frames(&mut self) {
        loop {
            let frame = match frame::split_frame_as(
                Role::Client,
                &mut self.wire,
                frame::LARGEST_FRAME_SIZE,
            ) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(error) => panic!("the server wrote a bad frame: {error}"),
            };
            self.seen.kinds.push(frame.kind());
            match frame {
                Frame::Headers(headers) => {
                    let fragment = BytesMut::from(&headers.fragment[..]);
                    if headers.end_headers {
                        self.response_block(headers.stream, headers.end_stream, &fragment);
                    } else {
                        self.block = Some((headers.stream, headers.end_stream, fragment));
                    }
                }
                Frame::Continuation(continuation) => {
                    let (stream, end_stream, mut fragments) =
                        self.block.take().expect("CONTINUATION without HEADERS");
                    assert_eq!(stream, continuation.stream);
                    fragments.extend_from_slice(&continuation.fragment);
                    if continuation.end_headers {
                        self.response_block(stream, end_stream, &fragments);
                    } else {
                        self.block = Some((stream, end_stream, fragments));
                    }
                }
                Frame::Data(data) => {
                    assert!(self.block.is_none(), "DATA inside a field block");
                    assert!(!self.ended.contains(&data.stream), "DATA after END_STREAM");
                    self.seen
                        .body
                        .entry(data.stream)
                        .or_default()
                        .extend_from_slice(&data.data);
                    self.seen.data_order.push(data.stream);
                    self.seen
                        .data_frames
                        .entry(data.stream)
                        .or_default()
                        .push(data.data.len());
                    if data.end_stream {
                        self.end(data.stream);
                    }
                }
                Frame::RstStream(reset) => self.seen.resets.push((reset.stream, reset.reason)),
                Frame::GoAway(goaway) => {
                    self.seen.goaway = Some((goaway.last_stream, goaway.reason));
                    assert!(goaway.debug_data.is_empty());
                }
                Frame::Ping(ping) => {
                    assert!(ping.ack);
                    self.seen.pongs.push(ping.opaque);
                }
                Frame::Settings(settings) if settings.ack => self.seen.settings_acks += 1,
                Frame::Settings(settings) => self.seen.settings.push(settings),
                Frame::WindowUpdate(update) => self
                    .seen
                    .window_updates
                    .push((update.stream, update.increment)),
                other => panic!("the server sent {other:?}"),
            }
        }
    }

    fn response_block(&mut self, stream: u32, end_stream: bool, block: &[u8]) {
        let mut fields = Vec::new();
        self.decoder
            .decode(block, usize::MAX, &mut fields)
            .expect("the server's field block decodes");
        let entry = self.seen.fields.entry(stream).or_default();
        for field in fields {
            entry.push((
                String::from_utf8_lossy(&field.name).into_owned(),
                String::from_utf8_lossy(&field.value).into_owned(),
            ));
        }
        if end_stream {
            self.end(stream);
        }
    }

    fn end(&mut self, stream: u32) {
        assert!(self.ended.insert(stream), "END_STREAM twice on {stream}");
        self.seen.ended.push(stream);
    }
}
