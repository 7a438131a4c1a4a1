//! The scenarios of the comparison: each one is a load chosen because it shows one difference
//! between the concurrency models (design.md, "Benchmarks").
//!
//! Pinned scenarios run the server on one core and the load generator on another, so that a
//! number is one server core's work. The `-2cores` variants run both unpinned, the way the
//! machine would be used for real, where server and generator share the cores.
//!
//! Not every server runs in every scenario: stage variants at other sizes run only where a
//! chapter compares them ([`crate::run::StageVariant::scenarios`]). The `syscalls-*` scenarios
//! are light loads with strace attached for the measured window: their numbers are counts of
//! system calls per request, not speeds ([`crate::syscalls`]).

use crate::wrk::Load;

/// The small file every small-file scenario asks for (in the bundled site, about 4 KiB).
pub const SMALL_FILE: &str = "/index.html";
/// The large file (1 MiB, in the bundled site).
pub const LARGE_FILE: &str = "/big.bin";
/// The TechEmpower plaintext route.
pub const PLAINTEXT: &str = "/plaintext";

/// How a scenario loads the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// wrk, closed loop: every connection sends its next request when the previous is answered.
    Closed(Load),
    /// The open-loop generator at a fixed rate, `percent` of the reference's measured maximum.
    Open { percent: u32 },
    /// Many connections, each answered once and then held idle: memory per connection, and
    /// what they cost a newcomer and themselves when they speak again.
    Idle,
    /// wrk, closed loop, with `strace -c -f` attached to the server for the measured window
    /// only: system calls per request ([`crate::syscalls`]).
    Syscalls(Load),
}

/// Where server and generator run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Server on the server CPUs, generator (and harness) on the client CPUs. The references
    /// get one worker per server CPU; a stage sizes itself from the CPUs it may run on.
    Pinned,
    /// Neither pinned; the references get two workers, the stages see every core.
    Unpinned,
}

/// One scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Stable identifier, used in file names and on the command line.
    pub id: &'static str,
    pub title: &'static str,
    /// What the scenario shows, in one sentence, for the report.
    pub shows: &'static str,
    pub kind: Kind,
    pub placement: Placement,
}

fn closed(path: &str, connections: u32) -> Load {
    Load {
        path: path.to_owned(),
        connections,
        pipeline: 1,
        close: false,
        slow_every: None,
    }
}

