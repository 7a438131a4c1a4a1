//! Any bytes split into HTTP/2 frames: each frame loads or is refused, never a panic, and
//! every frame that loads survives being encoded and loaded again.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protocol::h2::frame::fuzz_frames(data);
});
