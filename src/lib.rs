//! Support code shared by the conformance suite (`tests/`) and the benchmarks (`benches/`):
//! building and starting the real stage binaries.
