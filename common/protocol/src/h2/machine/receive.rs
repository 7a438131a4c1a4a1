//! The receiving side of the HTTP/2 machine: the client preface, then each frame the client
//! sends, acted on in order (RFC 9113 sections 3.4, 4.3, 5.1, 6 and 8.1).
//!
//! Every frame goes through the stream state table ([`crate::h2::stream::transition`]) before
//! anything else is done with it, and every field block through the one HPACK decoder, even
//! for a stream that is then refused: "A receiver MUST terminate the connection with a
//! connection error (Section 5.4.1) of type COMPRESSION_ERROR if it does not decompress a
//! field block." (section 4.3)

use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::guard::{MAX_BLOCK_FACTOR, MAX_CONTINUATIONS};
use super::{
    Inbound, Lifecycle, Machine, Outbound, PartialBlock, Pending, Reading, Stream,
    MAX_CONCURRENT_STREAMS, PREFACE, STREAM_WINDOW,
};
use crate::h2::error::{Error, Reason};
use crate::h2::frame::{self, Continuation, Data, Frame, Ping, RstStream, WindowUpdate};
use crate::h2::hpack::Field;
use crate::h2::semantics::{self, BodyCheck, Limit};
use crate::h2::stream::{transition, Closure, Event, Outcome, State};
use crate::http1::RequestError;
use crate::message::Method;
use crate::sink::Receiving;

impl Machine {
    // ANCHOR: read_frames
    /// Reads and acts on every whole frame in the input buffer.
    pub(super) fn read_frames(&mut self, now: Instant) {
        loop {
            if self.lifecycle != Lifecycle::Open {
                self.input.clear();
                return;
            }
            match self.reading {
                Reading::Stopped => {
                    self.input.clear();
                    return;
                }
                Reading::Preface { matched, started } => {
                    if !self.read_preface(matched, started, now) {
                        return;
                    }
                }
                Reading::FirstSettings { .. } | Reading::Frames => {
                    match frame::split_frame(&mut self.input, self.local.max_frame_size) {
                        Ok(None) => return,
                        Ok(Some(frame)) => self.on_frame(frame, now),
                        Err(error) => self.on_frame_error(error),
                    }
                }
            }
        }
    }
    // ANCHOR_END: read_frames

    /// Matches input against the client preface; returns whether it is complete.
    fn read_preface(&mut self, matched: usize, started: Option<Instant>, now: Instant) -> bool {
        if self.input.is_empty() {
            return false;
        }
        let started = started.unwrap_or(now);
        let expected = PREFACE.get(matched..).unwrap_or_default();
        let n = expected.len().min(self.input.len());
        // "Clients and servers MUST treat an invalid connection preface as a connection error
        // (Section 5.4.1) of type PROTOCOL_ERROR." (section 3.4)
        if self.input.get(..n) != expected.get(..n) {
            self.fail(Error::connection(
                Reason::PROTOCOL_ERROR,
                "the client's first octets are not the HTTP/2 connection preface",
            ));
            return false;
        }
        self.input.advance(n);
        if matched + n < PREFACE.len() {
            self.reading = Reading::Preface {
                matched: matched + n,
                started: Some(started),
            };
            return false;
        }
        self.reading = Reading::FirstSettings { started };
        true
    }

