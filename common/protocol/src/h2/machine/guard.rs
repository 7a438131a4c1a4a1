//! The defences of an HTTP/2 server against peers that make it work or buffer for nothing
//! (RFC 9113 section 10.5, "Denial-of-Service Considerations"), each a named limit.
//!
//! "An endpoint that doesn't monitor use of these features exposes itself to a risk of
//! denial of service. Implementations SHOULD track the use of these features and set limits
//! on their use." (section 10.5) Every limit here was learnt from an attack on real servers;
//! its doc names the CVE. Past any of them the connection ends with GOAWAY ENHANCE_YOUR_CALM
//! (a driver that honours `wants_read` stops reading a client that does not read before
//! [`MAX_OWED_CONTROL_FRAMES`] is reached; that limit is the net under one that does not):
//! "An endpoint MAY treat activity that is suspicious as a connection error (Section 5.4.1) of
//! type ENHANCE_YOUR_CALM." (section 10.5)

use super::super::error::{Error, Reason};

// ANCHOR: limits
/// Streams per counting window for the two reset counters below: the counts start again after
/// this many streams, so what is bounded is the *share* of streams that end in a reset, and
/// a long-lived connection with an occasional cancelled request is never cut.
pub const RESET_WINDOW_STREAMS: u32 = 1000;

/// Rapid reset (CVE-2023-44487): the client opens a stream and resets it at once, over and
/// over; each costs the server the work of starting a request, while the client's concurrency
/// limit never binds because reset streams do not count. At most this many RST_STREAMs from
/// the client for streams whose response was not finished, per [`RESET_WINDOW_STREAMS`].
pub const MAX_EARLY_RESETS: u32 = 100;

/// MadeYouReset (CVE-2025-8671): the client sends frames that make the *server* reset the
/// stream (a WINDOW_UPDATE of 0, a window overflow, a stream depending on itself, HEADERS or
/// DATA after END_STREAM, a malformed request), the same attack without sending RST_STREAM
/// itself. At most this many such resets per [`RESET_WINDOW_STREAMS`].
pub const MAX_PROVOKED_RESETS: u32 = 100;

/// CONTINUATION flood (the 2024 disclosures, CVE-2024-27316 and others): a field block cut
/// into endless CONTINUATION frames, which a server buffers until END_HEADERS that never
/// comes. At most this many CONTINUATION frames in one block.
pub const MAX_CONTINUATIONS: usize = 32;

/// The same attack measured in octets: a field block may be at most this many times
/// `Limits::max_head_bytes` before it is decoded (compressed blocks are smaller than the
/// fields they carry, so a block twice the limit is never a request we would take).
pub const MAX_BLOCK_FACTOR: usize = 2;

/// Ping flood, settings flood, reset flood (CVE-2019-9512, CVE-2019-9515, CVE-2019-9514): a
/// client that sends frames each of which obliges an answer (PING ACK, SETTINGS ACK,
/// RST_STREAM) and never reads them makes the server queue answers without bound. At most
/// this many control frames owed and unwritten; the count starts again whenever all output
/// has been written.
pub const MAX_OWED_CONTROL_FRAMES: usize = 10_000;

/// Empty frames flood (CVE-2019-9518): DATA without data and without END_STREAM, or HEADERS
/// that carry nothing and do not end the stream, cost the server work and advance nothing.
/// At most this many on one connection.
pub const MAX_EMPTY_FRAMES: u32 = 100;

/// Small DATA frames flood (the same family as CVE-2019-9518, with one octet where the empty
/// frame has none): a body sent one octet per frame costs the server a frame header parsed, a
/// window updated and a copy for every octet. The limit is on the *average*: after the first
/// [`DATA_FRAMES_SLACK`] DATA frames that do not end their stream, such frames must carry at
/// least this many octets each on average (padding counts, as it does against the window). A
/// stream of small messages (a chat, a log tail) of this size or more is never cut; an upload
/// in frames of any usual size (16 KiB, the default frame size) never comes near it.
pub const MIN_AVERAGE_DATA_BYTES: u64 = 64;

/// The DATA frames a connection may send before [`MIN_AVERAGE_DATA_BYTES`] is enforced, so
/// that a few small frames (a short form, a body cut where the client's buffer was) never
/// count against anyone.
pub const DATA_FRAMES_SLACK: u64 = 1000;

/// Closed streams remembered (by id and how they closed) so that late frames on them are
/// judged right; older ones are forgotten. "Endpoints SHOULD NOT use timers for this
/// purpose" (section 5.1): by count, then.
pub const CLOSED_REMEMBERED: usize = 128;
// ANCHOR_END: limits

/// The counters behind the limits of this module, for one connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Guard {
    /// Streams opened in the current reset window.
    streams_in_window: u32,
    early_resets: u32,
    provoked_resets: u32,
    owed_control: usize,
    empty_frames: u32,
    /// DATA frames that did not end their stream, and the octets they carried.
    data_frames: u64,
    data_bytes: u64,
}

impl Guard {
    /// A stream was opened.
    pub fn stream_opened(&mut self) {
        self.streams_in_window += 1;
        if self.streams_in_window > RESET_WINDOW_STREAMS {
            self.streams_in_window = 1;
            self.early_resets = 0;
            self.provoked_resets = 0;
        }
    }

    /// The client reset a stream before its response was finished.
    pub fn early_reset(&mut self) -> Result<(), Error> {
        self.early_resets += 1;
        if self.early_resets > MAX_EARLY_RESETS {
            return Err(calm("rapid reset: too many streams reset by the client"));
        }
        Ok(())
    }

    /// The server reset a stream because of what the client sent on it.
    pub fn provoked_reset(&mut self) -> Result<(), Error> {
        self.provoked_resets += 1;
        if self.provoked_resets > MAX_PROVOKED_RESETS {
            return Err(calm("too many streams the client's frames made us reset"));
        }
        Ok(())
    }

    /// A control frame (an ACK, a pong, a RST_STREAM) was queued for the client.
    pub fn control_owed(&mut self) -> Result<(), Error> {
        self.owed_control += 1;
        if self.owed_control > MAX_OWED_CONTROL_FRAMES {
            return Err(calm(
                "the client makes us queue control frames it does not read",
            ));
        }
        Ok(())
    }

    /// Everything queued has been written.
    pub fn output_drained(&mut self) {
        self.owed_control = 0;
    }

    /// An empty DATA or HEADERS frame that does not end its stream arrived.
    pub fn empty_frame(&mut self) -> Result<(), Error> {
        self.empty_frames += 1;
        if self.empty_frames > MAX_EMPTY_FRAMES {
            return Err(calm("too many empty frames"));
        }
        Ok(())
    }
}

impl Guard {
    // ANCHOR: small_data
    /// A DATA frame that does not end its stream arrived, `flow_len` octets with its padding.
    pub fn data_frame(&mut self, flow_len: u32) -> Result<(), Error> {
        self.data_frames += 1;
        self.data_bytes += u64::from(flow_len);
        let allowed = DATA_FRAMES_SLACK + self.data_bytes / MIN_AVERAGE_DATA_BYTES;
        if self.data_frames > allowed {
            return Err(calm("too many small DATA frames"));
        }
        Ok(())
    }
    // ANCHOR_END: small_data
}

fn calm(why: &'static str) -> Error {
    Error::connection(Reason::ENHANCE_YOUR_CALM, why)
}
