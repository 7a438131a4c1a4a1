//! Any bytes decoded as two HPACK field blocks: fields or an error, never a panic, and the
//! decoder keeps to its table and list limits.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::h2::hpack::decoder::fuzz_decode(data);
});
