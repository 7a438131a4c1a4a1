//! Any request target given to the application's path rules (`app::path::check_path`): never a
//! panic, and a path that passes has no segment that is `.` or `..` or holds a NUL, a backslash or
//! (decoded) a `/`, so it cannot leave the document root.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    app::path::fuzz_check_path(data);
});
