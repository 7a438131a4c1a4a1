//! Any bytes, in any pieces, given to a whole connection that answers every request.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::http1::fuzz_connection(data);
});
