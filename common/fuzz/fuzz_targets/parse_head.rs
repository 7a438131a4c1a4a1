//! Any bytes given to the head parser: an answer or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = protocol::http1::head::parse_head(data, &protocol::Limits::default());
});
