//! The report header: what machine the numbers come from, when, and how busy it was. Numbers
//! without this are not worth quoting; with it, a reader can tell a shared 2-core runner from a
//! quiet workstation.

use std::fs;
use std::path::Path;
use std::process::Command;

/// The machine and the tools a run used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: usize,
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// UTC, ISO 8601.
    pub date: String,
    /// /proc/loadavg's 1, 5 and 15 minute averages at the start and the end of the run.
    pub load_before: String,
    pub load_after: String,
    /// The versions of the external programs used (wrk, nginx, rustc).
    pub tools: Vec<String>,
    /// The git commit measured.
    pub commit: String,
}

impl Machine {
    /// Reads everything but `load_after`, which [`Machine::finish`] fills in.
    pub fn now(workspace: &Path) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Machine {
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".to_owned()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: first_line(fs::read_to_string("/proc/sys/kernel/osrelease").ok()),
            date: first_line(command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"], None)),
            load_before: load_average(),
            load_after: String::new(),
            tools: Vec::new(),
            commit: first_line(command_output(
                "git",
                &["rev-parse", "--short", "HEAD"],
                Some(workspace),
            )),
        }
    }

    /// Records the load average at the end of the run.
    pub fn finish(&mut self) {
        self.load_after = load_average();
    }
}

/// The first `model name` line of /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// The three load averages from /proc/loadavg.
pub fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line of a program's output (stdout, or stderr when stdout is empty: `nginx -v`
/// prints its version there), or `None` when it cannot run.
pub fn command_output(program: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if stdout.is_empty() {
        Some(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    } else {
        Some(stdout)
    }
}

fn first_line(text: Option<String>) -> String {
    text.as_deref()
        .and_then(|text| text.lines().next())
        .map_or_else(|| "unknown".to_owned(), |line| line.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_the_first_model_name() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\
                       processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn this_machine_has_a_header() {
        let machine = Machine::now(Path::new("."));
        assert!(machine.cores >= 1);
        assert_eq!(machine.load_before.split(' ').count(), 3, "{machine:?}");
        assert!(machine.date.ends_with('Z'), "{machine:?}");
    }
}