    /// Acts on one frame.
    fn on_frame(&mut self, frame: Frame, now: Instant) {
        if let Reading::FirstSettings { .. } = self.reading {
            // "That is, the connection preface [...] MUST be followed by a SETTINGS frame"
            // (section 3.4), and an ACK is not the client's preface.
            match &frame {
                Frame::Settings(settings) if !settings.ack => self.reading = Reading::Frames,
                _ => {
                    return self.fail(Error::connection(
                        Reason::PROTOCOL_ERROR,
                        "the client's preface must be followed by a SETTINGS frame",
                    ))
                }
            }
        }
        if let Some(block) = &self.block {
            // "A HEADERS frame without the END_HEADERS flag set MUST be followed by a
            // CONTINUATION frame for the same stream. A receiver MUST treat the receipt of any
            // other type of frame or a frame on a different stream as a connection error
            // (Section 5.4.1) of type PROTOCOL_ERROR." (section 6.2)
            return match frame {
                Frame::Continuation(continuation) if continuation.stream == block.stream => {
                    self.on_continuation(continuation)
                }
                _ => self.fail(Error::connection(
                    Reason::PROTOCOL_ERROR,
                    "a field block was interrupted by another frame",
                )),
            };
        }
        match frame {
            Frame::Data(data) => self.on_data(data, now),
            Frame::Headers(headers) => {
                let priority = headers.check_priority();
                if headers.end_headers {
                    let (stream, end_stream) = (headers.stream, headers.end_stream);
                    self.on_field_block(stream, end_stream, headers.fragment, priority, now);
                } else {
                    if headers.fragment.len() > self.max_block_bytes() {
                        return self.fail(block_too_large());
                    }
                    self.block = Some(PartialBlock {
                        stream: headers.stream,
                        end_stream: headers.end_stream,
                        priority,
                        fragments: BytesMut::from(&headers.fragment[..]),
                        continuations: 0,
                        started: now,
                    });
                }
            }
            // "The PRIORITY frame (type=0x02) is deprecated" (section 6.3): read, and ignored;
            // its one error (a stream depending on itself) is raised by the frame layer.
            Frame::Priority(_) => {}
            Frame::RstStream(reset) => self.on_reset(reset),
            Frame::Settings(settings) => self.on_settings(settings),
            // The frame layer already refuses it; kept for a reader of this match.
            Frame::PushPromise(_) => self.fail(Error::connection(
                Reason::PROTOCOL_ERROR,
                "a client cannot push",
            )),
            Frame::Ping(ping) => {
                // "Receivers of a PING frame that does not include an ACK flag MUST send a
                // PING frame with the ACK flag set in response, with an identical frame
                // payload." (section 6.7) We send no PING, so an ACK answers nothing of ours.
                if !ping.ack {
                    Ping::pong(ping.opaque).encode(self.output.frames());
                    self.owe_control_frame();
                }
            }
            Frame::GoAway(_) => {
                // The client will open no more streams; those it opened are still answered.
                self.peer_going_away = true;
            }
            Frame::WindowUpdate(update) => self.on_window_update(update),
            // "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or
            // CONTINUATION frame without the END_HEADERS flag set. A recipient that observes
            // violation of this rule MUST respond with a connection error (Section 5.4.1) of
            // type PROTOCOL_ERROR." (section 6.10)
            Frame::Continuation(_) => self.fail(Error::connection(
                Reason::PROTOCOL_ERROR,
                "CONTINUATION without a field block to continue",
            )),
            // "Implementations MUST ignore and discard frames of unknown types." (section 4.1)
            Frame::Unknown { .. } => {}
        }
    }

    /// A frame the frame layer refused.
    fn on_frame_error(&mut self, error: Error) {
        match error {
            Error::Connection { .. } => self.fail(error),
            Error::Stream { stream, reason, .. } => {
                if self.block.is_some() || !matches!(self.reading, Reading::Frames) {
                    // A refused frame in the middle of a field block is still a frame between
                    // its pieces (section 6.2); before SETTINGS, it is not SETTINGS.
                    return self.fail(Error::connection(
                        Reason::PROTOCOL_ERROR,
                        "a frame that is not CONTINUATION inside a field block",
                    ));
                }
                if self.state_of(stream) == State::Idle {
                    // "RST_STREAM frames MUST NOT be sent for a stream in the idle state"
                    // (section 6.4), and the stream error can be a connection error instead:
                    // "an endpoint MAY choose to treat a stream error as a connection error"
                    // (section 5.4.1).
                    return self.fail(Error::connection(
                        reason,
                        "a stream error on an idle stream",
                    ));
                }
                if self.streams.contains_key(&stream) {
                    self.reset(stream, reason, true);
                } else {
                    // A stream already closed (answered, or reset and forgotten): "An
                    // endpoint MUST NOT send frames other than PRIORITY on a closed stream"
                    // (section 5.1), so RST_STREAM is not allowed, and silence would let the
                    // error pass unanswered. The stream error becomes a connection error,
                    // which section 5.4.1 allows.
                    self.fail(Error::connection(
                        reason,
                        "a stream error on a closed stream",
                    ));
                }
            }
        }
    }

