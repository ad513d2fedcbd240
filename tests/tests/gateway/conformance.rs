//! The conformance suite (`--requirements 2025-11-25`) through three nodes in front of an
//! upstream: the same tally, scenario by scenario, as the suite run directly against that
//! upstream (a Switchyard node serving `everything`).

use std::collections::BTreeMap;

use switchyard_tests::conformance::{SetRun, run_requirement_set};
use switchyard_tests::{Cluster, Node};

/// Per scenario: (SUCCESS, FAILURE, WARNING) counts.
fn tally(run: &SetRun) -> BTreeMap<String, (usize, usize, usize)> {
    run.results
        .iter()
        .map(|(name, c)| {
            let counts = (c.count("SUCCESS"), c.count("FAILURE"), c.count("WARNING"));
            (name.clone(), counts)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_a_cluster_matches_the_upstream_direct() {
    let upstream = Node::start("everything");
    let direct = run_requirement_set(&upstream.mcp_url(), "2025-11-25").await;
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("ev={}", upstream.mcp_url()))
        .start();
    let through = run_requirement_set(&cluster.mcp_url(), "2025-11-25").await;
    let (d, t) = (tally(&direct), tally(&through));
    let names: std::collections::BTreeSet<&String> = d.keys().chain(t.keys()).collect();
    let differ: Vec<_> = names
        .into_iter()
        .filter(|k| d.get(*k) != t.get(*k))
        .map(|k| {
            let problems = through.results.get(k).map(|c| c.problems.clone());
            format!(
                "{k}: direct {:?}, through {:?} {problems:?}",
                d.get(k),
                t.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "scenarios whose tally differs through the gateway:\n{}",
        differ.join("\n")
    );
    through.judged().expect("through the gateway");
}
