//! The stage-comparison harness behind `cargo bench --bench stages`: every stage beside nginx,
//! hyper and a floor server, under the same loads, measured the same way (the book's chapter
//! "Measuring honestly" explains every choice made here).
//!
//! The logic lives in this library, not in the bench binary, so that its parsers and writers are
//! unit-tested with `cargo test`. The bench binary (`benches/stages/` in the root package) adds
//! the command line and the SVG charts. The servers and the generator it runs beside the stages
//! are this package's examples (`examples/floor.rs`, `examples/hyper_ref.rs`,
//! `examples/openloop.rs`), built in release mode when a run starts. Building, starting and
//! stopping the stages, and reading `/proc`, come from the stage kit ([`stagekit`]).
//!
//! Modules, in the order a run uses them:
//!
//! - [`options`]: the command line (`--quick`, `--stages`, `--scenarios`, ...).
//! - [`scenario`]: the loads, and which placement (pinned or not) each runs with.
//! - [`servers`]: who is in the table: the references, the stages, and the stages' variants.
//! - [`machine`]: the report header (CPU, cores, kernel, date, load average, tool versions).
//! - [`process`]: starting servers and generators under `taskset`, stopping them by PID.
//! - [`nginx`]: the reference server's configuration, as shipped and tuned.
//! - [`wrk`]: the closed-loop generator's Lua script and the parsing of its results.
//! - [`tls`]: the run's certificate (nginx and stage 06 get the same), and the harness's rustls
//!   client.
//! - [`h2load`]: the HTTP/2 load generator's arguments, and the parsing of its summary and of
//!   its per-request log.
//! - [`idle`]: the client that holds thousands of idle connections, and asks a few of them again.
//! - [`slow_clients`]: the slowloris connections held beside wrk's load, and what the server cut.
//! - [`handshakes`]: the TLS handshake load, full or resumed, with what each handshake was.
//! - [`callgrind`]: instructions per TLS handshake, counted with the server under callgrind.
//! - [`procfs`]: CPU time, peak resident memory and context switches of a server's whole
//!   process tree.
//! - [`syscalls`]: system calls per request, counted by strace over the measured window only.
//! - [`relay`]: a TCP relay that delays each direction, the long network path of the page loads.
//! - [`pageload`]: the page-load client, a page and its thirty files over HTTP/1.1 (six
//!   connections) or HTTP/2 (one), timed to the last byte.
//! - [`run`]: the loop over scenarios and servers.
//! - [`report`]: medians and spreads, JSON and markdown tables with the ratio columns.
//! - [`goals`]: the goals table, each target against this run, with a verdict.
//! - [`merge`]: a partial run's rows merged into the results already in its directory.
//! - [`output`]: the run's files written, then checked to be all there.

pub mod callgrind;
pub mod goals;
pub mod h2load;
pub mod handshakes;
pub mod idle;
pub mod machine;
pub mod merge;
pub mod nginx;
pub mod options;
pub mod output;
pub mod pageload;
pub mod process;
pub mod procfs;
pub mod relay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod servers;
pub mod slow_clients;
pub mod syscalls;
pub mod tls;
pub mod wrk;
