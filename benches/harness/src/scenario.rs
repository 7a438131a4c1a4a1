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
//!
//! The `slow-clients` scenario is the everyday closed loop on `/plaintext` while the harness
//! holds [`crate::slow_clients::CONNECTIONS`] slowloris connections open beside wrk's, each
//! sending a byte of a request head a second and replaced when the server cuts it
//! ([`crate::slow_clients`]); every server runs with a 2 s header timeout (nginx's
//! `client_header_timeout`), so cutting happens inside the window. Its rows are nginx and the
//! stages ([`crate::servers::runs_in`]).
//!
//! The `tls-*` scenarios speak TLS, with the run's own certificate ([`crate::tls`]): wrk over
//! https for the request loads, the harness's own rustls client for the handshake loads
//! ([`crate::handshakes`]) and the idle connections, and callgrind for the instructions per
//! handshake. Only the servers that speak TLS have rows in them (nginx and stage 06), and, where
//! the comparison says something, stage 05 over plain HTTP as the baseline
//! ([`crate::servers::runs_in`]).
//!
//! The `h2-tls-*` and `h2c-*` scenarios speak HTTP/2, driven by h2load ([`crate::h2load`]): over
//! TLS with ALPN `h2` (the run's certificate again), and in the clear with prior knowledge
//! (h2c). `-m` is how many requests each connection has in flight at once, HTTP/2's streams:
//! `-m 1` is HTTP/1.1's keep-alive over another framing, `-m 10` is what multiplexing is for.
//! Their rows are the servers that speak HTTP/2: nginx, stage 07, and hyper.
//!
//! The `page-load-*` scenarios load one page and the thirty small files it links, as a browser
//! does, over TLS: over HTTP/1.1 with six connections and over HTTP/2 with one
//! ([`crate::pageload`]), each page load on new connections, timed to the last byte. They run
//! through a relay that delays each direction ([`crate::relay`]), with no delay and with a
//! round trip of [`PAGE_LOAD_RTT_MS`], where the rounds HTTP/1.1 waits through and HTTP/2 does
//! not begin to cost. Their rows are the HTTP/2 servers again, each asked for HTTP/1.1 or `h2`
//! by ALPN.

use crate::h2load::H2Load;
use crate::pageload::Protocol;
use crate::wrk::{Load, WriteRequest};

/// The small file every small-file scenario asks for (in the bundled site, about 4 KiB).
pub const SMALL_FILE: &str = "/index.html";
/// The large file (1 MiB, in the bundled site).
pub const LARGE_FILE: &str = "/big.bin";
/// The TechEmpower plaintext route.
pub const PLAINTEXT: &str = "/plaintext";
/// 100 KiB of text the harness writes into its copy of the site: compressed on the fly.
pub const TEXT_FILE: &str = "/text-100k.txt";
/// The same text under another name, with a `.gz` sibling beside it: sent precompressed.
pub const PRECOMPRESSED_FILE: &str = "/text-100k-pre.txt";
/// The coding the compressed scenarios ask for: gzip, which every server here can make.
pub const GZIP: Option<&str> = Some("gzip");
/// The compressed scenarios: their rows are nginx (gzip and gzip_static on, level 4, as the
/// stages) and the stages; the floor server and hyper's reference do not compress.
pub const COMPRESSED_SCENARIOS: &[&str] = &["gzip-100k", "gzip-precompressed", "gzip-small"];

/// The notes API's load (examples/notes.rs): every request replaces note 1 with a JSON body
/// and is answered with the note as JSON, through the example's logging and token middleware
/// (the token is the example's default). The first `PUT` makes the note (a 201), every later
/// one replaces it: on stage 03 that happens once in each worker, whose notebooks are their own.
pub const NOTES_NOTE: &str = "/notes/1";
pub const NOTES_WRITE: WriteRequest = WriteRequest {
    method: "PUT",
    content_type: "application/json",
    body: r#"{"title":"Act 2, scene 1","body":"Enter Quince, Snug, Bottom, Flute, Snout and Starveling."}"#,
    authorization: Some("Bearer notes-demo-token"),
};
/// The notes scenarios: their rows are the notes example on each stage (the `-notes` rows),
/// and no other server runs them.
pub const NOTES_SCENARIOS: &[&str] = &["notes-api", "tls-notes-api"];

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
    /// The harness's TLS client, closed loop: each connection is a TCP connect, a handshake, one
    /// small request and a close ([`crate::handshakes`]).
    Handshakes(Handshakes),
    /// The server under callgrind: instructions per full TLS 1.3 handshake, with X25519 and
    /// with the post-quantum hybrid ([`crate::callgrind`]).
    HandshakeInstructions,
    /// h2load, closed loop over HTTP/2: every connection keeps `streams` requests in flight
    /// ([`crate::h2load`]). Over TLS when the scenario's transport is [`Transport::Tls`], h2c
    /// with prior knowledge otherwise.
    H2load(H2Load),
    /// Page loads, one after another, through the delaying relay ([`crate::pageload`]).
    PageLoad(PageLoad),
}

