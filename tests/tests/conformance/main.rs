//! The MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `tests/conformance/package.json`) against a fresh `everything` node per test.
//!
//! - `requirements_2025_11_25`, `requirements_2026_07_28`: the frozen requirement sets (the
//!   stateful and the stateless wire), judged by the strict baseline
//!   `tests/conformance/expected-failures.yaml` (an unlisted failure or warning fails — in
//!   scored and unscored scenarios alike — and so does a listed scenario that passes).
//! - one test per scenario the set runs but does not score (session lifecycle, SSE polling,
//!   JSON Schema 2020-12): each must pass on its own.
//! - `baseline_lists_only_2026_or_extension_scenarios`: the baseline may only excuse
//!   2026-07-28-only or extension scenarios, each with a `#` reason.

mod suite;

use std::collections::HashSet;
use std::time::Duration;

use suite::{Tally, baseline, baseline_entries, listed_scenarios, read_results, run_cli};
use switchyard_tests::Node;

const LIST_DEADLINE: Duration = Duration::from_secs(60);

/// Runs the frozen requirement set of `revision` against a fresh node, judged by the
/// baseline; checks on top that every scored scenario ran and that exactly the baselined ones
/// are unclean.
async fn requirement_set(revision: &str) {
    let listing = run_cli(&["list", "--requirements", revision], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    let scored = listed_scenarios(&listing.stdout, "Server scenarios");
    assert!(
        scored.len() >= 30,
        "expected the {revision} set's server scenarios, read {scored:?} from:\n{listing}"
    );
    let excused: HashSet<String> = baseline_entries()
        .iter()
        .map(|e| e.scenario().to_owned())
        .collect();

    let node = Node::start("everything");
    let results_dir = tempfile::tempdir().expect("a temporary directory");
    let url = node.mcp_url();
    let baseline = baseline();
    let out = run_cli(
        &[
            "server",
            "--url",
            &url,
            "--requirements",
            revision,
            "--expected-failures",
            baseline.to_str().expect("UTF-8 path"),
            "-o",
            results_dir.path().to_str().expect("UTF-8 path"),
        ],
        suite::SET_DEADLINE,
    )
    .await;
    let results = read_results(results_dir.path());
    let tally = Tally(&results);
    println!("conformance --requirements {revision} against {url}:\n{tally}");

    let missing: Vec<&String> = scored
        .iter()
        .filter(|s| !results.contains_key(*s))
        .collect();
    assert!(
        missing.is_empty(),
        "scored scenarios that left no results: {missing:?}\n{tally}\n{out}"
    );
    // Scored scenarios must pass with at least one success; every other scenario the set
    // ran (the unscored ones: the suite's own exit code ignores them) must show no failure
    // or warning. Only baselined scenarios are excused, and an excused one that is clean is
    // stale.
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
        "unexpected failures or warnings: {unexpected:?}; stale baseline entries (now \
         passing, delete them from tests/conformance/expected-failures.yaml): {stale:?}\n\
         {tally}\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2025_11_25() {
    requirement_set("2025-11-25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2026_07_28() {
    requirement_set("2026-07-28").await;
}

/// Runs one scenario at 2025-11-25 against a fresh node; it must run and be clean.
async fn scenario_passes(scenario: &str) {
    let node = Node::start("everything");
    let results_dir = tempfile::tempdir().expect("a temporary directory");
    let url = node.mcp_url();
    let out = run_cli(
        &[
            "server",
            "--url",
            &url,
            "--scenario",
            scenario,
            "--spec-version",
            "2025-11-25",
            "-o",
            results_dir.path().to_str().expect("UTF-8 path"),
        ],
        suite::SCENARIO_DEADLINE,
    )
    .await;
    let results = read_results(results_dir.path());
    let tally = Tally(&results);
    println!("conformance --scenario {scenario} --spec-version 2025-11-25:\n{tally}");
    let checks = results
        .get(scenario)
        .unwrap_or_else(|| panic!("{scenario} left no results (skipped?):\n{out}"));
    assert!(
        out.success() && checks.clean(),
        "{scenario} did not pass cleanly:\n{tally}\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_session_lifecycle() {
    scenario_passes("server-session-lifecycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sse_polling() {
    scenario_passes("server-sse-polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_2020_12() {
    scenario_passes("json-schema-2020-12").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_lists_only_2026_or_extension_scenarios() {
    let listing = run_cli(&["list", "--server"], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    // `  - name [2025-11-25,2026-07-28]` or `  - name [extension]`.
    let windows: std::collections::HashMap<String, String> = listing
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            Some((name.to_owned(), rest.trim().to_owned()))
        })
        .collect();
    assert!(
        !windows.is_empty(),
        "could not read the scenario list:\n{listing}"
    );

    for entry in baseline_entries() {
        let name = &entry.entry;
        assert_eq!(
            entry.section, "server",
            "baseline entry {name:?} outside `server:`"
        );
        assert!(
            entry.has_reason,
            "baseline entry {name:?} has no `#` reason"
        );
        let scenario = entry.scenario();
        let window = windows
            .get(scenario)
            .unwrap_or_else(|| panic!("baseline names an unknown scenario {scenario:?}"));
        assert!(
            window == "[2026-07-28]" || window == "[extension]",
            "the baseline may only excuse 2026-07-28-only or extension scenarios; \
             {scenario} runs at {window}"
        );
    }
}
