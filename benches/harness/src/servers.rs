//! Who is in the table: the reference servers, the stages, and the stages again in other modes
//! (stage 02's other pools, stages 02 and 03 at other sizes), with the scenarios each takes part
//! in. The chapter "Measuring honestly", "Who is in the table", says why each is there.
//!
//! The TLS scenarios have rows only for the servers that speak TLS (nginx, with the run's
//! certificate, and stage 06), and for stage 05 over plain HTTP where the comparison says
//! something ([`PLAIN_BASELINE_SCENARIOS`]); stage 06 speaks only TLS, so it has no row in the
//! plain scenarios.
//!
//! The slow-clients scenario has rows for nginx and the stages that speak plain HTTP/1.1 (and
//! the variants that run everywhere): the floor and the hyper reference have no header timeout.
//!
//! The HTTP/2 scenarios have rows for nginx (`http2` on its listener), stage 07 and hyper (over
//! TLS with tokio-rustls, and h2c), and stage 07 runs in no other scenario: over HTTP/1.1 it is
//! stage 06, whose rows those are. The page-load scenarios count as HTTP/2 scenarios here: they
//! compare HTTP/2 with HTTP/1.1 on the servers that speak both, chosen by ALPN.

use crate::nginx::Flavour;
use crate::report::{FLOOR, NGINX};
use crate::scenario::{self, Kind, Scenario, Transport};

/// The reference rows, in the order the tables show them (before the stages).
pub const HYPER: &str = "hyper";
pub const NGINX_TUNED: &str = "nginx-tuned";

/// What kind of server a row is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Floor,
    Nginx(Flavour),
    Hyper,
    /// A stage's binary, started with `args` added to the usual ones; or, with `example`, an
    /// example of this workspace that runs an application of its own on that stage
    /// (`--stage N`), such as the notes API.
    Stage {
        package: &'static str,
        args: &'static [&'static str],
        example: Option<&'static str>,
    },
}

/// A stage run in another mode (other flags), as a row of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageVariant {
    /// The stage's package.
    pub package: &'static str,
    /// The row's name: the package, then what the flags change (`stage03-prefork-50-reuseport`).
    pub name: &'static str,
    /// Flags added to the usual ones.
    pub args: &'static [&'static str],
    /// The example that serves, on this stage, instead of the stage's own binary.
    pub example: Option<&'static str>,
    /// The scenarios the row runs in, or `None` for every scenario. A variant that a chapter
    /// compares in a few loads only runs in those: the others' tables have no row for it at all.
    pub scenarios: Option<&'static [&'static str]>,
}

/// Where the chapters compare pool and worker sizes: the everyday load on one core and on two,
/// a handler that blocks, and a new connection per request (the accept races).
pub const SIZE_SCENARIOS: &[&str] = &[
    "small-keepalive-50",
    "slow-mix",
    "connection-per-request",
    "small-keepalive-50-2cores",
];

/// Where the file cache (`--cache-size`) is compared with none: a small file and a 100 KiB one
/// (both under the cache's 256 KiB per file), compressed again for each answer, or kept in
/// memory in their gzip form.
pub const CACHE_SCENARIOS: &[&str] = &["gzip-small", "gzip-100k"];

/// The example the notes rows run (examples/notes.rs): the notes API, on the stage the row names.
pub const NOTES_EXAMPLE: &str = "notes";

/// The stages that speak only TLS: they run in the TLS scenarios and in no other.
pub const TLS_STAGES: [&str; 1] = ["stage06-tls"];

/// The stages that speak HTTP/2: they run in the HTTP/2 scenarios and in no other.
pub const HTTP2_STAGES: [&str; 1] = ["stage07-http2"];

/// The stage that speaks plain HTTP beside the TLS rows: stage 06 is stage 05 with TLS added.
pub const PLAIN_BASELINE: &str = "stage05-async";

/// The TLS scenarios where stage 05 over plain HTTP is a row too: what TLS adds to a request, to
/// a large file, to a new connection (the handshake's cost, in requests), and to an idle
/// connection's memory. The handshake scenarios have no plain counterpart.
pub const PLAIN_BASELINE_SCENARIOS: &[&str] = &[
    "tls-small-keepalive-50",
    "tls-large-file",
    "tls-connection-per-request",
    "tls-idle-connections",
];

