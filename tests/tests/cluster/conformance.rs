//! The conformance suite through the balancer: both requirement sets, judged as against one
//! node ([`switchyard_tests::conformance`], the same strict baseline
//! `tests/conformance/expected-failures.yaml`), and the scenarios the sets run without
//! scoring.

use switchyard_tests::Cluster;
use switchyard_tests::conformance::{run_requirement_set, run_scenario};

use crate::support::spread_over_every_node;

/// The frozen requirement set of `revision` against three `everything` nodes behind nginx.
async fn requirement_set(revision: &str) {
    let cluster = Cluster::start(3, "everything");
    let run = run_requirement_set(&cluster.mcp_url(), revision).await;
    if let Err(why) = run.judged() {
        panic!(
            "through the balancer: {why}\nnginx error.log:\n{}",
            cluster.nginx().error_log()
        );
    }
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
    let run = run_scenario(&cluster.mcp_url(), scenario).await;
    // A scenario of a few requests may not reach every node; it must reach more than one.
    let per_node = cluster.requests_per_node();
    println!("requests per node through nginx: {per_node:?}");
    if let Err(why) = run.judged() {
        panic!("through the balancer: {why}");
    }
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
