//! The MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `tests/conformance/package.json`) run against any URL — one node
//! (`tests/tests/conformance`) or a balancer (`tests/tests/cluster`) — and the one
//! judgement both apply to what it reports.
//!
//! # Layout
//!
//! - this file: a requirement-set run ([`SetRun`]) and a one-scenario run
//!   ([`ScenarioRun`]), each with its verdict as an assertion message.
//! - `cli`: the suite's program ([`run_cli`]) and its `list` output.
//! - `judge`: [`judge`], the strict-baseline judgement of a set run.
//! - `results`: [`ScenarioChecks`] read from the suite's `checks.json` files; [`Tally`].
//! - `baseline`: the baseline `tests/conformance/expected-failures.yaml`.

mod baseline;
mod cli;
mod judge;
mod results;

use std::collections::BTreeMap;
use std::time::Duration;

pub use baseline::{BaselineEntry, baseline, baseline_entries, excused_scenarios};
pub use cli::{LIST_DEADLINE, listed_scenarios, run_cli};
pub use judge::{Verdict, judge};
pub use results::{ScenarioChecks, Tally, read_results};

use crate::command::Finished;

/// A whole requirement-set run (about 30 scenarios, each with its own timeouts).
pub const SET_DEADLINE: Duration = Duration::from_secs(540);
/// One scenario.
pub const SCENARIO_DEADLINE: Duration = Duration::from_secs(120);

/// The revision a one-scenario run speaks.
const SCENARIO_REVISION: &str = "2025-11-25";

/// The server scenarios the frozen requirement set of `revision` scores.
async fn scored_scenarios(revision: &str) -> Vec<String> {
    let listing = run_cli(&["list", "--requirements", revision], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    let scored = listed_scenarios(&listing.stdout, "Server scenarios");
    assert!(
        scored.len() >= 30,
        "expected the {revision} set's server scenarios, read {scored:?} from:\n{listing}"
    );
    scored
}

/// Runs `conformance server --url <url>` with `args` into a temporary `-o` directory and
/// reads what it wrote.
async fn run_server(
    url: &str,
    args: &[&str],
    deadline: Duration,
) -> (Finished, BTreeMap<String, ScenarioChecks>) {
    let results_dir = tempfile::tempdir().expect("a temporary directory");
    let dir = results_dir.path().to_str().expect("UTF-8 path");
    let mut all = vec!["server", "--url", url];
    all.extend_from_slice(args);
    all.extend(["-o", dir]);
    let out = run_cli(&all, deadline).await;
    (out, read_results(results_dir.path()))
}

/// A requirement set's run against one URL.
#[derive(Debug)]
pub struct SetRun {
    /// `--requirements`.
    pub revision: String,
    /// The MCP endpoint it ran against.
    pub url: String,
    /// The server scenarios the set scores.
    pub scored: Vec<String>,
    /// Every scenario it ran, by name.
    pub results: BTreeMap<String, ScenarioChecks>,
    /// The CLI's run (its exit code judges the scored scenarios against the baseline).
    pub out: Finished,
}

/// Runs the frozen requirement set of `revision` against `url` with the strict baseline, and
/// prints its tally.
pub async fn run_requirement_set(url: &str, revision: &str) -> SetRun {
    let scored = scored_scenarios(revision).await;
    let baseline = baseline();
    let args = [
        "--requirements",
        revision,
        "--expected-failures",
        baseline.to_str().expect("UTF-8 path"),
    ];
    let (out, results) = run_server(url, &args, SET_DEADLINE).await;
    println!(
        "conformance --requirements {revision} against {url}:\n{}",
        Tally(&results)
    );
    SetRun {
        revision: revision.to_owned(),
        url: url.to_owned(),
        scored,
        results,
        out,
    }
}

impl SetRun {
    /// [`judge`] with the baseline's excused scenarios.
    pub fn verdict(&self) -> Verdict {
        judge(&self.scored, &self.results, &excused_scenarios())
    }

    /// `Err` with an assertion message (the verdict, the tally and the CLI's output) unless
    /// every scored scenario ran, the CLI succeeded and the [`verdict`](Self::verdict) passed.
    pub fn judged(&self) -> Result<(), String> {
        let Verdict {
            missing,
            unexpected,
            stale,
        } = self.verdict();
        let (revision, url, out) = (&self.revision, &self.url, &self.out);
        let tally = Tally(&self.results);
        if !missing.is_empty() {
            return Err(format!(
                "--requirements {revision} against {url}: scored scenarios that left no \
                 results: {missing:?}\n{tally}\n{out}"
            ));
        }
        if !out.success() || !unexpected.is_empty() || !stale.is_empty() {
            return Err(format!(
                "--requirements {revision} against {url}: unexpected failures or warnings: \
                 {unexpected:?}; stale baseline entries (clean now: delete them from \
                 tests/conformance/expected-failures.yaml): {stale:?}\n{tally}\n{out}"
            ));
        }
        Ok(())
    }
}

/// One scenario's run at 2025-11-25 against one URL.
#[derive(Debug)]
pub struct ScenarioRun {
    /// The scenario.
    pub scenario: String,
    /// What it wrote (normally the one scenario).
    pub results: BTreeMap<String, ScenarioChecks>,
    /// The CLI's run.
    pub out: Finished,
}

/// Runs one scenario at 2025-11-25 against `url` and prints its tally.
pub async fn run_scenario(url: &str, scenario: &str) -> ScenarioRun {
    let args = ["--scenario", scenario, "--spec-version", SCENARIO_REVISION];
    let (out, results) = run_server(url, &args, SCENARIO_DEADLINE).await;
    println!(
        "conformance --scenario {scenario} --spec-version {SCENARIO_REVISION} against \
         {url}:\n{}",
        Tally(&results)
    );
    ScenarioRun {
        scenario: scenario.to_owned(),
        results,
        out,
    }
}

impl ScenarioRun {
    /// `Err` with an assertion message unless the scenario ran, the CLI succeeded and the
    /// scenario is clean.
    pub fn judged(&self) -> Result<(), String> {
        let (scenario, out) = (&self.scenario, &self.out);
        let tally = Tally(&self.results);
        match self.results.get(scenario) {
            None => Err(format!(
                "{scenario} left no results (skipped?):\n{tally}\n{out}"
            )),
            Some(checks) if !(out.success() && checks.clean()) => {
                Err(format!("{scenario} did not pass cleanly:\n{tally}\n{out}"))
            }
            Some(_) => Ok(()),
        }
    }
}
