//! The conformance suite through the balancer: both requirement sets, judged by the same
//! strict baseline as against one node (`tests/conformance/expected-failures.yaml`), and
//! the scenarios the sets run without scoring.

use std::collections::HashSet;
use std::time::Duration;

use switchyard_tests::Cluster;

use crate::suite::{
    self, Tally, baseline, baseline_entries, listed_scenarios, read_results, run_cli,
};
use crate::support::spread_over_every_node;

const LIST_DEADLINE: Duration = Duration::from_secs(60);

/// The frozen requirement set of `revision` against three `everything` nodes behind nginx.
async fn requirement_set(revision: &str) {
    let listing = run_cli(&["list", "--requirements", revision], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    let scored = listed_scenarios(&listing.stdout, "Server scenarios");
    assert!(
        scored.len() >= 30,
        "could not read the {revision} set:\n{listing}"
    );
    // The entries of the baseline's `server:` list, each with its reason (the conformance
    // binary's baseline test holds every entry to that).
    let excused: HashSet<String> = baseline_entries()
        .iter()
        .filter(|e| e.section == "server" && e.has_reason)
        .map(|e| e.scenario().to_owned())
        .collect();

    let cluster = Cluster::start(3, "everything");
    let results_dir = tempfile::tempdir().expect("a temporary directory");
    let url = cluster.mcp_url();
    let baseline = baseline();
    let args = [
        "server",
        "--url",
        &url,
        "--requirements",
        revision,
        "--expected-failures",
        baseline.to_str().expect("UTF-8 path"),
        "-o",
        results_dir.path().to_str().expect("UTF-8 path"),
    ];
    let out = run_cli(&args, suite::SET_DEADLINE).await;
    let results = read_results(results_dir.path());
    let tally = Tally(&results);
    println!("conformance --requirements {revision} through nginx at {url}:\n{tally}");

    let missing: Vec<&String> = scored
        .iter()
        .filter(|s| !results.contains_key(*s))
        .collect();
    assert!(
        missing.is_empty(),
        "scenarios that left no results: {missing:?}\n{tally}\n{out}"
    );
    // Judged as the conformance binary judges one node: a scored scenario must be clean;
    // any scenario the set ran must show no failure or warning unless baselined; a
    // baselined scenario that shows none is stale.
    let failed = |c: &suite::ScenarioChecks| c.count("FAILURE") + c.count("WARNING") > 0;
    let unexpected: Vec<&String> = results
        .iter()
        .filter(|(name, c)| {
            let bad = failed(c) || (scored.contains(*name) && !c.clean());
            bad && !excused.contains(*name)
        })
        .map(|(name, _)| name)
        .collect();
    let stale: Vec<&String> = results
        .iter()
        .filter(|(name, c)| excused.contains(*name) && !failed(c))
        .map(|(name, _)| name)
        .collect();
    assert!(
        out.success() && unexpected.is_empty() && stale.is_empty(),
        "through the balancer, unexpected failures or warnings: {unexpected:?}; baseline \
         entries that pass here but not on one node: {stale:?}\n{tally}\n{out}\n\
         nginx error.log:\n{}",
        cluster.nginx().error_log()
    );
    spread_over_every_node(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_2025_11_25_through_the_balancer() {
    requirement_set("2025-11-25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_2026_07_28_through_the_balancer() {
    requirement_set("2026-07-28").await;
}

/// One unscored scenario at 2025-11-25 through the balancer; it must run and be clean.
async fn scenario_passes(scenario: &str) {
    let cluster = Cluster::start(3, "everything");
    let results_dir = tempfile::tempdir().expect("a temporary directory");
    let url = cluster.mcp_url();
    let args = [
        "server",
        "--url",
        &url,
        "--scenario",
        scenario,
        "--spec-version",
        "2025-11-25",
        "-o",
        results_dir.path().to_str().expect("UTF-8 path"),
    ];
    let out = run_cli(&args, suite::SCENARIO_DEADLINE).await;
    let results = read_results(results_dir.path());
    let tally = Tally(&results);
    println!("conformance --scenario {scenario} through nginx:\n{tally}");
    let clean = results.get(scenario).is_some_and(|c| c.clean());
    // A scenario of a few requests may not reach every node; it must reach more than one.
    let per_node = cluster.requests_per_node();
    println!("requests per node through nginx: {per_node:?}");
    assert!(
        out.success() && clean,
        "{scenario} did not pass cleanly:\n{tally}\n{out}"
    );
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() > 1,
        "nginx passed every request of {scenario} to one node: {per_node:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_session_lifecycle_through_the_balancer() {
    scenario_passes("server-session-lifecycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sse_polling_through_the_balancer() {
    scenario_passes("server-sse-polling").await;
}