/// Where stage 06's chapter compares its crypto providers: every handshake load, and the
/// instruction counts.
pub const PROVIDER_SCENARIOS: &[&str] = &[
    "tls-handshakes-full-13",
    "tls-handshakes-full-12",
    "tls-handshakes-resumed-12",
    "tls-handshakes-resumed-13",
    "tls-handshake-instructions",
];

/// Stages that also run in other modes, as rows of their own. Stage 02's chapter compares its
/// three pools everywhere, and its hand-built pool at two sizes; stage 03's compares a few and
/// many workers, on one shared listener and with `SO_REUSEPORT`; stage 06's compares the hybrid
/// key exchange on and off, and its two crypto providers; stages 01 to 05 run with the file
/// cache on in the compressed scenarios of [`CACHE_SCENARIOS`]; every stage runs the notes
/// example in the notes scenarios ([`scenario::NOTES_SCENARIOS`]): over plain HTTP for
/// stages 01 to 05, over TLS (HTTP/1.1) for stages 06 and 07.
pub const STAGE_VARIANTS: [StageVariant; 22] = [
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-rayon",
        args: &["--pool", "rayon"],
        example: None,
        scenarios: None,
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-per-connection",
        args: &["--pool", "per-connection"],
        example: None,
        scenarios: None,
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-8",
        args: &["--threads", "8"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-64",
        args: &["--threads", "64"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-2",
        args: &["--workers", "2"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-50",
        args: &["--workers", "50"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-2-reuseport",
        args: &["--workers", "2", "--reuseport"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-50-reuseport",
        args: &["--workers", "50", "--reuseport"],
        example: None,
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage01-blocking",
        name: "stage01-blocking-cache",
        args: &["--cache-size", "8MiB"],
        example: None,
        scenarios: Some(CACHE_SCENARIOS),
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-cache",
        args: &["--cache-size", "8MiB"],
        example: None,
        scenarios: Some(CACHE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-cache",
        args: &["--cache-size", "8MiB"],
        example: None,
        scenarios: Some(CACHE_SCENARIOS),
    },
    StageVariant {
        package: "stage04-evented",
        name: "stage04-evented-cache",
        args: &["--cache-size", "8MiB"],
        example: None,
        scenarios: Some(CACHE_SCENARIOS),
    },
    StageVariant {
        package: "stage05-async",
        name: "stage05-async-cache",
        args: &["--cache-size", "8MiB"],
        example: None,
        scenarios: Some(CACHE_SCENARIOS),
    },
    StageVariant {
        package: "stage06-tls",
        name: "stage06-tls-no-pq",
        args: &["--no-pq-hybrid"],
        example: None,
        scenarios: Some(&["tls-handshakes-full-13-hybrid"]),
    },
    StageVariant {
        package: "stage06-tls",
        name: "stage06-tls-ring",
        args: &["--crypto", "ring"],
        example: None,
        scenarios: Some(PROVIDER_SCENARIOS),
    },
    StageVariant {
        package: "stage01-blocking",
        name: "stage01-blocking-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["notes-api"]),
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["notes-api"]),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["notes-api"]),
    },
    StageVariant {
        package: "stage04-evented",
        name: "stage04-evented-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["notes-api"]),
    },
    StageVariant {
        package: "stage05-async",
        name: "stage05-async-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["notes-api"]),
    },
    StageVariant {
        package: "stage06-tls",
        name: "stage06-tls-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["tls-notes-api"]),
    },
    StageVariant {
        package: "stage07-http2",
        name: "stage07-http2-notes",
        args: &[],
        example: Some(NOTES_EXAMPLE),
        scenarios: Some(&["tls-notes-api"]),
    },
];

/// Whether the server called `name` has a row in `scenario`: a variant limited to some
/// scenarios only in those ([`StageVariant::scenarios`]); in an HTTP/2 scenario, only nginx,
/// hyper and the HTTP/2 stages; in a TLS scenario, only nginx, the TLS stages and the plain
/// baseline where it is one; in a plain scenario, every server but the TLS and HTTP/2 stages.
pub fn runs_in(name: &str, scenario: &str) -> bool {
    let variant = STAGE_VARIANTS.iter().find(|variant| variant.name == name);
    let listed = variant
        .and_then(|variant| variant.scenarios)
        .is_none_or(|only| only.contains(&scenario));
    let package = variant.map_or(name, |variant| variant.package);
    let tls_only = TLS_STAGES.contains(&package);
    let http2_stage = HTTP2_STAGES.contains(&package);
    let Some(found) = scenario::find(scenario) else {
        return false;
    };
    // The notes scenarios are the notes rows' only ones, and they have no others.
    let example = variant.and_then(|variant| variant.example);
    if scenario::NOTES_SCENARIOS.contains(&scenario) || example.is_some() {
        return listed && example.is_some();
    }
    if found.is_http2() {
        return listed && (name == NGINX || name == HYPER || http2_stage);
    }
    // The slow clients are nginx's and the stages' question (what a slowloris costs everyone
    // else): the floor and hyper's reference have no header timeout to set.
    if found.slow_clients().is_some() {
        return listed
            && (name == NGINX || package.starts_with("stage"))
            && !tls_only
            && !http2_stage;
    }
    listed
        && !http2_stage
        && match found.transport {
            Transport::Plain => !tls_only,
            Transport::Tls => {
                name == NGINX
                    || tls_only
                    || (name == PLAIN_BASELINE && PLAIN_BASELINE_SCENARIOS.contains(&scenario))
            }
        }
}

/// What the row `name` speaks in `scenario`: TLS in a TLS scenario, except the plain baseline.
pub fn transport(name: &str, scenario: &Scenario) -> Transport {
    if scenario.transport == Transport::Tls && name != PLAIN_BASELINE {
        Transport::Tls
    } else {
        Transport::Plain
    }
}

/// A server the harness compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    pub kind: ServerKind,
}

/// The servers for `stages`: references first, then the stages in book order.
pub fn servers(stages: &[&'static str]) -> Vec<Server> {
    let mut servers = vec![
        Server {
            name: FLOOR.into(),
            kind: ServerKind::Floor,
        },
        Server {
            name: NGINX.into(),
            kind: ServerKind::Nginx(Flavour::AsShipped),
        },
        Server {
            name: NGINX_TUNED.into(),
            kind: ServerKind::Nginx(Flavour::Tuned),
        },
        Server {
            name: HYPER.into(),
            kind: ServerKind::Hyper,
        },
    ];
    for stage in stages {
        servers.push(Server {
            name: (*stage).to_owned(),
            kind: ServerKind::Stage {
                package: stage,
                args: &[],
                example: None,
            },
        });
        for variant in STAGE_VARIANTS {
            if variant.package == *stage {
                servers.push(Server {
                    name: variant.name.to_owned(),
                    kind: ServerKind::Stage {
                        package: variant.package,
                        args: variant.args,
                        example: variant.example,
                    },
                });
            }
        }
    }
    servers
}

/// Why a scenario does not apply to a server, if it does not. Everything else is run, including
/// loads a model is expected to fail: that failure is the measurement.
pub fn not_applicable(kind: &ServerKind, scenario: &Scenario) -> Option<&'static str> {
    let slow = matches!(&scenario.kind, Kind::Closed(load) if load.slow_every.is_some());
    let compressed = scenario::COMPRESSED_SCENARIOS.contains(&scenario.id);
    let hybrid = matches!(&scenario.kind, Kind::Handshakes(load)
        if load.groups.first() == Some(&scenario::Group::X25519MlKem768));
    match kind {
        ServerKind::Floor if slow => Some("a fixed answer has no /slow route"),
        ServerKind::Floor if compressed => Some("the floor server sends its bytes as they are"),
        ServerKind::Hyper if compressed => Some("the hyper reference does not compress"),
        ServerKind::Nginx(_) if slow => Some("stock nginx has no handler that blocks"),
        ServerKind::Nginx(_) if hybrid => Some(NGINX_HAS_NO_MLKEM),
        _ => None,
    }
}

/// Why nginx has no row with the post-quantum hybrid.
pub const NGINX_HAS_NO_MLKEM: &str = "nginx 1.22 on OpenSSL 3.0 has no ML-KEM, so no \
     X25519MLKEM768 (OpenSSL has it from 3.5): it would answer with X25519, which \
     tls-handshakes-full-13 measures";
