//! The MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `tests/conformance/package.json`) against a fresh `everything` node per test.
//!
//! - `requirements_2025_11_25`: the frozen 2025-11-25 requirement set, judged by the strict
//!   baseline `tests/conformance/expected-failures.yaml` (an unlisted failure or warning fails,
//!   and so does a listed scenario that passes).
//! - one test per scenario the set runs but does not score (session lifecycle, SSE polling,
//!   JSON Schema 2020-12): each must pass on its own.
//! - `baseline_lists_only_2026_or_extension_scenarios`: the baseline may only excuse
//!   2026-07-28-only or extension scenarios, each with a `#` reason.

mod suite;

use std::time::Duration;

use suite::{Tally, baseline, listed_scenarios, read_results, run_cli};
use switchyard_tests::Node;

const LIST_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_2025_11_25() {
    let listing = run_cli(&["list", "--requirements", "2025-11-25"], LIST_DEADLINE).await;
    assert!(listing.success(), "{listing}");
    let scored = listed_scenarios(&listing.stdout, "Server scenarios");
    assert!(
        scored.len() >= 30,
        "expected the 2025-11-25 set's server scenarios, read {scored:?} from:\n{listing}"
    );

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
            "2025-11-25",
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
    println!("conformance --requirements 2025-11-25 against {url}:\n{tally}");

    let missing: Vec<&String> = scored
        .iter()
        .filter(|s| !results.contains_key(*s))
        .collect();
    assert!(
        missing.is_empty(),
        "scored scenarios that left no results: {missing:?}\n{tally}\n{out}"
    );
    let unclean: Vec<&String> = scored.iter().filter(|s| !results[*s].clean()).collect();
    assert!(
        out.success() && unclean.is_empty(),
        "scored scenarios with failures or warnings: {unclean:?}\n{tally}\n{out}"
    );
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

    let path = baseline();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut previous = "";
    let mut section = "";
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with(' ') && trimmed.ends_with(':') {
            section = trimmed;
        }
        if let Some(entry) = trimmed.strip_prefix("- ") {
            assert_eq!(
                section, "server:",
                "baseline entry {entry:?} outside `server:`"
            );
            let (entry, comment) = match entry.split_once(" #") {
                Some((e, c)) => (e.trim(), Some(c)),
                None => (entry.trim(), None),
            };
            assert!(
                comment.is_some() || previous.starts_with('#'),
                "baseline entry {entry:?} has no `#` reason"
            );
            let scenario = entry.split(':').next().unwrap_or(entry);
            let window = windows
                .get(scenario)
                .unwrap_or_else(|| panic!("baseline names an unknown scenario {scenario:?}"));
            assert!(
                window == "[2026-07-28]" || window == "[extension]",
                "the baseline may only excuse 2026-07-28-only or extension scenarios; \
                 {scenario} runs at {window}"
            );
        }
        if !trimmed.is_empty() {
            previous = trimmed;
        }
    }
}
