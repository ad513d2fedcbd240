//! What the suite wrote: the `checks.json` of every scenario under an `-o` directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

/// The check statuses of one scenario, read from its `checks.json`.
#[derive(Debug, Default, Clone)]
pub struct ScenarioChecks {
    /// How many checks ended in each status (`SUCCESS`, `FAILURE`, `WARNING`, `SKIPPED`, …).
    pub counts: BTreeMap<String, usize>,
    /// `id: status — message` for every FAILURE and WARNING.
    pub problems: Vec<String>,
}

impl ScenarioChecks {
    /// How many checks ended in `status`.
    pub fn count(&self, status: &str) -> usize {
        self.counts.get(status).copied().unwrap_or(0)
    }

    /// Any FAILURE or WARNING.
    pub fn failed(&self) -> bool {
        self.count("FAILURE") + self.count("WARNING") > 0
    }

    /// At least one SUCCESS and no FAILURE or WARNING.
    pub fn clean(&self) -> bool {
        self.count("SUCCESS") > 0 && !self.failed()
    }
}

/// Every scenario's checks under an `-o` directory, by scenario name.
pub fn read_results(dir: &Path) -> BTreeMap<String, ScenarioChecks> {
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
pub struct Tally<'a>(pub &'a BTreeMap<String, ScenarioChecks>);

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::scenario_name;

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
}