    fn on_continuation(&mut self, continuation: Continuation) {
        let max_block = self.max_block_bytes();
        let Some(block) = self.block.as_mut() else {
            return;
        };
        block.continuations += 1;
        if block.continuations > MAX_CONTINUATIONS {
            return self.fail(Error::connection(
                Reason::ENHANCE_YOUR_CALM,
                "CONTINUATION flood: too many CONTINUATION frames in one field block",
            ));
        }
        if block.fragments.len() + continuation.fragment.len() > max_block {
            return self.fail(block_too_large());
        }
        block.fragments.extend_from_slice(&continuation.fragment);
        if continuation.end_headers {
            if let Some(block) = self.block.take() {
                let fragments = block.fragments.freeze();
                let started = block.started;
                self.on_field_block(
                    block.stream,
                    block.end_stream,
                    fragments,
                    block.priority,
                    started,
                );
            }
        }
    }

    // ANCHOR: field_block
    /// A whole field block on stream `id`: a request's head, its trailers, or a block for a
    /// stream that is gone, which is decoded all the same.
    fn on_field_block(
        &mut self,
        id: u32,
        end_stream: bool,
        block: Bytes,
        priority: Result<(), Error>,
        now: Instant,
    ) {
        let mut fields = Vec::new();
        let too_large = match self
            .decoder
            .decode(&block, self.limits.max_head_bytes, &mut fields)
        {
            Ok(()) => false,
            Err(error) => match error.connection_error() {
                Some(error) => return self.fail(error),
                // The HPACK bomb: the decoder stopped keeping fields past the limit, and the
                // request is refused (431) below.
                None => true,
            },
        };
        if fields.is_empty() && !too_large && !end_stream {
            if let Err(error) = self.guard.empty_frame() {
                return self.fail(error);
            }
        }
        match self.state_of(id) {
            State::Idle => self.open_stream(id, end_stream, fields, too_large, priority, now),
            state => self.more_fields(id, state, end_stream, fields, too_large, priority),
        }
    }
    // ANCHOR_END: field_block

