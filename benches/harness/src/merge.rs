//! A partial run (`--stages` or `--scenarios`) merged into the results already in its output
//! directory, so that the TLS rows, or one stage's, can be measured again and committed without
//! losing the rows of everything else.
//!
//! The rows the new run measured replace the old rows of the same server and scenario; every
//! other old row is kept. The header is the new run's, and says which rows were kept from which
//! earlier run ([`EarlierRun`]), so that a reader knows the tables hold numbers of two runs
//! (only ratios within one run compare the same machine's state). Every table and chart is then
//! drawn again from the merged results.

use serde_json::{json, Value};

use crate::report::Report;

/// An earlier run some rows of a merged report come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EarlierRun {
    pub date: String,
    pub commit: String,
    pub command: String,
    /// The rows kept from it: (server, scenario).
    pub rows: Vec<(String, String)>,
}

impl EarlierRun {
    pub fn to_json(&self) -> Value {
        json!({
            "date": self.date,
            "commit": self.commit,
            "command": self.command,
            "rows": self.rows.iter().map(|(server, scenario)| json!({
                "server": server, "scenario": scenario,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn from_json(value: &Value) -> EarlierRun {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        EarlierRun {
            date: text(&value["date"]),
            commit: text(&value["commit"]),
            command: text(&value["command"]),
            rows: value["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|row| (text(&row["server"]), text(&row["scenario"])))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The header's sentence about it: how many rows, in which scenarios, from when.
    pub fn sentence(&self) -> String {
        let mut scenarios: Vec<&str> = Vec::new();
        for (_, scenario) in &self.rows {
            if !scenarios.contains(&scenario.as_str()) {
                scenarios.push(scenario);
            }
        }
        let rows = match self.rows.len() {
            1 => "1 row".to_owned(),
            n => format!("{n} rows"),
        };
        format!(
            "{rows} ({}) come from an earlier run, measured {} at commit `{}` with `{}`.",
            scenarios
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
            self.date,
            self.commit,
            self.command
        )
    }
}

/// `new`'s rows, and `old`'s rows for every server and scenario `new` did not measure.
pub fn merge(new: Report, old: Report) -> Report {
    let measured = |server: &str, scenario: &str| {
        new.rows
            .iter()
            .any(|row| row.server == server && row.scenario == scenario)
    };
    let kept: Vec<_> = old
        .rows
        .into_iter()
        .filter(|row| !measured(&row.server, &row.scenario))
        .collect();
    // Who each kept row is from: an earlier run `old` itself kept it from, or `old`'s run.
    let mut earlier: Vec<EarlierRun> = old
        .earlier
        .into_iter()
        .map(|mut run| {
            run.rows.retain(|(server, scenario)| {
                kept.iter()
                    .any(|row| &row.server == server && &row.scenario == scenario)
            });
            run
        })
        .collect();
    let from_old: Vec<(String, String)> = kept
        .iter()
        .map(|row| (row.server.clone(), row.scenario.clone()))
        .filter(|key| !earlier.iter().any(|run| run.rows.contains(key)))
        .collect();
    earlier.insert(
        0,
        EarlierRun {
            date: old.machine.date.clone(),
            commit: old.machine.commit.clone(),
            command: old.settings.command.clone(),
            rows: from_old,
        },
    );
    earlier.retain(|run| !run.rows.is_empty());

    // Scenarios in the harness's order; servers in its order, unknown ones after.
    let mut scenarios = new.scenarios.clone();
    for scenario in old.scenarios {
        if !scenarios.iter().any(|own| own.id == scenario.id) {
            scenarios.push(scenario);
        }
    }
    let order: Vec<&str> = crate::scenario::all().iter().map(|s| s.id).collect();
    scenarios.sort_by_key(|scenario| order.iter().position(|id| *id == scenario.id));
    let mut servers = new.servers.clone();
    for server in old.servers {
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    let known: Vec<String> = crate::servers::servers(&crate::options::STAGES)
        .into_iter()
        .map(|server| server.name)
        .collect();
    servers.sort_by_key(|name| {
        known
            .iter()
            .position(|own| own == name)
            .unwrap_or(usize::MAX)
    });

    let mut rows = new.rows;
    rows.extend(kept);
    let place = |row: &crate::report::Row| {
        (
            scenarios.iter().position(|s| s.id == row.scenario),
            servers.iter().position(|name| *name == row.server),
        )
    };
    rows.sort_by_key(place);
    let mut settings = new.settings;
    if settings.open_loop_base.is_none() {
        settings.open_loop_base = old.settings.open_loop_base;
    }
    Report {
        machine: new.machine,
        settings,
        scenarios,
        servers,
        rows,
        ceilings: if new.ceilings.is_empty() {
            old.ceilings
        } else {
            new.ceilings
        },
        earlier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::report::{Ceiling, Row, Sample, Settings, Status};

    fn run(date: &str, scenarios: &[&str], servers: &[&str], rate: u64) -> Report {
        let mut rows = Vec::new();
        for scenario in scenarios {
            for server in servers {
                let mut row = Row::without_numbers(server, scenario, Status::Ok);
                row.samples.push(Sample {
                    requests: rate,
                    seconds: 1.0,
                    ..Sample::default()
                });
                rows.push(row);
            }
        }
        Report {
            machine: Machine {
                date: date.into(),
                commit: format!("commit-{date}"),
                ..Machine::default()
            },
            settings: Settings {
                mode: "full".into(),
                duration_seconds: 5,
                warmup_seconds: 2,
                repetitions: 3,
                server_cpus: "0".into(),
                client_cpus: "1".into(),
                idle_connections: 10_000,
                open_loop_base: None,
                command: format!("cargo bench --bench stages # {date}"),
            },
            scenarios: scenarios
                .iter()
                .filter_map(|id| crate::scenario::find(id))
                .collect(),
            servers: servers.iter().map(|name| (*name).to_owned()).collect(),
            rows,
            ceilings: Vec::new(),
            earlier: Vec::new(),
        }
    }

    fn rate(report: &Report, server: &str, scenario: &str) -> Option<u64> {
        report
            .row(server, scenario)
            .map(|row| row.samples[0].requests)
    }

    #[test]
    fn measured_rows_replace_their_own_and_every_other_row_is_kept() {
        let mut old = run(
            "2026-01-01",
            &["small-keepalive-50", "tls-small-keepalive-50"],
            &["nginx", "stage05-async"],
            100,
        );
        old.ceilings.push(Ceiling {
            generator: "wrk".into(),
            requests_per_second: 1.0,
            server_cpu_use: None,
        });
        let new = run(
            "2026-02-02",
            &["tls-small-keepalive-50", "tls-handshakes-full-13"],
            &["nginx", "stage06-tls"],
            200,
        );
        let merged = merge(new, old);
        // Replaced, kept, and new.
        assert_eq!(rate(&merged, "nginx", "tls-small-keepalive-50"), Some(200));
        assert_eq!(
            rate(&merged, "stage05-async", "tls-small-keepalive-50"),
            Some(100)
        );
        assert_eq!(rate(&merged, "nginx", "small-keepalive-50"), Some(100));
        assert_eq!(
            rate(&merged, "stage06-tls", "tls-handshakes-full-13"),
            Some(200)
        );
        assert_eq!(merged.rows.len(), 7);
        // Every scenario and server of both, in the harness's order.
        let ids: Vec<&str> = merged.scenarios.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "small-keepalive-50",
                "tls-small-keepalive-50",
                "tls-handshakes-full-13"
            ]
        );
        assert_eq!(merged.servers, ["nginx", "stage05-async", "stage06-tls"]);
        // The header is the new run's; the kept rows are said to be the old one's.
        assert_eq!(merged.machine.date, "2026-02-02");
        assert_eq!(merged.earlier.len(), 1);
        assert_eq!(merged.earlier[0].date, "2026-01-01");
        assert_eq!(merged.earlier[0].rows.len(), 3);
        let sentence = merged.earlier[0].sentence();
        assert!(
            sentence.starts_with("3 rows (`small-keepalive-50`, `tls-small-keepalive-50`)"),
            "{sentence}"
        );
        assert!(
            sentence.contains("commit `commit-2026-01-01`"),
            "{sentence}"
        );
        // A run without ceilings keeps the old ones.
        assert_eq!(merged.ceilings.len(), 1);
        // The header says it.
        let header = crate::report::header_markdown(&merged);
        assert!(header.contains(&sentence), "{header}");
    }

    #[test]
    fn merging_again_keeps_each_rows_own_run_and_drops_runs_with_none_left() {
        let first = run(
            "2026-01-01",
            &["small-keepalive-50"],
            &["nginx", "stage05-async"],
            1,
        );
        let second = run("2026-02-02", &["small-keepalive-50"], &["stage05-async"], 2);
        let third = run("2026-03-03", &["small-keepalive-50"], &["nginx"], 3);
        let twice = merge(second, first);
        assert_eq!(twice.earlier.len(), 1);
        assert_eq!(
            twice.earlier[0].rows,
            [("nginx".to_owned(), "small-keepalive-50".to_owned())]
        );
        // The third run replaces the first run's last row: only the second's is earlier now.
        let thrice = merge(third, twice);
        assert_eq!(rate(&thrice, "nginx", "small-keepalive-50"), Some(3));
        assert_eq!(
            rate(&thrice, "stage05-async", "small-keepalive-50"),
            Some(2)
        );
        assert_eq!(thrice.earlier.len(), 1);
        assert_eq!(thrice.earlier[0].date, "2026-02-02");
        // And all of it survives results.json.
        let json = crate::report::to_json(&thrice);
        let back = crate::report::from_json(&json).expect("reads back");
        assert_eq!(back.earlier, thrice.earlier);
        assert_eq!(back.rows.len(), 2);
    }
}