// ANCHOR: scenarios
/// Every scenario, in the order the harness runs and reports them.
pub fn all() -> Vec<Scenario> {
    use Placement::{Pinned, Unpinned};
    let scenario = |id, title, shows, kind, placement| Scenario {
        id,
        title,
        shows,
        kind,
        placement,
    };
    vec![
        scenario(
            "small-keepalive-1",
            "Small file, keep-alive, 1 connection",
            "Latency with no queueing: the cost of one request, end to end.",
            Kind::Closed(closed(SMALL_FILE, 1)),
            Pinned,
        ),
        scenario(
            "small-keepalive-50",
            "Small file, keep-alive, 50 connections",
            "The everyday load: throughput and CPU per request of each model.",
            Kind::Closed(closed(SMALL_FILE, 50)),
            Pinned,
        ),
        scenario(
            "small-keepalive-1000",
            "Small file, keep-alive, 1000 connections",
            "Many connections at once: models that spend a thread or a process per connection pay here.",
            Kind::Closed(closed(SMALL_FILE, 1000)),
            Pinned,
        ),
        scenario(
            "connection-per-request",
            "Small file, a new connection per request (50 at a time)",
            "Accept and connection set-up costs, where the accept and process models show.",
            Kind::Closed(Load {
                close: true,
                ..closed(SMALL_FILE, 50)
            }),
            Pinned,
        ),
        scenario(
            "large-file",
            "1 MiB file, keep-alive, 16 connections",
            "Bulk transfer: where sendfile (no copy through user space) shows.",
            Kind::Closed(closed(LARGE_FILE, 16)),
            Pinned,
        ),
        scenario(
            "slow-mix",
            "Small files with every 10th request /slow?ms=20, 50 connections",
            "A handler that blocks: who waits behind it in each model.",
            Kind::Closed(Load {
                slow_every: Some(10),
                ..closed(SMALL_FILE, 50)
            }),
            Pinned,
        ),
        scenario(
            "plaintext-pipelined",
            "/plaintext, 256 connections, 16 requests pipelined",
            "The TechEmpower plaintext test: wrk is not the limit here, the server's own cost per request is.",
            Kind::Closed(Load {
                pipeline: 16,
                ..closed(PLAINTEXT, 256)
            }),
            Pinned,
        ),
        scenario(
            "small-keepalive-50-2cores",
            "Small file, keep-alive, 50 connections, 2 cores unpinned",
            "The same load with 2 server workers sharing both cores with wrk, as on a real machine.",
            Kind::Closed(closed(SMALL_FILE, 50)),
            Unpinned,
        ),
        scenario(
            "plaintext-pipelined-2cores",
            "/plaintext pipelined 16 deep, 256 connections, 2 cores unpinned",
            "Pipelined load with 2 server workers, unpinned: how the model scales past one core.",
            Kind::Closed(Load {
                pipeline: 16,
                ..closed(PLAINTEXT, 256)
            }),
            Unpinned,
        ),
        scenario(
            "open-loop-25",
            "Open loop at 25 % of nginx's maximum, small file, 50 connections",
            "Latency at a comfortable load, corrected for coordinated omission.",
            Kind::Open { percent: 25 },
            Pinned,
        ),
        scenario(
            "open-loop-50",
            "Open loop at 50 % of nginx's maximum, small file, 50 connections",
            "Latency at half load, corrected for coordinated omission.",
            Kind::Open { percent: 50 },
            Pinned,
        ),
        scenario(
            "open-loop-75",
            "Open loop at 75 % of nginx's maximum, small file, 50 connections",
            "Latency near saturation, where queueing starts to show, corrected for coordinated omission.",
            Kind::Open { percent: 75 },
            Pinned,
        ),
        scenario(
            "idle-connections",
            "Idle connections held open",
            "Memory per connection (C10K): each connection is answered once, then held idle.",
            Kind::Idle,
            Pinned,
        ),
        scenario(
            "syscalls-keepalive",
            "System calls per request: small file, keep-alive, 4 connections",
            "What each model asks of the kernel to answer one request on a connection that stays open.",
            Kind::Syscalls(closed(SMALL_FILE, crate::syscalls::CONNECTIONS)),
            Pinned,
        ),
        scenario(
            "syscalls-connection-per-request",
            "System calls per request: small file, a new connection per request (4 at a time)",
            "What accepting, setting up and closing a connection adds to a request, in system calls.",
            Kind::Syscalls(Load {
                close: true,
                ..closed(SMALL_FILE, crate::syscalls::CONNECTIONS)
            }),
            Pinned,
        ),
    ]
}
// ANCHOR_END: scenarios

/// The scenario with this id.
pub fn find(id: &str) -> Option<Scenario> {
    all().into_iter().find(|scenario| scenario.id == id)
}

/// The open-loop scenarios' load shape: the same path and connections as `small-keepalive-50`,
/// whose measured maximum sets their rates.
pub const OPEN_LOOP_BASE: &str = "small-keepalive-50";
/// Connections of the open-loop scenarios.
pub const OPEN_LOOP_CONNECTIONS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_file_name_safe() {
        let scenarios = all();
        for (i, scenario) in scenarios.iter().enumerate() {
            assert!(
                scenario
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                scenario.id
            );
            assert!(
                scenarios[i + 1..]
                    .iter()
                    .all(|other| other.id != scenario.id),
                "{} twice",
                scenario.id
            );
        }
        assert!(find(OPEN_LOOP_BASE).is_some());
    }

    #[test]
    fn the_loads_are_the_ones_the_book_describes() {
        let load = |id| match find(id).map(|scenario| scenario.kind) {
            Some(Kind::Closed(load)) => load,
            other => panic!("{id}: {other:?}"),
        };
        assert_eq!(load("plaintext-pipelined").pipeline, 16);
        assert_eq!(load("plaintext-pipelined").connections, 256);
        assert!(load("connection-per-request").close);
        assert_eq!(load("slow-mix").slow_every, Some(10));
        assert_eq!(load("small-keepalive-1000").connections, 1000);
        match find("syscalls-connection-per-request").map(|scenario| scenario.kind) {
            Some(Kind::Syscalls(load)) => assert!(load.close && load.connections < 10),
            other => panic!("{other:?}"),
        }
    }
}
