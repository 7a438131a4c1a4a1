//! Any bytes given to the chunked decoder, in two pieces split by the first byte.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::http1::chunked::fuzz_decode(data);
});