    /// HEADERS that open stream `id`.
    fn open_stream(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: Vec<Field>,
        too_large: bool,
        priority: Result<(), Error>,
        now: Instant,
    ) {
        if let Err(error) = self.ids.open_client_stream(id) {
            return self.fail(error);
        }
        self.guard.stream_opened();
        if self.going_away || self.peer_going_away || self.reading == Reading::Stopped {
            // "Once the GOAWAY is sent, the sender will ignore frames sent on streams
            // initiated by the receiver if the stream has an identifier higher than the
            // included last stream identifier." (section 6.8) REFUSED_STREAM tells the client
            // it may retry the request elsewhere.
            return self.reset(id, Reason::REFUSED_STREAM, false);
        }
        if let Err(Error::Stream { reason, .. }) = priority {
            return self.reset(id, reason, true);
        }
        let active = self
            .streams
            .values()
            .filter(|s| s.state.is_active())
            .count();
        if active >= MAX_CONCURRENT_STREAMS as usize {
            // "An endpoint that receives a HEADERS frame that causes its advertised concurrent
            // stream limit to be exceeded MUST treat this as a stream error (Section 5.4.2) of
            // type PROTOCOL_ERROR or REFUSED_STREAM." (section 5.1.2) REFUSED_STREAM: no work
            // was done, so the client may retry.
            return self.reset(id, Reason::REFUSED_STREAM, false);
        }
        let mut state = State::Open;
        if end_stream {
            state = State::HalfClosedRemote;
        }
        let stream = Stream {
            state,
            flow: self.flow.new_stream(),
            inbound: Inbound::Complete,
            outbound: Outbound::Waiting,
            is_head: false,
            with_app: false,
        };
        self.streams.insert(id, stream);
        if too_large {
            return self.refuse(id, RequestError::HeadTooLarge);
        }
        let fields = fields.into_iter().map(|field| (field.name, field.value));
        let (head, sink) = match self.request_head(id, fields, end_stream) {
            Ok(head) => head,
            Err(error) => return self.request_error(error),
        };
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.is_head = head.request.method == Method::Head;
            if end_stream {
                if let Err(error) = head.body.finish() {
                    return self.request_error(error);
                }
                self.pending.push_back(Pending::Request(id, head.request));
            } else {
                if sink.is_some() {
                    // The sink takes each DATA frame at once, so its credit can come back at
                    // once: a full-size window, whatever `max_body` keeps for other streams.
                    stream.flow.grow_recv(STREAM_WINDOW);
                    if let Some(increment) = stream.flow.take_update() {
                        WindowUpdate::new(id, increment).encode(self.output.frames());
                    }
                }
                stream.inbound = Inbound::Receiving {
                    request: Box::new(head.request),
                    check: head.body,
                    body: Vec::new(),
                    sink,
                    last_progress: now,
                };
            }
        }
    }

    // ANCHOR: request_head
    /// The request of a HEADERS block and the check of its body, with the sink the body-sink
    /// hook gives for it (asked only for a request with a body to come): its limit replaces
    /// `Limits::max_body` for the declared and the received length.
    fn request_head(
        &self,
        id: u32,
        fields: impl IntoIterator<Item = (Bytes, Bytes)>,
        end_stream: bool,
    ) -> Result<(semantics::RequestHead, Option<Receiving>), semantics::RequestError> {
        let Some(sinks) = self.sinks.as_ref().filter(|_| !end_stream) else {
            return semantics::request(id, fields, &self.limits).map(|head| (head, None));
        };
        let (request, declared) = semantics::request_without_body_check(id, fields, &self.limits)?;
        let sink = sinks.sink_for(&request).map(Receiving::new);
        let limit = sink
            .as_ref()
            .map_or(self.limits.max_body, |sink| sink.limit());
        let body = BodyCheck::with_limit(id, declared, limit)?;
        Ok((semantics::RequestHead { request, body }, sink))
    }
    // ANCHOR_END: request_head

    /// A field block on a stream that is not idle: trailers, or a straggler.
    fn more_fields(
        &mut self,
        id: u32,
        state: State,
        end_stream: bool,
        fields: Vec<Field>,
        too_large: bool,
        priority: Result<(), Error>,
    ) {
        let next = match transition(state, Event::RecvHeaders) {
            Err(refusal) => return self.refused(refusal.on(id)),
            Ok(Outcome::Discard) => return,
            Ok(Outcome::Next(next)) => next,
        };
        if let Err(Error::Stream { reason, .. }) = priority {
            return self.reset(id, reason, true);
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.state = next;
        if !matches!(stream.inbound, Inbound::Receiving { .. }) {
            // A refused request's client still sending: dropped, apart from the state.
            if end_stream {
                self.received_end_stream(id);
            }
            return;
        }
        if too_large {
            return self.refuse(id, RequestError::TrailersTooLarge);
        }
        let fields = fields.into_iter().map(|field| (field.name, field.value));
        match semantics::trailers(id, fields, end_stream, &self.limits) {
            Err(error) => self.request_error(error),
            Ok(trailers) => {
                if let Some(Stream {
                    inbound: Inbound::Receiving { request, .. },
                    ..
                }) = self.streams.get_mut(&id)
                {
                    request.trailers = trailers;
                }
                self.received_end_stream(id);
            }
        }
    }

    // ANCHOR: data
    /// A DATA frame.
    fn on_data(&mut self, data: Data, now: Instant) {
        let id = data.stream;
        let flow_len = data.flow_controlled_len();
        if !data.end_stream {
            if data.data.is_empty() {
                if let Err(error) = self.guard.empty_frame() {
                    return self.fail(error);
                }
            }
            if let Err(error) = self.guard.data_frame(flow_len) {
                return self.fail(error);
            }
        }
        let state = self.state_of(id);
        let next = match transition(state, Event::RecvData) {
            Ok(Outcome::Next(next)) if self.streams.contains_key(&id) => next,
            Ok(_) => return self.discard_data(flow_len),
            Err(refusal) => {
                // "A receiver that receives a flow-controlled frame MUST always account for
                // its contribution against the connection flow-control window, unless the
                // receiver treats this as a connection error" (section 6.9)
                self.discard_data(flow_len);
                return self.refused(refusal.on(id));
            }
        };
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        // At most a frame's length (2^24-1), so it fits.
        let data_len = u32::try_from(data.data.len()).unwrap_or(u32::MAX);
        if let Err(error) = self
            .flow
            .receive_data(id, &mut stream.flow, flow_len, data_len)
        {
            return self.refused(error);
        }
        stream.state = next;
        let mut refusal = None;
        let mut sink_refusal = None;
        if let Inbound::Receiving {
            check,
            body,
            sink,
            last_progress,
            ..
        } = &mut stream.inbound
        {
            match check.data(data.data.len()) {
                // A streamed body goes to its sink now, and its credit back below: the sink,
                // not memory, paces the upload.
                Ok(()) => match sink {
                    Some(sink) => match sink.write(&data.data) {
                        Ok(()) => *last_progress = now,
                        Err(refused) => {
                            sink_refusal = Some(
                                refused.map_or(RequestError::BodyTooLarge, RequestError::Sink),
                            );
                        }
                    },
                    None => {
                        body.extend_from_slice(&data.data);
                        *last_progress = now;
                    }
                },
                Err(error) => refusal = Some(error),
            }
        }
        // The data is in the request body or its sink (or dropped). The body limit, checked
        // above, bounds what one stream may make us hold; the body budget what all of them may.
        if let Some(error) = refusal {
            self.request_error(error);
        } else if let Some(error) = sink_refusal {
            self.refuse(id, error);
        } else if data.end_stream {
            self.received_end_stream(id);
        }
        // After the body has left for the application (or been dropped), so that it no longer
        // counts against the budget and an ended stream gets no WINDOW_UPDATE of its own.
        self.release_credit();
    }
    // ANCHOR_END: data

    /// The client ended its side of stream `id` (END_STREAM on HEADERS or DATA).
    fn received_end_stream(&mut self, id: u32) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let next = match transition(stream.state, Event::RecvEndStream) {
            Ok(Outcome::Next(next)) => next,
            Ok(Outcome::Discard) => stream.state,
            Err(refusal) => return self.refused(refusal.on(id)),
        };
        stream.state = next;
        let inbound = std::mem::replace(&mut stream.inbound, Inbound::Complete);
        if let Inbound::Receiving {
            mut request,
            check,
            body,
            sink,
            ..
        } = inbound
        {
            if let Err(error) = check.finish() {
                return self.request_error(error);
            }
            match sink {
                Some(sink) => match sink.finish() {
                    Ok(streamed) => request.streamed = Some(streamed),
                    // The whole body came but the sink could not complete it (a malformed
                    // upload, a failed rename): refused with the sink's status.
                    Err(error) => return self.refuse(id, RequestError::Sink(error)),
                },
                None => request.body = Bytes::from(body),
            }
            self.pending.push_back(Pending::Request(id, *request));
        }
        if let State::Closed(closure) = next {
            self.remove_stream(id, closure);
        }
    }

    fn on_reset(&mut self, reset: RstStream) {
        let id = reset.stream;
        match transition(self.state_of(id), Event::RecvReset) {
            Err(refusal) => self.refused(refusal.on(id)),
            Ok(Outcome::Discard) => {}
            Ok(Outcome::Next(_)) => {
                if self.streams.contains_key(&id) {
                    // The stream's response was not finished (finished streams are no longer
                    // held): this is the reset that rapid reset repeats.
                    self.remove_stream(id, Closure::ResetByPeer);
                    if let Err(error) = self.guard.early_reset() {
                        self.fail(error);
                    }
                }
            }
        }
    }

    // ANCHOR: settings
    fn on_settings(&mut self, settings: frame::Settings) {
        if settings.ack {
            // Our SETTINGS are in force now; an ACK we did not ask for changes nothing.
            if self.unacknowledged > 0 {
                self.unacknowledged -= 1;
                self.decoder
                    .set_max_table_size(self.local.header_table_size as usize);
                let streams = self.streams.values_mut().map(|stream| &mut stream.flow);
                self.flow
                    .apply_local_initial_window_size(self.local.initial_window_size, streams);
            }
            return;
        }
        // "The values in the SETTINGS frame MUST be processed in the order they appear, with
        // no other frame processing between values." (section 6.5.3)
        let applied = match self.peer.apply(&settings) {
            Ok(applied) => applied,
            Err(error) => return self.fail(error),
        };
        if applied.initial_window_size_delta != 0 {
            let streams = self.streams.values_mut().map(|stream| &mut stream.flow);
            if let Err(error) = self
                .flow
                .apply_peer_initial_window_size(self.peer.initial_window_size, streams)
            {
                return self.fail(error);
            }
            self.output.unblock_all();
        }
        if let Some(smallest) = applied.smallest_header_table_size {
            self.encoder.set_peer_max_table_size(smallest as usize);
            self.encoder
                .set_peer_max_table_size(self.peer.header_table_size as usize);
        }
        // "Once all values have been processed, the recipient MUST immediately emit a SETTINGS
        // frame with the ACK flag set." (section 6.5.3)
        frame::Settings::acknowledgement().encode(self.output.frames());
        self.owe_control_frame();
    }
    // ANCHOR_END: settings

    fn on_window_update(&mut self, update: WindowUpdate) {
        let id = update.stream;
        if id == 0 {
            if let Err(error) = self.flow.handle_connection_window_update(update.increment) {
                self.fail(error);
            }
            return;
        }
        match transition(self.state_of(id), Event::RecvWindowUpdate) {
            Err(refusal) => self.refused(refusal.on(id)),
            Ok(Outcome::Discard) => {}
            Ok(Outcome::Next(next)) => {
                let Some(stream) = self.streams.get_mut(&id) else {
                    return;
                };
                stream.state = next;
                match stream.flow.handle_window_update(id, update.increment) {
                    Ok(()) => self.output.unblock(id),
                    Err(error) => self.refused(error),
                }
            }
        }
    }

    /// Acts on an error the client's frame caused: GOAWAY for a connection error; for a
    /// stream error, RST_STREAM if the stream is held (a closed one is not reset again).
    fn refused(&mut self, error: Error) {
        match error {
            Error::Connection { .. } => self.fail(error),
            Error::Stream { stream, reason, .. } => {
                if self.streams.contains_key(&stream) {
                    self.reset(stream, reason, true);
                }
            }
        }
    }

    /// What semantics refused: a malformed request is reset, a too-large one answered.
    fn request_error(&mut self, error: semantics::RequestError) {
        let id = error.stream();
        match error {
            // "Malformed requests or responses that are detected MUST be treated as a stream
            // error (Section 5.4.2) of type PROTOCOL_ERROR." (section 8.1.1)
            semantics::RequestError::Malformed(_) => self.reset(id, Reason::PROTOCOL_ERROR, true),
            semantics::RequestError::TooLarge { limit, .. } => {
                let refusal = match limit {
                    Limit::HeaderCount => RequestError::TooManyHeaders,
                    Limit::HeaderBytes => RequestError::HeadTooLarge,
                    Limit::PathLength => RequestError::RequestLineTooLong,
                    Limit::DeclaredBody | Limit::ReceivedBody => RequestError::BodyTooLarge,
                    Limit::TrailerBytes => RequestError::TrailersTooLarge,
                };
                self.refuse(id, refusal);
            }
        }
    }

    /// Hands the application a refusal for stream `id` to answer (431, 413, 414, 408); the
    /// rest of what the client sends on the stream is dropped.
    pub(super) fn refuse(&mut self, id: u32, error: RequestError) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.inbound = Inbound::Complete;
        // A request already queued for the application (or with it) is not refused twice.
        if !(stream.with_app || self.pending.iter().any(|item| pending_id(item) == id)) {
            self.pending.push_back(Pending::Reject(id, error));
        }
        // Its body, if any, was dropped: that may bring the others under the budget.
        self.release_credit();
    }

    /// A DATA frame for a stream that is gone: it still spends connection window.
    fn discard_data(&mut self, flow_len: u32) {
        if let Err(error) = self.flow.receive_discarded(flow_len) {
            return self.fail(error);
        }
        self.give_back_connection_credit();
    }

    fn give_back_connection_credit(&mut self) {
        if let Some(increment) = self.flow.take_connection_update() {
            WindowUpdate::new(0, increment).encode(self.output.frames());
        }
    }

    fn owe_control_frame(&mut self) {
        if let Err(error) = self.guard.control_owed() {
            self.fail(error);
        }
    }

    /// The most a field block may be before it is decoded (see [`MAX_BLOCK_FACTOR`]); never
    /// less than one frame.
    fn max_block_bytes(&self) -> usize {
        self.limits
            .max_head_bytes
            .saturating_mul(MAX_BLOCK_FACTOR)
            .max(frame::DEFAULT_MAX_FRAME_SIZE as usize)
    }
}

fn pending_id(item: &Pending) -> u32 {
    match item {
        Pending::Request(id, _) | Pending::Reject(id, _) => *id,
    }
}

fn block_too_large() -> Error {
    Error::connection(
        Reason::ENHANCE_YOUR_CALM,
        "CONTINUATION flood: a field block larger than we buffer",
    )
}
