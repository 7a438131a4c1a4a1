//! Any bytes after the HTTP/2 client preface, in any pieces, read by a whole HTTP/2 connection
//! that answers every request: the frames, HPACK, the streams, flow control and the defences.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::pump::fuzz_http2_connection(data, std::time::Instant::now());
});
