//! Reading a request body, the three ways the machine does it: a `Content-Length` body kept in
//! the input buffer until it is whole (RFC 9112 section 6.2), a chunked body decoded as it comes
//! (section 7.1), and a body streamed to the sink the application's hook gave for it
//! (`crate::sink`). Part of the [`Machine`](super::Machine): these are its body-reading steps,
//! called from its parse loop.

use super::*;

impl Machine {
    // ANCHOR: read_body
    /// A Content-Length body stays in the input buffer until all of it is there, then leaves
    /// as one frozen view: no copy. Returns whether anything changed.
    pub(super) fn read_body(&mut self, now: Instant) -> bool {
        let Reading::Body {
            length,
            last_progress,
            ..
        } = &mut self.reading
        else {
            return false;
        };
        if self.input.filled() < *length {
            // Progress is what counts for the body timeout, not completion.
            if self.input.filled() > 0 {
                *last_progress = now;
                self.continue_owed = false;
            }
            return false;
        }
        let length = *length;
        let Reading::Body {
            mut request,
            keep_alive,
            ..
        } = std::mem::replace(&mut self.reading, Reading::Head { started: None })
        else {
            unreachable!("matched Reading::Body above")
        };
        self.continue_owed = false;
        request.body = self.input.split_off_front(length);
        self.finish_request(*request, keep_alive);
        true
    }
    // ANCHOR_END: read_body

    /// Feeds chunked body bytes to the decoder.
    pub(super) fn read_chunked(&mut self, now: Instant) -> bool {
        let Reading::Chunked {
            decoder,
            body,
            last_progress,
            ..
        } = &mut self.reading
        else {
            return false;
        };
        let available = self.input.unparsed();
        if available.is_empty() {
            return false;
        }
        *last_progress = now;
        self.continue_owed = false;
        match decoder.decode(available, body) {
            Err(error) => {
                self.reject(error);
                true
            }
            Ok(Progress::NeedMore) => {
                let all = available.len();
                self.input.discard(all);
                false
            }
            Ok(Progress::Done(used)) => {
                self.input.discard(used);
                let Reading::Chunked {
                    mut request,
                    keep_alive,
                    mut decoder,
                    body,
                    ..
                } = std::mem::replace(&mut self.reading, Reading::Head { started: None })
                else {
                    unreachable!("matched Reading::Chunked above")
                };
                request.trailers = decoder.take_trailers();
                request.body = Bytes::from(body);
                self.finish_request(*request, keep_alive);
                true
            }
        }
    }

    // ANCHOR: read_sinking
    /// Passes the body bytes received so far to the request's sink, and completes the request
    /// when the body has ended. Returns whether anything changed.
    pub(super) fn read_sinking(&mut self, now: Instant) -> bool {
        let Reading::Sinking {
            sink,
            framing,
            last_progress,
            ..
        } = &mut self.reading
        else {
            return false;
        };
        let available = self.input.unparsed();
        let ended = match framing {
            SinkFraming::Length(0) => true,
            SinkFraming::Length(_) if available.is_empty() => return false,
            SinkFraming::Length(remaining) => {
                let take = available
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                let written = sink.write(&available[..take]);
                *remaining -= take as u64;
                let ended = *remaining == 0;
                self.input.discard(take);
                if let Err(refusal) = written {
                    self.reject(sink_refusal(refusal));
                    return true;
                }
                ended
            }
            SinkFraming::Chunked { .. } if available.is_empty() => return false,
            SinkFraming::Chunked { decoder, decoded } => {
                decoded.clear();
                let progress = decoder.decode(available, decoded);
                let written = sink.write(decoded);
                decoded.clear();
                if let Err(refusal) = written {
                    self.reject(sink_refusal(refusal));
                    return true;
                }
                match progress {
                    Err(error) => {
                        self.reject(error);
                        return true;
                    }
                    Ok(Progress::NeedMore) => {
                        let all = available.len();
                        self.input.discard(all);
                        false
                    }
                    Ok(Progress::Done(used)) => {
                        self.input.discard(used);
                        true
                    }
                }
            }
        };
        *last_progress = now;
        self.continue_owed = false;
        if !ended {
            return false;
        }
        let Reading::Sinking {
            mut request,
            keep_alive,
            sink,
            framing,
            ..
        } = std::mem::replace(&mut self.reading, Reading::Head { started: None })
        else {
            unreachable!("matched Reading::Sinking above")
        };
        if let SinkFraming::Chunked { mut decoder, .. } = framing {
            request.trailers = decoder.take_trailers();
        }
        match sink.finish() {
            Ok(streamed) => {
                request.streamed = Some(streamed);
                self.finish_request(*request, keep_alive);
            }
            Err(error) => self.reject(RequestError::Sink(error)),
        }
        true
    }
    // ANCHOR_END: read_sinking
}

/// The refusal for a write the sink did not take: past its limit (413), or its own error.
fn sink_refusal(refusal: Option<SinkError>) -> RequestError {
    match refusal {
        None => RequestError::BodyTooLarge,
        Some(error) => RequestError::Sink(error),
    }
}