/// A page-load scenario's load: the protocol, and the relay's delay each way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLoad {
    pub protocol: Protocol,
    /// The relay's one-way delay, milliseconds (the round trip is twice it).
    pub one_way_ms: u32,
}

/// The round trip the delayed page-load scenarios model: a visitor a continent away, or on a
/// mobile network (the relay adds half of it in each direction).
pub const PAGE_LOAD_RTT_MS: u32 = 50;

/// Page loads per repetition, at most; each repetition also stops at [`PAGE_LOAD_SECONDS`], so
/// the slow ones (HTTP/1.1 over the delay) measure fewer. A quick run loads [`QUICK_PAGES`].
pub const PAGES: usize = 100;
pub const PAGE_LOAD_SECONDS: u64 = 15;
pub const QUICK_PAGES: usize = 3;

/// What the server speaks in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTP/1.1 over TCP.
    Plain,
    /// HTTP/1.1 over TLS 1.2 or 1.3, with the run's certificate.
    Tls,
}

/// A TLS protocol version a handshake load asks for (and allows nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// As the tables write it.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }
}

/// A key-exchange group a TLS client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    X25519,
    /// NIST P-256 (`secp256r1`, `prime256v1` in OpenSSL's words).
    Secp256r1,
    /// The post-quantum hybrid: ML-KEM-768 and X25519 together.
    X25519MlKem768,
}

impl Group {
    /// The name rustls and the IANA registry give the group.
    pub fn name(self) -> &'static str {
        match self {
            Group::X25519 => "X25519",
            Group::Secp256r1 => "secp256r1",
            Group::X25519MlKem768 => "X25519MLKEM768",
        }
    }
}

/// A handshake load: which handshakes the client asks for, over how many connections at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshakes {
    pub version: TlsVersion,
    /// The groups the client offers, in its order of preference (it sends a key share for the
    /// first).
    pub groups: &'static [Group],
    /// Resume a session: one client configuration whose session store is filled before the
    /// measurement, so that every handshake measured can resume. Otherwise every handshake is
    /// full (resumption off in the client).
    pub resume: bool,
    /// Connections in flight at once (one client thread each).
    pub connections: u32,
    /// The path of each connection's one request.
    pub path: &'static str,
}

/// Connections of the handshake loads in flight at once. More would not load one server core
/// more (each is a handshake the server is working on or about to), and the TLS 1.3 tickets a
/// client keeps per server name are eight ([`crate::handshakes`] explains why that matters).
pub const HANDSHAKE_CONNECTIONS: u32 = 8;

/// What the handshake loads offer: X25519 alone, so that every server does the same key
/// exchange; and the hybrid first with X25519 after it, as a browser offers them, so that each
/// server picks what it prefers.
pub const X25519_ONLY: &[Group] = &[Group::X25519];
/// TLS 1.2's loads offer P-256 after X25519: a TLS 1.2 server (OpenSSL) uses an ECDSA P-256
/// certificate only with a client that lists P-256 among its groups, and without it refuses
/// the handshake. X25519 comes first, so it is still the key exchange of every handshake.
pub const X25519_THEN_P256: &[Group] = &[Group::X25519, Group::Secp256r1];
pub const HYBRID_FIRST: &[Group] = &[Group::X25519MlKem768, Group::X25519];

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
    pub transport: Transport,
}

