//! The book's exercises, checkable: one test for each exercise that changes code, each ignored
//! by default (today's code fails it, on purpose) and run by name once you have done the
//! exercise, e.g.
//!
//! ```console
//! $ cargo test --test exercises -- --ignored open_file_cache
//! ```
//!
//! A test fails today for the reason its exercise names, with a message that says what is
//! still missing, and passes once the exercise is done well. Exercises that are measurements or
//! thought experiments have no test here; their hints in the book say how to check the answer.
//!
//! One test binary for the whole book rather than one per stage crate: the tests drive the
//! stage binaries from outside, through the stage kit (`stagekit`), which only this package
//! depends on, and some exercises change a shared crate (`app`) rather than a stage. One binary
//! is also one build.
//!
//! Index of the modules, one per chapter:
//!
//! - [`stage01`]: serving the next client sooner, fewer system calls per file.
//! - [`stage02`]: refusing when full, smaller stacks, giving a worker back, a pool that grows.
//! - [`stage03`]: a binary upgrade, back-off, a health check, what a killed worker leaves in the shared counts.
//! - [`stage04`]: one listener, write interest set once, pinned loops, an open-file cache.
//! - [`stage05`]: a runtime per core, a bounded blocking pool, read-ahead, a limit per address.
//! - [`stage06`]: OCSP stapling, wildcard names, a 503 over TLS, a certificate seen at once.
//! - [`stage07`]: a limit on small DATA frames, the two-step GOAWAY.
//!
//! [`support`] holds what they share: starting a stage with the flag an exercise adds, and the
//! countable facts they read from `/proc` and `strace`.

mod stage01;
mod stage02;
mod stage03;
mod stage04;
mod stage05;
mod stage06;
mod stage07;
mod support;
