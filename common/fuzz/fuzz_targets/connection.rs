//! Any bytes, in any pieces, read by a whole connection that answers every request (through the
//! protocol crate's own in-memory pump, the same one its unit tests use).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::pump::fuzz_connection(data, std::time::Instant::now());
});