fn closed(path: &str, connections: u32) -> Load {
    Load {
        path: path.to_owned(),
        connections,
        pipeline: 1,
        close: false,
        slow_every: None,
        accept_encoding: None,
        write: None,
        slow_clients: None,
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
        transport: Transport::Plain,
    };
    let tls = |id, title, shows, kind| Scenario {
        id,
        title,
        shows,
        kind,
        placement: Pinned,
        transport: Transport::Tls,
    };
    let h2 = |id, title, shows, transport, streams| Scenario {
        id,
        title,
        shows,
        kind: Kind::H2load(H2Load {
            path: SMALL_FILE,
            connections: H2_CONNECTIONS,
            streams,
        }),
        placement: Pinned,
        transport,
    };
    let page_load = |id, title, shows, protocol, one_way_ms| Scenario {
        id,
        title,
        shows,
        kind: Kind::PageLoad(PageLoad {
            protocol,
            one_way_ms,
        }),
        placement: Pinned,
        transport: Transport::Tls,
    };
    let handshakes = |version, groups, resume| {
        Kind::Handshakes(Handshakes {
            version,
            groups,
            resume,
            connections: HANDSHAKE_CONNECTIONS,
            path: PLAINTEXT,
        })
    };
    use TlsVersion::{Tls12, Tls13};
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
            "gzip-100k",
            "100 KiB text file, gzip asked for, keep-alive, 16 connections",
            "Compression on the fly: what gzip at level 4 costs per response, in requests.",
            Kind::Closed(Load {
                accept_encoding: GZIP,
                ..closed(TEXT_FILE, 16)
            }),
            Pinned,
        ),
        scenario(
            "gzip-precompressed",
            "100 KiB text file with a .gz beside it, gzip asked for, keep-alive, 16 connections",
            "The same answer made ahead of time: a precompressed sibling sent from disk.",
            Kind::Closed(Load {
                accept_encoding: GZIP,
                ..closed(PRECOMPRESSED_FILE, 16)
            }),
            Pinned,
        ),
        scenario(
            "gzip-small",
            "Small file, gzip asked for, keep-alive, 50 connections (the -cache rows: --cache-size 8MiB)",
            "Cache miss against cache hit: each answer compressed again, or taken from memory.",
            Kind::Closed(Load {
                accept_encoding: GZIP,
                ..closed(SMALL_FILE, 50)
            }),
            Pinned,
        ),
        scenario(
            "notes-api",
            "The notes API: PUT /notes/1 with JSON, answered with JSON, keep-alive, 50 connections",
            "An application's own handler on every stage: routing, middleware, JSON in and out.",
            Kind::Closed(Load {
                write: Some(NOTES_WRITE),
                ..closed(NOTES_NOTE, 50)
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
            "slow-clients",
            "/plaintext, keep-alive, 50 connections, while 64 slow clients trickle their heads",
            "Slowloris beside the load: who still serves everyone else while 64 connections each send a byte a second (cut at a 2 s header timeout, and replaced).",
            Kind::Closed(Load {
                slow_clients: Some(crate::slow_clients::CONNECTIONS),
                ..closed(PLAINTEXT, 50)
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
        tls(
            "tls-small-keepalive-50",
            "TLS: small file, keep-alive, 50 connections",
            "The everyday load over TLS: what encrypting every response costs, per request.",
            Kind::Closed(closed(SMALL_FILE, 50)),
        ),
        tls(
            "tls-notes-api",
            "TLS: the notes API, PUT /notes/1 with JSON, keep-alive, 50 connections (HTTP/1.1)",
            "The same application on the TLS stages: stage 06, and stage 07 answering HTTP/1.1 by ALPN.",
            Kind::Closed(Load {
                write: Some(NOTES_WRITE),
                ..closed(NOTES_NOTE, 50)
            }),
        ),
        tls(
            "tls-large-file",
            "TLS: 1 MiB file, keep-alive, 16 connections",
            "Bulk transfer over TLS, where every byte is encrypted in user space and sendfile is out.",
            Kind::Closed(closed(LARGE_FILE, 16)),
        ),
        // Not wrk: over TLS it resumes some of its new connections and not others (its OpenSSL
        // object is reused), so its connections are neither all full nor all resumed. The
        // harness's client makes every one a full TLS 1.3 handshake, and connects the plain
        // baseline the same way.
        tls(
            "tls-connection-per-request",
            "TLS 1.3: small file, a new connection and a full handshake per request (50 at a time)",
            "What a handshake costs, in requests: CPU per request with a handshake each, beside plain HTTP's.",
            Kind::Handshakes(Handshakes {
                version: Tls13,
                groups: X25519_ONLY,
                resume: false,
                connections: 50,
                path: SMALL_FILE,
            }),
        ),
        tls(
            "tls-handshakes-full-13",
            "TLS 1.3 full handshakes, ECDSA P-256, X25519",
            "New full handshakes per second: the server's signature and key exchange on every connection.",
            handshakes(Tls13, X25519_ONLY, false),
        ),
        tls(
            "tls-handshakes-full-13-hybrid",
            "TLS 1.3 full handshakes, the client offering X25519MLKEM768 first, then X25519",
            "The post-quantum hybrid key exchange, on (stage 06 as it starts) and off (--no-pq-hybrid).",
            handshakes(Tls13, HYBRID_FIRST, false),
        ),
        tls(
            "tls-handshakes-full-12",
            "TLS 1.2 full handshakes, ECDSA P-256, X25519",
            "New full handshakes per second in TLS 1.2, the baseline its resumption is measured against.",
            handshakes(Tls12, X25519_THEN_P256, false),
        ),
        tls(
            "tls-handshakes-resumed-12",
            "TLS 1.2 resumed handshakes",
            "Resumption in TLS 1.2: no key exchange and no signature, only a ticket to decrypt.",
            handshakes(Tls12, X25519_THEN_P256, true),
        ),
        tls(
            "tls-handshakes-resumed-13",
            "TLS 1.3 resumed handshakes, X25519",
            "Resumption in TLS 1.3 skips the signature but keeps a fresh X25519 key exchange.",
            handshakes(Tls13, X25519_ONLY, true),
        ),
        tls(
            "tls-idle-connections",
            "TLS: idle connections held open",
            "Memory per idle TLS connection: each handshake done, one request answered, then held.",
            Kind::Idle,
        ),
        tls(
            "tls-handshake-instructions",
            "TLS 1.3 handshakes under callgrind: instructions per full handshake",
            "The handshake's cost in instructions, the same on a busy machine as on a quiet one.",
            Kind::HandshakeInstructions,
        ),
        h2(
            "h2-tls-m1",
            "HTTP/2 over TLS: small file, 50 connections, 1 stream each (h2load -m 1)",
            "HTTP/2 without multiplexing: what its framing and HPACK cost beside HTTP/1.1's keep-alive.",
            Transport::Tls,
            1,
        ),
        h2(
            "h2-tls-m10",
            "HTTP/2 over TLS: small file, 50 connections, 10 streams each (h2load -m 10)",
            "Multiplexing: ten requests in flight on every connection, answered as they are ready.",
            Transport::Tls,
            10,
        ),
        h2(
            "h2c-m1",
            "h2c (prior knowledge): small file, 50 connections, 1 stream each (h2load -m 1)",
            "HTTP/2 in the clear, one stream at a time: the protocol's own cost without TLS's.",
            Transport::Plain,
            1,
        ),
        h2(
            "h2c-m10",
            "h2c (prior knowledge): small file, 50 connections, 10 streams each (h2load -m 10)",
            "Multiplexing in the clear: where HTTP/2's machine, not encryption, is the cost.",
            Transport::Plain,
            10,
        ),
        page_load(
            "page-load-h1",
            "Page load over TLS, HTTP/1.1: a page and its 30 files over 6 connections, no delay",
            "A page as a browser fetches it over HTTP/1.1 on loopback, where a round trip costs nothing.",
            Protocol::Http1,
            0,
        ),
        page_load(
            "page-load-h2",
            "Page load over TLS, HTTP/2: a page and its 30 files on 1 connection, no delay",
            "The same page over HTTP/2, every file a stream of one connection, on loopback.",
            Protocol::Http2,
            0,
        ),
        page_load(
            "page-load-h1-rtt50",
            "Page load over TLS, HTTP/1.1, 6 connections, through a relay adding a 50 ms round trip",
            "HTTP/1.1 over a long path: every connection's handshakes and every round of requests wait a round trip.",
            Protocol::Http1,
            PAGE_LOAD_RTT_MS / 2,
        ),
        page_load(
            "page-load-h2-rtt50",
            "Page load over TLS, HTTP/2, 1 connection, through a relay adding a 50 ms round trip",
            "What multiplexing buys: one connection's handshakes, then every file in one round.",
            Protocol::Http2,
            PAGE_LOAD_RTT_MS / 2,
        ),
    ]
}
// ANCHOR_END: scenarios

/// Connections of the HTTP/2 loads: the everyday load's 50.
pub const H2_CONNECTIONS: u32 = 50;

impl Scenario {
    /// Whether it is one of the HTTP/2 scenarios (h2load, and the page loads, which compare
    /// HTTP/2 with HTTP/1.1 on the same servers), and so has rows only for the servers that
    /// speak HTTP/2.
    pub fn is_http2(&self) -> bool {
        matches!(self.kind, Kind::H2load(_) | Kind::PageLoad(_))
    }

    /// How many slow clients the harness holds beside the load, in the slow-clients scenario.
    pub fn slow_clients(&self) -> Option<u32> {
        match &self.kind {
            Kind::Closed(load) => load.slow_clients,
            _ => None,
        }
    }

    /// Whether it is a page-load scenario.
    pub fn is_page_load(&self) -> bool {
        matches!(self.kind, Kind::PageLoad(_))
    }
}

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
        let slow = load("slow-clients");
        assert_eq!(
            (slow.path.as_str(), slow.connections, slow.pipeline),
            (PLAINTEXT, 50, 1)
        );
        assert_eq!(slow.slow_clients, Some(64));
        assert!(all()
            .iter()
            .filter(|scenario| scenario.id != "slow-clients")
            .all(|scenario| scenario.slow_clients().is_none()));
        assert_eq!(load("small-keepalive-1000").connections, 1000);
        for id in NOTES_SCENARIOS {
            let notes = load(id);
            let write = notes.write.expect("the notes loads write");
            assert_eq!((write.method, notes.path.as_str()), ("PUT", NOTES_NOTE));
            assert!(serde_json::from_str::<serde_json::Value>(write.body).is_ok());
        }
        assert!(NOTES_SCENARIOS.iter().all(|id| find(id).is_some()));
        let handshakes = |id| match find(id).map(|scenario| scenario.kind) {
            Some(Kind::Handshakes(load)) => load,
            other => panic!("{id}: {other:?}"),
        };
        assert!(handshakes("tls-handshakes-resumed-12").resume);
        assert!(!handshakes("tls-handshakes-full-12").resume);
        for id in ["tls-handshakes-full-12", "tls-handshakes-resumed-12"] {
            assert_eq!(handshakes(id).version, TlsVersion::Tls12);
            assert!(handshakes(id).groups.contains(&Group::Secp256r1), "{id}");
        }
        assert_eq!(handshakes("tls-handshakes-full-13").groups, [Group::X25519]);
        assert_eq!(handshakes("tls-handshakes-full-13").path, PLAINTEXT);
        let per_request = handshakes("tls-connection-per-request");
        assert_eq!(
            (per_request.connections, per_request.path),
            (50, SMALL_FILE)
        );
        assert!(!per_request.resume);
        assert_eq!(
            handshakes("tls-handshakes-full-13-hybrid").groups[0],
            Group::X25519MlKem768
        );
        for (id, streams, transport) in [
            ("h2-tls-m1", 1, Transport::Tls),
            ("h2-tls-m10", 10, Transport::Tls),
            ("h2c-m1", 1, Transport::Plain),
            ("h2c-m10", 10, Transport::Plain),
        ] {
            let Some(scenario) = find(id) else {
                panic!("{id} is missing")
            };
            assert_eq!(scenario.transport, transport, "{id}");
            match scenario.kind {
                Kind::H2load(load) => assert_eq!((load.streams, load.connections), (streams, 50)),
                other => panic!("{id}: {other:?}"),
            }
        }
        for (id, protocol, one_way_ms) in [
            ("page-load-h1", Protocol::Http1, 0),
            ("page-load-h2", Protocol::Http2, 0),
            ("page-load-h1-rtt50", Protocol::Http1, 25),
            ("page-load-h2-rtt50", Protocol::Http2, 25),
        ] {
            let Some(scenario) = find(id) else {
                panic!("{id} is missing")
            };
            assert_eq!(scenario.transport, Transport::Tls, "{id}");
            assert_eq!(
                scenario.kind,
                Kind::PageLoad(PageLoad {
                    protocol,
                    one_way_ms
                }),
                "{id}"
            );
        }
        match find("syscalls-connection-per-request").map(|scenario| scenario.kind) {
            Some(Kind::Syscalls(load)) => assert!(load.close && load.connections < 10),
            other => panic!("{other:?}"),
        }
    }
}
