//! Who is in the table: the reference servers, the stages, and the stages again in other modes
//! (stage 02's other pools, stages 02 and 03 at other sizes), with the scenarios each takes part
//! in. The chapter "Measuring honestly", "Who is in the table", says why each is there.

use crate::nginx::Flavour;
use crate::report::{FLOOR, NGINX};
use crate::scenario::{Kind, Scenario};

/// The reference rows, in the order the tables show them (before the stages).
pub const HYPER: &str = "hyper";
pub const NGINX_TUNED: &str = "nginx-tuned";

/// What kind of server a row is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Floor,
    Nginx(Flavour),
    Hyper,
    /// A stage's binary, started with `args` added to the usual ones.
    Stage {
        package: &'static str,
        args: &'static [&'static str],
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

/// Stages that also run in other modes, as rows of their own. Stage 02's chapter compares its
/// three pools everywhere, and its hand-built pool at two sizes; stage 03's compares a few and
/// many workers, on one shared listener and with `SO_REUSEPORT`.
pub const STAGE_VARIANTS: [StageVariant; 8] = [
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-rayon",
        args: &["--pool", "rayon"],
        scenarios: None,
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-per-connection",
        args: &["--pool", "per-connection"],
        scenarios: None,
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-8",
        args: &["--threads", "8"],
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage02-threadpool",
        name: "stage02-threadpool-64",
        args: &["--threads", "64"],
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-2",
        args: &["--workers", "2"],
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-50",
        args: &["--workers", "50"],
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-2-reuseport",
        args: &["--workers", "2", "--reuseport"],
        scenarios: Some(SIZE_SCENARIOS),
    },
    StageVariant {
        package: "stage03-prefork",
        name: "stage03-prefork-50-reuseport",
        args: &["--workers", "50", "--reuseport"],
        scenarios: Some(SIZE_SCENARIOS),
    },
];

/// Whether the server called `name` has a row in `scenario`: every server does, except a
/// variant limited to some scenarios ([`StageVariant::scenarios`]).
pub fn runs_in(name: &str, scenario: &str) -> bool {
    STAGE_VARIANTS
        .iter()
        .find(|variant| variant.name == name)
        .and_then(|variant| variant.scenarios)
        .is_none_or(|only| only.contains(&scenario))
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
            },
        });
        for variant in STAGE_VARIANTS {
            if variant.package == *stage {
                servers.push(Server {
                    name: variant.name.to_owned(),
                    kind: ServerKind::Stage {
                        package: variant.package,
                        args: variant.args,
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
    match kind {
        ServerKind::Floor if slow => Some("a fixed answer has no /slow route"),
        ServerKind::Nginx(_) if slow => Some("stock nginx has no handler that blocks"),
        _ => None,
    }
}
